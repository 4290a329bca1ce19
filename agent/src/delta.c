/*
 * delta.c - the delta patch applier (delta.h, docs/DELTA.md).
 *
 * The range decoder: 32-bit range and code, probabilities of 11 bits that move by 1/16 of
 * the distance to certainty after each bit; a record's coded bytes start with a zero byte and
 * four bytes of code. Reading past the end of the record is remembered and fails the record
 * at its end (the encoder never needs it), so a truncated or damaged record costs at most one
 * record's work, never a read outside it.
 */
#include "fota/delta.h"

#include <string.h>

#define PROB_BITS 11u
#define PROB_ONE (1u << PROB_BITS)
#define PROB_SHIFT 4u
#define RANGE_TOP (1u << 24)
#define NUM_BITS_MAX 32 /* a number is below 2^32 */

typedef struct {
    const uint8_t *in;
    size_t len;
    size_t at;
    uint32_t range;
    uint32_t code;
    bool overrun;
} rdec_t;

static uint8_t next_byte(rdec_t *r)
{
    if (r->at >= r->len) {
        r->overrun = true;
        return 0;
    }
    return r->in[r->at++];
}

static void normalize(rdec_t *r)
{
    if (r->range < RANGE_TOP) {
        r->range <<= 8;
        r->code = (r->code << 8) | next_byte(r);
    }
}

static unsigned bit(rdec_t *r, uint16_t *p)
{
    uint32_t bound = (r->range >> PROB_BITS) * *p;
    unsigned b;
    if (r->code < bound) {
        r->range = bound;
        *p = (uint16_t)(*p + ((PROB_ONE - *p) >> PROB_SHIFT));
        b = 0;
    } else {
        r->code -= bound;
        r->range -= bound;
        *p = (uint16_t)(*p - (*p >> PROB_SHIFT));
        b = 1;
    }
    normalize(r);
    return b;
}

/* A bit of even odds (the low bits of a long number). */
static unsigned direct_bit(rdec_t *r)
{
    uint16_t half = PROB_ONE / 2u;
    return bit(r, &half);
}

static uint8_t tree(rdec_t *r, uint16_t probs[256])
{
    unsigned m = 1;
    while (m < 256u) {
        m = (m << 1) | bit(r, &probs[m]);
    }
    return (uint8_t)(m - 256u);
}

/* v + 1 has nb + 1 bits: nb in unary, then its two bits below the top modelled, the rest even. */
static bool number(rdec_t *r, uint16_t probs[64], uint32_t *out)
{
    unsigned nb = 0;
    while (bit(r, &probs[nb < 31u ? nb : 31u]) != 0u) {
        if (++nb > NUM_BITS_MAX) {
            return false;
        }
    }
    uint64_t v = 1;
    for (unsigned i = nb; i-- > 0;) {
        unsigned k = nb - 1u - i;
        unsigned b = k < 2u ? bit(r, &probs[32u + (nb < 15u ? nb : 15u) * 2u + k]) : direct_bit(r);
        v = (v << 1) | b;
    }
    if (v - 1u > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)(v - 1u);
    return true;
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* LEB128, at most 5 bytes and 32 bits. */
static bool varint(const uint8_t *in, size_t len, size_t *at, uint32_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 35u; shift += 7u) {
        if (*at >= len) {
            return false;
        }
        uint8_t b = in[(*at)++];
        v |= (uint64_t)(b & 0x7fu) << shift;
        if ((b & 0x80u) == 0u) {
            if (v > UINT32_MAX) {
                return false;
            }
            *out = (uint32_t)v;
            return true;
        }
    }
    return false;
}

fota_err_t fota_delta_begin(fota_delta_t *d, const uint8_t *header, size_t len,
                            uint32_t running_size)
{
    if (d == NULL || header == NULL) {
        return FOTA_ERR_ARG;
    }
    if (len < FOTA_DELTA_HEADER_LEN || memcmp(header, FOTA_DELTA_MAGIC, 4) != 0) {
        return FOTA_ERR_DELTA_FORMAT;
    }
    fota_err_t err =
        fota_delta_init(d, get_u32le(header + 4), get_u32le(header + 8), get_u32le(header + 12));
    return err != FOTA_OK || d->old_size == running_size ? err : FOTA_ERR_DELTA_SOURCE;
}

