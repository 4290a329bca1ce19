/*
 * test_agent.c - libfota end to end on the emulated ESP32, against a scripted server at the
 * transport port (tests/support/fake_server.c: real image, real ECDSA signature, real hash chain,
 * real request authentication). Covers both data modes, every refusal with its own error code
 * (nothing unverified reaches flash, the old image still boots, the next honest offer installs),
 * piece sizes from 1 byte to 64 KB giving the same flash, resume after power cuts at chosen
 * flash operations, confirm and rollback through the emulated bootloader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mbedtls/md.h>

#include "agent_rig.h"
#include "fake_server.h"
#include "fota/agent.h"
#include "fota/bytes.h"
#include "fota/emu/bootloader.h"
#include "fota/emu/emu_device.h"
#include "fota/emu/flash_emu.h"
#include "fota/emu/image_build.h"
#include "fota/emu/otadata.h"

/* ---- what is on the flash (more in agent_rig.h) --------------------------------------------- */

static uint64_t flash_ops(rig_t *r)
{
    fota_flash_stats_t st;
    fota_flash_emu_stats(r->emu, &st);
    return st.ops;
}

static void digest_flash(rig_t *r, uint8_t out[32])
{
    size_t size = fota_flash_emu_size(r->emu);
    uint8_t *all = read_flash(r, 0, size);
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), all, size, out);
    free(all);
}

/* A device of `mode` whose download of NEW_VERSION (60,000 bytes, 1 KB chunks) a power cut
 * stopped half-way (before the 130th flash operation); the power is still off. */
static void cut_mid_download(rig_t *r, fota_mode_t mode)
{
    rig_open(r, mode, SMALL_IMAGE);
    publish(r, NEW_VERSION, 60000, 1024);
    fota_flash_emu_plan_cut(r->emu, 130, FOTA_CUT_BEFORE, 1);
    fota_agent_check_now(&r->dev.agent);
    bool rebooted = false;
    fota_agent_run(&r->dev.agent, &r->tr, 100000, &rebooted);
    assert_true(fota_flash_emu_is_cut(r->emu));
    assert_true(r->dev.agent.next_chunk > 4 && r->dev.agent.next_chunk < r->srv.m.chunk_count);
}

/* ---- a whole update ----------------------------------------------------------------------- */

static void update_in_mode(fota_mode_t mode, uint32_t size)
{
    rig_t r;
    rig_open(&r, mode, SMALL_IMAGE);
    publish(&r, NEW_VERSION, size, 1024);
    run_device(&r);
    assert_installed(&r);
    assert_int_equal(r.reboots, 1);
    assert_int_equal(r.srv.refetched, 0);
    /* Once installed, the same offer is not taken again. */
    unsigned before = r.srv.data_requests;
    run_device(&r);
    assert_int_equal(r.srv.data_requests, before);
    assert_running(&r, NEW_VERSION);
    rig_close(&r);
}

static void test_seed_update(void **state)
{
    (void)state;
    update_in_mode(FOTA_MODE_SEED, 200000);
}

static void test_chain_update(void **state)
{
    (void)state;
    update_in_mode(FOTA_MODE_CHAIN, 200000);
}

static void test_chain_update_in_batches(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, FOTA_MODE_CHAIN, SMALL_IMAGE);
    r.dev.agent.cfg.range_records = 7; /* 7 records per Range request */
    publish(&r, NEW_VERSION, 50000, 1024);
    run_device(&r);
    assert_installed(&r);
    assert_int_equal(r.srv.data_requests, (r.srv.m.chunk_count + 6) / 7);
    rig_close(&r);
}

/* ---- progress reports --------------------------------------------------------------------- */

/* The transport, watched: the "done" count of every "downloading" report, in order. */
typedef struct {
    fota_transport_t inner;
    uint32_t done[64];
    unsigned count;
    char first[FOTA_CONFIG_REPORT_MAX + 1]; /* the first report's body */
    char release[FOTA_RELEASE_ID_LEN + 1];  /* the release offered */
} report_spy_t;

static fota_err_t spy_perform(void *ctx, const fota_http_request_t *req, fota_agent_t *agent)
{
    report_spy_t *spy = ctx;
    char body[FOTA_CONFIG_REPORT_MAX + 1];
    if (strcmp(req->method, "POST") == 0 && req->body_len < sizeof body) {
        memcpy(body, req->body, req->body_len);
        body[req->body_len] = '\0';
        if (spy->first[0] == '\0') {
            memcpy(spy->first, body, req->body_len + 1);
        }
        const char *done = strstr(body, "\"done\":");
        if (strstr(body, "\"state\":\"downloading\"") != NULL && done != NULL) {
            assert_true(spy->count < 64);
            spy->done[spy->count++] = (uint32_t)strtoul(done + 7, NULL, 10);
        }
    }
    return spy->inner.perform(spy->inner.ctx, req, agent);
}

/* 40 chunks, a progress report every 2, Ranges of `records` records (0: one Range). */
static void progress_run(fota_mode_t mode, uint32_t records, report_spy_t *spy)
{
    rig_t r;
    rig_open(&r, mode, SMALL_IMAGE);
    r.dev.agent.cfg.progress_every = 2;
    r.dev.agent.cfg.range_records = records;
    publish(&r, NEW_VERSION, 40000, 1024);
    memset(spy, 0, sizeof *spy);
    spy->inner = r.tr;
    r.tr.perform = spy_perform;
    r.tr.ctx = spy;
    run_device(&r);
    assert_installed(&r);
    memcpy(spy->release, r.srv.release, sizeof spy->release);
    rig_close(&r);
}

/* A progress report waits only while the connection is busy (chain mode streams many chunks in
 * one Range): one waits at a time, the newest; one still waiting when the download is complete
 * is dropped, since the install and the new image's report follow. No report marks the start:
 * the server sees the first data request. Seed mode sends each as it comes. */
static void test_progress_reports(void **state)
{
    (void)state;
    report_spy_t spy;
    progress_run(FOTA_MODE_CHAIN, 0, &spy); /* one Range: nothing stale after it */
    assert_int_equal(spy.count, 0);
    static const uint32_t batches[] = {6, 14, 20, 28, 34}; /* Ranges end at 7, 14, ... 40 */
    progress_run(FOTA_MODE_CHAIN, 7, &spy);
    assert_int_equal(spy.count, sizeof batches / sizeof batches[0]);
    for (unsigned i = 0; i < spy.count; i++) {
        assert_int_equal(spy.done[i], batches[i]);
    }
    progress_run(FOTA_MODE_SEED, 0, &spy); /* 2, 4, ... 38 */
    assert_int_equal(spy.count, 19);
    for (unsigned i = 0; i < spy.count; i++) {
        assert_int_equal(spy.done[i], 2 * i + 2);
    }
}

/* A report's body, byte for byte (docs/PROTOCOL.md, "report"). */
static void test_report_body(void **state)
{
    (void)state;
    report_spy_t spy;
    progress_run(FOTA_MODE_SEED, 0, &spy);
    char want[FOTA_CONFIG_REPORT_MAX + 1];
    snprintf(want, sizeof want,
             "{\"state\":\"downloading\",\"release\":\"%s\",\"version\":\"" NEW_VERSION
             "\",\"running\":\"" OLD_VERSION "\",\"done\":2,\"total\":40,\"error\":0}",
             spy.release);
    assert_string_equal(spy.first, want);
}

/* Strings in a report are JSON-escaped: a quote and a backslash by a backslash, a control
 * character as \u00XX in upper-case hex (the hex of percent-encoding). */
static void test_report_escapes(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, FOTA_MODE_SEED, SMALL_IMAGE);
    r.dev.agent.cfg.progress_every = 2;
    r.dev.agent.cfg.current_version = "1.0\x1f\"\\";
    publish(&r, NEW_VERSION, 40000, 1024);
    report_spy_t spy;
    memset(&spy, 0, sizeof spy);
    spy.inner = r.tr;
    r.tr.perform = spy_perform;
    r.tr.ctx = &spy;
    fota_agent_check_now(&r.dev.agent);
    bool rebooted = false;
    for (int i = 0; i < 100 && spy.first[0] == '\0'; i++) {
        fota_agent_run(&r.dev.agent, &r.tr, 1, &rebooted);
    }
    assert_non_null(strstr(spy.first, "\"running\":\"1.0\\u001F\\\"\\\\\","));
    rig_close(&r);
}

static void test_nothing_offered(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, FOTA_MODE_CHAIN, SMALL_IMAGE);
    run_device(&r); /* no release: 204 */
    assert_int_equal(r.srv.data_requests, 0);
    publish(&r, OLD_VERSION, SMALL_IMAGE, 1024); /* the version already running */
    run_device(&r);
    assert_int_equal(r.srv.data_requests, 0);
    assert_running(&r, OLD_VERSION);
    rig_close(&r);
}

