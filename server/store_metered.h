/*
 * store_metered.h - a store (store.h) in front of another that times every call into the metrics
 * registry (fota_store_call_duration_seconds{op="..."}, metrics.h): what the services call is
 * unchanged, the operations a backend leaves NULL stay NULL. One clock reading before and after
 * each call and one atomic histogram update; no lock.
 */
#ifndef FOTAD_STORE_METERED_H
#define FOTAD_STORE_METERED_H

#include <stddef.h>

#include "metrics.h"
#include "store.h"

/* The names of store.h's operations (the op label), in the registry's order. */
#define FOTAD_STORE_OPS 57U
extern const char *const fotad_store_op_names[FOTAD_STORE_OPS];

/* Put a metered store in front of *store (which it then owns and closes); *store becomes the
 * metered one. metrics must outlive it. FOTA_ERR_NO_MEM leaves *store as it was. */
fota_err_t fotad_store_metered_wrap(fotad_store_t *store, fotad_metrics_t *metrics);

#endif /* FOTAD_STORE_METERED_H */
