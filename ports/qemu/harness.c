/*
 * harness.c - the agent core running bare metal on a QEMU machine, end to end against a real
 * server: fota-qemu-bridge sends the device's settings over the serial line, the harness runs
 * the agent (check, manifest, download, verify, slot switch, reboot, self-test, confirm) until it
 * settles, then reports what the run measured (FQ_RESULT) and writes the update slot to a host
 * file through semihosting for the test to compare with the release's image.
 *
 * Measured here, on the target itself:
 *   stack     the stack is painted at start and the deepest byte touched found at the end;
 *   heap      Mbed TLS's static pool (memory_buffer_alloc), painted after its set-up: the
 *             highest byte any allocation reached, i.e. the pool size this run needed;
 *   insns     instructions spent inside the agent's calls (poll, response begin/header/feed/end,
 *             init, deinit, confirm), less those in the flash port under them (the platform's
 *             driver, reported apart), not the UART; from QEMU's instruction-driven clock;
 *             beside them SHA-256 alone over the image's bytes.
 * docs/TARGETS.md says how to run it; bench/targets.sh turns the results into a table.
 */
#include <string.h>

#include <mbedtls/memory_buffer_alloc.h>
#include <mbedtls/sha256.h>

#include "board.h"
#include "fota/esp_image.h"
#include "harness.h"
#include "link.h"
#include "link_proto.h"
#include "semihost.h"

#define HEAP_SIZE (16u * 1024u)
#define PAINT 0xA5u
#define MAX_STEPS 100000u
#define MAX_BOOTS 4u

uint64_t harness_agent_units;

static harness_settings_t settings;
static fota_agent_t agent;
static uint8_t heap[HEAP_SIZE];
static uint8_t hello[FQ_MAX_HELLO];
static fota_err_t outcome;
static uint32_t states_seen; /* bit per fota_state_t */

/* ---- settings ------------------------------------------------------------------------------ */

