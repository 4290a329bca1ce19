/*
 * fuzz_delta.c - libFuzzer target: the delta patch decoder (agent/src/delta.c: the header, the
 * record headers, the range decoder and its models, the operations and their checks) applied to
 * a fixed old image of 12 KB, as a device applies a patch record by record.
 *
 * Input: the patch (header and records, the last one possibly short). The old image is made
 * once (old_image: code-like bytes, not random, so that real patches have matches to find);
 * patches whose header names another source size are refused by fota_delta_begin, as on a
 * device, and new images over 64 KB are skipped (the applier's checks do not depend on it).
 *
 * Properties (abort on violation): the applier reads only inside the old image and writes only
 * inside the new one, each write at or past `keep`, in order, never more than FOTA_DELTA_BUF
 * bytes at a time; a patch applied in full, then again from its last segment start after a
 * restart with the bytes before a point inside that segment kept, writes exactly the same bytes
 * past that point the second time.
 *
 * --make-seed DIR writes real patches made by host/delta_create.c from the old image to several
 * new ones (bytes changed, a block inserted, one removed, the image grown, an unrelated image),
 * with 256- and 1024-byte records and segments of one to four records, and checks that each
 * applies to its new image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/delta.h"
#include "fota/host/delta_create.h"

#include "rig.h"

#define OLD_SIZE 12288u
#define NEW_MAX 65536u

static uint8_t g_old[OLD_SIZE];
static uint8_t g_new[NEW_MAX];  /* the first pass's output */
static uint8_t g_new2[NEW_MAX]; /* the second pass's */

typedef struct {
    uint8_t *out;
    uint32_t new_size;
    uint32_t keep;
    uint32_t next; /* where the next write must start (the applier writes in order) */
} io_ctx_t;

static fota_err_t read_old(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    (void)ctx;
    if (len == 0u || len > FOTA_DELTA_BUF || off >= OLD_SIZE || len > OLD_SIZE - off) {
        fprintf(stderr, "fuzz_delta: read of %zu bytes at %u outside the old image\n", len,
                (unsigned)off);
        abort();
    }
    memcpy(buf, g_old + off, len);
    return FOTA_OK;
}

static fota_err_t write_new(void *ctx, uint32_t off, const uint8_t *buf, size_t len)
{
    io_ctx_t *c = ctx;
    if (len == 0u || len > FOTA_DELTA_BUF || off >= c->new_size || len > c->new_size - off ||
        off < c->keep || (c->next != UINT32_MAX && off != c->next)) {
        fprintf(stderr, "fuzz_delta: write of %zu bytes at %u (new image %u, keep %u, next %u)\n",
                len, (unsigned)off, (unsigned)c->new_size, (unsigned)c->keep, (unsigned)c->next);
        abort();
    }
    memcpy(c->out + off, buf, len);
    c->next = off + (uint32_t)len;
    return FOTA_OK;
}

/* Code-like bytes: short instruction words from a small set, with literal pools. */
static void old_image(uint8_t *p, size_t n)
{
    uint32_t x = 12345u;
    for (size_t i = 0; i < n; i += 2) {
        x = x * 1103515245u + 12345u;
        uint32_t r = x >> 16;
        p[i] = (uint8_t)((r & 7u) * 0x11u);
        p[i + 1] = (r & 0x30u) == 0u ? (uint8_t)r : (uint8_t)(0x40u + (r & 3u));
    }
}

static size_t record_len(const fota_delta_t *d, size_t size, size_t at)
{
    return size - at < d->record_size ? size - at : d->record_size;
}

/* Apply from `from` (a patch offset) to the end; the first error stops. */
static fota_err_t apply_from(fota_delta_t *d, const uint8_t *data, size_t size, size_t from,
                             io_ctx_t *c)
{
    const fota_delta_io_t io = {c, read_old, write_new};
    fota_err_t err = FOTA_OK;
    for (size_t at = from; err == FOTA_OK && at < size; at += d->record_size) {
        err = fota_delta_record(d, data + at, record_len(d, size, at), c->keep, &io);
    }
    return err;
}

/* ---- seeds ----------------------------------------------------------------------------------- */

static void seed_one(const char *dir, const char *name, const uint8_t *nw, size_t n,
                     uint32_t record_size, uint32_t segment_records)
{
    fota_delta_opts_t o = fota_delta_opts_default();
    o.record_size = record_size;
    o.segment_records = segment_records;
    uint8_t *patch = NULL;
    size_t len = 0;
    if (fota_delta_create(g_old, OLD_SIZE, nw, n, &o, &patch, &len) != FOTA_OK) {
        fprintf(stderr, "fuzz_delta: cannot make the seed %s\n", name);
        abort();
    }
    static fota_delta_t d;
    io_ctx_t c = {g_new, (uint32_t)n, 0, UINT32_MAX};
    if (fota_delta_begin(&d, patch, len, OLD_SIZE) != FOTA_OK ||
        apply_from(&d, patch, len, FOTA_DELTA_HEADER_LEN, &c) != FOTA_OK || !fota_delta_done(&d) ||
        memcmp(g_new, nw, n) != 0) {
        fprintf(stderr, "fuzz_delta: the seed %s does not apply\n", name);
        abort();
    }
    rig_write_seed(dir, name, patch, len);
    free(patch);
}

