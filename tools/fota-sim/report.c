/*
 * report.c - what a run tells: the verdict (exit code), the summary table on stdout and the
 * same figures as JSON (--json) for scripts, plus the --verbose event lines.
 *
 * Verdict: a bricked device or one booting a version that is neither the old one nor a release
 * is unsafe (exit 3) whatever was expected; otherwise every device must have ended as --expect
 * says (exit 4 if not). docs/FOTA_SIM.md describes every field.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

#define MAX_REASONS 32

typedef struct {
    const char *reason;
    uint32_t count;
} reason_count_t;

typedef struct {
    uint32_t bricked;
    uint32_t foreign;
    uint32_t idle;
    uint32_t unexpected;
    uint64_t cuts_survived;
    uint32_t ran_bad;   /* devices whose self-test failed at least once: they received it */
    uint32_t by_delta;  /* updated devices whose last download was a delta patch */
    uint32_t saw_delta; /* devices that downloaded a delta patch at least once */
    uint32_t fell_back; /* updated devices that gave a delta up for the full image */
    reason_count_t failed[MAX_REASONS];
    size_t n_failed;
    reason_count_t rolled[MAX_REASONS];
    size_t n_rolled;
} tally_t;

void sim_log(const sim_t *s, const sim_dev_t *d, const char *fmt, ...)
{
    if (!s->cfg.verbose) {
        return;
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    double t = (double)(uint32_t)(sim_now_ms() - s->start_ms) / 1000.0;
    fprintf(stderr, "%s%9.3f %s: %s\n", s->cfg.progress ? "\r\033[K" : "", t,
            d != NULL ? d->id : SIM_PROG, msg);
}

/* ---- counting ------------------------------------------------------------------------------- */

static void add_reason(reason_count_t *list, size_t *n, const char *reason)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(list[i].reason, reason) == 0) {
            list[i].count++;
            return;
        }
    }
    if (*n < MAX_REASONS) {
        list[*n].reason = reason;
        list[(*n)++].count = 1;
    }
}

static bool as_expected(const sim_t *s, const sim_dev_t *d)
{
    switch (s->cfg.expect) {
    case SIM_EXPECT_UPDATED:
        return d->outcome == OUT_UPDATED;
    case SIM_EXPECT_ROLLED_BACK:
        return d->outcome == OUT_ROLLED_BACK;
    case SIM_EXPECT_ANY:
        return d->outcome == OUT_UPDATED || d->outcome == OUT_ROLLED_BACK;
    default:
        return true;
    }
}

static void count(const sim_t *s, tally_t *t)
{
    memset(t, 0, sizeof *t);
    for (uint32_t i = 0; i < s->n_devs; i++) {
        const sim_dev_t *d = &s->devs[i];
        bool unsafe = d->outcome == OUT_BRICKED || d->outcome == OUT_FOREIGN;
        t->bricked += d->outcome == OUT_BRICKED;
        t->foreign += d->outcome == OUT_FOREIGN;
        t->idle += d->outcome == OUT_IDLE;
        t->unexpected += !unsafe && !as_expected(s, d);
        t->cuts_survived += unsafe ? 0u : d->cuts;
        t->ran_bad += d->selftest_failed ? 1u : 0u;
        t->by_delta += d->outcome == OUT_UPDATED && d->by_delta;
        t->saw_delta += d->saw_delta;
        t->fell_back += d->outcome == OUT_UPDATED && !d->by_delta && d->delta_fallbacks > 0;
        if (d->outcome == OUT_FAILED) {
            add_reason(t->failed, &t->n_failed, d->reason);
        } else if (d->outcome == OUT_ROLLED_BACK) {
            add_reason(t->rolled, &t->n_rolled, *d->reason ? d->reason : "other");
        }
    }
}

static const char *expect_name(sim_expect_t e)
{
    static const char *const names[] = {"updated", "rolled_back", "any", "none"};
    return names[e];
}

static int verdict(const sim_t *s, const tally_t *t, char *why, size_t cap)
{
    if (t->bricked + t->foreign > 0) {
        snprintf(why, cap, "UNSAFE: %u bricked, %u booted a foreign image", (unsigned)t->bricked,
                 (unsigned)t->foreign);
        return SIM_EXIT_UNSAFE;
    }
    if (t->unexpected > 0) {
        snprintf(why, cap, "FAILED: %u of %u devices did not end %s", (unsigned)t->unexpected,
                 (unsigned)s->n_devs,
                 s->cfg.expect == SIM_EXPECT_ANY ? "updated or rolled back"
                                                 : expect_name(s->cfg.expect));
        return SIM_EXIT_EXPECTED;
    }
    snprintf(why, cap, "OK (expected: %s)", expect_name(s->cfg.expect));
    return SIM_EXIT_OK;
}

