/*
 * fake_server.c - a scripted update server at the agent's transport port (see fake_server.h).
 * Every response is made from the real release (real image, real signature, real chain) and
 * then, if a fault is on, spoiled in one precise way.
 */
#include "fake_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/version.h>

#include "fota/auth.h"
#include "fota/chain.h"
#include "fota/delta.h"
#include "fota/emu/image_build.h"
#include "fota/host/delta_create.h"
#include "fota/host/keys.h"

#define TEST_KEY_DIR_ENV "FOTA_TMPDIR"

/* ---- keys ------------------------------------------------------------------------------------ */

static fota_key_t *signing_key;
static uint8_t public_der[200];
static size_t public_der_len;

static void load_keys(void)
{
    if (signing_key != NULL) {
        return;
    }
    const char *dir = getenv(TEST_KEY_DIR_ENV);
    char priv[512], pub[512];
    snprintf(priv, sizeof priv, "%s/fake-%d.key", dir != NULL ? dir : "/tmp", (int)getpid());
    snprintf(pub, sizeof pub, "%s/fake-%d.pub", dir != NULL ? dir : "/tmp", (int)getpid());
    remove(priv);
    remove(pub);
    if (fota_key_generate(priv, pub) != FOTA_OK ||
        fota_key_load_private(priv, &signing_key) != FOTA_OK ||
        (public_der_len = sizeof public_der,
         fota_key_public_der(signing_key, public_der, &public_der_len)) != FOTA_OK) {
        fprintf(stderr, "fake server: cannot make a signing key\n");
        abort();
    }
    remove(priv);
    remove(pub);
}

void fake_keys(const uint8_t **pub_der, size_t *pub_len)
{
    load_keys();
    *pub_der = public_der;
    *pub_len = public_der_len;
}

/* ---- releases ------------------------------------------------------------------------------- */

static uint8_t *image_build(const char *version, uint32_t size, uint32_t emu_flags, uint32_t seed,
                            size_t *len)
{
    fota_image_spec_t spec = {0};
    spec.version = version;
    spec.project_name = "inverter-fw";
    spec.size = size;
    spec.emu_flags = emu_flags;
    spec.seed = seed;
    uint8_t *img = NULL;
    if (fota_image_build(&spec, &img, len) != FOTA_OK) {
        abort();
    }
    return img;
}

uint8_t *fake_image(const char *version, uint32_t size, uint32_t emu_flags, size_t *len)
{
    return image_build(version, size, emu_flags, 0, len);
}

uint8_t *fake_image_seed(const char *version, uint32_t size, uint32_t seed, size_t *len)
{
    return image_build(version, size, 0, seed, len);
}

void fake_server_init(fake_server_t *s, const char *device_id, const uint8_t device_key[32])
{
    memset(s, 0, sizeof *s);
    snprintf(s->device_id, sizeof s->device_id, "%s", device_id);
    memcpy(s->device_key, device_key, 32);
    s->fault_times = -1;
}

void fake_server_free(fake_server_t *s)
{
    free(s->image);
    free(s->blob);
    free(s->delta_blob);
    s->image = NULL;
    s->blob = NULL;
    s->delta_blob = NULL;
    s->delta = false;
}

static uint8_t *build_image(const fake_release_spec_t *spec, size_t *len)
{
    fota_image_spec_t is = {0};
    is.version = spec->version;
    is.project_name = "inverter-fw";
    is.size = spec->size;
    is.secure_version = spec->secure_version;
    is.emu_flags = spec->emu_flags;
    is.chip_id = spec->chip_id;
    is.seed = spec->seed;
    uint8_t *img = NULL;
    if (fota_image_build(&is, &img, len) != FOTA_OK) {
        abort();
    }
    if (spec->corrupt_header) {
        img[0] = 0xE8; /* not an ESP32 image any more; the chain and signature still cover it */
    }
    return img;
}

static void to_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }
}

