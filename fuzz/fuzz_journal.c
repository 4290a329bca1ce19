/*
 * fuzz_journal.c - libFuzzer target: the agent's journal record as the store hands it back after
 * a reboot. fota_journal_decode is internal to the agent, so it is fuzzed through the agent: the
 * store port returns the input as the saved record, then fota_agent_init (which reads the journal
 * and resumes a download, finishes an interrupted install, or notices a boot or a rollback) and
 * polls against the real release on tests/support/fake_server.c (a valid record resumes the
 * download from where it says and installs). Each input starts with the update slot erased or
 * holding the release (flag bit 7); after it, every byte of the slot must be erased or the
 * release's (nothing unverified is written).
 *
 * Input: byte 0 = flags, the rest = the record (at most 256 bytes; the agent's is 160).
 *   bit 0  put the right CRC-32 at bytes 156..159 (a fuzzer cannot find it; without this bit
 *          the raw bytes are used, which tests the CRC check itself)
 *   bit 1  the running image is the new version (2.0.0), else the old one (1.0.0)
 *   bit 2  the running image is PENDING_VERIFY (booted, not yet confirmed)
 *   bit 3  chain mode (else seed mode)
 *   bit 4  the application confirms the running image right after init
 *   bit 5  the store fails every save (FOTA_ERR_IO), as a worn or cut flash would
 *   bit 6  check for an update right after init (the server offers the release again)
 *   bit 7  the update slot holds the release's whole image (else it is erased)
 *
 * --make-seed DIR writes every record the agent saves during a real update in each mode
 * (downloading at several points, installing, installed), each with a few flag combinations,
 * and rolled-back records (state 4, 0..2 install attempts) made from the installed one. A wiping
 * record (state 5: extent at 144, error at 148) erases the update slot up to its extent, capped
 * at the partition, so the slot property holds for it too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/bytes.h"
#include "fota/crc32.h"

#include "rig.h"

/* The record's layout (agent/src/journal.c, docs/PROTOCOL.md "Journal"). */
#define JOURNAL_LEN 160u
#define JOURNAL_CRC_OFF 156u

#define F_FIX_CRC 0x01u
#define F_NEW_RUNNING 0x02u
#define F_PENDING 0x04u
#define F_CHAIN 0x08u
#define F_CONFIRM 0x10u
#define F_SAVE_FAILS 0x20u
#define F_CHECK 0x40u
#define F_SLOT_FULL 0x80u

static rig_t g_seed, g_chain;
static const char *g_seed_dir;
static unsigned g_seed_count;
static uint8_t g_seed_mode;

/* ---- seeds ----------------------------------------------------------------------------------- */

/* The record the agent saves once the bootloader rolled its image back (state 4, with the
 * number of install attempts in byte 7), made from an INSTALLED one: a real update on this rig
 * does not roll back. */
static void rolled_back_seeds(const uint8_t *rec, size_t len)
{
    uint8_t buf[1 + RIG_STORE_CAP];
    memcpy(buf + 1, rec, len);
    buf[1 + 5] = 4;
    for (uint8_t attempts = 0; attempts < 3; attempts++) {
        char name[64];
        buf[0] = (uint8_t)(F_FIX_CRC | F_CHECK | F_SLOT_FULL | g_seed_mode);
        buf[1 + 7] = attempts;
        snprintf(name, sizeof name, "rolled-back-%u-flags-%02x", attempts, buf[0]);
        rig_write_seed(g_seed_dir, name, buf, 1 + len);
    }
}

static void on_save(const uint8_t *rec, size_t len)
{
    static const uint8_t variants[] = {0, F_NEW_RUNNING, F_NEW_RUNNING | F_PENDING,
                                       F_NEW_RUNNING | F_PENDING | F_CONFIRM, F_SAVE_FAILS};
    uint8_t buf[1 + RIG_STORE_CAP];
    memcpy(buf + 1, rec, len);
    for (size_t i = 0; i < sizeof variants; i++) {
        char name[64];
        buf[0] = (uint8_t)(variants[i] | g_seed_mode);
        snprintf(name, sizeof name, "saved-%02u-flags-%02x", g_seed_count, buf[0]);
        rig_write_seed(g_seed_dir, name, buf, 1 + len);
    }
    if (len == JOURNAL_LEN && rec[5] == 3) {
        rolled_back_seeds(rec, len);
    }
    g_seed_count++;
}

static void record_update(rig_t *r, uint8_t mode_flag)
{
    g_seed_mode = mode_flag;
    r->st.store.on_save = on_save;
    fota_agent_check_now(&r->st.agent);
    rig_run(r, 400, false, NULL);
    r->st.store.on_save = NULL;
    if (fota_agent_state(&r->st.agent) != FOTA_STATE_REBOOTING) {
        fprintf(stderr, "fuzz_journal: the recorded update did not finish\n");
        abort();
    }
}

/* ---- the target ------------------------------------------------------------------------------ */

static void open_rig(rig_t *r, fota_mode_t mode)
{
    rig_opts_t o = {mode, 1024u, NULL, false};
    rig_open(r, &o);
}

static void ready(rig_t *r)
{
    rig_agent_stop(r);
    r->st.store.len = 0;
    rig_reset_otadata(r);
    rig_snapshot(r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    open_rig(&g_seed, FOTA_MODE_SEED);
    open_rig(&g_chain, FOTA_MODE_CHAIN);
    g_seed_dir = rig_make_seed_dir(*argc, *argv);
    if (g_seed_dir != NULL) {
        record_update(&g_seed, 0);
        record_update(&g_chain, F_CHAIN);
        exit(0);
    }
    ready(&g_seed);
    ready(&g_chain);
    return 0;
}

static void put_record(rig_t *r, uint8_t flags, const uint8_t *rec, size_t len)
{
    len = len > RIG_STORE_CAP ? RIG_STORE_CAP : len;
    memcpy(r->st.store.data, rec, len);
    r->st.store.len = len;
    if ((flags & F_FIX_CRC) != 0 && len >= JOURNAL_LEN) {
        uint32_t crc = fota_crc32_le(0, r->st.store.data, JOURNAL_CRC_OFF);
        fota_put_le32(r->st.store.data + JOURNAL_CRC_OFF, crc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t flags = data[0];
    rig_t *r = (flags & F_CHAIN) != 0 ? &g_chain : &g_seed;
    rig_restore(r);
    r->opts.current_version = (flags & F_NEW_RUNNING) != 0 ? RIG_NEW_VERSION : RIG_OLD_VERSION;
    if ((flags & F_PENDING) != 0) {
        r->st.boot.running.ota_state = FOTA_OTA_IMG_PENDING_VERIFY;
    }
    put_record(r, flags, data + 1, size - 1);
    rig_erase_update_slot(r, (flags & F_SLOT_FULL) != 0);
    r->st.store.fail_saves = (flags & F_SAVE_FAILS) != 0;
    if (rig_agent_start(r) == FOTA_OK) {
        if ((flags & F_CONFIRM) != 0) {
            fota_agent_confirm(&r->st.agent);
        }
        if ((flags & F_CHECK) != 0) {
            fota_agent_check_now(&r->st.agent);
        }
        rig_run(r, 64, false, NULL);
    }
    rig_trace(r, "fuzz_journal");
    /* Not the switch check: a record that says INSTALLING means "verified, switch pending" (a
     * power cut came between the two), and the agent switches without hashing again, by design. */
    rig_check_flash(r, false);
    rig_agent_stop(r);
    return 0;
}