/* The same download fed in pieces of 1, 7, 1023 and 65536 bytes leaves the same flash. */
static void pieces_in_mode(fota_mode_t mode)
{
    static const size_t pieces[] = {1, 7, 1023, 65536};
    uint8_t first[32];
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        rig_t r;
        rig_open(&r, mode, SMALL_IMAGE);
        publish(&r, NEW_VERSION, 30000, 1024);
        r.srv.piece = pieces[i];
        run_device(&r);
        assert_installed(&r);
        uint8_t d[32];
        digest_flash(&r, d);
        if (i == 0) {
            memcpy(first, d, 32);
        } else {
            assert_memory_equal(first, d, 32);
        }
        rig_close(&r);
    }
}

static void test_pieces_seed(void **state)
{
    (void)state;
    pieces_in_mode(FOTA_MODE_SEED);
}

static void test_pieces_chain(void **state)
{
    (void)state;
    pieces_in_mode(FOTA_MODE_CHAIN);
}

/* ---- refusals ----------------------------------------------------------------------------------
 */

typedef struct {
    const char *name;
    fota_mode_t mode;
    fake_fault_t fault;       /* a fault of the server, or */
    fake_release_spec_t spec; /* a release that must be refused */
    uint32_t floor;           /* device security floor */
    fota_err_t want;
} refusal_t;

static const refusal_t refusals[] = {
    {"wrong chunk number",
     FOTA_MODE_SEED,
     FAKE_CHUNK_WRONG_NUMBER,
     {0},
     0,
     FOTA_ERR_SEED_CHUNK_NUMBER},
    {"bad base64", FOTA_MODE_SEED, FAKE_CHUNK_BAD_BASE64, {0}, 0, FOTA_ERR_SEED_BASE64},
    {"bad MAC", FOTA_MODE_SEED, FAKE_CHUNK_BAD_MAC, {0}, 0, FOTA_ERR_SEED_MAC},
    {"wrong chunk size", FOTA_MODE_SEED, FAKE_CHUNK_SHORT, {0}, 0, FOTA_ERR_SEED_CHUNK_SIZE},
    {"malformed JSON", FOTA_MODE_SEED, FAKE_CHUNK_BAD_JSON, {0}, 0, FOTA_ERR_SEED_JSON},
    {"oversized response",
     FOTA_MODE_SEED,
     FAKE_CHUNK_OVERSIZED,
     {0},
     0,
     FOTA_ERR_HTTP_BODY_TOO_LARGE},
    {"truncated response", FOTA_MODE_CHAIN, FAKE_BREAK, {0}, 0, FOTA_ERR_HTTP_TRUNCATED},
    {"record fails the chain", FOTA_MODE_CHAIN, FAKE_RECORD_FLIP, {0}, 0, FOTA_ERR_CHAIN_MISMATCH},
    {"Content-Length lies", FOTA_MODE_CHAIN, FAKE_LENGTH_LIES, {0}, 0, FOTA_ERR_HTTP_LENGTH},
    {"200 for a Range", FOTA_MODE_CHAIN, FAKE_BLOB_200, {0}, 0, FOTA_ERR_HTTP_RANGE},
    {"bad signature", FOTA_MODE_CHAIN, FAKE_MANIFEST_FLIP, {0}, 0, FOTA_ERR_MANIFEST_SIGNATURE},
    {"another product",
     FOTA_MODE_CHAIN,
     FAKE_OK,
     {.product_id = "other-product"},
     0,
     FOTA_ERR_MANIFEST_PRODUCT},
    {"below the security floor",
     FOTA_MODE_CHAIN,
     FAKE_OK,
     {.secure_version = 2},
     3,
     FOTA_ERR_SECURITY_VERSION},
    {"bigger than the partition",
     FOTA_MODE_CHAIN,
     FAKE_OK,
     {.claim_size = 0x140000u + 4096u},
     0,
     FOTA_ERR_IMAGE_TOO_BIG},
    /* Seed mode: there the manifest's SHA-256 is what binds the data to the signature. In chain
     * mode h_0 does (a signed manifest whose two disagree is the signer's, and fotad refuses it at
     * upload): the chain is checked record by record and nothing hashes the image again. */
    {"final SHA-256 mismatch",
     FOTA_MODE_SEED,
     FAKE_OK,
     {.wrong_sha = true},
     0,
     FOTA_ERR_IMAGE_SHA256},
    {"broken ESP32 header",
     FOTA_MODE_SEED,
     FAKE_OK,
     {.corrupt_header = true},
     0,
     FOTA_ERR_IMAGE_MAGIC},
};

static void refuse_one(const refusal_t *t)
{
    rig_t r;
    rig_open(&r, t->mode, SMALL_IMAGE);
    r.dev.agent.cfg.security_floor = t->floor;
    fake_release_spec_t spec = t->spec;
    spec.version = NEW_VERSION;
    spec.size = 40000;
    spec.chunk_size = 1024;
    fake_server_release(&r.srv, &spec);
    r.srv.fault = t->fault;
    r.srv.fault_chunk = 9;
    r.srv.fault_param = 5000;
    run_device(&r);
    if (fota_agent_last_error(&r.dev.agent) != t->want) {
        fail_msg("%s: got %s, want %s", t->name, fota_err_name(fota_agent_last_error(&r.dev.agent)),
                 fota_err_name(t->want));
    }
    assert_true(error_reported(&r.srv, t->want));
    assert_int_equal(r.reboots, 0);
    if (t->spec.claim_size == 0) {
        assert_only_verified_bytes(&r);
    }
    /* Power cycle: the old image still boots. */
    power_cycle(&r);
    assert_running(&r, OLD_VERSION);
    /* The next honest offer installs cleanly. */
    r.srv.fault = FAKE_OK;
    r.dev.agent.cfg.security_floor = 0;
    publish(&r, NEW_VERSION, 40000, 1024);
    run_device(&r);
    assert_installed(&r);
    rig_close(&r);
}

static void test_refusals(void **state)
{
    (void)state;
    size_t n = sizeof refusals / sizeof refusals[0];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(refusals[i].want, refusals[j].want); /* a distinct code each */
        }
        refuse_one(&refusals[i]);
    }
}

/* An image built for another chip is refused after its download, whichever chip the device is
 * (the agent's chip_id, not a constant): an ESP32-S3 image on an ESP32, an ESP32 image on a
 * device configured as an ESP32-S3. */
static void test_chip_mismatch(void **state)
{
    (void)state;
    static const struct {
        uint16_t device_chip, image_chip;
    } cases[] = {{0, 9}, {9, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rig_t r;
        rig_open(&r, FOTA_MODE_CHAIN, SMALL_IMAGE);
        r.dev.agent.cfg.chip_id = cases[i].device_chip;
        fake_release_spec_t spec = {.version = NEW_VERSION, .size = 40000, .chunk_size = 1024};
        spec.chip_id = cases[i].image_chip;
        fake_server_release(&r.srv, &spec);
        run_device(&r);
        assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_IMAGE_CHIP);
        assert_true(error_reported(&r.srv, FOTA_ERR_IMAGE_CHIP));
        assert_int_equal(r.reboots, 0);
        power_cycle(&r);
        assert_running(&r, OLD_VERSION);
        rig_close(&r);
    }
}

