/*
 * test_fotad_auth.c - fotad's request authentication (server/device_auth.c, nonce_cache.c,
 * fpset.c, admin_auth.c): a request signed by the agent's own code is accepted; every change to
 * what the MAC covers, another device's key, a clock outside the window, a missing or malformed
 * header and a replayed nonce are refused; nonces are remembered for at least two windows and
 * forgotten after four; the admin token gives 401 / 403 / ok. The device tests run twice: deriving
 * the keys for every request, and with the key cache (keycache.c) already holding both devices,
 * where every refusal must still happen; the cache itself takes only verified keys and keeps
 * every device's own keys whatever evicts what.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fota/auth.h"

#include "admin_auth.h"
#include "device_auth.h"
#include "fpset.h"
#include "ident.h"
#include "keycache.h"
#include "nonce_cache.h"

#define NOW 1795000000

static const uint8_t master[32] = "0123456789abcdef0123456789abcdef";

typedef struct {
    fotad_nonce_cache_t *nonces;
    fotad_keycache_t *keys;
    fotad_device_auth_cfg_t cfg;
    char time[24];
    char nonce[17];
    char mac[FOTA_AUTH_HEX_LEN + 1];
    fotad_device_auth_in_t in;
} fixture_t;

/* A request as the agent signs it (fota_auth_mac) for device `id`. */
static void sign(fixture_t *f, const char *id, const char *target, long skew, const char *nonce)
{
    uint8_t dk[32];
    uint8_t ak[32];
    snprintf(f->time, sizeof f->time, "%ld", (long)NOW + skew);
    snprintf(f->nonce, sizeof f->nonce, "%s", nonce);
    assert_int_equal(fota_auth_device_key(master, sizeof master, id, dk), FOTA_OK);
    assert_int_equal(fota_auth_key(dk, ak), FOTA_OK);
    fota_auth_msg_t m = {"GET", target, f->time, f->nonce, (const uint8_t *)"", 0};
    assert_int_equal(fota_auth_mac(NULL, ak, &m, f->mac), FOTA_OK);
    fotad_device_auth_in_t in = {"GET", target, id, f->time, f->nonce, f->mac, (const uint8_t *)"",
                                 0};
    f->in = in;
}

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    assert_int_equal(fotad_nonce_cache_new(300, &f.nonces), FOTA_OK);
    fotad_device_auth_cfg_t cfg = {
        .master = master, .master_len = sizeof master, .nonces = f.nonces, .window_s = 300};
    f.cfg = cfg;
    *state = &f;
    return 0;
}

static fota_err_t check(fixture_t *f, const char **why);

/* The same, with a key cache that already holds inv-1 and inv-2 (each authenticated once). */
static int setup_cached(void **state)
{
    setup(state);
    fixture_t *f = *state;
    assert_int_equal(fotad_keycache_new(64, &f->keys), FOTA_OK);
    f->cfg.keys = f->keys;
    const char *why;
    sign(f, "inv-1", "/warm", 0, "f000000000000001");
    assert_int_equal(check(f, &why), FOTA_OK);
    sign(f, "inv-2", "/warm", 0, "f000000000000002");
    assert_int_equal(check(f, &why), FOTA_OK);
    uint64_t hits;
    uint64_t misses;
    fotad_keycache_stats(f->keys, &hits, &misses);
    assert_int_equal(hits, 0);
    assert_int_equal(misses, 2);
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    fotad_nonce_cache_free(f->nonces);
    fotad_keycache_free(f->keys);
    return 0;
}

/* ---- a store shared by several fotad: its nonce_claim, as the database backend keeps it ---- */

#define SHARED_MAX 16

typedef struct {
    char pair[SHARED_MAX][FOTAD_DEVICE_ID_MAX + FOTAD_NONCE_HEX_LEN + 2];
    int64_t expires[SHARED_MAX];
    size_t n;
    bool down; /* the database is unreachable */
} shared_nonces_t;

static shared_nonces_t shared;

static fota_err_t shared_claim(void *ctx, const char *device, const char *nonce, int64_t now,
                               int64_t expires, bool *fresh)
{
    shared_nonces_t *t = ctx;
    if (t->down) {
        return FOTA_ERR_IO;
    }
    char key[sizeof t->pair[0]];
    snprintf(key, sizeof key, "%s/%s", device, nonce);
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->pair[i], key) == 0) {
            *fresh = t->expires[i] < now;
            t->expires[i] = *fresh ? expires : t->expires[i];
            return FOTA_OK;
        }
    }
    assert_true(t->n < SHARED_MAX);
    strcpy(t->pair[t->n], key);
    t->expires[t->n++] = expires;
    *fresh = true;
    return FOTA_OK;
}

