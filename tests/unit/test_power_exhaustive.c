/*
 * test_power_exhaustive.c - the power-safety proof, in the MCUboot simulator's manner: the real
 * agent, the emulated ESP32 (flash, bootloader, journal store) and the scripted server at the
 * transport port (tests/support/fake_server.c), with the power cut at EVERY flash operation of a
 * whole update, from the first request to the confirmed state (the reboot into the new image, its
 * first boot and its confirmation included), in both data modes, both cleanly (FOTA_CUT_BEFORE)
 * and torn (FOTA_CUT_TORN: a write keeps a random prefix, an erase leaves a sector partly erased
 * with garbage). After each cut the device reboots, resumes and finishes. Every run must end with
 * the new image confirmed, no boot may find nothing to boot, and outside one window no cut may
 * cost more than one flash sector of data fetched again, inside the window below or outside.
 *
 * The window: from the bootloader's rewrite of the new image's otadata entry NEW ->
 * PENDING_VERIFY (the first boot of the new image) to the write of the application's confirm
 * (PENDING_VERIFY -> VALID). ESP-IDF's rollback rules make a reset in that window a failed first
 * boot: the next boot aborts the pending entry (or, if the entry's sector was being rewritten,
 * finds only the old copy) and falls back to the old image. The agent reports rolled_back and,
 * because the server still offers the release, verifies the image still in its update slot and
 * installs it again without downloading it (FOTA_CONFIG_MAX_INSTALL_ATTEMPTS). The sweep asserts
 * that exactly the cut points in that window roll back, names them, and that they too end
 * confirmed with nothing fetched again.
 *
 * A delta update (64 KB from 40,000 bytes, a patch made by host/delta_create.c) is swept the
 * same way: its download resumes at the segment start the journal names, the last one at or
 * below the last sector boundary journaled, so a cut costs at most a sector's worth of records
 * and those of the segment begun before that boundary (with a segment per record, the maker's
 * default: a sector's worth, 4 records, as for a full update); and every run ends by the delta,
 * never by the full image.
 *
 * Torn cuts are only run on writes and erases: flash_emu tears nothing on a read, so a torn cut
 * at a read is the clean cut at that read, which the clean sweep already runs.
 *
 * A sampled test adds 200 random cuts (seeded; FOTA_POWER_SEED replays another seed) over a 1 MB
 * update on the default 4 MB layout, on flashes opened copy-on-write from one provisioned
 * template as fota-sim opens them (fota_flash_emu_open_shared): each run's cut falls on shared
 * sectors as much as on its own, and after all the runs the template must still hold the factory
 * flash byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_server.h"
#include "fota/agent.h"
#include "fota/delta.h"
#include "fota/emu/bootloader.h"
#include "fota/emu/compact_layout.h"
#include "fota/emu/emu_device.h"
#include "fota/emu/flash_emu.h"
#include "fota/emu/otadata.h"

#define OLD_VERSION "1.0.0"
#define NEW_VERSION "2.0.0"
#define DEVICE_ID "inv-power-1"
#define CHUNK 1024u
#define SECTOR 4096u
#define MAX_REFETCH (SECTOR / CHUNK) /* chunks (or records) fetched again per cut */
#define SAMPLED_CUTS 200u

/* ---- the release, built once per scenario ------------------------------------------------- */

typedef struct {
    fota_mode_t mode;
    uint32_t new_size;
    uint32_t old_size;
    bool compact; /* compact layout sized to the image, else Arduino's 4 MB table */
    bool shared;  /* each run's flash opened from one provisioned template (copy-on-write) */
    uint32_t delta_segment; /* chain mode by a delta of segments of this many records (0: the
                               full image); both images made from one content stream */
} scenario_t;

#define DELTA_SEED 0x5eed1234u

typedef struct {
    const scenario_t *sc;
    fake_server_t tmpl; /* image, manifest, blob: shared by every run, never changed */
    uint8_t *old_image;
    size_t old_len;
    fota_part_table_t table;
    uint32_t flash_size;
    uint8_t key[32];
    uint32_t max_refetch;           /* what one cut may cost again (records_max_refetch) */
    fota_flash_template_t *factory; /* shared scenarios: the provisioned flash, frozen */
    uint8_t *factory_bytes;         /* ... and its bytes, to prove nothing wrote it */
} release_t;