/* A bad MAC made with another device's key, a flipped data bit, swapped records: refused too. */
static void test_forged_data(void **state)
{
    (void)state;
    static const struct {
        fota_mode_t mode;
        fake_fault_t fault;
        fota_err_t want;
    } cases[] = {
        {FOTA_MODE_SEED, FAKE_WRONG_DEVICE_KEY, FOTA_ERR_SEED_MAC},
        {FOTA_MODE_SEED, FAKE_CHUNK_FLIP_DATA, FOTA_ERR_SEED_MAC},
        {FOTA_MODE_CHAIN, FAKE_RECORD_SWAP, FOTA_ERR_CHAIN_MISMATCH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rig_t r;
        rig_open(&r, cases[i].mode, SMALL_IMAGE);
        publish(&r, NEW_VERSION, 40000, 1024);
        r.srv.fault = cases[i].fault;
        r.srv.fault_chunk = 3;
        run_device(&r);
        assert_int_equal(fota_agent_last_error(&r.dev.agent), cases[i].want);
        assert_only_verified_bytes(&r);
        power_cycle(&r);
        assert_running(&r, OLD_VERSION);
        rig_close(&r);
    }
}

/* Seed mode writes chunks that only the device key vouches for: when the signed manifest
 * refuses the image (its SHA-256, or the ESP32 image check), every sector written is erased
 * before the refusal is reported, and the next honest offer installs. */
static void test_seed_refused_image_erased(void **state)
{
    (void)state;
    static const struct {
        fake_release_spec_t spec;
        fota_err_t want;
    } cases[] = {
        {{.wrong_sha = true}, FOTA_ERR_IMAGE_SHA256},
        {{.corrupt_header = true}, FOTA_ERR_IMAGE_MAGIC},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rig_t r;
        rig_open(&r, FOTA_MODE_SEED, SMALL_IMAGE);
        fake_release_spec_t spec = cases[i].spec;
        spec.version = NEW_VERSION;
        spec.size = 40000;
        spec.chunk_size = 1024;
        fake_server_release(&r.srv, &spec);
        run_device(&r);
        assert_int_equal(fota_agent_last_error(&r.dev.agent), cases[i].want);
        assert_true(error_reported(&r.srv, cases[i].want));
        assert_int_equal(r.dev.agent.refused, FOTA_OK);
        assert_slot_clean(&r);
        power_cycle(&r);
        assert_running(&r, OLD_VERSION);
        publish(&r, NEW_VERSION, 40000, 1024);
        run_device(&r);
        assert_installed(&r);
        rig_close(&r);
    }
}

/* A refused seed image (the manifest's SHA-256 does not match) on a rig of its own. */
static void refused_seed_rig(rig_t *r)
{
    rig_open(r, FOTA_MODE_SEED, SMALL_IMAGE);
    fake_release_spec_t spec = {
        .version = NEW_VERSION, .size = 40000, .chunk_size = 1024, .wrong_sha = true};
    fake_server_release(&r->srv, &spec);
}

/* The flash operations, counted from the check, during which the refused image is erased: one
 * erase per sector written, from the poll after the refusal on. */
static void erase_window(uint64_t *first, uint64_t *end)
{
    rig_t r;
    refused_seed_rig(&r);
    uint64_t start = flash_ops(&r);
    fota_flash_stats_t before, after;
    fota_flash_emu_stats(r.emu, &before);
    *first = 0;
    fota_agent_check_now(&r.dev.agent);
    for (int step = 0; step < 100000 && r.dev.agent.refused == FOTA_OK; step++) {
        bool rebooted = false;
        assert_int_equal(fota_agent_run(&r.dev.agent, &r.tr, 1, &rebooted), FOTA_OK);
        assert_false(rebooted);
        r.dev.clock.now_ms += 1000;
    }
    assert_int_not_equal(r.dev.agent.refused, FOTA_OK);
    *first = flash_ops(&r) - start;
    *end = *first + (40000 + SECTOR - 1) / SECTOR;
    fota_flash_emu_stats(r.emu, &before);
    while (r.dev.agent.refused != FOTA_OK) {
        bool rebooted = false;
        assert_int_equal(fota_agent_run(&r.dev.agent, &r.tr, 1, &rebooted), FOTA_OK);
    }
    fota_flash_emu_stats(r.emu, &after);
    assert_int_equal(after.sectors_erased - before.sectors_erased, *end - *first);
    rig_close(&r);
}

/* A power cut while the refused image is erased (before an erase or in the middle of one): the
 * old image boots, the journal says the slot is being erased, so the agent erases it again from
 * its start and reports the refusal; then the next honest offer installs. */
static void test_cut_while_erasing_refused_image(void **state)
{
    (void)state;
    uint64_t first, end;
    erase_window(&first, &end);
    for (uint64_t at = first; at < end; at++) {
        for (int how = FOTA_CUT_BEFORE; how <= FOTA_CUT_TORN; how++) {
            rig_t r;
            refused_seed_rig(&r);
            fota_flash_emu_plan_cut(r.emu, at, (fota_cut_mode_t)how, at * 7u + 1u);
            fota_agent_check_now(&r.dev.agent);
            for (int i = 0; i < 1000 && !fota_flash_emu_is_cut(r.emu); i++) {
                bool rebooted = false;
                fota_agent_run(&r.dev.agent, &r.tr, 100000, &rebooted);
                assert_false(rebooted);
                r.dev.clock.now_ms += 61000;
            }
            fota_flash_cut_info_t cut;
            fota_flash_emu_last_cut(r.emu, &cut);
            assert_true(cut.happened);
            assert_int_equal(cut.op, FOTA_FLASH_OP_ERASE);
            assert_true(cut.addr >= slot_offset(1) && cut.addr < slot_offset(1) + 40960u);
            assert_false(error_reported(&r.srv, FOTA_ERR_IMAGE_SHA256));
            power_cycle(&r);
            assert_running(&r, OLD_VERSION);
            run_device(&r);
            assert_true(error_reported(&r.srv, FOTA_ERR_IMAGE_SHA256));
            assert_slot_clean(&r);
            assert_int_equal(r.reboots, 0);
            publish(&r, NEW_VERSION, 40000, 1024);
            run_device(&r);
            assert_installed(&r);
            rig_close(&r);
        }
    }
}

/* The agent's flash port, watched: the erase after `fail_at` more erases fails once (an erase
 * the chip refused), the others go through. */
typedef struct {
    fota_flash_t inner;
    int fail_at; /* erases to let through before the failing one; -1: none */
    unsigned failed;
} erase_fault_t;

static fota_err_t faulty_erase(void *ctx, uint32_t addr, uint32_t len)
{
    erase_fault_t *f = ctx;
    if (f->fail_at == 0) {
        f->fail_at = -1;
        f->failed++;
        return FOTA_ERR_FLASH_FILE;
    }
    if (f->fail_at > 0) {
        f->fail_at--;
    }
    return f->inner.erase(f->inner.ctx, addr, len);
}

static fota_err_t faulty_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    erase_fault_t *f = ctx;
    return f->inner.read(f->inner.ctx, addr, buf, len);
}

static fota_err_t faulty_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    erase_fault_t *f = ctx;
    return f->inner.write(f->inner.ctx, addr, buf, len);
}

/* An erase that fails in the middle of erasing a refused seed image is tried again (after a
 * back-off): the slot ends erased, the journal cleared, and the refusal is what is reported. */
static void test_wipe_erase_failure_retried(void **state)
{
    (void)state;
    rig_t r;
    refused_seed_rig(&r);
    erase_fault_t f = {r.dev.agent.port.flash, -1, 0};
    r.dev.agent.port.flash.ctx = &f;
    r.dev.agent.port.flash.read = faulty_read;
    r.dev.agent.port.flash.write = faulty_write;
    r.dev.agent.port.flash.erase = faulty_erase;
    fota_agent_check_now(&r.dev.agent);
    for (int step = 0; step < 100000 && r.dev.agent.refused == FOTA_OK; step++) {
        bool rebooted = false;
        assert_int_equal(fota_agent_run(&r.dev.agent, &r.tr, 1, &rebooted), FOTA_OK);
        r.dev.clock.now_ms += 1000;
    }
    assert_int_equal(r.dev.agent.refused, FOTA_ERR_IMAGE_SHA256);
    f.fail_at = 3;       /* the fourth sector of the erase */
    r.srv.offer = false; /* the release is offered no more: nothing but the erase can clean up */
    unsigned data = r.srv.data_requests;
    run_device(&r);
    assert_int_equal(f.failed, 1);
    assert_int_equal(r.srv.data_requests, data); /* the same erase went on: nothing fetched */
    assert_false(error_reported(&r.srv, FOTA_ERR_FLASH_FILE));
    assert_true(error_reported(&r.srv, FOTA_ERR_IMAGE_SHA256));
    assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_IMAGE_SHA256);
    assert_int_equal(r.dev.agent.refused, FOTA_OK);
    assert_false(r.dev.agent.journaled);
    assert_slot_clean(&r);
    r.dev.agent.port.flash = f.inner;
    power_cycle(&r);
    assert_running(&r, OLD_VERSION);
    publish(&r, NEW_VERSION, 40000, 1024);
    r.srv.offer = true;
    run_device(&r);
    assert_installed(&r);
    rig_close(&r);
}

/* Run the device for a while with the clock past every back-off (the server being gone, reports
 * stay queued: it never settles). */
static void run_while_gone(rig_t *r)
{
    fota_agent_check_now(&r->dev.agent);
    for (int n = 0; n < 200; n++) {
        bool rebooted = false;
        fota_agent_run(&r->dev.agent, &r->tr, 1000, &rebooted);
        assert_false(rebooted);
        r->dev.clock.now_ms += 61000;
    }
}

/* A store that says whether a journal record is saved. */
static bool journal_saved(rig_t *r)
{
    uint8_t buf[256];
    size_t len = 0;
    return r->dev.agent.port.store.load(r->dev.agent.port.store.ctx, buf, sizeof buf, &len) ==
           FOTA_OK;
}

