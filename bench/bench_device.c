/*
 * bench_device.c - one emulated ESP32 (a flash file made by fota-flash create) updating itself
 * from a real fotad over HTTP with the libcurl transport, like tools/fota-device, but measured:
 * the bytes on the wire per kind of request (from fota_curl_transport_bytes: request line,
 * headers and body both ways, as curl put them on the socket and took them off), when each
 * state was reached, and
 * the process's memory (peak RSS, and its anonymous and file-backed parts; the emulated flash is
 * a file mapping, so its pages are the file-backed part).
 *
 *   bench_device FLASH --server URL --id ID --master FILE --release-key PEM --product P
 *                [--mode seed|chain] [--timeout S]
 *
 * Prints "key value" lines (bench/wire.sh, bench/download_time.sh and bench/install_ram.sh read
 * them); exit 0 when the device ends up running a confirmed new image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fota/auth.h"
#include "fota/emu/emu_device.h"
#include "fota/host/file_util.h"
#include "fota/emu/flash_emu.h"
#include "fota/posix/transport_curl.h"

/* Kinds of request, told apart by their target. */
enum { K_CHECK, K_MANIFEST, K_CHUNK, K_BLOB, K_REPORT, K_OTHER, K_COUNT };
static const char *const kind_name[K_COUNT] = {"check", "manifest", "chunk",
                                               "blob",  "report",   "other"};

typedef struct {
    unsigned requests[K_COUNT];
    uint64_t sent[K_COUNT], received[K_COUNT];
    double t_state[FOTA_STATE_ERROR + 1]; /* seconds from the start, first time reached */
    long peak_anon_kb, peak_file_kb;
    fota_err_t failure, last_error;
    bool trace; /* BENCH_TRACE set: one line per request on stderr (start, duration, bytes in) */
    fota_curl_transport_t *curl;
    fota_transport_t inner;
} bench_t;

typedef struct {
    const char *server, *id, *master, *release_key, *product, *mode, *timeout;
} opts_t;

static double t_start;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    long kb = 0;
    size_t n = strlen(field);
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kb = strtol(line + n + 1, NULL, 10);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kb;
}

static void sample_memory(bench_t *b)
{
    long anon = status_kb("RssAnon"), file = status_kb("RssFile");
    b->peak_anon_kb = anon > b->peak_anon_kb ? anon : b->peak_anon_kb;
    b->peak_file_kb = file > b->peak_file_kb ? file : b->peak_file_kb;
}

static int kind_of(const char *target)
{
    static const char *const prefix[] = {"check", "manifest", "chunk", "blob/", "report"};
    const char *base = "/api/inverter/fota/";
    size_t n = strlen(base);
    for (int k = 0; k < K_OTHER && strncmp(target, base, n) == 0; k++) {
        if (strncmp(target + n, prefix[k], strlen(prefix[k])) == 0) {
            return k;
        }
    }
    return K_OTHER;
}

/* The curl transport, wrapped to count requests and bytes per kind. */
static fota_err_t counted_perform(void *ctx, const fota_http_request_t *req, fota_agent_t *agent)
{
    bench_t *b = ctx;
    uint64_t s0, r0, s1, r1;
    double t0 = now_s() - t_start;
    fota_curl_transport_bytes(b->curl, &s0, &r0);
    fota_err_t err = b->inner.perform(b->inner.ctx, req, agent);
    fota_curl_transport_bytes(b->curl, &s1, &r1);
    if (b->trace) {
        fprintf(stderr, "trace %.4f %.4f %s %llu %s\n", t0, now_s() - t_start - t0, req->method,
                (unsigned long long)(r1 - r0), req->target);
    }
    int k = kind_of(req->target);
    b->requests[k]++;
    /* The transport counts each body once (checked against the TCP payload counted on the link
     * by bench/download_time.sh). */
    b->sent[k] += s1 - s0;
    b->received[k] += r1 - r0;
    return err;
}

static void on_event(void *ctx, const fota_event_t *ev)
{
    bench_t *b = ctx;
    sample_memory(b);
    if (ev->kind == FOTA_EVENT_STATE && b->t_state[ev->state] == 0.0) {
        b->t_state[ev->state] = now_s() - t_start;
    }
    if (ev->kind == FOTA_EVENT_STATE && ev->state == FOTA_STATE_ERROR) {
        b->failure = b->last_error;
    }
    if (ev->kind == FOTA_EVENT_STATE && ev->state == FOTA_STATE_ROLLED_BACK) {
        b->failure = FOTA_ERR_AGENT_ROLLED_BACK;
    }
    if (ev->kind == FOTA_EVENT_ERROR) {
        b->last_error = ev->err;
        fprintf(stderr, "bench_device: %s in %s\n", fota_err_name(ev->err),
                fota_state_name(ev->state));
    }
}

