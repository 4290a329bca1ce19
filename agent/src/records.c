/*
 * records.c - chain mode: the body of a Range request on the release blob is a run of records
 * chunk_i || h_(i+1) (docs/MANIFEST.md). Bytes arrive in pieces of any size; a record is checked
 * against the hash chain as soon as it is complete and only then written. A record that arrives
 * whole in one piece is checked straight from the caller's buffer; otherwise it is gathered in
 * the agent's buffer. A broken connection leaves a partial record that is dropped: the next
 * request starts at the first record not yet written.
 */
#include <string.h>

#include "agent_internal.h"

static uint32_t record_len(const fota_agent_t *a)
{
    return fota_manifest_chunk_len(&a->manifest, a->next_chunk) + 32u;
}

/* Verify one whole record and hand its chunk to the writer. */
static fota_err_t take_record(fota_agent_t *a, const uint8_t *rec, uint32_t len)
{
    uint32_t chunk_len = len - 32u;
#if FOTA_CONFIG_DELTA
    if (a->delta.on) {
        return fota_patch_record(a, rec, chunk_len); /* a patch record: applied, not copied */
    }
#endif
    fota_err_t err = fota_chain_accept_md(&a->chain, &a->md, rec, chunk_len, rec + chunk_len);
    if (err != FOTA_OK) {
        return err;
    }
    return fota_writer_put(a, rec, chunk_len);
}

fota_err_t fota_records_feed(fota_agent_t *a, const uint8_t *data, size_t len)
{
    while (len > 0) {
        if (a->next_chunk >= a->batch_end) {
            return FOTA_ERR_HTTP_LENGTH; /* more bytes than the records asked for */
        }
        uint32_t rec = record_len(a);
        fota_err_t err;
        if (a->io_len == 0 && len >= rec) {
            err = take_record(a, data, rec);
            data += rec;
            len -= rec;
        } else {
            size_t take = rec - a->io_len < len ? rec - a->io_len : len;
            memcpy(a->io + a->io_len, data, take);
            a->io_len += (uint32_t)take;
            data += take;
            len -= take;
            if (a->io_len < rec) {
                return FOTA_OK;
            }
            a->io_len = 0;
            err = take_record(a, a->io, rec);
        }
        if (err != FOTA_OK) {
            return err;
        }
    }
    return FOTA_OK;
}
