/*
 * fuzz_json_codec.c - libFuzzer target: fotad's JSON request reading (server/json_codec.c:
 * fotad_json_parse_object, fotad_json_string, fotad_json_u32, fotad_json_i32) over cJSON, the
 * layer under every JSON body fotad takes (device reports, admin assignments, and bodies added
 * later), with any field names and values, not only the ones today's bodies use.
 *
 * Input: byte 0 the buffer size given to fotad_json_string (1..256), then the body.
 *
 * Properties (abort on violation):
 *   - parse_object accepts exactly one JSON object with nothing but white space after it, and
 *     says why when it refuses;
 *   - for every member of an accepted object, the field reads agree with the value's type:
 *     a string is read only if it fits the buffer, whole; a number is read as u32 or i32 only
 *     if it is an integer in range, and both agree where the ranges overlap; other types and
 *     absent names are refused with FOTA_ERR_ARG / FOTA_ERR_NOT_FOUND;
 *   - the object printed by cJSON and parsed again reads the same through every field read.
 *
 * --make-seed DIR writes the JSON examples of docs/PROTOCOL.md and docs/ADMIN_API.md (requests
 * and the objects fotad answers with, as shapes to mutate) and the offer fotad would send.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_codec.h"
#include "rig.h"

#define CAP_MAX 256u

/* ---- seeds ----------------------------------------------------------------------------------- */

static const char *const doc_json[] = {
    "{\"release\":\"3f2a9c1d00112233445566778899aabb\",\"device\":\"inv-000123\"}",
    "{\"state\":\"downloading\",\"done\":512,\"total\":1043,\"error\":-12}",
    ("{\"id\":\"3f2a9c1d00112233445566778899aabb\",\"product\":\"inv-5k\",\"version\":\"2.0.1\","
     "\"security_version\":1,\"image_size\":1068032,\"chunk_size\":1024,\"chunk_count\":1043,"
     "\"blob_size\":1101408,\"created\":1795000000,\"uploaded\":1795000100}"),
    "{\"chunk_number\":7,\"data\":\"AAEC\",\"mac\":\"00ff\"}",
    "{\"a\":4294967295,\"b\":4294967296,\"c\":-2147483648,\"d\":-2147483649,\"e\":1.5,\"f\":1e3}",
    "{\"s\":\"\\u00e9\\ud83d\\ude00\\n\\\"\",\"t\":true,\"n\":null,\"o\":{},\"l\":[]}",
    "{\"dup\":1,\"dup\":\"two\"} \r\n\t",
};

static void write_seed(const char *dir, const char *name, uint8_t cap, const char *json)
{
    static uint8_t buf[4096];
    size_t len = strlen(json);
    buf[0] = cap;
    memcpy(buf + 1, json, len);
    rig_write_seed(dir, name, buf, len + 1);
}

static void make_seeds(const char *dir)
{
    for (size_t i = 0; i < sizeof doc_json / sizeof doc_json[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "doc-%02zu", i);
        write_seed(dir, name, (uint8_t)(i * 37), doc_json[i]);
    }
    /* The offer fotad sends for a release (fotad_json_offer), as a shape to mutate. */
    fotad_release_rec_t rec;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.id, sizeof rec.id, "3f2a9c1d00112233445566778899aabb");
    snprintf(rec.product, sizeof rec.product, "%s", RIG_PRODUCT);
    snprintf(rec.version, sizeof rec.version, "%s", RIG_NEW_VERSION);
    rec.image_size = RIG_NEW_SIZE;
    rec.chunk_size = 1024;
    rec.chunk_count = RIG_NEW_SIZE / 1024;
    memset(rec.image_sha256, 'a', FOTAD_SHA256_HEX);
    cJSON *offer = fotad_json_offer(&rec, "/api/inverter/fota/");
    char *text = offer != NULL ? cJSON_PrintUnformatted(offer) : NULL;
    rig_require(text != NULL, "the offer seed");
    write_seed(dir, "offer", 65, text);
    free(text);
    cJSON_Delete(offer);
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

/* What the three reads say about one name. */
typedef struct {
    fota_err_t s, u, i;
    char str[CAP_MAX];
    uint32_t u32;
    int32_t i32;
} reads_t;

