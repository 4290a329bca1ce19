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

/*
 * Open a flash. path NULL: in memory (size bytes, erased). With FOTA_FLASH_EMU_CREATE the file is
 * created or truncated to size bytes of 0xFF; without it the file must exist and size must be 0
 * (take the file's size) or equal to it. size must be a non-zero multiple of the sector size
 * (FOTA_ERR_FLASH_SIZE). The flash is allocated; close it with fota_flash_emu_close().
 */
fota_err_t fota_flash_emu_open(const char *path, uint32_t size, unsigned flags,
                               fota_flash_emu_t **out);
void fota_flash_emu_close(fota_flash_emu_t *emu);

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
