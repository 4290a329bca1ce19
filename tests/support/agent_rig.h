/*
 * agent_rig.h - one emulated ESP32 running the real agent against the scripted server of
 * fake_server.h at the transport port, for the agent's unit tests (test_agent.c,
 * test_hostile_agent.c): set-up, publishing a release, power cycles, running the device until it
 * settles, and what its flash must hold afterwards. Failures are cmocka assertions.
 */
#ifndef FOTA_TEST_AGENT_RIG_H
#define FOTA_TEST_AGENT_RIG_H

#include <stdbool.h>
#include <stdint.h>

#include "fake_server.h"
#include "fota/agent.h"
#include "fota/emu/emu_device.h"
#include "fota/emu/flash_emu.h"
#include "hostile.h"

#define OLD_VERSION "1.0.0"
#define NEW_VERSION "2.0.0"
#define PRODUCT "esp32-inverter"
#define SMALL_IMAGE (64u * 1024u)
#define SECTOR 4096u

typedef struct {
    fota_flash_emu_t *emu;
    fota_emu_device_t dev;
    fake_server_t srv;
    hostile_t hostile;   /* test_hostile_agent.c: set up by hostile_init, freed by rig_close */
    fota_transport_t tr; /* the honest server's, unless a test puts another in */
    uint8_t device_key[32];
    unsigned reboots;
    unsigned bricks;
} rig_t;

/* A device of `mode` running OLD_VERSION (an image of old_size bytes), powered on, and the
 * honest server with no release yet. */
void rig_open(rig_t *r, fota_mode_t mode, uint32_t old_size);
/* The same with an image of this content (image_build.h's seed; 0: from the version). */
void rig_open_seed(rig_t *r, fota_mode_t mode, uint32_t old_size, uint32_t seed);
void rig_close(rig_t *r);
/* The server offers a release of `version`, size bytes, chunk-byte chunks. */
void publish(rig_t *r, const char *version, uint32_t size, uint32_t chunk);
/* Power the device off and on until it runs something (a failing self-test resets it again). */
void power_cycle(rig_t *r);
/* Run the device until it has nothing left to do: idle, no journal, no report queued. */
void run_device(rig_t *r);

uint32_t slot_offset(unsigned slot);
/* len bytes of flash at addr, malloc'd (a pending power cut is cancelled first). */
uint8_t *read_flash(rig_t *r, uint32_t addr, size_t len);
/* The update slot (ota_1) holds nothing but bytes of the published image or erased flash. */
void assert_only_verified_bytes(rig_t *r);
/* The update slot is erased (0xFF) up to the end of the published image's last sector. */
void assert_slot_clean(rig_t *r);
void assert_running(rig_t *r, const char *version);
/* The server got an "error" report with this code. */
bool error_reported(const fake_server_t *s, fota_err_t err);
/* NEW_VERSION runs, confirmed, from exactly the published image; the server heard it all. */
void assert_installed(rig_t *r);

#endif /* FOTA_TEST_AGENT_RIG_H */
