/*
 * rollout.c - fotactl's rollout commands (docs/ROLLOUTS.md, docs/ADMIN_API.md "Rollouts"):
 *
 *   rollout create RELEASE ...   POST /api/admin/rollouts (--dry-run: stage sizes only)
 *   rollout list | show ID       GET /api/admin/rollouts[/ID] (show --watch: live)
 *   rollout history ID           GET /api/admin/rollouts/ID/history
 *   rollout start|pause|resume|cancel|install|update ID
 *                                POST /api/admin/rollouts/ID/{verb}
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fotactl.h"

/* ---- create / update: options to a JSON body ------------------------------------------------ */

typedef struct {
    const char *product, *name, *stages, *success, *soak, *stage_failures, *stage_percent,
        *failures, *percent, *min_finished, *action, *timeout, *rate, *rate_after, *rate_then,
        *window, *window_duration, *window_tz, *on_failure, *rollback_release, *at;
    const char *tags, *devices; /* comma-separated */
    bool manual, dry_run, start, no_finish_running;
} rollout_opts_t;

/* A number option into obj (absent: nothing). False, with a usage error, when malformed. */
static bool add_number(cJSON *obj, const char *key, const char *text, const char *opt,
                       const fota_cli_cmd_t *cmd, int *rc)
{
    uint32_t v = 0;
    if (text == NULL) {
        return true;
    }
    if (fota_cli_parse_u32(text, UINT32_MAX, &v) != FOTA_OK) {
        *rc = fota_cli_usage_error(FOTACTL_ROLLOUT, cmd, "%s: '%s' is not a number", opt, text);
        return false;
    }
    return cJSON_AddNumberToObject(obj, key, v) != NULL;
}

/* The thresholds of a stage or of the whole rollout. */
static bool add_thresholds(cJSON *obj, const char *count, const char *percent, const char *min,
                           const fota_cli_cmd_t *cmd, int *rc)
{
    return add_number(obj, "max_failures", count, "--max-failures", cmd, rc) &&
           add_number(obj, "max_failure_percent", percent, "--max-failure-percent", cmd, rc) &&
           add_number(obj, "min_finished", min, "--min-finished", cmd, rc);
}

/* "10,5%,25%,100%": a stage of 10 devices, then percentages of the fleet. */
static bool add_stages(cJSON *body, const rollout_opts_t *o, const fota_cli_cmd_t *cmd, int *rc)
{
    cJSON *stages = cJSON_AddArrayToObject(body, "stages");
    char list[256];
    if (stages == NULL || strlen(o->stages) >= sizeof list) {
        *rc = fota_cli_usage_error(FOTACTL_ROLLOUT, cmd, "--stages: too long");
        return false;
    }
    strcpy(list, o->stages);
    for (char *save = NULL, *s = strtok_r(list, ",", &save); s != NULL;
         s = strtok_r(NULL, ",", &save)) {
        size_t n = strlen(s);
        bool pct = n > 1 && s[n - 1] == '%';
        if (pct) {
            s[n - 1] = '\0';
        }
        uint32_t v = 0;
        cJSON *st = cJSON_CreateObject();
        if (fota_cli_parse_u32(s, pct ? 100u : 1000000u, &v) != FOTA_OK || v == 0 || st == NULL ||
            !cJSON_AddItemToArray(stages, st)) {
            cJSON_Delete(st);
            *rc = fota_cli_usage_error(FOTACTL_ROLLOUT, cmd,
                                       "--stages: '%s%s' is not a device count or a percentage", s,
                                       pct ? "%" : "");
            return false;
        }
        if (cJSON_AddNumberToObject(st, pct ? "percent" : "devices", v) == NULL ||
            !add_number(st, "success_percent", o->success, "--success-percent", cmd, rc) ||
            !add_number(st, "soak_s", o->soak, "--soak", cmd, rc) ||
            cJSON_AddStringToObject(st, "advance", o->manual ? "manual" : "auto") == NULL ||
            !add_thresholds(st, o->stage_failures, o->stage_percent, o->min_finished, cmd, rc)) {
            return false;
        }
    }
    return true;
}

