/*
 * test_hostile_agent.c - "attack the agent": a hostile server at the transport port tries every
 * trick we know on the real agent running on the emulated ESP32. Each attack must end with its
 * own fota_err_t, leave nothing unverified in the update slot (only bytes of the honest image or
 * erased 0xFF), leave the old image booting after a power cycle, and not stop the next honest
 * offer from installing and confirming. Attacks come from two scripted servers: the fault list
 * of tests/support/fake_server.c and the spoiled answers of tests/support/hostile.c. The same
 * attacks over real HTTP on loopback: tests/faults/test_hostile_http.sh.
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
#include "fota/emu/bootloader.h"
#include "fota/emu/emu_device.h"
#include "fota/emu/flash_emu.h"
#include "fota/emu/image_build.h"
#include "fota/emu/otadata.h"
#include "hostile.h"

/* ---- the attacks ------------------------------------------------------------------------------
 */

typedef struct {
    const char *name;
    fota_mode_t mode;
    fake_fault_t fault;       /* a fault of the honest server's script, or */
    hostile_attack_t attack;  /* a spoiled answer, or */
    fake_release_spec_t spec; /* a signed release that must be refused */
    uint32_t floor;           /* device security floor */
    fota_err_t want;
} attack_t;

#define SEED FOTA_MODE_SEED
#define CHAIN FOTA_MODE_CHAIN

static const attack_t attacks[] = {
    /* forged, replayed and foreign data */
    {"forged MAC (another device's key)",
     SEED,
     FAKE_WRONG_DEVICE_KEY,
     0,
     {0},
     0,
     FOTA_ERR_SEED_MAC},
    {"forged data, MAC of the original", SEED, FAKE_CHUNK_FLIP_DATA, 0, {0}, 0, FOTA_ERR_SEED_MAC},
    {"replayed chunk, renumbered", SEED, 0, HOSTILE_CHUNK_REPLAY, {0}, 0, FOTA_ERR_IMAGE_SHA256},
    {"chunk of another release",
     SEED,
     0,
     HOSTILE_CHUNK_OTHER_RELEASE,
     {0},
     0,
     FOTA_ERR_IMAGE_SHA256},
    {"chunk with another number",
     SEED,
     FAKE_CHUNK_WRONG_NUMBER,
     0,
     {0},
     0,
     FOTA_ERR_SEED_CHUNK_NUMBER},
    {"MAC of wrong length", SEED, 0, HOSTILE_CHUNK_MAC_SHORT, {0}, 0, FOTA_ERR_SEED_JSON},
    {"huge chunk number", SEED, 0, HOSTILE_CHUNK_HUGE_NUMBER, {0}, 0, FOTA_ERR_SEED_JSON},
    {"nested object in chunk JSON", SEED, 0, HOSTILE_CHUNK_NESTED, {0}, 0, FOTA_ERR_SEED_JSON},
    {"malformed chunk JSON", SEED, FAKE_CHUNK_BAD_JSON, 0, {0}, 0, FOTA_ERR_SEED_JSON},
    {"bad base64 character", SEED, FAKE_CHUNK_BAD_BASE64, 0, {0}, 0, FOTA_ERR_SEED_BASE64},
    {"base64 padding in the middle",
     SEED,
     0,
     HOSTILE_CHUNK_PAD_MIDDLE,
     {0},
     0,
     FOTA_ERR_SEED_BASE64},
    {"base64 padding ending a 64-character group",
     SEED,
     0,
     HOSTILE_CHUNK_PAD_GROUP,
     {0},
     0,
     FOTA_ERR_SEED_BASE64},
    {"short chunk, MAC over it", SEED, FAKE_CHUNK_SHORT, 0, {0}, 0, FOTA_ERR_SEED_CHUNK_SIZE},
    {"oversized chunk response",
     SEED,
     FAKE_CHUNK_OVERSIZED,
     0,
     {0},
     0,
     FOTA_ERR_HTTP_BODY_TOO_LARGE},
    {"flipped chain record", CHAIN, FAKE_RECORD_FLIP, 0, {0}, 0, FOTA_ERR_CHAIN_MISMATCH},
    {"reordered records", CHAIN, FAKE_RECORD_SWAP, 0, {0}, 0, FOTA_ERR_CHAIN_MISMATCH},
    {"records of another release",
     CHAIN,
     0,
     HOSTILE_BLOB_OTHER_RELEASE,
     {0},
     0,
     FOTA_ERR_CHAIN_MISMATCH},
    /* HTTP framing */
    {"Content-Length lies", CHAIN, FAKE_LENGTH_LIES, 0, {0}, 0, FOTA_ERR_HTTP_LENGTH},
    {"connection broken mid-body", CHAIN, FAKE_BREAK, 0, {0}, 0, FOTA_ERR_HTTP_TRUNCATED},
    {"200 where 206 was asked for", CHAIN, FAKE_BLOB_200, 0, {0}, 0, FOTA_ERR_HTTP_RANGE},
    {"empty 200", CHAIN, 0, HOSTILE_BLOB_EMPTY_200, {0}, 0, FOTA_ERR_HTTP_RANGE},
    {"empty 206", CHAIN, 0, HOSTILE_BLOB_EMPTY_206, {0}, 0, FOTA_ERR_HTTP_LENGTH},
    {"416 for a valid Range", CHAIN, 0, HOSTILE_BLOB_416, {0}, 0, FOTA_ERR_HTTP_RANGE},
    {"500 storm", CHAIN, 0, HOSTILE_500_STORM, {0}, 0, FOTA_ERR_HTTP_STATUS},
    {"redirect loop", SEED, 0, HOSTILE_REDIRECT, {0}, 0, FOTA_ERR_HTTP_REDIRECT},
    {"truncated record at the end",
     CHAIN,
     0,
     HOSTILE_BLOB_TRUNC_RECORD,
     {0},
     0,
     FOTA_ERR_HTTP_LENGTH},
    {"extra bytes after the last record",
     CHAIN,
     0,
     HOSTILE_BLOB_EXTRA,
     {0},
     0,
     FOTA_ERR_HTTP_LENGTH},
    {"endless body", CHAIN, 0, HOSTILE_BLOB_ENDLESS, {0}, 0, FOTA_OK},
    /* signed releases that must still be refused */
    {"manifest bit flipped", CHAIN, FAKE_MANIFEST_FLIP, 0, {0}, 0, FOTA_ERR_MANIFEST_SIGNATURE},
    {"valid manifest, another product",
     CHAIN,
     0,
     0,
     {.product_id = "other-product"},
     0,
     FOTA_ERR_MANIFEST_PRODUCT},
    {"downgrade below the security floor",
     CHAIN,
     0,
     0,
     {.secure_version = 2},
     3,
     FOTA_ERR_SECURITY_VERSION},
    {"image bigger than the partition",
     CHAIN,
     0,
     0,
     {.claim_size = 0x140000u + 4096u},
     0,
     FOTA_ERR_IMAGE_TOO_BIG},
    {"manifest for a bigger image than served",
     SEED,
     0,
     0,
     {.claim_size = 41024u},
     0,
     FOTA_ERR_SEED_CHUNK_SIZE},
    {"SHA-256 in manifest does not match",
     SEED,
     0,
     0,
     {.wrong_sha = true},
     0,
     FOTA_ERR_IMAGE_SHA256},
    {"SHA-256 matches, ESP32 header broken",
     SEED,
     0,
     0,
     {.corrupt_header = true},
     0,
     FOTA_ERR_IMAGE_MAGIC},
};

