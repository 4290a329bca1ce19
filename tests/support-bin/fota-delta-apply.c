/*
 * fota-delta-apply.c - test support: apply a delta as a device does, from what fotad serves
 * (docs/PROTOCOL.md: the 320-byte delta manifest and the delta's blob), with the agent's own
 * code: the manifest parsed (fota_delta_manifest_parse), every record of the blob checked against
 * the hash chain from its head (fota_chain), the patch records given to the applier
 * (fota_delta_init, fota_delta_record) over the old image, and the new image compared with the
 * manifest's SHA-256 before it is written.
 *
 *   fota-delta-apply MANIFEST BLOB OLD.bin NEW.bin
 *
 * Exit: 0 the new image written; 1 a check failed (said on stderr); 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "fota/chain.h"
#include "fota/delta.h"
#include "fota/manifest.h"
#include "fota/host/delta_create.h"
#include "fota/host/file_util.h"

static int fail(const char *what, fota_err_t err)
{
    fprintf(stderr, "fota-delta-apply: %s: %s\n", what, fota_err_name(err));
    return 1;
}

/* Every record: the chain, then the applier. */
static int apply(const fota_delta_manifest_t *d, const uint8_t *blob, size_t blob_len,
                 fota_delta_mem_t *im)
{
    fota_manifest_t chain_m;
    fota_delta_manifest_chain(d, &chain_m);
    if (blob_len != fota_manifest_blob_size(&chain_m)) {
        return fail("blob length", FOTA_ERR_TRUNCATED);
    }
    fota_chain_t chain;
    fota_delta_t delta;
    fota_err_t err = fota_chain_init(&chain, chain_m.chain_head, chain_m.chunk_count);
    if (err == FOTA_OK) {
        err = fota_delta_init(&delta, d->m.image_size, d->source_size, d->m.chunk_size);
    }
    const fota_delta_io_t io = fota_delta_mem_io(im);
    for (uint32_t i = 0; err == FOTA_OK && i < chain_m.chunk_count; i++) {
        const uint8_t *rec = blob + fota_manifest_record_offset(&chain_m, i);
        err = fota_chain_accept_record(&chain, rec, fota_manifest_record_len(&chain_m, i));
        if (err == FOTA_OK) {
            err = fota_delta_record(&delta, rec, fota_manifest_chunk_len(&chain_m, i), 0, &io);
        }
    }
    if (err != FOTA_OK) {
        return fail("a record", err);
    }
    if (!fota_chain_done(&chain) || !fota_delta_done(&delta)) {
        return fail("the end", FOTA_ERR_TRUNCATED);
    }
    uint8_t digest[32];
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), im->out, im->out_len, digest);
    return memcmp(digest, d->m.image_sha256, 32) == 0
               ? 0
               : fail("the new image", FOTA_ERR_IMAGE_SHA256);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: fota-delta-apply MANIFEST BLOB OLD.bin NEW.bin\n");
        return 2;
    }
    uint8_t *manifest = NULL, *blob = NULL, *old = NULL;
    size_t manifest_len = 0, blob_len = 0, old_len = 0;
    fota_delta_manifest_t d;
    int rc = 1;
    if (fota_file_read_all(argv[1], 4096, &manifest, &manifest_len) != FOTA_OK ||
        fota_file_read_all(argv[2], 64u << 20, &blob, &blob_len) != FOTA_OK ||
        fota_file_read_all(argv[3], 64u << 20, &old, &old_len) != FOTA_OK) {
        fprintf(stderr, "fota-delta-apply: cannot read the inputs\n");
    } else if (fota_delta_manifest_parse(manifest, manifest_len, &d) != FOTA_OK) {
        fprintf(stderr, "fota-delta-apply: %s is not a delta manifest\n", argv[1]);
    } else if (d.source_size != old_len) {
        fprintf(stderr, "fota-delta-apply: %s is not the source (%zu bytes, not %u)\n", argv[3],
                old_len, (unsigned)d.source_size);
    } else {
        fota_delta_mem_t im = {old, old_len, malloc(d.m.image_size), d.m.image_size};
        rc = im.out != NULL ? apply(&d, blob, blob_len, &im) : fail("memory", FOTA_ERR_NO_MEM);
        if (rc == 0 && fota_file_write_all(argv[4], im.out, im.out_len, 0644) != FOTA_OK) {
            rc = fail(argv[4], FOTA_ERR_IO);
        }
        free(im.out);
    }
    free(manifest);
    free(blob);
    free(old);
    return rc;
}
