/*
 * metrics_text.h - the Prometheus text exposition format (version 0.0.4) written into a growing
 * buffer: a family's HELP and TYPE lines, samples with escaped label values, histograms with
 * cumulative buckets. The registry (metrics.h) and the /metrics handler write through it; it
 * knows nothing of fotad. A write that runs out of memory marks the buffer failed and the
 * following writes do nothing, so a caller checks once at the end.
 */
#ifndef FOTAD_METRICS_TEXT_H
#define FOTAD_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FOTAD_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct {
    char *buf; /* malloc'd, NUL-terminated; the caller frees it (or takes it) */
    size_t len;
    size_t cap;
    bool failed; /* out of memory: the text is incomplete */
} fotad_prom_t;

typedef struct {
    const char *name;
    const char *value; /* any bytes of UTF-8: escaped as the format requires */
} fotad_prom_label_t;

/* A histogram to write: bounds ascending (the upper bounds of the finite buckets), counts per
 * bucket (not cumulative), n_bounds + 1 of them (the last one above every bound), sum of the
 * observed values. */
typedef struct {
    const double *bounds;
    size_t n_bounds;
    const uint64_t *counts;
    double sum;
} fotad_prom_hist_t;

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge, histogram). */
void fotad_prom_family(fotad_prom_t *p, const char *name, const char *type, const char *help);

/* "name{labels} value" with an integer or a floating-point value. */
void fotad_prom_u64(fotad_prom_t *p, const char *name, const fotad_prom_label_t *labels,
                    size_t n_labels, uint64_t value);
void fotad_prom_f64(fotad_prom_t *p, const char *name, const fotad_prom_label_t *labels,
                    size_t n_labels, double value);

/* name_bucket{labels,le="..."} cumulatively, le="+Inf" equal to the count, name_sum, name_count
 * (name at most 100 characters). */
void fotad_prom_histogram(fotad_prom_t *p, const char *name, const fotad_prom_label_t *labels,
                          size_t n_labels, const fotad_prom_hist_t *h);

/* A label value as the format escapes it: backslash, double quote and line feed become \\, \"
 * and \n. Writes at most cap bytes with the NUL; false if it did not fit. */
bool fotad_prom_escape(const char *value, char *out, size_t cap);

void fotad_prom_free(fotad_prom_t *p);

#endif /* FOTAD_METRICS_TEXT_H */
