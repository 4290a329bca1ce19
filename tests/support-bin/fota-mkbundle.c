/*
 * fota-mkbundle.c - test support: make release keys and signed release bundles
 * (docs/ADMIN_API.md: bundle = 256-byte manifest || chain blob) for the server's tests, with the
 * project's own signing and chain code (fota/host/keys.h, fota/chain.h). fotactl will do this
 * for operators (`fotactl release create`); this tool exists so the server tests depend on
 * nothing being written in parallel, and it can make bundles no honest tool would.
 *
 *   fota-mkbundle genkey PRIV.pem PUB.pem
 *   fota-mkbundle create --key PRIV.pem --image IMAGE --product P --version V
 *                        [--security-version N] [--chunk-size N] [--created T]
 *                        [--bad-sha256] -o BUNDLE
 *   fota-mkbundle delta --key PRIV.pem --image NEW --product P --version V --from OLD
 *                       [--security-version N] [--chunk-size N] [--created T]
 *                       [--wrong-output] -o DELTA_BUNDLE
 *
 * create prints the release id (32 hex digits) on stdout. --bad-sha256 signs a manifest whose
 * image SHA-256 is wrong (the chain is right), which only the server's SHA-256 check catches.
 * delta signs a delta bundle from OLD (an image with its SHA-256 appended, taken as its id
 * unchecked) to the release of NEW described by the same options as create (docs/DELTA.md);
 * it prints the delta id. --wrong-output makes the patch to NEW with one byte changed in its
 * middle while the manifest still names NEW: every record passes the chain and applies, the
 * result fails the image's SHA-256 (fotactl release delta cannot make such a patch).
 * Exit: 0 ok, 1 failure, 2 usage.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/md.h>

#include "fota/chain.h"
#include "fota/host/bundle.h"
#include "fota/host/delta_create.h"
#include "fota/manifest.h"
#include "fota/host/file_util.h"
#include "fota/host/keys.h"

#define MAX_IMAGE (32u * 1024u * 1024u)

typedef struct {
    const char *key;
    const char *image;
    const char *product;
    const char *version;
    const char *out;
    unsigned long security_version;
    unsigned long chunk_size;
    long long created;
    bool bad_sha;
    const char *from;  /* delta: the source image */
    bool wrong_output; /* delta: the patch makes another image than the manifest names */
} create_args_t;

static int fail(const char *what, fota_err_t err)
{
    fprintf(stderr, "fota-mkbundle: %s: %s (%s)\n", what, fota_err_text(err), fota_err_name(err));
    return 1;
}

static int usage(void)
{
    fputs("usage: fota-mkbundle genkey PRIV PUB\n"
          "       fota-mkbundle create --key PRIV --image IMAGE --product P --version V\n"
          "                     [--security-version N] [--chunk-size N] [--created T]\n"
          "                     [--bad-sha256] -o BUNDLE\n"
          "       fota-mkbundle delta --key PRIV --image NEW --product P --version V --from OLD\n"
          "                     [--security-version N] [--chunk-size N] [--created T]\n"
          "                     [--wrong-output] -o DELTA_BUNDLE\n",
          stderr);
    return 2;
}

enum {
    OPT_KEY,
    OPT_IMAGE,
    OPT_PRODUCT,
    OPT_VERSION,
    OPT_OUT,
    OPT_SECVER,
    OPT_CHUNK,
    OPT_CREATED,
    OPT_BAD_SHA,
    OPT_FROM,
    OPT_WRONG_OUTPUT
};

