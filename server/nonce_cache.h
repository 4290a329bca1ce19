/*
 * nonce_cache.h - replay protection for device requests (docs/PROTOCOL.md section 2): a request
 * is refused when its (device id, nonce) pair was already used while the pair could still be
 * accepted, that is within the time window around its X-Fota-Time.
 *
 * A request with time T is accepted while |now - T| <= window, so a pair must be remembered for
 * at least 2 x window seconds after it was first seen. The cache keeps two generations of
 * fingerprints (fpset.h) and starts a new one every 2 x window seconds (monotonic clock),
 * dropping the generation before: every pair is kept between 2 and 4 windows. Memory: 32 bytes
 * (two slots at load 1/2) per request seen in the last 4 windows at most.
 *
 * The cache lives in memory. After a restart a request captured in the 5 minutes before it
 * could be replayed once; docs/SERVER.md discusses what that allows. Thread-safe.
 */
#ifndef FOTAD_NONCE_CACHE_H
#define FOTAD_NONCE_CACHE_H

#include <stdint.h>

#include "fota/err.h"

typedef struct fotad_nonce_cache fotad_nonce_cache_t;

/* window_s > 0: the accepted clock difference in seconds (300 in the protocol). */
fota_err_t fotad_nonce_cache_new(uint32_t window_s, fotad_nonce_cache_t **out);
void fotad_nonce_cache_free(fotad_nonce_cache_t *c);

/*
 * Use the pair once. mono_now: seconds of a monotonic clock. FOTA_OK: first use, now
 * remembered; FOTA_ERR_STATE: seen before (a replay); FOTA_ERR_NO_MEM: refused for lack of
 * memory (fail closed).
 */
fota_err_t fotad_nonce_cache_use(fotad_nonce_cache_t *c, const char *device_id, const char *nonce,
                                 int64_t mono_now);

#endif /* FOTAD_NONCE_CACHE_H */