/* "a,b,c" as a JSON array of strings under key (absent: nothing). */
static bool add_list(cJSON *body, const char *key, const char *list)
{
    if (list == NULL) {
        return true;
    }
    cJSON *a = cJSON_AddArrayToObject(body, key);
    for (const char *p = list; a != NULL && *p != '\0';) {
        size_t n = strcspn(p, ",");
        char item[128];
        if (n == 0 || n >= sizeof item) {
            return false;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        if (!cJSON_AddItemToArray(a, cJSON_CreateString(item))) {
            return false;
        }
        p += n + (p[n] == ',' ? 1 : 0);
    }
    return a != NULL;
}

static bool add_text(cJSON *obj, const char *key, const char *v)
{
    return v == NULL || cJSON_AddStringToObject(obj, key, v) != NULL;
}

/* The settings that create and update share: failure, pacing and window. */
static bool add_settings(cJSON *body, const rollout_opts_t *o, const fota_cli_cmd_t *cmd, int *rc)
{
    bool ok = add_thresholds(body, o->failures, o->percent, o->min_finished, cmd, rc) &&
              add_number(body, "timeout_s", o->timeout, "--timeout", cmd, rc) &&
              add_text(body, "on_failure", o->on_failure) &&
              add_text(body, "rollback_release", o->rollback_release);
    if (ok && (o->rate != NULL || o->rate_after != NULL || o->rate_then != NULL)) {
        cJSON *rate = cJSON_AddObjectToObject(body, "rate");
        ok = rate != NULL && add_number(rate, "per_minute", o->rate, "--rate", cmd, rc) &&
             add_number(rate, "after_successes", o->rate_after, "--rate-after", cmd, rc) &&
             add_number(rate, "then_per_minute", o->rate_then, "--rate-then", cmd, rc);
    }
    if (ok && o->window != NULL) {
        cJSON *w = cJSON_AddObjectToObject(body, "window");
        ok = w != NULL && add_text(w, "cron", o->window) &&
             add_number(w, "duration_s", o->window_duration, "--window-duration", cmd, rc) &&
             add_text(w, "tz", o->window_tz != NULL ? o->window_tz : "+00:00") &&
             cJSON_AddBoolToObject(w, "finish_running", !o->no_finish_running) != NULL;
    }
    return ok;
}

static char *create_body(const char *release, const rollout_opts_t *o, const fota_cli_cmd_t *cmd,
                         int *rc)
{
    cJSON *body = cJSON_CreateObject();
    bool ok = body != NULL && cJSON_AddStringToObject(body, "release", release) != NULL &&
              add_text(body, "product", o->product) && add_text(body, "name", o->name) &&
              add_text(body, "action", o->action) && add_list(body, "tags", o->tags) &&
              add_list(body, "devices", o->devices) && add_stages(body, o, cmd, rc) &&
              add_settings(body, o, cmd, rc) &&
              (!o->dry_run || cJSON_AddTrueToObject(body, "dry_run") != NULL);
    char *text = ok ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (text == NULL && *rc == 0) {
        *rc = fota_cli_fail(FOTACTL, "rollout", FOTA_ERR_NO_MEM, NULL);
    }
    return text;
}

/* ---- printing ----------------------------------------------------------------------------- */

static const fotactl_col_t rollout_cols[] = {
    {"ID", "id", FOTACTL_NUMBER},         {"NAME", "name", FOTACTL_TEXT},
    {"PRODUCT", "product", FOTACTL_TEXT}, {"RELEASE", "release", FOTACTL_TEXT},
    {"STATE", "state", FOTACTL_TEXT},     {"STAGE", "current_stage", FOTACTL_NUMBER},
    {"ACTION", "action", FOTACTL_TEXT},   {"CREATED (UTC)", "created", FOTACTL_TIME},
};

static const fotactl_col_t rollout_fields[] = {
    {"id", "id", FOTACTL_NUMBER},           {"name", "name", FOTACTL_TEXT},
    {"product", "product", FOTACTL_TEXT},   {"release", "release", FOTACTL_TEXT},
    {"state", "state", FOTACTL_TEXT},       {"paused_reason", "paused_reason", FOTACTL_TEXT},
    {"action", "action", FOTACTL_TEXT},     {"current_stage", "current_stage", FOTACTL_NUMBER},
    {"created", "created", FOTACTL_TIME},   {"started", "started", FOTACTL_TIME},
    {"finished", "finished", FOTACTL_TIME},
};

static const fotactl_col_t event_cols[] = {
    {"TIME (UTC)", "time", FOTACTL_TIME},
    {"EVENT", "kind", FOTACTL_TEXT},
    {"WHAT", "text", FOTACTL_TEXT},
};

/* A bar of width cells for part/whole. */
static void bar(char *out, size_t width, uint32_t part, uint32_t whole)
{
    size_t fill = whole == 0 ? 0 : (size_t)((uint64_t)part * width / whole);
    for (size_t i = 0; i < width; i++) {
        out[i] = i < fill ? '#' : '.';
    }
    out[width] = '\0';
}

static uint32_t count_of(const cJSON *counts, const char *status)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(counts, status);
    return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint32_t)v->valuedouble : 0u;
}

