/*
 * metrics_text.c - the Prometheus text format writer (metrics_text.h). Numbers are written as
 * Prometheus reads them: integers in decimal, other values in the shortest of %.15g and %.17g that
 * reads back exactly, infinities as +Inf and -Inf.
 */
#include "metrics_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROM_FIRST_CAP 4096u

static bool grow(fotad_prom_t *p, size_t more)
{
    if (p->failed) {
        return false;
    }
    if (p->len + more + 1 <= p->cap) {
        return true;
    }
    size_t cap = p->cap == 0 ? PROM_FIRST_CAP : p->cap;
    while (cap < p->len + more + 1) {
        cap *= 2;
    }
    char *b = realloc(p->buf, cap);
    if (b == NULL) {
        p->failed = true;
        return false;
    }
    p->buf = b;
    p->cap = cap;
    return true;
}

static void put(fotad_prom_t *p, const char *s, size_t n)
{
    if (grow(p, n)) {
        memcpy(p->buf + p->len, s, n);
        p->len += n;
        p->buf[p->len] = '\0';
    }
}

static void puts_(fotad_prom_t *p, const char *s)
{
    put(p, s, strlen(s));
}

static void putf(fotad_prom_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(fotad_prom_t *p, const char *fmt, ...)
{
    char text[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n > 0) {
        put(p, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
    }
}

/* A label value, or HELP text when help is true (there only backslash and newline are escaped). */
static void put_escaped(fotad_prom_t *p, const char *s, bool help)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\') {
            puts_(p, "\\\\");
        } else if (*s == '\n') {
            puts_(p, "\\n");
        } else if (*s == '"' && !help) {
            puts_(p, "\\\"");
        } else {
            put(p, s, 1);
        }
    }
}

bool fotad_prom_escape(const char *value, char *out, size_t cap)
{
    fotad_prom_t p = {0};
    put_escaped(&p, value, false);
    bool ok = !p.failed && p.len < cap;
    if (cap > 0) {
        snprintf(out, cap, "%s", ok ? p.buf : "");
    }
    fotad_prom_free(&p);
    return ok;
}

void fotad_prom_family(fotad_prom_t *p, const char *name, const char *type, const char *help)
{
    putf(p, "# HELP %s ", name);
    put_escaped(p, help, true);
    putf(p, "\n# TYPE %s %s\n", name, type);
}

static void put_labels(fotad_prom_t *p, const fotad_prom_label_t *labels, size_t n, const char *le)
{
    if (n == 0 && le == NULL) {
        return;
    }
    puts_(p, "{");
    for (size_t i = 0; i < n; i++) {
        putf(p, "%s%s=\"", i > 0 ? "," : "", labels[i].name);
        put_escaped(p, labels[i].value, false);
        puts_(p, "\"");
    }
    if (le != NULL) {
        putf(p, "%sle=\"%s\"", n > 0 ? "," : "", le);
    }
    puts_(p, "}");
}

/* The shortest of %.15g and %.17g that reads back as v. */
static void format_double(double v, char *out, size_t cap)
{
    if (isinf(v)) {
        snprintf(out, cap, "%s", v > 0 ? "+Inf" : "-Inf");
    } else if (isnan(v)) {
        snprintf(out, cap, "NaN");
    } else {
        snprintf(out, cap, "%.15g", v);
        if (strtod(out, NULL) != v) {
            snprintf(out, cap, "%.17g", v);
        }
    }
}

static void put_double(fotad_prom_t *p, double v)
{
    char text[32];
    format_double(v, text, sizeof text);
    puts_(p, text);
}

void fotad_prom_u64(fotad_prom_t *p, const char *name, const fotad_prom_label_t *labels,
                    size_t n_labels, uint64_t value)
{
    puts_(p, name);
    put_labels(p, labels, n_labels, NULL);
    putf(p, " %llu\n", (unsigned long long)value);
}

void fotad_prom_f64(fotad_prom_t *p, const char *name, const fotad_prom_label_t *labels,
                    size_t n_labels, double value)
{
    puts_(p, name);
    put_labels(p, labels, n_labels, NULL);
    puts_(p, " ");
    put_double(p, value);
    puts_(p, "\n");
}

static void put_bucket(fotad_prom_t *p, const char *name, const fotad_prom_label_t *labels,
                       size_t n_labels, const char *le, uint64_t cumulative)
{
    putf(p, "%s_bucket", name);
    put_labels(p, labels, n_labels, le);
    putf(p, " %llu\n", (unsigned long long)cumulative);
}

void fotad_prom_histogram(fotad_prom_t *p, const char *name, const fotad_prom_label_t *labels,
                          size_t n_labels, const fotad_prom_hist_t *h)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h->n_bounds; i++) {
        cumulative += h->counts[i];
        char le[32];
        format_double(h->bounds[i], le, sizeof le);
        put_bucket(p, name, labels, n_labels, le, cumulative);
    }
    cumulative += h->counts[h->n_bounds];
    put_bucket(p, name, labels, n_labels, "+Inf", cumulative);
    char suffixed[128];
    snprintf(suffixed, sizeof suffixed, "%s_sum", name);
    fotad_prom_f64(p, suffixed, labels, n_labels, h->sum);
    snprintf(suffixed, sizeof suffixed, "%s_count", name);
    fotad_prom_u64(p, suffixed, labels, n_labels, cumulative);
}

void fotad_prom_free(fotad_prom_t *p)
{
    free(p->buf);
    memset(p, 0, sizeof *p);
}
