/*
 * fleet.h - the fleet at a glance, as the operator console shows it (docs/CONSOLE.md): a page of
 * devices that pass filters, and the overview - devices grouped by product, running version,
 * state and last error, final update outcomes by time bucket, the newest devices in error. Each
 * is a fixed number of aggregate queries of the store (store.h), so what the console costs does
 * not grow with the fleet: it reads one page, or one row per distinct group. Thread-safe (the
 * store is).
 */
#ifndef FOTAD_FLEET_H
#define FOTAD_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define FOTAD_PAGE_MAX 1000u        /* devices in one page */
#define FOTAD_PAGE_DEFAULT 100u     /* when a paged request names no limit */
#define FOTAD_ONLINE_DEFAULT_S 600u /* seen within this: online */
#define FOTAD_ONLINE_MAX_S 2592000u /* 30 days */
#define FOTAD_BUCKET_DEFAULT_S 60u  /* outcome buckets */
#define FOTAD_BUCKET_MAX_S 86400u
#define FOTAD_BUCKETS_DEFAULT 60u
#define FOTAD_BUCKETS_MAX 500u
#define FOTAD_RECENT_DEFAULT 10u /* newest devices in error shown */
#define FOTAD_RECENT_MAX 100u

/* The final states whose reports are counted as outcomes, in the order of the counts below. */
#define FOTAD_OUTCOME_STATES 3u
extern const char *const fotad_outcome_states[FOTAD_OUTCOME_STATES]; /* confirmed rolled_back
                                                                         error */

typedef struct {
    int64_t now;
    uint32_t online_s; /* a device seen at or after now - online_s is online */
    uint32_t bucket_s; /* outcome buckets of this many seconds ... */
    uint32_t buckets;  /* ... this many, the last one holding now */
    uint32_t recent;   /* newest devices in error, at most */
} fotad_overview_req_t;

typedef struct {
    int64_t since;                /* start of the first bucket */
    fotad_device_group_t *groups; /* malloc'd, n_groups */
    size_t n_groups;
    uint64_t (*outcomes)[FOTAD_OUTCOME_STATES]; /* malloc'd, one row per bucket */
    fotad_device_rec_t *recent;                 /* malloc'd, n_recent, last seen first */
    size_t n_recent;
} fotad_overview_t;

/* Fill *out (free it with fotad_overview_free, also after an error). */
fota_err_t fotad_fleet_overview(fotad_store_t *s, const fotad_overview_req_t *q,
                                fotad_overview_t *out);
void fotad_overview_free(fotad_overview_t *o);

/* A page of devices (store.h's device_page). */
fota_err_t fotad_fleet_page(fotad_store_t *s, const fotad_device_filter_t *f, uint64_t *total,
                            fotad_device_fn fn, void *arg);

#endif /* FOTAD_FLEET_H */
