/*
 * release.c - fotactl's offline release commands:
 *
 *   release create   check an ESP32 app image (and, with --chip, that it is built for that
 *                    chip), build the manifest (version and security version from its
 *                    esp_app_desc_t unless overridden) and the hash-chained blob, sign the
 *                    manifest with the release private key, write the bundle (manifest ||
 *                    blob, docs/ADMIN_API.md) atomically, print the release id;
 *   release inspect  show a bundle's manifest and the chip its image is built for, and check it
 *                    as fotad does on upload: signature (with --public), length, every record of
 *                    the chain, the image's SHA-256, the ESP32 image itself (a delta bundle,
 *                    release_delta.c, is shown and checked there).
 *
 * The chip is not in the manifest (its format is fixed): it is the image header's chip id, which
 * fotad reads from the image in the bundle and checks against the product's chip.
 *
 * Nothing here talks to fotad. Bad options are refused before any file is touched, with the
 * option named, rather than as a manifest error after the work.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fota/host/bundle.h"
#include "fota/host/file_util.h"

#include "fotactl.h"

#define MAX_IMAGE (16u * 1024u * 1024u)
#define DEFAULT_CHUNK 1024u

int fotactl_read_bundle(const char *path, uint8_t **buf, size_t *len)
{
    errno = 0;
    fota_err_t err = fota_file_read_all(path, FOTACTL_MAX_BUNDLE, buf, len);
    if (err == FOTA_ERR_TOO_LARGE) {
        return fota_cli_fail(FOTACTL, path, err, "larger than any bundle (%u bytes)",
                             FOTACTL_MAX_BUNDLE);
    }
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, path, err, "cannot read: %s",
                             errno != 0 ? strerror(errno) : "not a regular file");
    }
    return 0;
}

/* 1..32 printable ASCII characters: what a manifest's product and version hold. */
static bool manifest_text_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7E) {
            return false;
        }
    }
    return n > 0 && n <= FOTA_MANIFEST_STR_MAX;
}

static bool chunk_size_ok(uint32_t n)
{
    return n >= FOTA_MANIFEST_CHUNK_MIN && n <= FOTA_MANIFEST_CHUNK_MAX && (n & (n - 1)) == 0;
}

/* ---- release create ------------------------------------------------------------------------ */

typedef struct {
    const char *image, *key, *product, *version, *secver, *chunk, *out, *chip;
} create_opts_t;

/* The numbers and strings of the options, checked; 0 or the usage error's exit code. */
static int check_create_opts(const fota_cli_cmd_t *cmd, const create_opts_t *o, uint32_t *chunk,
                             uint32_t *secver)
{
    const char *bad = NULL;
    if (o->chunk && (fota_cli_parse_size(o->chunk, chunk) != FOTA_OK || !chunk_size_ok(*chunk))) {
        bad = "--chunk-size: a power of two from 256 to 65536";
    } else if (o->secver && fota_cli_parse_u32(o->secver, UINT32_MAX, secver) != FOTA_OK) {
        bad = "--security-version: a number up to 4294967295";
    } else if (!manifest_text_ok(o->product)) {
        bad = "--product: 1..32 printable ASCII characters";
    } else if (o->version && !manifest_text_ok(o->version)) {
        bad = "--version: 1..32 printable ASCII characters";
    } else if (strcmp(o->out, o->image) == 0 || strcmp(o->out, o->key) == 0) {
        bad = "-o would overwrite an input file";
    } else if (o->chip != NULL && fota_esp_chip_by_name(o->chip) == NULL) {
        char names[FOTA_CLI_CHIP_NAMES];
        return fota_cli_usage_error(FOTACTL_RELEASE, cmd, "--chip: one of %s",
                                    fota_cli_chip_names(names, sizeof names));
    }
    return bad ? fota_cli_usage_error(FOTACTL_RELEASE, cmd, "%s", bad) : 0;
}

/* Sign and write; prints the id on stdout (for scripts) and a summary on stderr. */
static int build_and_write(const create_opts_t *o, const fota_bundle_spec_t *spec,
                           const uint8_t *image, size_t len, uint16_t chip_id)
{
    fota_key_t *key = NULL;
    fota_err_t err = fota_key_load_private(o->key, &key);
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, o->key, err, "%s",
                             err == FOTA_ERR_KEY ? "not an EC P-256 private key"
                                                 : "cannot read the release private key");
    }
    uint8_t *bundle = NULL;
    size_t bundle_len = 0;
    err = fota_bundle_build(spec, key, image, len, &bundle, &bundle_len);
    fota_key_free(key);
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, o->image, err, NULL);
    }
    char id[FOTA_RELEASE_ID_HEX + 1];
    fota_bundle_release_id(bundle, id);
    err = fota_file_write_all(o->out, bundle, bundle_len, 0644);
    free(bundle);
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, o->out, err, "cannot write the bundle");
    }
    printf("%s\n", id);
    char chip[FOTA_CLI_CHIP_TEXT];
    fprintf(stderr,
            "%s: release %s: product %s, chip %s, version %s, security version %u, image %zu "
            "bytes in %u-byte chunks, bundle %zu bytes\n",
            o->out, id, spec->product, fota_cli_chip_text(chip_id, chip, sizeof chip),
            spec->version, (unsigned)spec->security_version, len, (unsigned)spec->chunk_size,
            bundle_len);
    return 0;
}