static void copy_str(char *dst, size_t cap, const uint8_t *v, uint16_t n)
{
    n = n < cap ? n : (uint16_t)(cap - 1);
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static void hello_field(uint8_t tag, const uint8_t *v, uint16_t n)
{
    harness_settings_t *s = &settings;
    switch (tag) {
    case FQ_T_DEVICE_ID:
        copy_str(s->device_id, sizeof s->device_id, v, n);
        break;
    case FQ_T_DEVICE_KEY:
        memcpy(s->device_key, v, n == 32 ? 32 : 0);
        break;
    case FQ_T_PRODUCT:
        copy_str(s->product, sizeof s->product, v, n);
        break;
    case FQ_T_VERSION:
        copy_str(s->version, sizeof s->version, v, n);
        break;
    case FQ_T_RELEASE_KEY:
        s->release_key_len = n <= sizeof s->release_key ? n : 0;
        memcpy(s->release_key, v, s->release_key_len);
        break;
    case FQ_T_MODE:
        s->mode = n == 1 ? v[0] : 0xFF;
        break;
    case FQ_T_CHIP:
        s->chip = n == 2 ? link_le16(v) : 0xFFFF;
        break;
    case FQ_T_TIME:
        s->unix_time = n == 8 ? link_le64(v) : 0;
        break;
    case FQ_T_SEED:
        s->seed = n >= 8 ? link_le64(v) : 0;
        break;
    case FQ_T_ICOUNT:
        s->icount_shift = n == 1 ? v[0] : 0;
        break;
    case FQ_T_FLOOR:
        s->floor = n == 4 ? link_le32(v) : 0;
        break;
    case FQ_T_RANGE:
        s->range_records = n == 4 ? link_le32(v) : 0;
        break;
    case FQ_T_DUMP:
        copy_str(s->dump, sizeof s->dump, v, n);
        break;
    case FQ_T_MEASURE:
        s->measure = n == 4 ? link_le32(v) : 0;
        break;
    default:
        break; /* a newer bridge's setting */
    }
}

static void read_hello(void)
{
    uint8_t type;
    uint32_t len;
    link_recv_head(&type, &len);
    if (type != FQ_HELLO || len > sizeof hello) {
        semihost_trap("no hello from the bridge", type, len, 0);
    }
    link_recv(hello, len);
    for (uint32_t at = 0; at + 3 <= len;) {
        uint16_t n = link_le16(hello + at + 1);
        if (n > len - at - 3) {
            semihost_trap("hello field runs past its frame", hello[at], n, at);
        }
        hello_field(hello[at], hello + at + 3, n);
        at += 3u + n;
    }
}

/* ---- results --------------------------------------------------------------------------------- */

static char result[1024];
static size_t result_len;

static void put_str(const char *s)
{
    size_t n = strlen(s);
    if (result_len + n < sizeof result) {
        memcpy(result + result_len, s, n);
        result_len += n;
    }
}

static void put_u64(uint64_t v)
{
    char digits[21];
    size_t i = sizeof digits - 1;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    put_str(digits + i);
}

static void put_line(const char *key, uint64_t v)
{
    put_str(key);
    put_str(" ");
    put_u64(v);
    put_str("\n");
}

static void send_result(void)
{
    link_send_head(FQ_RESULT, (uint32_t)result_len);
    link_send(result, result_len);
}

/* ---- the device --------------------------------------------------------------------------------
 */

static void on_event(void *ctx, const fota_event_t *ev)
{
    (void)ctx;
    if (ev->kind == FOTA_EVENT_STATE && ev->state < 32) {
        states_seen |= 1u << ev->state;
    } else if (ev->kind == FOTA_EVENT_ERROR) {
        outcome = ev->err;
    }
}

/* The version in the running slot's app descriptor (after the image header and the first
 * segment's header), as esp_app_get_description() would give it; the bridge's at first boot. */
static const char *running_version(void)
{
    static fota_esp_app_desc_t desc;
    if (harness_machine.running == 0) {
        return settings.version;
    }
    const uint8_t *slot = board_flash + harness_slot_offset(harness_machine.running);
    if (fota_esp_app_desc_parse(slot + 32, 256, &desc) != FOTA_OK) {
        return "?";
    }
    return desc.version;
}

static fota_err_t agent_start(void)
{
    fota_agent_config_t cfg = {
        .device_id = settings.device_id,
        .device_key = settings.device_key,
        .product_id = settings.product,
        .current_version = running_version(),
        .security_floor = settings.floor,
        .release_key = settings.release_key,
        .release_key_len = settings.release_key_len,
        .chip_id = settings.chip,
        .mode = (fota_mode_t)settings.mode,
        .retry_ms = 1000,
        .range_records = settings.range_records,
        .progress_every = 64,
        .on_event = on_event,
    };
    fota_ports_t ports = harness_ports();
    fota_err_t err;
    HARNESS_COUNTED(err = fota_agent_init(&agent, &cfg, &ports));
    if (err == FOTA_OK && harness_machine.pending_now) {
        /* the new image's self-test: it runs, so it passes */
        HARNESS_COUNTED(err = fota_agent_confirm(&agent));
    }
    return err;
}

/* The bootloader: the slot set for the next boot starts, pending if it is a new image. */
static void reboot(void)
{
    HARNESS_COUNTED(fota_agent_deinit(&agent));
    harness_machine.running = harness_machine.next;
    harness_machine.pending_now = harness_machine.pending;
    harness_machine.pending = false;
    harness_machine.reboot = false;
}

/* Drive the agent until it settles; FOTA_OK, or why it could not run at all. */
static fota_err_t drive(uint32_t *steps)
{
    fota_err_t err = agent_start();
    if (err != FOTA_OK) {
        return err;
    }
    fota_agent_check_now(&agent);
    for (unsigned boots = 0; boots < MAX_BOOTS; boots++) {
        for (;;) {
            fota_action_t act;
            if (++*steps > MAX_STEPS) {
                return FOTA_ERR_STATE;
            }
            HARNESS_COUNTED(fota_agent_poll(&agent, &act));
            if (act.kind == FOTA_ACTION_HTTP) {
                harness_perform(&agent, act.http);
            } else if (act.kind == FOTA_ACTION_REBOOT || harness_machine.reboot) {
                break;
            } else if (fota_agent_settled(&agent)) {
                return FOTA_OK;
            } else {
                harness_machine.clock_ms += act.wait_ms != 0 ? act.wait_ms : 1u;
            }
        }
        reboot();
        if ((err = agent_start()) != FOTA_OK) {
            return err;
        }
    }
    return FOTA_ERR_STATE;
}

/* ---- measurements ------------------------------------------------------------------------------
 */

/* Paint the stack below the current frame (with a margin for this function's own). */
static __attribute__((noinline)) void stack_paint(void)
{
    uintptr_t limit = (uintptr_t)__builtin_frame_address(0) - 256u;
    for (uint8_t *p = __stack_bottom; (uintptr_t)p < limit; p++) {
        *p = PAINT;
    }
}

static uint32_t stack_used(void)
{
    const uint8_t *p = __stack_bottom;
    while (p < __stack_top && *p == PAINT) {
        p++;
    }
    return (uint32_t)(__stack_top - p);
}

/* SHA-256 alone over the first `len` bytes of the new image: the floor of the CPU cost. */
static uint64_t sha256_units(uint32_t len, uint8_t digest[32])
{
    const uint8_t *slot = board_flash + harness_slot_offset(harness_machine.running);
    mbedtls_sha256_context ctx;
    uint32_t t0 = board_count();
    mbedtls_sha256_init(&ctx);
    mbedtls_sha256_starts(&ctx, 0);
    for (uint32_t at = 0; at < len; at += 1024u) {
        mbedtls_sha256_update(&ctx, slot + at, len - at < 1024u ? len - at : 1024u);
    }
    mbedtls_sha256_finish(&ctx, digest);
    mbedtls_sha256_free(&ctx);
    return (uint32_t)(board_count() - t0);
}

/* The pool is set up (zeroed, one free block's header at its start), then painted past that
 * header; allocations come from its low end (first fit), so the last byte not of the paint is
 * the most of the pool this run used. */
#define HEAP_HEADER_ROOM 64u

void *fota_qemu_no_calloc(size_t n, size_t size)
{
    (void)n;
    (void)size;
    return NULL;
}

void fota_qemu_no_free(void *p)
{
    (void)p;
}

void fota_qemu_mbedtls_exit(int status)
{
    semihost_trap("mbedtls heap corrupted", (uint32_t)status, 0, 0);
}

static void heap_start(void)
{
    mbedtls_memory_buffer_alloc_init(heap, sizeof heap);
    memset(heap + HEAP_HEADER_ROOM, PAINT, sizeof heap - HEAP_HEADER_ROOM);
}

static uint32_t heap_used(void)
{
    uint32_t n = sizeof heap;
    while (n > HEAP_HEADER_ROOM && heap[n - 1] == PAINT) {
        n--;
    }
    return n;
}

/* The C library's memcpy and memcmp over the same bytes, 1 KB at a time (what the agent does
 * with a record gathered across pieces and with the read-back): beside SHA-256, the rest of the
 * per-byte floor on this target. */
static void libc_units(uint32_t len, uint64_t *copy, uint64_t *compare)
{
    static uint8_t buf[1024];
    const uint8_t *slot = board_flash + harness_slot_offset(harness_machine.running);
    int differ = 0;
    *copy = *compare = 0;
    for (uint32_t at = 0; at < len; at += sizeof buf) {
        size_t n = len - at < sizeof buf ? len - at : sizeof buf;
        HARNESS_TIMED(*copy, memcpy(buf, slot + at, n));
        HARNESS_TIMED(*compare, differ |= memcmp(buf, slot + at, n));
    }
    if (differ != 0) {
        *compare = 0; /* cannot be: then it measured nothing */
    }
}

/* The image check the agent makes on the written image before the slot switch (header, segments,
 * the checksum over every segment byte, app descriptor; no hash), alone, its flash reads not
 * counted: the part of the per-byte cost that comes from the ESP image format. */
static uint64_t check_read_units;

static fota_err_t check_read(void *ctx, uint32_t offset, void *buf, size_t len)
{
    (void)ctx;
    if (offset > HARNESS_SLOT_SIZE || len > HARNESS_SLOT_SIZE - offset) {
        return FOTA_ERR_FLASH_BOUNDS;
    }
    const uint8_t *slot = board_flash + harness_slot_offset(harness_machine.running);
    HARNESS_TIMED(check_read_units, memcpy(buf, slot + offset, len));
    return FOTA_OK;
}

static uint64_t image_check_units(void)
{
    fota_esp_image_info_t info;
    uint64_t units = 0;
    fota_err_t err;
    check_read_units = 0;
    HARNESS_TIMED(units,
                  err = fota_esp_image_check_layout(check_read, NULL, HARNESS_SLOT_SIZE, &info));
    return err == FOTA_OK ? units - check_read_units : 0;
}

static void report(fota_err_t run_err, uint32_t steps)
{
    unsigned shift = settings.icount_shift;
    put_str("version ");
    put_str(running_version());
    put_str("\n");
    put_line("outcome", (uint32_t)(run_err != FOTA_OK ? run_err : outcome));
    put_line("state", fota_agent_state(&agent));
    put_line("states", states_seen);
    put_line("slot", harness_machine.running);
    put_line("steps", steps);
    put_line("stack_used", stack_used());
    put_line("stack_size", (uint32_t)(__stack_top - __stack_bottom));
    put_line("agent_struct", sizeof agent);
    put_line("heap_peak", heap_used());
    put_line("heap_size", sizeof heap);
    put_line("flash_erases", harness_machine.erases);
    put_line("flash_writes", harness_machine.writes);
    put_line("flash_written", harness_machine.written);
    /* the agent's own work: its calls, less the flash driver under them */
    put_line("agent_insns", board_count_insns(harness_agent_units - harness_flash_units, shift));
    put_line("flash_insns", board_count_insns(harness_flash_units, shift));
    if (settings.measure != 0 && settings.measure <= HARNESS_SLOT_SIZE) {
        uint8_t digest[32];
        put_line("measure_bytes", settings.measure);
        put_line("sha256_insns", board_count_insns(sha256_units(settings.measure, digest), shift));
        uint64_t copy, compare;
        libc_units(settings.measure, &copy, &compare);
        put_line("memcpy_insns", board_count_insns(copy, shift));
        put_line("memcmp_insns", board_count_insns(compare, shift));
        put_line("image_check_insns", board_count_insns(image_check_units(), shift));
    }
    send_result();
}

int harness_main(void)
{
    stack_paint();
    board_count_start();
    board_uart_start();
    link_send_head(FQ_READY, 0);
    read_hello();
    memset(board_flash, 0xFF, BOARD_FLASH_SIZE);
    heap_start();
    harness_machine.unix_start = settings.unix_time;
    harness_machine.rng = settings.seed;

    uint32_t steps = 0;
    fota_err_t err = drive(&steps);
    report(err, steps);
    if (settings.dump[0] != '\0') {
        const uint8_t *slot = board_flash + HARNESS_SLOT1;
        if (!semihost_write_file(settings.dump, slot, HARNESS_SLOT_SIZE)) {
            semihost_line("fota-qemu: cannot write the slot dump");
            return 2;
        }
    }
    return 0;
}
