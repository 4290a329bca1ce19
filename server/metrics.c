/*
 * metrics.c - the in-memory registry of fotad's metrics (metrics.h). Counters live in arrays
 * indexed by route and status code, or by store operation, all allocated at start: counting
 * allocates nothing and looks nothing up. Durations are kept in nanoseconds (integers, so one
 * atomic addition), written in seconds.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATUS_MIN 100u
#define STATUS_SPAN 500u /* codes 100..599 */

typedef atomic_uint_fast64_t counter_t;

static const uint64_t http_bounds_ns[FOTAD_METRICS_HTTP_BUCKETS] = {
    500000,    1000000,   2500000,   5000000,    10000000,   25000000,   50000000,
    100000000, 250000000, 500000000, 1000000000, 2500000000, 10000000000};

static const uint64_t store_bounds_ns[FOTAD_METRICS_STORE_BUCKETS] = {
    100000,   250000,   500000,   1000000,   2500000,   5000000,
    10000000, 25000000, 50000000, 100000000, 250000000, 1000000000};

/* A histogram of durations: per-bucket counts (the last above every bound) and the sum. */
typedef struct {
    counter_t buckets[FOTAD_METRICS_HTTP_BUCKETS + 1];
    counter_t sum_ns;
} hist_t;

typedef struct {
    counter_t by_status[STATUS_SPAN];
    hist_t duration;
} route_stats_t;

struct fotad_metrics {
    const fotad_metrics_route_t *routes;
    size_t n_routes;
    route_stats_t *stats; /* n_routes + 1: the last for requests no route matched */
    counter_t served[FOTAD_SERVED_KINDS];
    const char *const *ops;
    size_t n_ops;
    hist_t *store; /* n_ops */
};

fota_err_t fotad_metrics_new(const fotad_metrics_route_t *routes, size_t n_routes,
                             const char *const *ops, size_t n_ops, fotad_metrics_t **out)
{
    fotad_metrics_t *m = calloc(1, sizeof *m);
    if (m != NULL) {
        m->stats = calloc(n_routes + 1, sizeof *m->stats);
        m->store = calloc(n_ops > 0 ? n_ops : 1, sizeof *m->store);
    }
    if (m == NULL || m->stats == NULL || m->store == NULL) {
        fotad_metrics_free(m);
        return FOTA_ERR_NO_MEM;
    }
    /* calloc's zero bytes are a valid zero for the lock-free atomics of every supported target */
    m->routes = routes;
    m->n_routes = n_routes;
    m->ops = ops;
    m->n_ops = n_ops;
    *out = m;
    return FOTA_OK;
}

void fotad_metrics_free(fotad_metrics_t *m)
{
    if (m != NULL) {
        free(m->stats);
        free(m->store);
        free(m);
    }
}

uint64_t fotad_metrics_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void add(counter_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void observe(hist_t *h, const uint64_t *bounds, size_t n_bounds, uint64_t ns)
{
    size_t i = 0;
    while (i < n_bounds && ns > bounds[i]) {
        i++;
    }
    add(&h->buckets[i], 1);
    add(&h->sum_ns, ns);
}

void fotad_metrics_request(fotad_metrics_t *m, size_t route, unsigned status, uint64_t ns,
                           uint64_t body_bytes)
{
    if (m == NULL || status < STATUS_MIN || status >= STATUS_MIN + STATUS_SPAN) {
        return;
    }
    size_t r = route < m->n_routes ? route : m->n_routes;
    add(&m->stats[r].by_status[status - STATUS_MIN], 1);
    observe(&m->stats[r].duration, http_bounds_ns, FOTAD_METRICS_HTTP_BUCKETS, ns);
    if (r < m->n_routes && m->routes[r].served != FOTAD_SERVED_NONE && status / 100 == 2) {
        add(&m->served[m->routes[r].served], body_bytes);
    }
}

void fotad_metrics_store_call(fotad_metrics_t *m, size_t op, uint64_t ns)
{
    if (m != NULL && op < m->n_ops) {
        observe(&m->store[op], store_bounds_ns, FOTAD_METRICS_STORE_BUCKETS, ns);
    }
}

/* ---- writing --------------------------------------------------------------------------- */

static uint64_t get(const counter_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* Write histogram h (bounds in ns) under name with labels. */
static void put_hist(fotad_prom_t *p, const char *name, const fotad_prom_label_t *labels,
                     size_t n_labels, const hist_t *h, const uint64_t *bounds_ns, size_t n_bounds)
{
    uint64_t counts[FOTAD_METRICS_HTTP_BUCKETS + 1];
    double bounds[FOTAD_METRICS_HTTP_BUCKETS];
    for (size_t i = 0; i <= n_bounds; i++) {
        counts[i] = get(&h->buckets[i]);
    }
    for (size_t i = 0; i < n_bounds; i++) {
        bounds[i] = (double)bounds_ns[i] / 1e9;
    }
    fotad_prom_hist_t hist = {bounds, n_bounds, counts, (double)get(&h->sum_ns) / 1e9};
    fotad_prom_histogram(p, name, labels, n_labels, &hist);
}

static uint64_t hist_count(const hist_t *h, size_t n_bounds)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= n_bounds; i++) {
        n += get(&h->buckets[i]);
    }
    return n;
}

