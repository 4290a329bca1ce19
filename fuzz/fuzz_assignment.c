/*
 * fuzz_assignment.c - libFuzzer target: the admin API's assignment body (POST
 * /api/admin/assignments, docs/ADMIN_API.md) as fotad parses it: server/bodies.c
 * fotad_assignment_parse, over server/json_codec.c and cJSON. It is the admin API's one JSON
 * request body (a release upload is a binary bundle: fuzz_upload).
 *
 * Input: the request body.
 *
 * Properties (abort on violation):
 *   - a refusal says why; an accepted assignment names a release id (32 lowercase hex digits) and
 *     either a device id (1..48 of A-Z a-z 0-9 - _ . :) or a product (1..32 printable
 *     characters), checked here again from docs/PROTOCOL.md section 1 and docs/ADMIN_API.md;
 *   - an accepted assignment, written as fotad answers it (fotad_json_assignment) and parsed
 *     again, gives the same record.
 *
 * --make-seed DIR writes the bodies of docs/ADMIN_API.md and the ones fotactl's assign command
 * sends (the same JSON object, tools/fotactl/admin.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodies.h"
#include "json_codec.h"
#include "rig.h"

static const char *const doc_bodies[] = {
    "{\"release\":\"3f2a9c1d00112233445566778899aabb\",\"device\":\"inv-000123\"}",
    "{\"release\":\"3f2a9c1d00112233445566778899aabb\",\"product\":\"inv-5k\"}",
    "{\"product\":\"esp32 inverter ~ 5 kW\",\"release\":\"00000000000000000000000000000000\"}",
    "{\"release\":\"3f2a9c1d00112233445566778899aabb\",\"device\":\"a:b.c_d-E\",\"note\":1}",
    ("{\"release\":\"3f2a9c1d00112233445566778899aabb\","
     "\"device\":\"012345678901234567890123456789012345678901234567\"}"),
    "{\"release\":\"3f2a9c1d00112233445566778899aabb\",\"device\":\"x\",\"product\":\"y\"}",
    "\t{ \"release\" : \"ffffffffffffffffffffffffffffffff\" , \"product\" : \"\\u0041\" }\n",
};

static void make_seeds(const char *dir)
{
    for (size_t i = 0; i < sizeof doc_bodies / sizeof doc_bodies[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "doc-%02zu", i);
        rig_write_seed(dir, name, doc_bodies[i], strlen(doc_bodies[i]));
    }
}

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

static bool is_product(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e) {
            return false;
        }
    }
    return n >= 1 && n <= 32;
}

static void check_fields(const fotad_assignment_rec_t *a)
{
    rig_require(all_of(a->release, "0123456789abcdef", 32, 32), "the release is a release id");
    if (a->kind == FOTAD_TARGET_DEVICE) {
        rig_require(all_of(a->target,
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:", 1, 48),
                "a device assignment names a device id");
    } else {
        rig_require(a->kind == FOTAD_TARGET_PRODUCT && is_product(a->target),
                "a product assignment names a product");
    }
    rig_require(a->updated == 0, "the time is the caller's");
}

static void check_round_trip(const fotad_assignment_rec_t *a)
{
    cJSON *json = fotad_json_assignment(a);
    rig_require(json != NULL, "an assignment can be shown");
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    rig_require(text != NULL, "an assignment can be printed");
    fotad_assignment_rec_t again;
    const char *why = fotad_assignment_parse((const uint8_t *)text, strlen(text), &again);
    if (why != NULL) {
        fprintf(stderr, "fuzz_assignment: %s: %s\n", text, why);
    }
    free(text);
    rig_require(why == NULL, "an assignment as fotad shows it parses again");
    /* Field by field: the bytes after a string's NUL are not part of the record. */
    rig_require(again.kind == a->kind && strcmp(again.target, a->target) == 0 &&
                strcmp(again.release, a->release) == 0,
            "the same assignment after showing it");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fotad_assignment_rec_t a;
    const char *why = fotad_assignment_parse(data, size, &a);
    if (why != NULL) {
        rig_require(why[0] != '\0', "a refusal says why");
        return 0;
    }
    check_fields(&a);
    check_round_trip(&a);
    return 0;
}
