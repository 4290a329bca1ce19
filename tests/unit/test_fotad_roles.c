/*
 * test_fotad_roles.c - the admin API's roles, tokens and audit log below HTTP, on both store
 * backends (ctest runs it on SQLite and again on PostgreSQL): the router's role table against the
 * table here (every admin route named in both, with the same least role), role names, tokens
 * made, found, refused when wrong, malformed or revoked, the bootstrap token, the router's 403
 * naming the role needed, and the store's token and audit operations (a taken id, list order,
 * revocation once, the audit log's order, pages and filters, kept across a reopen).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "admin_auth.h"
#include "ident.h"
#include "router.h"
#include "resp_body.h"
#include "store_backend.h"
#include "tokens.h"

typedef struct {
    test_store_t db;
    fotad_config_t cfg;
    fotad_app_t app;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    test_store_begin(&f.db, "test_fotad_roles", &f.app.store);
    f.cfg.max_upload = 5000;
    f.app.cfg = &f.cfg;
    fotad_sha256("boot", 4, f.app.admin_token_sha256);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    test_store_end(&f->db, &f->app.store);
    return 0;
}

/* ---- the role table ------------------------------------------------------------------------ */

#define V FOTAD_ROLE_VIEWER
#define O FOTAD_ROLE_OPERATOR
#define A FOTAD_ROLE_ADMIN

/* docs/ADMIN_API.md's table: every admin route and its least role. */
static const struct {
    const char *method;
    const char *path;
    fotad_role_t role;
} expected[] = {
    {"POST", "/api/admin/releases", A},
    {"GET", "/api/admin/releases", V},
    {"GET", "/api/admin/releases/{id}", V},
    {"GET", "/api/admin/devices", V},
    {"GET", "/api/admin/overview", V},
    {"GET", "/api/admin/devices/{id}", V},
    {"POST", "/api/admin/assignments", O},
    {"GET", "/api/admin/assignments", V},
    {"POST", "/api/admin/products", A},
    {"GET", "/api/admin/products", V},
    {"GET", "/api/admin/products/{id}", V},
    {"GET", "/api/admin/legacy", V},
    {"POST", "/api/admin/legacy", A},
    {"GET", "/api/admin/enrollments", V},
    {"POST", "/api/admin/enrollments/approve", O},
    {"POST", "/api/admin/enrollments/reject", O},
    {"POST", "/api/admin/enrollments/delete", O},
    {"POST", "/api/admin/device-tags", O},
    {"POST", "/api/admin/rollouts", O},
    {"GET", "/api/admin/rollouts", V},
    {"GET", "/api/admin/rollouts/{id}", V},
    {"GET", "/api/admin/rollouts/{id}/history", V},
    {"POST", "/api/admin/rollouts/{id}/start", O},
    {"POST", "/api/admin/rollouts/{id}/pause", O},
    {"POST", "/api/admin/rollouts/{id}/resume", O},
    {"POST", "/api/admin/rollouts/{id}/cancel", O},
    {"POST", "/api/admin/rollouts/{id}/install", O},
    {"POST", "/api/admin/rollouts/{id}/update", O},
    {"GET", "/api/admin/whoami", V},
    {"POST", "/api/admin/tokens", A},
    {"GET", "/api/admin/tokens", A},
    {"POST", "/api/admin/tokens/{id}/revoke", A},
    {"GET", "/api/admin/audit", A},
};

#define N_EXPECTED (sizeof expected / sizeof expected[0])

static void test_role_table(void **state)
{
    (void)state;
    size_t n = 0;
    const fotad_route_t *routes = fotad_router_routes(&n);
    size_t admin = 0;
    for (size_t i = 0; i < n; i++) {
        const fotad_route_t *r = &routes[i];
        if (r->auth != FOTAD_AUTH_ADMIN) {
            assert_int_equal(r->role, FOTAD_ROLE_NONE);
            assert_null(strstr(r->path, FOTAD_ADMIN_PREFIX));
            continue;
        }
        admin++;
        size_t k = 0;
        while (k < N_EXPECTED && (strcmp(expected[k].method, r->method) != 0 ||
                                  strcmp(expected[k].path, r->path) != 0)) {
            k++;
        }
        if (k == N_EXPECTED) {
            fail_msg("route %s %s is not in this test's table", r->method, r->path);
        }
        if (expected[k].role != r->role) {
            fail_msg("route %s %s: role %s, expected %s", r->method, r->path,
                     fotad_role_name(r->role), fotad_role_name(expected[k].role));
        }
    }
    assert_int_equal(admin, N_EXPECTED); /* and no route of the table is missing */
}

