/*
 * fuzz_device_auth.c - libFuzzer target: fotad's device request authentication
 * (server/device_auth.c, fotad_device_auth_check): the X-Device-Id, X-Fota-Time, X-Fota-Nonce
 * and X-Fota-Auth headers, the MAC over method, raw request target, time, nonce and body hash,
 * the clock window and the nonce cache (server/nonce_cache.c, fpset.c), as the router calls it
 * for every device request.
 *
 * Input: byte 0 flags, then the fields separated by '\n': method, target, X-Device-Id,
 * X-Fota-Time, X-Fota-Nonce, X-Fota-Auth, and the rest is the body (it may hold '\n'). Missing
 * fields are empty. Flags:
 *   bit 0  sign: the harness puts the right MAC for the other fields in X-Fota-Auth (a fuzzer
 *          cannot forge an HMAC, so without this everything after the MAC check is out of reach)
 *   bit 1  with sign: the MAC in upper case (the protocol accepts either case)
 *   bits 2-5  X-Device-Id, X-Fota-Time, X-Fota-Nonce, X-Fota-Auth absent (NULL)
 *   bit 6  the monotonic clock moves two windows on before the replays below (the nonce cache
 *          starts a new generation)
 *   bit 7  a key cache (server/keycache.c, 2 slots, new for each input): the replays and the
 *          changed requests below then find the keys of the first check there, or another
 *          device's
 * The server's clock is fixed at RIG_NOW; the master secret is fixed here.
 *
 * Properties (abort on violation):
 *   - the verdict is FOTA_OK or FOTA_ERR_HTTP_AUTH with a reason; it is FOTA_OK exactly when a
 *     second check written here from docs/PROTOCOL.md section 2 says the headers are well formed,
 *     the time is inside the window and the MAC (computed here with fota/auth.h) matches;
 *   - an accepted request names its device and gets that device's key;
 *   - an accepted request is refused when sent again (replay), with its nonce in the other case
 *     too, also after one window of monotonic time; the same request with the target, the body
 *     or the device id changed by one byte is refused as a bad MAC; with a new nonce and its MAC
 *     it is accepted again, with the same device key (from the key cache, with flag bit 7).
 *
 * With FOTA_FUZZ_TRACE set in the environment every check prints its verdict.
 *
 * --make-seed DIR writes requests signed with fota/auth.h for the endpoints and values of
 * docs/PROTOCOL.md, and (flag sign) every request the real agent makes during an update in seed
 * mode (fuzz/rig.c): targets and report bodies as the agent writes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "device_auth.h"
#include "fota/auth.h"
#include "rig.h"

#define RIG_NOW 1790000000
#define AUTH_MAX_INPUT 8192u

enum {
    F_SIGN = 1,
    F_UPPER = 2,
    F_NO_ID = 4,
    F_NO_TIME = 8,
    F_NO_NONCE = 16,
    F_NO_AUTH = 32,
    F_JUMP = 64,
    F_KEYCACHE = 128,
};

static const uint8_t g_master[] = "fuzz master secret: signs nothing but these inputs";

/* The right MAC of a request for the device it names, with the key derived from g_master. */
static void mac_of(const char *id, const fota_auth_msg_t *m, char out[FOTA_AUTH_HEX_LEN + 1])
{
    uint8_t dk[32], ak[32];
    rig_require(fota_auth_device_key(g_master, sizeof g_master - 1, id, dk) == FOTA_OK &&
                fota_auth_key(dk, ak) == FOTA_OK && fota_auth_mac(NULL, ak, m, out) == FOTA_OK,
            "the MAC can be computed");
}

/* ---- seeds ----------------------------------------------------------------------------------- */

static unsigned g_seed_count;

static void write_request(const char *dir, const char *prefix, uint8_t flags, const char *method,
                          const char *target, const char *id, const char *time, const char *nonce,
                          const char *auth, const uint8_t *body, size_t body_len)
{
    static uint8_t buf[AUTH_MAX_INPUT];
    int n = snprintf((char *)buf, sizeof buf, "%c%s\n%s\n%s\n%s\n%s\n%s\n", flags, method, target,
                     id, time, nonce, auth);
    rig_require(n > 0 && (size_t)n + body_len <= sizeof buf, "a seed fits");
    memcpy(buf + n, body, body_len);
    char name[48];
    snprintf(name, sizeof name, "%s-%02u", prefix, g_seed_count++);
    rig_write_seed(dir, name, buf, (size_t)n + body_len);
}

