/*
 * emu_device.h - one emulated ESP32 running the real agent: its flash (partition table, otadata,
 * two OTA slots, the journal in nvs), the emulated bootloader, and the application's part of an
 * update (run the self-test of a freshly booted image, confirm it or "crash").
 *
 * A power-on runs the bootloader, reads the running image's version from its app descriptor,
 * and starts the agent, which resumes from its journal. The device is one chip of the family
 * (cfg.chip_id, the ESP32 by default): its bootloader boots only images built for that chip, and
 * its agent refuses another chip's image after the download (FOTA_ERR_IMAGE_CHIP). Tests and
 * fota-sim drive the agent (poll/feed, or fota_agent_run with a transport), and power-cycle the
 * device when the agent asks for a reboot, when the emulated flash was cut, or whenever they like.
 */
#ifndef FOTA_EMU_EMU_DEVICE_H
#define FOTA_EMU_EMU_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/agent.h"
#include "fota/emu/boot_emu.h"
#include "fota/posix/clock.h"
#include "fota/emu/flash_emu.h"
#include "fota/emu/partition.h"
#include "fota/posix/store_flash.h"

typedef struct {
    const char *device_id;
    const uint8_t *device_key; /* 32 bytes */
    const char *product_id;
    const uint8_t *release_key; /* public key, DER or PEM (PEM with its NUL) */
    size_t release_key_len;
    uint32_t security_floor;
    fota_mode_t mode;
    uint32_t check_interval_ms;
    uint32_t retry_ms;
    uint32_t range_records;
    uint32_t progress_every;
    uint32_t chunk_interval_ms; /* data request pacing, as fota_agent_config_t */
    void (*on_event)(void *ctx, const fota_event_t *ev);
    void *event_ctx;
    bool real_clock;  /* else a manual clock the caller moves */
    uint16_t chip_id; /* FOTA_ESP_CHIP_ID_*: the chip the device is (0: the ESP32) */
    /* The application's self-test fails on this device for a pending image of this version,
     * besides images made with --fail-selftest (a simulated fleet's bad release). NULL: none. */
    bool (*selftest_fails)(void *ctx, const char *version);
    void *selftest_ctx;
} fota_emu_device_config_t;

typedef struct {
    fota_emu_device_config_t cfg;
    char device_id[FOTA_CONFIG_DEVICE_ID_MAX + 1];
    char product_id[FOTA_VERSION_MAX + 1];
    uint8_t device_key[32];
    char version[FOTA_VERSION_MAX + 1]; /* running image */
    fota_flash_emu_t *emu;
    fota_flash_t flash;
    fota_part_table_t table;
    fota_emu_boot_t boot;
    fota_flash_store_t store;
    fota_manual_clock_t clock;
    fota_agent_t agent;
    bool agent_up;
    bool bricked; /* the bootloader found nothing to boot */
    bool selftest_failed;
    unsigned boots;
} fota_emu_device_t;

/* The agent's journal store (ports/posix store_flash) in the first two sectors of the nvs
 * partition of `t`, where the emulated device keeps it. FOTA_ERR_NOT_FOUND without one. */
fota_err_t fota_emu_store_init(fota_flash_store_t *s, const fota_flash_t *flash,
                               const fota_part_table_t *t);

/* Open a provisioned flash (fota_device_provision wrote it) at path, or use `emu` if given. */
fota_err_t fota_emu_device_open(fota_emu_device_t *d, fota_flash_emu_t *emu,
                                const fota_emu_device_config_t *cfg);
void fota_emu_device_close(fota_emu_device_t *d);

/* Power on: flash on, bootloader, agent init; a pending image runs its self-test: it confirms
 * (through the agent) or fails, and then *reboot_needed says the app crashed. FOTA_ERR_BOOT_NO_APP
 * when bricked. */
fota_err_t fota_emu_device_power_on(fota_emu_device_t *d, bool *reboot_needed);

/* Cut the power now (between flash operations). */
void fota_emu_device_power_off(fota_emu_device_t *d);

#endif /* FOTA_EMU_EMU_DEVICE_H */
