/*
 * test_agent_delta.c - delta updates on the emulated ESP32 (docs/AGENT.md, "Delta updates"): the
 * real agent against the scripted server (tests/support/fake_server.c), which serves a delta
 * made by host/delta_create.c from the image the device runs, its manifest signed with the
 * release key, its blob of hash-chained records. The update ends confirmed from fewer bytes than
 * the full blob; a delta that cannot be applied is reported ("delta_failed" with its error) and
 * the full image of the release installed in the same update; a record spoiled in transit is
 * fetched again. Power cuts during a delta are swept in test_power_exhaustive.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent_rig.h"
#include "fota/esp_image.h"

/* Both images are made from one content stream (image_build.h's seed), as two builds of one
 * firmware share most of their code: the new one is larger, so its segments hold the stream at
 * other offsets. */
#define SEED 0x5eed1234u
#define OLD_SIZE 60000u
#define NEW_SIZE SMALL_IMAGE

typedef struct {
    rig_t r;
    uint8_t *old; /* the image the device runs */
    size_t old_len;
} delta_rig_t;

static void open_delta(delta_rig_t *d, fota_mode_t mode)
{
    memset(d, 0, sizeof *d);
    rig_open_seed(&d->r, mode, OLD_SIZE, SEED);
    d->old = fake_image_seed(OLD_VERSION, OLD_SIZE, SEED, &d->old_len);
    fake_release_spec_t spec = {0};
    spec.version = NEW_VERSION;
    spec.size = NEW_SIZE;
    spec.chunk_size = 1024;
    spec.seed = SEED;
    fake_server_release(&d->r.srv, &spec);
}

static void close_delta(delta_rig_t *d)
{
    rig_close(&d->r);
    free(d->old);
}

static fake_delta_spec_t delta_from_running(const delta_rig_t *d)
{
    fake_delta_spec_t ds = {0};
    ds.old = d->old;
    ds.old_len = d->old_len;
    return ds;
}

/* How many "delta_failed" reports came, and the error of the last. */
static unsigned delta_failures(const fake_server_t *s, int *err)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->report_count && i < 64; i++) {
        if (strcmp(s->reports[i], "delta_failed") == 0) {
            n++;
            *err = s->report_errors[i];
        }
    }
    return n;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }
}

/* 1.0.0 -> 2.0.0 by the delta: confirmed, the check named the running image by its appended
 * SHA-256, only the delta's records were fetched, fewer bytes than the full blob. */
static void test_delta_update(void **state)
{
    (void)state;
    delta_rig_t d;
    open_delta(&d, FOTA_MODE_CHAIN);
    fake_delta_spec_t ds = delta_from_running(&d);
    fake_server_delta(&d.r.srv, &ds);
    run_device(&d.r);
    assert_installed(&d.r);
    char id[65];
    hex(d.old + d.old_len - 32, 32, id);
    assert_string_equal(d.r.srv.image_seen, id);
    assert_int_equal(d.r.srv.delta_manifests, 1);
    assert_true(d.r.srv.delta_requests >= 1);
    assert_int_equal(d.r.srv.data_requests, d.r.srv.delta_requests); /* no full-blob request */
    assert_int_equal(d.r.srv.delta_bytes, d.r.srv.delta_blob_len);
    assert_true(d.r.srv.data_bytes < d.r.srv.blob_len / 2);
    int err = 0;
    assert_int_equal(delta_failures(&d.r.srv, &err), 0);
    print_message("delta: %zu bytes fetched for a %zu-byte blob\n", (size_t)d.r.srv.data_bytes,
                  d.r.srv.blob_len);
    /* the new image is running now: the next check names it */
    fota_agent_check_now(&d.r.dev.agent);
    run_device(&d.r);
    hex(d.r.srv.image + d.r.srv.image_len - 32, 32, id);
    assert_string_equal(d.r.srv.image_seen, id);
    close_delta(&d);
}

/* The delta names another image as its source (a server that offers it anyway): refused before
 * a byte of it is fetched, "delta_failed" with FOTA_ERR_DELTA_SOURCE, then the full image. */