/* ---- the table ------------------------------------------------------------------------------ */

static void human(uint64_t bytes, char *out, size_t cap)
{
    double v = (double)bytes;
    const char *unit[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, cap, u == 0 ? "%.0f %s" : "%.1f %s", v, unit[u]);
}

static double ratio(uint64_t a, uint64_t b)
{
    return b > 0 ? (double)a / (double)b : 0.0;
}

static void row_bytes(const char *name, uint64_t v)
{
    char h[32];
    human(v, h, sizeof h);
    printf("  %-26s %10s  (%llu)\n", name, h, (unsigned long long)v);
}

/* "    reason      count", the count right-aligned with the other rows' (column 39). */
static void row_reason(const reason_count_t *r)
{
    int width = 39 - 4 - (int)strlen(r->reason) - 1;
    printf("    %s %*u\n", r->reason, width > 1 ? width : 1, (unsigned)r->count);
}

static void print_versions(const sim_t *s)
{
    printf("  %-26s %10s\n", "old version", s->initial_version);
    for (unsigned i = 0; i < s->n_versions; i++) {
        printf("  %-26s %10s\n", i == 0 ? "new version" : "", s->versions[i]);
    }
}

static void print_outcomes(const sim_t *s, const tally_t *t)
{
    printf("outcome\n");
    printf("  %-26s %10u\n", "updated", (unsigned)s->n_updated);
    if (t->saw_delta > 0) { /* a fleet that saw no delta prints what it always did */
        printf("    by delta %26u\n", (unsigned)t->by_delta);
        printf("    by full image %21u", (unsigned)(s->n_updated - t->by_delta));
        printf(t->fell_back > 0 ? "  (%u after a failed delta)\n" : "\n", (unsigned)t->fell_back);
    }
    printf("  %-26s %10u\n", "rolled back", (unsigned)s->n_rolled_back);
    for (size_t i = 0; i < t->n_rolled; i++) {
        row_reason(&t->rolled[i]);
    }
    uint32_t failed = s->n_failed - t->bricked - t->foreign;
    printf("  %-26s %10u\n", "failed", (unsigned)failed);
    for (size_t i = 0; i < t->n_failed; i++) {
        row_reason(&t->failed[i]);
    }
    if (t->idle > 0) {
        printf("  %-26s %10u\n", "nothing offered", (unsigned)t->idle);
    }
    printf("  %-26s %10u\n", "bricked", (unsigned)t->bricked);
    printf("  %-26s %10u\n", "foreign image", (unsigned)t->foreign);
}

static void print_faults(const sim_t *s, const tally_t *t)
{
    const sim_counters_t *n = &s->n;
    printf("faults\n");
    printf("  %-26s %10llu  (%llu planned, %llu survived)\n", "power cuts",
           (unsigned long long)n->cuts, (unsigned long long)n->planned_cuts,
           (unsigned long long)t->cuts_survived);
    printf("  %-26s %10llu\n", "reboots", (unsigned long long)n->reboots);
    printf("  %-26s %10llu\n", "self-test failures", (unsigned long long)n->selftest_failures);
    if (s->cfg.fail.count > 0 || s->cfg.fail.rate > 0.0) {
        printf("  %-26s %10u  of %u devices (%llu would fail it)\n", "received the bad release",
               (unsigned)t->ran_bad, (unsigned)s->n_devs,
               (unsigned long long)n->planned_selftest_failures);
    }
    printf("  %-26s %10llu\n", "dropped connections", (unsigned long long)n->net[SIM_FAULT_DROP]);
    printf("  %-26s %10llu\n", "stalled transfers", (unsigned long long)n->net[SIM_FAULT_STALL]);
    printf("  %-26s %10llu\n", "flipped bits", (unsigned long long)n->net[SIM_FAULT_FLIP]);
    printf("  %-26s %10llu\n", "server restarts", (unsigned long long)n->restarts);
}

