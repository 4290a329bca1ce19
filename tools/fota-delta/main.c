/*
 * fota-delta - make, apply and inspect delta patches (docs/DELTA.md).
 *
 *   fota-delta create OLD NEW PATCH [--record-size N] [--segment-records N]
 *                                       the patch from OLD to NEW (host/delta_create.c), checked
 *                                       by applying it before it is written
 *   fota-delta apply OLD PATCH OUT      the agent's applier (agent/src/delta.c) over files, as a
 *                                       device runs it: record by record, the old image read
 *                                       and the new one written through its I/O functions
 *   fota-delta info PATCH               the header, the records and the segments
 *
 * main() is the command table; each subcommand is one function. Conventions (exit codes, --help,
 * one-line errors) come from fota/host/cli.h and are described in docs/TOOLS.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/delta.h"
#include "fota/host/cli.h"
#include "fota/host/delta_create.h"
#include "fota/host/file_util.h"

#define PROG "fota-delta"

static const char CREATE_USAGE[] =
    "usage: fota-delta create OLD NEW PATCH [--record-size N] [--segment-records N]\n"
    "\n"
    "Make the delta patch that turns the image OLD (what the device runs) into NEW, check it\n"
    "by applying it to OLD with the device's applier, and write it to PATCH (atomically).\n"
    "Prints \"PATCH: created, N bytes (P % of NEW), R records, S segments\".\n"
    "\n"
    "options:\n"
    "  --record-size N      bytes per record, 256 to 65536 (default 1024: the release's\n"
    "                       chunk size, so that a record is a chunk of the hash chain)\n"
    "  --segment-records N  records per segment (default 1): a power cut costs a sector's\n"
    "                       worth of records again, and up to a segment's more; fewer makes\n"
    "                       a larger patch\n";

static const char APPLY_USAGE[] =
    "usage: fota-delta apply OLD PATCH OUT\n"
    "\n"
    "Apply PATCH to the image OLD with the device's applier, record by record, and write the\n"
    "new image to OUT (atomically; nothing is written on an error). Exit 1 with a one-line error\n"
    "for a patch made for another source image (FOTA_ERR_DELTA_SOURCE), a malformed or\n"
    "truncated patch (FOTA_ERR_DELTA_FORMAT, _CORRUPT, _LENGTH, _OLD_RANGE, _ORDER).\n";

static const char INFO_USAGE[] =
    "usage: fota-delta info PATCH\n"
    "\n"
    "Print the patch header (new and source image sizes, record size), the number of records\n"
    "and each segment (its first record, where it starts in the new and the source image, how\n"
    "many records and new bytes it holds). Exit 1 with a one-line error if the header or a\n"
    "record's start is malformed.\n";

/* --- reading a patch ------------------------------------------------------------------------- */

typedef struct {
    uint32_t new_size, old_size, record_size;
    size_t records;
} header_t;

static uint32_t u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The header as fota_delta_begin reads it, without a source image to compare with. */
static fota_err_t read_header(const uint8_t *p, size_t len, header_t *h)
{
    if (len < FOTA_DELTA_HEADER_LEN || memcmp(p, FOTA_DELTA_MAGIC, 4) != 0) {
        return FOTA_ERR_DELTA_FORMAT;
    }
    h->new_size = u32le(p + 4);
    h->old_size = u32le(p + 8);
    h->record_size = u32le(p + 12);
    if (h->new_size == 0u || h->old_size == 0u || h->record_size < 32u) {
        return FOTA_ERR_DELTA_FORMAT;
    }
    size_t body = len - FOTA_DELTA_HEADER_LEN;
    h->records = body / h->record_size + (body % h->record_size != 0u ? 1u : 0u);
    return FOTA_OK;
}

/* LEB128 as in the record header (docs/DELTA.md): at most 5 bytes. */
static bool leb128(const uint8_t *p, size_t len, size_t *at, uint32_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 35u && *at < len; shift += 7u) {
        uint8_t b = p[(*at)++];
        v |= (uint64_t)(b & 0x7fu) << shift;
        if ((b & 0x80u) == 0u) {
            *out = (uint32_t)v;
            return v <= UINT32_MAX;
        }
    }
    return false;
}

/* --- applying -------------------------------------------------------------------------------- */