static void test_delta_other_source(void **state)
{
    (void)state;
    delta_rig_t d;
    open_delta(&d, FOTA_MODE_CHAIN);
    size_t other_len = 0;
    uint8_t *other = fake_image_seed("0.9.0", OLD_SIZE, SEED, &other_len);
    fake_delta_spec_t ds = {0};
    ds.old = other;
    ds.old_len = other_len;
    ds.offer_always = true;
    fake_server_delta(&d.r.srv, &ds);
    run_device(&d.r);
    assert_installed(&d.r);
    int err = 0;
    assert_int_equal(delta_failures(&d.r.srv, &err), 1);
    assert_int_equal(err, FOTA_ERR_DELTA_SOURCE);
    assert_int_equal(d.r.srv.delta_manifests, 1);
    assert_int_equal(d.r.srv.delta_requests, 0); /* nothing of it fetched, so nothing written */
    assert_int_equal(d.r.srv.data_bytes, d.r.srv.blob_len);
    free(other);
    close_delta(&d);
}

/* A record of the delta spoiled in transit fails the hash chain: fetched again, no fallback. */
static void test_delta_record_spoiled(void **state)
{
    (void)state;
    delta_rig_t d;
    open_delta(&d, FOTA_MODE_CHAIN);
    fake_delta_spec_t ds = delta_from_running(&d);
    fake_server_delta(&d.r.srv, &ds);
    assert_true(d.r.srv.dm.m.chunk_count >= 2);
    d.r.srv.fault = FAKE_RECORD_FLIP;
    d.r.srv.fault_chunk = 1;
    d.r.srv.fault_times = 1;
    run_device(&d.r);
    assert_installed(&d.r);
    int err = 0;
    assert_int_equal(delta_failures(&d.r.srv, &err), 0);
    assert_int_equal(d.r.srv.fault_times, 0); /* the fault did hit */
    assert_int_equal(d.r.srv.data_requests, d.r.srv.delta_requests);
    assert_true(d.r.srv.delta_requests >= 2);
    close_delta(&d);
}

/* A validly signed patch that makes another image than the one the manifest names: the records
 * all pass the chain and apply, the image fails its SHA-256, "delta_failed" with
 * FOTA_ERR_IMAGE_SHA256, then the full image. */
static void test_delta_wrong_image(void **state)
{
    (void)state;
    delta_rig_t d;
    open_delta(&d, FOTA_MODE_CHAIN);
    size_t wrong_len = 0;
    uint8_t *wrong = fake_image_seed(NEW_VERSION, NEW_SIZE, SEED + 1u, &wrong_len);
    fake_delta_spec_t ds = delta_from_running(&d);
    ds.patch_to = wrong;
    ds.patch_to_len = wrong_len;
    fake_server_delta(&d.r.srv, &ds);
    run_device(&d.r);
    assert_installed(&d.r);
    int err = 0;
    assert_int_equal(delta_failures(&d.r.srv, &err), 1);
    assert_int_equal(err, FOTA_ERR_IMAGE_SHA256);
    assert_int_equal(d.r.srv.delta_bytes, d.r.srv.delta_blob_len); /* applied whole, then */
    assert_int_equal(d.r.srv.data_bytes, d.r.srv.delta_blob_len + d.r.srv.blob_len);
    free(wrong);
    close_delta(&d);
}

/* A signed patch made from a longer image than the one it names as its source (the source
 * check passes): the applier refuses to read past the running image (FOTA_ERR_DELTA_*), and
 * the full image follows. */
static void test_delta_patch_refused(void **state)
{
    (void)state;
    delta_rig_t d;
    open_delta(&d, FOTA_MODE_CHAIN);
    size_t long_len = 0;
    uint8_t *longer = fake_image_seed(OLD_VERSION, 2u * NEW_SIZE, SEED, &long_len);
    /* the new image at the end of the longer one: the patch copies from past the running one */
    fake_delta_spec_t ds = {0};
    ds.old = longer;
    ds.old_len = long_len;
    ds.claim_old = d.old;
    ds.claim_old_len = d.old_len;
    ds.offer_always = true;
    memcpy(longer + long_len - d.r.srv.image_len, d.r.srv.image, d.r.srv.image_len);
    fake_server_delta(&d.r.srv, &ds);
    run_device(&d.r);
    assert_installed(&d.r);
    int err = 0;
    assert_int_equal(delta_failures(&d.r.srv, &err), 1);
    assert_true(err >= FOTA_ERR_DELTA_FORMAT && err <= FOTA_ERR_DELTA_ORDER);
    print_message("delta refused by the applier: %s\n", fota_err_name((fota_err_t)err));
    free(longer);
    close_delta(&d);
}

