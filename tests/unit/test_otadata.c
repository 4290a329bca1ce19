/*
 * test_otadata.c - ESP-IDF's otadata entries: exact bytes and CRC, the usability and selection
 * rules, the seq arithmetic of esp_ota_set_boot_partition, and the erase-then-write of a copy
 * (through a small in-test NOR flash that logs every operation).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fota/emu/otadata.h"

/* --- a tiny NOR flash with an operation log -------------------------------------------------- */

#define MEM_SIZE 0x4000u
#define MEM_SECTOR 0x1000u
#define OTADATA_AT 0x1000u
#define LOG_MAX 16

typedef struct {
    char op; /* 'r', 'w', 'e' */
    uint32_t addr;
    uint32_t len;
} mem_op_t;

typedef struct {
    uint8_t bytes[MEM_SIZE];
    mem_op_t log[LOG_MAX];
    int nlog;
    int fail_at; /* operation number that fails with FOTA_ERR_IO, -1 never */
} mem_flash_t;

static fota_err_t mem_log(mem_flash_t *m, char op, uint32_t addr, size_t len)
{
    if (m->nlog == m->fail_at) {
        return FOTA_ERR_IO;
    }
    if (m->nlog < LOG_MAX) {
        m->log[m->nlog] = (mem_op_t){op, addr, (uint32_t)len};
    }
    m->nlog++;
    return addr > MEM_SIZE || len > MEM_SIZE - addr ? FOTA_ERR_FLASH_BOUNDS : FOTA_OK;
}

static fota_err_t mem_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    mem_flash_t *m = ctx;
    fota_err_t err = mem_log(m, 'r', addr, len);
    if (err == FOTA_OK) {
        memcpy(buf, m->bytes + addr, len);
    }
    return err;
}

/* NOR: a write can only clear bits. */
static fota_err_t mem_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    mem_flash_t *m = ctx;
    fota_err_t err = mem_log(m, 'w', addr, len);
    const uint8_t *p = buf;
    for (size_t i = 0; err == FOTA_OK && i < len; i++) {
        m->bytes[addr + i] &= p[i];
    }
    return err;
}

static fota_err_t mem_erase(void *ctx, uint32_t addr, uint32_t len)
{
    mem_flash_t *m = ctx;
    if (addr % MEM_SECTOR != 0 || len % MEM_SECTOR != 0) {
        return FOTA_ERR_FLASH_ALIGN;
    }
    fota_err_t err = mem_log(m, 'e', addr, len);
    if (err == FOTA_OK) {
        memset(m->bytes + addr, 0xFF, len);
    }
    return err;
}

/* A flash whose every byte is 0x00 (so a write without an erase shows), otadata at 0x1000. */
static fota_flash_t mem_open(mem_flash_t *m)
{
    memset(m, 0, sizeof *m);
    m->fail_at = -1;
    return (fota_flash_t){m, mem_read, mem_write, mem_erase, MEM_SIZE, MEM_SECTOR};
}

static void assert_op(const mem_flash_t *m, int i, char op, uint32_t addr, uint32_t len)
{
    assert_true(i < m->nlog);
    assert_int_equal(m->log[i].op, op);
    assert_int_equal(m->log[i].addr, addr);
    assert_int_equal(m->log[i].len, len);
}

/* --- helpers --------------------------------------------------------------------------------- */

static fota_ota_entry_t entry(uint32_t seq, uint32_t state)
{
    fota_ota_entry_t e;
    fota_ota_entry_make(&e, seq, state);
    return e;
}

static fota_ota_entry_t erased_entry(void)
{
    fota_ota_entry_t e;
    uint8_t ff[FOTA_OTADATA_ENTRY_LEN];
    memset(ff, 0xFF, sizeof ff);
    fota_ota_entry_decode(ff, &e);
    return e;
}

/* Apply fota_otadata_next_for_slot the way esp_ota_set_boot_partition does, checking the
 * expected seq and copy, and that the selection then boots the slot. */