/* One line per stage: its size, a bar of the members done, the counts per status, and the
 * failure rate against the stage's threshold. */
static void print_stages(const cJSON *js)
{
    static const char *const statuses[] = {"pending",   "started",   "downloading", "downloaded",
                                           "installed", "succeeded", "failed"};
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(js, "stages");
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(js, "current_stage");
    int current = cJSON_IsNumber(cur) ? (int)cur->valuedouble : 0; /* stages count from 1 */
    printf("\n%-3s %-9s %-22s %7s %7s %7s %7s %7s  %s\n", "", "STAGE", "PROGRESS", "MEMBERS",
           "ACTIVE", "DONE", "OK", "FAILED", "FAILURE RATE");
    int i = 0;
    const cJSON *st = NULL;
    cJSON_ArrayForEach(st, stages)
    {
        const cJSON *counts = cJSON_GetObjectItemCaseSensitive(st, "counts");
        uint32_t n[7], members = 0;
        for (size_t k = 0; k < 7; k++) {
            n[k] = count_of(counts, statuses[k]);
            members += n[k];
        }
        uint32_t ok = n[5], failed = n[6], done = ok + failed;
        uint32_t active = members - n[0] - done;
        const cJSON *pct = cJSON_GetObjectItemCaseSensitive(st, "percent");
        const cJSON *dev = cJSON_GetObjectItemCaseSensitive(st, "devices");
        char size[16];
        if (cJSON_IsNumber(pct)) {
            snprintf(size, sizeof size, "%u%%", (unsigned)pct->valuedouble);
        } else {
            snprintf(size, sizeof size, "%u dev",
                     cJSON_IsNumber(dev) ? (unsigned)dev->valuedouble : 0u);
        }
        char b[21];
        bar(b, 20, done, members);
        char rate[48] = "-";
        const cJSON *limit = cJSON_GetObjectItemCaseSensitive(st, "max_failure_percent");
        if (done > 0) {
            int used = snprintf(rate, sizeof rate, "%.1f %%", 100.0 * failed / done);
            if (cJSON_IsNumber(limit) && limit->valuedouble > 0) {
                snprintf(rate + used, sizeof rate - (size_t)used, " of %u %%",
                         (unsigned)limit->valuedouble);
            }
        }
        printf("%-3s %-9s [%s] %7u %7u %7u %7u %7u  %s\n", i + 1 == current ? ">" : "", size, b,
               members, active, done, ok, failed, rate);
        i++;
    }
}

static int show_rollout(const fotactl_conn_t *c, const char *id, bool clear)
{
    char path[96];
    snprintf(path, sizeof path, "/api/admin/rollouts/%s", id);
    fotactl_req_t r = {"GET", path, NULL, NULL, 0, false, id};
    long status;
    cJSON *js = NULL;
    int rc = fotactl_request(c, &r, &status, &js);
    if (rc == 0 && c->json) {
        fotactl_print_json(js);
    } else if (rc == 0) {
        if (clear) {
            printf("\033[H\033[2J");
        }
        fotactl_fields(js, rollout_fields, FOTACTL_N(rollout_fields));
        print_stages(js);
        fflush(stdout);
    }
    cJSON_Delete(js);
    return rc;
}

/* A rollout id: decimal digits (it goes into the URL). */
static bool rollout_id_ok(const char *s)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && n < 19 && s[n] == '\0';
}

/* A command on one rollout: its options (the server ones plus extra) and its ID. True: go on
 * with *id, the caller frees c; false: over, *rc is the exit code. */
static bool parse_id(const fota_cli_cmd_t *cmd, int argc, char **argv, const fota_cli_opt_t *extra,
                     const char **id, fotactl_conn_t *c, int *rc)
{
    const char *pos[1]; /* point into argv, which outlives the command */
    fota_cli_spec_t spec = {NULL, pos, "ID", 1, 1, 0};
    if (!fotactl_parse_remote(FOTACTL_ROLLOUT, cmd, &spec, extra, argc, argv, c, rc)) {
        return false;
    }
    if (!rollout_id_ok(pos[0])) {
        fotactl_conn_free(c);
        *rc = fota_cli_usage_error(FOTACTL_ROLLOUT, cmd, "ID: a rollout's number");
        return false;
    }
    *id = pos[0];
    return true;
}