/* A request as a device with its key would sign it (fota-devreq and the agent use this code). */
static void seed_signed(const char *dir, const char *method, const char *target, const char *id,
                        long skew, const char *nonce, const char *body)
{
    char time[24], mac[FOTA_AUTH_HEX_LEN + 1];
    snprintf(time, sizeof time, "%ld", (long)RIG_NOW + skew);
    fota_auth_msg_t m = {method, target, time, nonce, (const uint8_t *)body, strlen(body)};
    mac_of(id, &m, mac);
    write_request(dir, "doc", 0, method, target, id, time, nonce, mac, (const uint8_t *)body,
                  strlen(body));
}

static void seed_docs(const char *dir)
{
    const char *rel = "3f2a9c1d00112233445566778899aabb";
    char t[256];
    seed_signed(dir, "GET", "/api/inverter/fota/check?version=2.0.0&hw=inv-5k", "inv-000123", 0,
                "9f1c2e7a00b3d4e5", "");
    snprintf(t, sizeof t, "/api/inverter/fota/manifest?release=%s", rel);
    seed_signed(dir, "GET", t, "inv-000123", 299, "0000000000000001", "");
    snprintf(t, sizeof t, "/api/inverter/fota/chunk?chunk_number=7&release=%s", rel);
    seed_signed(dir, "GET", t, "dev:A.b_c-9", -300, "ABCDEF0123456789", "");
    snprintf(t, sizeof t, "/api/inverter/fota/blob/%s", rel);
    seed_signed(dir, "HEAD", t, "x", 0, "0123456789abcdef", "");
    seed_signed(dir, "POST", "/api/inverter/fota/report", "inv-000123", 5, "aaaaaaaaaaaaaaaa",
                "{\"state\":\"downloading\",\"release\":\"3f2a9c1d00112233445566778899aabb\","
                "\"version\":\"2.0.1\",\"running\":\"2.0.0\",\"done\":512,\"total\":1043,"
                "\"error\":0}");
    seed_signed(dir, "GET", "/api/inverter/fota/check?hw=inv%205k&version=1.0.0+rc1",
                "012345678901234567890123456789012345678901234567", 0, "fedcba9876543210", "");
    seed_signed(dir, "GET", "/api/inverter/fota/check?version=1&hw=x", "inv-000123", 301,
                "1111111111111111", "");
    /* Fields the harness fills or takes away. */
    write_request(dir, "flags", F_SIGN | F_UPPER, "GET", "/api/inverter/fota/check?version=1&hw=x",
                  "inv-000123", "1790000000", "2222222222222222", "", (const uint8_t *)"", 0);
    write_request(dir, "flags", F_SIGN | F_JUMP | F_KEYCACHE, "POST", "/api/inverter/fota/report",
                  "inv-1", "1790000000", "3333333333333333", "",
                  (const uint8_t *)"{\"state\":\"error\"}", 17);
    write_request(dir, "flags", F_NO_NONCE, "GET", "/", "inv-1", "1790000000", "", "",
                  (const uint8_t *)"", 0);
}

/* Every request of the real agent, re-signed by the harness (flag sign: the rig's device key is
 * not derived from this target's master secret). */
static void seed_agent(void *ctx, const fota_http_request_t *req)
{
    const char *v[4] = {"", "", "", ""};
    const char *names[4] = {"X-Device-Id", "X-Fota-Time", "X-Fota-Nonce", "X-Fota-Auth"};
    for (size_t h = 0; h < req->header_count; h++) {
        for (int k = 0; k < 4; k++) {
            if (strcasecmp(req->headers[h].name, names[k]) == 0) {
                v[k] = req->headers[h].value;
            }
        }
    }
    uint8_t flags = F_SIGN | (g_seed_count % 2 ? F_KEYCACHE : 0);
    write_request(ctx, "agent", flags, req->method, req->target, v[0], v[1], v[2], v[3],
                  req->body != NULL ? req->body : (const uint8_t *)"", req->body_len);
}

static void make_seeds(const char *dir)
{
    seed_docs(dir);
    rig_capture_requests(FOTA_MODE_SEED, seed_agent, (void *)dir);
}

/* ---- the second check ------------------------------------------------------------------------ */

static bool all_of(const char *s, const char *set, size_t min, size_t max)
{
    size_t n = strlen(s);
    return n >= min && n <= max && strspn(s, set) == n;
}

#define HEX "0123456789abcdefABCDEF"
#define DIGITS "0123456789"
#define ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:"