static void read_all(const cJSON *obj, const char *name, size_t cap, reads_t *r)
{
    memset(r, 0, sizeof *r);
    r->s = fotad_json_string(obj, name, r->str, cap);
    r->u = fotad_json_u32(obj, name, &r->u32);
    r->i = fotad_json_i32(obj, name, &r->i32);
}

static bool is_int_in(double d, double lo, double hi)
{
    return !isnan(d) && d == floor(d) && d >= lo && d <= hi;
}

/* The reads of the first member called `name` agree with its value. */
static void check_member(const cJSON *obj, const cJSON *v, size_t cap, reads_t *r)
{
    read_all(obj, v->string, cap, r);
    if (cJSON_GetObjectItemCaseSensitive(obj, v->string) != v) {
        return; /* a duplicate name: the reads see the first one */
    }
    if (cJSON_IsString(v)) {
        bool fits = strlen(v->valuestring) < cap;
        rig_require(r->s == (fits ? FOTA_OK : FOTA_ERR_ARG), "a string is read when it fits");
        rig_require(!fits || strcmp(r->str, v->valuestring) == 0, "a string is read whole");
    } else {
        rig_require(r->s == FOTA_ERR_ARG, "only strings are read as strings");
    }
    bool num = cJSON_IsNumber(v);
    bool u_ok = num && is_int_in(v->valuedouble, 0, 4294967295.0);
    bool i_ok = num && is_int_in(v->valuedouble, -2147483648.0, 2147483647.0);
    rig_require(r->u == (u_ok ? FOTA_OK : FOTA_ERR_ARG), "u32: integers in range only");
    rig_require(r->i == (i_ok ? FOTA_OK : FOTA_ERR_ARG), "i32: integers in range only");
    rig_require(!u_ok || (double)r->u32 == v->valuedouble, "u32: the number itself");
    rig_require(!i_ok || (double)r->i32 == v->valuedouble, "i32: the number itself");
    rig_require(!(u_ok && i_ok) || (int64_t)r->u32 == (int64_t)r->i32, "u32 and i32 agree");
}

static bool same_reads(const reads_t *a, const reads_t *b)
{
    return a->s == b->s && a->u == b->u && a->i == b->i &&
           (a->s != FOTA_OK || strcmp(a->str, b->str) == 0) &&
           (a->u != FOTA_OK || a->u32 == b->u32) && (a->i != FOTA_OK || a->i32 == b->i32);
}

static void check_object(cJSON *obj, size_t cap)
{
    reads_t r;
    static const char absent[] = "no such field \x7f";
    if (cJSON_GetObjectItemCaseSensitive(obj, absent) == NULL) {
        read_all(obj, absent, cap, &r);
        rig_require(r.s == FOTA_ERR_NOT_FOUND && r.u == FOTA_ERR_NOT_FOUND && r.i == FOTA_ERR_NOT_FOUND,
                "an absent field is FOTA_ERR_NOT_FOUND");
    }
    char *text = cJSON_PrintUnformatted(obj);
    rig_require(text != NULL, "an accepted object prints");
    const char *why = NULL;
    cJSON *again = fotad_json_parse_object((const uint8_t *)text, strlen(text), &why);
    free(text);
    rig_require(again != NULL, "an accepted object, printed, parses again");
    for (const cJSON *v = obj->child; v != NULL; v = v->next) {
        rig_require(v->string != NULL, "members have names");
        reads_t second;
        check_member(obj, v, cap, &r);
        read_all(again, v->string, cap, &second);
        rig_require(same_reads(&r, &second), "the same reads after printing and parsing again");
    }
    cJSON_Delete(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t cap = 1u + data[0] % CAP_MAX;
    const char *why = NULL;
    cJSON *obj = fotad_json_parse_object(data + 1, size - 1, &why);
    if (obj == NULL) {
        rig_require(why != NULL && why[0] != '\0', "a refusal says why");
        return 0;
    }
    rig_require(cJSON_IsObject(obj), "what is accepted is an object");
    check_object(obj, cap);
    cJSON_Delete(obj);
    return 0;
}
