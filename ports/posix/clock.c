/*
 * clock.c - clock ports for the host: real time for a device running on this machine, and a
 * manual clock (time moves when the test or simulation says so; random bytes from a seeded
 * splitmix64) so that runs replay exactly.
 */
#include "fota/posix/clock.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static uint32_t real_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

static uint64_t real_unix_time(void *ctx)
{
    (void)ctx;
    return (uint64_t)time(NULL);
}

static void real_random(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        }
    }
}

fota_clock_t fota_posix_clock(void)
{
    fota_clock_t c = {NULL, real_now_ms, real_unix_time, real_random};
    return c;
}

static uint32_t manual_now_ms(void *ctx)
{
    return ((const fota_manual_clock_t *)ctx)->now_ms;
}

static uint64_t manual_unix_time(void *ctx)
{
    const fota_manual_clock_t *c = ctx;
    return c->unix_time != 0 ? c->unix_time : (uint64_t)time(NULL);
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void manual_random(void *ctx, uint8_t *buf, size_t len)
{
    fota_manual_clock_t *c = ctx;
    while (len > 0) {
        uint64_t v = splitmix64(&c->rng);
        size_t n = len < sizeof v ? len : sizeof v;
        memcpy(buf, &v, n);
        buf += n;
        len -= n;
    }
}

fota_clock_t fota_manual_clock_port(fota_manual_clock_t *c)
{
    fota_clock_t p = {c, manual_now_ms, manual_unix_time, manual_random};
    return p;
}