/* Power cut just before the refused image's erase begins, or in the middle of it, then the
 * server is gone for good (every request fails): the slot is erased all the same, from the
 * journal alone, and the journal cleared. */
static void test_wipe_without_server(void **state)
{
    (void)state;
    uint64_t first, end;
    erase_window(&first, &end);
    const uint64_t cuts[] = {first - 1, first, (first + end) / 2};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        rig_t r;
        refused_seed_rig(&r);
        fota_flash_emu_plan_cut(r.emu, cuts[i], FOTA_CUT_BEFORE, 1);
        fota_agent_check_now(&r.dev.agent);
        for (int n = 0; n < 1000 && !fota_flash_emu_is_cut(r.emu); n++) {
            bool rebooted = false;
            fota_agent_run(&r.dev.agent, &r.tr, 100000, &rebooted);
            r.dev.clock.now_ms += 61000;
        }
        assert_true(fota_flash_emu_is_cut(r.emu));
        r.srv.fault = FAKE_STATUS_500;
        r.srv.fault_times = -1;
        r.srv.offer = false;
        r.srv.device_key[0] ^= 1; /* every request refused, the manifest included */
        power_cycle(&r);
        assert_running(&r, OLD_VERSION);
        run_while_gone(&r);
        assert_int_equal(fota_agent_state(&r.dev.agent), FOTA_STATE_IDLE);
        assert_false(journal_saved(&r));
        assert_slot_clean(&r);
        assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_HTTP_AUTH);
        rig_close(&r);
    }
}

/* The first `bytes` bytes of the update slot hold the published image. */
static void assert_slot_holds(rig_t *r, size_t bytes)
{
    uint8_t *slot = read_flash(r, slot_offset(1), bytes);
    assert_memory_equal(slot, r->srv.image, bytes);
    free(slot);
}

/* The transport, cut off: after `data_left` data requests (chunk or blob) every request fails
 * to connect, as if the server were gone. */
typedef struct {
    fota_transport_t inner;
    int data_left; /* -1: cut off from the start */
} gone_t;

static fota_err_t gone_perform(void *ctx, const fota_http_request_t *req, fota_agent_t *agent)
{
    gone_t *g = ctx;
    bool data = strstr(req->target, "/chunk?") != NULL || strstr(req->target, "/blob/") != NULL;
    if (g->data_left > 0 && data) {
        g->data_left--;
    } else if (g->data_left <= 0 && (data || g->data_left < 0)) {
        g->data_left = -1;
        fota_agent_response_end(agent, FOTA_ERR_HTTP_CONNECT);
        return FOTA_ERR_HTTP_CONNECT;
    }
    return g->inner.perform(g->inner.ctx, req, agent);
}

/* A download abandoned half-way: after 20 chunks (seed: 20 requests; chain: 4 Ranges of 5
 * records) the server is gone until the agent gives up. Seed mode erases the chunks it wrote
 * (only the device key vouched for them); chain mode keeps them (the signed chain did). Once the
 * server is back, the next attempt installs. */
static void test_abandoned_download(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        rig_t r;
        rig_open(&r, (fota_mode_t)mode, SMALL_IMAGE);
        r.dev.agent.cfg.range_records = 5;
        publish(&r, NEW_VERSION, 60000, 1024);
        gone_t g = {r.tr, mode == FOTA_MODE_SEED ? 20 : 4};
        fota_transport_t inner = r.tr;
        r.tr.perform = gone_perform;
        r.tr.ctx = &g;
        run_while_gone(&r);
        assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_HTTP_CONNECT);
        assert_int_equal(fota_agent_state(&r.dev.agent), FOTA_STATE_IDLE);
        assert_false(journal_saved(&r));
        if (mode == FOTA_MODE_SEED) {
            assert_slot_clean(&r);
        } else {
            assert_slot_holds(&r, 20u * 1024u);
        }
        r.tr = inner;
        power_cycle(&r);
        assert_running(&r, OLD_VERSION);
        run_device(&r);
        assert_installed(&r);
        rig_close(&r);
    }
}

/* A seed download cut by a power failure half-way, then the server is gone: after the reboot the
 * agent cannot fetch the manifest again and gives up, and the chunks the journal says were
 * written are erased all the same. */
static void test_abandoned_resume_erased(void **state)
{
    (void)state;
    rig_t r;
    cut_mid_download(&r, FOTA_MODE_SEED);
    gone_t g = {r.tr, -1};
    r.tr.perform = gone_perform;
    r.tr.ctx = &g;
    power_cycle(&r);
    assert_int_equal(fota_agent_state(&r.dev.agent), FOTA_STATE_MANIFEST);
    run_while_gone(&r);
    assert_int_equal(fota_agent_state(&r.dev.agent), FOTA_STATE_IDLE);
    assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_HTTP_CONNECT);
    assert_false(journal_saved(&r));
    assert_slot_clean(&r);
    rig_close(&r);
}

/* A download's journal record says how far the slot may hold unverified bytes (the extent,
 * bytes 144..147) in seed mode only: a chain download writes nothing the chain has not verified,
 * and its records leave the extent 0. */
static void test_extent_journaled_in_seed_mode_only(void **state)
{
    (void)state;
    for (int mode = FOTA_MODE_SEED; mode <= FOTA_MODE_CHAIN; mode++) {
        rig_t r;
        cut_mid_download(&r, (fota_mode_t)mode);
        fota_flash_emu_power_on(r.emu); /* the store reads its own sectors */
        uint8_t rec[160];
        size_t len = 0;
        const fota_store_t *store = &r.dev.agent.port.store;
        assert_int_equal(store->load(store->ctx, rec, sizeof rec, &len), FOTA_OK);
        assert_int_equal(len, sizeof rec);
        assert_int_equal(rec[5], 1); /* downloading */
        uint32_t extent = fota_get_le32(rec + 144);
        if (mode == FOTA_MODE_SEED) {
            assert_true(extent > 0 && extent % SECTOR == 0);
        } else {
            assert_int_equal(extent, 0);
        }
        rig_close(&r);
    }
}

/* The transport with the manifest out of reach: every other request goes through. */
static fota_err_t no_manifest_perform(void *ctx, const fota_http_request_t *req,
                                      fota_agent_t *agent)
{
    const fota_transport_t *inner = ctx;
    if (strstr(req->target, "/manifest?") != NULL) {
        fota_agent_response_end(agent, FOTA_ERR_HTTP_CONNECT);
        return FOTA_ERR_HTTP_CONNECT;
    }
    return inner->perform(inner->ctx, req, agent);
}

static bool postpone(void *ctx, const fota_manifest_t *m)
{
    (void)ctx;
    (void)m;
    return false;
}

/* A seed download cut by a power failure half-way; after the reboot the application postpones
 * the download (may_download says no), and at the next offer the manifest cannot be fetched
 * until the agent gives up: the chunks written before the reboot are still erased (how far the
 * slot may hold unverified bytes is kept until it is erased, not forgotten with the offer). */
static void test_postponed_resume_then_abandoned(void **state)
{
    (void)state;
    rig_t r;
    cut_mid_download(&r, FOTA_MODE_SEED);
    power_cycle(&r);
    assert_int_equal(fota_agent_state(&r.dev.agent), FOTA_STATE_MANIFEST);
    r.dev.agent.cfg.may_download = postpone;
    bool rebooted = false;
    fota_agent_run(&r.dev.agent, &r.tr, 100, &rebooted);
    assert_int_equal(fota_agent_state(&r.dev.agent), FOTA_STATE_IDLE);
    assert_true(journal_saved(&r));
    r.dev.agent.cfg.may_download = NULL;
    r.srv.no_embedded_manifest = true; /* the manifest comes only by its own request */
    fota_transport_t inner = r.tr;
    r.tr.perform = no_manifest_perform;
    r.tr.ctx = &inner;
    run_while_gone(&r);
    assert_int_equal(fota_agent_state(&r.dev.agent), FOTA_STATE_IDLE);
    assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_HTTP_CONNECT);
    assert_false(journal_saved(&r));
    assert_slot_clean(&r);
    r.tr = inner;
    run_device(&r);
    assert_installed(&r);
    rig_close(&r);
}

/* A transient fault (one broken connection, one 500) is retried and the update completes. */
static void test_transient_faults_retried(void **state)
{
    (void)state;
    static const fake_fault_t faults[] = {FAKE_BREAK, FAKE_STATUS_500, FAKE_CHUNK_BAD_MAC};
    for (int mode = 0; mode < 2; mode++) {
        for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
            rig_t r;
            rig_open(&r, (fota_mode_t)mode, SMALL_IMAGE);
            publish(&r, NEW_VERSION, 40000, 1024);
            r.srv.fault = faults[i];
            r.srv.fault_times = 2;
            r.srv.fault_chunk = 5;
            r.srv.fault_param = 7000;
            run_device(&r);
            assert_installed(&r);
            rig_close(&r);
        }
    }
}