static bool set_opt(create_args_t *a, int c, const char *arg)
{
    const char **str[] = {&a->key, &a->image, &a->product, &a->version, &a->out};
    if (c >= OPT_KEY && c <= OPT_OUT) {
        *str[c] = arg;
    } else if (c == OPT_SECVER) {
        a->security_version = strtoul(arg, NULL, 0);
    } else if (c == OPT_CHUNK) {
        a->chunk_size = strtoul(arg, NULL, 0);
    } else if (c == OPT_CREATED) {
        a->created = strtoll(arg, NULL, 0);
    } else if (c == OPT_BAD_SHA) {
        a->bad_sha = true;
    } else if (c == OPT_FROM) {
        a->from = arg;
    } else if (c == OPT_WRONG_OUTPUT) {
        a->wrong_output = true;
    } else {
        return false;
    }
    return true;
}

static bool parse_create(int argc, char **argv, create_args_t *a)
{
    static const struct option opts[] = {
        {"key", 1, 0, OPT_KEY},
        {"image", 1, 0, OPT_IMAGE},
        {"product", 1, 0, OPT_PRODUCT},
        {"version", 1, 0, OPT_VERSION},
        {"out", 1, 0, OPT_OUT},
        {"security-version", 1, 0, OPT_SECVER},
        {"chunk-size", 1, 0, OPT_CHUNK},
        {"created", 1, 0, OPT_CREATED},
        {"bad-sha256", 0, 0, OPT_BAD_SHA},
        {"from", 1, 0, OPT_FROM},
        {"wrong-output", 0, 0, OPT_WRONG_OUTPUT},
        {0, 0, 0, 0},
    };
    memset(a, 0, sizeof *a);
    a->chunk_size = 1024;
    a->created = (long long)time(NULL);
    int c;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (!set_opt(a, c == 'o' ? OPT_OUT : c, optarg)) {
            return false;
        }
    }
    return optind == argc && a->key && a->image && a->product && a->version && a->out;
}

/* The manifest fields for an image (the chain head is filled in by the caller). */
static fota_err_t describe(const create_args_t *a, const uint8_t *image, size_t len,
                           fota_manifest_t *m)
{
    memset(m, 0, sizeof *m);
    if (strlen(a->product) > FOTA_MANIFEST_STR_MAX || strlen(a->version) > FOTA_MANIFEST_STR_MAX ||
        a->chunk_size == 0 || len == 0) {
        return FOTA_ERR_ARG;
    }
    strcpy(m->product_id, a->product);
    strcpy(m->version, a->version);
    m->security_version = (uint32_t)a->security_version;
    m->image_size = (uint32_t)len;
    m->chunk_size = (uint32_t)a->chunk_size;
    m->chunk_count = (uint32_t)((len + a->chunk_size - 1) / a->chunk_size);
    m->created = (uint64_t)a->created;
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), image, len, m->image_sha256);
    if (a->bad_sha) {
        m->image_sha256[0] ^= 0xff;
    }
    return FOTA_OK;
}

static void print_id(const uint8_t manifest[FOTA_MANIFEST_LEN])
{
    uint8_t digest[32];
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), manifest, FOTA_MANIFEST_LEN, digest);
    for (int i = 0; i < 16; i++) {
        printf("%02x", digest[i]);
    }
    putchar('\n');
}

/* Build the bundle in memory: manifest, then the blob built from the image. */
static int build(const create_args_t *a, fota_key_t *key, const uint8_t *image, size_t len)
{
    fota_manifest_t m;
    fota_err_t err = describe(a, image, len, &m);
    size_t blob_len = fota_chain_blob_size(len, m.chunk_size);
    uint8_t *bundle = err == FOTA_OK && blob_len > 0 ? malloc(FOTA_MANIFEST_LEN + blob_len) : NULL;
    if (bundle == NULL) {
        return fail("create", err != FOTA_OK ? err : FOTA_ERR_NO_MEM);
    }
    err = fota_chain_build(image, len, m.chunk_size, bundle + FOTA_MANIFEST_LEN, blob_len,
                           m.chain_head);
    if (err == FOTA_OK) {
        err = fota_manifest_sign(&m, key, bundle);
    }
    if (err == FOTA_OK) {
        err = fota_file_write_all(a->out, bundle, FOTA_MANIFEST_LEN + blob_len, 0644);
    }
    if (err == FOTA_OK) {
        print_id(bundle);
    }
    free(bundle);
    return err == FOTA_OK ? 0 : fail(a->out, err);
}

