/*
 * delta_create.c - the delta patch maker (fota/host/delta_create.h, docs/DELTA.md).
 */
#include "fota/host/delta_create.h"

#include <divsufsort.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fota/delta.h"

#define PROB_BITS 11u
#define PROB_ONE (1u << PROB_BITS)
#define PROB_SHIFT 4u
#define RANGE_TOP (1u << 24)
#define MATCH_SLACK 8 /* a new match must beat the old alignment by this many bytes */
#define RC_SLACK 8u   /* room past a record for a trial flush */

/* ---- matching ------------------------------------------------------------------------------- */

typedef struct {
    uint32_t add;   /* new bytes = old bytes + differences */
    uint32_t extra; /* new bytes inserted */
    int64_t seek;   /* then the old position moves by this */
} op_t;

typedef struct {
    op_t *v;
    size_t n, cap;
} ops_t;

static bool ops_push(ops_t *o, op_t op)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2u : 256u;
        op_t *v = realloc(o->v, cap * sizeof *v);
        if (v == NULL) {
            return false;
        }
        o->v = v;
        o->cap = cap;
    }
    o->v[o->n++] = op;
    return true;
}

static size_t prefix(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t i = 0;
    while (i < an && i < bn && a[i] == b[i]) {
        i++;
    }
    return i;
}

