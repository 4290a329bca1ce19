/*
 * faults.c - where the faults fall, all drawn from one splitmix64 generator seeded by --seed, so
 * the same command line places the same faults on the same devices (timing on a real network
 * still varies: which request a fault meets can differ between runs, where in a device's update
 * it falls does not).
 *
 * Power cuts: a device carries a number of cuts (--power-cuts N spreads N over random devices,
 * P% gives each device one with that probability). When its update begins (the agent has
 * verified the manifest), the first cut is armed on a flash operation drawn uniformly from the
 * update's operations: those of the download (erases, writes, journal saves: about chunks +
 * 2 x sectors; chunks + sectors for a kind whose journal is off the emulated flash, as the
 * ESP-IDF component's NVS blob is; a delta patch's download writes the new image in pieces of
 * 128 bytes, each read back, and reads the running one: about three operations a piece) or, with
 * --cut-at anywhere, all of them up to the confirm
 * (about twice the image in 64-byte reads for the two image checks, plus the download; replaced
 * by the count measured on a device that updated without a cut as soon as there is one). The
 * cut is clean or torn (fota_flash_emu_plan_cut), the device reboots, and its next cut is armed
 * later in the update.
 *
 * Network faults (drops, stalls, flips) only hit data transfers (seed chunks, chain Ranges): a
 * rate is a probability per transfer; a count spreads that many over random devices, each at a
 * random chunk of its download. The fault falls on a body byte of the transfer.
 */
#include "sim.h"