static const fotad_store_ops_t shared_ops = {.nonce_claim = shared_claim};
static const fotad_store_t shared_store = {&shared_ops, &shared};

/* A node of a cluster: its own memory, the shared store's nonces. */
static int setup_shared(void **state)
{
    setup(state);
    fixture_t *f = *state;
    memset(&shared, 0, sizeof shared);
    f->cfg.shared = &shared_store;
    return 0;
}

static fota_err_t check(fixture_t *f, const char **why)
{
    fotad_device_cred_t cred;
    *why = "";
    return fotad_device_auth_check(&f->cfg, &f->in, NOW, 1000, &cred, why);
}

static void test_accepts_and_derives_key(void **state)
{
    fixture_t *f = *state;
    sign(f, "inv-1", "/api/inverter/fota/check?version=1&hw=x", 0, "0011223344556677");
    fotad_device_cred_t cred;
    const char *why = "";
    assert_int_equal(fotad_device_auth_check(&f->cfg, &f->in, NOW, 1000, &cred, &why), FOTA_OK);
    assert_string_equal(cred.id, "inv-1");
    uint8_t dk[32];
    fota_auth_device_key(master, sizeof master, "inv-1", dk);
    assert_memory_equal(cred.device_key, dk, 32);
    /* upper-case hex in the MAC header is the same MAC */
    sign(f, "inv-1", "/t", 0, "8899aabbccddeeff");
    for (char *p = f->mac; *p != '\0'; p++) {
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    }
    assert_int_equal(check(f, &why), FOTA_OK);
}

static void test_refuses_changes(void **state)
{
    fixture_t *f = *state;
    const char *why;
    sign(f, "inv-1", "/api/inverter/fota/chunk?chunk_number=7", 0, "1111111111111111");
    f->in.target = "/api/inverter/fota/chunk?chunk_number=8";
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    assert_string_equal(why, "bad MAC");
    f->in.target = "/api/inverter/fota/chunk?chunk_number=7";
    f->in.method = "POST";
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    f->in.method = "GET";
    f->in.body = (const uint8_t *)"x";
    f->in.body_len = 1;
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    f->in.body_len = 0;
    f->in.device_id = "inv-2"; /* the MAC was made with inv-1's key */
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    f->in.device_id = "inv-1";
    f->mac[10] = f->mac[10] == '0' ? '1' : '0';
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
}

static void test_clock_window(void **state)
{
    fixture_t *f = *state;
    const char *why;
    sign(f, "inv-1", "/t", 300, "2222222222222222");
    assert_int_equal(check(f, &why), FOTA_OK);
    sign(f, "inv-1", "/t", -300, "2222222222222223");
    assert_int_equal(check(f, &why), FOTA_OK);
    sign(f, "inv-1", "/t", 301, "2222222222222224");
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    sign(f, "inv-1", "/t", -301, "2222222222222225");
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    assert_non_null(strstr(why, "clock window"));
    sign(f, "inv-1", "/t", 0, "2222222222222226");
    f->in.time = "17950000x0";
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
}

static void test_headers(void **state)
{
    fixture_t *f = *state;
    const char *why;
    sign(f, "inv-1", "/t", 0, "3333333333333333");
    fotad_device_auth_in_t good = f->in;
    f->in.device_id = NULL;
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    assert_string_equal(why, "missing X-Device-Id");
    f->in = good;
    f->in.auth = NULL;
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    assert_string_equal(why, "missing X-Fota-Auth");
    f->in = good;
    f->in.nonce = "333333333333333";
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    f->in.nonce = "333333333333333g";
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    f->in = good;
    f->in.auth = "abc";
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    f->in = good;
    f->in.device_id = "bad id";
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    /* none of the refusals used up the nonce */
    f->in = good;
    assert_int_equal(check(f, &why), FOTA_OK);
}

static void test_replay(void **state)
{
    fixture_t *f = *state;
    const char *why;
    sign(f, "inv-1", "/t", 0, "4444444444444444");
    assert_int_equal(check(f, &why), FOTA_OK);
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    assert_string_equal(why, "replayed nonce");
    /* the same nonce in upper case is the same nonce, whatever else the request says */
    sign(f, "inv-1", "/t", 0, "abcdef0123456789");
    assert_int_equal(check(f, &why), FOTA_OK);
    sign(f, "inv-1", "/u", 0, "ABCDEF0123456789");
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    sign(f, "inv-2", "/t", 0, "4444444444444444");
    assert_int_equal(check(f, &why), FOTA_OK);
}

/* A request seen by one node is a replay on another: the pair is in the shared store, not in
 * either node's memory; it is forgotten only after twice the window. */