/* The manifest of the release being downloaded changes in the middle: refused. */
static void test_manifest_changes_mid_download(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        rig_t r;
        cut_mid_download(&r, (fota_mode_t)mode);
        publish(&r, "2.0.1", 60000, 1024); /* the server now has another manifest */
        power_cycle(&r);
        run_device(&r);
        /* The interrupted download is refused, then the new release is installed from zero. */
        assert_true(error_reported(&r.srv, FOTA_ERR_MANIFEST_CHANGED));
        assert_running(&r, "2.0.1");
        uint8_t *slot = read_flash(&r, slot_offset(1), r.srv.image_len);
        assert_memory_equal(slot, r.srv.image, r.srv.image_len);
        free(slot);
        rig_close(&r);
    }
}

/* Wrong credentials: the server says 401 and the agent says why. */
static void test_auth_refused(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, FOTA_MODE_CHAIN, SMALL_IMAGE);
    publish(&r, NEW_VERSION, 40000, 1024);
    r.srv.device_key[0] ^= 1;
    fota_agent_check_now(&r.dev.agent);
    bool rebooted;
    fota_agent_run(&r.dev.agent, &r.tr, 100, &rebooted);
    assert_true(r.srv.auth_failures > 0);
    assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_HTTP_AUTH);
    assert_int_equal(r.srv.data_requests, 0);
    rig_close(&r);
}

/* ---- a flash that lies ----------------------------------------------------------------------- */

#define SLOT_SIZE 0x140000u

/* The agent's flash port over one that takes a write without error but stores one byte of it
 * with a bit cleared (a worn cell), once, at `target`; and counts what is read from the slot. */
typedef struct {
    fota_flash_t inner;
    uint32_t target; /* 0: no lie */
    unsigned lies;
    unsigned slot_writes_after; /* writes into the slot after the lie */
    uint64_t slot_bytes_read;
} lying_flash_t;

static bool in_slot(uint32_t addr)
{
    return addr >= slot_offset(1) && addr < slot_offset(1) + SLOT_SIZE;
}

static fota_err_t lying_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    lying_flash_t *f = ctx;
    if (in_slot(addr)) {
        f->slot_bytes_read += len;
    }
    return f->inner.read(f->inner.ctx, addr, buf, len);
}

static fota_err_t lying_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    lying_flash_t *f = ctx;
    if (f->lies > 0 && in_slot(addr)) {
        f->slot_writes_after++;
    }
    if (f->target == 0 || f->target < addr || f->target >= addr + len) {
        return f->inner.write(f->inner.ctx, addr, buf, len);
    }
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, buf, len);
    copy[f->target - addr] ^= 0x10; /* set or clear: the byte lands on erased flash either way */
    fota_err_t err = f->inner.write(f->inner.ctx, addr, copy, len);
    free(copy);
    f->target = 0;
    f->lies++;
    return err;
}

static fota_err_t lying_erase(void *ctx, uint32_t addr, uint32_t len)
{
    lying_flash_t *f = ctx;
    return f->inner.erase(f->inner.ctx, addr, len);
}

static void lie_to(rig_t *r, lying_flash_t *f, uint32_t target)
{
    memset(f, 0, sizeof *f);
    f->inner = r->dev.agent.port.flash;
    f->target = target;
    r->dev.agent.port.flash.ctx = f;
    r->dev.agent.port.flash.read = lying_read;
    r->dev.agent.port.flash.write = lying_write;
    r->dev.agent.port.flash.erase = lying_erase;
}

/* A chunk the flash stores wrongly without an error is caught at that chunk, by the read-back
 * after its write: the download stops there (nothing more is written, the chunk is not counted,
 * the slot never switched) with FOTA_ERR_FLASH_VERIFY, and the next offer installs the image. */
static void test_lying_flash_caught_at_chunk(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        rig_t r;
        rig_open(&r, (fota_mode_t)mode, SMALL_IMAGE);
        publish(&r, NEW_VERSION, 40000, 1024);
        lying_flash_t f;
        lie_to(&r, &f, slot_offset(1) + 5u * 1024u + 100u); /* chunk 5, mid-sector */
        fota_agent_check_now(&r.dev.agent);
        for (int step = 0; step < 10000 && fota_agent_last_error(&r.dev.agent) == FOTA_OK; step++) {
            bool rebooted = false;
            assert_int_equal(fota_agent_run(&r.dev.agent, &r.tr, 1, &rebooted), FOTA_OK);
            assert_false(rebooted);
        }
        assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_FLASH_VERIFY);
        assert_int_equal(f.lies, 1);
        assert_int_equal(f.slot_writes_after, 0);
        assert_int_equal(r.dev.agent.next_chunk, 5);
        assert_int_equal(r.reboots, 0);
        run_device(&r);
        assert_true(error_reported(&r.srv, FOTA_ERR_FLASH_VERIFY));
        assert_installed(&r);
        rig_close(&r);
    }
}

/* Chain mode reads the slot back once per chunk (the comparison after its write) and once for the
 * image's layout: the image is not hashed again. Seed mode hashes it (a third read). */
static void test_chain_no_second_hash(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        rig_t r;
        rig_open(&r, (fota_mode_t)mode, SMALL_IMAGE);
        publish(&r, NEW_VERSION, 40000, 1024);
        lying_flash_t f;
        lie_to(&r, &f, 0);
        fota_agent_check_now(&r.dev.agent);
        bool rebooted = false;
        for (int i = 0; i < 100 && !rebooted; i++) {
            fota_agent_run(&r.dev.agent, &r.tr, 100000, &rebooted);
        }
        assert_true(rebooted);
        uint64_t image = r.srv.image_len;
        if (mode == FOTA_MODE_CHAIN) {
            assert_true(f.slot_bytes_read <= 2u * image + 1024u);
        } else {
            assert_true(f.slot_bytes_read >= 3u * image - 1024u);
        }
        rig_close(&r);
    }
}

/* Clear bit 0x10 in two bytes of the slot's image that have it (the image's XOR checksum stays
 * right: only a hash sees it). */
static void spoil_slot(rig_t *r)
{
    uint32_t base = slot_offset(1);
    uint8_t *img = read_flash(r, base, r->srv.image_len);
    unsigned done = 0;
    for (uint32_t i = 4096; i < r->srv.image_len - 64 && done < 2; i++) {
        if ((img[i] & 0x10u) != 0) {
            uint8_t b = (uint8_t)(img[i] & ~0x10u);
            assert_int_equal(fota_flash_emu_write(r->emu, base + i, &b, 1), FOTA_OK);
            done++;
            i += 1000;
        }
    }
    assert_int_equal(done, 2);
    free(img);
}

/* An image the bootloader rolled back is verified again from the slot before it is switched to
 * again; its bytes were compared in an earlier attempt, not this one, so chain mode hashes it as
 * seed mode does: a slot changed since is refused (FOTA_ERR_IMAGE_SHA256), also when a power cut
 * stops that check half-way, and the release is downloaded again. */
static void test_rolled_back_image_hashed_again(void **state)
{
    (void)state;
    for (int cut = 0; cut < 2; cut++) {
        rig_t r;
        rig_open(&r, FOTA_MODE_CHAIN, SMALL_IMAGE);
        publish(&r, NEW_VERSION, 40000, 1024);
        fota_agent_check_now(&r.dev.agent);
        bool rebooted = false;
        for (int i = 0; i < 100 && !rebooted; i++) {
            fota_agent_run(&r.dev.agent, &r.tr, 100000, &rebooted);
        }
        assert_true(rebooted);
        fota_boot_info_t first;
        fota_flash_t flash = fota_flash_emu_port(r.emu);
        assert_int_equal(fota_bootloader_run(&flash, &first), FOTA_OK); /* boots, then reset */
        power_cycle(&r);
        assert_running(&r, OLD_VERSION);
        spoil_slot(&r);
        unsigned data = r.srv.data_requests;
        if (cut) {
            fota_agent_check_now(&r.dev.agent);
            for (int i = 0; i < 1000 && !(fota_agent_state(&r.dev.agent) == FOTA_STATE_VERIFYING &&
                                          r.dev.agent.verify_offset > 0);
                 i++) {
                fota_agent_run(&r.dev.agent, &r.tr, 1, &rebooted);
                assert_false(rebooted);
            }
            assert_int_equal(fota_agent_state(&r.dev.agent), FOTA_STATE_VERIFYING);
            assert_int_equal(r.srv.data_requests, data);
            fota_emu_device_power_off(&r.dev); /* at the next flash operation: the next read */
            fota_agent_run(&r.dev.agent, &r.tr, 1, &rebooted);
            assert_true(fota_flash_emu_is_cut(r.emu));
            power_cycle(&r);
        }
        run_device(&r);
        assert_true(error_reported(&r.srv, FOTA_ERR_IMAGE_SHA256));
        run_device(&r); /* the next check (if the refusal ended the run): downloaded again */
        assert_true(r.srv.data_requests > data);
        assert_installed(&r);
        rig_close(&r);
    }
}

