/*
 * harness.h - the agent on a bare-metal QEMU machine: its settings (sent by fota-qemu-bridge at
 * start), the ports over the machine (ports.c), the serial-line transport (transport.c), and the
 * instruction count of the agent's own work.
 */
#ifndef FOTA_QEMU_HARNESS_H
#define FOTA_QEMU_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/agent.h"

/* The flash layout: the ESP32's default two OTA slots (fota-flash create's layout). */
#define HARNESS_SECTOR 4096u
#define HARNESS_SLOT0 0x10000u
#define HARNESS_SLOT_SIZE 0x140000u
#define HARNESS_SLOT1 (HARNESS_SLOT0 + HARNESS_SLOT_SIZE)

typedef struct {
    char device_id[FOTA_CONFIG_DEVICE_ID_MAX + 1];
    uint8_t device_key[32];
    char product[33];
    char version[FOTA_VERSION_MAX + 1];
    uint8_t release_key[768];
    uint16_t release_key_len;
    uint8_t mode;
    uint16_t chip;
    uint64_t unix_time;
    uint64_t seed;
    uint8_t icount_shift;
    uint32_t floor;
    uint32_t range_records;
    char dump[160];
    uint32_t measure;
} harness_settings_t;

/* The emulated machine's state besides RAM: boot slot, journal record, clock, counters. */
typedef struct {
    uint8_t running;  /* slot index the image runs from */
    uint8_t next;     /* slot the next boot starts */
    bool pending;     /* the image booted next must confirm itself */
    bool pending_now; /* the running image is pending */
    bool reboot;      /* the agent asked for a reboot */
    uint8_t journal[256];
    uint16_t journal_len;
    uint64_t clock_ms; /* virtual: advanced by the waits the agent asks for */
    uint64_t unix_start;
    uint64_t rng;
    uint32_t erases, writes, reads;
    uint64_t written;
} harness_machine_t;

extern harness_machine_t harness_machine;

fota_ports_t harness_ports(void);
/* Slot index -> flash offset. */
uint32_t harness_slot_offset(uint8_t slot);

/* The agent's work in counter units (board_count), summed over every call into it; of that, the
 * time spent in the flash port's functions (the platform's driver, not the agent). */
extern uint64_t harness_agent_units;
extern uint64_t harness_flash_units;
/* Run stmt and add the counter units it took to `total`. */
#define HARNESS_TIMED(total, stmt)                                                                 \
    do {                                                                                           \
        uint32_t timed_t0_ = board_count();                                                        \
        stmt;                                                                                      \
        (total) += (uint32_t)(board_count() - timed_t0_);                                          \
    } while (0)
#define HARNESS_COUNTED(stmt) HARNESS_TIMED(harness_agent_units, stmt)

/* Perform one request over the serial line, feeding the response to the agent. */
void harness_perform(fota_agent_t *a, const fota_http_request_t *req);

#endif /* FOTA_QEMU_HARNESS_H */