static void route_labels(const fotad_metrics_t *m, size_t r, fotad_prom_label_t *labels)
{
    labels[0].name = "method";
    labels[0].value = r < m->n_routes ? m->routes[r].method : "";
    labels[1].name = "route";
    labels[1].value = r < m->n_routes ? m->routes[r].path : "unmatched";
}

static void put_requests(const fotad_metrics_t *m, fotad_prom_t *p)
{
    fotad_prom_family(p, "fota_http_requests_total", "counter",
                      "HTTP requests answered by this fotad, by route pattern and status code.");
    for (size_t r = 0; r <= m->n_routes; r++) {
        fotad_prom_label_t labels[3];
        route_labels(m, r, labels);
        for (unsigned s = 0; s < STATUS_SPAN; s++) {
            uint64_t n = get(&m->stats[r].by_status[s]);
            if (n == 0) {
                continue;
            }
            char code[8];
            snprintf(code, sizeof code, "%u", s + STATUS_MIN);
            labels[2].name = "code";
            labels[2].value = code;
            fotad_prom_u64(p, "fota_http_requests_total", labels, 3, n);
        }
    }
}

static void put_durations(const fotad_metrics_t *m, fotad_prom_t *p)
{
    fotad_prom_family(p, "fota_http_request_duration_seconds", "histogram",
                      "Time from the request line to the end of the response, by route pattern; "
                      "routes not requested yet are left out.");
    for (size_t r = 0; r <= m->n_routes; r++) {
        fotad_prom_label_t labels[2];
        route_labels(m, r, labels);
        if (hist_count(&m->stats[r].duration, FOTAD_METRICS_HTTP_BUCKETS) > 0) {
            put_hist(p, "fota_http_request_duration_seconds", labels, 2, &m->stats[r].duration,
                     http_bounds_ns, FOTAD_METRICS_HTTP_BUCKETS);
        }
    }
}

static void put_served(const fotad_metrics_t *m, fotad_prom_t *p)
{
    static const char *const kinds[FOTAD_SERVED_KINDS] = {"", "blob", "chunk"};
    fotad_prom_family(p, "fota_served_bytes_total", "counter",
                      "Response body bytes of device data sent in full by this fotad: chain-mode "
                      "blobs and seed-mode chunk answers.");
    for (size_t k = FOTAD_SERVED_BLOB; k < FOTAD_SERVED_KINDS; k++) {
        fotad_prom_label_t label = {"kind", kinds[k]};
        fotad_prom_u64(p, "fota_served_bytes_total", &label, 1, get(&m->served[k]));
    }
}

static void put_store(const fotad_metrics_t *m, fotad_prom_t *p)
{
    fotad_prom_family(p, "fota_store_call_duration_seconds", "histogram",
                      "Duration of this fotad's calls into its store (SQLite or PostgreSQL), by "
                      "operation; operations not called yet are left out.");
    for (size_t i = 0; i < m->n_ops; i++) {
        if (hist_count(&m->store[i], FOTAD_METRICS_STORE_BUCKETS) == 0) {
            continue;
        }
        fotad_prom_label_t label = {"op", m->ops[i]};
        put_hist(p, "fota_store_call_duration_seconds", &label, 1, &m->store[i], store_bounds_ns,
                 FOTAD_METRICS_STORE_BUCKETS);
    }
}

void fotad_metrics_render(const fotad_metrics_t *m, fotad_prom_t *p)
{
    put_requests(m, p);
    put_durations(m, p);
    put_served(m, p);
    put_store(m, p);
}
