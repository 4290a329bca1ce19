/*
 * boot_emu.h - the agent's boot port on the emulated ESP32: otadata and the emulated bootloader.
 */
#ifndef FOTA_EMU_BOOT_EMU_H
#define FOTA_EMU_BOOT_EMU_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/agent.h"
#include "fota/flash.h"
#include "fota/http.h"
#include "fota/port.h"
#include "fota/emu/bootloader.h"

/* ---- boot control over otadata -------------------------------------------------------------- */
typedef struct {
    fota_flash_t flash;
    fota_boot_info_t running; /* filled by the boot that started this "power-on" */
    int update_slot;
    bool reboot_requested;
} fota_emu_boot_t;

fota_boot_t fota_emu_boot_port(fota_emu_boot_t *b);

#endif /* FOTA_EMU_BOOT_EMU_H */
