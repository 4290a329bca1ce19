/*
 * release.c - fotactl's offline commands: keygen, release create (check the ESP32 image, build
 * the manifest and the chained blob, sign with the release private key), release inspect (show
 * a bundle and check its signature and chain), device key (derive a device's key from the
 * master secret for provisioning). Nothing here talks to fotad.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fota/auth.h"
#include "fota/posix/bundle.h"
#include "fota/posix/file_util.h"

#include "fotactl.h"

#define MAX_IMAGE (16u * 1024u * 1024u)

int fotactl_cmd_keygen(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *priv = NULL, *pub = NULL;
    bool force = false;
    const fota_cli_opt_t opts[] = {{"private", 0, &priv, NULL},
                                   {"public", 0, &pub, NULL},
                                   {"force", 0, NULL, &force},
                                   {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, NULL, NULL, 0, 0, 0};
    int code;
    if (!fota_cli_parse(FOTACTL, cmd, &spec, argc, argv, &code)) {
        return code;
    }
    if (priv == NULL || pub == NULL) {
        return fota_cli_usage_error(FOTACTL, cmd, "--private and --public are required");
    }
    fota_err_t err = fota_key_generate_ex(priv, pub, force ? FOTA_KEY_FORCE : 0u);
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, err == FOTA_ERR_KEY_EXISTS ? priv : "keygen", err,
                             err == FOTA_ERR_KEY_EXISTS ? "exists (use --force to replace it)"
                                                        : NULL);
    }
    printf("release key pair: %s (private, 0600), %s (public)\n", priv, pub);
    return 0;
}

const char fotactl_release_create_usage[] =
    "usage: fotactl release create --image IMG --key PRIV.pem --product P [options] -o BUNDLE\n"
    "\n"
    "Check IMG as an ESP32 app image, build the signed manifest and the hash-chained blob, and\n"
    "write the bundle fotad takes (manifest || blob). Signing happens here, with the release\n"
    "private key; the server never holds it. Prints the release id.\n"
    "\n"
    "options:\n"
    "  --image IMG              the ESP-IDF app image (.bin)\n"
    "  --key PRIV.pem           the release private key (fotactl keygen)\n"
    "  --product P              product (hardware) id the release is for\n"
    "  --version V              override the version (default: the image's app descriptor)\n"
    "  --security-version S     override the security version (default: the image's)\n"
    "  --chunk-size N           bytes per chunk, a power of two 256..65536 (default 1024)\n"
    "  -o, --output BUNDLE      where to write the bundle\n";

typedef struct {
    const char *image, *key, *product, *version, *secver, *chunk, *out;
} create_opts_t;

static int build_and_write(const create_opts_t *o, const fota_bundle_spec_t *spec,
                           const uint8_t *image, size_t len)
{
    fota_key_t *key = NULL;
    fota_err_t err = fota_key_load_private(o->key, &key);
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, o->key, err, NULL);
    }
    uint8_t *bundle = NULL;
    size_t bundle_len = 0;
    err = fota_bundle_build(spec, key, image, len, &bundle, &bundle_len);
    fota_key_free(key);
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, o->image, err, NULL);
    }
    err = fota_file_write_all(o->out, bundle, bundle_len, 0644);
    char id[FOTA_RELEASE_ID_HEX + 1];
    fota_bundle_release_id(bundle, id);
    free(bundle);
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, o->out, err, NULL);
    }
    printf("%s\n", id);
    fprintf(stderr,
            "%s: release %s, product %s, version %s, security version %u, %zu bytes in "
            "%u-byte chunks\n",
            o->out, id, spec->product, spec->version, (unsigned)spec->security_version, len,
            (unsigned)spec->chunk_size);
    return 0;
}

static int release_create_with(const fota_cli_cmd_t *cmd, const create_opts_t *o)
{
    uint32_t chunk = 1024, secver = 0;
    if ((o->chunk && fota_cli_parse_size(o->chunk, &chunk) != FOTA_OK) ||
        (o->secver && fota_cli_parse_u32(o->secver, UINT32_MAX, &secver) != FOTA_OK)) {
        return fota_cli_usage_error(FOTACTL, cmd,
                                    "--chunk-size and --security-version want numbers");
    }
    uint8_t *image = NULL;
    size_t len = 0;
    fota_esp_image_info_t info;
    int rc = fota_cli_load_image(FOTACTL, o->image, MAX_IMAGE, &image, &len, &info);
    if (rc != 0) {
        return rc;
    }
    char version[FOTA_MANIFEST_STR_MAX + 1];
    snprintf(version, sizeof version, "%s", o->version ? o->version : info.app_desc.version);
    fota_bundle_spec_t spec = {o->product, version,
                               o->secver ? secver : info.app_desc.secure_version, chunk,
                               (uint64_t)time(NULL)};
    rc = build_and_write(o, &spec, image, len);
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
                                   {"output", 'o', &o.out, NULL},
                                   {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, NULL, NULL, 0, 0, 0};
    int code;
    if (!fota_cli_parse(FOTACTL, cmd, &spec, argc, argv, &code)) {
        return code;
    }
    if (!o.image || !o.key || !o.product || !o.out) {
        return fota_cli_usage_error(FOTACTL, cmd, "--image, --key, --product and -o are required");
    }
    return release_create_with(cmd, &o);
}

const char fotactl_release_inspect_usage[] =
    "usage: fotactl release inspect BUNDLE [--public PUB.pem]\n"
    "\n"
    "Show the manifest of a bundle and check it as fotad does on upload: every record of the\n"
    "hash chain and the image's SHA-256, and with --public the signature. Exit 1 if any check\n"
    "fails.\n";

static void print_manifest(const fota_manifest_t *m, const char *id, bool signed_ok)
{
    char sha[65], head[65], kid[17];
    printf("release           %s\n", id);
    printf("product           %s\n", m->product_id);
    printf("version           %s\n", m->version);
    printf("security version  %u\n", (unsigned)m->security_version);
    printf("image             %u bytes, sha256 %s\n", (unsigned)m->image_size,
           fota_cli_hex(m->image_sha256, 32, sha));
    printf("chunks            %u of %u bytes\n", (unsigned)m->chunk_count, (unsigned)m->chunk_size);
    printf("chain head        %s\n", fota_cli_hex(m->chain_head, 32, head));
    printf("created           %llu\n", (unsigned long long)m->created);
    printf("key id            %s\n", fota_cli_hex(m->key_id, 8, kid));
    printf("signature         %s\n", signed_ok ? "valid" : "not checked (no --public)");
}

int fotactl_release_inspect(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *pub = NULL;
    const char *pos[1];
    const fota_cli_opt_t opts[] = {{"public", 0, &pub, NULL}, {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, pos, "BUNDLE", 1, 1, 0};
    int code;
    if (!fota_cli_parse(FOTACTL, cmd, &spec, argc, argv, &code)) {
        return code;
    }
    uint8_t *bundle = NULL, *key = NULL;
    size_t len = 0, key_len = 0;
    int rc = fota_cli_read_file(FOTACTL, pos[0], &bundle, &len);
    if (rc == 0 && pub != NULL) {
        rc = fota_cli_read_file(FOTACTL, pub, &key, &key_len);
    }
    if (rc == 0) {
        fota_manifest_t m;
        uint32_t bad = 0;
        fota_err_t err = fota_bundle_check(bundle, len, key, key_len + 1, &m, &bad);
        if (err == FOTA_ERR_CHAIN_MISMATCH) {
            rc = fota_cli_fail(FOTACTL, pos[0], err, "record %u fails the hash chain",
                               (unsigned)bad);
        } else if (err != FOTA_OK) {
            rc = fota_cli_fail(FOTACTL, pos[0], err, NULL);
        } else {
            char id[FOTA_RELEASE_ID_HEX + 1];
            fota_bundle_release_id(bundle, id);
            print_manifest(&m, id, key != NULL);
            printf("chain             %u records valid, image sha256 matches\n",
                   (unsigned)m.chunk_count);
        }
    }
    free(bundle);
    free(key);
    return rc;
}

/* fotactl device key ID --master FILE */
int fotactl_device_key(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *master = NULL;
    const char *pos[1];
    const fota_cli_opt_t opts[] = {{"master", 0, &master, NULL}, {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, pos, "ID", 1, 1, 0};
    int code;
    if (!fota_cli_parse(FOTACTL, cmd, &spec, argc, argv, &code)) {
        return code;
    }
    if (master == NULL) {
        return fota_cli_usage_error(FOTACTL, cmd, "--master is required");
    }
    uint8_t *secret = NULL;
    size_t len = 0;
    int rc = fota_cli_read_file(FOTACTL, master, &secret, &len);
    if (rc != 0) {
        return rc;
    }
    uint8_t key[32];
    char hex[65];
    /* The secret is the file's bytes, all of them, as fotad reads it (docs/SERVER.md). */
    fota_err_t err = len < 32 ? FOTA_ERR_KEY : fota_auth_device_key(secret, len, pos[0], key);
    free(secret);
    if (err != FOTA_OK) {
        return fota_cli_fail(FOTACTL, master, err,
                             len < 32 ? "a master secret has at least 32 bytes" : NULL);
    }
    printf("%s\n", fota_cli_hex(key, 32, hex));
    return 0;
}