/* The factory flash every run of a shared scenario starts from: provisioned once, frozen. */
static void factory_make(release_t *rel)
{
    fota_flash_emu_t *emu = NULL;
    assert_int_equal(fota_flash_emu_open(NULL, rel->flash_size, FOTA_FLASH_EMU_STRICT, &emu),
                     FOTA_OK);
    fota_flash_t port = fota_flash_emu_port(emu);
    assert_int_equal(fota_device_provision(&port, &rel->table, rel->old_image, rel->old_len),
                     FOTA_OK);
    assert_int_equal(fota_flash_emu_template(emu, &rel->factory), FOTA_OK);
    rel->factory_bytes = malloc(rel->flash_size);
    assert_non_null(rel->factory_bytes);
    assert_int_equal(fota_flash_emu_read(emu, 0, rel->factory_bytes, rel->flash_size), FOTA_OK);
    fota_flash_emu_close(emu);
}

/* What one cut may cost again: a sector's chunks or records. A delta's download resumes at the
 * last segment start at or below the last sector boundary journaled: the records of the new
 * image's bytes since that boundary (a sector's worth where the patch carries new bytes, about a
 * KB of image per record) and those of the segment that began before it: a sector's records and
 * the longest segment's less one. With a segment per record (the maker's default) that is a
 * sector's worth, as for a full update. */
static uint32_t delta_max_refetch(const fake_server_t *s, uint32_t segment_records)
{
    fota_manifest_t chain;
    fota_delta_manifest_chain(&s->dm, &chain);
    uint32_t longest = 0, run = 0;
    for (uint32_t i = 0; i < chain.chunk_count; i++) {
        const uint8_t *rec = s->delta_blob + fota_manifest_record_offset(&chain, i);
        run = fota_delta_is_segment_start(rec, fota_manifest_chunk_len(&chain, i)) ? 1 : run + 1;
        longest = run > longest ? run : longest;
    }
    printf("# delta: %u records, segments of at most %u\n", (unsigned)chain.chunk_count,
           (unsigned)longest);
    assert_int_equal(longest, segment_records);
    return MAX_REFETCH + longest - 1u;
}

static void release_make(release_t *rel, const scenario_t *sc)
{
    memset(rel, 0, sizeof *rel);
    rel->sc = sc;
    for (int i = 0; i < 32; i++) {
        rel->key[i] = (uint8_t)(0x31 + 7 * i);
    }
    fake_server_init(&rel->tmpl, DEVICE_ID, rel->key);
    fake_release_spec_t spec = {0};
    spec.version = NEW_VERSION;
    spec.size = sc->new_size;
    spec.chunk_size = CHUNK;
    spec.seed = sc->delta_segment != 0 ? DELTA_SEED : 0u;
    fake_server_release(&rel->tmpl, &spec);
    rel->old_image = fake_image_seed(OLD_VERSION, sc->old_size, spec.seed, &rel->old_len);
    if (sc->delta_segment != 0) {
        fake_delta_spec_t ds = {0};
        ds.old = rel->old_image;
        ds.old_len = rel->old_len;
        ds.segment_records = sc->delta_segment;
        fake_server_delta(&rel->tmpl, &ds);
    }
    rel->max_refetch =
        sc->delta_segment != 0 ? delta_max_refetch(&rel->tmpl, sc->delta_segment) : MAX_REFETCH;
    if (sc->compact) {
        assert_int_equal(fota_part_table_compact(sc->new_size, &rel->table, &rel->flash_size),
                         FOTA_OK);
    } else {
        fota_part_table_default(&rel->table);
        rel->flash_size = FOTA_FLASH_EMU_DEFAULT_SIZE;
    }
    if (sc->shared) {
        factory_make(rel);
    }
}

/* Every run is over: a flash opened from the template now reads the factory flash, unchanged. */
static void factory_check_free(release_t *rel)
{
    fota_flash_emu_t *emu = NULL;
    assert_int_equal(fota_flash_emu_open_shared(rel->factory, 0, &emu), FOTA_OK);
    uint8_t *now = malloc(rel->flash_size);
    assert_non_null(now);
    assert_int_equal(fota_flash_emu_read(emu, 0, now, rel->flash_size), FOTA_OK);
    if (memcmp(now, rel->factory_bytes, rel->flash_size) != 0) {
        fail_msg("the runs changed the template they shared");
    }
    free(now);
    fota_flash_emu_close(emu);
    fota_flash_template_free(rel->factory);
    free(rel->factory_bytes);
}

