/*
 * fuzz_range.c - libFuzzer target: fotad's Range header parser (server/range.c,
 * fotad_range_parse), which decides which bytes of a chain-mode blob a device gets.
 *
 * Input: byte 0 flags (bit 0: no header at all), bytes 1..8 the blob size (little-endian;
 * 0 becomes 1, the parser's precondition), then the header value (cut at the first NUL byte).
 *
 * Properties (abort on violation):
 *   - a range served is inside the blob: first <= last < total;
 *   - the verdict and the range are those of a second parser written here from range.h and
 *     docs/PROTOCOL.md 4.4 (one range "bytes=FIRST-LAST", "FIRST-" or "-N"; spaces and tabs
 *     around the tokens; numbers saturate at 2^64 - 1; anything else is ignored);
 *   - a served range, written back as "bytes=FIRST-LAST", gives the same range.
 *
 * --make-seed DIR writes the forms of docs/PROTOCOL.md 4.4 and the Range headers the real agent
 * sends in chain mode (fuzz/rig.c), with the size of the rig's blob.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "range.h"
#include "rig.h"

#define MAX_HEADER 1024u
/* The rig's release: 6 KB in 1 KB chunks, so 6 records of 1024 + 32 bytes. */
#define RIG_BLOB_SIZE (RIG_NEW_SIZE + 32u * (RIG_NEW_SIZE / 1024u))

/* ---- seeds ----------------------------------------------------------------------------------- */

static void write_seed(const char *dir, const char *name, uint8_t flags, uint64_t total,
                       const char *header)
{
    uint8_t buf[1 + 8 + MAX_HEADER];
    size_t len = strlen(header);
    buf[0] = flags;
    for (int i = 0; i < 8; i++) {
        buf[1 + i] = (uint8_t)(total >> (8 * i));
    }
    memcpy(buf + 9, header, len);
    rig_write_seed(dir, name, buf, 9 + len);
}

static const char *const doc_ranges[] = {
    "bytes=0-1055",   "bytes=1056-",     "bytes=-1056",      "bytes=0-99999999",
    "bytes=5000-100", "bytes=7000-7100", "bytes = 10 - 20 ", "BYTES=0-0",
    "bytes=0-1,5-9",  "items=0-9",       "bytes=-0",         "bytes=18446744073709551616-",
};

static unsigned g_agent_seeds;

static void seed_agent(void *ctx, const fota_http_request_t *req)
{
    for (size_t h = 0; h < req->header_count; h++) {
        if (strcasecmp(req->headers[h].name, "Range") == 0) {
            char name[32];
            snprintf(name, sizeof name, "agent-%02u", g_agent_seeds++);
            write_seed(ctx, name, 0, RIG_BLOB_SIZE, req->headers[h].value);
        }
    }
}

static void make_seeds(const char *dir)
{
    const uint64_t blob = RIG_BLOB_SIZE;
    for (size_t i = 0; i < sizeof doc_ranges / sizeof doc_ranges[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "doc-%02zu", i);
        write_seed(dir, name, 0, blob, doc_ranges[i]);
    }
    write_seed(dir, "no-header", 1, blob, "");
    write_seed(dir, "one-byte-blob", 0, 1, "bytes=0-");
    rig_capture_requests(FOTA_MODE_CHAIN, seed_agent, (void *)dir);
}

/* ---- the second parser ----------------------------------------------------------------------- */

typedef struct {
    const char *p;
} cursor_t;

static void spaces(cursor_t *c)
{
    c->p += strspn(c->p, " \t");
}

/* Decimal digits, saturating; false when there are none. */
static bool number(cursor_t *c, uint64_t *v)
{
    size_t n = strspn(c->p, "0123456789");
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(c->p[i] - '0');
        *v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
    }
    c->p += n;
    return n > 0;
}

static fotad_range_result_t model(const char *h, uint64_t total, uint64_t *first, uint64_t *last)
{
    cursor_t c = {h};
    spaces(&c);
    if (strncasecmp(c.p, "bytes", 5) != 0) {
        return FOTAD_RANGE_NONE;
    }
    c.p += 5;
    spaces(&c);
    if (*c.p != '=') {
        return FOTAD_RANGE_NONE;
    }
    c.p++;
    spaces(&c);
    uint64_t a, b;
    bool has_a = number(&c, &a);
    if (*c.p != '-') {
        return FOTAD_RANGE_NONE;
    }
    c.p++;
    bool has_b = number(&c, &b);
    spaces(&c);
    if (*c.p != '\0' || (!has_a && !has_b) || (has_a && has_b && b < a)) {
        return FOTAD_RANGE_NONE;
    }
    if (!has_a) { /* the last b bytes */
        if (b == 0) {
            return FOTAD_RANGE_UNSATISFIABLE;
        }
        *first = b >= total ? 0 : total - b;
        *last = total - 1;
        return FOTAD_RANGE_PARTIAL;
    }
    if (a >= total) {
        return FOTAD_RANGE_UNSATISFIABLE;
    }
    *first = a;
    *last = !has_b || b >= total ? total - 1 : b;
    return FOTAD_RANGE_PARTIAL;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char header[MAX_HEADER + 1];
    if (size < 9 || size - 9 > MAX_HEADER) {
        return 0;
    }
    uint64_t total = 0;
    for (int i = 0; i < 8; i++) {
        total |= (uint64_t)data[1 + i] << (8 * i);
    }
    total = total == 0 ? 1 : total;
    memcpy(header, data + 9, size - 9);
    header[size - 9] = '\0';
    const char *h = (data[0] & 1) ? NULL : header;

    uint64_t first = 0xDEAD, last = 0xBEEF;
    fotad_range_result_t r = fotad_range_parse(h, total, &first, &last);
    rig_require(r == FOTAD_RANGE_NONE || r == FOTAD_RANGE_PARTIAL || r == FOTAD_RANGE_UNSATISFIABLE,
            "a known verdict");
    if (h == NULL) {
        rig_require(r == FOTAD_RANGE_NONE, "no header: the whole blob");
        return 0;
    }
    uint64_t mf = 0, ml = 0;
    fotad_range_result_t m = model(h, total, &mf, &ml);
    rig_require(r == m, "the verdict of the second parser");
    if (r != FOTAD_RANGE_PARTIAL) {
        return 0;
    }
    rig_require(first <= last && last < total, "a served range is inside the blob");
    rig_require(first == mf && last == ml, "the range of the second parser");
    char again[64];
    snprintf(again, sizeof again, "bytes=%llu-%llu", (unsigned long long)first,
             (unsigned long long)last);
    uint64_t f2 = 0, l2 = 0;
    rig_require(fotad_range_parse(again, total, &f2, &l2) == FOTAD_RANGE_PARTIAL && f2 == first &&
                l2 == last,
            "a served range written back gives the same range");
    return 0;
}
