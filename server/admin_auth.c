/*
 * admin_auth.c - bearer token check (admin_auth.h).
 */
#include "admin_auth.h"

#include <string.h>
#include <strings.h>

#include "ident.h"

unsigned fotad_admin_auth(const uint8_t token_sha256[32], const char *authorization)
{
    if (authorization == NULL || strlen(authorization) > FOTAD_AUTHORIZATION_MAX ||
        strncasecmp(authorization, "Bearer ", 7) != 0) {
        return 401;
    }
    const char *token = authorization + 7;
    while (*token == ' ') {
        token++;
    }
    if (*token == '\0') {
        return 401;
    }
    uint8_t digest[32];
    fotad_sha256(token, strlen(token), digest);
    return fotad_equal_ct(digest, token_sha256, sizeof digest) ? 0 : 403;
}