static void make_seeds(const char *dir)
{
    static uint8_t nw[OLD_SIZE * 2];
    memcpy(nw, g_old, OLD_SIZE);
    for (size_t i = 100; i < OLD_SIZE; i += 997) {
        nw[i] ^= 0x24u; /* a constant changed here and there */
    }
    seed_one(dir, "changed-1024-4", nw, OLD_SIZE, 1024, 4);
    seed_one(dir, "changed-256-1", nw, OLD_SIZE, 256, 1);
    /* 700 new bytes inserted at 5000 (a function added) */
    memcpy(nw, g_old, 5000);
    old_image(nw + 5000, 700);
    for (size_t i = 5000; i < 5700; i++) {
        nw[i] = (uint8_t)(nw[i] + 0x5bu);
    }
    memcpy(nw + 5700, g_old + 5000, OLD_SIZE - 5000);
    seed_one(dir, "inserted-1024-4", nw, OLD_SIZE + 700, 1024, 4);
    seed_one(dir, "inserted-256-2", nw, OLD_SIZE + 700, 256, 2);
    /* 1500 bytes removed at 3000 */
    memcpy(nw, g_old, 3000);
    memcpy(nw + 3000, g_old + 4500, OLD_SIZE - 4500);
    seed_one(dir, "removed-512-1", nw, OLD_SIZE - 1500, 512, 1);
    /* grown: the old image twice, the second copy shifted by one */
    memcpy(nw, g_old, OLD_SIZE);
    for (size_t i = 0; i < OLD_SIZE; i++) {
        nw[OLD_SIZE + i] = (uint8_t)(g_old[i] + 1u);
    }
    seed_one(dir, "grown-1024-4", nw, OLD_SIZE * 2, 1024, 4);
    /* unrelated: every byte inserted */
    for (size_t i = 0; i < 3000; i++) {
        nw[i] = (uint8_t)(i * 7u + (i >> 5));
    }
    seed_one(dir, "unrelated-256-3", nw, 3000, 256, 3);
}

/* ---- the target ------------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    old_image(g_old, OLD_SIZE);
    const char *dir = rig_make_seed_dir(*argc, *argv);
    if (dir != NULL) {
        make_seeds(dir);
        exit(0);
    }
    return 0;
}

/* The patch offset of the last segment start, if any after the first record. */
static size_t last_segment(const fota_delta_t *d, const uint8_t *data, size_t size)
{
    size_t last = 0;
    for (size_t at = FOTA_DELTA_HEADER_LEN; at < size; at += d->record_size) {
        if (fota_delta_is_segment_start(data + at, record_len(d, size, at))) {
            last = at;
        }
    }
    return last;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fota_delta_t d;
    if (fota_delta_begin(&d, data, size, OLD_SIZE) != FOTA_OK || d.new_size > NEW_MAX) {
        return 0;
    }
    io_ctx_t c = {g_new, d.new_size, 0, UINT32_MAX};
    if (apply_from(&d, data, size, FOTA_DELTA_HEADER_LEN, &c) != FOTA_OK || !fota_delta_done(&d)) {
        return 0;
    }
    /* Resume at the last segment start, as after a power cut, keeping what is before a point
     * inside it: the same bytes must come out past that point. */
    size_t at = last_segment(&d, data, size);
    uint32_t seg_new;
    if (at == 0u || !fota_delta_segment_at(data + at, record_len(&d, size, at), &seg_new)) {
        return 0;
    }
    uint32_t end = d.new_size;
    uint32_t keep = seg_new + (uint32_t)(size % (end - seg_new + 1u));
    fota_delta_restart(&d);
    io_ctx_t c2 = {g_new2, end, keep, UINT32_MAX};
    if (apply_from(&d, data, size, at, &c2) != FOTA_OK || !fota_delta_done(&d) ||
        memcmp(g_new2 + keep, g_new + keep, end - keep) != 0) {
        fprintf(stderr,
                "fuzz_delta: resumed at patch offset %zu (new %u, keep %u): the bytes "
                "differ or the records fail the second time\n",
                at, (unsigned)seg_new, (unsigned)keep);
        abort();
    }
    return 0;
}