/* --chip: the image must be built for that chip (the one its product's devices are). */
static int check_chip(const create_opts_t *o, const fota_esp_image_info_t *info)
{
    const fota_esp_chip_t *want = o->chip != NULL ? fota_esp_chip_by_name(o->chip) : NULL;
    char have[FOTA_CLI_CHIP_TEXT];
    if (want == NULL || want->id == info->header.chip_id) {
        return 0;
    }
    return fota_cli_fail(FOTACTL, o->image, FOTA_ERR_IMAGE_CHIP,
                         "the image is built for %s, not %s",
                         fota_cli_chip_text(info->header.chip_id, have, sizeof have), want->name);
}

static int release_create_with(const fota_cli_cmd_t *cmd, const create_opts_t *o)
{
    uint32_t chunk = DEFAULT_CHUNK, secver = 0;
    int rc = check_create_opts(cmd, o, &chunk, &secver);
    uint8_t *image = NULL;
    size_t len = 0;
    fota_esp_image_info_t info;
    if (rc == 0) {
        rc = fota_cli_load_image(FOTACTL, o->image, MAX_IMAGE, &image, &len, &info);
    }
    rc = rc == 0 ? check_chip(o, &info) : rc;
    if (rc != 0) {
        free(image);
        return rc;
    }
    const char *version = o->version ? o->version : info.app_desc.version;
    if (!manifest_text_ok(version)) {
        free(image);
        return fota_cli_fail(FOTACTL, o->image, FOTA_ERR_ARG,
                             "the app descriptor's version is empty or not printable; give "
                             "--version");
    }
    fota_bundle_spec_t spec = {o->product, version,
                               o->secver ? secver : info.app_desc.secure_version, chunk,
                               (uint64_t)time(NULL)};
    rc = build_and_write(o, &spec, image, len, info.header.chip_id);
    free(image);
    return rc;
}

int fotactl_release_create(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    create_opts_t o = {0};
    const fota_cli_opt_t opts[] = {{"image", 0, &o.image, NULL},
                                   {"key", 0, &o.key, NULL},
                                   {"product", 0, &o.product, NULL},
                                   {"version", 0, &o.version, NULL},
                                   {"security-version", 0, &o.secver, NULL},
                                   {"chunk-size", 0, &o.chunk, NULL},
                                   {"chip", 0, &o.chip, NULL},
                                   {"output", 'o', &o.out, NULL},
                                   {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, NULL, NULL, 0, 0, 0};
    int code;
    if (!fota_cli_parse(FOTACTL_RELEASE, cmd, &spec, argc, argv, &code)) {
        return code;
    }
    if (!o.image || !o.key || !o.product || !o.out) {
        return fota_cli_usage_error(FOTACTL_RELEASE, cmd,
                                    "--image, --key, --product and -o are required");
    }
    return release_create_with(cmd, &o);
}

/* ---- release inspect ----------------------------------------------------------------------- */

static void print_time(const char *label, uint64_t t)
{
    char text[32] = "-";
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) != NULL) {
        strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
    }
    printf("%-17s %s (%llu)\n", label, text, (unsigned long long)t);
}

static void print_manifest(const fota_manifest_t *m, const char *id, const char *pub)
{
    char sha[65], head[65], kid[17];
    printf("release           %s\n", id);
    printf("product           %s\n", m->product_id);
    printf("version           %s\n", m->version);
    printf("security version  %u\n", (unsigned)m->security_version);
    printf("image             %u bytes, sha256 %s\n", (unsigned)m->image_size,
           fota_cli_hex(m->image_sha256, 32, sha));
    printf("chunks            %u of %u bytes\n", (unsigned)m->chunk_count, (unsigned)m->chunk_size);
    printf("blob              %u bytes\n", (unsigned)fota_manifest_blob_size(m));
    printf("chain head        %s\n", fota_cli_hex(m->chain_head, 32, head));
    print_time("created", m->created);
    printf("key id            %s\n", fota_cli_hex(m->key_id, FOTA_MANIFEST_KEY_ID_LEN, kid));
    if (pub != NULL) {
        printf("signature         valid (%s)\n", pub);
    } else {
        printf("signature         not checked (give --public)\n");
    }
}