static void release_free(release_t *rel)
{
    if (rel->factory != NULL) {
        factory_check_free(rel);
    }
    fake_server_free(&rel->tmpl);
    free(rel->old_image);
}

/* ---- one device, its flash and its server ------------------------------------------------- */

/* The flash operations of a run, in order (the clean run records them). */
typedef struct {
    uint8_t *kind; /* fota_flash_op_t */
    uint32_t *addr;
    size_t n;
    size_t cap;
} oplog_t;

typedef struct {
    const release_t *rel;
    fota_flash_emu_t *emu;
    fota_flash_t emu_port;
    oplog_t *log; /* NULL: not recording */
    fota_emu_device_t dev;
    fake_server_t srv;
    fota_transport_t tr;
    uint64_t base_ops;
    /* what happened */
    unsigned cuts;
    unsigned bricks;
    unsigned rollbacks;
    uint32_t refetched;  /* chunks (seed) or records (chain) asked for again */
    uint64_t reboot_op;  /* ops when the agent first asked to reboot */
    uint64_t confirm_op; /* ops when the power-on after it had confirmed the image */
} rig_t;

static uint64_t ops_now(const rig_t *r)
{
    fota_flash_stats_t st;
    fota_flash_emu_stats(r->emu, &st);
    return st.ops - r->base_ops;
}

static void log_op(rig_t *r, fota_flash_op_t kind, uint32_t addr)
{
    oplog_t *l = r->log;
    if (l == NULL) {
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->kind = realloc(l->kind, l->cap);
        l->addr = realloc(l->addr, l->cap * sizeof *l->addr);
        assert_non_null(l->kind);
        assert_non_null(l->addr);
    }
    l->kind[l->n] = (uint8_t)kind;
    l->addr[l->n++] = addr;
}

/* The spy: the device's flash port, recording each operation before the emulator does it. */
static fota_err_t spy_read(void *ctx, uint32_t addr, void *buf, size_t len)
{
    log_op(ctx, FOTA_FLASH_OP_READ, addr);
    return fota_flash_emu_read(((rig_t *)ctx)->emu, addr, buf, len);
}

static fota_err_t spy_write(void *ctx, uint32_t addr, const void *buf, size_t len)
{
    log_op(ctx, FOTA_FLASH_OP_WRITE, addr);
    return fota_flash_emu_write(((rig_t *)ctx)->emu, addr, buf, len);
}

static fota_err_t spy_erase(void *ctx, uint32_t addr, uint32_t len)
{
    log_op(ctx, FOTA_FLASH_OP_ERASE, addr);
    return fota_flash_emu_erase(((rig_t *)ctx)->emu, addr, len);
}

/* The first chunk (seed) or record (chain) a data request asks for; -1 for other requests. */
static int64_t data_start(const fota_http_request_t *req)
{
    const char *n = strstr(req->target, "chunk_number=");
    for (size_t i = 0; n == NULL && i < req->header_count; i++) {
        if (strcmp(req->headers[i].name, "Range") == 0) {
            return strtoll(req->headers[i].value + 6, NULL, 10) / (CHUNK + 32u);
        }
    }
    return n != NULL ? strtoll(n + 13, NULL, 10) : -1;
}

/* Count what is fetched again: a seed request below the highest chunk delivered whole is one
 * chunk again; a Range below the highest record is every record up to it again. (The fake
 * server's own counter adds high - start for every seed request, which counts a chunk once per
 * request that follows it.) */
static void note_refetch(rig_t *r, int64_t start, uint32_t high)
{
    if (start < 0 || (uint32_t)start >= high) {
        return;
    }
    r->refetched += r->rel->sc->mode == FOTA_MODE_SEED ? 1u : high - (uint32_t)start;
}

/* A device without power sends nothing: the request fails as a broken connection would. */
static fota_err_t powered_perform(void *ctx, const fota_http_request_t *req, fota_agent_t *a)
{
    rig_t *r = ctx;
    if (fota_flash_emu_is_cut(r->emu)) {
        return fota_agent_response_end(a, FOTA_ERR_HTTP_CONNECT);
    }
    note_refetch(r, data_start(req), r->srv.high_chunk);
    fota_transport_t inner = fake_server_transport(&r->srv);
    return inner.perform(inner.ctx, req, a);
}