/* ---- power cuts ------------------------------------------------------------------------------ */

/* Cut the power at flash operation `at` of the download, reboot, resume, finish. */
static void cut_and_resume(fota_mode_t mode, uint64_t at, fota_cut_mode_t how, uint64_t seed)
{
    rig_t r;
    rig_open(&r, mode, SMALL_IMAGE);
    publish(&r, NEW_VERSION, SMALL_IMAGE, 1024);
    r.srv.piece = 512;
    fota_flash_emu_plan_cut(r.emu, at, how, seed);
    fota_agent_check_now(&r.dev.agent);
    for (int i = 0; i < 1000 && !fota_flash_emu_is_cut(r.emu); i++) {
        bool rebooted = false;
        fota_agent_run(&r.dev.agent, &r.tr, 100000, &rebooted);
        if (rebooted) {
            break;
        }
        r.dev.clock.now_ms += 61000;
    }
    assert_true(fota_flash_emu_is_cut(r.emu));
    power_cycle(&r);
    run_device(&r);
    assert_installed(&r);
    /* At most one sector of data fetched again (plus the chunk being written at the cut). */
    assert_true(r.srv.refetched <= SECTOR / 1024u + 1u);
    rig_close(&r);
}

static void cuts_in_mode(fota_mode_t mode)
{
    /* How many flash operations a whole download takes, measured on a clean run. */
    rig_t r;
    rig_open(&r, mode, SMALL_IMAGE);
    publish(&r, NEW_VERSION, SMALL_IMAGE, 1024);
    uint64_t before = flash_ops(&r);
    fota_agent_check_now(&r.dev.agent);
    bool rebooted = false;
    for (int i = 0; i < 100 && !rebooted; i++) {
        fota_agent_run(&r.dev.agent, &r.tr, 100000, &rebooted);
    }
    assert_true(rebooted);
    uint64_t total = flash_ops(&r) - before;
    rig_close(&r);
    assert_true(total > 64);
    for (uint64_t at = 0; at < total; at += total / 23u + 1u) {
        cut_and_resume(mode, at, FOTA_CUT_BEFORE, at);
        cut_and_resume(mode, at, FOTA_CUT_TORN, at * 31u + 7u);
    }
}

static void test_cuts_seed(void **state)
{
    (void)state;
    cuts_in_mode(FOTA_MODE_SEED);
}

static void test_cuts_chain(void **state)
{
    (void)state;
    cuts_in_mode(FOTA_MODE_CHAIN);
}

/* ---- confirm and rollback -------------------------------------------------------------------- */

static void test_rollback(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        rig_t r;
        rig_open(&r, (fota_mode_t)mode, SMALL_IMAGE);
        fake_release_spec_t spec = {0};
        spec.version = NEW_VERSION;
        spec.size = 40000;
        spec.chunk_size = 1024;
        spec.emu_flags = FOTA_EMU_FLAG_SELFTEST_FAIL;
        fake_server_release(&r.srv, &spec);
        r.srv.offer = true;
        fota_agent_check_now(&r.dev.agent);
        bool rebooted = false;
        for (int i = 0; i < 100 && !rebooted; i++) {
            fota_agent_run(&r.dev.agent, &r.tr, 100000, &rebooted);
        }
        assert_true(rebooted);
        r.srv.offer = false; /* the server stops offering it (as fotad does after a rollback) */
        power_cycle(&r);     /* boots the new image, its self-test fails, reset, rolled back */
        assert_true(r.dev.boots >= 3);
        assert_running(&r, OLD_VERSION);
        assert_int_equal(fota_agent_state(&r.dev.agent), FOTA_STATE_IDLE);
        assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_AGENT_ROLLED_BACK);
        run_device(&r); /* delivers the report */
        assert_true(fake_server_got_report(&r.srv, "rolled_back"));
        assert_false(fake_server_got_report(&r.srv, "confirmed"));
        /* Reported once: the journal is gone, another reboot reports nothing new. */
        unsigned reports = r.srv.report_count;
        power_cycle(&r);
        run_device(&r);
        assert_int_equal(r.srv.report_count, reports);
        rig_close(&r);
    }
}

/* The device is reset during the new image's first boot, before the application confirms it
 * (a power cut): ESP-IDF's bootloader rolls back. The next offer of the same release verifies
 * the image still in the slot and installs it again, without downloading a byte. */
static void test_reset_before_confirm_retries_without_download(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        rig_t r;
        rig_open(&r, (fota_mode_t)mode, SMALL_IMAGE);
        publish(&r, NEW_VERSION, 40000, 1024);
        fota_agent_check_now(&r.dev.agent);
        bool rebooted = false;
        for (int i = 0; i < 100 && !rebooted; i++) {
            fota_agent_run(&r.dev.agent, &r.tr, 100000, &rebooted);
        }
        assert_true(rebooted);
        fota_boot_info_t first;
        fota_flash_t flash = fota_flash_emu_port(r.emu);
        assert_int_equal(fota_bootloader_run(&flash, &first), FOTA_OK); /* boots, then reset */
        assert_int_equal(first.ota_state, FOTA_OTA_IMG_PENDING_VERIFY);
        power_cycle(&r);
        assert_running(&r, OLD_VERSION);
        assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_AGENT_ROLLED_BACK);
        unsigned data = r.srv.data_requests;
        run_device(&r);
        assert_installed(&r);
        assert_true(fake_server_got_report(&r.srv, "rolled_back"));
        assert_int_equal(r.srv.data_requests, data);
        rig_close(&r);
    }
}

/* An image that fails its self-test is tried FOTA_CONFIG_MAX_INSTALL_ATTEMPTS times (from the
 * slot: downloaded once), then refused while it is offered. */
static void test_failing_image_gives_up(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, FOTA_MODE_CHAIN, SMALL_IMAGE);
    fake_release_spec_t spec = {.version = NEW_VERSION,
                                .size = 40000,
                                .chunk_size = 1024,
                                .emu_flags = FOTA_EMU_FLAG_SELFTEST_FAIL};
    fake_server_release(&r.srv, &spec);
    run_device(&r);
    assert_running(&r, OLD_VERSION);
    unsigned data = r.srv.data_requests;
    assert_true(data > 0);
    for (int i = 1; i < FOTA_CONFIG_MAX_INSTALL_ATTEMPTS; i++) {
        run_device(&r); /* verified from the slot, installed, fails again */
        assert_running(&r, OLD_VERSION);
    }
    unsigned boots = r.dev.boots;
    run_device(&r); /* refused now */
    assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_AGENT_ROLLED_BACK);
    assert_true(error_reported(&r.srv, FOTA_ERR_AGENT_ROLLED_BACK));
    assert_int_equal(r.dev.boots, boots);
    assert_int_equal(r.srv.data_requests, data);
    assert_running(&r, OLD_VERSION);
    /* Another release is installed as usual. */
    publish(&r, "2.0.1", 40000, 1024);
    run_device(&r);
    assert_running(&r, "2.0.1");
    rig_close(&r);
}

/* A reboot before the application confirms: the image stays pending, the agent waits for it. */
static void test_confirm_by_application(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, FOTA_MODE_CHAIN, SMALL_IMAGE);
    publish(&r, NEW_VERSION, 40000, 1024);
    fota_agent_check_now(&r.dev.agent);
    bool rebooted = false;
    for (int i = 0; i < 100 && !rebooted; i++) {
        fota_agent_run(&r.dev.agent, &r.tr, 100000, &rebooted);
    }
    assert_true(rebooted);
    assert_int_equal(fota_agent_state(&r.dev.agent), FOTA_STATE_REBOOTING);
    power_cycle(&r); /* the emulated app passes its self-test and calls fota_agent_confirm */
    assert_int_equal(fota_agent_state(&r.dev.agent), FOTA_STATE_IDLE);
    assert_int_equal(fota_agent_confirm(&r.dev.agent), FOTA_OK); /* again: harmless */
    run_device(&r);
    assert_installed(&r);
    rig_close(&r);
}

/* ---- configuration ------------------------------------------------------------------------- */

