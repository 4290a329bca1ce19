/*
 * tokens.c - admin tokens in the store (tokens.h): making one from random bytes, checking a
 * request's token against its row, and the audit log's writes.
 */
#include "tokens.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "ident.h"
#include "log.h"

#define ID_BYTES (FOTAD_TOKEN_ID_LEN / 2u)
#define SECRET_BYTES (FOTAD_TOKEN_SECRET_HEX / 2u)
#define CREATE_TRIES 4 /* a new id taken already: 48 random bits make a second try rare */

bool fotad_tokens_name_ok(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 0x20 || ch == 0x7f) {
            return false;
        }
    }
    return n > 0 && n <= FOTAD_TOKEN_NAME_MAX;
}

static bool lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

bool fotad_tokens_id_ok(const char *id)
{
    return strlen(id) == FOTAD_TOKEN_ID_LEN && lower_hex(id, FOTAD_TOKEN_ID_LEN);
}

static bool random_bytes(uint8_t *out, size_t n)
{
    return getrandom(out, n, 0) == (ssize_t)n;
}

fota_err_t fotad_tokens_create(const fotad_store_t *store, const char *name, const char *role,
                               const char *created_by, int64_t now, fotad_token_rec_t *out,
                               char text[FOTAD_TOKEN_TEXT_LEN + 1])
{
    fota_err_t err = FOTA_ERR_STATE;
    for (int i = 0; i < CREATE_TRIES && err == FOTA_ERR_STATE; i++) {
        uint8_t raw[ID_BYTES + SECRET_BYTES];
        if (!random_bytes(raw, sizeof raw)) {
            return FOTA_ERR_CRYPTO;
        }
        memset(out, 0, sizeof *out);
        fotad_hex(raw, ID_BYTES, out->id);
        char secret[FOTAD_TOKEN_SECRET_HEX + 1];
        fotad_hex(raw + ID_BYTES, SECRET_BYTES, secret);
        snprintf(text, FOTAD_TOKEN_TEXT_LEN + 1, FOTAD_TOKEN_PREFIX "%s_%s", out->id, secret);
        fotad_sha256(text, strlen(text), out->sha256);
        snprintf(out->name, sizeof out->name, "%s", name);
        snprintf(out->role, sizeof out->role, "%s", role);
        snprintf(out->created_by, sizeof out->created_by, "%s", created_by);
        out->created = now;
        err = store->ops->token_insert(store->ctx, out);
    }
    return err;
}

fota_err_t fotad_tokens_check(const fotad_store_t *store, const char *text, fotad_token_rec_t *out,
                              bool *valid)
{
    *valid = false;
    const size_t pre = sizeof FOTAD_TOKEN_PREFIX - 1u;
    if (strlen(text) != FOTAD_TOKEN_TEXT_LEN || strncmp(text, FOTAD_TOKEN_PREFIX, pre) != 0 ||
        text[pre + FOTAD_TOKEN_ID_LEN] != '_') {
        return FOTA_OK;
    }
    char id[FOTAD_TOKEN_ID_LEN + 1];
    memcpy(id, text + pre, FOTAD_TOKEN_ID_LEN);
    id[FOTAD_TOKEN_ID_LEN] = '\0';
    if (!fotad_tokens_id_ok(id)) {
        return FOTA_OK;
    }
    fota_err_t err = store->ops->token_get(store->ctx, id, out);
    if (err == FOTA_ERR_NOT_FOUND) {
        return FOTA_OK;
    }
    if (err != FOTA_OK) {
        return err;
    }
    uint8_t digest[32];
    fotad_sha256(text, strlen(text), digest);
    *valid = fotad_equal_ct(digest, out->sha256, sizeof digest) && out->revoked == 0;
    return FOTA_OK;
}

fota_err_t fotad_audit_record(const fotad_store_t *store, const fotad_audit_rec_t *a)
{
    fota_err_t err = store->ops->audit_insert(store->ctx, a);
    if (err != FOTA_OK) {
        FOTAD_ERROR("audit: %s %s by %s (%u) not recorded (%s)", a->action, a->target, a->token,
                    (unsigned)a->status, fota_err_name(err));
    }
    return err;
}