static void test_role_names(void **state)
{
    (void)state;
    for (int r = FOTAD_ROLE_VIEWER; r <= FOTAD_ROLE_ADMIN; r++) {
        assert_int_equal(fotad_role_parse(fotad_role_name((fotad_role_t)r)), r);
    }
    assert_true(FOTAD_ROLE_VIEWER < FOTAD_ROLE_OPERATOR && FOTAD_ROLE_OPERATOR < FOTAD_ROLE_ADMIN);
    assert_int_equal(fotad_role_parse("Admin"), FOTAD_ROLE_NONE);
    assert_int_equal(fotad_role_parse(""), FOTAD_ROLE_NONE);
    assert_int_equal(fotad_role_parse(NULL), FOTAD_ROLE_NONE);
    assert_string_equal(fotad_role_name(FOTAD_ROLE_NONE), "-");
    assert_true(fotad_tokens_name_ok("ci deploy"));
    assert_false(fotad_tokens_name_ok(""));
    assert_false(fotad_tokens_name_ok("tab\there"));
    char long_name[FOTAD_TOKEN_NAME_MAX + 2];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_false(fotad_tokens_name_ok(long_name));
}

/* ---- tokens ------------------------------------------------------------------------------- */

static unsigned auth(fixture_t *f, const char *token, fotad_principal_t *who)
{
    char header[256];
    snprintf(header, sizeof header, "Bearer %s", token);
    return fotad_admin_auth(f->app.admin_token_sha256, &f->app.store, header, who);
}

static void test_tokens(void **state)
{
    fixture_t *f = *state;
    fotad_token_rec_t t;
    char text[FOTAD_TOKEN_TEXT_LEN + 1];
    assert_int_equal(
        fotad_tokens_create(&f->app.store, "ci", "operator", "bootstrap", 100, &t, text), FOTA_OK);
    assert_int_equal(strlen(text), FOTAD_TOKEN_TEXT_LEN);
    assert_true(fotad_tokens_id_ok(t.id));
    assert_non_null(strstr(text, t.id));

    fotad_principal_t who;
    assert_int_equal(auth(f, text, &who), 0);
    assert_int_equal(who.role, FOTAD_ROLE_OPERATOR);
    assert_string_equal(who.token, t.id);
    assert_string_equal(who.name, "ci");
    assert_int_equal(auth(f, "boot", &who), 0);
    assert_int_equal(who.role, FOTAD_ROLE_ADMIN);
    assert_string_equal(who.token, "bootstrap");

    /* The store keeps the digest of the token, nothing of which gives the secret. */
    fotad_token_rec_t got;
    assert_int_equal(f->app.store.ops->token_get(f->app.store.ctx, t.id, &got), FOTA_OK);
    uint8_t digest[32];
    fotad_sha256(text, strlen(text), digest);
    assert_memory_equal(got.sha256, digest, 32);
    assert_string_equal(got.role, "operator");
    assert_string_equal(got.created_by, "bootstrap");
    assert_int_equal(got.created, 100);
    assert_int_equal(got.revoked, 0);

    /* A wrong secret of the right form, a malformed one, an unknown id: 403. */
    char wrong[sizeof text];
    memcpy(wrong, text, sizeof text);
    wrong[FOTAD_TOKEN_TEXT_LEN - 1] = wrong[FOTAD_TOKEN_TEXT_LEN - 1] == '0' ? '1' : '0';
    assert_int_equal(auth(f, wrong, &who), 403);
    assert_int_equal(who.role, FOTAD_ROLE_NONE);
    wrong[FOTAD_TOKEN_TEXT_LEN - 1] = '\0';
    assert_int_equal(auth(f, wrong, &who), 403);
    memcpy(wrong, text, sizeof text);
    wrong[5] = wrong[5] == 'a' ? 'b' : 'a';
    assert_int_equal(auth(f, wrong, &who), 403);
    assert_int_equal(auth(f, "fota_", &who), 403);
    assert_int_equal(fotad_admin_auth(f->app.admin_token_sha256, &f->app.store, NULL, &who), 401);

    /* Revoked: refused at the next request; a second revoke changes nothing. */
    bool changed = false;
    assert_int_equal(f->app.store.ops->token_revoke(f->app.store.ctx, t.id, 200, &changed),
                     FOTA_OK);
    assert_true(changed);
    assert_int_equal(auth(f, text, &who), 403);
    assert_int_equal(f->app.store.ops->token_revoke(f->app.store.ctx, t.id, 300, &changed),
                     FOTA_OK);
    assert_false(changed);
    assert_int_equal(f->app.store.ops->token_get(f->app.store.ctx, t.id, &got), FOTA_OK);
    assert_int_equal(got.revoked, 200);
    assert_int_equal(
        f->app.store.ops->token_revoke(f->app.store.ctx, "000000000000", 300, &changed),
        FOTA_ERR_NOT_FOUND);
    assert_int_equal(f->app.store.ops->token_get(f->app.store.ctx, "000000000000", &got),
                     FOTA_ERR_NOT_FOUND);
}

