/*
 * fuzz_query.c - libFuzzer target: fotad's query string parser (server/query.c,
 * fotad_query_parse and fotad_query_get), which reads the raw bytes after '?' in every device
 * request target before anything else looks at them.
 *
 * Input: the query string (what follows '?'; cut at the first NUL byte, as the request target
 * reaches the parser as a C string).
 *
 * Properties (abort on violation):
 *   - the only refusals are FOTA_ERR_ARG and FOTA_ERR_TOO_LARGE, and a refusal leaves no
 *     parameter behind;
 *   - what parses holds one parameter per non-empty '&' segment, at most FOTAD_QUERY_MAX_PARAMS,
 *     with non-empty names, no name twice, names and values within their limits, each decoded to
 *     exactly as many bytes as its segment says (every "%XX" one byte, no early NUL);
 *   - fotad_query_get finds every parameter's own value;
 *   - the parameters, percent-encoded again and joined with '&', parse back to the same list.
 *
 * --make-seed DIR writes the query strings of docs/PROTOCOL.md (check, manifest, chunk with and
 * without release) and of the agent (fuzz/rig.c: the real agent's requests during an update).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "rig.h"

#define QUERY_MAX_INPUT 4096u

/* ---- seeds ----------------------------------------------------------------------------------- */

static const char *const doc_queries[] = {
    "version=1.0.0&hw=esp32-inverter",
    "version=2.0.1&hw=inv-5k",
    "hw=inv%205k&version=2.0.0%2Bbuild.7",
    "version=1.0.0+rc1&hw=inv-5k",
    "release=3f2a9c1d00112233445566778899aabb",
    "chunk_number=7",
    "chunk_number=7&release=3f2a9c1d00112233445566778899aabb",
    "chunk_number=0&release=3f2a9c1d00112233445566778899aabb&extra",
    "a=1&&b=2&",
};

static unsigned g_seed_count;

static void seed_agent(void *ctx, const fota_http_request_t *req)
{
    const char *q = strchr(req->target, '?');
    if (q != NULL) {
        char name[32];
        snprintf(name, sizeof name, "agent-%02u", g_seed_count++);
        rig_write_seed(ctx, name, q + 1, strlen(q + 1));
    }
}

static void make_seeds(const char *dir)
{
    for (size_t i = 0; i < sizeof doc_queries / sizeof doc_queries[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "doc-%02zu", i);
        rig_write_seed(dir, name, doc_queries[i], strlen(doc_queries[i]));
    }
    rig_capture_requests(FOTA_MODE_SEED, seed_agent, (void *)dir);
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

/* Bytes a segment of len bytes decodes to: a valid parse turned every "%XX" into one byte. */
static size_t decoded_len(const char *p, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++, n++) {
        if (p[i] == '%') {
            i += 2;
        }
    }
    return n;
}

/* Every non-empty segment is one parameter, in order, decoded to the expected lengths. */
static void check_segments(const char *raw, const fotad_query_t *q)
{
    size_t k = 0;
    for (const char *p = raw; *p != '\0';) {
        size_t len = strcspn(p, "&");
        if (len > 0) {
            rig_require(k < q->count, "one parameter per non-empty segment");
            const char *eq = memchr(p, '=', len);
            size_t name_len = eq != NULL ? (size_t)(eq - p) : len;
            size_t value_len = eq != NULL ? len - name_len - 1 : 0;
            rig_require(strlen(q->params[k].name) == decoded_len(p, name_len),
                    "a name decodes to one byte per character or escape");
            rig_require(strlen(q->params[k].value) == decoded_len(p + name_len + 1, value_len),
                    "a value decodes to one byte per character or escape");
            k++;
        }
        p += len + (p[len] == '&');
    }
    rig_require(k == q->count, "no parameter without a segment");
}

/* Percent-encode every byte that is not unreserved. */
static size_t encode(const char *s, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    return n;
}

static void check_round_trip(const fotad_query_t *q)
{
    static char
        text[FOTAD_QUERY_MAX_PARAMS * 3 * (FOTAD_QUERY_NAME_MAX + FOTAD_QUERY_VALUE_MAX + 2)];
    size_t n = 0;
    for (size_t i = 0; i < q->count; i++) {
        if (i > 0) {
            text[n++] = '&';
        }
        n += encode(q->params[i].name, text + n);
        text[n++] = '=';
        n += encode(q->params[i].value, text + n);
    }
    text[n] = '\0';
    fotad_query_t again;
    rig_require(fotad_query_parse(text, &again) == FOTA_OK, "an encoded query parses again");
    rig_require(again.count == q->count, "the same parameters after encoding");
    for (size_t i = 0; i < q->count; i++) {
        rig_require(strcmp(again.params[i].name, q->params[i].name) == 0 &&
                    strcmp(again.params[i].value, q->params[i].value) == 0,
                "the same names and values after encoding");
    }
}

static void check_parsed(const char *raw, const fotad_query_t *q)
{
    rig_require(q->count <= FOTAD_QUERY_MAX_PARAMS, "at most FOTAD_QUERY_MAX_PARAMS parameters");
    for (size_t i = 0; i < q->count; i++) {
        const fotad_query_param_t *p = &q->params[i];
        rig_require(p->name[0] != '\0', "no empty name");
        rig_require(strlen(p->name) <= FOTAD_QUERY_NAME_MAX, "names within their limit");
        rig_require(strlen(p->value) <= FOTAD_QUERY_VALUE_MAX, "values within their limit");
        rig_require(fotad_query_get(q, p->name) == p->value, "a name is found with its own value");
    }
    check_segments(raw, q);
    check_round_trip(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char raw[QUERY_MAX_INPUT + 1];
    if (size > QUERY_MAX_INPUT) {
        return 0;
    }
    memcpy(raw, data, size);
    raw[size] = '\0';
    fotad_query_t q;
    memset(&q, 0xA5, sizeof q);
    fota_err_t err = fotad_query_parse(raw, &q);
    if (err != FOTA_OK) {
        rig_require(err == FOTA_ERR_ARG || err == FOTA_ERR_TOO_LARGE, "refused with ARG or TOO_LARGE");
        rig_require(q.count == 0, "a refused query leaves no parameter");
        rig_require(fotad_query_get(&q, "version") == NULL, "nothing is found in a refused query");
        return 0;
    }
    check_parsed(raw, &q);
    return 0;
}