/* An offer whose "delta" is not a delta id (32 lowercase hex digits: it goes into request
 * targets) is refused like any malformed offer: nothing is fetched. */
static void test_delta_id_malformed(void **state)
{
    (void)state;
    delta_rig_t d;
    open_delta(&d, FOTA_MODE_CHAIN);
    fake_delta_spec_t ds = delta_from_running(&d);
    fake_server_delta(&d.r.srv, &ds);
    d.r.srv.delta_id[5] = 'G';
    run_device(&d.r);
    assert_running(&d.r, OLD_VERSION);
    assert_int_equal(fota_agent_last_error(&d.r.dev.agent), FOTA_ERR_OFFER_JSON);
    assert_int_equal(d.r.srv.data_requests, 0);
    assert_int_equal(d.r.srv.delta_manifests, 0);
    close_delta(&d);
}

/* A seed-mode device, and one whose boot port cannot name its running partition, send no image
 * id: a delta is never tried. */
static void test_no_image_id(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        delta_rig_t d;
        open_delta(&d, k == 0 ? FOTA_MODE_SEED : FOTA_MODE_CHAIN);
        if (k == 1) {
            d.r.dev.agent.port.boot.running_partition = NULL;
        }
        fake_delta_spec_t ds = delta_from_running(&d);
        ds.offer_always = true;
        fake_server_delta(&d.r.srv, &ds);
        run_device(&d.r);
        assert_installed(&d.r);
        assert_string_equal(d.r.srv.image_seen, "");
        assert_int_equal(d.r.srv.delta_manifests, 0);
        assert_int_equal(d.r.srv.delta_requests, 0);
        close_delta(&d);
    }
}

/* A power cut in the middle of the delta: the download resumes from the journaled segment
 * start and ends confirmed, still by the delta. */
static void test_delta_power_cut(void **state)
{
    (void)state;
    delta_rig_t d;
    open_delta(&d, FOTA_MODE_CHAIN);
    fake_delta_spec_t ds = delta_from_running(&d);
    ds.segment_records = 1;
    fake_server_delta(&d.r.srv, &ds);
    d.r.srv.piece = 300;
    fota_flash_emu_plan_cut(d.r.emu, 400, FOTA_CUT_TORN, 7);
    fota_agent_check_now(&d.r.dev.agent);
    bool rebooted = false;
    fota_agent_run(&d.r.dev.agent, &d.r.tr, 100000, &rebooted);
    assert_true(fota_flash_emu_is_cut(d.r.emu));
    const fota_agent_delta_t *ad = &d.r.dev.agent.delta;
    print_message("cut with %u of %u records in, %u bytes written\n",
                  (unsigned)d.r.dev.agent.next_chunk, (unsigned)d.r.srv.dm.m.chunk_count,
                  (unsigned)ad->written);
    assert_true(ad->written > SECTOR && ad->written < d.r.srv.image_len); /* in the middle */
    power_cycle(&d.r);
    run_device(&d.r);
    assert_installed(&d.r);
    int err = 0;
    assert_int_equal(delta_failures(&d.r.srv, &err), 0);
    assert_int_equal(d.r.srv.data_requests, d.r.srv.delta_requests);
    assert_int_equal(d.r.srv.delta_manifests, 2); /* fetched again after the cut, by its id */
    close_delta(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delta_update),         cmocka_unit_test(test_delta_other_source),
        cmocka_unit_test(test_delta_record_spoiled), cmocka_unit_test(test_delta_wrong_image),
        cmocka_unit_test(test_delta_patch_refused),  cmocka_unit_test(test_no_image_id),
        cmocka_unit_test(test_delta_power_cut),      cmocka_unit_test(test_delta_id_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
