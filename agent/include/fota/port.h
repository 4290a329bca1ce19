/*
 * port.h - the platform services the agent uses besides flash (flash.h): boot control, the
 * journal store and the clock. Each is a struct of function pointers plus an opaque context,
 * filled in by the platform (emu/ and ports/posix for the emulated ESP32, ports/esp-idf for a
 * real one)
 * and handed to fota_agent_init(). All calls are synchronous.
 */
#ifndef FOTA_PORT_H
#define FOTA_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"

typedef enum {
    FOTA_BOOT_STATE_VALID = 0,   /* running image confirmed (or never part of an update) */
    FOTA_BOOT_STATE_PENDING = 1, /* running image is new and must confirm itself */
} fota_boot_state_t;

/* Boot control: esp_ota_ops on ESP-IDF, otadata + emulated bootloader on the host. */
typedef struct fota_boot {
    void *ctx;
    /* The partition an update goes to (the inactive OTA slot): absolute offset and size. */
    fota_err_t (*update_partition)(void *ctx, uint32_t *offset, uint32_t *size);
    /* Make the update partition boot next, as a new image that must confirm itself. */
    fota_err_t (*set_boot)(void *ctx);
    /* State of the running image. */
    fota_err_t (*running_state)(void *ctx, fota_boot_state_t *state);
    /* Mark the running image valid (cancel rollback). */
    fota_err_t (*confirm)(void *ctx);
    /* Restart the device. On a real device it does not return; the emulator returns FOTA_OK
     * and the simulation reboots the device itself. */
    fota_err_t (*reboot)(void *ctx);
    /* Optional (NULL: no delta updates): the partition the running image was booted from,
     * absolute offset and size. The agent reads the running image there through the flash port
     * (read only) as the source of a delta patch, and its appended SHA-256 as its id. */
    fota_err_t (*running_partition)(void *ctx, uint32_t *offset, uint32_t *size);
} fota_boot_t;

/* The journal store: one small record, saved and loaded whole. The platform makes a save
 * atomic (nvs on ESP-IDF; two copies with sequence and CRC on the emulator): after a power
 * cut during save, load returns either the old record or the new one, never a mix. */
typedef struct fota_store {
    void *ctx;
    /* FOTA_ERR_JOURNAL_EMPTY when nothing was saved (or after clear). */
    fota_err_t (*load)(void *ctx, void *buf, size_t cap, size_t *len);
    fota_err_t (*save)(void *ctx, const void *buf, size_t len);
    fota_err_t (*clear)(void *ctx);
} fota_store_t;

typedef struct fota_clock {
    void *ctx;
    /* Monotonic milliseconds (wraps; only differences are used). */
    uint32_t (*now_ms)(void *ctx);
    /* Wall-clock UNIX seconds, for request authentication. */
    uint64_t (*unix_time)(void *ctx);
    /* Fill buf with unpredictable bytes (hardware RNG on a device). */
    void (*random)(void *ctx, uint8_t *buf, size_t len);
} fota_clock_t;

#endif /* FOTA_PORT_H */
