/*
 * release_delta.c - fotactl's offline delta commands (docs/FOTACTL.md, docs/MANIFEST.md "The
 * delta manifest"):
 *
 *   release delta    make the patch from an image devices run (OLD.bin, which must carry its
 *                    appended SHA-256: that is its id) to the image of a checked release bundle,
 *                    in records of the release's chunk size, and write the signed delta bundle
 *                    (delta manifest || blob of the records' hash chain) atomically; print the
 *                    delta id;
 *   release inspect  of a delta bundle (release.c hands it over by its magic): show the delta
 *                    manifest and check the signature (with --public) and every record.
 *
 * The patch's 16-byte header is not shipped: the delta manifest carries its three numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fota/delta.h"
#include "fota/host/bundle.h"
#include "fota/host/delta_create.h"
#include "fota/host/file_util.h"

#include "fotactl.h"

#define MAX_IMAGE (16u * 1024u * 1024u)

typedef struct {
    const char *from, *release, *key, *segment, *out;
} delta_opts_t;

/* The release bundle, checked (signature with the private key's public half), and its image. */
static int load_release(const delta_opts_t *o, fota_key_t *key, fota_manifest_t *m, uint8_t **image)
{
    uint8_t *bundle = NULL, der[FOTA_KEY_PUBLIC_DER_LEN];
    size_t len = 0, der_len = sizeof der;
    uint32_t bad = 0;
    int rc = fotactl_read_bundle(o->release, &bundle, &len);
    if (rc != 0) {
        return rc;
    }
    fota_err_t err = fota_key_public_der(key, der, &der_len);
    if (err == FOTA_OK) {
        err = fota_bundle_check(bundle, len, der, der_len, m, &bad);
    }
    if (err != FOTA_OK) {
        free(bundle);
        return fota_cli_fail(FOTACTL, o->release, err, "%s",
                             err == FOTA_ERR_MANIFEST_SIGNATURE
                                 ? "not signed with this key"
                                 : "not a valid release bundle (fotactl release inspect)");
    }
    *image = malloc(m->image_size);
    for (uint32_t i = 0; *image != NULL && i < m->chunk_count; i++) {
        memcpy(*image + (size_t)i * m->chunk_size,
               bundle + FOTA_MANIFEST_LEN + fota_manifest_record_offset(m, i),
               fota_manifest_chunk_len(m, i));
    }
    free(bundle);
    return *image != NULL ? 0 : fota_cli_fail(FOTACTL, o->release, FOTA_ERR_NO_MEM, NULL);
}

/* The source image: a valid ESP32 app image with its SHA-256 appended (its id). */
static int load_source(const char *path, uint8_t **old, size_t *len, uint8_t id[32])
{
    fota_esp_image_info_t info;
    int rc = fota_cli_load_image(FOTACTL, path, MAX_IMAGE, old, len, &info);
    if (rc == 0 && !info.header.hash_appended) {
        free(*old);
        *old = NULL;
        return fota_cli_fail(FOTACTL, path, FOTA_ERR_ARG,
                             "the image has no appended SHA-256, so no id: it cannot be a delta "
                             "source");
    }
    if (rc == 0) {
        memcpy(id, info.appended_sha256, 32);
    }
    return rc;
}

/* Patch, sign, write; the id on stdout, a summary on stderr. */
static int make_delta(const delta_opts_t *o, fota_key_t *key, uint32_t segment)
{
    fota_manifest_t m;
    uint8_t *image = NULL, *old = NULL, *patch = NULL, *bundle = NULL;
    size_t old_len = 0, patch_len = 0, bundle_len = 0;
    fota_delta_bundle_spec_t spec = {&m, 0, {0}, (uint64_t)time(NULL)};
    int rc = load_release(o, key, &m, &image);
    rc = rc == 0 ? load_source(o->from, &old, &old_len, spec.source_sha256) : rc;
    fota_err_t err = FOTA_OK;
    if (rc == 0) {
        fota_delta_opts_t opts = fota_delta_opts_default();
        opts.record_size = m.chunk_size;
        opts.segment_records = segment;
        spec.source_size = (uint32_t)old_len;
        err = fota_delta_create(old, old_len, image, m.image_size, &opts, &patch, &patch_len);
        if (err == FOTA_OK) {
            err = fota_delta_bundle_build(&spec, key, patch + FOTA_DELTA_HEADER_LEN,
                                          patch_len - FOTA_DELTA_HEADER_LEN, m.chunk_size, &bundle,
                                          &bundle_len);
        }
        rc = err != FOTA_OK ? fota_cli_fail(FOTACTL, o->from, err, "making the delta") : 0;
    }
    if (rc == 0 && (err = fota_file_write_all(o->out, bundle, bundle_len, 0644)) != FOTA_OK) {
        rc = fota_cli_fail(FOTACTL, o->out, err, "cannot write the delta bundle");
    }
    if (rc == 0) {
        char id[FOTA_RELEASE_ID_HEX + 1], src[65];
        fota_delta_bundle_id(bundle, id);
        printf("%s\n", id);
        size_t full = fota_manifest_blob_size(&m), blob = bundle_len - FOTA_DELTA_MANIFEST_LEN;
        fprintf(stderr,
                "%s: delta %s: %s %s from image %s (%zu bytes), patch %zu bytes in %u-byte "
                "records, blob %zu bytes = %.1f%% of the full download (%zu bytes)\n",
                o->out, id, m.product_id, m.version, fota_cli_hex(spec.source_sha256, 32, src),
                old_len, patch_len - FOTA_DELTA_HEADER_LEN, (unsigned)m.chunk_size, blob,
                100.0 * (double)blob / (double)full, full);
    }
    free(image);
    free(old);
    free(patch);
    free(bundle);
    return rc;
}