static int cmd_create(int argc, char **argv)
{
    create_args_t a;
    if (!parse_create(argc, argv, &a)) {
        return usage();
    }
    fota_key_t *key = NULL;
    fota_err_t err = fota_key_load_private(a.key, &key);
    if (err != FOTA_OK) {
        return fail(a.key, err);
    }
    uint8_t *image = NULL;
    size_t len = 0;
    err = fota_file_read_all(a.image, MAX_IMAGE, &image, &len);
    int rc = err == FOTA_OK ? build(&a, key, image, len) : fail(a.image, err);
    free(image);
    fota_key_free(key);
    return rc;
}

/* The delta bundle from a->from to the release of image (described as create describes it). */
static int build_delta(const create_args_t *a, fota_key_t *key, uint8_t *image, size_t len,
                       const uint8_t *old, size_t old_len)
{
    fota_delta_bundle_spec_t spec = {NULL, (uint32_t)old_len, {0}, (uint64_t)a->created};
    fota_manifest_t m;
    uint8_t *patch = NULL, *bundle = NULL;
    size_t patch_len = 0, bundle_len = 0;
    fota_err_t err = describe(a, image, len, &m);
    if (err == FOTA_OK && old_len <= 32) {
        err = FOTA_ERR_ARG;
    }
    if (err == FOTA_OK) {
        spec.release = &m;
        memcpy(spec.source_sha256, old + old_len - 32, 32);
        fota_delta_opts_t opts = fota_delta_opts_default();
        opts.record_size = m.chunk_size;
        image[len / 2] ^= a->wrong_output ? 0x5a : 0;
        err = fota_delta_create(old, old_len, image, len, &opts, &patch, &patch_len);
    }
    if (err == FOTA_OK) {
        err = fota_delta_bundle_build(&spec, key, patch + FOTA_DELTA_HEADER_LEN,
                                      patch_len - FOTA_DELTA_HEADER_LEN, m.chunk_size, &bundle,
                                      &bundle_len);
    }
    if (err == FOTA_OK) {
        err = fota_file_write_all(a->out, bundle, bundle_len, 0644);
    }
    if (err == FOTA_OK) {
        char id[FOTA_RELEASE_ID_HEX + 1];
        fota_delta_bundle_id(bundle, id);
        puts(id);
    }
    free(patch);
    free(bundle);
    return err == FOTA_OK ? 0 : fail(a->out, err);
}

static int cmd_delta(int argc, char **argv)
{
    create_args_t a;
    if (!parse_create(argc, argv, &a) || a.from == NULL || a.bad_sha) {
        return usage();
    }
    fota_key_t *key = NULL;
    uint8_t *image = NULL, *old = NULL;
    size_t len = 0, old_len = 0;
    fota_err_t err = fota_key_load_private(a.key, &key);
    int rc = err == FOTA_OK ? 0 : fail(a.key, err);
    if (rc == 0 && (err = fota_file_read_all(a.image, MAX_IMAGE, &image, &len)) != FOTA_OK) {
        rc = fail(a.image, err);
    }
    if (rc == 0 && (err = fota_file_read_all(a.from, MAX_IMAGE, &old, &old_len)) != FOTA_OK) {
        rc = fail(a.from, err);
    }
    rc = rc == 0 ? build_delta(&a, key, image, len, old, old_len) : rc;
    free(image);
    free(old);
    fota_key_free(key);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "genkey") == 0) {
        fota_err_t err = fota_key_generate(argv[2], argv[3]);
        return err == FOTA_OK ? 0 : fail(argv[2], err);
    }
    if (argc >= 2 && strcmp(argv[1], "create") == 0) {
        return cmd_create(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "delta") == 0) {
        return cmd_delta(argc - 1, argv + 1);
    }
    return usage();
}
