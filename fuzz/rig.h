/*
 * rig.h - what the fuzz targets that drive the real agent share: one emulated ESP32 (in-memory
 * NOR flash from emu/, provisioned with the Arduino default partition table and a 1.0.0
 * image, booted by the emulated bootloader, boot port over otadata), one real release (a 2.0.0
 * ESP32 image, its hash chain, a manifest signed with the fixed fuzzing key) served by
 * tests/support/fake_server.c, and the calls to put a fuzz input where the agent reads bytes
 * from the network or from its journal store.
 *
 * Everything is deterministic (fixed key, deterministic ECDSA, manual clock, seeded nonce), so
 * a seed written by one process (--make-seed) is valid in the next, and a crash replays alone.
 *
 * The agent struct is plain data (its one mbedTLS context is restarted before every use), so a
 * target that wants the agent in a given state (a chunk request in flight) brings it there once
 * through the real protocol and copies the state back before each input: rig_snapshot() and
 * rig_restore(). Flash the agent wrote is either erased again by the writer before it is
 * written, or (otadata) put back by rig_restore().
 */
#ifndef FOTA_FUZZ_RIG_H
#define FOTA_FUZZ_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_server.h"
#include "fota/agent.h"
#include "fota/emu/boot_emu.h"
#include "fota/posix/clock.h"
#include "fota/emu/flash_emu.h"
#include "fota/host/keys.h"
#include "fota/emu/otadata.h"

#define RIG_DEVICE_ID "inv-fuzz-000001"
#define RIG_PRODUCT "esp32-inverter"
#define RIG_OLD_VERSION "1.0.0"
#define RIG_NEW_VERSION "2.0.0"
#define RIG_OLD_SIZE (8u * 1024u)
#define RIG_NEW_SIZE (6u * 1024u) /* crosses a 4 KB sector: a journal save mid-download */
#define RIG_STORE_CAP 256u

/* The journal store port, in RAM: one record, saved and loaded whole. */
typedef struct {
    uint8_t data[RIG_STORE_CAP];
    size_t len; /* 0: empty */
    unsigned saves;
    bool fail_saves; /* every save fails with FOTA_ERR_IO (a worn or cut flash) */
    /* When set, every record saved is also handed to this (journal seeds). */
    void (*on_save)(const uint8_t *rec, size_t len);
} rig_store_t;

/* Everything an input may change, copied whole by snapshot/restore. */
typedef struct {
    fota_agent_t agent;
    fota_emu_boot_t boot;
    fota_manual_clock_t clock;
    rig_store_t store;
    bool agent_up;
} rig_state_t;

typedef struct {
    fota_mode_t mode;
    uint32_t chunk_size;         /* of the release */
    const char *current_version; /* NULL: RIG_OLD_VERSION */
    bool running_pending;        /* the running image is PENDING_VERIFY (booted, unconfirmed) */
} rig_opts_t;

typedef struct {
    rig_opts_t opts;
    fota_flash_emu_t *emu;
    fota_flash_t flash;
    uint32_t otadata_offset;
    uint8_t otadata[FOTA_OTADATA_SIZE]; /* as the first boot left it */
    bool otadata_dirty;
    bool boot_switched;     /* the agent called set_boot since the last restore */
    uint32_t update_offset; /* ota_1: where the agent writes the release */
    uint64_t writes_before; /* flash writes counted when the input started */
    fota_boot_t boot_inner; /* emu/ boot_emu, wrapped to notice otadata writes */
    fake_server_t srv;
    fota_transport_t srv_tr;
    uint8_t device_key[32];
    rig_state_t st;
    rig_state_t snap;
} rig_t;

/* The fixed fuzzing release key (a test key made for this, in rig.c): public DER, private. */
void rig_public_key(const uint8_t **der, size_t *len);
fota_key_t *rig_signing_key(void);
/* Write the fixed key as a PEM file (mode 0600), for tools that sign from a key file
 * (fotactl release create in fuzz/seeds.sh). Aborts on failure. */
void rig_write_key_pem(const char *path);

/* Flash, provisioning, first boot, release, server, agent (fota_agent_init). Aborts on failure:
 * a rig that cannot be built is a broken harness, not a finding. */
void rig_open(rig_t *r, const rig_opts_t *o);
/* (Re)start the agent on the current store contents: fota_agent_init as a power-on does. */
fota_err_t rig_agent_start(rig_t *r);
void rig_agent_stop(rig_t *r);

void rig_snapshot(rig_t *r);
void rig_restore(rig_t *r);
/* Put otadata back as the first boot left it, if the agent changed it. */
void rig_reset_otadata(rig_t *r);

/* Erase the sectors of the update slot that the release covers (a device that never got it);
 * with_image: then write the release's image there (a device that got it whole). */
void rig_erase_update_slot(rig_t *r, bool with_image);

/*
 * The agent's promises about flash, checked after an input (abort on violation): every byte of
 * the update slot is erased or the release's own byte (nothing unverified is written), and if
 * check_switch, the boot slot was switched only to the whole, exact image.
 */
void rig_check_flash(rig_t *r, bool check_switch);

/* Is the request a data request (seed chunk or chain blob)? */
bool rig_is_data(const fota_http_request_t *req);

/*
 * Poll and perform requests through the fake server until the agent waits, asks for a reboot,
 * makes a data request while stop_at_data is set (then *data_req is set and the request is
 * pending), or max_steps actions have run.
 */
void rig_run(rig_t *r, unsigned max_steps, bool stop_at_data, bool *data_req);

/* Poll (through steps that need no wait); true if the agent asked for an HTTP request (it is then
 * pending), false if it waits for time to pass or asked for a reboot. */
bool rig_poll_http(rig_t *r, const fota_http_request_t **req);

/*
 * Answer the pending request with `body`: response_begin(status, content_length), the body fed
 * in pieces whose sizes cycle through pieces[0..npieces) (0 or npieces == 0: the rest at once),
 * response_end(transport_err). Stops feeding at the first error, as a transport would.
 */
void rig_respond(rig_t *r, int status, int64_t content_length, const uint8_t *body, size_t len,
                 const size_t *pieces, size_t npieces, fota_err_t transport_err);

/* With FOTA_FUZZ_TRACE set in the environment: print the agent's state, last error, progress and
 * the reports the server got, after an input (to see what a reproducer does). */
void rig_trace(const rig_t *r, const char *target);

/*
 * Seeds from the real agent: open a rig (once per process) in `mode`, let the agent check now,
 * and hand every request it makes to fn before the fake server answers it, from the check to
 * the reboot after the install (check, manifest, chunks or blob Ranges, reports).
 */
void rig_capture_requests(fota_mode_t mode, void (*fn)(void *ctx, const fota_http_request_t *req),
                          void *ctx);

/* A property of the code under test: when it does not hold, say which and abort (libFuzzer
 * keeps the input as a crash). */
void rig_require(bool ok, const char *what);

/* libFuzzer's LLVMFuzzerInitialize arguments: the directory after --make-seed, or NULL. */
const char *rig_make_seed_dir(int argc, char **argv);
/* Write one seed file dir/name. Aborts on failure. */
void rig_write_seed(const char *dir, const char *name, const void *data, size_t len);

/* Hex of n bytes into out (2n + 1). */
void rig_hex(const uint8_t *p, size_t n, char *out);

#endif /* FOTA_FUZZ_RIG_H */