/* Well-formed headers, a time in the window, and the right MAC (either case). */
static bool should_pass(const fotad_device_auth_in_t *in)
{
    if (in->device_id == NULL || in->time == NULL || in->nonce == NULL || in->auth == NULL ||
        !all_of(in->device_id, ID_CHARS, 1, 48) || !all_of(in->nonce, HEX, 16, 16) ||
        !all_of(in->auth, HEX, 64, 64) || !all_of(in->time, DIGITS, 1, 20)) {
        return false;
    }
    /* At most 20 digits: compare as text against the window's ends, no overflow. */
    char lo[24], hi[24];
    snprintf(lo, sizeof lo, "%ld", (long)RIG_NOW - (long)FOTAD_AUTH_WINDOW_S);
    snprintf(hi, sizeof hi, "%ld", (long)RIG_NOW + (long)FOTAD_AUTH_WINDOW_S);
    const char *t = in->time + strspn(in->time, "0");
    if (strlen(t) != strlen(lo) || strcmp(t, lo) < 0 || strcmp(t, hi) > 0) {
        return false;
    }
    char mac[FOTA_AUTH_HEX_LEN + 1];
    fota_auth_msg_t m = {in->method, in->target, in->time, in->nonce, in->body, in->body_len};
    mac_of(in->device_id, &m, mac);
    return strcasecmp(mac, in->auth) == 0;
}

/* ---- the target ------------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = rig_make_seed_dir(*argc, *argv);
    if (dir != NULL) {
        make_seeds(dir);
        exit(0);
    }
    return 0;
}

typedef struct {
    char text[AUTH_MAX_INPUT + 1]; /* the input with its separators turned into NULs */
    char mac[FOTA_AUTH_HEX_LEN + 1];
    fotad_device_auth_in_t in;
} request_t;

/* Split the input into the six fields and the body. */
static void split(const uint8_t *data, size_t size, request_t *r)
{
    memcpy(r->text, data, size);
    r->text[size] = '\0';
    const char *field[6];
    size_t pos = 0;
    for (int k = 0; k < 6; k++) {
        field[k] = r->text + pos;
        char *nl = memchr(r->text + pos, '\n', size - pos);
        if (nl == NULL) {
            pos = size; /* this field runs to the end; the ones after it are empty */
            continue;
        }
        *nl = '\0';
        pos = (size_t)(nl - r->text) + 1;
    }
    r->in = (fotad_device_auth_in_t){
        field[0],  field[1], field[2], field[3], field[4], field[5], (const uint8_t *)r->text + pos,
        size - pos};
}

static void apply_flags(uint8_t flags, request_t *r)
{
    fotad_device_auth_in_t *in = &r->in;
    if (flags & F_SIGN) {
        fota_auth_msg_t m = {in->method, in->target, in->time, in->nonce, in->body, in->body_len};
        mac_of(in->device_id, &m, r->mac);
        for (char *c = r->mac; (flags & F_UPPER) && *c != '\0'; c++) {
            *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 'a' + 'A' : *c);
        }
        in->auth = r->mac;
    }
    in->device_id = (flags & F_NO_ID) ? NULL : in->device_id;
    in->time = (flags & F_NO_TIME) ? NULL : in->time;
    in->nonce = (flags & F_NO_NONCE) ? NULL : in->nonce;
    in->auth = (flags & F_NO_AUTH) ? NULL : in->auth;
}

/* The caches of one input: the nonces, and the keys (NULL without flag F_KEYCACHE). */
typedef struct {
    fotad_nonce_cache_t *nonces;
    fotad_keycache_t *keys;
} caches_t;

static fota_err_t check(const caches_t *cc, const fotad_device_auth_in_t *in, int64_t mono,
                        fotad_device_cred_t *cred)
{
    fotad_device_auth_cfg_t cfg = {.master = g_master,
                                   .master_len = sizeof g_master - 1,
                                   .nonces = cc->nonces,
                                   .window_s = FOTAD_AUTH_WINDOW_S,
                                   .keys = cc->keys};
    const char *why = NULL;
    memset(cred, 0x5A, sizeof *cred);
    fota_err_t err = fotad_device_auth_check(&cfg, in, RIG_NOW, mono, cred, &why);
    rig_require(err == FOTA_OK || err == FOTA_ERR_HTTP_AUTH, "OK or FOTA_ERR_HTTP_AUTH");
    rig_require(err == FOTA_OK || (why != NULL && why[0] != '\0'), "a refusal says why");
    static int trace = -1;
    trace = trace < 0 ? getenv("FOTA_FUZZ_TRACE") != NULL : trace;
    if (trace) {
        fprintf(stderr, "fuzz_device_auth: %s %s: %s\n", in->method, in->target,
                err == FOTA_OK ? "accepted" : why);
    }
    return err;
}