static void on_event(void *ctx, const fota_event_t *ev)
{
    rig_t *r = ctx;
    if (ev->kind == FOTA_EVENT_STATE && ev->state == FOTA_STATE_ROLLED_BACK) {
        r->rollbacks++;
    }
}

/* A fresh copy of the template server: same release, counters at zero. */
static void server_copy(rig_t *r)
{
    r->srv = r->rel->tmpl;
    r->srv.piece = 512;
    r->srv.requests = r->srv.data_requests = r->srv.auth_failures = 0;
    r->srv.body_bytes = r->srv.data_bytes = 0;
    r->srv.high_chunk = r->srv.refetched = 0;
    r->srv.report_count = 0;
    r->srv.delta_manifests = r->srv.delta_requests = 0;
    r->srv.delta_bytes = 0;
}

static void rig_open(rig_t *r, const release_t *rel)
{
    memset(r, 0, sizeof *r);
    r->rel = rel;
    if (rel->factory != NULL) {
        assert_int_equal(fota_flash_emu_open_shared(rel->factory, FOTA_FLASH_EMU_STRICT, &r->emu),
                         FOTA_OK);
        r->emu_port = fota_flash_emu_port(r->emu);
    } else {
        assert_int_equal(fota_flash_emu_open(NULL, rel->flash_size, FOTA_FLASH_EMU_STRICT, &r->emu),
                         FOTA_OK);
        r->emu_port = fota_flash_emu_port(r->emu);
        assert_int_equal(
            fota_device_provision(&r->emu_port, &rel->table, rel->old_image, rel->old_len),
            FOTA_OK);
    }
    const uint8_t *pub;
    size_t pub_len;
    fake_keys(&pub, &pub_len);
    fota_emu_device_config_t cfg = {0};
    cfg.device_id = DEVICE_ID;
    cfg.device_key = rel->key;
    cfg.product_id = "esp32-inverter";
    cfg.release_key = pub;
    cfg.release_key_len = pub_len;
    cfg.mode = rel->sc->mode;
    cfg.retry_ms = 100;
    cfg.progress_every = 16;
    cfg.on_event = on_event;
    cfg.event_ctx = r;
    assert_int_equal(fota_emu_device_open(&r->dev, r->emu, &cfg), FOTA_OK);
    fota_flash_t spy = r->emu_port;
    spy.ctx = r;
    spy.read = spy_read;
    spy.write = spy_write;
    spy.erase = spy_erase;
    r->dev.flash = spy; /* every flash operation of the device goes through the spy */
    bool again = false;
    assert_int_equal(fota_emu_device_power_on(&r->dev, &again), FOTA_OK);
    assert_false(again);
    server_copy(r);
    r->tr.ctx = r;
    r->tr.perform = powered_perform;
    fota_flash_stats_t st;
    fota_flash_emu_stats(r->emu, &st);
    r->base_ops = st.ops;
}

static void rig_close(rig_t *r)
{
    fota_emu_device_close(&r->dev);
    fota_flash_emu_close(r->emu);
}

/* ---- driving ------------------------------------------------------------------------------ */

/* Power on until the device runs (a cut while it boots is followed by another power-on). */
static void power_cycle(rig_t *r)
{
    for (int i = 0; i < 8; i++) {
        bool again = false;
        fota_err_t err = fota_emu_device_power_on(&r->dev, &again);
        if (fota_flash_emu_is_cut(r->emu)) {
            r->cuts++;
            continue;
        }
        if (err == FOTA_ERR_BOOT_NO_APP) {
            r->bricks++;
            return;
        }
        assert_int_equal(err, FOTA_OK);
        if (!again) {
            return;
        }
    }
    fail_msg("the device never came up");
}

/* Run until the agent has nothing left to do, rebooting when it asks and after a cut. */
static void drive(rig_t *r)
{
    fota_agent_check_now(&r->dev.agent);
    for (int step = 0; step < 5000; step++) {
        bool rebooted = false;
        fota_agent_run(&r->dev.agent, &r->tr, 1000000, &rebooted);
        if (fota_flash_emu_is_cut(r->emu)) {
            r->cuts++;
            power_cycle(r);
        } else if (rebooted) {
            uint64_t asked = ops_now(r);
            power_cycle(r);
            if (r->reboot_op == 0) { /* the first reboot: into the new image */
                r->reboot_op = asked;
                r->confirm_op = ops_now(r);
            }
        } else if (fota_agent_settled(&r->dev.agent)) {
            return;
        } else {
            r->dev.clock.now_ms += 61000; /* the longest back-off has passed */
        }
        if (r->bricks > 0) {
            return;
        }
    }
    fail_msg("the agent never settled");
}

