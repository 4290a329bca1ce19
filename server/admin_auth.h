/*
 * admin_auth.h - who sends an admin request, and what that may do (docs/ADMIN_API.md, "Roles and
 * tokens"). Every request carries "Authorization: Bearer TOKEN". The token is either the bootstrap
 * token fotad is configured with (--admin-token / --admin-token-file, role admin), or one of the
 * tokens made through the admin API and kept in the store (tokens.h). No header or another
 * scheme: 401; a token that is neither, or revoked: 403. fotad keeps only SHA-256 digests of
 * tokens and compares digests in constant time, so neither a token's content nor its length
 * leaks through timing; a store token is read from the store at every request (no cache), so a
 * revocation counts at once on every fotad sharing the store.
 *
 * Roles are ordered: viewer < operator < admin, each allowed what the one below is. The router's
 * table (router.c) names the least role of every admin route.
 */
#ifndef FOTAD_ADMIN_AUTH_H
#define FOTAD_ADMIN_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define FOTAD_AUTHORIZATION_MAX 1024u
#define FOTAD_BOOTSTRAP "bootstrap" /* the configured token's id and name */

typedef enum {
    FOTAD_ROLE_NONE = 0, /* not an admin route / not authenticated */
    FOTAD_ROLE_VIEWER,
    FOTAD_ROLE_OPERATOR,
    FOTAD_ROLE_ADMIN,
} fotad_role_t;

/* "viewer", "operator", "admin" ("-" for FOTAD_ROLE_NONE). */
const char *fotad_role_name(fotad_role_t role);

/* The role of a name (exact, lower case), or FOTAD_ROLE_NONE. */
fotad_role_t fotad_role_parse(const char *name);

/* The sender of an authenticated admin request. */
typedef struct {
    fotad_role_t role;
    char token[FOTAD_WHO_MAX + 1]; /* the token's id, or FOTAD_BOOTSTRAP */
    char name[FOTAD_TOKEN_NAME_MAX + 1];
} fotad_principal_t;

/*
 * Authenticate an Authorization header (may be NULL) against the bootstrap token's digest and the
 * tokens of store (NULL: the bootstrap token only). Returns 0 with *who filled, 401 (no or
 * malformed bearer header), 403 (unknown, wrong or revoked token) or 503 (the store could not be
 * read; logged).
 */
unsigned fotad_admin_auth(const uint8_t bootstrap_sha256[32], const fotad_store_t *store,
                          const char *authorization, fotad_principal_t *who);

#endif /* FOTAD_ADMIN_AUTH_H */
