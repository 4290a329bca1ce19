/*
 * hostile.c - a hostile update server at the agent's transport port (see hostile.h).
 *
 * Requests the attack does not touch go to the honest fake server. A spoiled request is answered
 * here: the honest bytes are rebuilt from the honest server's release (image, blob, device key)
 * and then broken, so each attack differs from an honest answer in exactly one way.
 */
#include "hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>

#define TARGET_CHUNK "/api/inverter/fota/chunk?"
#define TARGET_BLOB "/api/inverter/fota/blob/"
#define TARGET_CHECK "/api/inverter/fota/check?"

static char js[100000];
static char b64[90000];

void hostile_init(hostile_t *h, fake_server_t *honest)
{
    memset(h, 0, sizeof *h);
    h->honest = honest;
    fake_server_init(&h->other, honest->device_id, honest->device_key);
    fake_release_spec_t spec = {0};
    spec.version = "6.6.6";
    spec.size = (uint32_t)honest->image_len;
    spec.chunk_size = honest->m.chunk_size;
    fake_server_release(&h->other, &spec);
}

void hostile_free(hostile_t *h)
{
    fake_server_free(&h->other);
}

static void hexify(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", b[i]);
    }
}

static uint32_t query_u32(const char *target, const char *key)
{
    const char *p = strstr(target, key);
    return p != NULL ? (uint32_t)strtoul(p + strlen(key), NULL, 10) : UINT32_MAX;
}

static const char *range_of(const fota_http_request_t *req)
{
    for (size_t i = 0; i < req->header_count; i++) {
        if (strcmp(req->headers[i].name, "Range") == 0) {
            return req->headers[i].value;
        }
    }
    return NULL;
}

/* Feed a whole answer; `length` -1 means no Content-Length. */
static fota_err_t answer(fota_agent_t *agent, int status, int64_t length, const void *body,
                         size_t len)
{
    fota_agent_response_begin(agent, status, length);
    fota_err_t fed = len > 0 ? fota_agent_feed(agent, body, len) : FOTA_OK;
    (void)fed;
    return fota_agent_response_end(agent, FOTA_OK);
}

/* ---- seed mode ------------------------------------------------------------------------------ */

static size_t chunk_of(const fake_server_t *s, uint32_t n, uint8_t *out)
{
    size_t off = (size_t)n * s->m.chunk_size;
    size_t len = s->image_len - off < s->m.chunk_size ? s->image_len - off : s->m.chunk_size;
    memcpy(out, s->image + off, len);
    return len;
}

static void mac_hex(const fake_server_t *s, const uint8_t *data, size_t len, char out[65])
{
    uint8_t mac[32];
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), s->device_key, 32, data, len,
                    mac);
    hexify(mac, 32, out);
}

static int spoil_json(hostile_t *h, uint32_t n, const char *data, const char *mac)
{
    switch (h->attack) {
    case HOSTILE_CHUNK_MAC_SHORT:
        return snprintf(js, sizeof js, "{\"chunk_number\":%u,\"data\":\"%s\",\"mac\":\"%.62s\"}",
                        (unsigned)n, data, mac);
    case HOSTILE_CHUNK_DUP_KEYS:
        return snprintf(js, sizeof js,
                        "{\"chunk_number\":%u,\"chunk_number\":%u,\"data\":\"%s\",\"mac\":\"%s\"}",
                        (unsigned)n, (unsigned)n + 1, data, mac);
    case HOSTILE_CHUNK_ESCAPED_DUP:
        return snprintf(js, sizeof js,
                        "{\"chunk_number\":%u,\"data\":\"%s\",\"mac\":\"%s\","
                        "\"m\\u0061c\":\"%064x\"}",
                        (unsigned)n, data, mac, 0u);
    case HOSTILE_CHUNK_HUGE_NUMBER:
        return snprintf(
            js, sizeof js,
            "{\"chunk_number\":1000000000000000000000%u,\"data\":\"%s\",\"mac\":\"%s\"}",
            (unsigned)n, data, mac);
    case HOSTILE_CHUNK_NESTED:
        return snprintf(js, sizeof js,
                        "{\"chunk_number\":%u,\"data\":{\"d\":\"%s\"},\"mac\":\"%s\"}", (unsigned)n,
                        data, mac);
    default:
        return snprintf(js, sizeof js, "{\"chunk_number\":%u,\"data\":\"%s\",\"mac\":\"%s\"}",
                        (unsigned)n, data, mac);
    }
}