/* Apply the whole patch to old; on success *out (malloc'd, new_size bytes) holds the new image.
 * *where says how far it got, for the error message. */
static fota_err_t apply_patch(const uint8_t *old, size_t old_len, const uint8_t *patch,
                              size_t patch_len, uint8_t **out, size_t *out_len, char *where,
                              size_t where_cap)
{
    static fota_delta_t d; /* about 1.9 KB; one at a time */
    snprintf(where, where_cap, "header");
    *out = NULL;
    fota_err_t err = fota_delta_begin(&d, patch, patch_len, (uint32_t)old_len);
    if (err == FOTA_ERR_DELTA_SOURCE) {
        snprintf(where, where_cap, "made for a source image of %u bytes, not %zu",
                 (unsigned)d.old_size, old_len);
    }
    if (err != FOTA_OK) {
        return err;
    }
    if (d.new_size > FOTA_CLI_MAX_FILE) {
        return FOTA_ERR_TOO_LARGE;
    }
    fota_delta_mem_t f = {old, old_len, calloc(1, d.new_size), d.new_size};
    if (f.out == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    const fota_delta_io_t io = fota_delta_mem_io(&f);
    size_t at = FOTA_DELTA_HEADER_LEN, index = 0;
    /* The applier takes the first segment where it says it starts (a device resumes there after
     * a power cut); a whole patch starts at the new image's first byte. */
    uint32_t first = 0;
    if (at < patch_len &&
        (!fota_delta_segment_at(patch + at, patch_len - at, &first) || first != 0u)) {
        snprintf(where, where_cap, "record 0 does not start the new image");
        free(f.out);
        return FOTA_ERR_DELTA_ORDER;
    }
    for (; err == FOTA_OK && at < patch_len; index++) {
        size_t n = patch_len - at < d.record_size ? patch_len - at : d.record_size;
        snprintf(where, where_cap, "record %zu (patch offset %zu)", index, at);
        err = fota_delta_record(&d, patch + at, n, 0, &io);
        at += n;
    }
    if (err == FOTA_OK && !fota_delta_done(&d)) {
        snprintf(where, where_cap, "the patch ends after %u of the new image's %u bytes",
                 (unsigned)d.new_pos, (unsigned)d.new_size);
        err = FOTA_ERR_DELTA_CORRUPT;
    }
    if (err != FOTA_OK) {
        free(f.out);
        return err;
    }
    *out = f.out;
    *out_len = f.out_len;
    return FOTA_OK;
}

/* --- create ---------------------------------------------------------------------------------- */

static int opt_u32(const fota_cli_cmd_t *cmd, const char *name, const char *text, uint32_t max,
                   uint32_t *out)
{
    if (text != NULL && fota_cli_parse_u32(text, max, out) != FOTA_OK) {
        return fota_cli_usage_error(PROG, cmd, "invalid %s '%s': a number up to %u expected", name,
                                    text, (unsigned)max);
    }
    return FOTA_CLI_EXIT_OK;
}

static int create_opts(const fota_cli_cmd_t *cmd, const char *rs, const char *sr,
                       fota_delta_opts_t *o)
{
    *o = fota_delta_opts_default();
    int rc = opt_u32(cmd, "--record-size", rs, UINT32_MAX, &o->record_size);
    rc = rc ? rc : opt_u32(cmd, "--segment-records", sr, UINT32_MAX, &o->segment_records);
    if (rc == FOTA_CLI_EXIT_OK && (o->record_size < 256u || o->record_size > 65536u)) {
        return fota_cli_usage_error(PROG, cmd, "--record-size must be 256 to 65536");
    }
    if (rc == FOTA_CLI_EXIT_OK && o->segment_records == 0u) {
        return fota_cli_usage_error(PROG, cmd, "--segment-records must be 1 or more");
    }
    return rc;
}

static size_t count_segments(const uint8_t *patch, size_t len, uint32_t record_size)
{
    size_t n = 0;
    for (size_t at = FOTA_DELTA_HEADER_LEN; at < len; at += record_size) {
        n += fota_delta_is_segment_start(patch + at, len - at) ? 1u : 0u;
    }
    return n;
}

/* Make the patch, apply it, compare: the maker and the applier must agree before it is kept. */
static int make_checked(const char *old_path, const char *new_path, const char *patch_path,
                        const fota_delta_opts_t *o, const uint8_t *old, size_t old_len,
                        const uint8_t *nw, size_t new_len)
{
    uint8_t *patch = NULL, *back = NULL;
    size_t patch_len = 0, back_len = 0;
    char where[128];
    fota_err_t err = fota_delta_create(old, old_len, nw, new_len, o, &patch, &patch_len);
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, new_path, err, "cannot make a patch from %s: %s", old_path,
                             fota_err_text(err));
    }
    err = apply_patch(old, old_len, patch, patch_len, &back, &back_len, where, sizeof where);
    if (err == FOTA_OK && (back_len != new_len || memcmp(back, nw, new_len) != 0)) {
        err = FOTA_ERR_DELTA_CORRUPT;
        snprintf(where, sizeof where, "the result differs from the new image");
    }
    free(back);
    if (err != FOTA_OK) {
        free(patch);
        return fota_cli_fail(PROG, patch_path, err, "the patch made does not apply: %s: %s", where,
                             fota_err_text(err));
    }
    err = fota_file_write_all(patch_path, patch, patch_len, 0644);
    if (err != FOTA_OK) {
        free(patch);
        return fota_cli_fail(PROG, patch_path, err, "cannot write the patch");
    }
    size_t records = (patch_len - FOTA_DELTA_HEADER_LEN + o->record_size - 1u) / o->record_size;
    printf("%s: created, %zu bytes (%.2f %% of %s, %zu bytes), %zu records, %zu segments\n",
           patch_path, patch_len, 100.0 * (double)patch_len / (double)new_len, new_path, new_len,
           records, count_segments(patch, patch_len, o->record_size));
    free(patch);
    return FOTA_CLI_EXIT_OK;
}

