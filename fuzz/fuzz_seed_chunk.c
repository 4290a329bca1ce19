/*
 * fuzz_seed_chunk.c - libFuzzer target: the body of a seed-mode chunk response, as the real agent
 * processes it (response.c buffering, seed.c: JSON (json.c), chunk number, MAC hex, strict base64
 * decoded in place, size against the manifest, HMAC, then writer.c into the emulated flash).
 *
 * Once per process the agent is brought, through the real protocol (offer, signed manifest, both
 * from tests/support/fake_server.c), to DOWNLOADING with the request for chunk 0 in flight; each
 * input starts from a copy of that state and is the whole response body (status 200,
 * Content-Length = its size). If the agent takes the chunk, the rest of the download runs against
 * the real server (chunks 1.., read-back, image check, install), so what follows an accepted
 * chunk is exercised too. After each input the flash is checked (rig_check_flash): nothing but the
 * release's bytes in the update slot, and the boot slot switched only to the whole image. The MAC
 * cannot be forged by a fuzzer: mutations past it come from the
 * valid seeds (key order, white space, unknown keys keep the MAC right).
 *
 * --make-seed DIR writes seeds: chunk 0 as the server sends it, and variants of its JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>

#include "rig.h"

#define CHUNK_SIZE 1024u

static rig_t g_rig;

/* ---- seeds ----------------------------------------------------------------------------------- */

typedef struct {
    char b64[2 * CHUNK_SIZE];
    char mac[65];
} chunk_text_t;

static void chunk_text(const rig_t *r, uint32_t n, chunk_text_t *out)
{
    const uint8_t *data = r->srv.image + (size_t)n * CHUNK_SIZE;
    uint8_t mac[32];
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), r->device_key, 32, data,
                    CHUNK_SIZE, mac);
    rig_hex(mac, sizeof mac, out->mac);
    size_t olen = 0;
    mbedtls_base64_encode((unsigned char *)out->b64, sizeof out->b64, &olen, data, CHUNK_SIZE);
}

static void seed(const char *dir, const char *name, const char *text)
{
    rig_write_seed(dir, name, text, strlen(text));
}

static void make_seeds(const char *dir)
{
    static char js[4 * CHUNK_SIZE];
    chunk_text_t c0, c1;
    chunk_text(&g_rig, 0, &c0);
    chunk_text(&g_rig, 1, &c1);
    snprintf(js, sizeof js, "{\"chunk_number\":0,\"data\":\"%s\",\"mac\":\"%s\"}", c0.b64, c0.mac);
    seed(dir, "chunk0", js);
    snprintf(js, sizeof js, " { \"mac\" : \"%s\",\n\t\"chunk_number\" : 0 , \"data\":\"%s\"}\r\n",
             c0.mac, c0.b64);
    seed(dir, "chunk0-reordered", js);
    snprintf(js, sizeof js,
             "{\"release\":\"%s\",\"x\":{\"a\":[1,{\"b\":null}],\"c\":true},\"chunk_number\":0,"
             "\"data\":\"%s\",\"mac\":\"%s\",\"size\":1024}",
             g_rig.srv.release, c0.b64, c0.mac);
    seed(dir, "chunk0-extra-keys", js);
    snprintf(js, sizeof js, "{\"chunk_number\":1,\"data\":\"%s\",\"mac\":\"%s\"}", c1.b64, c1.mac);
    seed(dir, "chunk1-wrong-number", js);
    for (char *p = c0.mac; *p != '\0'; p++) {
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    }
    snprintf(js, sizeof js, "{\"chunk_number\":0,\"data\":\"%s\",\"mac\":\"%s\"}", c0.b64, c0.mac);
    seed(dir, "chunk0-upper-mac", js);
    seed(dir, "short-padding", "{\"chunk_number\":0,\"data\":\"QQ==\",\"mac\":\"00\"}");
}

/* ---- the target ------------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    rig_opts_t o = {FOTA_MODE_SEED, CHUNK_SIZE, NULL, false};
    rig_open(&g_rig, &o);
    fota_agent_check_now(&g_rig.st.agent);
    bool data_req = false;
    rig_run(&g_rig, 16, true, &data_req);
    if (!data_req || fota_agent_state(&g_rig.st.agent) != FOTA_STATE_DOWNLOADING) {
        fprintf(stderr, "fuzz_seed_chunk: the agent did not reach its first chunk request\n");
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
    rig_restore(&g_rig);
    rig_respond(&g_rig, 200, (int64_t)size, data, size, NULL, 0, FOTA_OK);
    rig_run(&g_rig, 64, false, NULL);
    rig_trace(&g_rig, "fuzz_seed_chunk");
    rig_check_flash(&g_rig, true);
    return 0;
}