static fota_err_t spoil_chunk(hostile_t *h, uint32_t n, fota_agent_t *agent)
{
    static uint8_t data[65536];
    const fake_server_t *src = h->attack == HOSTILE_CHUNK_OTHER_RELEASE ? &h->other : h->honest;
    uint32_t from = h->attack == HOSTILE_CHUNK_REPLAY ? n - 1 : n;
    size_t len = chunk_of(src, from, data);
    char mac[65];
    mac_hex(h->honest, data, len, mac);
    size_t b64_len = 0;
    mbedtls_base64_encode((unsigned char *)b64, sizeof b64, &b64_len, data, len);
    if (h->attack == HOSTILE_CHUNK_PAD_MIDDLE) {
        memmove(b64 + 14, b64 + 12, b64_len - 12 + 1);
        b64[12] = '=';
        b64[13] = '=';
    }
    if (h->attack == HOSTILE_CHUNK_PAD_GROUP) {
        b64[62] = '='; /* a decoder of 64-character groups takes this for the end of one */
        b64[63] = '=';
    }
    int k = spoil_json(h, n, b64, mac);
    h->hits++;
    return answer(agent, 200, k, js, (size_t)k);
}

/* ---- chain mode ----------------------------------------------------------------------------- */

static fota_err_t endless(hostile_t *h, size_t first, fota_agent_t *agent)
{
    const fake_server_t *s = h->honest;
    static uint8_t junk[4096];
    memset(junk, 0x5A, sizeof junk);
    fota_agent_response_begin(agent, 206, -1);
    fota_err_t fed = fota_agent_feed(agent, s->blob + first, s->blob_len - first);
    for (int i = 0; fed == FOTA_OK && i < 4096; i++) { /* 16 MB, then give up */
        fed = fota_agent_feed(agent, junk, sizeof junk);
        h->junk_taken += fed == FOTA_OK ? 1u : 0u;
    }
    return fota_agent_response_end(agent, FOTA_OK);
}

static fota_err_t spoil_blob(hostile_t *h, const fota_http_request_t *req, fota_agent_t *agent)
{
    const fake_server_t *s = h->honest;
    unsigned long first = 0;
    const char *range = range_of(req);
    if (range == NULL || sscanf(range, "bytes=%lu-", &first) != 1 || first >= s->blob_len) {
        first = 0;
    }
    size_t len = s->blob_len - first;
    static uint8_t body[4u << 20];
    h->hits++;
    switch (h->attack) {
    case HOSTILE_BLOB_OTHER_RELEASE:
        return answer(agent, 206, (int64_t)len, h->other.blob + first, len);
    case HOSTILE_BLOB_416:
        return answer(agent, 416, 0, "", 0);
    case HOSTILE_BLOB_EMPTY_206:
        return answer(agent, 206, 0, "", 0);
    case HOSTILE_BLOB_EMPTY_200:
        return answer(agent, 200, 0, "", 0);
    case HOSTILE_BLOB_EXTRA:
        memcpy(body, s->blob + first, len);
        memset(body + len, 0xA5, 64);
        return answer(agent, 206, (int64_t)len + 64, body, len + 64);
    case HOSTILE_BLOB_TRUNC_RECORD:
        return answer(agent, 206, (int64_t)len - 10, s->blob + first, len - 10);
    case HOSTILE_BLOB_ENDLESS:
        return endless(h, first, agent);
    default:
        return answer(agent, 500, 2, "{}", 2);
    }
}

/* ---- the offer ------------------------------------------------------------------------------ */

/* The honest offer with a second "release", that of another image: a parser that keeps the last
 * copy would fetch another release than one that keeps the first. */
static fota_err_t spoil_offer(hostile_t *h, fota_agent_t *agent)
{
    const fake_server_t *s = h->honest;
    char sha[65];
    hexify(s->m.image_sha256, 32, sha);
    int k = snprintf(js, sizeof js,
                     "{\"release\":\"%s\",\"version\":\"%s\",\"size\":%u,\"chunk_size\":%u,"
                     "\"chunk_count\":%u,\"sha256\":\"%s\",\"release\":\"%s\"}",
                     s->release, s->m.version, (unsigned)s->m.image_size, (unsigned)s->m.chunk_size,
                     (unsigned)s->m.chunk_count, sha, h->other.release);
    h->hits++;
    return answer(agent, 200, k, js, (size_t)k);
}

/* The honest offer carrying the signed manifest (and so the release id of it), one field of its
 * preview changed: field h->at, 0 size, 1 chunk size, 2 chunk count, 3 SHA-256, 4 version. */
