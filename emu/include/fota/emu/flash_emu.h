/*
 * flash_emu.h - an emulated ESP32 SPI NOR flash backed by a file (or memory).
 *
 * Default 4 MB, 4096-byte sectors. NOR rules: erase sets whole sectors to 0xFF; a write can only
 * clear bits (new = old & data). In strict mode a write that would need to set a bit (a byte that
 * is not erased enough) fails with FOTA_ERR_FLASH_NOT_ERASED and writes nothing; the message from
 * fota_flash_emu_last_error() names the first such address. Every read, write and erase is
 * counted.
 *
 * Power-cut injection: fota_flash_emu_plan_cut() arms a cut at operation K counted from the
 * call (K = 0 is the next operation). FOTA_CUT_BEFORE stops the flash before that operation
 * does anything; FOTA_CUT_TORN lets a write keep a random prefix of its new bytes, or an erase
 * leave its sector partly erased with garbage (chosen reproducibly from the seed). The operation
 * that is cut and every later one return FOTA_ERR_FLASH_POWER_CUT until fota_flash_emu_power_on()
 * ("reboot"). The file always holds what real flash would hold at that instant.
 *
 * Templates: many flashes can start from the same contents without a copy each.
 * fota_flash_emu_template() freezes a copy of a flash; every flash opened from it with
 * fota_flash_emu_open_shared() reads the template's sectors until it first writes or erases one,
 * and only then holds its own copy of that 4 KB sector (an erased sector holds no memory). Such a
 * flash behaves exactly as one opened in memory and written with the same contents: same NOR
 * rules, counters, cuts and tears; what one flash does is never seen by the template or by the
 * others.
 */
#ifndef FOTA_EMU_FLASH_EMU_H
#define FOTA_EMU_FLASH_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"
#include "fota/flash.h"

#define FOTA_FLASH_EMU_DEFAULT_SIZE (4u * 1024u * 1024u)
#define FOTA_FLASH_SECTOR_SIZE 4096u

enum {
    FOTA_FLASH_EMU_STRICT = 1u << 0, /* writing a non-erased byte is an error */
    FOTA_FLASH_EMU_CREATE = 1u << 1, /* create (or truncate) the file, fully erased (0xFF) */
};

typedef enum {
    FOTA_CUT_BEFORE = 0, /* the operation does not happen at all */
    FOTA_CUT_TORN = 1,   /* the operation happens partly */
} fota_cut_mode_t;

typedef struct {
    uint64_t ops; /* reads + writes + erases */
    uint64_t reads;
    uint64_t writes;
    uint64_t erases; /* erase calls */
    uint64_t sectors_erased;
    uint64_t bytes_read;
    uint64_t bytes_written;
    uint64_t power_cuts; /* cuts that have happened */
} fota_flash_stats_t;

typedef struct fota_flash_emu fota_flash_emu_t;
typedef struct fota_flash_template fota_flash_template_t;

/*
 * Open a flash. path NULL: in memory (size bytes, erased). With FOTA_FLASH_EMU_CREATE the file is
 * created or truncated to size bytes of 0xFF; without it the file must exist and size must be 0
 * (take the file's size) or equal to it. size must be a non-zero multiple of the sector size
 * (FOTA_ERR_FLASH_SIZE). The flash is allocated; close it with fota_flash_emu_close().
 */
fota_err_t fota_flash_emu_open(const char *path, uint32_t size, unsigned flags,
                               fota_flash_emu_t **out);
void fota_flash_emu_close(fota_flash_emu_t *emu);

/*
 * A template: a frozen copy of emu's bytes as they are now (its sectors that are not erased; emu
 * itself is unchanged and may go on or be closed). Free it with fota_flash_template_free(): it is
 * released then, and its memory goes when the last flash opened from it is closed too.
 */
fota_err_t fota_flash_emu_template(const fota_flash_emu_t *emu, fota_flash_template_t **out);
void fota_flash_template_free(fota_flash_template_t *t);
/* Bytes of memory the template holds (its sector table and sectors that are not erased). */
size_t fota_flash_template_memory(const fota_flash_template_t *t);

