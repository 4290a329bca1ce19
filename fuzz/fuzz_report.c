/*
 * fuzz_report.c - libFuzzer target: the device report body (POST /api/inverter/fota/report,
 * docs/PROTOCOL.md 4.5) as fotad parses it: server/bodies.c fotad_report_parse, over
 * server/json_codec.c (fotad_json_parse_object, the checked field reads) and cJSON.
 *
 * Input: the request body.
 *
 * Properties (abort on violation):
 *   - a refusal says why; an accepted report follows the field rules of docs/PROTOCOL.md 4.5,
 *     checked here again: state 1..15 of a-z and '_', release empty or 32 lowercase hex digits,
 *     version and running empty or 1..32 printable characters;
 *   - an accepted report, written as fotad shows it (fotad_json_report, the admin API's report
 *     object) and parsed again, gives the same record.
 *
 * --make-seed DIR writes the example of docs/PROTOCOL.md 4.5, a report per agent state, and the
 * reports the real agent sends during an update (fuzz/rig.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodies.h"
#include "json_codec.h"
#include "rig.h"

/* ---- seeds ----------------------------------------------------------------------------------- */

static const char *const doc_reports[] = {
    ("{\"state\":\"downloading\",\"release\":\"3f2a9c1d00112233445566778899aabb\","
     "\"version\":\"2.0.1\",\"running\":\"2.0.0\",\"done\":512,\"total\":1043,\"error\":0}"),
    "{\"state\":\"checking\"}",
    "{\"state\":\"manifest\",\"release\":\"\",\"version\":\"\"}",
    "{\"state\":\"verifying\",\"done\":4294967295,\"total\":4294967295}",
    "{\"state\":\"installed\",\"running\":\"1.0.0\"}",
    "{\"state\":\"rebooting\"}",
    "{\"state\":\"booted\",\"running\":\"2.0.1\"}",
    "{\"state\":\"confirmed\",\"running\":\"2.0.1\",\"unknown\":[1,{\"a\":null}]}",
    "{\"state\":\"rolled_back\",\"error\":-2147483648}",
    " {\"state\" : \"error\" , \"error\" : 2147483647 }\r\n",
    "{\"state\":\"error\",\"error\":-7,\"version\":\"v \\u00e9\\\"x\"}",
};

static unsigned g_seed_count;

static void seed_agent(void *ctx, const fota_http_request_t *req)
{
    if (req->body != NULL && req->body_len > 0) {
        char name[32];
        snprintf(name, sizeof name, "agent-%02u", g_seed_count++);
        rig_write_seed(ctx, name, req->body, req->body_len);
    }
}

static void make_seeds(const char *dir)
{
    for (size_t i = 0; i < sizeof doc_reports / sizeof doc_reports[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "doc-%02zu", i);
        rig_write_seed(dir, name, doc_reports[i], strlen(doc_reports[i]));
    }
    rig_capture_requests(FOTA_MODE_SEED, seed_agent, (void *)dir);
}

/* ---- the target ------------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = rig_make_seed_dir(*argc, *argv);
    if (dir != NULL) {
        make_seeds(dir);
        exit(0);
    }
    return 0;
}

static bool all_of(const char *s, const char *set, size_t min, size_t max)
{
    size_t n = strlen(s);
    return n >= min && n <= max && strspn(s, set) == n;
}

static bool printable(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e) {
            return false;
        }
    }
    return n <= max;
}

static void check_fields(const fotad_report_rec_t *r)
{
    rig_require(all_of(r->state, "abcdefghijklmnopqrstuvwxyz_", 1, 15), "state: 1..15 of a-z and _");
    rig_require(r->release[0] == '\0' || all_of(r->release, "0123456789abcdef", 32, 32),
            "release: empty or a release id");
    rig_require(printable(r->version, 32) && printable(r->running, 32),
            "version, running: empty or 1..32 printable characters");
    rig_require(r->time == 0, "the time is the caller's");
}

static void check_round_trip(const fotad_report_rec_t *r)
{
    cJSON *json = fotad_json_report(r);
    rig_require(json != NULL, "a report can be shown");
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    rig_require(text != NULL, "a report can be printed");
    fotad_report_rec_t again;
    const char *why = fotad_report_parse((const uint8_t *)text, strlen(text), &again);
    if (why != NULL) {
        fprintf(stderr, "fuzz_report: %s: %s\n", text, why);
    }
    free(text);
    rig_require(why == NULL, "a report as fotad shows it parses again");
    rig_require(memcmp(&again, r, sizeof again) == 0, "the same report after showing it");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fotad_report_rec_t r;
    const char *why = fotad_report_parse(data, size, &r);
    if (why != NULL) {
        rig_require(why[0] != '\0', "a refusal says why");
        return 0;
    }
    check_fields(&r);
    check_round_trip(&r);
    return 0;
}