/* Seed mode: the chunk MAC covers the data only (the seed protocol), so a chunk replayed under
 * another number, or one of another release, passes the MAC; the server holds the device key
 * anyway. Such bytes reach the slot MAC-verified but not manifest-verified; the final SHA-256
 * refuses them before anything boots, and the agent erases what the download wrote before it
 * reports the refusal. See docs/SECURITY.md, "The agent under attack". */
static bool mac_only(const attack_t *t)
{
    return t->attack == HOSTILE_CHUNK_REPLAY || t->attack == HOSTILE_CHUNK_OTHER_RELEASE;
}

static void attack_start(rig_t *r, const attack_t *t)
{
    rig_open(r, t->mode, SMALL_IMAGE);
    r->dev.agent.cfg.security_floor = t->floor;
    fake_release_spec_t spec = t->spec;
    spec.version = NEW_VERSION;
    spec.size = 40000;
    spec.chunk_size = 1024;
    fake_server_release(&r->srv, &spec);
    hostile_init(&r->hostile, &r->srv);
    r->hostile.attack = t->attack;
    r->hostile.at = 9;
    r->tr = hostile_transport(&r->hostile);
    r->srv.fault = t->fault;
    r->srv.fault_chunk = 9;
    r->srv.fault_param = 5000;
}