fota_err_t fota_delta_init(fota_delta_t *d, uint32_t new_size, uint32_t old_size,
                           uint32_t record_size)
{
    if (d == NULL) {
        return FOTA_ERR_ARG;
    }
    memset(d, 0, sizeof *d);
    d->new_size = new_size;
    d->old_size = old_size;
    d->record_size = record_size;
    return new_size == 0u || old_size == 0u || record_size < 32u ? FOTA_ERR_DELTA_FORMAT : FOTA_OK;
}

void fota_delta_restart(fota_delta_t *d)
{
    d->in_segment = false;
    d->resuming = true;
    d->in_op = false;
    d->out_len = 0;
    d->old_len = 0;
}

bool fota_delta_done(const fota_delta_t *d)
{
    return d->in_segment && d->new_pos == d->new_size;
}

bool fota_delta_segment_at(const uint8_t *rec, size_t len, uint32_t *new_pos)
{
    size_t at = 1;
    uint32_t produce;
    return fota_delta_is_segment_start(rec, len) && varint(rec, len, &at, &produce) &&
           varint(rec, len, &at, new_pos);
}

static void reset_segment(fota_delta_t *d, uint32_t new_pos, uint32_t old_pos)
{
    uint16_t *p = (uint16_t *)(void *)&d->m;
    for (size_t i = 0; i < sizeof d->m / sizeof *p; i++) {
        p[i] = PROB_ONE / 2u;
    }
    d->new_pos = new_pos;
    d->old_pos = old_pos;
    d->in_op = false;
    d->add_left = 0;
    d->extra_left = 0;
    d->seek = 0;
    d->hist = 0;
    memset(d->last_diff, 0, sizeof d->last_diff);
    d->in_segment = true;
    d->resuming = false;
    d->old_len = 0;
    d->out_len = 0;
}

static fota_err_t flush_out(fota_delta_t *d, const fota_delta_io_t *io)
{
    fota_err_t err = FOTA_OK;
    if (d->out_len > 0u) {
        err = io->write_new(io->ctx, d->out_at, d->out_buf, d->out_len);
    }
    d->out_len = 0;
    return err;
}

static fota_err_t put_byte(fota_delta_t *d, uint8_t b, uint32_t keep, const fota_delta_io_t *io)
{
    fota_err_t err = FOTA_OK;
    if (d->new_pos >= keep) {
        if (d->out_len == 0u) {
            d->out_at = d->new_pos;
        }
        d->out_buf[d->out_len++] = b;
        if (d->out_len == sizeof d->out_buf) {
            err = flush_out(d, io);
        }
    }
    d->new_pos++;
    return err;
}

static fota_err_t old_byte(fota_delta_t *d, const fota_delta_io_t *io, uint8_t *out)
{
    uint32_t at = d->old_pos;
    if (d->old_len == 0u || at < d->old_at || at - d->old_at >= d->old_len) {
        uint32_t n = d->old_size - at < sizeof d->old_buf ? d->old_size - at : sizeof d->old_buf;
        fota_err_t err = io->read_old(io->ctx, at, d->old_buf, n);
        if (err != FOTA_OK) {
            return err;
        }
        d->old_at = at;
        d->old_len = n;
    }
    *out = d->old_buf[at - d->old_at];
    return FOTA_OK;
}