static void test_init_refuses_missing_ports(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, FOTA_MODE_CHAIN, SMALL_IMAGE);
    fota_agent_t a;
    fota_agent_config_t cfg = r.dev.agent.cfg;
    fota_ports_t ports = r.dev.agent.port;
    ports.store.save = NULL;
    assert_int_equal(fota_agent_init(&a, &cfg, &ports), FOTA_ERR_ARG);
    ports = r.dev.agent.port;
    cfg.release_key = NULL;
    assert_int_equal(fota_agent_init(&a, &cfg, &ports), FOTA_ERR_ARG);
    cfg = r.dev.agent.cfg;
    assert_int_equal(fota_agent_init(&a, &cfg, &ports), FOTA_OK);
    fota_agent_deinit(&a);
    rig_close(&r);
}

/* Every pointer the agent calls or reads is required: each one left NULL alone is refused. */
static void test_init_refuses_each_missing_pointer(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, FOTA_MODE_CHAIN, SMALL_IMAGE);
    fota_agent_t a;
    fota_agent_config_t cfg = r.dev.agent.cfg;
    fota_ports_t ports = r.dev.agent.port;
    const void **fields[] = {
        (const void **)&cfg.device_id,   (const void **)&cfg.device_key,
        (const void **)&cfg.product_id,  (const void **)&cfg.current_version,
        (const void **)&cfg.release_key,
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        cfg = r.dev.agent.cfg;
        *fields[i] = NULL;
        assert_int_equal(fota_agent_init(&a, &cfg, &ports), FOTA_ERR_ARG);
    }
    cfg = r.dev.agent.cfg;
    /* The ports as a firmware fills them: each function pointer in turn. */
    size_t fns[] = {
        offsetof(fota_ports_t, flash.read),      offsetof(fota_ports_t, flash.write),
        offsetof(fota_ports_t, flash.erase),     offsetof(fota_ports_t, boot.update_partition),
        offsetof(fota_ports_t, boot.set_boot),   offsetof(fota_ports_t, boot.running_state),
        offsetof(fota_ports_t, boot.confirm),    offsetof(fota_ports_t, boot.reboot),
        offsetof(fota_ports_t, store.load),      offsetof(fota_ports_t, store.save),
        offsetof(fota_ports_t, store.clear),     offsetof(fota_ports_t, clock.now_ms),
        offsetof(fota_ports_t, clock.unix_time), offsetof(fota_ports_t, clock.random),
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        ports = r.dev.agent.port;
        void (*none)(void) = NULL;
        memcpy((char *)&ports + fns[i], &none, sizeof none);
        assert_int_equal(fota_agent_init(&a, &cfg, &ports), FOTA_ERR_ARG);
    }
    ports = r.dev.agent.port;
    ports.flash.sector_size = 0;
    assert_int_equal(fota_agent_init(&a, &cfg, &ports), FOTA_ERR_ARG);
    ports = r.dev.agent.port;
    assert_int_equal(fota_agent_init(&a, &cfg, &ports), FOTA_OK);
    fota_agent_deinit(&a);
    rig_close(&r);
}

/* Init refuses what would fail later: a release key that is no P-256 public key (found at the
 * first manifest otherwise, maybe months on), an interval too long for the 32-bit wait arithmetic
 * (which would turn into no wait at all). */
static void test_init_refuses_bad_key_and_intervals(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, FOTA_MODE_CHAIN, SMALL_IMAGE);
    fota_agent_t a;
    const fota_ports_t ports = r.dev.agent.port;
    fota_agent_config_t cfg = r.dev.agent.cfg;
    static const char placeholder[] = "-----BEGIN PUBLIC KEY-----\npaste release.pub here\n"
                                      "-----END PUBLIC KEY-----\n";
    cfg.release_key = (const uint8_t *)placeholder;
    cfg.release_key_len = sizeof placeholder;
    assert_int_equal(fota_agent_init(&a, &cfg, &ports), FOTA_ERR_KEY);
    cfg = r.dev.agent.cfg;
    cfg.release_key_len -= 8; /* cut short */
    assert_int_equal(fota_agent_init(&a, &cfg, &ports), FOTA_ERR_KEY);
    uint32_t *intervals[] = {&cfg.check_interval_ms, &cfg.chunk_interval_ms, &cfg.retry_ms};
    for (size_t i = 0; i < 3; i++) {
        cfg = r.dev.agent.cfg;
        *intervals[i] = 0x80000000u;
        assert_int_equal(fota_agent_init(&a, &cfg, &ports), FOTA_ERR_ARG);
        *intervals[i] = 0x7fffffffu; /* the longest */
        assert_int_equal(fota_agent_init(&a, &cfg, &ports), FOTA_OK);
        fota_agent_deinit(&a);
    }
    rig_close(&r);
}

/* The requests of one update, as the agent made them: kind (c check, m manifest, d data, r report)
 * and the device's clock when each went out. */
typedef struct {
    char kinds[128];
    uint32_t at[128];
    size_t n;
} request_log_t;

/* Drive the agent poll by poll until it asks to reboot, the device's clock jumping over each wait,
 * every request performed by the rig's server and logged. */
static void run_logged(rig_t *r, request_log_t *log)
{
    memset(log, 0, sizeof *log);
    fota_agent_check_now(&r->dev.agent);
    for (int step = 0; step < 10000; step++) {
        fota_action_t act;
        assert_int_equal(fota_agent_poll(&r->dev.agent, &act), FOTA_OK);
        if (act.kind == FOTA_ACTION_REBOOT) {
            return;
        }
        if (act.kind == FOTA_ACTION_WAIT) {
            r->dev.clock.now_ms += act.wait_ms > 0 ? act.wait_ms : 1;
            continue;
        }
        if (log->n == sizeof log->kinds - 1) {
            fail_msg("more than %zu requests: %s", log->n, log->kinds);
        }
        const char *t = act.http->target;
        log->kinds[log->n] = strstr(t, "/check?")      ? 'c'
                             : strstr(t, "/manifest?") ? 'm'
                             : strstr(t, "/report")    ? 'r'
                                                       : 'd';
        log->at[log->n++] = r->dev.clock.now_ms;
        r->tr.perform(r->tr.ctx, act.http, &r->dev.agent);
    }
    fail_msg("the agent never asked to reboot");
}

/* chunk_interval_ms paces every data request: seed chunks, and chain Ranges (4 records each). */
static void test_data_requests_paced(void **state)
{
    (void)state;
    for (int mode = FOTA_MODE_SEED; mode <= FOTA_MODE_CHAIN; mode++) {
        rig_t r;
        rig_open(&r, (fota_mode_t)mode, SMALL_IMAGE);
        publish(&r, NEW_VERSION, 40000, 1024);
        r.dev.agent.cfg.chunk_interval_ms = 500;
        r.dev.agent.cfg.range_records = 4;
        request_log_t log;
        run_logged(&r, &log);
        unsigned data = 0;
        uint32_t last = 0;
        for (size_t i = 0; i < log.n; i++) {
            if (log.kinds[i] != 'd') {
                continue;
            }
            if (data > 0 && log.at[i] - last < 500) {
                fail_msg("data request %u %u ms after the previous one", data,
                         (unsigned)(log.at[i] - last));
            }
            last = log.at[i];
            data++;
        }
        assert_int_equal(data, mode == FOTA_MODE_SEED ? 40u : 10u);
        rig_close(&r);
    }
}

/* The manifest comes inside the check's answer, and nothing stands between it and the first
 * data request, nor after it: no report marks the start (the server sees the data request), none
 * the install when the reboot follows at once: up to the reboot, an update without progress
 * reports is its data requests and nothing else (the new image's "confirmed" is its one report:
 * assert_installed). From a server that leaves the manifest out of the offer, the agent asks for
 * it. */
static void test_no_round_trip_before_data(void **state)
{
    (void)state;
    static const uint32_t records[] = {8, 0};
    for (int mode = FOTA_MODE_SEED; mode <= FOTA_MODE_CHAIN; mode++) {
        for (size_t k = 0; k < 4; k++) {
            rig_t r;
            rig_open(&r, (fota_mode_t)mode, SMALL_IMAGE);
            publish(&r, NEW_VERSION, 40000, 1024);
            r.dev.agent.cfg.range_records = records[k % 2];
            r.dev.agent.cfg.progress_every = 0;
            r.srv.no_embedded_manifest = k >= 2;
            request_log_t log;
            run_logged(&r, &log);
            const char *want = r.srv.no_embedded_manifest ? "cmd" : "cd";
            if (strncmp(log.kinds, want, strlen(want)) != 0) {
                fail_msg("mode %d, case %zu: requests %s, want %s...", mode, k, log.kinds, want);
            }
            if (strchr(log.kinds, 'r') != NULL || r.srv.report_count != 0) {
                fail_msg("mode %d, case %zu: a report before the reboot: %s", mode, k, log.kinds);
            }
            rig_close(&r);
        }
    }
}