/* The attack, its error, a clean slot, the old image, then an honest install. */
static fota_err_t attack_one(const attack_t *t)
{
    rig_t r;
    attack_start(&r, t);
    run_device(&r);
    fota_err_t got = fota_agent_last_error(&r.dev.agent);
    if (got != t->want) {
        fail_msg("%s: got %s, want %s", t->name, fota_err_name(got), fota_err_name(t->want));
    }
    if (t->attack != HOSTILE_NONE) {
        assert_true(r.hostile.hits > 0); /* the attack did happen */
    }
    assert_int_equal(r.hostile.junk_taken, 0); /* an endless body is cut at the Range's end */
    if (t->want == FOTA_OK) {
        /* accepted, see accepted_anyway(): only honest bytes made it */
        assert_installed(&r);
        rig_close(&r);
        return got;
    }
    assert_true(error_reported(&r.srv, got));
    assert_int_equal(r.reboots, 0);
    if (mac_only(t)) {
        assert_slot_clean(&r);
    } else if (t->spec.claim_size == 0) {
        assert_only_verified_bytes(&r);
    }
    power_cycle(&r);
    assert_running(&r, OLD_VERSION);
    r.srv.fault = FAKE_OK;
    r.hostile.attack = HOSTILE_NONE;
    r.dev.agent.cfg.security_floor = 0;
    publish(&r, NEW_VERSION, 40000, 1024);
    run_device(&r);
    assert_installed(&r);
    rig_close(&r);
    return got;
}

static void test_attacks(void **state)
{
    (void)state;
    size_t n = sizeof attacks / sizeof attacks[0];
    for (size_t i = 0; i < n; i++) {
        attack_one(&attacks[i]);
    }
}

/* Duplicate keys: one document that two JSON parsers could read two ways (the first copy or the
 * last) is refused whole, whichever copy the agent would have used: {"chunk_number":9,
 * "chunk_number":10,...}, "mac" next to "m\u0061c" (the same key once the escape is decoded),
 * and an offer with two "sha256". */
static void test_duplicate_keys_refused(void **state)
{
    (void)state;
    static const attack_t chunks[] = {
        {"duplicate chunk_number", SEED, 0, HOSTILE_CHUNK_DUP_KEYS, {0}, 0, FOTA_ERR_SEED_JSON},
        {"mac and m\\u0061c", SEED, 0, HOSTILE_CHUNK_ESCAPED_DUP, {0}, 0, FOTA_ERR_SEED_JSON},
    };
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        attack_one(&chunks[i]);
    }
    /* The offer is refused before anything starts: no manifest asked for, nothing written. */
    rig_t r;
    attack_t offer = {"duplicate release in the offer",
                      CHAIN,
                      0,
                      HOSTILE_OFFER_DUP_KEYS,
                      {0},
                      0,
                      FOTA_ERR_OFFER_JSON};
    attack_start(&r, &offer);
    run_device(&r);
    assert_int_equal(fota_agent_last_error(&r.dev.agent), FOTA_ERR_OFFER_JSON);
    assert_true(r.hostile.hits > 0);
    assert_int_equal(r.srv.data_requests, 0);
    assert_only_verified_bytes(&r);
    power_cycle(&r);
    assert_running(&r, OLD_VERSION);
    r.hostile.attack = HOSTILE_NONE;
    run_device(&r);
    assert_installed(&r);
    rig_close(&r);
}

/* The offer's sizes and SHA-256 are a preview of the manifest it carries, which is named by its
 * release id (its digest) and signed: a preview that disagrees is not read, the signed manifest's
 * release installs. Its version, which tells the agent whether the offer is the image already
 * running, must be the manifest's: refused before anything is written. */
static void test_offer_preview_not_trusted(void **state)
{
    (void)state;
    for (uint32_t field = 0; field < 5; field++) {
        rig_t r;
        attack_t offer = {"offer preview", CHAIN, 0, HOSTILE_OFFER_PREVIEW, {0}, 0, FOTA_OK};
        attack_start(&r, &offer);
        r.hostile.at = field;
        run_device(&r);
        assert_true(r.hostile.hits > 0);
        if (field < 4) {
            assert_installed(&r);
            rig_close(&r);
            continue;
        }
        assert_true(error_reported(&r.srv, FOTA_ERR_MANIFEST_CHANGED));
        assert_int_equal(r.srv.data_requests, 0);
        assert_only_verified_bytes(&r);
        assert_running(&r, OLD_VERSION);
        rig_close(&r);
    }
}

/* The signed manifest inside an offer is strict base64 too: padding where a 64-character group
 * ends, which a decoder of separate groups would take, refuses the embedded copy as offer JSON
 * (not as a manifest it would decode to, whose refusal ends the attempt): the agent asks for the
 * manifest instead and installs the release. */
static void test_offer_manifest_base64_strict(void **state)
{
    (void)state;
    rig_t r;
    attack_t offer = {"manifest_data padded at a group's end",
                      CHAIN,
                      0,
                      HOSTILE_OFFER_PAD_GROUP,
                      {0},
                      0,
                      FOTA_OK};
    attack_start(&r, &offer);
    run_device(&r);
    assert_int_equal(r.hostile.hits, 1);
    assert_false(fake_server_got_report(&r.srv, "error"));
    assert_installed(&r);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attacks),
        cmocka_unit_test(test_duplicate_keys_refused),
        cmocka_unit_test(test_offer_manifest_base64_strict),
        cmocka_unit_test(test_offer_preview_not_trusted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