/* The whole update: drive; after a rollback the server still offers the release: again. */
static void update(rig_t *r)
{
    drive(r);
    for (int i = 0; i < 2 && r->bricks == 0 && strcmp(r->dev.version, NEW_VERSION) != 0; i++) {
        drive(r);
    }
}

static const uint8_t *update_slot(rig_t *r, uint8_t *buf, size_t len)
{
    const fota_partition_t *p =
        fota_part_find(&r->rel->table, FOTA_PART_TYPE_APP, (uint8_t)(FOTA_PART_SUBTYPE_OTA_0 + 1u));
    assert_non_null(p);
    fota_flash_emu_cancel_cut(r->emu);
    assert_int_equal(fota_flash_emu_read(r->emu, p->offset, buf, len), FOTA_OK);
    return buf;
}

/* The new image is running, confirmed, byte for byte in ota_1, and the server heard so. */
static void assert_confirmed(rig_t *r, const char *what)
{
    if (r->bricks != 0) {
        fail_msg("%s: the device was bricked", what);
    }
    if (strcmp(r->dev.version, NEW_VERSION) != 0 ||
        r->dev.boot.running.ota_state != FOTA_OTA_IMG_VALID) {
        fail_msg("%s: running %s (otadata state %u), not %s confirmed", what, r->dev.version,
                 (unsigned)r->dev.boot.running.ota_state, NEW_VERSION);
    }
    size_t len = r->srv.image_len;
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    int same = memcmp(update_slot(r, buf, len), r->srv.image, len);
    free(buf);
    if (same != 0) {
        fail_msg("%s: ota_1 does not hold the new image", what);
    }
    if (!fake_server_got_report(&r->srv, "confirmed")) {
        fail_msg("%s: no confirmed report", what);
    }
    if (r->rel->sc->delta_segment != 0 && r->srv.data_requests != r->srv.delta_requests) {
        fail_msg("%s: the full image was fetched (%u of %u requests for the delta)", what,
                 r->srv.delta_requests, r->srv.data_requests);
    }
}

/* ---- the clean run ------------------------------------------------------------------------- */

typedef struct {
    oplog_t log;
    uint64_t total;      /* flash operations of the whole update */
    uint64_t reboot_op;  /* first operation after the agent asked to reboot */
    uint64_t confirm_op; /* first operation after the confirm */
    uint64_t pending_op; /* the erase that starts the NEW -> PENDING_VERIFY rewrite */
    uint64_t valid_op;   /* the write that ends the PENDING_VERIFY -> VALID rewrite */
    uint64_t writes;     /* writes and erases */
} clean_t;

static bool in_otadata(const release_t *rel, uint32_t addr)
{
    const fota_partition_t *p =
        fota_part_find(&rel->table, FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_OTA);
    return p != NULL && addr >= p->offset && addr < p->offset + p->size;
}

/* Find the otadata rewrites that bound the first boot of the new image. */
static void find_window(const release_t *rel, clean_t *c)
{
    const oplog_t *l = &c->log;
    c->pending_op = c->valid_op = UINT64_MAX;
    for (uint64_t i = c->reboot_op; i < c->confirm_op; i++) {
        if (l->kind[i] == FOTA_FLASH_OP_ERASE && in_otadata(rel, l->addr[i]) &&
            c->pending_op == UINT64_MAX) {
            c->pending_op = i;
        }
        if (l->kind[i] == FOTA_FLASH_OP_WRITE && in_otadata(rel, l->addr[i])) {
            c->valid_op = i;
        }
    }
    assert_true(c->pending_op != UINT64_MAX && c->valid_op != UINT64_MAX);
    assert_true(c->pending_op < c->valid_op);
    for (size_t i = 0; i < l->n; i++) {
        c->writes += l->kind[i] != FOTA_FLASH_OP_READ;
    }
}