static void test_replay_across_nodes(void **state)
{
    fixture_t *node1 = *state;
    fixture_t node2 = *node1;
    assert_int_equal(fotad_nonce_cache_new(300, &node2.nonces), FOTA_OK);
    node2.cfg.nonces = node2.nonces;
    const char *why;
    sign(node1, "inv-7", "/t", 0, "7777777777777777");
    assert_int_equal(check(node1, &why), FOTA_OK);
    node2.in = node1->in;
    assert_int_equal(check(&node2, &why), FOTA_ERR_HTTP_AUTH);
    assert_string_equal(why, "replayed nonce");
    assert_int_equal(shared.n, 1);
    assert_int_equal(shared.expires[0], NOW + 600);
    /* the database down: refused, as a server error, not as a replay */
    shared.down = true;
    sign(node1, "inv-7", "/t", 0, "7777777777777778");
    assert_int_equal(check(node1, &why), FOTA_ERR_IO);
    assert_string_equal(why, "nonce store unavailable");
    fotad_nonce_cache_free(node2.nonces);
}

/* Keys enter the cache only once their MAC verified; a cached device is still checked in full. */
static void test_cache_takes_verified_keys_only(void **state)
{
    fixture_t *f = *state;
    const char *why;
    uint64_t hits;
    uint64_t misses;
    fotad_device_cred_t cred;
    sign(f, "inv-1", "/t", 0, "5555555555555551");
    assert_int_equal(fotad_device_auth_check(&f->cfg, &f->in, NOW, 1000, &cred, &why), FOTA_OK);
    uint8_t dk[32];
    fota_auth_device_key(master, sizeof master, "inv-1", dk);
    assert_memory_equal(cred.device_key, dk, 32);
    fotad_keycache_stats(f->keys, &hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 2);
    /* inv-9 claimed with inv-1's MAC: refused, and inv-9 is not cached by it */
    sign(f, "inv-1", "/t", 0, "5555555555555552");
    f->in.device_id = "inv-9";
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    sign(f, "inv-9", "/t", 0, "5555555555555553");
    assert_int_equal(check(f, &why), FOTA_OK);
    fotad_keycache_stats(f->keys, &hits, &misses);
    assert_int_equal(misses, 4); /* the forged request and inv-9's first real one */
    sign(f, "inv-9", "/t", 0, "5555555555555554");
    assert_int_equal(check(f, &why), FOTA_OK);
    fotad_keycache_stats(f->keys, &hits, &misses);
    assert_int_equal(hits, 2);
    /* cached inv-1: inv-2's MAC, a changed target and a replay are refused */
    sign(f, "inv-2", "/t", 0, "5555555555555555");
    f->in.device_id = "inv-1";
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    assert_string_equal(why, "bad MAC");
    sign(f, "inv-1", "/t", 0, "5555555555555556");
    f->in.target = "/u";
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    f->in.target = "/t";
    assert_int_equal(check(f, &why), FOTA_OK);
    assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
    assert_string_equal(why, "replayed nonce");
}

/* A cache far smaller than the fleet: devices evict each other, every one keeps its own keys. */
static void test_cache_eviction(void **state)
{
    fixture_t *f = *state;
    fotad_keycache_free(f->keys);
    assert_int_equal(fotad_keycache_new(2, &f->keys), FOTA_OK);
    f->cfg.keys = f->keys;
    const char *why;
    fotad_device_cred_t cred;
    char id[16];
    char other[16];
    char nonce[17];
    uint8_t dk[32];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 6; i++) {
            snprintf(id, sizeof id, "dev-%d", i);
            snprintf(other, sizeof other, "dev-%d", (i + 1) % 6);
            snprintf(nonce, sizeof nonce, "%016x", round * 100 + i * 2);
            sign(f, id, "/t", 0, nonce);
            assert_int_equal(fotad_device_auth_check(&f->cfg, &f->in, NOW, 1000, &cred, &why),
                             FOTA_OK);
            fota_auth_device_key(master, sizeof master, id, dk);
            assert_memory_equal(cred.device_key, dk, 32);
            snprintf(nonce, sizeof nonce, "%016x", round * 100 + i * 2 + 1);
            sign(f, other, "/t", 0, nonce);
            f->in.device_id = id;
            assert_int_equal(check(f, &why), FOTA_ERR_HTTP_AUTH);
        }
    }
    /* an id is matched whole, not by a prefix or the slot it hashes to */
    uint8_t k1[32] = {1};
    uint8_t k2[32] = {2};
    uint8_t got1[32];
    uint8_t got2[32];
    fotad_keycache_put(f->keys, "ab", k1, k2);
    assert_false(fotad_keycache_get(f->keys, "a", got1, got2));
    assert_false(fotad_keycache_get(f->keys, "abc", got1, got2));
    assert_true(fotad_keycache_get(f->keys, "ab", got1, got2));
    assert_memory_equal(got1, k1, 32);
    assert_memory_equal(got2, k2, 32);
}

