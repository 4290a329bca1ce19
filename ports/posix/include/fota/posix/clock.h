/*
 * clock.h - clock ports: real time for devices on this machine, a manual clock for tests and
 * simulations.
 */
#ifndef FOTA_POSIX_CLOCK_H
#define FOTA_POSIX_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/agent.h"
#include "fota/flash.h"
#include "fota/http.h"
#include "fota/port.h"

/* ---- clocks --------------------------------------------------------------------------------- */
/* Real time: CLOCK_MONOTONIC, time(), getrandom(). ctx unused. */
fota_clock_t fota_posix_clock(void);

/* A clock a test or a simulation moves by hand; random bytes from a seeded generator. */
typedef struct {
    uint32_t now_ms;
    uint64_t unix_time;
    uint64_t rng;
} fota_manual_clock_t;
fota_clock_t fota_manual_clock_port(fota_manual_clock_t *c);

#endif /* FOTA_POSIX_CLOCK_H */
