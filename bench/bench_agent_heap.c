/*
 * bench_agent_heap.c - what the agent costs in RAM on a host, measured while it installs a
 * 1,068,032-byte image (the seed's firmware size) from the scripted server at the transport port,
 * once per data mode: the size of its state struct and the peak of the heap that mbedTLS takes
 * on the agent's behalf (hash and HMAC contexts, the ECDSA verification of the manifest). The
 * agent itself allocates nothing; on a device mbedTLS's allocations come from a static pool
 * (MBEDTLS_MEMORY_BUFFER_ALLOC_C) that this peak sizes.
 *
 * The heap is counted by wrapping the C allocator in this program (glibc's __libc_* entry points
 * do the work) and counting only while control is inside an agent call.
 * Prints one table row per mode; bench/agent_ram.sh puts it beside the Cortex-M4 figures.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_server.h"
#include "fota/agent.h"
#include "fota/emu/bootloader.h"
#include "fota/emu/emu_device.h"
#include "fota/emu/flash_emu.h"

#define IMAGE_SIZE 1068032u

/* ---- counting allocator ------------------------------------------------------------------- */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static bool counting;
static size_t live, peak, calls;

static void *counted(void *p)
{
    if (counting && p != NULL) {
        live += malloc_usable_size(p);
        peak = live > peak ? live : peak;
        calls++;
    }
    return p;
}

static void uncount(void *p)
{
    if (counting && p != NULL) {
        size_t n = malloc_usable_size(p);
        live = n < live ? live - n : 0;
    }
}

void *malloc(size_t n)
{
    return counted(__libc_malloc(n));
}

void *calloc(size_t n, size_t m)
{
    return counted(__libc_calloc(n, m));
}

void *realloc(void *p, size_t n)
{
    uncount(p);
    return counted(__libc_realloc(p, n));
}

void free(void *p)
{
    uncount(p);
    __libc_free(p);
}

static void agent_call(bool entering)
{
    counting = entering;
}

/* ---- one update ----------------------------------------------------------------------------- */

static void die(const char *what, fota_err_t err)
{
    fprintf(stderr, "bench_agent_heap: %s: %s\n", what, fota_err_name(err));
    exit(1);
}

static void run_mode(fota_mode_t mode)
{
    fota_flash_emu_t *emu;
    fota_err_t err = fota_flash_emu_open(NULL, FOTA_FLASH_EMU_DEFAULT_SIZE, 0, &emu);
    if (err != FOTA_OK) {
        die("flash", err);
    }
    size_t len;
    uint8_t *old = fake_image("1.0.0", IMAGE_SIZE, 0, &len);
    fota_flash_t flash = fota_flash_emu_port(emu);
    if ((err = fota_device_provision(&flash, NULL, old, len)) != FOTA_OK) {
        die("provision", err);
    }
    __libc_free(old);
    static uint8_t key[32] = {1, 2, 3};
    const uint8_t *pub;
    size_t pub_len;
    fake_keys(&pub, &pub_len);
    fota_emu_device_config_t cfg = {.device_id = "bench-1",
                                    .device_key = key,
                                    .product_id = "esp32-inverter",
                                    .release_key = pub,
                                    .release_key_len = pub_len,
                                    .mode = mode};
    static fota_emu_device_t dev;
    static fake_server_t srv;
    bool again;
    fota_emu_device_open(&dev, emu, &cfg);
    /* The agent's whole life counts, from init (mbedTLS contexts) to the reboot. */
    peak = live = calls = 0;
    counting = true;
    err = fota_emu_device_power_on(&dev, &again);
    counting = false;
    if (err != FOTA_OK) {
        die("power on", err);
    }
    fake_server_init(&srv, "bench-1", key);
    fake_release_spec_t spec = {.version = "2.0.0", .size = IMAGE_SIZE, .chunk_size = 1024};
    fake_server_release(&srv, &spec);
    srv.agent_call = agent_call;
    srv.piece = 1460; /* a TCP segment's worth per feed */
    fota_transport_t tr = fake_server_transport(&srv);
    fota_agent_check_now(&dev.agent);
    bool rebooted = false;
    for (int i = 0; i < 100 && !rebooted; i++) {
        counting = true;
        fota_action_t act;
        err = fota_agent_poll(&dev.agent, &act);
        counting = false;
        if (err != FOTA_OK) {
            die("poll", err);
        }
        if (act.kind == FOTA_ACTION_HTTP) {
            tr.perform(tr.ctx, act.http, &dev.agent);
            i = 0;
        }
        rebooted = act.kind == FOTA_ACTION_REBOOT;
    }
    if (!rebooted) {
        die("update did not finish", fota_agent_last_error(&dev.agent));
    }
    printf("%-6s %9zu %12zu %10zu %12u\n", mode == FOTA_MODE_SEED ? "seed" : "chain",
           sizeof(fota_agent_t), peak, calls, IMAGE_SIZE);
    fota_emu_device_close(&dev);
    fake_server_free(&srv);
    fota_flash_emu_close(emu);
}

int main(void)
{
    printf("%-6s %9s %12s %10s %12s\n", "mode", "struct_B", "mbedtls_peak", "allocs", "image_B");
    run_mode(FOTA_MODE_SEED);
    run_mode(FOTA_MODE_CHAIN);
    return 0;
}