void fake_server_release(fake_server_t *s, const fake_release_spec_t *spec)
{
    load_keys();
    fake_server_free(s);
    s->image = build_image(spec, &s->image_len);
    uint32_t chunk = spec->chunk_size != 0 ? spec->chunk_size : 1024;
    fota_manifest_t *m = &s->m;
    memset(m, 0, sizeof *m);
    m->format_version = 1;
    snprintf(m->product_id, sizeof m->product_id, "%s",
             spec->product_id != NULL ? spec->product_id : "esp32-inverter");
    snprintf(m->version, sizeof m->version, "%s", spec->version);
    m->security_version = spec->secure_version;
    m->image_size = spec->claim_size != 0 ? spec->claim_size : (uint32_t)s->image_len;
    m->chunk_size = chunk;
    m->chunk_count = (m->image_size + chunk - 1) / chunk;
    m->created = 1790000000u;
    s->blob_len = s->image_len + 32u * ((s->image_len + chunk - 1) / chunk);
    s->blob = malloc(s->blob_len);
    if (s->blob == NULL || fota_chain_build(s->image, s->image_len, chunk, s->blob, s->blob_len,
                                            m->chain_head) != FOTA_OK) {
        abort();
    }
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    mbedtls_md(sha, s->image, s->image_len, m->image_sha256);
    if (spec->wrong_sha) {
        m->image_sha256[0] ^= 1;
    }
    if (fota_manifest_sign(m, signing_key, s->manifest) != FOTA_OK) {
        abort();
    }
    uint8_t digest[32];
    mbedtls_md(sha, s->manifest, 256, digest);
    to_hex(digest, 16, s->release);
    s->offer = true;
}

/* ---- deltas --------------------------------------------------------------------------------- */

static void sign_delta(fake_server_t *s)
{
    fota_delta_manifest_t *d = &s->dm;
    if (fota_key_id(signing_key, d->m.key_id) != FOTA_OK) {
        abort();
    }
    uint8_t body[FOTA_DELTA_MANIFEST_BODY_LEN];
    uint8_t hash[32];
    uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t sig_len = 0;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    int rc = fota_delta_manifest_encode_body(d, body) != FOTA_OK;
    rc = rc || mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0;
    rc = rc || mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), body, sizeof body, hash);
#if MBEDTLS_VERSION_MAJOR >= 3
    rc = rc || mbedtls_pk_sign(fota_key_pk(signing_key), MBEDTLS_MD_SHA256, hash, 32, sig,
                               sizeof sig, &sig_len, mbedtls_ctr_drbg_random, &drbg) != 0;
#else
    rc = rc || mbedtls_pk_sign(fota_key_pk(signing_key), MBEDTLS_MD_SHA256, hash, 32, sig, &sig_len,
                               mbedtls_ctr_drbg_random, &drbg) != 0;
#endif
    rc = rc || fota_delta_manifest_assemble(body, sig, sig_len, s->delta_manifest) != FOTA_OK;
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    if (rc) {
        fprintf(stderr, "fake server: cannot sign the delta manifest\n");
        abort();
    }
}

void fake_server_delta(fake_server_t *s, const fake_delta_spec_t *spec)
{
    load_keys();
    free(s->delta_blob);
    const uint8_t *to = spec->patch_to != NULL ? spec->patch_to : s->image;
    size_t to_len = spec->patch_to != NULL ? spec->patch_to_len : s->image_len;
    fota_delta_opts_t o = fota_delta_opts_default();
    o.record_size = s->m.chunk_size;
    if (spec->segment_records != 0) {
        o.segment_records = spec->segment_records;
    }
    uint8_t *patch = NULL;
    size_t patch_len = 0;
    if (fota_delta_create(spec->old, spec->old_len, to, to_len, &o, &patch, &patch_len) !=
        FOTA_OK) {
        abort();
    }
    const uint8_t *records = patch + FOTA_DELTA_HEADER_LEN; /* served without the header */
    size_t records_len = patch_len - FOTA_DELTA_HEADER_LEN;
    fota_delta_manifest_t *d = &s->dm;
    memset(d, 0, sizeof *d);
    d->m = s->m;
    d->patch_size = (uint32_t)records_len;
    d->m.chunk_count = (uint32_t)((records_len + o.record_size - 1) / o.record_size);
    const uint8_t *src = spec->claim_old != NULL ? spec->claim_old : spec->old;
    size_t src_len = spec->claim_old != NULL ? spec->claim_old_len : spec->old_len;
    d->source_size = (uint32_t)src_len;
    memcpy(d->source_sha256, src + src_len - 32, 32); /* the image's id: its appended hash */
    memcpy(s->delta_source, spec->old + spec->old_len - 32, 32);
    s->delta_blob_len = records_len + 32u * d->m.chunk_count;
    s->delta_blob = malloc(s->delta_blob_len);
    if (s->delta_blob == NULL ||
        fota_chain_build(records, records_len, o.record_size, s->delta_blob, s->delta_blob_len,
                         d->m.chain_head) != FOTA_OK) {
        abort();
    }
    free(patch);
    sign_delta(s);
    uint8_t digest[32];
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), s->delta_manifest,
               FOTA_DELTA_MANIFEST_LEN, digest);
    to_hex(digest, 16, s->delta_id);
    s->delta_offer_always = spec->offer_always;
    s->delta = true;
}

