/*
 * metrics.h - fotad's in-memory metrics: what this process counted since it started (requests
 * by route and status code, their durations, bytes of blobs and chunks sent, store call
 * durations), written out in the Prometheus text format (metrics_text.h) by GET /metrics
 * (api_metrics.c), which adds the store's cluster-wide gauges and the process facts.
 *
 * The hot path takes no lock and touches no store: every counter is a relaxed atomic, a
 * histogram is one atomic per bucket plus its sum, and a request is counted with three or four
 * atomic additions. A scrape reads them one by one, so it may see a request counted in one
 * family and not yet in another; each histogram's +Inf bucket equals its count by construction.
 *
 * Labels are bounded: a route is a pattern of the route table (never the raw path), a status
 * code is 100..599, a store call is a name of store.h's operations. Thread-safe.
 */
#ifndef FOTAD_METRICS_H
#define FOTAD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"

#include "metrics_text.h"

/* The version fota_build_info reports (the build may define another). */
#ifndef FOTAD_VERSION
#define FOTAD_VERSION "0.1.0"
#endif

/* What a route's successful response bodies count as in fota_served_bytes_total. */
typedef enum {
    FOTAD_SERVED_NONE = 0,
    FOTAD_SERVED_BLOB,  /* chain-mode blob bytes (a Range's part) */
    FOTAD_SERVED_CHUNK, /* seed-mode chunk answers (JSON with the base64 chunk) */
    FOTAD_SERVED_KINDS
} fotad_served_t;

typedef struct {
    const char *method;    /* static strings, kept by pointer */
    const char *path;      /* the route's pattern, the label route="..." */
    fotad_served_t served; /* FOTAD_SERVED_NONE for the other routes */
} fotad_metrics_route_t;

typedef struct fotad_metrics fotad_metrics_t;

/* The most routes a registry is made for (the route table's size is checked against it). */
#define FOTAD_METRICS_ROUTES_MAX 64u

/* Bucket bounds (seconds, metrics.c): requests 0.0005 .. 10, store calls 0.0001 .. 1. */
#define FOTAD_METRICS_HTTP_BUCKETS 13u
#define FOTAD_METRICS_STORE_BUCKETS 12u

/* A registry for routes[0..n_routes) (plus one slot for requests no route matched) and store
 * operations named ops[0..n_ops) (static strings). */
fota_err_t fotad_metrics_new(const fotad_metrics_route_t *routes, size_t n_routes,
                             const char *const *ops, size_t n_ops, fotad_metrics_t **out);
void fotad_metrics_free(fotad_metrics_t *m);

/* Monotonic nanoseconds, for the durations below. */
uint64_t fotad_metrics_now_ns(void);

/* A request answered: route index (n_routes: no route matched), status code (a request that got
 * none, 0, is not counted), its duration, and the body bytes sent when it completed (0 when the
 * client went away: only bytes sent in full count). */
void fotad_metrics_request(fotad_metrics_t *m, size_t route, unsigned status, uint64_t ns,
                           uint64_t body_bytes);

/* A store call of operation op took ns. */
void fotad_metrics_store_call(fotad_metrics_t *m, size_t op, uint64_t ns);

/* Write this process's families: fota_http_requests_total, fota_http_request_duration_seconds,
 * fota_served_bytes_total, fota_store_call_duration_seconds. */
void fotad_metrics_render(const fotad_metrics_t *m, fotad_prom_t *p);

#endif /* FOTAD_METRICS_H */