static int cmd_create(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *pos[3] = {NULL, NULL, NULL}, *rs = NULL, *sr = NULL;
    const fota_cli_opt_t opts[] = {
        {"record-size", 0, &rs, NULL}, {"segment-records", 0, &sr, NULL}, {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, pos, "OLD NEW PATCH", 3, 3, 0};
    int rc;
    if (!fota_cli_parse(PROG, cmd, &spec, argc, argv, &rc)) {
        return rc;
    }
    fota_delta_opts_t o;
    rc = create_opts(cmd, rs, sr, &o);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    uint8_t *old = NULL, *nw = NULL;
    size_t old_len = 0, new_len = 0;
    rc = fota_cli_read_file(PROG, pos[0], &old, &old_len);
    rc = rc ? rc : fota_cli_read_file(PROG, pos[1], &nw, &new_len);
    if (rc == FOTA_CLI_EXIT_OK && (old_len < 2u || new_len == 0u)) {
        rc = fota_cli_fail(PROG, old_len < 2u ? pos[0] : pos[1], FOTA_ERR_ARG,
                           "an image of %s bytes cannot be patched", old_len < 2u ? "< 2" : "0");
    }
    if (rc == FOTA_CLI_EXIT_OK) {
        rc = make_checked(pos[0], pos[1], pos[2], &o, old, old_len, nw, new_len);
    }
    free(old);
    free(nw);
    return rc;
}

/* --- apply ----------------------------------------------------------------------------------- */

static int cmd_apply(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *pos[3] = {NULL, NULL, NULL};
    const fota_cli_opt_t opts[] = {{NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, pos, "OLD PATCH OUT", 3, 3, 0};
    int rc;
    if (!fota_cli_parse(PROG, cmd, &spec, argc, argv, &rc)) {
        return rc;
    }
    uint8_t *old = NULL, *patch = NULL, *out = NULL;
    size_t old_len = 0, patch_len = 0, out_len = 0;
    rc = fota_cli_read_file(PROG, pos[0], &old, &old_len);
    rc = rc ? rc : fota_cli_read_file(PROG, pos[1], &patch, &patch_len);
    if (rc == FOTA_CLI_EXIT_OK) {
        char where[128];
        fota_err_t err =
            apply_patch(old, old_len, patch, patch_len, &out, &out_len, where, sizeof where);
        if (err == FOTA_OK) {
            err = fota_file_write_all(pos[2], out, out_len, 0644);
            rc = err != FOTA_OK ? fota_cli_fail(PROG, pos[2], err, "cannot write the image") : 0;
        } else {
            rc = fota_cli_fail(PROG, pos[1], err, "%s: %s", where, fota_err_text(err));
        }
    }
    if (rc == FOTA_CLI_EXIT_OK) {
        printf("%s: applied to %s, %zu bytes written to %s\n", pos[1], pos[0], out_len, pos[2]);
    }
    free(old);
    free(patch);
    free(out);
    return rc;
}

/* --- info ------------------------------------------------------------------------------------ */

/* One line per segment; fails on a record whose start cannot be read. */
static fota_err_t print_segments(const uint8_t *p, size_t len, const header_t *h, size_t *bad)
{
    printf("Segments:\n  %-8s %-8s %-10s %-10s %-8s %s\n", "segment", "record", "new", "source",
           "records", "new bytes");
    size_t seg = 0, first = 0, records = 0;
    uint32_t new_at = 0, old_at = 0, bytes = 0;
    for (size_t i = 0; i <= h->records; i++) {
        size_t at = FOTA_DELTA_HEADER_LEN + i * h->record_size, pos = 1;
        size_t n = i < h->records ? (len - at < h->record_size ? len - at : h->record_size) : 0u;
        uint32_t produce = 0, nn = 0, oo = 0;
        bool start = i < h->records && fota_delta_is_segment_start(p + at, n);
        if (i < h->records &&
            ((p[at] & ~1u) != 0u || !leb128(p + at, n, &pos, &produce) ||
             (start && !(leb128(p + at, n, &pos, &nn) && leb128(p + at, n, &pos, &oo))))) {
            *bad = i;
            return FOTA_ERR_DELTA_CORRUPT;
        }
        if ((start || i == h->records) && records > 0u) {
            printf("  %-8zu %-8zu 0x%08x 0x%08x %-8zu %u\n", seg++, first, (unsigned)new_at,
                   (unsigned)old_at, records, (unsigned)bytes);
        }
        if (start || i == h->records) {
            first = i;
            new_at = nn;
            old_at = oo;
            records = 0;
            bytes = 0;
        }
        records++;
        bytes += produce;
    }
    return FOTA_OK;
}

static int cmd_info(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *file = NULL;
    const fota_cli_opt_t opts[] = {{NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, &file, "PATCH", 1, 1, 0};
    int rc;
    if (!fota_cli_parse(PROG, cmd, &spec, argc, argv, &rc)) {
        return rc;
    }
    uint8_t *p = NULL;
    size_t len = 0;
    rc = fota_cli_read_file(PROG, file, &p, &len);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    header_t h;
    fota_err_t err = read_header(p, len, &h);
    if (err != FOTA_OK) {
        free(p);
        return fota_cli_fail(PROG, file, err, NULL);
    }
    size_t last = (len - FOTA_DELTA_HEADER_LEN) % h.record_size;
    printf("Patch:            %s, %zu bytes, magic %s\n", file, len, FOTA_DELTA_MAGIC);
    printf("New image:        %u bytes (the patch is %.2f %% of it)\n", (unsigned)h.new_size,
           100.0 * (double)len / (double)h.new_size);
    printf("Source image:     %u bytes\n", (unsigned)h.old_size);
    printf("Record size:      %u bytes\n", (unsigned)h.record_size);
    printf("Records:          %zu (the last %zu bytes)\n", h.records,
           last != 0u ? last : (size_t)h.record_size);
    size_t bad = 0;
    err = print_segments(p, len, &h, &bad);
    free(p);
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, file, err, "record %zu: malformed start", bad);
    }
    return FOTA_CLI_EXIT_OK;
}

/* --- main ------------------------------------------------------------------------------------ */

static const fota_cli_cmd_t COMMANDS[] = {
    {"create", "make the delta patch from one image to another", CREATE_USAGE, cmd_create},
    {"apply", "apply a patch with the device's applier", APPLY_USAGE, cmd_apply},
    {"info", "show a patch's header, records and segments", INFO_USAGE, cmd_info},
};

int main(int argc, char **argv)
{
    const fota_cli_tool_t tool = {PROG, "Make, apply and inspect delta patches.", COMMANDS,
                                  sizeof COMMANDS / sizeof COMMANDS[0]};
    return fota_cli_dispatch(&tool, argc, argv);
}