/* The longest prefix of want[0..wn) among the old image's suffixes; its position into *pos. */
static size_t longest(const int32_t *sa, const uint8_t *old, size_t on, const uint8_t *want,
                      size_t wn, size_t *pos)
{
    size_t lo = 0, hi = on - 1u;
    while (hi - lo > 1u) {
        size_t mid = lo + (hi - lo) / 2u;
        size_t s = (size_t)sa[mid];
        size_t n = on - s < wn ? on - s : wn;
        if (memcmp(old + s, want, n) < 0) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    size_t a = prefix(old + sa[lo], on - (size_t)sa[lo], want, wn);
    size_t b = prefix(old + sa[hi], on - (size_t)sa[hi], want, wn);
    *pos = (size_t)(a >= b ? sa[lo] : sa[hi]);
    return a >= b ? a : b;
}

/* How far the stretch at (old o, new n) extends forward while the agreeing bytes stay the best
 * surplus over the disagreeing ones. */
static size_t extend_forward(const uint8_t *old, size_t on, const uint8_t *nw, size_t o, size_t n,
                             size_t limit)
{
    int64_t score = 0, best = 0;
    size_t len = 0;
    for (size_t i = 0; n + i < limit && o + i < on; i++) {
        score += old[o + i] == nw[n + i] ? 1 : -1;
        if (score > best) {
            best = score;
            len = i + 1u;
        }
    }
    return len;
}

static size_t extend_backward(const uint8_t *old, const uint8_t *nw, size_t o, size_t n,
                              size_t floor)
{
    int64_t score = 0, best = 0;
    size_t len = 0;
    for (size_t i = 1; n >= floor + i && o >= i; i++) {
        score += old[o - i] == nw[n - i] ? 1 : -1;
        if (score > best) {
            best = score;
            len = i;
        }
    }
    return len;
}

static bool same_at(const uint8_t *old, size_t on, const uint8_t *nw, size_t n, int64_t off)
{
    int64_t o = (int64_t)n + off;
    return o >= 0 && o < (int64_t)on && old[o] == nw[n];
}

static bool match(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn, ops_t *ops)
{
    int32_t *sa = malloc(sizeof *sa * on);
    if (sa == NULL || divsufsort(old, sa, (int32_t)on) != 0) {
        free(sa);
        return false;
    }
    size_t scan = 0, len = 0, pos = 0, last_scan = 0, last_pos = 0;
    int64_t last_off = 0;
    bool ok = true;
    while (ok && scan < nn) {
        /* Find the next place where a match beats the last alignment clearly. */
        size_t agree = 0;
        size_t counted = scan += len;
        for (; scan < nn; scan++) {
            len = longest(sa, old, on, nw + scan, nn - scan, &pos);
            for (; counted < scan + len; counted++) {
                agree += same_at(old, on, nw, counted, last_off) ? 1u : 0u;
            }
            if ((len == agree && len != 0u) || len > agree + MATCH_SLACK) {
                break;
            }
            agree -= same_at(old, on, nw, scan, last_off) ? 1u : 0u;
        }
        if (len == agree && scan != nn) {
            continue;
        }
        size_t fwd = extend_forward(old, on, nw, last_pos, last_scan, scan);
        size_t back = scan < nn ? extend_backward(old, nw, pos, scan, last_scan) : 0u;
        if (last_scan + fwd > scan - back) {
            /* The two overlap: cut where the bytes agree best with their own side. */
            size_t overlap = last_scan + fwd - (scan - back);
            int64_t score = 0, best = 0;
            size_t cut = 0;
            for (size_t i = 0; i < overlap; i++) {
                size_t a = last_scan + fwd - overlap + i;
                size_t b = scan - back + i;
                score += nw[a] == old[last_pos + fwd - overlap + i] ? 1 : 0;
                score -= nw[b] == old[pos - back + i] ? 1 : 0;
                if (score > best) {
                    best = score;
                    cut = i + 1u;
                }
            }
            fwd = fwd - overlap + cut;
            back -= cut;
        }
        op_t op = {.add = (uint32_t)fwd,
                   .extra = (uint32_t)(scan - back - (last_scan + fwd)),
                   .seek = (int64_t)(pos - back) - (int64_t)(last_pos + fwd)};
        ok = ops_push(ops, op);
        last_scan = scan - back;
        last_pos = pos - back;
        last_off = (int64_t)pos - (int64_t)scan;
    }
    free(sa);
    return ok;
}

/* ---- the range coder and the models, mirrored from the applier --------------------------------
 */

typedef struct {
    uint64_t low;
    uint32_t range;
    uint8_t cache;
    uint64_t pending; /* bytes held back: the cache and 0xFF bytes a carry may still change */
    uint8_t *out;
    size_t n;
} renc_t;

static void renc_init(renc_t *r, uint8_t *out)
{
    *r = (renc_t){.range = UINT32_MAX, .pending = 1, .out = out};
}

static void shift_low(renc_t *r)
{
    if ((uint32_t)r->low < 0xFF000000u || (r->low >> 32) != 0u) {
        uint8_t carry = (uint8_t)(r->low >> 32);
        uint8_t b = r->cache;
        for (; r->pending > 0u; r->pending--) {
            r->out[r->n++] = (uint8_t)(b + carry);
            b = 0xFF;
        }
        r->cache = (uint8_t)(r->low >> 24);
    }
    r->pending++;
    r->low = (r->low & 0x00FFFFFFu) << 8;
}

static void renc_flush(renc_t *r)
{
    for (int i = 0; i < 5; i++) {
        shift_low(r);
    }
}

/* Bytes the coder would have written if flushed now (it writes them past n, then forgets). */
static size_t renc_size(const renc_t *r)
{
    renc_t t = *r;
    renc_flush(&t);
    return t.n;
}

static void put_bit(renc_t *r, uint16_t *p, unsigned b)
{
    uint32_t bound = (r->range >> PROB_BITS) * *p;
    if (b == 0u) {
        r->range = bound;
        *p = (uint16_t)(*p + ((PROB_ONE - *p) >> PROB_SHIFT));
    } else {
        r->low += bound;
        r->range -= bound;
        *p = (uint16_t)(*p - (*p >> PROB_SHIFT));
    }
    while (r->range < RANGE_TOP) {
        r->range <<= 8;
        shift_low(r);
    }
}

static void put_direct(renc_t *r, unsigned b)
{
    uint16_t half = PROB_ONE / 2u;
    put_bit(r, &half, b);
}

static void put_tree(renc_t *r, uint16_t probs[256], uint8_t v)
{
    unsigned m = 1;
    for (int i = 7; i >= 0; i--) {
        unsigned b = (v >> i) & 1u;
        put_bit(r, &probs[m], b);
        m = (m << 1) | b;
    }
}

static void put_number(renc_t *r, uint16_t probs[64], uint32_t value)
{
    uint64_t v = (uint64_t)value + 1u;
    unsigned nb = 0;
    while ((v >> nb) > 1u) {
        nb++;
    }
    for (unsigned i = 0; i < nb; i++) {
        put_bit(r, &probs[i < 31u ? i : 31u], 1);
    }
    put_bit(r, &probs[nb < 31u ? nb : 31u], 0);
    for (unsigned i = nb; i-- > 0;) {
        unsigned k = nb - 1u - i;
        unsigned b = (unsigned)(v >> i) & 1u;
        if (k < 2u) {
            put_bit(r, &probs[32u + (nb < 15u ? nb : 15u) * 2u + k], b);
        } else {
            put_direct(r, b);
        }
    }
}

/* ---- records -------------------------------------------------------------------------------- */

typedef struct {
    fota_delta_model_t m;
    uint8_t hist;
    uint8_t last_diff[4];
    renc_t rc;
} coder_t;

typedef struct {
    const uint8_t *old, *nw;
    size_t new_len;
    fota_delta_opts_t o;
    uint8_t *patch; /* header + records */
    size_t len;
    coder_t c;
    uint8_t *rec;              /* the coded bytes of the record being made */
    size_t cap;                /* coded bytes that fit in it */
    bool seg;                  /* it starts a segment */
    uint32_t rec_new, rec_old; /* where it starts */
    uint32_t seg_records;      /* records of the segment closed so far */
    uint32_t new_pos, old_pos;
} maker_t;

static size_t varint_put(uint8_t *p, uint32_t v)
{
    size_t n = 0;
    do {
        uint8_t b = v & 0x7fu;
        v >>= 7;
        p[n++] = (uint8_t)(b | (v != 0u ? 0x80u : 0u));
    } while (v != 0u);
    return n;
}

static size_t varint_len(uint32_t v)
{
    uint8_t tmp[5];
    return varint_put(tmp, v);
}

static void model_reset(coder_t *c)
{
    uint16_t *p = (uint16_t *)(void *)&c->m;
    for (size_t i = 0; i < sizeof c->m / sizeof *p; i++) {
        p[i] = PROB_ONE / 2u;
    }
    c->hist = 0;
    memset(c->last_diff, 0, sizeof c->last_diff);
}

static void record_open(maker_t *k, bool seg)
{
    k->seg = seg;
    k->rec_new = k->new_pos;
    k->rec_old = k->old_pos;
    if (seg) {
        model_reset(&k->c);
        k->seg_records = 0;
    }
    size_t head = 1u + varint_len((uint32_t)k->new_len) +
                  (seg ? varint_len(k->new_pos) + varint_len(k->old_pos) : 0u);
    k->cap = k->o.record_size - head;
    renc_init(&k->c.rc, k->rec);
}

/* Close the record: header, coded bytes, zeros up to record_size unless it is the last. */
static void record_close(maker_t *k, bool last)
{
    renc_flush(&k->c.rc);
    uint8_t *p = k->patch + k->len;
    size_t n = 0;
    p[n++] = k->seg ? 1u : 0u;
    n += varint_put(p + n, k->new_pos - k->rec_new);
    if (k->seg) {
        n += varint_put(p + n, k->rec_new);
        n += varint_put(p + n, k->rec_old);
    }
    memcpy(p + n, k->rec, k->c.rc.n);
    n += k->c.rc.n;
    if (!last) {
        memset(p + n, 0, k->o.record_size - n);
        n = k->o.record_size;
    }
    k->len += n;
    k->seg_records++;
}

typedef struct {
    uint32_t add, extra;
    int64_t seek;
    bool header; /* its lengths are still to be coded */
} pending_t;

/* Code one step: the pending operation's next byte, after its header when that is still to be
 * coded (a record never ends between an operation's header and its first byte). */
static void step(maker_t *k, pending_t *p)
{
    coder_t *c = &k->c;
    if (p->header) {
        put_number(&c->rc, c->m.num[0], p->add);
        put_number(&c->rc, c->m.num[1], p->extra);
        put_bit(&c->rc, &c->m.sign[0], p->seek < 0 ? 1u : 0u);
        put_number(&c->rc, c->m.num[2], (uint32_t)(p->seek < 0 ? -p->seek : p->seek));
        p->header = false;
    }
    if (p->add > 0u) {
        unsigned q = k->new_pos & 3u;
        uint8_t diff = (uint8_t)(k->nw[k->new_pos] - k->old[k->old_pos]);
        unsigned nonzero = diff != 0u;
        put_bit(&c->rc, &c->m.zero[((c->hist & 15u) << 2) | q], nonzero);
        c->hist = (uint8_t)((c->hist << 1) | nonzero);
        if (nonzero) {
            unsigned same = diff == c->last_diff[q];
            put_bit(&c->rc, &c->m.same[q], same);
            if (!same) {
                put_tree(&c->rc, c->m.diff, diff);
            }
            c->last_diff[q] = diff;
        }
        k->old_pos++;
        p->add--;
    } else {
        put_tree(&c->rc, c->m.lit, k->nw[k->new_pos]);
        p->extra--;
    }
    k->new_pos++;
}

/* With sector_size set, a segment is due when the open record is at least the segment's
 * segment_records-th and the new image is at a sector boundary, which the open record has
 * passed. */
static bool segment_due(const maker_t *k)
{
    uint32_t sector = k->o.sector_size;
    return sector != 0u && k->seg_records + 1u >= k->o.segment_records &&
           k->new_pos % sector == 0u && k->new_pos > k->rec_new;
}

/* A step in the open record if it fits, else in a new one, which starts a segment after
 * segment_records records; with sector_size set, a segment starts instead at the first sector
 * boundary of the new image once segment_records records have been begun, the open record closed
 * there early (and padded: that costs a quarter more patch on real firmware, docs/DELTA.md). The
 * rest of the operation under way is coded again at a segment start. */
static void step_fitted(maker_t *k, pending_t *p)
{
    if (segment_due(k)) {
        record_close(k, false);
        record_open(k, true);
        p->header = true;
    }
    if (renc_size(&k->c.rc) + 64u <= k->cap) {
        step(k, p);
        return;
    }
    coder_t saved = k->c;
    pending_t before = *p;
    uint32_t new_pos = k->new_pos, old_pos = k->old_pos;
    step(k, p);
    if (renc_size(&k->c.rc) <= k->cap) {
        return;
    }
    k->c = saved;
    *p = before;
    k->new_pos = new_pos;
    k->old_pos = old_pos;
    record_close(k, false);
    bool seg = k->o.sector_size == 0u && k->seg_records >= k->o.segment_records;
    record_open(k, seg);
    p->header = p->header || seg;
    step(k, p);
}

static void write_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

fota_delta_opts_t fota_delta_opts_default(void)
{
    return (fota_delta_opts_t){.record_size = 1024, .segment_records = 1, .sector_size = 0};
}

fota_err_t fota_delta_create(const uint8_t *old, size_t old_len, const uint8_t *new_img,
                             size_t new_len, const fota_delta_opts_t *opts, uint8_t **patch,
                             size_t *patch_len)
{
    if (old == NULL || new_img == NULL || opts == NULL || patch == NULL || patch_len == NULL ||
        old_len < 2u || new_len == 0u || opts->record_size > 65536u || opts->record_size < 256u ||
        opts->segment_records == 0u || opts->sector_size % 16u != 0u) {
        return FOTA_ERR_ARG;
    }
    if (old_len >= INT32_MAX || new_len >= INT32_MAX) {
        return FOTA_ERR_TOO_LARGE;
    }
    ops_t ops = {0};
    if (!match(old, old_len, new_img, new_len, &ops)) {
        free(ops.v);
        return FOTA_ERR_NO_MEM;
    }
    /* Every byte costs well under 2 bytes coded; records add their headers and padding. */
    size_t max = FOTA_DELTA_HEADER_LEN + 2u * new_len + (new_len / 16u + 2u) * opts->record_size;
    maker_t k = {.old = old, .nw = new_img, .new_len = new_len, .o = *opts};
    k.patch = malloc(max);
    k.rec = malloc(opts->record_size + RC_SLACK + 64u);
    if (k.patch == NULL || k.rec == NULL) {
        free(ops.v);
        free(k.patch);
        free(k.rec);
        return FOTA_ERR_NO_MEM;
    }
    memcpy(k.patch, FOTA_DELTA_MAGIC, 4);
    write_u32le(k.patch + 4, (uint32_t)new_len);
    write_u32le(k.patch + 8, (uint32_t)old_len);
    write_u32le(k.patch + 12, opts->record_size);
    k.len = FOTA_DELTA_HEADER_LEN;

    /* An operation of no bytes only moves the old position: fold it into the one before (or,
     * first of all, into the start position). */
    size_t i = 0;
    int64_t start = 0;
    for (; i < ops.n && ops.v[i].add == 0u && ops.v[i].extra == 0u; i++) {
        start += ops.v[i].seek;
    }
    k.old_pos = (uint32_t)start;
    record_open(&k, true);
    while (i < ops.n) {
        pending_t p = {
            .add = ops.v[i].add, .extra = ops.v[i].extra, .seek = ops.v[i].seek, .header = true};
        for (i++; i < ops.n && ops.v[i].add == 0u && ops.v[i].extra == 0u; i++) {
            p.seek += ops.v[i].seek;
        }
        while (p.add > 0u || p.extra > 0u) {
            step_fitted(&k, &p);
        }
        k.old_pos = (uint32_t)((int64_t)k.old_pos + p.seek);
    }
    record_close(&k, true);
    free(ops.v);
    free(k.rec);
    *patch = k.patch;
    *patch_len = k.len;
    return FOTA_OK;
}

/* ---- the applier's I/O over memory ---------------------------------------------------------- */

static fota_err_t mem_read_old(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    const fota_delta_mem_t *m = ctx;
    if (off > m->old_len || len > m->old_len - off) {
        return FOTA_ERR_DELTA_OLD_RANGE;
    }
    memcpy(buf, m->old + off, len);
    return FOTA_OK;
}

static fota_err_t mem_write_new(void *ctx, uint32_t off, const uint8_t *buf, size_t len)
{
    fota_delta_mem_t *m = ctx;
    if (off > m->out_len || len > m->out_len - off) {
        return FOTA_ERR_DELTA_LENGTH;
    }
    memcpy(m->out + off, buf, len);
    return FOTA_OK;
}

fota_delta_io_t fota_delta_mem_io(fota_delta_mem_t *m)
{
    return (fota_delta_io_t){.ctx = m, .read_old = mem_read_old, .write_new = mem_write_new};
}