int fotactl_release_delta(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    delta_opts_t o = {0};
    const fota_cli_opt_t opts[] = {
        {"from", 0, &o.from, NULL},    {"release", 0, &o.release, NULL},
        {"key", 0, &o.key, NULL},      {"segment-records", 0, &o.segment, NULL},
        {"output", 'o', &o.out, NULL}, {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, NULL, NULL, 0, 0, 0};
    int code;
    if (!fota_cli_parse(FOTACTL_RELEASE, cmd, &spec, argc, argv, &code)) {
        return code;
    }
    if (!o.from || !o.release || !o.key || !o.out) {
        return fota_cli_usage_error(FOTACTL_RELEASE, cmd,
                                    "--from, --release, --key and -o are required");
    }
    uint32_t segment = fota_delta_opts_default().segment_records;
    if (o.segment && (fota_cli_parse_u32(o.segment, 65536, &segment) != FOTA_OK || segment == 0)) {
        return fota_cli_usage_error(FOTACTL_RELEASE, cmd, "--segment-records: a number 1..65536");
    }
    if (strcmp(o.out, o.from) == 0 || strcmp(o.out, o.release) == 0 || strcmp(o.out, o.key) == 0) {
        return fota_cli_usage_error(FOTACTL_RELEASE, cmd, "-o would overwrite an input file");
    }
    fota_key_t *key = NULL;
    fota_err_t err = fota_key_load_private(o.key, &key);
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, o.key, err, "%s",
                             err == FOTA_ERR_KEY ? "not an EC P-256 private key"
                                                 : "cannot read the release private key");
    }
    int rc = make_delta(&o, key, segment);
    fota_key_free(key);
    return rc;
}

/* ---- release inspect of a delta bundle ------------------------------------------------------ */

static void print_delta(const fota_delta_manifest_t *d, const char *id, const char *pub)
{
    const fota_manifest_t *m = &d->m;
    fota_manifest_t chain;
    fota_delta_manifest_chain(d, &chain);
    char sha[65], head[65], src[65], kid[17], when[32] = "-";
    time_t t = (time_t)m->created;
    struct tm tm;
    if (gmtime_r(&t, &tm) != NULL) {
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    }
    printf("delta             %s\n", id);
    printf("product           %s\n", m->product_id);
    printf("version           %s\n", m->version);
    printf("security version  %u\n", (unsigned)m->security_version);
    printf("image             %u bytes, sha256 %s\n", (unsigned)m->image_size,
           fota_cli_hex(m->image_sha256, 32, sha));
    printf("source            %u bytes, sha256 %s\n", (unsigned)d->source_size,
           fota_cli_hex(d->source_sha256, 32, src));
    printf("patch             %u bytes in %u records of %u bytes\n", (unsigned)d->patch_size,
           (unsigned)m->chunk_count, (unsigned)m->chunk_size);
    printf("blob              %u bytes\n", (unsigned)fota_manifest_blob_size(&chain));
    printf("chain head        %s\n", fota_cli_hex(m->chain_head, 32, head));
    printf("%-17s %s (%llu)\n", "created", when, (unsigned long long)m->created);
    printf("key id            %s\n", fota_cli_hex(m->key_id, FOTA_MANIFEST_KEY_ID_LEN, kid));
    printf("signature         %s%s%s\n", pub ? "valid (" : "not checked (give --public)",
           pub ? pub : "", pub ? ")" : "");
    printf("chain             %u records valid\n", (unsigned)m->chunk_count);
}

int fotactl_inspect_delta(const char *path, const uint8_t *bundle, size_t len, const uint8_t *der,
                          size_t der_len, const char *pub)
{
    fota_delta_manifest_t d;
    uint32_t bad = 0;
    fota_err_t err = fota_delta_bundle_check(bundle, len, der, der_len, &d, &bad);
    if (err == FOTA_ERR_CHAIN_MISMATCH) {
        return fota_cli_fail(FOTACTL, path, err, "record %u fails the hash chain", (unsigned)bad);
    }
    if (err == FOTA_ERR_IMAGE_TRUNCATED || err == FOTA_ERR_TOO_LARGE) {
        fota_manifest_t chain;
        fota_delta_manifest_chain(&d, &chain);
        return fota_cli_fail(FOTACTL, path, err, "%zu bytes, the delta manifest wants %zu", len,
                             (size_t)FOTA_DELTA_MANIFEST_LEN + fota_manifest_blob_size(&chain));
    }
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, path, err, NULL);
    }
    char id[FOTA_RELEASE_ID_HEX + 1];
    fota_delta_bundle_id(bundle, id);
    print_delta(&d, id, pub);
    return 0;
}