typedef struct {
    char seen[8][512];
    size_t n;
} seen_t;

static fota_err_t list_token(void *arg, const fotad_token_rec_t *t)
{
    seen_t *s = arg;
    snprintf(s->seen[s->n++], sizeof s->seen[0], "%s %s %s %lld", t->id, t->name, t->role,
             (long long)t->revoked);
    return FOTA_OK;
}

static fotad_token_rec_t token_rec(const char *id, const char *name, int64_t created)
{
    fotad_token_rec_t t;
    memset(&t, 0, sizeof t);
    snprintf(t.id, sizeof t.id, "%s", id);
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.role, sizeof t.role, "viewer");
    snprintf(t.created_by, sizeof t.created_by, "bootstrap");
    memset(t.sha256, 0x11, sizeof t.sha256);
    t.created = created;
    return t;
}

static void test_token_store(void **state)
{
    fixture_t *f = *state;
    const fotad_store_ops_t *ops = f->app.store.ops;
    fotad_token_rec_t b = token_rec("bbbbbbbbbbbb", "second", 20);
    fotad_token_rec_t a = token_rec("aaaaaaaaaaaa", "first", 10);
    fotad_token_rec_t c = token_rec("000000000000", "same-time", 20);
    assert_int_equal(ops->token_insert(f->app.store.ctx, &b), FOTA_OK);
    assert_int_equal(ops->token_insert(f->app.store.ctx, &a), FOTA_OK);
    assert_int_equal(ops->token_insert(f->app.store.ctx, &c), FOTA_OK);
    fotad_token_rec_t again = token_rec("aaaaaaaaaaaa", "other", 30);
    assert_int_equal(ops->token_insert(f->app.store.ctx, &again), FOTA_ERR_STATE);
    bool changed;
    assert_int_equal(ops->token_revoke(f->app.store.ctx, "bbbbbbbbbbbb", 25, &changed), FOTA_OK);
    test_store_reopen(&f->db, &f->app.store);
    ops = f->app.store.ops;
    seen_t s = {.n = 0};
    assert_int_equal(ops->token_list(f->app.store.ctx, list_token, &s), FOTA_OK);
    assert_int_equal(s.n, 3); /* oldest first, then by id */
    assert_string_equal(s.seen[0], "aaaaaaaaaaaa first viewer 0");
    assert_string_equal(s.seen[1], "000000000000 same-time viewer 0");
    assert_string_equal(s.seen[2], "bbbbbbbbbbbb second viewer 25");
}

/* ---- the router: a token's role against the route's ---------------------------------------- */

static unsigned begin(fixture_t *f, const char *method, const char *path, const char *token,
                      fotad_match_t *m, fotad_resp_t *resp)
{
    char header[256];
    snprintf(header, sizeof header, "Bearer %s", token);
    fotad_resp_free(resp);
    fotad_resp_init(resp);
    return fotad_router_begin(&f->app, method, path, path, NULL, header, m, resp);
}

static void test_router_roles(void **state)
{
    fixture_t *f = *state;
    fotad_token_rec_t t;
    char viewer[FOTAD_TOKEN_TEXT_LEN + 1];
    assert_int_equal(
        fotad_tokens_create(&f->app.store, "look", "viewer", "bootstrap", 1, &t, viewer), FOTA_OK);
    fotad_match_t m;
    fotad_resp_t r;
    fotad_resp_init(&r);
    assert_int_equal(begin(f, "GET", "/api/admin/rollouts", viewer, &m, &r), 0);
    assert_int_equal(m.who.role, FOTAD_ROLE_VIEWER);
    assert_false(fotad_router_audited(&m, "GET"));
    assert_int_equal(begin(f, "POST", "/api/admin/rollouts/3/pause", viewer, &m, &r), 403);
    assert_true(test_resp_has(&r, "\"required_role\":\"operator\""));
    assert_true(test_resp_has(&r, "\"code\":\"forbidden\""));
    assert_true(fotad_router_audited(&m, "POST")); /* a refusal for the role is recorded */
    assert_int_equal(begin(f, "GET", "/api/admin/audit", viewer, &m, &r), 403);
    assert_true(test_resp_has(&r, "\"required_role\":\"admin\""));
    assert_int_equal(begin(f, "POST", "/api/admin/rollouts/3/pause", "boot", &m, &r), 0);
    assert_string_equal(m.who.token, "bootstrap");
    assert_int_equal(begin(f, "POST", "/api/admin/rollouts/3/pause", "nope", &m, &r), 403);
    assert_false(fotad_router_audited(&m, "POST")); /* an unknown token is not */
    assert_false(test_resp_has(&r, "required_role"));
    fotad_resp_free(&r);
}

