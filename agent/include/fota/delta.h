/*
 * delta.h - applies a delta patch (docs/DELTA.md): turns the running image (the old one, read
 * through the caller) into the new one, written in order, in constant RAM and without malloc.
 *
 * A patch is a 16-byte header and records of record_size bytes (the last may be shorter). Each
 * record is decoded alone given the state the records before it in its segment left: a range
 * coder over adaptive bit models turns it into operations in the manner of bsdiff (add the next
 * bytes of the old image to difference bytes, insert new bytes, move in the old image). A
 * segment starts with a record that says where it starts (new and old positions) and resets
 * the models; the maker starts one every few records (4 by default), at whatever position of the
 * new image it has reached. An update interrupted by a power cut resumes at the last segment
 * start at or before the first byte not yet in flash (the caller remembers which record that
 * was): fota_delta_restart, then the records again from there, with the bytes already in flash
 * (below `keep`) decoded but not written. The first segment of a patch starts at byte 0.
 *
 * Every length and position is checked against the header's image sizes before it is used: a
 * hostile or damaged record is refused with a distinct error (FOTA_ERR_DELTA_*), never reads
 * outside the old image nor writes outside the new one.
 */
#ifndef FOTA_DELTA_H
#define FOTA_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FOTA_DELTA_HEADER_LEN 16u
#define FOTA_DELTA_MAGIC "FDP1"
#define FOTA_DELTA_BUF 128u /* bytes of old image read, and of new image written, at a time */

/* The adaptive probabilities: reset at every segment start. */
typedef struct {
    uint16_t zero[64];   /* difference byte is zero; context: last 4 such flags, position % 4 */
    uint16_t same[4];    /* nonzero difference equals the last one at that position % 4 */
    uint16_t diff[256];  /* a nonzero difference byte, as a bit tree */
    uint16_t lit[256];   /* an inserted byte, as a bit tree */
    uint16_t num[3][64]; /* add length, insert length, seek distance */
    uint16_t sign[2];    /* seek direction */
} fota_delta_model_t;

typedef struct {
    /* the header */
    uint32_t new_size;
    uint32_t old_size;
    uint32_t record_size;
    /* where the decoding stands */
    uint32_t new_pos;
    uint32_t old_pos;
    uint32_t add_left;   /* of the current operation */
    uint32_t extra_left; /* of the current operation */
    int64_t seek;        /* applied when the current operation is done */
    bool in_op;          /* an operation is under way */
    bool in_segment;     /* a segment start has been decoded */
    bool resuming;       /* after fota_delta_restart: the next segment may start anywhere */
    uint8_t hist;        /* last zero flags */
    uint8_t last_diff[4];
    fota_delta_model_t m;
    /* buffers */
    uint32_t old_at; /* image offset of old_buf[0] */
    uint32_t old_len;
    uint32_t out_at; /* image offset of out_buf[0] */
    uint32_t out_len;
    uint8_t old_buf[FOTA_DELTA_BUF];
    uint8_t out_buf[FOTA_DELTA_BUF];
} fota_delta_t;

/* Reading the old image and writing the new one: offsets are within the image. */
typedef struct {
    void *ctx;
    fota_err_t (*read_old)(void *ctx, uint32_t off, uint8_t *buf, size_t len);
    fota_err_t (*write_new)(void *ctx, uint32_t off, const uint8_t *buf, size_t len);
} fota_delta_io_t;

/*
 * Parse the patch header (FOTA_DELTA_HEADER_LEN bytes): magic "FDP1", then new image size, old
 * image size and record size, little-endian u32 each. FOTA_ERR_DELTA_FORMAT for another magic,
 * a size of 0 or a record size under 32; FOTA_ERR_DELTA_SOURCE when old_size is not the size of
 * the image the device runs (`running_size`).
 */
fota_err_t fota_delta_begin(fota_delta_t *d, const uint8_t *header, size_t len,
                            uint32_t running_size);

/* The same from the numbers a delta manifest carries (manifest.h: image_size, source_size,
 * chunk_size), for a patch served as records without its header. */
fota_err_t fota_delta_init(fota_delta_t *d, uint32_t new_size, uint32_t old_size,
                           uint32_t record_size);

/* Start again at a segment start (after a power cut): the next record given must be one. */
void fota_delta_restart(fota_delta_t *d);

/*
 * Apply one record (its record_size bytes; the last record may be shorter). Bytes of the new
 * image below `keep` are decoded but not written (they are in flash already). On an error the
 * state is undefined: restart at a segment start. Errors: FOTA_ERR_DELTA_CORRUPT (malformed
 * record, or the range coder ran past its end), FOTA_ERR_DELTA_LENGTH (an operation longer than
 * what is left of the new image), FOTA_ERR_DELTA_OLD_RANGE (a read outside the old image),
 * FOTA_ERR_DELTA_ORDER (a record that does not continue where the last one ended), or what
 * the I/O functions return.
 */
fota_err_t fota_delta_record(fota_delta_t *d, const uint8_t *rec, size_t len, uint32_t keep,
                             const fota_delta_io_t *io);

/* Whether a record starts a segment (its first byte says so). */
static inline bool fota_delta_is_segment_start(const uint8_t *rec, size_t len)
{
    return len > 0u && (rec[0] & 1u) != 0u;
}

/* Where a segment start begins in the new image; false for another record or a malformed one. */
bool fota_delta_segment_at(const uint8_t *rec, size_t len, uint32_t *new_pos);

/* The whole new image has been produced. */
bool fota_delta_done(const fota_delta_t *d);

#ifdef __cplusplus
}
#endif

#endif /* FOTA_DELTA_H */