static bool is_final(const fotactl_conn_t *c, const char *id)
{
    char path[96];
    snprintf(path, sizeof path, "/api/admin/rollouts/%s", id);
    fotactl_req_t r = {"GET", path, NULL, NULL, 0, false, id};
    long status;
    cJSON *js = NULL;
    bool final = true;
    if (fotactl_request(c, &r, &status, &js) == 0) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(js, "state");
        final = cJSON_IsString(st) && (strcmp(st->valuestring, "finished") == 0 ||
                                       strcmp(st->valuestring, "cancelled") == 0);
    }
    cJSON_Delete(js);
    return final;
}

int fotactl_rollout_show(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    bool watch = false;
    const char *every = NULL;
    const fota_cli_opt_t extra[] = {
        {"watch", 0, NULL, &watch}, {"interval", 0, &every, NULL}, {NULL, 0, NULL, NULL}};
    const char *pos[1];
    fota_cli_spec_t spec = {NULL, pos, "ID", 1, 1, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL_ROLLOUT, cmd, &spec, extra, argc, argv, &c, &rc)) {
        return rc;
    }
    uint32_t interval = 2;
    if (!rollout_id_ok(pos[0]) ||
        (every != NULL &&
         (fota_cli_parse_u32(every, 3600, &interval) != FOTA_OK || interval == 0))) {
        fotactl_conn_free(&c);
        return fota_cli_usage_error(FOTACTL_ROLLOUT, cmd, "%s",
                                    rollout_id_ok(pos[0]) ? "--interval: seconds, 1 to 3600"
                                                          : "ID: a rollout's number");
    }
    rc = show_rollout(&c, pos[0], watch && isatty(STDOUT_FILENO));
    while (rc == 0 && watch && !is_final(&c, pos[0])) {
        sleep(interval);
        rc = show_rollout(&c, pos[0], isatty(STDOUT_FILENO));
    }
    fotactl_conn_free(&c);
    return rc;
}

int fotactl_rollout_list(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    static const fotactl_view_t v = {.cols = rollout_cols,
                                     .n_cols = FOTACTL_N(rollout_cols),
                                     .member = "rollouts",
                                     .empty = "no rollouts",
                                     .what = "rollout list"};
    return fotactl_list_cmd(FOTACTL_ROLLOUT, cmd, argc, argv, "/api/admin/rollouts", &v);
}

int fotactl_rollout_history(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *id;
    fotactl_conn_t c;
    int rc;
    if (!parse_id(cmd, argc, argv, NULL, &id, &c, &rc)) {
        return rc;
    }
    char path[96];
    snprintf(path, sizeof path, "/api/admin/rollouts/%s/history", id);
    static const fotactl_view_t v = {.cols = event_cols,
                                     .n_cols = FOTACTL_N(event_cols),
                                     .member = "events",
                                     .empty = "no events"};
    rc = fotactl_get_and_print(&c, path, id, &v);
    fotactl_conn_free(&c);
    return rc;
}

/* The options create and update take (update: no release, stages, target or action). */
#define SETTING_OPTS(o)                                                                            \
    {"max-failures", 0, &(o).failures, NULL}, {"max-failure-percent", 0, &(o).percent, NULL},      \
        {"min-finished", 0, &(o).min_finished, NULL}, {"timeout", 0, &(o).timeout, NULL},          \
        {"rate", 0, &(o).rate, NULL}, {"rate-after", 0, &(o).rate_after, NULL},                    \
        {"rate-then", 0, &(o).rate_then, NULL}, {"window", 0, &(o).window, NULL},                  \
        {"window-duration", 0, &(o).window_duration, NULL},                                        \
        {"window-tz", 0, &(o).window_tz, NULL},                                                    \
        {"window-no-finish", 0, NULL, &(o).no_finish_running},                                     \
        {"on-failure", 0, &(o).on_failure, NULL},                                                  \
    {                                                                                              \
        "rollback-release", 0, &(o).rollback_release, NULL                                         \
    }

static cJSON *start_body(const rollout_opts_t *o, const fota_cli_cmd_t *cmd, int *rc)
{
    cJSON *b = cJSON_CreateObject();
    if (b != NULL && !add_number(b, "start_at", o->at, "--at", cmd, rc)) {
        cJSON_Delete(b);
        return NULL;
    }
    return b;
}