static void print_network(const sim_t *s)
{
    printf("network\n");
    printf("  %-26s %10llu\n", "requests", (unsigned long long)s->n.requests);
    printf("  %-26s %10llu\n", "failed requests", (unsigned long long)s->n.http_errors);
    row_bytes("bytes received", s->rx);
    row_bytes("bytes sent", s->tx);
    row_bytes("data bytes (chunks/records)", s->data_rx);
    row_bytes("firmware bytes installed", s->firmware_bytes);
    printf("  %-26s %10.3f\n", "wire bytes / firmware byte",
           ratio(s->rx + s->tx, s->firmware_bytes));
    row_bytes("re-downloaded bytes", s->redownload);
    printf("  %-26s %9.2f%%\n", "re-downloaded / data", 100.0 * ratio(s->redownload, s->data_rx));
}

/* How the devices hold their flash: "template" (shared copy-on-write), "own" (--no-share), "files"
 * (--flash-dir). */
static const char *flash_sharing(const sim_t *s)
{
    return s->tmpl != NULL ? "template" : s->cfg.flash_dir != NULL ? "files" : "own";
}

/* "  NAME   TOTAL  (PER per device)" */
static void row_per_device(const sim_t *s, const char *name, uint64_t total)
{
    char all[32], per[32];
    human(total, all, sizeof all);
    human(s->n_devs ? total / s->n_devs : 0u, per, sizeof per);
    printf("  %-26s %10s  (%s per device)\n", name, all, per);
}

static void print_memory(const sim_t *s)
{
    char flash[32], tmpl[32];
    human(s->flash_size, flash, sizeof flash);
    printf("memory\n");
    if (s->tmpl != NULL) {
        human(fota_flash_template_memory(s->tmpl), tmpl, sizeof tmpl);
        printf("  %-26s %10s  (shared copy-on-write: a %s template)\n", "flash per device", flash,
               tmpl);
    } else {
        printf("  %-26s %10s  (%s)\n", "flash per device", flash,
               s->cfg.flash_dir != NULL ? "in files" : "each its own, --no-share");
    }
    row_per_device(s, "flash held at the start", s->mem_start.flash);
    row_per_device(s, "flash held at the end", s->mem_end.flash);
    row_per_device(s, "peak RSS at the start", s->mem_start.peak_rss);
    row_per_device(s, "peak RSS", s->mem_end.peak_rss);
}

static void print_table(const sim_t *s, const tally_t *t, const char *why)
{
    printf("%s: %u devices, %s mode, seed %llu, %.1f s\n", SIM_PROG, (unsigned)s->n_devs,
           s->cfg.mode == FOTA_MODE_SEED ? "seed" : "chain", (unsigned long long)s->cfg.seed,
           s->seconds);
    printf("  %-26s %s\n", "devices run", s->hw->title);
    print_versions(s);
    print_outcomes(s, t);
    print_faults(s, t);
    print_network(s);
    print_memory(s);
    printf("result: %s\n", why);
    fflush(stdout);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static void json_str(FILE *f, const char *v)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            fprintf(f, "\\%c", *p);
        } else if (*p < 0x20) {
            fprintf(f, "\\u%04x", *p);
        } else {
            fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void json_reasons(FILE *f, const char *key, const reason_count_t *r, size_t n)
{
    fprintf(f, "\"%s\":{", key);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s", i ? "," : "");
        json_str(f, r[i].reason);
        fprintf(f, ":%u", (unsigned)r[i].count);
    }
    fprintf(f, "},\n");
}

static void json_u(FILE *f, const char *key, uint64_t v)
{
    fprintf(f, "\"%s\":%llu,\n", key, (unsigned long long)v);
}

static void json_outcomes(FILE *f, const sim_t *s, const tally_t *t)
{
    json_u(f, "devices", s->n_devs);
    json_u(f, "updated", s->n_updated);
    json_u(f, "updated_by_delta", t->by_delta);
    json_u(f, "updated_by_full_image", s->n_updated - t->by_delta);
    json_u(f, "delta_devices", t->saw_delta);
    json_u(f, "delta_fallbacks", s->n.delta_fallbacks);
    json_u(f, "rolled_back", s->n_rolled_back);
    json_reasons(f, "rolled_back_by_reason", t->rolled, t->n_rolled);
    json_u(f, "failed", s->n_failed - t->bricked - t->foreign);
    json_reasons(f, "failed_by_reason", t->failed, t->n_failed);
    json_u(f, "idle", t->idle);
    json_u(f, "bricked", t->bricked);
    json_u(f, "foreign", t->foreign);
}