/* The next operation's lengths and seek, checked against both images. */
static fota_err_t next_op(fota_delta_t *d, rdec_t *r)
{
    if (d->in_op) {
        int64_t to = (int64_t)d->old_pos + d->seek;
        if (to < 0 || to > (int64_t)d->old_size) {
            return FOTA_ERR_DELTA_OLD_RANGE;
        }
        d->old_pos = (uint32_t)to;
    }
    uint32_t add, extra, dist;
    if (!number(r, d->m.num[0], &add) || !number(r, d->m.num[1], &extra)) {
        return FOTA_ERR_DELTA_CORRUPT;
    }
    unsigned negative = bit(r, &d->m.sign[0]);
    if (!number(r, d->m.num[2], &dist)) {
        return FOTA_ERR_DELTA_CORRUPT;
    }
    uint32_t room = d->new_size - d->new_pos;
    if (add == 0u && extra == 0u) {
        return FOTA_ERR_DELTA_CORRUPT; /* the maker folds those into the operation before */
    }
    if (add > room || extra > room - add) {
        return FOTA_ERR_DELTA_LENGTH;
    }
    if (add > d->old_size - d->old_pos) {
        return FOTA_ERR_DELTA_OLD_RANGE;
    }
    d->add_left = add;
    d->extra_left = extra;
    d->seek = negative ? -(int64_t)dist : (int64_t)dist;
    d->in_op = true;
    return FOTA_OK;
}

/* One byte of the new image: old byte plus difference, or an inserted byte. */
static fota_err_t next_byte_out(fota_delta_t *d, rdec_t *r, uint32_t keep,
                                const fota_delta_io_t *io)
{
    uint8_t b;
    if (d->add_left > 0u) {
        unsigned q = d->new_pos & 3u;
        unsigned nonzero = bit(r, &d->m.zero[((d->hist & 15u) << 2) | q]);
        d->hist = (uint8_t)((d->hist << 1) | nonzero);
        uint8_t diff = 0;
        if (nonzero != 0u) {
            diff = bit(r, &d->m.same[q]) != 0u ? d->last_diff[q] : tree(r, d->m.diff);
            d->last_diff[q] = diff;
        }
        b = diff;
        if (d->new_pos >= keep) {
            uint8_t o;
            fota_err_t err = old_byte(d, io, &o);
            if (err != FOTA_OK) {
                return err;
            }
            b = (uint8_t)(o + diff);
        }
        d->old_pos++;
        d->add_left--;
    } else {
        b = tree(r, d->m.lit);
        d->extra_left--;
    }
    return put_byte(d, b, keep, io);
}

fota_err_t fota_delta_record(fota_delta_t *d, const uint8_t *rec, size_t len, uint32_t keep,
                             const fota_delta_io_t *io)
{
    if (d == NULL || rec == NULL || io == NULL || len > d->record_size) {
        return FOTA_ERR_ARG;
    }
    size_t at = 1;
    uint32_t produce;
    if (len < 1u || (rec[0] & ~1u) != 0u || !varint(rec, len, &at, &produce) || produce == 0u) {
        return FOTA_ERR_DELTA_CORRUPT;
    }
    if ((rec[0] & 1u) != 0u) {
        uint32_t new_pos, old_pos;
        if (!varint(rec, len, &at, &new_pos) || !varint(rec, len, &at, &old_pos)) {
            return FOTA_ERR_DELTA_CORRUPT;
        }
        if ((!d->resuming && new_pos != d->new_pos) || new_pos >= d->new_size) {
            return FOTA_ERR_DELTA_ORDER;
        }
        if (old_pos > d->old_size) {
            return FOTA_ERR_DELTA_OLD_RANGE;
        }
        reset_segment(d, new_pos, old_pos);
    } else if (!d->in_segment) {
        return FOTA_ERR_DELTA_ORDER;
    }
    if (produce > d->new_size - d->new_pos) {
        return FOTA_ERR_DELTA_LENGTH;
    }
    rdec_t r = {.in = rec, .len = len, .at = at, .range = UINT32_MAX};
    if (next_byte(&r) != 0u) {
        return FOTA_ERR_DELTA_CORRUPT;
    }
    for (int i = 0; i < 4; i++) {
        r.code = (r.code << 8) | next_byte(&r);
    }
    uint32_t end = d->new_pos + produce;
    fota_err_t err = FOTA_OK;
    while (err == FOTA_OK && d->new_pos < end && !r.overrun) {
        if (!d->in_op || (d->add_left == 0u && d->extra_left == 0u)) {
            err = next_op(d, &r);
        } else {
            err = next_byte_out(d, &r, keep, io);
        }
    }
    if (err == FOTA_OK) {
        err = flush_out(d, io);
    }
    return err == FOTA_OK && r.overrun ? FOTA_ERR_DELTA_CORRUPT : err;
}
