/*
 * admin_auth.c - bearer tokens and roles (admin_auth.h).
 */
#include "admin_auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ident.h"
#include "log.h"
#include "tokens.h"

static const char *const role_names[] = {
    [FOTAD_ROLE_NONE] = "-",
    [FOTAD_ROLE_VIEWER] = "viewer",
    [FOTAD_ROLE_OPERATOR] = "operator",
    [FOTAD_ROLE_ADMIN] = "admin",
};

const char *fotad_role_name(fotad_role_t role)
{
    return role <= FOTAD_ROLE_ADMIN ? role_names[role] : "-";
}

fotad_role_t fotad_role_parse(const char *name)
{
    for (int r = FOTAD_ROLE_VIEWER; name != NULL && r <= FOTAD_ROLE_ADMIN; r++) {
        if (strcmp(name, role_names[r]) == 0) {
            return (fotad_role_t)r;
        }
    }
    return FOTAD_ROLE_NONE;
}

/* A store token: 0, 403 or 503. */
static unsigned store_token(const fotad_store_t *store, const char *token, fotad_principal_t *who)
{
    fotad_token_rec_t t;
    bool valid = false;
    fota_err_t err = fotad_tokens_check(store, token, &t, &valid);
    if (err != FOTA_OK) {
        FOTAD_ERROR("admin token: the store cannot be read (%s)", fota_err_name(err));
        return 503;
    }
    if (!valid) {
        return 403;
    }
    who->role = fotad_role_parse(t.role);
    snprintf(who->token, sizeof who->token, "%s", t.id);
    snprintf(who->name, sizeof who->name, "%s", t.name);
    return who->role != FOTAD_ROLE_NONE ? 0 : 403;
}

unsigned fotad_admin_auth(const uint8_t bootstrap_sha256[32], const fotad_store_t *store,
                          const char *authorization, fotad_principal_t *who)
{
    memset(who, 0, sizeof *who);
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
    if (fotad_equal_ct(digest, bootstrap_sha256, sizeof digest)) {
        who->role = FOTAD_ROLE_ADMIN;
        snprintf(who->token, sizeof who->token, "%s", FOTAD_BOOTSTRAP);
        snprintf(who->name, sizeof who->name, "%s", FOTAD_BOOTSTRAP);
        return 0;
    }
    return store != NULL && store->ops != NULL ? store_token(store, token, who) : 403;
}
