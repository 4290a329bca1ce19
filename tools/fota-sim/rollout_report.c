/*
 * rollout_report.c - the per-stage outcome of a staged rollout (docs/ROLLOUTS.md), with
 * --rollout-token FILE: when the fleet has run, fota-sim asks fotad's admin API for the newest
 * rollout of its product (GET /api/admin/rollouts, then /api/admin/rollouts/ID) and prints, per
 * stage, how many devices it held and how they ended as fotad counts them; the JSON summary gets
 * the rollout object under "rollout". fotad's member rows are the truth about stages: a
 * device's stage depends on the devices fotad knew when the rollout started.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "fota/host/file_util.h"

#include "sim.h"

#define ANSWER_MAX (1024u * 1024u)

typedef struct {
    char *buf;
    size_t len;
} answer_t;

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
    answer_t *a = ctx;
    size_t len = size * n;
    if (a->len + len > ANSWER_MAX) {
        return 0;
    }
    char *p = realloc(a->buf, a->len + len + 1);
    if (p == NULL) {
        return 0;
    }
    memcpy(p + a->len, data, len);
    a->buf = p;
    a->len += len;
    a->buf[a->len] = '\0';
    return len;
}

/* GET base/path with the bearer token: the parsed answer, or NULL. */
static cJSON *admin_get(const char *base, const char *ca_file, const char *token, const char *path)
{
    char url[512], auth[600];
    snprintf(url, sizeof url, "%s%s", base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    answer_t a = {NULL, 0};
    long status = 0;
    if (c != NULL && h != NULL) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        fota_curl_verify_with(c, ca_file);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
            status = 0;
        }
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    cJSON *js = status == 200 && a.buf != NULL ? cJSON_Parse(a.buf) : NULL;
    free(a.buf);
    return js;
}

/* The id of the newest rollout of `product` in a rollout list, or -1. */
static double newest_of(const cJSON *list, const char *product)
{
    const cJSON *r = NULL;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(list, "rollouts"))
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(r, "product");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
        if (cJSON_IsString(p) && strcmp(p->valuestring, product) == 0 && cJSON_IsNumber(id)) {
            return id->valuedouble; /* the list is newest first */
        }
    }
    return -1;
}

static int count_of(const cJSON *counts, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(counts, name);
    return cJSON_IsNumber(v) ? (int)v->valuedouble : 0;
}

static void print_rollout(const cJSON *r)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(r, "state");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(r, "paused_reason");
    printf("rollout %d: %s%s%s\n", cJSON_IsNumber(id) ? (int)id->valuedouble : 0,
           cJSON_IsString(state) ? state->valuestring : "?",
           cJSON_IsString(why) && why->valuestring[0] != '\0' ? ", " : "",
           cJSON_IsString(why) ? why->valuestring : "");
    printf("  %-6s %8s %10s %9s %7s %8s\n", "stage", "members", "succeeded", "failed", "active",
           "pending");
    const cJSON *st = NULL;
    cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(r, "stages"))
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(st, "counts");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(st, "number");
        int ok = count_of(c, "succeeded"), failed = count_of(c, "failed");
        int pending = count_of(c, "pending"), total = count_of(c, "total");
        printf("  %-6d %8d %10d %9d %7d %8d\n", cJSON_IsNumber(n) ? (int)n->valuedouble : 0, total,
               ok, failed, total - ok - failed - pending, pending);
    }
}

void sim_rollout_report(sim_t *s)
{
    if (s->cfg.rollout_token_path == NULL) {
        return;
    }
    uint8_t *tok = NULL;
    size_t tok_len = 0;
    if (fota_file_read_all(s->cfg.rollout_token_path, 4096, &tok, &tok_len) != FOTA_OK) {
        fprintf(stderr, "%s: %s: cannot read the admin token\n", SIM_PROG,
                s->cfg.rollout_token_path);
        return;
    }
    tok[strcspn((char *)tok, "\r\n")] = '\0';
    cJSON *list = admin_get(s->base_url, s->cfg.ca_file, (const char *)tok, "/api/admin/rollouts");
    double id = list != NULL ? newest_of(list, s->cfg.product) : -1;
    cJSON *r = NULL;
    if (id >= 0) {
        char path[64];
        snprintf(path, sizeof path, "/api/admin/rollouts/%.0f", id);
        r = admin_get(s->base_url, s->cfg.ca_file, (const char *)tok, path);
    }
    free(tok);
    cJSON_Delete(list);
    if (r == NULL) {
        printf("rollout: none found for product %s\n", s->cfg.product);
        return;
    }
    print_rollout(r);
    s->rollout_json = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
}