static void clean_run(const release_t *rel, clean_t *c)
{
    memset(c, 0, sizeof *c);
    rig_t r;
    rig_open(&r, rel);
    r.log = &c->log;
    update(&r);
    c->total = ops_now(&r);               /* before the checks below read the flash */
    assert_int_equal(c->log.n, c->total); /* the spy saw exactly the operations counted */
    assert_confirmed(&r, "clean run");
    assert_int_equal(r.cuts, 0);
    assert_int_equal(r.rollbacks, 0);
    assert_int_equal(r.refetched, 0);
    c->reboot_op = r.reboot_op;
    c->confirm_op = r.confirm_op;
    rig_close(&r);
    find_window(rel, c);
}

static void clean_free(clean_t *c)
{
    free(c->log.kind);
    free(c->log.addr);
}

/* ---- one cut ------------------------------------------------------------------------------- */

typedef struct {
    unsigned runs;
    unsigned rollbacks;
    uint64_t first_rollback;
    uint64_t last_rollback;
    uint32_t max_refetch;
} tally_t;

static const char *mode_name(const scenario_t *sc)
{
    return sc->delta_segment != 0 ? "delta" : sc->mode == FOTA_MODE_SEED ? "seed" : "chain";
}

static const char *cut_name(fota_cut_mode_t how)
{
    return how == FOTA_CUT_TORN ? "torn" : "clean";
}

/*
 * Which cut points must roll back. A clean cut AT the erase that starts the NEW -> PENDING
 * rewrite changes nothing (the entry is still NEW and the next boot tries again); every later
 * operation up to the confirm's write leaves either a PENDING_VERIFY entry (aborted at the next
 * boot) or a blank or torn copy (the old copy wins). A torn erase at that first erase already
 * destroys the NEW entry.
 */
static bool must_roll_back(const clean_t *c, uint64_t k, fota_cut_mode_t how)
{
    uint64_t first = how == FOTA_CUT_TORN ? c->pending_op : c->pending_op + 1u;
    return k >= first && k <= c->valid_op;
}

static void cut_once(const release_t *rel, const clean_t *c, uint64_t k, fota_cut_mode_t how,
                     uint64_t seed, tally_t *t)
{
    char what[96];
    snprintf(what, sizeof what, "%s, %s cut at flash operation %llu of %llu", mode_name(rel->sc),
             cut_name(how), (unsigned long long)k, (unsigned long long)c->total);
    rig_t r;
    rig_open(&r, rel);
    fota_flash_emu_plan_cut(r.emu, k, how, seed);
    update(&r);
    if (r.cuts != 1) {
        fail_msg("%s: the cut did not happen exactly once (%u)", what, r.cuts);
    }
    assert_confirmed(&r, what);
    bool rolled = r.rollbacks > 0;
    if (rolled != must_roll_back(c, k, how)) {
        fail_msg("%s: %s, expected %s (window %llu..%llu)", what,
                 rolled ? "rolled back" : "did not roll back",
                 rolled ? "no rollback" : "a rollback", (unsigned long long)c->pending_op,
                 (unsigned long long)c->valid_op);
    }
    if (rolled) {
        t->first_rollback = t->rollbacks == 0 || k < t->first_rollback ? k : t->first_rollback;
        t->last_rollback = k > t->last_rollback ? k : t->last_rollback;
        t->rollbacks++;
    }
    if (r.refetched > rel->max_refetch) {
        fail_msg("%s: %u chunks fetched again, more than %u", what, (unsigned)r.refetched,
                 (unsigned)rel->max_refetch);
    } else if (r.refetched > t->max_refetch) {
        t->max_refetch = r.refetched;
    }
    t->runs++;
    rig_close(&r);
}

static void print_tally(const release_t *rel, const clean_t *c, fota_cut_mode_t how,
                        const tally_t *t)
{
    printf(
        "# %s, %s cuts: %u cut points of %llu flash operations (%llu writes and erases), "
        "all confirmed, none bricked; rolled back, then reinstalled from the slot, at operations "
        "%llu..%llu (%u: first boot "
        "of the new image before its confirm); at most %u chunks fetched again\n",
        mode_name(rel->sc), cut_name(how), t->runs, (unsigned long long)c->total,
        (unsigned long long)c->writes, (unsigned long long)t->first_rollback,
        (unsigned long long)t->last_rollback, t->rollbacks, (unsigned)t->max_refetch);
}

/* ---- the exhaustive sweep -------------------------------------------------------------------- */