/*
 * Open an in-memory flash whose bytes start as the template's (same size), sharing its sectors
 * copy-on-write. flags: FOTA_FLASH_EMU_STRICT (FOTA_FLASH_EMU_CREATE is FOTA_ERR_ARG). The first
 * write to a shared sector copies it (FOTA_ERR_NO_MEM if that fails, before the write is
 * accepted: nothing counted, nothing changed); an erase lets it go. Close it as any flash.
 */
fota_err_t fota_flash_emu_open_shared(fota_flash_template_t *t, unsigned flags,
                                      fota_flash_emu_t **out);

/*
 * Bytes of memory this flash holds for itself: its struct and sector table, plus the whole flash
 * (fota_flash_emu_open in memory) or the sectors it owns (from a template: those written since,
 * not yet erased). A file-backed flash's bytes are the page cache's and count 0.
 */
size_t fota_flash_emu_memory(const fota_flash_emu_t *emu);

fota_err_t fota_flash_emu_read(fota_flash_emu_t *emu, uint32_t addr, void *buf, size_t len);
fota_err_t fota_flash_emu_write(fota_flash_emu_t *emu, uint32_t addr, const void *buf, size_t len);
fota_err_t fota_flash_emu_erase(fota_flash_emu_t *emu, uint32_t addr, uint32_t len);

/* The port struct for the agent and the other modules (ctx = emu). */
fota_flash_t fota_flash_emu_port(fota_flash_emu_t *emu);

uint32_t fota_flash_emu_size(const fota_flash_emu_t *emu);
void fota_flash_emu_set_strict(fota_flash_emu_t *emu, bool strict);
void fota_flash_emu_stats(const fota_flash_emu_t *emu, fota_flash_stats_t *out);
void fota_flash_emu_reset_stats(fota_flash_emu_t *emu);

/* Text of the last error, naming the address ("write to unerased byte at 0x00012345"). */
const char *fota_flash_emu_last_error(const fota_flash_emu_t *emu);

/*
 * Operations are counted for the cut schedule (and in the stats) when they are accepted: power
 * on, in bounds, aligned and, in strict mode, onto erased bytes. So the ops count of a clean run
 * is the number of places a cut can be planned (K = 0 .. ops - 1). Planning replaces any cut
 * already planned and clears the last cut's report.
 */
void fota_flash_emu_plan_cut(fota_flash_emu_t *emu, uint64_t op, fota_cut_mode_t mode,
                             uint64_t seed);
void fota_flash_emu_cancel_cut(fota_flash_emu_t *emu);
bool fota_flash_emu_is_cut(const fota_flash_emu_t *emu); /* the power is off */
void fota_flash_emu_power_on(fota_flash_emu_t *emu);     /* reboot: operations work again */

typedef enum {
    FOTA_FLASH_OP_READ = 0,
    FOTA_FLASH_OP_WRITE = 1,
    FOTA_FLASH_OP_ERASE = 2,
} fota_flash_op_t;

/* What the last cut did (for tests and fault-injection logs). */
typedef struct {
    bool happened; /* a planned cut has fired since it was planned */
    fota_cut_mode_t mode;
    fota_flash_op_t op; /* the operation that was cut, and its arguments */
    uint32_t addr;
    uint32_t len;
    uint32_t done;        /* torn write: bytes of the prefix applied; erase: bytes fully erased */
    uint32_t torn_addr;   /* torn erase: the sector left partly erased */
    uint32_t erased_len;  /* torn erase: its leading 0xFF bytes */
    uint32_t garbage_len; /* torn erase: then this many random bytes; the rest is unchanged */
} fota_flash_cut_info_t;

void fota_flash_emu_last_cut(const fota_flash_emu_t *emu, fota_flash_cut_info_t *out);

/* Flush to the file (msync/fsync); a no-op for an in-memory flash. */
fota_err_t fota_flash_emu_sync(fota_flash_emu_t *emu);

#endif /* FOTA_EMU_FLASH_EMU_H */
