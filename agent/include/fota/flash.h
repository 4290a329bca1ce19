/*
 * flash.h - the flash port: the agent's only door to storage hardware.
 *
 * A struct of function pointers plus an opaque context, filled in by the platform (the
 * emulated ESP32 in emu/, esp_partition in ports/esp-idf). Addresses are
 * absolute flash offsets. NOR rules apply: erase works on whole sectors and sets bytes to 0xFF;
 * a write may only clear bits. Every call is synchronous and returns fota_err_t; after a power
 * cut the emulated flash returns FOTA_ERR_FLASH_POWER_CUT from every call until it is powered on.
 */
#ifndef FOTA_FLASH_H
#define FOTA_FLASH_H

#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fota_flash {
    void *ctx;
    fota_err_t (*read)(void *ctx, uint32_t addr, void *buf, size_t len);
    fota_err_t (*write)(void *ctx, uint32_t addr, const void *buf, size_t len);
    /* addr and len multiples of sector_size */
    fota_err_t (*erase)(void *ctx, uint32_t addr, uint32_t len);
    uint32_t size;        /* total bytes */
    uint32_t sector_size; /* erase unit, 4096 on ESP32 */
} fota_flash_t;

static inline fota_err_t fota_flash_read(const fota_flash_t *f, uint32_t addr, void *buf,
                                         size_t len)
{
    return f->read(f->ctx, addr, buf, len);
}

static inline fota_err_t fota_flash_write(const fota_flash_t *f, uint32_t addr, const void *buf,
                                          size_t len)
{
    return f->write(f->ctx, addr, buf, len);
}

static inline fota_err_t fota_flash_erase(const fota_flash_t *f, uint32_t addr, uint32_t len)
{
    return f->erase(f->ctx, addr, len);
}

#ifdef __cplusplus
}
#endif

#endif /* FOTA_FLASH_H */