/* The created rollout, or the dry run's stage sizes; then start it if asked. */
static int after_create(const fotactl_conn_t *c, const rollout_opts_t *o, cJSON *js)
{
    const cJSON *sizes = cJSON_GetObjectItemCaseSensitive(js, "stage_sizes");
    if (o->dry_run) {
        printf("dry run: nothing stored; devices known now per stage:");
        const cJSON *n = NULL;
        cJSON_ArrayForEach(n, sizes)
        {
            printf(" %u", cJSON_IsNumber(n) ? (unsigned)n->valuedouble : 0u);
        }
        printf("\n");
        return 0;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(js, "id");
    if (!cJSON_IsNumber(id)) {
        return fota_cli_fail(FOTACTL, "rollout create", FOTA_ERR_STATE, "no id in the answer");
    }
    printf("rollout %lld created\n", (long long)id->valuedouble);
    if (!o->start) {
        return 0;
    }
    char path[96];
    snprintf(path, sizeof path, "/api/admin/rollouts/%lld/start", (long long)id->valuedouble);
    int rc = 0;
    cJSON *body = start_body(o, NULL, &rc);
    char *text = body != NULL ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    static const fotactl_view_t v = {.fields = rollout_fields, .n_fields = 5};
    return fotactl_post_json(c, path, text, "rollout start", &v);
}

int fotactl_rollout_create(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    rollout_opts_t o;
    memset(&o, 0, sizeof o);
    const fota_cli_opt_t extra[] = {{"product", 0, &o.product, NULL},
                                    {"name", 0, &o.name, NULL},
                                    {"tags", 0, &o.tags, NULL},
                                    {"devices", 0, &o.devices, NULL},
                                    {"stages", 0, &o.stages, NULL},
                                    {"success-percent", 0, &o.success, NULL},
                                    {"soak", 0, &o.soak, NULL},
                                    {"manual", 0, NULL, &o.manual},
                                    {"stage-max-failures", 0, &o.stage_failures, NULL},
                                    {"stage-max-failure-percent", 0, &o.stage_percent, NULL},
                                    {"action", 0, &o.action, NULL},
                                    SETTING_OPTS(o),
                                    {"dry-run", 0, NULL, &o.dry_run},
                                    {"start", 0, NULL, &o.start},
                                    {"at", 0, &o.at, NULL},
                                    {NULL, 0, NULL, NULL}};
    const char *pos[1];
    fota_cli_spec_t spec = {NULL, pos, "RELEASE", 1, 1, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL_ROLLOUT, cmd, &spec, extra, argc, argv, &c, &rc)) {
        return rc;
    }
    uint32_t at = 0;
    if (o.at != NULL && fota_cli_parse_u32(o.at, UINT32_MAX, &at) != FOTA_OK) {
        fotactl_conn_free(&c);
        return fota_cli_usage_error(FOTACTL_ROLLOUT, cmd, "--at: unix seconds, not '%s'", o.at);
    }
    if (o.stages == NULL) {
        o.stages = "100%";
    }
    rc = 0;
    char *text = create_body(pos[0], &o, cmd, &rc);
    if (text != NULL) {
        fotactl_req_t r = {"POST", "/api/admin/rollouts", "application/json", text, strlen(text),
                           false,  "rollout create"};
        long status;
        cJSON *js = NULL;
        rc = fotactl_request(&c, &r, &status, &js);
        free(text);
        if (rc == 0 && c.json) {
            fotactl_print_json(js);
        } else if (rc == 0) {
            rc = after_create(&c, &o, js);
        }
        cJSON_Delete(js);
    }
    fotactl_conn_free(&c);
    return rc;
}

/* rollout VERB ID: POST /api/admin/rollouts/ID/VERB with what the options say. */
static int verb_cmd(const fota_cli_cmd_t *cmd, int argc, char **argv, const char *verb,
                    const fota_cli_opt_t *extra,
                    cJSON *(*body_of)(const rollout_opts_t *, const fota_cli_cmd_t *, int *),
                    rollout_opts_t *o)
{
    const char *id;
    fotactl_conn_t c;
    int rc;
    if (!parse_id(cmd, argc, argv, extra, &id, &c, &rc)) {
        return rc;
    }
    rc = 0;
    cJSON *body = body_of != NULL ? body_of(o, cmd, &rc) : cJSON_CreateObject();
    char *text = body != NULL ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (rc == 0) {
        char path[96];
        snprintf(path, sizeof path, "/api/admin/rollouts/%s/%s", id, verb);
        static const fotactl_view_t v = {.fields = rollout_fields, .n_fields = 6};
        rc = fotactl_post_json(&c, path, text, verb, &v);
    } else {
        free(text);
    }
    fotactl_conn_free(&c);
    return rc;
}

