/*
 * fuzz_manifest.c - libFuzzer target: the signed release manifest (agent/src/manifest.c):
 * fota_manifest_parse and fota_manifest_verify with the fixed fuzzing release key (DER), then
 * the geometry helpers on what was accepted.
 *
 * Properties checked (abort on violation, so libFuzzer keeps the input):
 *   - verify accepts only what parse accepts, and fails with parse's error when parse fails;
 *   - one encoding per manifest: what parses re-encodes (fota_manifest_encode_body +
 *     fota_manifest_assemble) to exactly the input bytes;
 *   - the geometry of an accepted manifest is consistent (last chunk 1..chunk_size bytes, blob
 *     size = image size + 32 per chunk, record offsets inside it).
 *
 * --make-seed DIR writes manifests signed with the fuzzing key (the rig's release and others
 * with other sizes, chunk sizes, security versions and strings of every length).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/bytes.h"
#include "fota/manifest.h"

#include "rig.h"

static const uint8_t *g_pub;
static size_t g_pub_len;

/* ---- seeds ----------------------------------------------------------------------------------- */

static void sign_seed(const char *dir, const char *name, fota_manifest_t *m)
{
    uint8_t out[FOTA_MANIFEST_LEN];
    m->chunk_count = m->image_size / m->chunk_size + (m->image_size % m->chunk_size != 0);
    if (fota_manifest_sign(m, rig_signing_key(), out) != FOTA_OK) {
        fprintf(stderr, "fuzz_manifest: cannot sign seed %s\n", name);
        abort();
    }
    rig_write_seed(dir, name, out, sizeof out);
}

static void make_seeds(const char *dir)
{
    fota_manifest_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.product_id, sizeof m.product_id, "%s", RIG_PRODUCT);
    snprintf(m.version, sizeof m.version, "%s", RIG_NEW_VERSION);
    m.image_size = RIG_NEW_SIZE;
    m.chunk_size = 1024;
    m.created = 1790000000u;
    memset(m.image_sha256, 0x5a, sizeof m.image_sha256);
    memset(m.chain_head, 0xc3, sizeof m.chain_head);
    sign_seed(dir, "release", &m);
    m.image_size = 1310720u - 5u;
    m.chunk_size = 256;
    m.security_version = 7;
    sign_seed(dir, "big-small-chunks", &m);
    m.image_size = 1;
    m.chunk_size = 65536;
    snprintf(m.version, sizeof m.version, "%s", "v");
    sign_seed(dir, "one-byte", &m);
    m.image_size = UINT32_MAX - 32u * 65536u; /* the largest blob that still fits 32 bits */
    m.chunk_size = 65536;
    snprintf(m.product_id, sizeof m.product_id, "%s", "0123456789abcdef0123456789abcdef");
    snprintf(m.version, sizeof m.version, "%s", "~ !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}");
    m.security_version = UINT32_MAX;
    m.created = UINT64_MAX;
    sign_seed(dir, "extremes", &m);
}

/* ---- properties ------------------------------------------------------------------------------ */

/* A manifest that parses has exactly one encoding: the input. */
static void check_canonical(const uint8_t *data, const fota_manifest_t *m)
{
    uint8_t body[FOTA_MANIFEST_BODY_LEN], again[FOTA_MANIFEST_LEN];
    rig_require(fota_manifest_encode_body(m, body) == FOTA_OK, "a parsed manifest encodes");
    rig_require(memcmp(body, data, sizeof body) == 0, "the body re-encodes to the same bytes");
    size_t sig_len = fota_get_le16(data + FOTA_MANIFEST_OFF_SIG_LEN);
    rig_require(fota_manifest_assemble(body, data + FOTA_MANIFEST_OFF_SIG, sig_len, again) == FOTA_OK,
            "a parsed manifest assembles");
    rig_require(memcmp(again, data, sizeof again) == 0, "the manifest re-assembles to the same bytes");
}

static void check_geometry(const fota_manifest_t *m)
{
    uint32_t n = m->chunk_count;
    uint32_t last = fota_manifest_chunk_len(m, n - 1u);
    rig_require(n > 0 && last > 0 && last <= m->chunk_size, "the last chunk has 1..chunk_size bytes");
    rig_require(fota_manifest_chunk_len(m, n) == 0, "no chunk past the end");
    uint32_t blob = fota_manifest_blob_size(m);
    rig_require((uint64_t)blob == (uint64_t)m->image_size + 32u * (uint64_t)n, "blob size");
    rig_require(fota_manifest_record_offset(m, n - 1u) + fota_manifest_record_len(m, n - 1u) == blob,
            "the last record ends the blob");
}

/* ---- the target ------------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    rig_public_key(&g_pub, &g_pub_len);
    const char *dir = rig_make_seed_dir(*argc, *argv);
    if (dir != NULL) {
        make_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fota_manifest_t m, v;
    fota_err_t perr = fota_manifest_parse(data, size, &m);
    if (perr == FOTA_OK) {
        check_canonical(data, &m);
        check_geometry(&m);
    }
    fota_err_t verr = fota_manifest_verify(data, size, g_pub, g_pub_len, &v);
    rig_require(perr == FOTA_OK || verr == perr, "verify fails as parse does");
    if (verr == FOTA_OK) {
        rig_require(memcmp(&m, &v, sizeof m) == 0, "verify decodes as parse does");
        (void)fota_manifest_check_product(&v, RIG_PRODUCT);
    }
    return 0;
}