static void sweep(const scenario_t *sc)
{
    release_t rel;
    release_make(&rel, sc);
    clean_t c;
    clean_run(&rel, &c);
    for (int h = 0; h < 2; h++) {
        fota_cut_mode_t how = h == 0 ? FOTA_CUT_BEFORE : FOTA_CUT_TORN;
        tally_t t = {0};
        for (uint64_t k = 0; k < c.total; k++) {
            if (how == FOTA_CUT_TORN && c.log.kind[k] == FOTA_FLASH_OP_READ) {
                continue; /* nothing to tear: the clean cut at this read covers it */
            }
            cut_once(&rel, &c, k, how, k * 2654435761u + (uint64_t)h, &t);
        }
        print_tally(&rel, &c, how, &t);
        /* every cut point of the window rolled back, and nothing else did */
        uint64_t first = how == FOTA_CUT_TORN ? c.pending_op : c.pending_op + 1u;
        uint64_t expect = 0;
        for (uint64_t k = first; k <= c.valid_op; k++) {
            expect += how == FOTA_CUT_BEFORE || c.log.kind[k] != FOTA_FLASH_OP_READ;
        }
        assert_int_equal(t.rollbacks, expect);
    }
    clean_free(&c);
    release_free(&rel);
}

static const scenario_t small_seed = {FOTA_MODE_SEED, 64u * 1024u, 32u * 1024u, true, false, 0};
static const scenario_t small_chain = {FOTA_MODE_CHAIN, 64u * 1024u, 32u * 1024u, true, false, 0};
/* 40,000 bytes to 64 KB: a patch of some thirty records, segments of two or more */
static const scenario_t small_delta = {FOTA_MODE_CHAIN, 64u * 1024u, 40000u, true, false, 1};

static void test_every_cut_seed(void **state)
{
    (void)state;
    sweep(&small_seed);
}

static void test_every_cut_chain(void **state)
{
    (void)state;
    sweep(&small_chain);
}

static void test_every_cut_delta(void **state)
{
    (void)state;
    sweep(&small_delta);
}

/* ---- the sampled sweep ----------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void sample(const scenario_t *sc, uint64_t seed, unsigned n)
{
    release_t rel;
    release_make(&rel, sc);
    clean_t c;
    clean_run(&rel, &c);
    tally_t t[2] = {{0}, {0}};
    for (unsigned i = 0; i < n; i++) {
        uint64_t k = splitmix(&seed) % c.total;
        fota_cut_mode_t how = (splitmix(&seed) & 1u) ? FOTA_CUT_TORN : FOTA_CUT_BEFORE;
        cut_once(&rel, &c, k, how, splitmix(&seed), &t[how]);
    }
    print_tally(&rel, &c, FOTA_CUT_BEFORE, &t[0]);
    print_tally(&rel, &c, FOTA_CUT_TORN, &t[1]);
    clean_free(&c);
    release_free(&rel);
}

static uint64_t sample_seed(void)
{
    const char *env = getenv("FOTA_POWER_SEED");
    uint64_t seed = env != NULL ? strtoull(env, NULL, 0) : 20260101u;
    printf("# sampled cuts: seed %llu (FOTA_POWER_SEED=%llu replays it)\n",
           (unsigned long long)seed, (unsigned long long)seed);
    return seed;
}

static void test_sampled_cuts_1mb(void **state)
{
    (void)state;
    static const scenario_t big_seed = {FOTA_MODE_SEED, 1024u * 1024u, 64u * 1024u, false, true, 0};
    static const scenario_t big_chain = {FOTA_MODE_CHAIN, 1024u * 1024u, 64u * 1024u,
                                         false,           true,          0};
    uint64_t seed = sample_seed();
    sample(&big_seed, seed, SAMPLED_CUTS / 2u);
    sample(&big_chain, seed ^ 0x5555u, SAMPLED_CUTS / 2u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_cut_seed),
        cmocka_unit_test(test_every_cut_chain),
        cmocka_unit_test(test_every_cut_delta),
        cmocka_unit_test(test_sampled_cuts_1mb),
    };
    /* FOTA_POWER_TESTS=test_every_cut_delta runs the tests the pattern names (cmocka's filter) */
    const char *only = getenv("FOTA_POWER_TESTS");
    if (only != NULL && only[0] != '\0') {
        cmocka_set_test_filter(only);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