static void test_nonce_retention(void **state)
{
    (void)state;
    fotad_nonce_cache_t *c;
    assert_int_equal(fotad_nonce_cache_new(300, &c), FOTA_OK);
    assert_int_equal(fotad_nonce_cache_use(c, "d", "aa", 0), FOTA_OK);
    assert_int_equal(fotad_nonce_cache_use(c, "d", "AA", 1), FOTA_ERR_STATE);
    assert_int_equal(fotad_nonce_cache_use(c, "d", "bb", 599), FOTA_OK);
    /* a pair stays refused for at least two windows after its first use ... */
    assert_int_equal(fotad_nonce_cache_use(c, "d", "aa", 600), FOTA_ERR_STATE);
    assert_int_equal(fotad_nonce_cache_use(c, "d", "bb", 1198), FOTA_ERR_STATE);
    /* ... and is forgotten after at most four */
    assert_int_equal(fotad_nonce_cache_use(c, "d", "aa", 1200), FOTA_OK);
    assert_int_equal(fotad_nonce_cache_use(c, "d", "cc", 1201), FOTA_OK);
    assert_int_equal(fotad_nonce_cache_use(c, "d", "cc", 5000), FOTA_OK); /* long idle */
    assert_int_equal(fotad_nonce_cache_use(c, "d", "cc", 5001), FOTA_ERR_STATE);
    fotad_nonce_cache_free(c);
    assert_int_equal(fotad_nonce_cache_new(0, &c), FOTA_ERR_ARG);
}

static void test_fpset_grows(void **state)
{
    (void)state;
    fotad_fpset_t s;
    fotad_fp_salt_t salt;
    assert_int_equal(fotad_fp_salt_init(&salt), FOTA_OK);
    fotad_fpset_init(&s);
    uint8_t fp[FOTAD_FP_LEN];
    char key[16];
    bool added;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        fotad_fingerprint(&salt, key, NULL, fp);
        assert_int_equal(fotad_fpset_add(&s, fp, &added), FOTA_OK);
        assert_true(added);
    }
    assert_int_equal(s.count, 5000);
    assert_true(s.cap >= 10000);
    for (int i = 0; i < 5000; i += 7) {
        snprintf(key, sizeof key, "k%d", i);
        fotad_fingerprint(&salt, key, NULL, fp);
        assert_true(fotad_fpset_contains(&s, fp));
        assert_int_equal(fotad_fpset_add(&s, fp, &added), FOTA_OK);
        assert_false(added);
    }
    fotad_fingerprint(&salt, "k5000", NULL, fp);
    assert_false(fotad_fpset_contains(&s, fp));
    fotad_fpset_clear(&s);
    assert_int_equal(s.count, 0);
    fotad_fingerprint(&salt, "k1", NULL, fp);
    assert_false(fotad_fpset_contains(&s, fp));
    fotad_fpset_free(&s);
}

/* The bootstrap token alone (no store): its status, and the admin role when it is right. */
static unsigned admin_auth(const uint8_t digest[32], const char *authorization)
{
    fotad_principal_t who;
    unsigned status = fotad_admin_auth(digest, NULL, authorization, &who);
    assert_int_equal(who.role, status == 0 ? FOTAD_ROLE_ADMIN : FOTAD_ROLE_NONE);
    return status;
}

static void test_admin_token(void **state)
{
    (void)state;
    uint8_t digest[32];
    fotad_sha256("s3cret-token", 12, digest);
    assert_int_equal(admin_auth(digest, "Bearer s3cret-token"), 0);
    assert_int_equal(admin_auth(digest, "bearer s3cret-token"), 0);
    assert_int_equal(admin_auth(digest, NULL), 401);
    assert_int_equal(admin_auth(digest, "Basic czNjcmV0"), 401);
    assert_int_equal(admin_auth(digest, "Bearer "), 401);
    assert_int_equal(admin_auth(digest, "Bearer s3cret-toke"), 403);
    assert_int_equal(admin_auth(digest, "Bearer s3cret-token2"), 403);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accepts_and_derives_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accepts_and_derives_key, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_changes, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(test_clock_window, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(test_headers, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(test_replay, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(test_cache_takes_verified_keys_only, setup_cached,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cache_eviction, setup_cached, teardown),
        cmocka_unit_test_setup_teardown(test_replay, setup_shared, teardown),
        cmocka_unit_test_setup_teardown(test_replay_across_nodes, setup_shared, teardown),
        cmocka_unit_test(test_nonce_retention),
        cmocka_unit_test(test_fpset_grows),
        cmocka_unit_test(test_admin_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