/* The same request with one byte of a field changed must fail its MAC. */
static void check_changed(const caches_t *cc, const fotad_device_auth_in_t *in)
{
    static char target[AUTH_MAX_INPUT + 2];
    static uint8_t body[AUTH_MAX_INPUT + 1];
    char id[FOTAD_DEVICE_ID_MAX + 1];
    fotad_device_cred_t cred;
    fotad_device_auth_in_t c = *in;
    snprintf(target, sizeof target, "%s%c", in->target, in->target[0] == '/' ? 'x' : '/');
    c.target = target;
    rig_require(check(cc, &c, 0, &cred) != FOTA_OK, "another target fails the MAC");
    c = *in;
    memcpy(body, in->body, in->body_len);
    body[0] = (uint8_t)(in->body_len > 0 ? body[0] ^ 1 : '{');
    c.body = body;
    c.body_len = in->body_len > 0 ? in->body_len : 1;
    rig_require(check(cc, &c, 0, &cred) != FOTA_OK, "another body fails the MAC");
    c = *in;
    snprintf(id, sizeof id, "%s", in->device_id);
    id[0] = id[0] == 'a' ? 'b' : 'a';
    c.device_id = id;
    rig_require(check(cc, &c, 0, &cred) != FOTA_OK, "another device fails the MAC");
}

/* The same device again with a new nonce and its MAC: accepted, with the same key (from the key
 * cache when there is one). */
static void check_fresh(const caches_t *cc, const fotad_device_auth_in_t *in, int64_t mono)
{
    char nonce[FOTAD_NONCE_HEX_LEN + 1];
    char mac[FOTA_AUTH_HEX_LEN + 1];
    memcpy(nonce, in->nonce, sizeof nonce);
    nonce[0] = nonce[0] == '0' ? '1' : '0';
    fotad_device_auth_in_t fresh = *in;
    fresh.nonce = nonce;
    fota_auth_msg_t m = {in->method, in->target, in->time, nonce, in->body, in->body_len};
    mac_of(in->device_id, &m, mac);
    fresh.auth = mac;
    fotad_device_cred_t cred;
    uint8_t dk[32];
    rig_require(check(cc, &fresh, mono, &cred) == FOTA_OK, "a new nonce is accepted");
    rig_require(fota_auth_device_key(g_master, sizeof g_master - 1, in->device_id, dk) == FOTA_OK &&
                memcmp(dk, cred.device_key, 32) == 0 && strcmp(cred.id, in->device_id) == 0,
            "the device and its key again");
}

static void check_accepted(const caches_t *cc, const fotad_device_auth_in_t *in,
                           const fotad_device_cred_t *cred, bool jump)
{
    uint8_t dk[32];
    rig_require(strcmp(cred->id, in->device_id) == 0, "the accepted device is the one named");
    rig_require(fota_auth_device_key(g_master, sizeof g_master - 1, in->device_id, dk) == FOTA_OK &&
                memcmp(dk, cred->device_key, 32) == 0,
            "the accepted device gets its own key");
    fotad_device_cred_t again;
    /* Two windows on: the nonce cache starts a new generation and must still know the pair. */
    int64_t mono = jump ? 2 * FOTAD_AUTH_WINDOW_S : 0;
    rig_require(check(cc, in, mono, &again) == FOTA_ERR_HTTP_AUTH, "a replay is refused");
    char nonce[FOTAD_NONCE_HEX_LEN + 1];
    for (size_t i = 0; i <= FOTAD_NONCE_HEX_LEN; i++) {
        char ch = in->nonce[i];
        nonce[i] = (char)(ch >= 'a' && ch <= 'f' ? ch - 32 : ch >= 'A' && ch <= 'F' ? ch + 32 : ch);
    }
    fotad_device_auth_in_t other = *in;
    other.nonce = nonce;
    rig_require(check(cc, &other, mono, &again) == FOTA_ERR_HTTP_AUTH,
            "a replay with the nonce in the other case is refused");
    check_changed(cc, in);
    check_fresh(cc, in, mono);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static request_t req;
    if (size < 1 || size - 1 > AUTH_MAX_INPUT) {
        return 0;
    }
    split(data + 1, size - 1, &req);
    apply_flags(data[0], &req);
    caches_t cc = {NULL, NULL};
    rig_require(fotad_nonce_cache_new(FOTAD_AUTH_WINDOW_S, &cc.nonces) == FOTA_OK, "a nonce cache");
    rig_require(!(data[0] & F_KEYCACHE) || fotad_keycache_new(2, &cc.keys) == FOTA_OK, "a key cache");
    fotad_device_cred_t cred;
    fota_err_t err = check(&cc, &req.in, 0, &cred);
    rig_require((err == FOTA_OK) == should_pass(&req.in), "the verdict of the second check");
    if (err == FOTA_OK) {
        check_accepted(&cc, &req.in, &cred, (data[0] & F_JUMP) != 0);
    }
    fotad_keycache_free(cc.keys);
    fotad_nonce_cache_free(cc.nonces);
    return 0;
}
