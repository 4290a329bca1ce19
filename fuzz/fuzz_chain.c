/*
 * fuzz_chain.c - libFuzzer target: the body of a chain-mode Range response (records
 * chunk_i || h_(i+1)), fed to the real agent in pieces of fuzzer-chosen sizes (response.c,
 * records.c: records whole in one piece or gathered across pieces, chain.c, writer.c).
 *
 * Once per process the agent is brought through the real protocol (offer, signed manifest from
 * tests/support/fake_server.c; release of 24 records of 256 bytes) to DOWNLOADING with the Range
 * request for the whole blob in flight; each input starts from a copy of that state.
 *
 * Input: byte 0 = flags: bit 0 send Content-Length (else unknown, as with chunked encoding),
 * bit 1 the connection breaks after the body, bit 5 status 200 (a server ignoring Range) instead
 * of 206, bits 2-4 = k, the number of piece-size bytes that follow. Piece size byte v: 0 = the
 * rest at once, 1..127 = v bytes, 128..255 = ((v & 127) + 1) * 37 bytes (larger than a record);
 * the sizes repeat in turn. The rest of the input is the body. If every record is taken, the
 * agent goes on to read back and check the image and install it. After each input the flash is
 * checked (rig_check_flash): nothing but the release's bytes in the update slot, and the boot
 * slot switched only to the whole image.
 *
 * --make-seed DIR writes seeds: the real blob with several piece patterns, cut short, with a
 * flipped bit, with two records swapped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

#define CHUNK_SIZE 256u
#define MAX_PIECES 7u

static rig_t g_rig;

static size_t piece_size(uint8_t v)
{
    return (v & 0x80u) != 0 ? ((size_t)(v & 0x7fu) + 1u) * 37u : v;
}

/* ---- seeds ----------------------------------------------------------------------------------- */

static void seed(const char *dir, const char *name, uint8_t flags, const uint8_t *pieces,
                 const uint8_t *body, size_t len)
{
    size_t k = (flags >> 2) & 7u;
    uint8_t *buf = malloc(1 + k + len);
    buf[0] = flags;
    if (k > 0) {
        memcpy(buf + 1, pieces, k);
    }
    memcpy(buf + 1 + k, body, len);
    rig_write_seed(dir, name, buf, 1 + k + len);
    free(buf);
}

static void make_seeds(const char *dir)
{
    const uint8_t *blob = g_rig.srv.blob;
    size_t len = g_rig.srv.blob_len;
    size_t rec = CHUNK_SIZE + 32u;
    static const uint8_t one[] = {1}, three[] = {7, 0x85, 0xff}, two[] = {0x87, 100};
    seed(dir, "whole", 0x01, NULL, blob, len);
    seed(dir, "bytewise", 0x01 | (1 << 2), one, blob, len);
    seed(dir, "three-sizes", 0x00 | (3 << 2), three, blob, len);
    seed(dir, "two-sizes", 0x01 | (2 << 2), two, blob, len);
    seed(dir, "broken-mid-record", 0x02 | (2 << 2), two, blob, 5 * rec + 77);
    seed(dir, "status-200", 0x21, NULL, blob, len);
    uint8_t *bad = malloc(len);
    memcpy(bad, blob, len);
    bad[7 * rec + 3] ^= 0x80;
    seed(dir, "flipped", 0x01 | (3 << 2), three, bad, len);
    memcpy(bad, blob, len);
    memcpy(bad + 3 * rec, blob + 4 * rec, rec);
    memcpy(bad + 4 * rec, blob + 3 * rec, rec);
    seed(dir, "swapped", 0x00, NULL, bad, len);
    free(bad);
}

/* ---- the target ------------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    rig_opts_t o = {FOTA_MODE_CHAIN, CHUNK_SIZE, NULL, false};
    rig_open(&g_rig, &o);
    fota_agent_check_now(&g_rig.st.agent);
    bool data_req = false;
    rig_run(&g_rig, 16, true, &data_req);
    if (!data_req || fota_agent_state(&g_rig.st.agent) != FOTA_STATE_DOWNLOADING) {
        fprintf(stderr, "fuzz_chain: the agent did not reach its first Range request\n");
        abort();
    }
    rig_snapshot(&g_rig);
    const char *dir = rig_make_seed_dir(*argc, *argv);
    if (dir != NULL) {
        make_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t flags = data[0];
    size_t k = (flags >> 2) & 7u;
    if (size < 1 + k) {
        return 0;
    }
    size_t pieces[MAX_PIECES];
    for (size_t i = 0; i < k; i++) {
        pieces[i] = piece_size(data[1 + i]);
    }
    const uint8_t *body = data + 1 + k;
    size_t len = size - 1 - k;
    rig_restore(&g_rig);
    int status = (flags & 0x20u) != 0 ? 200 : 206;
    int64_t content_length = (flags & 0x01u) != 0 ? (int64_t)len : -1;
    fota_err_t end = (flags & 0x02u) != 0 ? FOTA_ERR_HTTP_TRUNCATED : FOTA_OK;
    rig_respond(&g_rig, status, content_length, body, len, pieces, k, end);
    rig_run(&g_rig, 64, false, NULL);
    rig_trace(&g_rig, "fuzz_chain");
    rig_check_flash(&g_rig, true);
    return 0;
}
