/*
 * fuzz_offer.c - libFuzzer target: the body of the answer to a check (the offer JSON), as the
 * real agent processes it (response.c buffering, offer.c over json.c: release id, version,
 * action, the manifest inside it), and what the agent does next with the offer: fetch the
 * manifest from tests/support/fake_server.c, verify it and hold it against the offer (version,
 * release id = SHA-256 of the manifest; the sizes and hash are a preview it does not read). The
 * target stops at the first data request; the flash is checked after each input (rig_check_flash).
 *
 * Once per process the agent is brought to the state where its check request is in flight; each
 * input starts from a copy of that state and is the whole response body (status 200,
 * Content-Length = its size).
 *
 * --make-seed DIR writes seeds: the offer as the server sends it and variants (key order, extra
 * and nested keys, the running version, a wrong hash, a release id in upper case).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rig.h"

static rig_t g_rig;

/* ---- seeds ----------------------------------------------------------------------------------- */

static void seed(const char *dir, const char *name, const char *text)
{
    rig_write_seed(dir, name, text, strlen(text));
}

static void make_seeds(const char *dir)
{
    const fake_server_t *s = &g_rig.srv;
    char sha[65], js[1024], upper[FOTA_RELEASE_ID_LEN + 1];
    rig_hex(s->m.image_sha256, 32, sha);
    unsigned size = s->m.image_size, cs = s->m.chunk_size, n = s->m.chunk_count;
    snprintf(js, sizeof js,
             "{\"release\":\"%s\",\"version\":\"%s\",\"size\":%u,\"chunk_size\":%u,"
             "\"chunk_count\":%u,\"sha256\":\"%s\",\"blob\":\"/api/inverter/fota/blob/%s\"}",
             s->release, s->m.version, size, cs, n, sha, s->release);
    seed(dir, "offer", js);
    snprintf(js, sizeof js,
             "{ \"sha256\" : \"%s\", \"chunk_count\" : %u,\n \"chunk_size\" : %u, \"size\" : %u,"
             "\r\n\t\"version\" : \"%s\", \"release\" : \"%s\" }\n",
             sha, n, cs, size, s->m.version, s->release);
    seed(dir, "offer-reordered", js);
    snprintf(js, sizeof js,
             "{\"urls\":{\"manifest\":\"/m\",\"list\":[1,2,{\"x\":[]}]},\"release\":\"%s\","
             "\"version\":\"%s\",\"size\":%u,\"chunk_size\":%u,\"chunk_count\":%u,"
             "\"sha256\":\"%s\",\"mode\":\"chain\",\"pinned\":true,\"note\":null}",
             s->release, s->m.version, size, cs, n, sha);
    seed(dir, "offer-nested", js);
    snprintf(js, sizeof js,
             "{\"release\":\"%s\",\"version\":\"%s\",\"size\":%u,\"chunk_size\":%u,"
             "\"chunk_count\":%u,\"sha256\":\"%s\"}",
             s->release, RIG_OLD_VERSION, size, cs, n, sha);
    seed(dir, "offer-running-version", js);
    sha[0] = sha[0] == '0' ? '1' : '0';
    snprintf(js, sizeof js,
             "{\"release\":\"%s\",\"version\":\"%s\",\"size\":%u,\"chunk_size\":%u,"
             "\"chunk_count\":%u,\"sha256\":\"%s\"}",
             s->release, s->m.version, size, cs, n, sha);
    seed(dir, "offer-wrong-sha", js);
    for (size_t i = 0; i <= FOTA_RELEASE_ID_LEN; i++) {
        char c = s->release[i];
        upper[i] = (char)(c >= 'a' && c <= 'f' ? c - 32 : c);
    }
    snprintf(js, sizeof js,
             "{\"release\":\"%s\",\"version\":\"%s\",\"size\":%u,\"chunk_size\":%u,"
             "\"chunk_count\":%u,\"sha256\":\"%s\"}",
             upper, s->m.version, size, cs, n, sha);
    seed(dir, "offer-upper-id", js);
}

/* ---- the target ------------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    rig_opts_t o = {FOTA_MODE_SEED, 1024u, NULL, false};
    rig_open(&g_rig, &o);
    fota_agent_check_now(&g_rig.st.agent);
    const fota_http_request_t *req = NULL;
    if (!rig_poll_http(&g_rig, &req) || strstr(req->target, "/check?") == NULL) {
        fprintf(stderr, "fuzz_offer: the agent did not ask for a check\n");
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
    bool data_req = false;
    rig_run(&g_rig, 8, true, &data_req);
    rig_trace(&g_rig, "fuzz_offer");
    rig_check_flash(&g_rig, true);
    return 0;
}