/* The check names an image the delta is from (or the server offers it to anyone). */
static bool delta_for(fake_server_t *s, const char *target)
{
    const char *p = strstr(target, "&image=");
    s->image_seen[0] = '\0';
    if (p != NULL) {
        snprintf(s->image_seen, sizeof s->image_seen, "%.64s", p + 7);
    }
    if (!s->delta) {
        return false;
    }
    char want[65];
    to_hex(s->delta_source, 32, want);
    return s->delta_offer_always || strcmp(s->image_seen, want) == 0;
}

bool fake_server_got_report(const fake_server_t *s, const char *state)
{
    for (unsigned i = 0; i < s->report_count && i < 64; i++) {
        if (strcmp(s->reports[i], state) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- answering ------------------------------------------------------------------------------ */

typedef struct {
    int status;
    int64_t content_length; /* -1: as long as the body */
    uint8_t *body;
    size_t len;
    size_t break_after; /* SIZE_MAX: no break */
} reply_t;

static const char *header(const fota_http_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++) {
        if (strcmp(req->headers[i].name, name) == 0) {
            return req->headers[i].value;
        }
    }
    return NULL;
}

static bool authentic(const fake_server_t *s, const fota_http_request_t *req)
{
    const char *id = header(req, "X-Device-Id");
    const char *t = header(req, "X-Fota-Time");
    const char *nonce = header(req, "X-Fota-Nonce");
    const char *mac = header(req, "X-Fota-Auth");
    if (id == NULL || t == NULL || nonce == NULL || mac == NULL || strcmp(id, s->device_id) != 0) {
        return false;
    }
    uint8_t key[32];
    char want[FOTA_AUTH_HEX_LEN + 1];
    fota_auth_msg_t msg = {req->method, req->target, t, nonce, req->body, req->body_len};
    return fota_auth_key(s->device_key, key) == FOTA_OK &&
           fota_auth_mac(NULL, key, &msg, want) == FOTA_OK && strcmp(want, mac) == 0;
}

static void reply_copy(reply_t *r, int status, const void *body, size_t len)
{
    r->status = status;
    r->len = len;
    r->body = malloc(len + 1);
    if (len > 0) {
        memcpy(r->body, body, len);
    }
}

static bool fault_on(fake_server_t *s, fake_fault_t f)
{
    if (s->fault != f || s->fault_times == 0) {
        return false;
    }
    if (s->fault_times > 0) {
        s->fault_times--;
    }
    return true;
}

/* The manifest as this server sends it, alone or inside an offer: one bit flipped under
 * FAKE_MANIFEST_FLIP. */
static void manifest_as_sent(fake_server_t *s, uint8_t out[FOTA_MANIFEST_LEN])
{
    memcpy(out, s->manifest, FOTA_MANIFEST_LEN);
    if (fault_on(s, FAKE_MANIFEST_FLIP)) {
        out[100] ^= 0x01;
    }
}

/* The offer; with the signed manifest in it (base64) when the device asks (manifest=1) and the
 * server is not set to leave it out. */
static void answer_check(fake_server_t *s, const char *target, reply_t *r)
{
    s->checks++;
    if (!s->offer) {
        reply_copy(r, 204, "", 0);
        return;
    }
    char sha[65];
    to_hex(s->m.image_sha256, 32, sha);
    char manifest[448] = "";
    if (strstr(target, "&manifest=1") != NULL && !s->no_embedded_manifest) {
        uint8_t m[sizeof s->manifest];
        manifest_as_sent(s, m);
        char b64[360];
        size_t b64_len = 0;
        mbedtls_base64_encode((unsigned char *)b64, sizeof b64, &b64_len, m, sizeof m);
        snprintf(manifest, sizeof manifest, ",\"manifest_data\":\"%s\"", b64);
    }
    if (s->action != NULL) {
        size_t used = strlen(manifest);
        snprintf(manifest + used, sizeof manifest - used, ",\"action\":\"%s\"", s->action);
    }
    if (delta_for(s, target)) {
        size_t used = strlen(manifest);
        snprintf(manifest + used, sizeof manifest - used, ",\"delta\":\"%s\",\"delta_size\":%zu",
                 s->delta_id, s->delta_blob_len);
    }
    char js[1024];
    int n = snprintf(js, sizeof js,
                     "{\"release\":\"%s\",\"version\":\"%s\",\"size\":%u,\"chunk_size\":%u,"
                     "\"chunk_count\":%u,\"sha256\":\"%s\",\"blob\":\"/api/inverter/fota/blob/"
                     "%s\"%s}",
                     s->release, s->m.version, (unsigned)s->m.image_size, (unsigned)s->m.chunk_size,
                     (unsigned)s->m.chunk_count, sha, s->release, manifest);
    reply_copy(r, 200, js, (size_t)n);
}

static void answer_manifest(fake_server_t *s, const char *target, reply_t *r)
{
    if (s->delta && strstr(target, s->delta_id) != NULL) {
        s->delta_manifests++;
        reply_copy(r, 200, s->delta_manifest, sizeof s->delta_manifest);
        return;
    }
    uint8_t m[sizeof s->manifest];
    manifest_as_sent(s, m);
    reply_copy(r, 200, m, sizeof m);
}

static size_t chunk_len(const fake_server_t *s, uint32_t n)
{
    size_t off = (size_t)n * s->m.chunk_size;
    size_t left = s->image_len - off;
    return left < s->m.chunk_size ? left : s->m.chunk_size;
}

static void chunk_json(fake_server_t *s, reply_t *r, uint32_t n, bool faulty)
{
    uint8_t data[65536];
    size_t len = chunk_len(s, n);
    memcpy(data, s->image + (size_t)n * s->m.chunk_size, len);
    uint8_t key[32];
    memcpy(key, s->device_key, 32);
    if (faulty && s->fault == FAKE_CHUNK_SHORT) {
        len--;
    }
    if (faulty && s->fault == FAKE_WRONG_DEVICE_KEY) {
        key[0] ^= 0x55;
    }
    uint8_t mac[32];
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32, data, len, mac);
    if (faulty && s->fault == FAKE_CHUNK_BAD_MAC) {
        mac[5] ^= 0x10;
    }
    if (faulty && s->fault == FAKE_CHUNK_FLIP_DATA) {
        data[len / 2] ^= 0x04;
    }
    size_t b64_len = 0;
    static char b64[90000];
    mbedtls_base64_encode((unsigned char *)b64, sizeof b64, &b64_len, data, len);
    if (faulty && s->fault == FAKE_CHUNK_BAD_BASE64) {
        b64[10] = '*';
    }
    char mac_hex[65];
    to_hex(mac, 32, mac_hex);
    static char js[100000];
    uint32_t number = faulty && s->fault == FAKE_CHUNK_WRONG_NUMBER ? n + 1 : n;
    int k = snprintf(js, sizeof js, "{\"chunk_number\":%u,\"data\":\"%s\",\"mac\":\"%s\"}%s",
                     (unsigned)number, b64, mac_hex,
                     faulty && s->fault == FAKE_CHUNK_OVERSIZED ? "" : "");
    if (faulty && s->fault == FAKE_CHUNK_OVERSIZED) {
        k = snprintf(js, sizeof js,
                     "{\"chunk_number\":%u,\"pad\":\"%0*d\",\"data\":\"%s\",\"mac\":\"%s\"}",
                     (unsigned)number, 4000, 0, b64, mac_hex);
    }
    if (faulty && s->fault == FAKE_CHUNK_BAD_JSON) {
        js[0] = ' ';
    }
    reply_copy(r, 200, js, (size_t)k);
}

static uint32_t query_u32(const char *target, const char *key)
{
    const char *p = strstr(target, key);
    return p != NULL ? (uint32_t)strtoul(p + strlen(key), NULL, 10) : UINT32_MAX;
}

static void answer_chunk(fake_server_t *s, const fota_http_request_t *req, reply_t *r)
{
    uint32_t n = query_u32(req->target, "chunk_number=");
    if (n >= s->m.chunk_count) {
        reply_copy(r, 416, "{}", 2);
        return;
    }
    bool hit = n == s->fault_chunk && s->fault >= FAKE_CHUNK_WRONG_NUMBER &&
               s->fault <= FAKE_CHUNK_BAD_JSON;
    hit = hit || s->fault == FAKE_WRONG_DEVICE_KEY;
    chunk_json(s, r, n, hit && fault_on(s, s->fault));
}

static size_t record_off(const fake_server_t *s, uint32_t i)
{
    return (size_t)i * (s->m.chunk_size + 32u);
}

static void spoil_blob(fake_server_t *s, reply_t *r, size_t first)
{
    size_t at = record_off(s, s->fault_chunk);
    if (at < first || at >= first + r->len) {
        return;
    }
    if (s->fault == FAKE_RECORD_FLIP && fault_on(s, FAKE_RECORD_FLIP)) {
        r->body[at - first + 3] ^= 0x80;
    }
    size_t rec = s->m.chunk_size + 32u;
    if (s->fault == FAKE_RECORD_SWAP && at + 2 * rec <= first + r->len &&
        fault_on(s, FAKE_RECORD_SWAP)) {
        uint8_t tmp[65536 + 32];
        memcpy(tmp, r->body + at - first, rec);
        memmove(r->body + at - first, r->body + at - first + rec, rec);
        memcpy(r->body + at - first + rec, tmp, rec);
    }
}

static bool is_delta_blob(const fake_server_t *s, const fota_http_request_t *req)
{
    return s->delta && strstr(req->target, "/blob/") != NULL &&
           strstr(req->target, s->delta_id) != NULL;
}

static void answer_blob(fake_server_t *s, const fota_http_request_t *req, reply_t *r)
{
    const char *range = header(req, "Range");
    unsigned long first = 0, last = 0;
    bool delta = is_delta_blob(s, req);
    const uint8_t *blob = delta ? s->delta_blob : s->blob;
    size_t blob_len = delta ? s->delta_blob_len : s->blob_len;
    if (range == NULL || sscanf(range, "bytes=%lu-%lu", &first, &last) != 2 || last < first) {
        reply_copy(r, 400, "{}", 2);
        return;
    }
    if (first >= blob_len) {
        reply_copy(r, 416, "", 0);
        return;
    }
    if (last >= blob_len) {
        last = blob_len - 1;
    }
    if (fault_on(s, FAKE_BLOB_200)) {
        reply_copy(r, 200, blob, blob_len);
        return;
    }
    reply_copy(r, 206, blob + first, last - first + 1);
    if (delta) {
        s->delta_requests++;
        s->delta_bytes += r->len;
    }
    spoil_blob(s, r, first);
}

static void note_report(fake_server_t *s, const fota_http_request_t *req)
{
    char b[2048];
    size_t n = req->body_len < sizeof b - 1 ? req->body_len : sizeof b - 1;
    memcpy(b, req->body, n);
    b[n] = '\0';
    const char *p = strstr(b, "\"state\":\"");
    unsigned i = s->report_count < 64 ? s->report_count : 63;
    if (p != NULL) {
        sscanf(p + 9, "%23[a-z_]", s->reports[i]);
    }
    const char *e = strstr(b, "\"error\":");
    s->report_errors[i] = e != NULL ? atoi(e + 8) : -1;
    s->report_count++;
}

static void route(fake_server_t *s, const fota_http_request_t *req, reply_t *r)
{
    const char *t = req->target;
    const char *prefix = "/api/inverter/fota/";
    if (strncmp(t, prefix, strlen(prefix)) != 0) {
        reply_copy(r, 404, "{}", 2);
        return;
    }
    t += strlen(prefix);
    if (strncmp(t, "check?", 6) == 0) {
        answer_check(s, t, r);
    } else if (strncmp(t, "manifest?", 9) == 0) {
        answer_manifest(s, t, r);
    } else if (strncmp(t, "chunk?", 6) == 0) {
        s->data_requests++;
        answer_chunk(s, req, r);
    } else if (strncmp(t, "blob/", 5) == 0) {
        s->data_requests++;
        answer_blob(s, req, r);
    } else if (strncmp(t, "report", 6) == 0 && strcmp(req->method, "POST") == 0) {
        note_report(s, req);
        reply_copy(r, 204, "", 0);
    } else {
        reply_copy(r, 404, "{}", 2);
    }
}

static bool is_data(const fota_http_request_t *req)
{
    return strstr(req->target, "/chunk?") != NULL || strstr(req->target, "/blob/") != NULL;
}

static void apply_transport_faults(fake_server_t *s, const fota_http_request_t *req, reply_t *r)
{
    if (!is_data(req)) {
        return;
    }
    if (s->fault == FAKE_STATUS_500 && fault_on(s, FAKE_STATUS_500)) {
        r->status = 500;
    } else if (s->fault == FAKE_BREAK && fault_on(s, FAKE_BREAK)) {
        r->break_after = (size_t)s->fault_param;
    } else if (s->fault == FAKE_LENGTH_LIES && fault_on(s, FAKE_LENGTH_LIES)) {
        r->content_length = (int64_t)r->len + 100;
        r->break_after = r->len;
    }
}

/* The first chunk or record a data request asks for, and the length of one unit on the wire. */
static uint32_t data_start(const fake_server_t *s, const fota_http_request_t *req)
{
    if (strstr(req->target, "/chunk?") != NULL) {
        return query_u32(req->target, "chunk_number=");
    }
    const char *range = header(req, "Range");
    unsigned long first = 0;
    if (range == NULL || sscanf(range, "bytes=%lu-", &first) != 1) {
        return 0;
    }
    return (uint32_t)(first / (s->m.chunk_size + 32u));
}

/* Count what is fetched again: units below the highest one already delivered whole. */
static void note_refetch(fake_server_t *s, const fota_http_request_t *req, const reply_t *r,
                         size_t fed)
{
    if (!is_data(req) || r->status / 100 != 2) {
        return;
    }
    uint32_t start = data_start(s, req);
    bool seed = strstr(req->target, "/chunk?") != NULL;
    if (start < s->high_chunk) {
        /* a seed request asks for one chunk; a Range asks again for everything below high */
        s->refetched += seed ? 1u : s->high_chunk - start;
    }
    uint32_t whole = strstr(req->target, "/chunk?") != NULL
                         ? (fed == r->len ? 1u : 0u)
                         : (uint32_t)(fed / (s->m.chunk_size + 32u));
    if (start + whole > s->high_chunk) {
        s->high_chunk = start + whole;
    }
}

static void enter(const fake_server_t *s, bool entering)
{
    if (s->agent_call != NULL) {
        s->agent_call(entering);
    }
}

static fota_err_t deliver(fake_server_t *s, const fota_http_request_t *req, const reply_t *r,
                          fota_agent_t *agent)
{
    enter(s, true);
    fota_agent_response_begin(agent, r->status,
                              r->content_length >= 0 ? r->content_length : (int64_t)r->len);
    if (r->status == 204 && s->retry_after != 0 && strstr(req->target, "/check?") != NULL) {
        char v[16];
        snprintf(v, sizeof v, "%u", (unsigned)s->retry_after);
        fota_agent_response_header(agent, "Retry-After", v);
    }
    enter(s, false);
    size_t end = r->len < r->break_after ? r->len : r->break_after;
    size_t piece = s->piece != 0 ? s->piece : (end > 0 ? end : 1);
    size_t off = 0;
    fota_err_t fed = FOTA_OK;
    for (; off < end && fed == FOTA_OK; off += piece) {
        size_t n = end - off < piece ? end - off : piece;
        s->body_bytes += n;
        if (is_data(req)) {
            s->data_bytes += n;
        }
        enter(s, true);
        fed = fota_agent_feed(agent, r->body + off, n);
        enter(s, false);
    }
    note_refetch(s, req, r, fed == FOTA_OK ? end : off - piece);
    fota_err_t transport = fed != FOTA_OK || end >= r->len ? FOTA_OK : FOTA_ERR_HTTP_TRUNCATED;
    enter(s, true);
    fota_err_t err = fota_agent_response_end(agent, transport);
    enter(s, false);
    return err;
}

static fota_err_t perform(void *ctx, const fota_http_request_t *req, fota_agent_t *agent)
{
    fake_server_t *s = ctx;
    reply_t r = {0, -1, NULL, 0, SIZE_MAX};
    s->requests++;
    if (!authentic(s, req)) {
        s->auth_failures++;
        reply_copy(&r, 401, "{\"error\":\"bad credentials\",\"code\":\"auth\"}", 41);
    } else {
        route(s, req, &r);
        apply_transport_faults(s, req, &r);
    }
    fota_err_t err = deliver(s, req, &r, agent);
    free(r.body);
    return err;
}

fota_transport_t fake_server_transport(fake_server_t *s)
{
    fota_transport_t t = {s, perform};
    return t;
}
