/*
 * tokens.h - the admin API's tokens kept in the store (docs/ADMIN_API.md, "Roles and tokens"):
 * made with a role and a name, listed, revoked; and the audit log of what they did. A token is
 *
 *     fota_<id>_<secret>       id: 12 hex digits, secret: 64 hex digits (256 random bits)
 *
 * The id names the token in listings, the audit log and revocations; it is not secret. fotad
 * stores the SHA-256 of the whole token text and shows the token once, in the answer that makes
 * it. A request's token is found by its id and its digest compared in constant time.
 */
#ifndef FOTAD_TOKENS_H
#define FOTAD_TOKENS_H

#include <stdbool.h>

#include "store.h"

#define FOTAD_TOKEN_PREFIX "fota_"
#define FOTAD_TOKEN_SECRET_HEX 64u
#define FOTAD_TOKEN_TEXT_LEN (5u + FOTAD_TOKEN_ID_LEN + 1u + FOTAD_TOKEN_SECRET_HEX)

/* A name is 1..FOTAD_TOKEN_NAME_MAX bytes without control characters. */
bool fotad_tokens_name_ok(const char *name);

/* Make a token of `role` ("viewer", "operator" or "admin"; the caller checked it) named `name`,
 * made by `created_by` (a token id or "bootstrap") at now: its row into *out, its text (shown
 * once) into text. FOTA_ERR_CRYPTO when no random bytes can be had. */
fota_err_t fotad_tokens_create(const fotad_store_t *store, const char *name, const char *role,
                               const char *created_by, int64_t now, fotad_token_rec_t *out,
                               char text[FOTAD_TOKEN_TEXT_LEN + 1]);

/* Is `text` a token of the store, not revoked? *valid says so; *out is its row when valid.
 * A store failure is returned (FOTA_ERR_IO); an unknown or malformed token is just not valid. */
fota_err_t fotad_tokens_check(const fotad_store_t *store, const char *text, fotad_token_rec_t *out,
                              bool *valid);

/* Is id the form of a token id (12 lower-case hex digits)? */
bool fotad_tokens_id_ok(const char *id);

/* Record an admin action in the audit log (a->time set by the caller). */
fota_err_t fotad_audit_record(const fotad_store_t *store, const fotad_audit_rec_t *a);

#endif /* FOTAD_TOKENS_H */