static void json_counters(FILE *f, const sim_t *s, const tally_t *t)
{
    json_u(f, "power_cuts_planned", s->n.planned_cuts);
    json_u(f, "power_cuts", s->n.cuts);
    json_u(f, "power_cuts_survived", t->cuts_survived);
    json_u(f, "reboots", s->n.reboots);
    json_u(f, "selftest_failures", s->n.selftest_failures);
    json_u(f, "selftest_failure_devices", t->ran_bad);
    json_u(f, "selftest_failures_planned", s->n.planned_selftest_failures);
    json_u(f, "drops", s->n.net[SIM_FAULT_DROP]);
    json_u(f, "stalls", s->n.net[SIM_FAULT_STALL]);
    json_u(f, "flips", s->n.net[SIM_FAULT_FLIP]);
    json_u(f, "server_restarts", s->n.restarts);
    json_u(f, "requests", s->n.requests);
    json_u(f, "failed_requests", s->n.http_errors);
    json_u(f, "bytes_received", s->rx);
    json_u(f, "bytes_sent", s->tx);
    json_u(f, "data_bytes", s->data_rx);
    json_u(f, "firmware_bytes", s->firmware_bytes);
    fprintf(f, "\"wire_per_firmware_byte\":%.4f,\n", ratio(s->rx + s->tx, s->firmware_bytes));
    json_u(f, "redownloaded_bytes", s->redownload);
    json_u(f, "flash_bytes_per_device", s->flash_size);
    fprintf(f, "\"flash_sharing\":\"%s\",\n", flash_sharing(s));
    json_u(f, "template_bytes", s->tmpl != NULL ? fota_flash_template_memory(s->tmpl) : 0u);
    json_u(f, "flash_held_start_bytes", s->mem_start.flash);
    json_u(f, "flash_held_end_bytes", s->mem_end.flash);
    json_u(f, "peak_rss_start_bytes", s->mem_start.peak_rss);
    json_u(f, "peak_rss_bytes", s->mem_end.peak_rss);
    fprintf(f, "\"cpu_seconds\":%.3f,\n", s->mem_end.cpu_seconds - s->mem_start.cpu_seconds);
}

static void json_head(FILE *f, const sim_t *s)
{
    fprintf(f, "{\n\"mode\":\"%s\",\n", s->cfg.mode == FOTA_MODE_SEED ? "seed" : "chain");
    json_u(f, "seed", s->cfg.seed);
    fprintf(f, "\"device_kind\":\"%s\",\n", s->hw->name);
    fprintf(f, "\"old_version\":");
    json_str(f, s->initial_version);
    fprintf(f, ",\n\"new_versions\":[");
    for (unsigned i = 0; i < s->n_versions; i++) {
        fprintf(f, "%s", i ? "," : "");
        json_str(f, s->versions[i]);
    }
    fprintf(f, "],\n\"expect\":\"%s\",\n", expect_name(s->cfg.expect));
}

static int write_json(const sim_t *s, const tally_t *t, int code, const char *why)
{
    FILE *f = fopen(s->cfg.json_path, "w");
    if (f == NULL) {
        fprintf(stderr, "%s: %s: cannot write the JSON summary (FOTA_ERR_IO)\n", SIM_PROG,
                s->cfg.json_path);
        return SIM_EXIT_SETUP;
    }
    json_head(f, s);
    json_outcomes(f, s, t);
    json_counters(f, s, t);
    if (s->rollout_json != NULL) {
        fprintf(f, "\"rollout\":%s,\n", s->rollout_json);
    }
    fprintf(f, "\"seconds\":%.3f,\n\"ok\":%s,\n\"exit_code\":%d,\n\"result\":", s->seconds,
            code == SIM_EXIT_OK ? "true" : "false", code);
    json_str(f, why);
    fprintf(f, "\n}\n");
    return fclose(f) == 0 ? SIM_EXIT_OK : SIM_EXIT_SETUP;
}

int sim_report(sim_t *s)
{
    tally_t t;
    count(s, &t);
    char why[160];
    int code = verdict(s, &t, why, sizeof why);
    print_table(s, &t, why);
    sim_rollout_report(s);
    if (s->cfg.json_path != NULL && write_json(s, &t, code, why) != SIM_EXIT_OK &&
        code == SIM_EXIT_OK) {
        code = SIM_EXIT_SETUP;
    }
    s->exit_code = code;
    return code;
}
