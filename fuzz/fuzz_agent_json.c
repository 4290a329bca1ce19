/*
 * fuzz_agent_json.c - libFuzzer target: the agent's JSON scanner (agent/src/json.c:
 * fota_json_scan and the value reads fota_json_u32, fota_json_text, fota_json_str), under the
 * offer and the seed chunk, with the keys those two read.
 *
 * Input: the document, as the agent's buffer holds it (not NUL-terminated: the copy the target
 * scans has exactly the input's size).
 *
 * Properties (abort on violation), checked against cJSON (the server's JSON library):
 *   - a document the scanner accepts is one JSON object for cJSON too, with nothing after it but
 *     white space, and none of its values is an object or an array;
 *   - each value located lies inside the document, starts with the byte its kind says, and on
 *     its own parses as a value of that type for cJSON; a key asked for that cJSON finds
 *     (escapes decoded) is located, and one the scanner locates is one cJSON finds;
 *   - a u32 read says yes exactly for a number of 1 to 10 digits up to 4294967295, with its value;
 *     a string read copies exactly the bytes between the quotes when it says yes.
 *
 * --make-seed DIR writes an offer, a seed chunk and a few valid and invalid variants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../agent/src/agent_internal.h"
#include "rig.h"

static const char *const keys[] = {"release",     "version", "size",          "chunk_size",
                                   "chunk_count", "sha256",  "manifest_data", "chunk_number",
                                   "mac",         "data"};
#define NKEYS (sizeof keys / sizeof keys[0])

static void make_seeds(const char *dir)
{
    static const char *const seeds[] = {
        "{\"release\":\"3f2a9c1d00112233445566778899aabb\",\"version\":\"2.0.1\",\"size\":1068032,"
        "\"chunk_size\":1024,\"chunk_count\":1043,\"sha256\":\"" /* 64 hex */
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
        "\"security_version\":1,\"manifest\":\"/api/inverter/fota/manifest?release=3f2a\","
        "\"blob\":\"/api/inverter/fota/blob/3f2a\",\"manifest_data\":\"Rk9UTQ==\"}",
        "{\"chunk_number\":7,\"data\":\"AAECAw==\",\"mac\":\"00ff\"}",
        " {\"m\\u0061c\" : true , \"x\":null,\"y\":-1.5e+3,\"z\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}\n",
        "{\"size\":01,\"data\":[1,2],\"v\":{\"a\":1}}",
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char name[16];
        snprintf(name, sizeof name, "seed-%zu", i);
        rig_write_seed(dir, name, seeds[i], strlen(seeds[i]));
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

/* The kind the scanner gives matches cJSON's type for the value alone. */
static bool same_type(char kind, const cJSON *v)
{
    switch (kind) {
    case '"':
        return cJSON_IsString(v);
    case 't':
        return cJSON_IsTrue(v);
    case 'f':
        return cJSON_IsFalse(v);
    case 'n':
        return cJSON_IsNull(v);
    default:
        return (kind == '-' || (kind >= '0' && kind <= '9')) && cJSON_IsNumber(v);
    }
}

static void check_u32(const char *js, const fota_json_field_t *f)
{
    uint32_t v = 0;
    bool ok = fota_json_u32(js, f, &v);
    bool digits = f->kind != 0 && f->len >= 1 && f->len <= 10;
    unsigned long long want = 0;
    for (size_t i = 0; digits && i < f->len; i++) {
        char ch = js[f->at + i];
        digits = ch >= '0' && ch <= '9';
        want = want * 10u + (unsigned long long)(ch - '0');
    }
    bool expect = digits && want <= UINT32_MAX;
    rig_require(ok == expect, "u32 reads exactly 1..10 digits up to UINT32_MAX");
    rig_require(!ok || v == want, "u32 reads the number's value");
}

static void check_str(const char *js, const fota_json_field_t *f)
{
    char out[80];
    bool ok = fota_json_str(js, f, out, sizeof out);
    const char *text;
    size_t len;
    bool is_str = fota_json_text(js, f, &text, &len);
    rig_require(is_str == (f->kind == '"'), "text reads strings only");
    bool expect = is_str && len < sizeof out && memchr(text, '\\', len) == NULL;
    rig_require(ok == expect, "str reads a string without escapes that fits");
    rig_require(!ok || (strlen(out) == len && memcmp(out, text, len) == 0), "str copies it whole");
}

static void check_field(const char *js, size_t size, const cJSON *obj, size_t k,
                        const fota_json_field_t *f)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, keys[k]);
    rig_require((f->kind != 0) == (item != NULL), "a key asked for is located iff cJSON finds it");
    check_u32(js, f);
    check_str(js, f);
    if (f->kind == 0) {
        return;
    }
    rig_require(f->at < size && f->len <= size - f->at && f->len > 0, "value inside the document");
    rig_require(js[f->at] == f->kind, "kind is the value's first byte");
    cJSON *alone = cJSON_ParseWithLength(js + f->at, f->len);
    rig_require(alone != NULL && same_type(f->kind, alone), "the value alone has its kind's type");
    cJSON_Delete(alone);
}

/* cJSON refuses a \uD800-\uDFFF escape that is not half of a valid pair; JSON's grammar (and
 * the scanner) allows it. Such documents are not compared. */
static bool lone_surrogate(const char *js)
{
    for (const char *p = strstr(js, "\\u"); p != NULL; p = strstr(p + 1, "\\u")) {
        if (p[2] == 'd' || p[2] == 'D') {
            return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *js = malloc(size + 1); /* +1: cJSON's copy below needs a NUL, the scan does not */
    rig_require(js != NULL, "malloc");
    memcpy(js, data, size);
    fota_json_field_t f[NKEYS];
    fota_err_t err = fota_json_scan(js, size, keys, f, NKEYS);
    rig_require(err == FOTA_OK || err == FOTA_ERR_ARG, "the scan says OK or ARG");
    js[size] = '\0';
    if (err == FOTA_OK && !lone_surrogate(js)) {
        const char *end = NULL;
        cJSON *obj = cJSON_ParseWithOpts(js, &end, 1);
        rig_require(obj != NULL && cJSON_IsObject(obj), "an accepted document is an object");
        for (const cJSON *v = obj->child; v != NULL; v = v->next) {
            rig_require(!cJSON_IsObject(v) && !cJSON_IsArray(v), "an accepted object is flat");
        }
        /* A key whose escapes decode to a NUL reads differently in cJSON (it stops there). */
        if (strstr(js, "\\u0000") == NULL) {
            for (size_t k = 0; k < NKEYS; k++) {
                check_field(js, size, obj, k, &f[k]);
            }
        }
        cJSON_Delete(obj);
    }
    free(js);
    return 0;
}
