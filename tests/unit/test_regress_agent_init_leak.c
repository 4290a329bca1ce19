/*
 * test_regress_agent_init_leak.c - regression test for a leak found by fuzz/fuzz_journal.c:
 * fota_agent_init() set up the agent's mbedTLS context (mbedtls_md_setup allocates two blocks)
 * and then returned the error of resume_from_journal() without releasing it, so a caller whose
 * init failed (it must not call fota_agent_deinit on an agent that did not start) leaked it.
 * The journal here says an install was interrupted before the boot slot switched, so init
 * finishes it, and the store refuses the journal save: init fails with FOTA_ERR_IO.
 *
 * The heap is counted by wrapping the C allocator in this program (as bench/bench_agent_heap.c
 * does); in a sanitizer build the allocator belongs to ASan, whose leak check at exit fails the
 * test instead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fota/agent.h"
#include "fota/bytes.h"
#include "fota/crc32.h"

/* ---- counting allocator (not under ASan, which owns the allocator) ------------------------ */

#if defined(__SANITIZE_ADDRESS__)
#define COUNTING_ALLOCATOR 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNTING_ALLOCATOR 0
#endif
#endif
#ifndef COUNTING_ALLOCATOR
#define COUNTING_ALLOCATOR 1
#endif

static bool counting;
static long live_blocks;

#if COUNTING_ALLOCATOR
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

/* Blocks allocated while counting, so that frees of other blocks are not counted. */
static void *tracked[64];

static void *track(void *p)
{
    for (size_t i = 0; counting && p != NULL && i < 64; i++) {
        if (tracked[i] == NULL) {
            tracked[i] = p;
            live_blocks++;
            break;
        }
    }
    return p;
}

static void untrack(void *p)
{
    for (size_t i = 0; p != NULL && i < 64; i++) {
        if (tracked[i] == p) {
            tracked[i] = NULL;
            live_blocks--;
        }
    }
}

void *malloc(size_t n)
{
    return track(__libc_malloc(n));
}

void *calloc(size_t n, size_t m)
{
    return track(__libc_calloc(n, m));
}

void *realloc(void *p, size_t n)
{
    untrack(p);
    return track(__libc_realloc(p, n));
}

void free(void *p)
{
    untrack(p);
    __libc_free(p);
}
#endif

/* ---- ports: nothing but what init touches -------------------------------------------------- */

static uint8_t journal[160];

static fota_err_t flash_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    (void)ctx;
    (void)addr;
    memset(buf, 0xFF, len);
    return FOTA_OK;
}

static fota_err_t flash_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    (void)ctx;
    (void)addr;
    (void)buf;
    (void)len;
    return FOTA_OK;
}

static fota_err_t flash_erase(void *ctx, uint32_t addr, uint32_t len)
{
    (void)ctx;
    (void)addr;
    (void)len;
    return FOTA_OK;
}

static fota_err_t boot_part(void *ctx, uint32_t *offset, uint32_t *size)
{
    (void)ctx;
    *offset = 0x150000u;
    *size = 0x140000u;
    return FOTA_OK;
}

static fota_err_t boot_ok(void *ctx)
{
    (void)ctx;
    return FOTA_OK;
}

static fota_err_t boot_state(void *ctx, fota_boot_state_t *state)
{
    (void)ctx;
    *state = FOTA_BOOT_STATE_VALID;
    return FOTA_OK;
}

static fota_err_t store_load(void *ctx, void *buf, size_t cap, size_t *len)
{
    (void)ctx;
    assert_true(cap >= sizeof journal);
    memcpy(buf, journal, sizeof journal);
    *len = sizeof journal;
    return FOTA_OK;
}

static fota_err_t store_save_fails(void *ctx, const void *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return FOTA_ERR_IO; /* a worn or cut flash */
}

static fota_err_t store_clear(void *ctx)
{
    (void)ctx;
    return FOTA_OK;
}

static uint32_t now_ms(void *ctx)
{
    (void)ctx;
    return 1000u;
}

static uint64_t unix_time(void *ctx)
{
    (void)ctx;
    return 1790000000u;
}

static void random_bytes(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0x42, len);
}

/* A valid journal record (agent/src/journal.c): state INSTALLING of version 2.0.0. */
static void make_journal(void)
{
    memset(journal, 0, sizeof journal);
    memcpy(journal, "FOTJ", 4);
    journal[4] = 1; /* format */
    journal[5] = 2; /* installing: verified, the boot slot about to switch */
    journal[6] = FOTA_MODE_SEED;
    memcpy(journal + 8, "0123456789abcdef0123456789abcdef", 32);
    memcpy(journal + 40, "2.0.0", 5);
    fota_put_le32(journal + 140, 0x150000u);
    fota_put_le32(journal + 156, fota_crc32_le(0, journal, 156));
}

static void test_failed_init_releases_everything(void **state)
{
    (void)state;
    static const uint8_t device_key[32] = {1};
    static const char release_key[] = /* a P-256 public key: init parses it */
        "-----BEGIN PUBLIC KEY-----\n"
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtZasacBX3RYew3zgOP4rFUzaDloL\n"
        "JHv4VUh1Wh9SWKyxj93Qt7Pu5LouBQc3jZ9DRzstUxHXMw/meFIEFvYrgQ==\n"
        "-----END PUBLIC KEY-----\n";
    fota_agent_config_t cfg = {0};
    cfg.device_id = "inv-000001";
    cfg.device_key = device_key;
    cfg.product_id = "esp32-inverter";
    cfg.current_version = "1.0.0"; /* the new image does not run yet: init finishes the install */
    cfg.release_key = (const uint8_t *)release_key;
    cfg.release_key_len = sizeof release_key;
    fota_ports_t ports = {
        {NULL, flash_read, flash_write, flash_erase, 4u * 1024u * 1024u, 4096u},
        {NULL, boot_part, boot_ok, boot_state, boot_ok, boot_ok, NULL},
        {NULL, store_load, store_save_fails, store_clear},
        {NULL, now_ms, unix_time, random_bytes},
    };
    make_journal();
    static fota_agent_t agent;
    counting = true;
    fota_err_t err = fota_agent_init(&agent, &cfg, &ports);
    counting = false;
    memset(&agent, 0, sizeof agent); /* the caller drops an agent that did not start */
    assert_int_equal(err, FOTA_ERR_IO);
    /* The caller must not deinit an agent whose init failed: init must have released it all. */
    assert_int_equal(live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_init_releases_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