static void set_slot(fota_ota_entry_t e[2], unsigned slot, unsigned count, uint32_t want_seq,
                     int want_index)
{
    fota_ota_entry_t next;
    int index = -1;
    assert_int_equal(fota_otadata_next_for_slot(e, slot, count, &next, &index), FOTA_OK);
    assert_int_equal(next.ota_seq, want_seq);
    assert_int_equal(index, want_index);
    assert_int_equal(next.ota_state, FOTA_OTA_IMG_NEW);
    assert_true(fota_ota_entry_crc_ok(&next));
    e[index] = next;
    int active = fota_otadata_active(e);
    assert_true(active >= 0);
    assert_int_equal(fota_otadata_slot(&e[active], count), slot);
}

/* --- format ---------------------------------------------------------------------------------- */

/* Worked out from bootloader_common_ota_select_crc: esp_rom_crc32_le(UINT32_MAX, &seq, 4). */
static void test_crc_known_values(void **state)
{
    (void)state;
    assert_int_equal(fota_otadata_crc(1), 0x4743989Au);
    assert_int_equal(fota_otadata_crc(5), 0xC8210FCDu);
    assert_int_not_equal(fota_otadata_crc(2), fota_otadata_crc(1));
}

static void test_encode_exact_bytes(void **state)
{
    (void)state;
    fota_ota_entry_t e = entry(1, FOTA_OTA_IMG_NEW);
    uint8_t b[FOTA_OTADATA_ENTRY_LEN];
    fota_ota_entry_encode(&e, b);
    static const uint8_t want_head[4] = {0x01, 0x00, 0x00, 0x00};
    static const uint8_t want_tail[8] = {0x00, 0x00, 0x00, 0x00, 0x9A, 0x98, 0x43, 0x47};
    assert_memory_equal(b, want_head, 4);
    for (int i = 4; i < 24; i++) {
        assert_int_equal(b[i], 0xFF); /* seq_label is left erased */
    }
    assert_memory_equal(b + 24, want_tail, 8);

    e = entry(5, FOTA_OTA_IMG_ABORTED);
    fota_ota_entry_encode(&e, b);
    static const uint8_t want5[8] = {0x04, 0x00, 0x00, 0x00, 0xCD, 0x0F, 0x21, 0xC8};
    assert_int_equal(b[0], 0x05);
    assert_memory_equal(b + 24, want5, 8);
}