/* The public key as DER (what fota_bundle_check takes, whatever the file's form). */
static int load_public_der(const char *path, uint8_t der[FOTA_KEY_PUBLIC_DER_LEN], size_t *len)
{
    fota_key_t *key = NULL;
    fota_err_t err = fota_key_load_public(path, &key);
    *len = FOTA_KEY_PUBLIC_DER_LEN;
    if (err == FOTA_OK) {
        err = fota_key_public_der(key, der, len);
    }
    fota_key_free(key);
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, path, err, "%s",
                             err == FOTA_ERR_IO ? "cannot read the public key"
                                                : "not an EC P-256 public key");
    }
    return 0;
}

/* The chunks put back together must be a valid ESP32 app image, as fotad checks on upload. */
static int check_image(const char *path, const uint8_t *bundle, const fota_manifest_t *m,
                       uint16_t *chip_id)
{
    uint8_t *image = malloc(m->image_size);
    if (image == NULL) {
        return fota_cli_fail(FOTACTL, path, FOTA_ERR_NO_MEM, NULL);
    }
    const uint8_t *blob = bundle + FOTA_MANIFEST_LEN;
    for (uint32_t i = 0; i < m->chunk_count; i++) {
        memcpy(image + (size_t)i * m->chunk_size, blob + fota_manifest_record_offset(m, i),
               fota_manifest_chunk_len(m, i));
    }
    fota_esp_image_info_t info;
    fota_err_t err = fota_cli_image_check(image, m->image_size, MAX_IMAGE, &info);
    *chip_id = info.header.chip_id;
    free(image);
    return err == FOTA_OK ? 0
                          : fota_cli_fail(FOTACTL, path, err, "the image: %s", fota_err_text(err));
}

static int check_bundle(const char *path, const uint8_t *bundle, size_t len, const uint8_t *der,
                        size_t der_len, fota_manifest_t *m, uint16_t *chip_id)
{
    uint32_t bad = 0;
    if (len < FOTA_MANIFEST_LEN) {
        return fota_cli_fail(FOTACTL, path, FOTA_ERR_MANIFEST_FORMAT,
                             "%zu bytes: not a bundle (a manifest alone is %u)", len,
                             FOTA_MANIFEST_LEN);
    }
    fota_err_t err = fota_bundle_check(bundle, len, der, der_len, m, &bad);
    if (err == FOTA_ERR_CHAIN_MISMATCH) {
        return fota_cli_fail(FOTACTL, path, err, "record %u fails the hash chain", (unsigned)bad);
    }
    if (err == FOTA_ERR_IMAGE_TRUNCATED || err == FOTA_ERR_TOO_LARGE) {
        return fota_cli_fail(FOTACTL, path, err, "%zu bytes, the manifest wants %zu", len,
                             (size_t)FOTA_MANIFEST_LEN + fota_manifest_blob_size(m));
    }
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, path, err, NULL);
    }
    return check_image(path, bundle, m, chip_id);
}

int fotactl_release_inspect(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *pub = NULL;
    const char *pos[1];
    const fota_cli_opt_t opts[] = {{"public", 0, &pub, NULL}, {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, pos, "BUNDLE", 1, 1, 0};
    int code;
    if (!fota_cli_parse(FOTACTL_RELEASE, cmd, &spec, argc, argv, &code)) {
        return code;
    }
    uint8_t der[FOTA_KEY_PUBLIC_DER_LEN];
    size_t der_len = 0;
    int rc = pub != NULL ? load_public_der(pub, der, &der_len) : 0;
    uint8_t *bundle = NULL;
    size_t len = 0;
    if (rc == 0) {
        rc = fotactl_read_bundle(pos[0], &bundle, &len);
    }
    if (rc == 0 && fota_bundle_is_delta(bundle, len)) {
        rc = fotactl_inspect_delta(pos[0], bundle, len, pub ? der : NULL, der_len, pub);
        free(bundle);
        return rc;
    }
    fota_manifest_t m;
    uint16_t chip_id = 0;
    if (rc == 0) {
        rc = check_bundle(pos[0], bundle, len, pub ? der : NULL, der_len, &m, &chip_id);
    }
    if (rc == 0) {
        char id[FOTA_RELEASE_ID_HEX + 1], chip[FOTA_CLI_CHIP_TEXT];
        fota_bundle_release_id(bundle, id);
        print_manifest(&m, id, pub);
        printf("chip              %s (the image header's)\n",
               fota_cli_chip_text(chip_id, chip, sizeof chip));
        printf("chain             %u records valid, image sha256 matches, ESP32 image valid\n",
               (unsigned)m.chunk_count);
    }
    free(bundle);
    return rc;
}
