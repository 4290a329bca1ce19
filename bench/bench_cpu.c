/*
 * bench_cpu.c - the program bench/cpu_per_byte.sh runs under callgrind: one whole update of an
 * emulated ESP32 through the real agent, in memory, from the scripted server of the unit tests
 * (tests/support/fake_server.c: real manifest signature, real hash chain, real per-device HMAC,
 * bodies fed in 1,460-byte pieces like TCP segments), or the floor: SHA-256 alone over the same
 * image bytes.
 *
 *   bench_cpu seed|chain|sha [IMAGE_SIZE [CHUNK_SIZE]]      (default 1068032, 1024)
 *
 * bench_cpu_4k is the same program with the agent built for chunks of up to 4 KB
 * (FOTA_CONFIG_MAX_CHUNK_SIZE=4096), for CHUNK_SIZE 4096.
 *
 * The script counts instructions only inside the agent's entry points (fota_agent_poll,
 * fota_agent_response_begin, fota_agent_feed, fota_agent_response_end: --toggle-collect), so
 * the fake server's own work (base64, HMAC and JSON of seed chunks, request checks) and the
 * device's boot are left out, while everything the agent does for the update is in: parsing,
 * verifying (manifest signature, chain hashes or HMACs, the read-back hash and image check),
 * and the emulated flash's erase and write. For the floor it counts bench_sha_floor alone.
 * Prints "key value" lines: the mode, the image size, whether the update completed.
 */
#include <mbedtls/md.h>
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

static void die(const char *what, fota_err_t err)
{
    fprintf(stderr, "bench_cpu: %s: %s\n", what, fota_err_name(err));
    exit(1);
}

/* The floor: one SHA-256 over the image through the same mbedTLS API the agent uses, nothing
 * else. Kept out of line for --toggle-collect. */
__attribute__((noinline)) static void bench_sha_floor(const uint8_t *data, size_t len,
                                                      uint8_t out[32])
{
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (mbedtls_md(sha, data, len, out) != 0) {
        die("sha256", FOTA_ERR_CRYPTO);
    }
}

static fota_emu_device_t dev;
static fake_server_t srv;
static const uint8_t device_key[32] = {7, 1, 2, 3};

static void setup(fota_flash_emu_t **emu, fota_mode_t mode, uint32_t size)
{
    fota_err_t err = fota_flash_emu_open(NULL, FOTA_FLASH_EMU_DEFAULT_SIZE, 0, emu);
    size_t len;
    uint8_t *old = fake_image("1.0.0", size, 0, &len);
    fota_flash_t flash = fota_flash_emu_port(*emu);
    if (err != FOTA_OK || (err = fota_device_provision(&flash, NULL, old, len)) != FOTA_OK) {
        die("provision", err);
    }
    free(old);
    const uint8_t *pub;
    size_t pub_len;
    fake_keys(&pub, &pub_len);
    fota_emu_device_config_t cfg = {.device_id = "cpu-1",
                                    .device_key = device_key,
                                    .product_id = "esp32-inverter",
                                    .release_key = pub,
                                    .release_key_len = pub_len,
                                    .mode = mode,
                                    .progress_every = 64};
    bool again;
    fota_emu_device_open(&dev, *emu, &cfg);
    if ((err = fota_emu_device_power_on(&dev, &again)) != FOTA_OK) {
        die("power on", err);
    }
}

/* Poll and perform until the agent asks for the reboot that ends the install. */
static bool update(void)
{
    fota_transport_t tr = fake_server_transport(&srv);
    fota_agent_check_now(&dev.agent);
    for (int idle = 0; idle < 100; idle++) {
        fota_action_t act;
        fota_err_t err = fota_agent_poll(&dev.agent, &act);
        if (err != FOTA_OK) {
            die("poll", err);
        }
        if (act.kind == FOTA_ACTION_REBOOT) {
            return true;
        }
        if (act.kind == FOTA_ACTION_HTTP) {
            tr.perform(tr.ctx, act.http, &dev.agent);
            idle = 0;
        }
    }
    return false;
}

static void run_update(fota_mode_t mode, uint32_t size, uint32_t chunk)
{
    fota_flash_emu_t *emu;
    setup(&emu, mode, size);
    fake_server_init(&srv, "cpu-1", device_key);
    fake_release_spec_t spec = {.version = "2.0.0", .size = size, .chunk_size = chunk};
    fake_server_release(&srv, &spec);
    srv.piece = 1460;
    bool done = update();
    printf("mode %s\nimage_bytes %u\nchunk_bytes %u\ndata_requests %u\ncompleted %s\n",
           mode == FOTA_MODE_SEED ? "seed" : "chain", size, chunk, srv.data_requests,
           done ? "yes" : "no");
    fota_emu_device_close(&dev);
    fake_server_free(&srv);
    fota_flash_emu_close(emu);
    if (!done) {
        die("the update did not complete", fota_agent_last_error(&dev.agent));
    }
}

static void run_floor(uint32_t size)
{
    fake_server_init(&srv, "cpu-1", device_key);
    fake_release_spec_t spec = {.version = "2.0.0", .size = size, .chunk_size = 1024};
    fake_server_release(&srv, &spec);
    uint8_t digest[32];
    bench_sha_floor(srv.image, srv.image_len, digest);
    printf("mode sha\nimage_bytes %zu\nsha_matches_manifest %s\n", srv.image_len,
           memcmp(digest, srv.m.image_sha256, 32) == 0 ? "yes" : "no");
    fake_server_free(&srv);
}

int main(int argc, char **argv)
{
    uint32_t size = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 1068032u;
    uint32_t chunk = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 1024u;
    if (argc < 2 || size < 4096 || chunk == 0 || chunk > FOTA_CONFIG_MAX_CHUNK_SIZE) {
        fprintf(stderr, "usage: bench_cpu seed|chain|sha [IMAGE_SIZE [CHUNK_SIZE <= %u]]\n",
                (unsigned)FOTA_CONFIG_MAX_CHUNK_SIZE);
        return 2;
    }
    if (strcmp(argv[1], "sha") == 0) {
        run_floor(size);
    } else if (strcmp(argv[1], "seed") == 0 || strcmp(argv[1], "chain") == 0) {
        run_update(strcmp(argv[1], "seed") == 0 ? FOTA_MODE_SEED : FOTA_MODE_CHAIN, size, chunk);
    } else {
        fprintf(stderr, "usage: bench_cpu seed|chain|sha [IMAGE_SIZE [CHUNK_SIZE]]\n");
        return 2;
    }
    return 0;
}