static bool reboot_later(void *ctx)
{
    unsigned *refusals_left = ctx;
    if (*refusals_left == 0) {
        return true;
    }
    (*refusals_left)--;
    return false;
}

/* A reboot that may_reboot defers (an inverter waiting for low output) is the one case that
 * reports "installed": once, however often the hook says "not yet", then "confirmed" from the
 * new image. */
static void test_deferred_reboot_reports_installed(void **state)
{
    (void)state;
    for (int mode = FOTA_MODE_SEED; mode <= FOTA_MODE_CHAIN; mode++) {
        rig_t r;
        rig_open(&r, (fota_mode_t)mode, SMALL_IMAGE);
        publish(&r, NEW_VERSION, 40000, 1024);
        unsigned refusals_left = 5;
        r.dev.agent.cfg.may_reboot = reboot_later;
        r.dev.agent.cfg.hook_ctx = &refusals_left;
        r.dev.agent.cfg.progress_every = 0;
        run_device(&r);
        assert_int_equal(refusals_left, 0);
        assert_running(&r, NEW_VERSION);
        unsigned installed = 0;
        for (unsigned i = 0; i < r.srv.report_count; i++) {
            installed += strcmp(r.srv.reports[i], "installed") == 0 ? 1u : 0u;
        }
        assert_int_equal(installed, 1);
        assert_int_equal(r.srv.report_count, 2);
        assert_string_equal(r.srv.reports[0], "installed");
        assert_string_equal(r.srv.reports[1], "confirmed");
        rig_close(&r);
    }
}

static bool never(void *ctx)
{
    (void)ctx;
    return false;
}

static bool never_download(void *ctx, const fota_manifest_t *m)
{
    (void)ctx;
    (void)m;
    return false;
}

/* A server that says "not now" (204 with Retry-After) gets the next check then, and not before,
 * even from an agent that checks only when asked (check interval 0). */
static void test_not_now_retry_after(void **state)
{
    (void)state;
    rig_t r;
    rig_open(&r, FOTA_MODE_CHAIN, SMALL_IMAGE);
    r.dev.agent.cfg.check_interval_ms = 0;
    r.srv.offer = false;
    r.srv.retry_after = 3600;
    fota_agent_check_now(&r.dev.agent);
    uint32_t start = r.dev.clock.now_ms;
    for (int step = 0; step < 100 && r.srv.checks < 2; step++) {
        fota_action_t act;
        assert_int_equal(fota_agent_poll(&r.dev.agent, &act), FOTA_OK);
        if (act.kind == FOTA_ACTION_HTTP) {
            r.tr.perform(r.tr.ctx, act.http, &r.dev.agent);
        } else if (act.kind == FOTA_ACTION_WAIT) {
            assert_true(act.wait_ms != UINT32_MAX); /* a wake-up, not "until asked" */
            r.dev.clock.now_ms += act.wait_ms > 0 ? act.wait_ms : 1;
        }
    }
    assert_int_equal(r.srv.checks, 2);
    assert_true(r.dev.clock.now_ms - start >= 3600u * 1000u);
    assert_true(r.dev.clock.now_ms - start < 3601u * 1000u);
    rig_close(&r);
}

/* "forced": installed and rebooted whatever the application's hooks say. */
static void test_forced_skips_hooks(void **state)
{
    (void)state;
    for (int mode = FOTA_MODE_SEED; mode <= FOTA_MODE_CHAIN; mode++) {
        rig_t r;
        rig_open(&r, (fota_mode_t)mode, SMALL_IMAGE);
        publish(&r, NEW_VERSION, 40000, 1024);
        r.srv.action = "forced";
        r.dev.agent.cfg.may_download = never_download;
        r.dev.agent.cfg.may_reboot = never;
        run_device(&r);
        assert_installed(&r);
        rig_close(&r);
    }
}

/* "download_only": the image is downloaded, verified and kept (journaled, across a power cycle);
 * offers of the same release to download only change nothing; an offer to install it installs it
 * without downloading a byte again. An action the agent does not know is refused. */
static void test_download_only_then_install(void **state)
{
    (void)state;
    for (int mode = FOTA_MODE_SEED; mode <= FOTA_MODE_CHAIN; mode++) {
        rig_t r;
        rig_open(&r, (fota_mode_t)mode, SMALL_IMAGE);
        publish(&r, NEW_VERSION, 40000, 1024);
        r.srv.action = "download_only";
        run_device(&r);
        assert_running(&r, OLD_VERSION);
        assert_int_equal(r.reboots, 0);
        assert_true(fake_server_got_report(&r.srv, "downloaded"));
        assert_true(journal_saved(&r));
        unsigned data = r.srv.data_requests;
        unsigned reports = r.srv.report_count;
        assert_true(data > 0);
        power_cycle(&r);
        run_device(&r);
        assert_running(&r, OLD_VERSION);
        assert_int_equal(r.srv.data_requests, data);
        assert_int_equal(r.srv.report_count, reports);
        r.srv.action = "forced";
        power_cycle(&r);
        run_device(&r);
        assert_installed(&r);
        assert_int_equal(r.srv.data_requests, data);
        rig_close(&r);
    }
    rig_t r;
    rig_open(&r, FOTA_MODE_CHAIN, SMALL_IMAGE);
    publish(&r, NEW_VERSION, 40000, 1024);
    r.srv.action = "later";
    run_device(&r);
    assert_running(&r, OLD_VERSION);
    assert_int_equal(r.srv.data_requests, 0);
    assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_OFFER_JSON);
    rig_close(&r);
}

/* Every state has its name (reports carry them), in fota_state_t's order; others are "unknown". */
static void test_state_names(void **state)
{
    (void)state;
    static const char *const want[] = {
        "idle",      "checking",   "manifest",     "downloading", "verifying",
        "installed", "rebooting",  "booted",       "confirmed",   "rolled_back",
        "error",     "downloaded", "delta_failed",
    };
    for (unsigned s = 0; s < sizeof want / sizeof want[0]; s++) {
        assert_string_equal(fota_state_name((fota_state_t)s), want[s]);
    }
    assert_int_equal(FOTA_STATE_DELTA_FAILED + 1, sizeof want / sizeof want[0]);
    assert_string_equal(fota_state_name((fota_state_t)13), "unknown");
    assert_string_equal(fota_state_name((fota_state_t)-1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_not_now_retry_after),
        cmocka_unit_test(test_forced_skips_hooks),
        cmocka_unit_test(test_download_only_then_install),
        cmocka_unit_test(test_deferred_reboot_reports_installed),
        cmocka_unit_test(test_seed_update),
        cmocka_unit_test(test_chain_update),
        cmocka_unit_test(test_chain_update_in_batches),
        cmocka_unit_test(test_progress_reports),
        cmocka_unit_test(test_report_body),
        cmocka_unit_test(test_report_escapes),
        cmocka_unit_test(test_nothing_offered),
        cmocka_unit_test(test_pieces_seed),
        cmocka_unit_test(test_pieces_chain),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_chip_mismatch),
        cmocka_unit_test(test_forged_data),
        cmocka_unit_test(test_seed_refused_image_erased),
        cmocka_unit_test(test_cut_while_erasing_refused_image),
        cmocka_unit_test(test_wipe_erase_failure_retried),
        cmocka_unit_test(test_wipe_without_server),
        cmocka_unit_test(test_abandoned_download),
        cmocka_unit_test(test_abandoned_resume_erased),
        cmocka_unit_test(test_extent_journaled_in_seed_mode_only),
        cmocka_unit_test(test_postponed_resume_then_abandoned),
        cmocka_unit_test(test_transient_faults_retried),
        cmocka_unit_test(test_manifest_changes_mid_download),
        cmocka_unit_test(test_auth_refused),
        cmocka_unit_test(test_lying_flash_caught_at_chunk),
        cmocka_unit_test(test_chain_no_second_hash),
        cmocka_unit_test(test_rolled_back_image_hashed_again),
        cmocka_unit_test(test_cuts_seed),
        cmocka_unit_test(test_cuts_chain),
        cmocka_unit_test(test_rollback),
        cmocka_unit_test(test_confirm_by_application),
        cmocka_unit_test(test_reset_before_confirm_retries_without_download),
        cmocka_unit_test(test_failing_image_gives_up),
        cmocka_unit_test(test_init_refuses_missing_ports),
        cmocka_unit_test(test_init_refuses_each_missing_pointer),
        cmocka_unit_test(test_init_refuses_bad_key_and_intervals),
        cmocka_unit_test(test_data_requests_paced),
        cmocka_unit_test(test_no_round_trip_before_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