/* ---- the audit log ------------------------------------------------------------------------ */

static fota_err_t list_audit(void *arg, const fotad_audit_rec_t *a)
{
    seen_t *s = arg;
    snprintf(s->seen[s->n++], sizeof s->seen[0], "%lld %lld %s %s %s %s %s %u", (long long)a->seq,
             (long long)a->time, a->token, a->role, a->action, a->target, a->client,
             (unsigned)a->status);
    return FOTA_OK;
}

static seen_t audit(fixture_t *f, fotad_audit_query_t q)
{
    seen_t s = {.n = 0};
    assert_int_equal(f->app.store.ops->audit_list(f->app.store.ctx, &q, list_audit, &s), FOTA_OK);
    return s;
}

static void test_audit_store(void **state)
{
    fixture_t *f = *state;
    static const char *const tokens[] = {"bootstrap", "aaaaaaaaaaaa", "bootstrap", "aaaaaaaaaaaa",
                                         "bootstrap"};
    for (int i = 0; i < 5; i++) {
        fotad_audit_rec_t a = {.time = 100 + i, .status = i == 3 ? 403u : 200u};
        snprintf(a.token, sizeof a.token, "%s", tokens[i]);
        snprintf(a.role, sizeof a.role, "%s", i % 2 ? "viewer" : "admin");
        snprintf(a.action, sizeof a.action, "%s", i == 3 ? "POST /api/admin/legacy" : "POST x");
        snprintf(a.target, sizeof a.target, "t%d", i);
        snprintf(a.client, sizeof a.client, "127.0.0.1");
        assert_int_equal(fotad_audit_record(&f->app.store, &a), FOTA_OK);
    }
    test_store_reopen(&f->db, &f->app.store);

    seen_t s = audit(f, (fotad_audit_query_t){.limit = 10});
    assert_int_equal(s.n, 5); /* newest first */
    assert_string_equal(s.seen[0], "5 104 bootstrap admin POST x t4 127.0.0.1 200");
    assert_string_equal(s.seen[1],
                        "4 103 aaaaaaaaaaaa viewer POST /api/admin/legacy t3 127.0.0.1 403");
    assert_string_equal(s.seen[4], "1 100 bootstrap admin POST x t0 127.0.0.1 200");

    s = audit(f, (fotad_audit_query_t){.limit = 2});
    assert_int_equal(s.n, 2);
    assert_int_equal(strncmp(s.seen[1], "4 ", 2), 0);
    s = audit(f, (fotad_audit_query_t){.limit = 2, .before = 4}); /* the next page */
    assert_int_equal(s.n, 2);
    assert_int_equal(strncmp(s.seen[0], "3 ", 2), 0);
    assert_int_equal(strncmp(s.seen[1], "2 ", 2), 0);
    s = audit(f, (fotad_audit_query_t){.limit = 2, .after = 2}); /* forward: oldest first */
    assert_int_equal(s.n, 2);
    assert_int_equal(strncmp(s.seen[0], "3 ", 2), 0);
    assert_int_equal(strncmp(s.seen[1], "4 ", 2), 0);
    s = audit(f, (fotad_audit_query_t){.limit = 10, .token = "aaaaaaaaaaaa"});
    assert_int_equal(s.n, 2);
    assert_int_equal(strncmp(s.seen[0], "4 ", 2), 0);
    assert_int_equal(strncmp(s.seen[1], "2 ", 2), 0);
    s = audit(f, (fotad_audit_query_t){.limit = 10, .action = "POST /api/admin/legacy"});
    assert_int_equal(s.n, 1);
    s = audit(f, (fotad_audit_query_t){.limit = 10, .since = 103, .token = "bootstrap"});
    assert_int_equal(s.n, 1);
    assert_int_equal(strncmp(s.seen[0], "5 ", 2), 0);
    s = audit(f, (fotad_audit_query_t){.limit = 10, .before = 3, .after = 1});
    assert_int_equal(s.n, 1);
    assert_int_equal(strncmp(s.seen[0], "2 ", 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_table),
        cmocka_unit_test(test_role_names),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