static cJSON *install_body(const rollout_opts_t *o, const fota_cli_cmd_t *cmd, int *rc)
{
    (void)cmd;
    (void)rc;
    cJSON *b = cJSON_CreateObject();
    if (b != NULL &&
        cJSON_AddStringToObject(b, "action", o->action != NULL ? o->action : "forced") == NULL) {
        cJSON_Delete(b);
        return NULL;
    }
    return b;
}

static cJSON *update_body(const rollout_opts_t *o, const fota_cli_cmd_t *cmd, int *rc)
{
    cJSON *b = cJSON_CreateObject();
    if (b != NULL && !add_settings(b, o, cmd, rc)) {
        cJSON_Delete(b);
        return NULL;
    }
    return b;
}

int fotactl_rollout_start(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    rollout_opts_t o;
    memset(&o, 0, sizeof o);
    const fota_cli_opt_t extra[] = {{"at", 0, &o.at, NULL}, {NULL, 0, NULL, NULL}};
    return verb_cmd(cmd, argc, argv, "start", extra, start_body, &o);
}

int fotactl_rollout_pause(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    return verb_cmd(cmd, argc, argv, "pause", NULL, NULL, NULL);
}

int fotactl_rollout_resume(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    return verb_cmd(cmd, argc, argv, "resume", NULL, NULL, NULL);
}

int fotactl_rollout_cancel(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    return verb_cmd(cmd, argc, argv, "cancel", NULL, NULL, NULL);
}

int fotactl_rollout_install(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    rollout_opts_t o;
    memset(&o, 0, sizeof o);
    const fota_cli_opt_t extra[] = {{"action", 0, &o.action, NULL}, {NULL, 0, NULL, NULL}};
    return verb_cmd(cmd, argc, argv, "install", extra, install_body, &o);
}

int fotactl_rollout_update(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    rollout_opts_t o;
    memset(&o, 0, sizeof o);
    const fota_cli_opt_t extra[] = {SETTING_OPTS(o), {NULL, 0, NULL, NULL}};
    return verb_cmd(cmd, argc, argv, "update", extra, update_body, &o);
}

/* device tag ID... [--add T,..] [--remove T,..]: POST /api/admin/device-tags. */
int fotactl_device_tag(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *add = NULL, *remove = NULL;
    const fota_cli_opt_t extra[] = {
        {"add", 0, &add, NULL}, {"remove", 0, &remove, NULL}, {NULL, 0, NULL, NULL}};
    enum { MAX_IDS = 256 };
    const char *pos[MAX_IDS];
    fota_cli_spec_t spec = {NULL, pos, "ID", 1, MAX_IDS, 0};
    fotactl_conn_t c;
    int rc;
    if (!fotactl_parse_remote(FOTACTL_DEVICE, cmd, &spec, extra, argc, argv, &c, &rc)) {
        return rc;
    }
    const char *bad = add == NULL && remove == NULL ? "" : NULL;
    for (size_t i = 0; i < spec.n_pos && bad == NULL; i++) {
        bad = fotactl_device_id_ok(pos[i]) ? NULL : pos[i];
    }
    cJSON *body = bad == NULL ? cJSON_CreateObject() : NULL;
    cJSON *ids = body != NULL ? cJSON_AddArrayToObject(body, "device_ids") : NULL;
    bool ok = ids != NULL && add_list(body, "add", add) && add_list(body, "remove", remove);
    for (size_t i = 0; ok && i < spec.n_pos; i++) {
        ok = cJSON_AddItemToArray(ids, cJSON_CreateString(pos[i]));
    }
    char *text = ok ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (bad != NULL) {
        fotactl_conn_free(&c);
        return fota_cli_usage_error(FOTACTL_DEVICE, cmd, "%s%s%s",
                                    *bad ? "'" : "--add or --remove is required", bad,
                                    *bad ? "' is not a device id" : "");
    }
    static const fotactl_col_t fields[] = {{"devices changed", "changed", FOTACTL_NUMBER}};
    static const fotactl_view_t v = {.fields = fields, .n_fields = 1};
    rc = fotactl_post_json(&c, "/api/admin/device-tags", text, "device tag", &v);
    fotactl_conn_free(&c);
    return rc;
}