static void test_decode_round_trip(void **state)
{
    (void)state;
    uint8_t raw[FOTA_OTADATA_ENTRY_LEN];
    for (int i = 0; i < (int)sizeof raw; i++) {
        raw[i] = (uint8_t)(0x11 * i + 3);
    }
    fota_ota_entry_t e;
    fota_ota_entry_decode(raw, &e);
    assert_int_equal(e.ota_seq, 0x36251403u);
    assert_int_equal(e.ota_seq, (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 |
                                    (uint32_t)raw[3] << 24);
    assert_memory_equal(e.seq_label, raw + 4, 20);
    assert_int_equal(e.ota_state, (uint32_t)raw[24] | (uint32_t)raw[25] << 8 |
                                      (uint32_t)raw[26] << 16 | (uint32_t)raw[27] << 24);
    assert_int_equal(e.crc, (uint32_t)raw[28] | (uint32_t)raw[29] << 8 | (uint32_t)raw[30] << 16 |
                                (uint32_t)raw[31] << 24);
    uint8_t back[FOTA_OTADATA_ENTRY_LEN];
    fota_ota_entry_encode(&e, back);
    assert_memory_equal(back, raw, sizeof raw);
}

static void test_make_sets_crc_and_blank_label(void **state)
{
    (void)state;
    fota_ota_entry_t e = entry(0x12345678u, FOTA_OTA_IMG_VALID);
    assert_int_equal(e.ota_seq, 0x12345678u);
    assert_int_equal(e.ota_state, FOTA_OTA_IMG_VALID);
    assert_int_equal(e.crc, fota_otadata_crc(0x12345678u));
    assert_true(fota_ota_entry_crc_ok(&e));
    for (int i = 0; i < 20; i++) {
        assert_int_equal(e.seq_label[i], 0xFF);
    }
    e.crc ^= 1u;
    assert_false(fota_ota_entry_crc_ok(&e));
}

static void test_state_names(void **state)
{
    (void)state;
    assert_string_equal(fota_ota_state_name(FOTA_OTA_IMG_NEW), "NEW");
    assert_string_equal(fota_ota_state_name(FOTA_OTA_IMG_PENDING_VERIFY), "PENDING_VERIFY");
    assert_string_equal(fota_ota_state_name(FOTA_OTA_IMG_VALID), "VALID");
    assert_string_equal(fota_ota_state_name(FOTA_OTA_IMG_INVALID), "INVALID");
    assert_string_equal(fota_ota_state_name(FOTA_OTA_IMG_ABORTED), "ABORTED");
    assert_string_equal(fota_ota_state_name(FOTA_OTA_IMG_UNDEFINED), "UNDEFINED");
    assert_string_equal(fota_ota_state_name(7), "UNKNOWN");
}

/* --- usability and selection ----------------------------------------------------------------- */

static void test_usable_by_state(void **state)
{
    (void)state;
    assert_true(fota_ota_entry_usable(&(fota_ota_entry_t){0}) == false); /* crc 0 is wrong */
    fota_ota_entry_t e = entry(3, FOTA_OTA_IMG_NEW);
    assert_true(fota_ota_entry_usable(&e));
    e = entry(3, FOTA_OTA_IMG_PENDING_VERIFY);
    assert_true(fota_ota_entry_usable(&e));
    e = entry(3, FOTA_OTA_IMG_VALID);
    assert_true(fota_ota_entry_usable(&e));
    e = entry(3, FOTA_OTA_IMG_UNDEFINED); /* written with rollback off */
    assert_true(fota_ota_entry_usable(&e));
    e = entry(3, 9); /* an unknown state is not one of the two that disqualify */
    assert_true(fota_ota_entry_usable(&e));
    e = entry(3, FOTA_OTA_IMG_INVALID);
    assert_false(fota_ota_entry_usable(&e));
    e = entry(3, FOTA_OTA_IMG_ABORTED);
    assert_false(fota_ota_entry_usable(&e));
}

static void test_unusable_crc_and_erased_seq(void **state)
{
    (void)state;
    fota_ota_entry_t e = entry(3, FOTA_OTA_IMG_VALID);
    e.crc = fota_otadata_crc(4);
    assert_false(fota_ota_entry_usable(&e));
    e = entry(0xFFFFFFFFu, FOTA_OTA_IMG_VALID); /* right CRC, but the erased seq */
    assert_true(fota_ota_entry_crc_ok(&e));
    assert_false(fota_ota_entry_usable(&e));
    e = erased_entry();
    assert_false(fota_ota_entry_usable(&e));
}

static void test_active_selection(void **state)
{
    (void)state;
    fota_ota_entry_t e[2] = {entry(1, FOTA_OTA_IMG_VALID), entry(2, FOTA_OTA_IMG_NEW)};
    assert_int_equal(fota_otadata_active(e), 1);
    e[0] = entry(7, FOTA_OTA_IMG_VALID);
    assert_int_equal(fota_otadata_active(e), 0);
    e[1] = entry(7, FOTA_OTA_IMG_VALID); /* equal seqs: copy 0, as ESP-IDF */
    assert_int_equal(fota_otadata_active(e), 0);
    e[0] = entry(8, FOTA_OTA_IMG_ABORTED); /* the larger seq, but aborted */
    assert_int_equal(fota_otadata_active(e), 1);
    e[0] = entry(8, FOTA_OTA_IMG_VALID);
    e[0].crc ^= 0x80000000u; /* the larger seq, but a bad CRC */
    assert_int_equal(fota_otadata_active(e), 1);
    e[1] = entry(2, FOTA_OTA_IMG_INVALID);
    assert_int_equal(fota_otadata_active(e), -1);
    e[0] = erased_entry();
    e[1] = erased_entry();
    assert_int_equal(fota_otadata_active(e), -1);
    e[1] = entry(1, FOTA_OTA_IMG_UNDEFINED);
    assert_int_equal(fota_otadata_active(e), 1);
}

static void test_slot_mapping(void **state)
{
    (void)state;
    fota_ota_entry_t e = entry(1, FOTA_OTA_IMG_VALID);
    assert_int_equal(fota_otadata_slot(&e, 2), 0);
    e.ota_seq = 2;
    assert_int_equal(fota_otadata_slot(&e, 2), 1);
    e.ota_seq = 3;
    assert_int_equal(fota_otadata_slot(&e, 2), 0);
    e.ota_seq = 4;
    assert_int_equal(fota_otadata_slot(&e, 3), 0);
    e.ota_seq = 6;
    assert_int_equal(fota_otadata_slot(&e, 3), 2);
    e.ota_seq = 17;
    assert_int_equal(fota_otadata_slot(&e, 16), 0);
    e.ota_seq = 16;
    assert_int_equal(fota_otadata_slot(&e, 16), 15);
    e.ota_seq = 0; /* unsigned wrap, as in ESP-IDF: (2^32 - 1) % 3 == 0 */
    assert_int_equal(fota_otadata_slot(&e, 3), 0);
    assert_int_equal(fota_otadata_slot(&e, 2), 1);
}

/* --- next_for_slot (esp_rewrite_ota_data) ---------------------------------------------------- */

static void test_next_from_nothing(void **state)
{
    (void)state;
    fota_ota_entry_t e[2] = {erased_entry(), erased_entry()};
    set_slot(e, 1, 2, 2, 0); /* no active entry: seq = slot + 1 into copy 0 */

    fota_ota_entry_t f[2] = {erased_entry(), erased_entry()};
    set_slot(f, 0, 2, 1, 0);

    fota_ota_entry_t g[2] = {entry(4, FOTA_OTA_IMG_ABORTED), entry(3, FOTA_OTA_IMG_INVALID)};
    set_slot(g, 2, 4, 3, 0); /* nothing usable counts as nothing */
}

static void test_next_alternates_two_slots(void **state)
{
    (void)state;
    fota_ota_entry_t e[2] = {erased_entry(), erased_entry()};
    set_slot(e, 0, 2, 1, 0);
    set_slot(e, 1, 2, 2, 1);
    set_slot(e, 0, 2, 3, 0);
    set_slot(e, 1, 2, 4, 1);
    set_slot(e, 0, 2, 5, 0);
    /* The slot that already boots: the same seq again, in the other copy; the tie goes to
     * copy 0, which is the one just written here. */
    set_slot(e, 0, 2, 5, 1);
    assert_int_equal(fota_otadata_active(e), 0);
}

static void test_next_three_and_more_slots(void **state)
{
    (void)state;
    fota_ota_entry_t e[2] = {erased_entry(), erased_entry()};
    set_slot(e, 0, 3, 1, 0);
    set_slot(e, 1, 3, 2, 1);
    set_slot(e, 2, 3, 3, 0);
    set_slot(e, 0, 3, 4, 1);
    set_slot(e, 2, 3, 6, 0); /* skips seq 5 (slot 1) */
    set_slot(e, 1, 3, 8, 1);
    set_slot(e, 1, 3, 8, 0);

    fota_ota_entry_t f[2] = {entry(1, FOTA_OTA_IMG_VALID), erased_entry()};
    set_slot(f, 15, 16, 16, 1);
    set_slot(f, 3, 16, 20, 0);
}

/* For every slot count and a long pseudo-random walk: the seq written is the smallest one at or
 * above the active seq that maps to the slot, and the selection then picks exactly it. */
static void test_next_property(void **state)
{
    (void)state;
    uint32_t rnd = 12345;
    for (unsigned count = 1; count <= 16; count++) {
        fota_ota_entry_t e[2] = {erased_entry(), erased_entry()};
        for (int step = 0; step < 200; step++) {
            rnd = rnd * 1103515245u + 12345u;
            unsigned slot = (rnd >> 16) % count;
            int a = fota_otadata_active(e);
            uint32_t floor = a < 0 ? 0 : e[a].ota_seq;
            fota_ota_entry_t next;
            int index;
            assert_int_equal(fota_otadata_next_for_slot(e, slot, count, &next, &index), FOTA_OK);
            assert_int_equal(index, a < 0 ? 0 : 1 - a);
            assert_true(next.ota_seq >= floor);
            assert_true(next.ota_seq < floor + count || (a < 0 && next.ota_seq == slot + 1));
            assert_int_equal((next.ota_seq - 1) % count, slot);
            e[index] = next;
            int now = fota_otadata_active(e);
            assert_int_equal(fota_otadata_slot(&e[now], count), slot);
        }
    }
}

static void test_next_errors_and_top(void **state)
{
    (void)state;
    fota_ota_entry_t e[2] = {entry(1, FOTA_OTA_IMG_VALID), erased_entry()};
    fota_ota_entry_t next;
    int index;
    assert_int_equal(fota_otadata_next_for_slot(e, 2, 2, &next, &index), FOTA_ERR_OTADATA_SLOT);
    assert_int_equal(fota_otadata_next_for_slot(e, 0, 0, &next, &index), FOTA_ERR_OTADATA_SLOT);
    assert_int_equal(fota_otadata_next_for_slot(NULL, 0, 2, &next, &index), FOTA_ERR_ARG);
    assert_int_equal(fota_otadata_next_for_slot(e, 0, 2, NULL, &index), FOTA_ERR_ARG);

    /* Near the top of the seq range: 0xFFFFFFFF is the erased value and cannot be written. */
    e[0] = entry(0xFFFFFFFEu, FOTA_OTA_IMG_VALID); /* slot 1 of 2 */
    assert_int_equal(fota_otadata_next_for_slot(e, 0, 2, &next, &index), FOTA_ERR_RANGE);
    assert_int_equal(fota_otadata_next_for_slot(e, 1, 2, &next, &index), FOTA_OK);
    assert_int_equal(next.ota_seq, 0xFFFFFFFEu);
    e[0] = entry(0xFFFFFFF0u, FOTA_OTA_IMG_VALID);
    assert_int_equal(fota_otadata_next_for_slot(e, 0, 2, &next, &index), FOTA_OK);
    assert_int_equal(next.ota_seq, 0xFFFFFFF1u);
}

/* rewrite_ota_seq changes seq, state and crc of the copy it read: its label stays. */
static void test_next_keeps_label_of_target_copy(void **state)
{
    (void)state;
    fota_ota_entry_t e[2] = {entry(1, FOTA_OTA_IMG_VALID), erased_entry()};
    memcpy(e[1].seq_label, "label-of-copy-one...", 20);
    fota_ota_entry_t next;
    int index;
    assert_int_equal(fota_otadata_next_for_slot(e, 1, 2, &next, &index), FOTA_OK);
    assert_int_equal(index, 1);
    assert_memory_equal(next.seq_label, "label-of-copy-one...", 20);
    assert_true(fota_ota_entry_crc_ok(&next));
}

/* --- flash ----------------------------------------------------------------------------------- */

static void test_write_erases_then_writes_its_copy(void **state)
{
    (void)state;
    mem_flash_t *m = malloc(sizeof *m);
    assert_non_null(m);
    fota_flash_t f = mem_open(m);
    fota_ota_entry_t e = entry(5, FOTA_OTA_IMG_NEW);
    assert_int_equal(fota_otadata_write(&f, OTADATA_AT, 1, &e), FOTA_OK);
    assert_int_equal(m->nlog, 2);
    assert_op(m, 0, 'e', OTADATA_AT + 0x1000u, 0x1000u);
    assert_op(m, 1, 'w', OTADATA_AT + 0x1000u, 32u);

    uint8_t want[FOTA_OTADATA_ENTRY_LEN];
    fota_ota_entry_encode(&e, want);
    assert_memory_equal(m->bytes + OTADATA_AT + 0x1000u, want, sizeof want);
    for (uint32_t i = 32; i < 0x1000u; i++) {
        assert_int_equal(m->bytes[OTADATA_AT + 0x1000u + i], 0xFF);
    }
    assert_int_equal(m->bytes[OTADATA_AT], 0x00); /* copy 0 untouched */

    /* Rewriting over a written copy works only because of the erase (NOR clears bits). */
    fota_ota_entry_t v = entry(6, FOTA_OTA_IMG_VALID);
    assert_int_equal(fota_otadata_write(&f, OTADATA_AT, 1, &v), FOTA_OK);
    fota_ota_entry_t back[2];
    assert_int_equal(fota_otadata_read(&f, OTADATA_AT, back), FOTA_OK);
    assert_int_equal(back[1].ota_seq, 6);
    assert_int_equal(back[1].ota_state, FOTA_OTA_IMG_VALID);
    assert_true(fota_ota_entry_crc_ok(&back[1]));
    assert_int_equal(back[0].ota_seq, 0);
    free(m);
}

static void test_read_both_copies(void **state)
{
    (void)state;
    mem_flash_t *m = malloc(sizeof *m);
    assert_non_null(m);
    fota_flash_t f = mem_open(m);
    fota_ota_entry_t a = entry(3, FOTA_OTA_IMG_VALID), b = entry(4, FOTA_OTA_IMG_PENDING_VERIFY);
    assert_int_equal(fota_otadata_write(&f, OTADATA_AT, 0, &a), FOTA_OK);
    assert_int_equal(fota_otadata_write(&f, OTADATA_AT, 1, &b), FOTA_OK);
    m->nlog = 0;
    fota_ota_entry_t e[2];
    assert_int_equal(fota_otadata_read(&f, OTADATA_AT, e), FOTA_OK);
    assert_op(m, 0, 'r', OTADATA_AT, 32u);
    assert_op(m, 1, 'r', OTADATA_AT + 0x1000u, 32u);
    assert_int_equal(e[0].ota_seq, 3);
    assert_int_equal(e[1].ota_seq, 4);
    assert_int_equal(e[1].ota_state, FOTA_OTA_IMG_PENDING_VERIFY);
    assert_int_equal(fota_otadata_active(e), 1);

    m->nlog = 0;
    m->fail_at = 1; /* the second read fails: the error comes back as is */
    assert_int_equal(fota_otadata_read(&f, OTADATA_AT, e), FOTA_ERR_IO);
    free(m);
}

static void test_erase_and_errors(void **state)
{
    (void)state;
    mem_flash_t *m = malloc(sizeof *m);
    assert_non_null(m);
    fota_flash_t f = mem_open(m);
    assert_int_equal(fota_otadata_erase(&f, OTADATA_AT), FOTA_OK);
    assert_op(m, 0, 'e', OTADATA_AT, 0x2000u);
    fota_ota_entry_t e[2];
    assert_int_equal(fota_otadata_read(&f, OTADATA_AT, e), FOTA_OK);
    assert_int_equal(e[0].ota_seq, 0xFFFFFFFFu);
    assert_int_equal(e[1].ota_state, FOTA_OTA_IMG_UNDEFINED);
    assert_int_equal(fota_otadata_active(e), -1);
    assert_int_equal(m->bytes[OTADATA_AT - 1], 0x00); /* nothing outside otadata */
    assert_int_equal(m->bytes[OTADATA_AT + 0x2000u], 0x00);

    fota_ota_entry_t x = entry(1, FOTA_OTA_IMG_NEW);
    assert_int_equal(fota_otadata_write(&f, OTADATA_AT, 2, &x), FOTA_ERR_ARG);
    assert_int_equal(fota_otadata_write(&f, OTADATA_AT, -1, &x), FOTA_ERR_ARG);
    assert_int_equal(fota_otadata_write(NULL, OTADATA_AT, 0, &x), FOTA_ERR_ARG);
    assert_int_equal(fota_otadata_read(NULL, OTADATA_AT, e), FOTA_ERR_ARG);
    assert_int_equal(fota_otadata_erase(NULL, OTADATA_AT), FOTA_ERR_ARG);

    /* A failed erase writes nothing. */
    m->nlog = 0;
    m->fail_at = 0;
    assert_int_equal(fota_otadata_write(&f, OTADATA_AT, 0, &x), FOTA_ERR_IO);
    assert_int_equal(m->bytes[OTADATA_AT], 0xFF);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_known_values),
        cmocka_unit_test(test_encode_exact_bytes),
        cmocka_unit_test(test_decode_round_trip),
        cmocka_unit_test(test_make_sets_crc_and_blank_label),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_usable_by_state),
        cmocka_unit_test(test_unusable_crc_and_erased_seq),
        cmocka_unit_test(test_active_selection),
        cmocka_unit_test(test_slot_mapping),
        cmocka_unit_test(test_next_from_nothing),
        cmocka_unit_test(test_next_alternates_two_slots),
        cmocka_unit_test(test_next_three_and_more_slots),
        cmocka_unit_test(test_next_property),
        cmocka_unit_test(test_next_errors_and_top),
        cmocka_unit_test(test_next_keeps_label_of_target_copy),
        cmocka_unit_test(test_write_erases_then_writes_its_copy),
        cmocka_unit_test(test_read_both_copies),
        cmocka_unit_test(test_erase_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