static fota_err_t preview_offer(hostile_t *h, fota_agent_t *agent)
{
    const fake_server_t *s = h->honest;
    uint8_t digest[32];
    memcpy(digest, s->m.image_sha256, 32);
    digest[31] ^= h->at == 3 ? 1 : 0;
    char sha[65];
    hexify(digest, 32, sha);
    size_t b64_len = 0;
    mbedtls_base64_encode((unsigned char *)b64, sizeof b64, &b64_len, s->manifest,
                          sizeof s->manifest);
    int k = snprintf(js, sizeof js,
                     "{\"release\":\"%s\",\"version\":\"%s\",\"size\":%u,\"chunk_size\":%u,"
                     "\"chunk_count\":%u,\"sha256\":\"%s\",\"manifest_data\":\"%s\"}",
                     s->release, h->at == 4 ? "9.9.9" : s->m.version,
                     (unsigned)s->m.image_size + (h->at == 0 ? 1u : 0u),
                     (unsigned)s->m.chunk_size * (h->at == 1 ? 2u : 1u),
                     (unsigned)s->m.chunk_count + (h->at == 2 ? 1u : 0u), sha, b64);
    h->hits++;
    return answer(agent, 200, k, js, (size_t)k);
}

/* The honest offer carrying the signed manifest, its base64 padded where the first group of 64
 * characters ends: strict base64 refuses it, each group decoded alone would not. */
static fota_err_t pad_group_offer(hostile_t *h, fota_agent_t *agent)
{
    const fake_server_t *s = h->honest;
    char sha[65];
    hexify(s->m.image_sha256, 32, sha);
    size_t b64_len = 0;
    mbedtls_base64_encode((unsigned char *)b64, sizeof b64, &b64_len, s->manifest,
                          sizeof s->manifest);
    b64[62] = '=';
    b64[63] = '=';
    int k = snprintf(js, sizeof js,
                     "{\"release\":\"%s\",\"version\":\"%s\",\"size\":%u,\"chunk_size\":%u,"
                     "\"chunk_count\":%u,\"sha256\":\"%s\",\"manifest_data\":\"%s\"}",
                     s->release, s->m.version, (unsigned)s->m.image_size, (unsigned)s->m.chunk_size,
                     (unsigned)s->m.chunk_count, sha, b64);
    h->hits++;
    return answer(agent, 200, k, js, (size_t)k);
}

/* ---- the port ------------------------------------------------------------------------------- */

static bool is_seed_attack(hostile_attack_t a)
{
    return a >= HOSTILE_CHUNK_MAC_SHORT && a <= HOSTILE_CHUNK_OTHER_RELEASE;
}

static fota_err_t perform(void *ctx, const fota_http_request_t *req, fota_agent_t *agent)
{
    hostile_t *h = ctx;
    bool chunk = strncmp(req->target, TARGET_CHUNK, strlen(TARGET_CHUNK)) == 0;
    bool blob = strncmp(req->target, TARGET_BLOB, strlen(TARGET_BLOB)) == 0;
    if (strncmp(req->target, TARGET_CHECK, strlen(TARGET_CHECK)) == 0 &&
        h->attack == HOSTILE_OFFER_DUP_KEYS) {
        return spoil_offer(h, agent);
    }
    if (strncmp(req->target, TARGET_CHECK, strlen(TARGET_CHECK)) == 0 &&
        h->attack == HOSTILE_OFFER_PAD_GROUP) {
        return pad_group_offer(h, agent);
    }
    if (strncmp(req->target, TARGET_CHECK, strlen(TARGET_CHECK)) == 0 &&
        h->attack == HOSTILE_OFFER_PREVIEW) {
        return preview_offer(h, agent);
    }
    if (chunk && is_seed_attack(h->attack) && query_u32(req->target, "chunk_number=") == h->at) {
        return spoil_chunk(h, h->at, agent);
    }
    if ((blob || chunk) && h->attack == HOSTILE_500_STORM) {
        h->hits++;
        return answer(agent, 500, 2, "{}", 2);
    }
    if ((blob || chunk) && h->attack == HOSTILE_REDIRECT) {
        h->hits++; /* a 302 to itself: followed, it would loop */
        return answer(agent, 302, 0, "", 0);
    }
    if (blob && h->attack >= HOSTILE_BLOB_OTHER_RELEASE && h->attack <= HOSTILE_BLOB_ENDLESS) {
        return spoil_blob(h, req, agent);
    }
    fota_transport_t honest = fake_server_transport(h->honest);
    return honest.perform(honest.ctx, req, agent);
}

fota_transport_t hostile_transport(hostile_t *h)
{
    fota_transport_t t = {h, perform};
    return t;
}