uint64_t sim_rand(sim_t *s)
{
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double sim_rand_unit(sim_t *s)
{
    return (double)(sim_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t sim_rand_below(sim_t *s, uint64_t n)
{
    return n == 0 ? 0 : sim_rand(s) % n;
}

static uint64_t flash_ops(const sim_dev_t *d)
{
    fota_flash_stats_t st;
    fota_flash_emu_stats(d->emu, &st);
    return st.ops;
}

/* ---- assignment --------------------------------------------------------------------------- */

static void assign_cuts(sim_t *s)
{
    const sim_fault_spec_t *f = &s->cfg.power_cuts;
    for (uint32_t i = 0; i < f->count; i++) {
        s->devs[sim_rand_below(s, s->n_devs)].cuts_left++;
    }
    for (uint32_t i = 0; f->rate > 0.0 && i < s->n_devs; i++) {
        s->devs[i].cuts_left += sim_rand_unit(s) < f->rate ? 1u : 0u;
    }
    for (uint32_t i = 0; i < s->n_devs; i++) {
        s->n.planned_cuts += s->devs[i].cuts_left;
        s->devs[i].cut_at = UINT64_MAX;
    }
}

/* The devices whose self-test fails on the bad release: --fail-rate N picks N of them (each
 * once), P% each device with that chance. Drawn last, so that the other faults of a seed do not
 * move when --fail-rate is added. */
static void assign_selftest_failures(sim_t *s)
{
    const sim_fault_spec_t *f = &s->cfg.fail;
    uint32_t want = f->count < s->n_devs ? f->count : s->n_devs;
    for (uint32_t picked = 0; picked < want;) {
        sim_dev_t *d = &s->devs[sim_rand_below(s, s->n_devs)];
        picked += d->fails_selftest ? 0u : 1u;
        d->fails_selftest = true;
    }
    for (uint32_t i = 0; f->rate > 0.0 && i < s->n_devs; i++) {
        s->devs[i].fails_selftest |= sim_rand_unit(s) < f->rate;
    }
    for (uint32_t i = 0; i < s->n_devs; i++) {
        s->n.planned_selftest_failures += s->devs[i].fails_selftest ? 1u : 0u;
    }
}

void sim_faults_assign(sim_t *s)
{
    assign_cuts(s);
    for (int k = 0; k < SIM_FAULT_KINDS; k++) {
        for (uint32_t i = 0; i < s->cfg.net[k].count; i++) {
            s->devs[sim_rand_below(s, s->n_devs)].plan[k].left++;
        }
    }
    assign_selftest_failures(s);
}

/* ---- power cuts --------------------------------------------------------------------------- */

/* A write per chunk and an erase per sector, plus a journal save per sector where the journal
 * is on the emulated flash (the agent kind; the ESP-IDF kind keeps it in NVS, off the flash). */
static uint64_t download_ops(const sim_t *s, const sim_dev_t *d)
{
    uint64_t sectors = (d->image_size + FOTA_FLASH_SECTOR_SIZE - 1u) / FOTA_FLASH_SECTOR_SIZE;
    uint64_t per_sector = (s->hw->journal_on_flash ? 2u : 1u) * sectors + 4u;
    if (d->by_delta) {
        /* a delta's applier writes the new image in pieces of FOTA_DELTA_BUF bytes, each read
         * back, and reads the running image in pieces as large: about three operations a piece,
         * whatever the size of the patch */
        return 3u * ((d->image_size + FOTA_DELTA_BUF - 1u) / FOTA_DELTA_BUF) + per_sector;
    }
    return (uint64_t)d->chunk_count + per_sector;
}

static uint64_t cut_span(const sim_t *s, const sim_dev_t *d)
{
    if (s->cfg.cut_where == SIM_CUT_DOWNLOAD) {
        return download_ops(s, d);
    }
    if (s->ops_per_update != 0) {
        return s->ops_per_update;
    }
    return download_ops(s, d) + 2u * ((d->image_size + 63u) / 64u) + d->image_size / 1024u + 400u;
}

/* Arm the next cut on an operation in [lo, hi) of the update (counted from its start). */
static void arm_cut(sim_t *s, sim_dev_t *d, uint64_t lo, uint64_t hi)
{
    if (d->cuts_left == 0 || lo >= hi) {
        return;
    }
    uint64_t at = d->update_ops0 + lo + sim_rand_below(s, hi - lo);
    uint64_t now = flash_ops(d);
    at = at < now ? now : at;
    fota_cut_mode_t how = s->cfg.cut_mode >= 0 ? (fota_cut_mode_t)s->cfg.cut_mode
                                               : (fota_cut_mode_t)(sim_rand(s) & 1u);
    fota_flash_emu_plan_cut(d->emu, at - now, how, sim_rand(s));
    d->cut_at = at;
    d->cuts_left--;
}

void sim_faults_update_begins(sim_t *s, sim_dev_t *d)
{
    d->update_ops0 = flash_ops(d);
    arm_cut(s, d, 0, cut_span(s, d));
    for (int k = 0; k < SIM_FAULT_KINDS; k++) {
        if (d->plan[k].left > 0) {
            d->plan[k].at_chunk = (uint32_t)sim_rand_below(s, d->chunk_count);
        }
    }
}

void sim_faults_after_cut(sim_t *s, sim_dev_t *d)
{
    d->cut_at = UINT64_MAX;
    if (d->updating) {
        arm_cut(s, d, flash_ops(d) - d->update_ops0, cut_span(s, d));
    }
}

/* ---- network faults ----------------------------------------------------------------------- */

static uint32_t record_len(const sim_dev_t *d)
{
    return d->chunk_size + 32u;
}

/* Body bytes of a seed chunk response: base64 of the chunk plus the JSON around it. */
static uint64_t seed_body_len(const sim_dev_t *d)
{
    return 4u * ((d->chunk_size + 2u) / 3u) + 100u;
}

/* A planned fault falls on this transfer if its chunk is among those the transfer carries. */
static int64_t from_plan(sim_t *s, sim_dev_t *d, const sim_xfer_t *x, sim_plan_t *p)
{
    uint32_t rec = record_len(d);
    uint32_t first = x->seed ? x->unit : x->unit / rec;
    uint32_t count = x->seed ? 1u : (x->length + rec - 1u) / rec;
    if (p->left == 0 || p->at_chunk >= first + count) {
        return -1;
    }
    p->left--;
    if (x->seed) {
        return (int64_t)sim_rand_below(s, seed_body_len(d));
    }
    uint32_t c = p->at_chunk > first ? p->at_chunk : first;
    int64_t at = (int64_t)(c - first) * rec + (int64_t)sim_rand_below(s, rec);
    return at < (int64_t)x->length ? at : (int64_t)x->length - 1;
}

void sim_faults_for_xfer(sim_t *s, sim_dev_t *d, sim_xfer_t *x)
{
    for (int k = 0; k < SIM_FAULT_KINDS; k++) {
        sim_xfault_t *f = &x->fault[k];
        f->at = -1;
        f->planned = f->fired = false;
        const sim_fault_spec_t *spec = &s->cfg.net[k];
        if (!x->is_data || d->chunk_size == 0) {
            continue;
        }
        if (spec->rate > 0.0) {
            uint64_t len = x->seed ? seed_body_len(d) : x->length;
            f->at = sim_rand_unit(s) < spec->rate ? (int64_t)sim_rand_below(s, len) : -1;
        } else {
            f->at = from_plan(s, d, x, &d->plan[k]);
            f->planned = f->at >= 0;
        }
    }
}

void sim_faults_xfer_over(sim_t *s, sim_dev_t *d, sim_xfer_t *x)
{
    for (int k = 0; k < SIM_FAULT_KINDS; k++) {
        sim_xfault_t *f = &x->fault[k];
        sim_plan_t *p = &d->plan[k];
        if (f->planned && !f->fired) {
            p->left++; /* the transfer ended before the byte: it falls on a later one */
        } else if (f->planned && p->left > 0) {
            uint32_t here = d->done_chunks < d->chunk_count ? d->done_chunks : 0u;
            p->at_chunk = here + (uint32_t)sim_rand_below(s, d->chunk_count - here);
        }
    }
}

uint32_t sim_faults_latency(sim_t *s)
{
    return s->cfg.latency_ms + (uint32_t)sim_rand_below(s, (uint64_t)s->cfg.jitter_ms + 1u);
}
