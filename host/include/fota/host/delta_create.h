/*
 * delta_create.h - makes a delta patch (docs/DELTA.md) that turns one image into another, for
 * the device's applier (agent/include/fota/delta.h).
 *
 * Matching in the manner of bsdiff: a suffix array of the old image (libdivsufsort), and for
 * each stretch of the new image the old stretch it differs least from, extended both ways while
 * at least half its bytes agree; between two such stretches the new bytes are inserted as they
 * are. The operations are then coded record by record with an adaptive binary range coder
 * (the applier's models, mirrored), each record filled to record_size bytes, a segment (the
 * models reset, the positions restated, where a device resumes after a power cut) every
 * segment_records records, or at the first sector boundary of the new image after them.
 */
#ifndef FOTA_HOST_DELTA_CREATE_H
#define FOTA_HOST_DELTA_CREATE_H

#include <stddef.h>
#include <stdint.h>

#include "fota/delta.h"
#include "fota/err.h"

typedef struct {
    uint32_t record_size;     /* bytes per record: the release's chunk size (1024) */
    uint32_t segment_records; /* records per segment: a power cut costs up to one more segment */
    uint32_t sector_size;     /* 0: segments start wherever segment_records records end; else at
                                 multiples of it (whole sectors before each, padded records) */
} fota_delta_opts_t;

/* The defaults: 1 KB records, a segment every record (a power cut costs a sector's worth of
 * records again, as in a full update). */
fota_delta_opts_t fota_delta_opts_default(void);

/*
 * The patch from old to new, malloc'd into *patch (the caller frees). FOTA_ERR_ARG for empty
 * images or options out of range (record_size 256..65536, segment_records 0, sector_size not a
 * multiple of 16),
 * FOTA_ERR_TOO_LARGE for an image of 2 GB or more, FOTA_ERR_NO_MEM.
 */
fota_err_t fota_delta_create(const uint8_t *old, size_t old_len, const uint8_t *new_img,
                             size_t new_len, const fota_delta_opts_t *opts, uint8_t **patch,
                             size_t *patch_len);

/* The applier's I/O over two buffers, for the host's tools and tests: the old image read from old,
 * the new one written into out. A read outside old is refused with FOTA_ERR_DELTA_OLD_RANGE, a
 * write outside out with FOTA_ERR_DELTA_LENGTH (the applier checks both before it asks). */
typedef struct {
    const uint8_t *old;
    size_t old_len;
    uint8_t *out;
    size_t out_len;
} fota_delta_mem_t;

fota_delta_io_t fota_delta_mem_io(fota_delta_mem_t *m);

#endif /* FOTA_HOST_DELTA_CREATE_H */