static fota_err_t power_on(fota_emu_device_t *dev)
{
    bool again = true;
    fota_err_t err = FOTA_OK;
    for (int i = 0; again && err == FOTA_OK && i < 4; i++) {
        err = fota_emu_device_power_on(dev, &again);
    }
    return err;
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

/* As fota-device drives it: run, reboot when asked, until the agent has nothing left to do. */
static fota_err_t drive(fota_emu_device_t *dev, fota_transport_t *tr, double timeout_s)
{
    fota_agent_check_now(&dev->agent);
    while (now_s() - t_start < timeout_s) {
        bool rebooted = false;
        fota_err_t err = fota_agent_run(&dev->agent, tr, 1000, &rebooted);
        if (err == FOTA_OK && rebooted) {
            fota_flash_emu_sync(dev->emu);
            err = power_on(dev);
            continue;
        }
        if (err != FOTA_OK || fota_agent_settled(&dev->agent)) {
            return err;
        }
        fota_action_t act;
        fota_agent_poll(&dev->agent, &act);
        if (act.kind == FOTA_ACTION_HTTP) {
            tr->perform(tr->ctx, act.http, &dev->agent);
        } else if (act.kind == FOTA_ACTION_WAIT) {
            sleep_ms(act.wait_ms < 20u ? act.wait_ms : 20u);
        }
    }
    return FOTA_ERR_HTTP_TIMEOUT;
}

static void print_results(const bench_t *b, const fota_emu_device_t *dev, fota_err_t err)
{
    uint64_t sent = 0, received = 0;
    unsigned requests = 0;
    for (int k = 0; k < K_COUNT; k++) {
        printf("requests_%s %u\nsent_%s %llu\nreceived_%s %llu\n", kind_name[k], b->requests[k],
               kind_name[k], (unsigned long long)b->sent[k], kind_name[k],
               (unsigned long long)b->received[k]);
        requests += b->requests[k];
        sent += b->sent[k];
        received += b->received[k];
    }
    printf("requests %u\nsent %llu\nreceived %llu\n", requests, (unsigned long long)sent,
           (unsigned long long)received);
    for (int s = FOTA_STATE_CHECKING; s <= FOTA_STATE_ROLLED_BACK; s++) {
        printf("t_%s %.4f\n", fota_state_name((fota_state_t)s), b->t_state[s]);
    }
    printf("peak_rss_kb %ld\npeak_anon_kb %ld\npeak_file_kb %ld\n", status_kb("VmHWM"),
           b->peak_anon_kb, b->peak_file_kb);
    printf("version %s\noutcome %s\n", dev->version,
           fota_err_name(err != FOTA_OK ? err : b->failure));
}

static fota_err_t device_key(const opts_t *o, uint8_t key[32])
{
    uint8_t *secret;
    size_t len;
    fota_err_t err = fota_file_read_all(o->master, 4096, &secret, &len);
    if (err == FOTA_OK) {
        err = fota_auth_device_key(secret, len, o->id, key);
        free(secret);
    }
    return err;
}

/* One update of the device in emu, as fota-device configures its agent; prints the results. */
static fota_err_t update(fota_flash_emu_t *emu, const uint8_t key[32], const uint8_t *pem,
                         size_t pem_len, const opts_t *o, bench_t *b)
{
    fota_emu_device_config_t cfg = {.device_id = o->id,
                                    .device_key = key,
                                    .product_id = o->product,
                                    .release_key = pem,
                                    .release_key_len = pem_len + 1, /* PEM with its NUL */
                                    .mode = strcmp(o->mode, "seed") == 0 ? FOTA_MODE_SEED
                                                                         : FOTA_MODE_CHAIN,
                                    .retry_ms = 200,
                                    .progress_every = 64,
                                    .on_event = on_event,
                                    .event_ctx = b,
                                    .real_clock = true};
    static fota_emu_device_t dev;
    b->inner = fota_curl_transport_port(b->curl);
    fota_transport_t tr = {b, counted_perform};
    fota_err_t err = fota_emu_device_open(&dev, emu, &cfg);
    err = err == FOTA_OK ? power_on(&dev) : err;
    t_start = now_s(); /* the clock starts with the first check */
    err = err == FOTA_OK ? drive(&dev, &tr, atof(o->timeout)) : err;
    sample_memory(b);
    print_results(b, &dev, err);
    fota_emu_device_close(&dev);
    return err != FOTA_OK ? err : b->failure;
}

static fota_err_t run(const char *flash_path, const opts_t *o, bench_t *b)
{
    uint8_t key[32], *pem = NULL;
    size_t pem_len = 0;
    fota_flash_emu_t *emu = NULL;
    fota_err_t err = device_key(o, key);
    if (err == FOTA_OK) {
        err = fota_file_read_all(o->release_key, 65536, &pem, &pem_len);
    }
    if (err == FOTA_OK) {
        err = fota_flash_emu_open(flash_path, 0, 0, &emu);
    }
    if (err == FOTA_OK) {
        err = fota_curl_transport_open(o->server, 30000, &b->curl);
    }
    if (err == FOTA_OK) {
        err = update(emu, key, pem, pem_len, o, b);
    } else {
        fprintf(stderr, "bench_device: setup: %s\n", fota_err_name(err));
    }
    fota_curl_transport_close(b->curl);
    if (emu != NULL) {
        fota_flash_emu_close(emu);
    }
    free(pem);
    return err;
}

static const char **opt_slot(opts_t *o, const char *name)
{
    static const char *const names[] = {"--server",  "--id",   "--master", "--release-key",
                                        "--product", "--mode", "--timeout"};
    const char **slots[] = {&o->server,  &o->id,   &o->master, &o->release_key,
                            &o->product, &o->mode, &o->timeout};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            return slots[i];
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    opts_t o = {.mode = "chain", .timeout = "300"};
    const char *flash = NULL;
    for (int i = 1; i < argc; i++) {
        const char **slot = opt_slot(&o, argv[i]);
        if (slot != NULL && i + 1 < argc) {
            *slot = argv[++i];
        } else if (argv[i][0] != '-' && flash == NULL) {
            flash = argv[i];
        } else {
            flash = NULL;
            break;
        }
    }
    if (flash == NULL || o.server == NULL || o.id == NULL || o.master == NULL ||
        o.release_key == NULL || o.product == NULL) {
        fprintf(stderr, "usage: bench_device FLASH --server URL --id ID --master FILE "
                        "--release-key PEM --product P [--mode seed|chain] [--timeout S]\n");
        return 2;
    }
    static bench_t b;
    b.trace = getenv("BENCH_TRACE") != NULL;
    return run(flash, &o, &b) == FOTA_OK ? 0 : 1;
}
