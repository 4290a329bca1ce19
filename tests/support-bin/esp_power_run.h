/*
 * esp_power_run.h - one run of tests/support-bin/fota-esp-power (the power-cut proof through the
 * ESP-IDF component): a fresh emulated ESP32 running the component over the ESP-IDF API double
 * against fotad, the power cut once (before or in flash operation K, or before NVS commit K),
 * driven until the agent settles, then checked: the new image confirmed and in app1, fotad's view
 * "confirmed", never bricked, at most one sector fetched again. esp_power_run.c has the run;
 * fota-esp-power.c the sweeps over K. A failed check ends the process with the run named.
 */
#ifndef ESP_POWER_RUN_H
#define ESP_POWER_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/agent.h"
#include "fota/emu/flash_emu.h"
#include "fota/emu/partition.h"

#define CHUNK 1024u
#define RECORD (CHUNK + 32u)
#define SECTOR 4096u
#define MAX_REFETCH (SECTOR / CHUNK) /* chunks or records fetched again per cut */
#define MAX_COMMITS 512u
#define MAX_SLOT_OPS 1024u
#define NO_OP UINT64_MAX /* no operation, no commit */

/* What every run shares (fota-esp-power.c fills it from the command line). */
typedef struct {
    const char *server, *product, *mode_name;
    char auth[160]; /* "Authorization: Bearer ..." for fotad's admin API */
    uint8_t *master, *pub, *old_img, *new_img;
    size_t master_len, pub_len, old_len, new_len;
    char new_version[33];
    fota_mode_t mode;
    fota_part_table_t table;
    const fota_partition_t *slot1;
    unsigned sample;
    uint64_t seed;
} setup_t;

extern setup_t g_set;

/* "FAIL: ..." on stderr, exit 1. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Where a run cuts: before flash operation K (clean), in it (torn), or before NVS commit K. */
typedef enum { CUT_CLEAN = FOTA_CUT_BEFORE, CUT_TORN = FOTA_CUT_TORN, CUT_COMMIT } cut_kind_t;

typedef struct {
    bool rolled;
    uint32_t refetched;
    fota_flash_op_t op; /* the operation at K, as the cut saw it */
    uint32_t addr;
} cut_result_t;

/* The run without a cut: where things happen, counted in flash operations from the end of the
 * first boot. */
typedef struct {
    uint64_t total;                   /* flash operations of the whole update */
    uint64_t reboot_op;               /* first operation after the agent asked to reboot */
    uint64_t confirm_op;              /* first operation after the power-on that confirmed */
    uint64_t commits;                 /* NVS commits of the whole update */
    uint64_t commit_ops[MAX_COMMITS]; /* flash operations done before each */
    uint64_t slot_n;                  /* writes and erases of the update slot */
    uint64_t slot_ops[MAX_SLOT_OPS];  /* their operation indices */
} clean_trace_t;

const char *cut_name(cut_kind_t how);

/* The update with no cut, checked; its trace. */
void power_clean_run(clean_trace_t *out);

/* The update cut once at K (`index` makes the device id unique), checked. */
cut_result_t power_cut_once(uint64_t k, cut_kind_t how, uint64_t seed, size_t index);

#endif /* ESP_POWER_RUN_H */
