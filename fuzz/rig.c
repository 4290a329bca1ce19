/*
 * rig.c - the emulated device, release and server the agent fuzz targets share (rig.h).
 *
 * Built from the real parts: emu/flash_emu (strict NOR rules), fota_device_provision,
 * the emulated bootloader and the boot_emu port; tests/support/fake_server.c answers the agent's
 * requests with the real release, with real request authentication. Only the journal store is a
 * RAM record here (the flash store has its own target, fuzz_store_flash.c), so that a target can
 * put its input where the agent loads its journal from.
 */
#include "rig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/md.h>

#include "fota/chain.h"
#include "fota/emu/bootloader.h"
#include "fota/emu/image_build.h"
#include "fota/emu/partition.h"

/* The fuzzing release key: made for these targets, signs nothing but their seeds. Fixed so that
 * manifests (and so release ids in offers and journals) are the same in every process. */
static const char rig_key_pem[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIL/4Txu9Yv3Lu9MZbygFS4bMGOtQk69fxdHsg7EOsfjFoAoGCCqGSM49\n"
    "AwEHoUQDQgAEUrUapXd6DvSvQ3oAYn6QDHHbzuHpokeLLHTN/haK8K9NYhrxOLuN\n"
    "8yRwFLT0JZy3LNk8+cLUJdQkfNAwkvtHbA==\n"
    "-----END EC PRIVATE KEY-----\n";

static fota_key_t *g_key;
static uint8_t g_pub[FOTA_KEY_PUBLIC_DER_LEN + 16];
static size_t g_pub_len;

static void die(const char *what, fota_err_t err)
{
    fprintf(stderr, "fuzz rig: %s failed: %s (%d)\n", what, fota_err_name(err), (int)err);
    abort();
}

static void check(const char *what, fota_err_t err)
{
    if (err != FOTA_OK) {
        die(what, err);
    }
}

/* ---- the key --------------------------------------------------------------------------------- */

/* keys.h loads private keys from files only: write the PEM to a private temporary file. */
static void load_key(void)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/fota-fuzz-key-XXXXXX", dir != NULL ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, rig_key_pem, strlen(rig_key_pem)) != (ssize_t)strlen(rig_key_pem)) {
        die("writing the key file", FOTA_ERR_IO);
    }
    close(fd);
    fota_err_t err = fota_key_load_private(path, &g_key);
    unlink(path);
    check("loading the key", err);
    g_pub_len = sizeof g_pub;
    check("exporting the public key", fota_key_public_der(g_key, g_pub, &g_pub_len));
}

void rig_write_key_pem(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fchmod(fileno(f), 0600) != 0 || fputs(rig_key_pem, f) == EOF) {
        die("writing the key file", FOTA_ERR_IO);
    }
    if (fclose(f) != 0) {
        die("writing the key file", FOTA_ERR_IO);
    }
}

fota_key_t *rig_signing_key(void)
{
    if (g_key == NULL) {
        load_key();
    }
    return g_key;
}

void rig_public_key(const uint8_t **der, size_t *len)
{
    rig_signing_key();
    *der = g_pub;
    *len = g_pub_len;
}

void rig_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* ---- ports: boot (boot_emu, wrapped), store (RAM) ------------------------------------------- */

static fota_err_t boot_update_partition(void *ctx, uint32_t *offset, uint32_t *size)
{
    rig_t *r = ctx;
    return r->boot_inner.update_partition(r->boot_inner.ctx, offset, size);
}

static fota_err_t boot_running_partition(void *ctx, uint32_t *offset, uint32_t *size)
{
    rig_t *r = ctx;
    return r->boot_inner.running_partition(r->boot_inner.ctx, offset, size);
}

static fota_err_t boot_set(void *ctx)
{
    rig_t *r = ctx;
    r->otadata_dirty = true;
    r->boot_switched = true;
    return r->boot_inner.set_boot(r->boot_inner.ctx);
}

static fota_err_t boot_running_state(void *ctx, fota_boot_state_t *state)
{
    rig_t *r = ctx;
    return r->boot_inner.running_state(r->boot_inner.ctx, state);
}

static fota_err_t boot_confirm(void *ctx)
{
    rig_t *r = ctx;
    r->otadata_dirty = true;
    return r->boot_inner.confirm(r->boot_inner.ctx);
}

static fota_err_t boot_reboot(void *ctx)
{
    rig_t *r = ctx;
    return r->boot_inner.reboot(r->boot_inner.ctx);
}

static fota_err_t store_load(void *ctx, void *buf, size_t cap, size_t *len)
{
    const rig_store_t *s = ctx;
    if (s->len == 0) {
        return FOTA_ERR_JOURNAL_EMPTY;
    }
    if (s->len > cap) {
        return FOTA_ERR_TOO_LARGE;
    }
    memcpy(buf, s->data, s->len);
    *len = s->len;
    return FOTA_OK;
}

static fota_err_t store_save(void *ctx, const void *buf, size_t len)
{
    rig_store_t *s = ctx;
    if (s->fail_saves) {
        return FOTA_ERR_IO;
    }
    if (len == 0 || len > sizeof s->data) {
        return len == 0 ? FOTA_ERR_ARG : FOTA_ERR_TOO_LARGE;
    }
    memcpy(s->data, buf, len);
    s->len = len;
    s->saves++;
    if (s->on_save != NULL) {
        s->on_save(s->data, len);
    }
    return FOTA_OK;
}

static fota_err_t store_clear(void *ctx)
{
    rig_store_t *s = ctx;
    s->len = 0;
    return FOTA_OK;
}

/* ---- the device ------------------------------------------------------------------------------ */

static void open_flash(rig_t *r)
{
    check("opening the flash",
          fota_flash_emu_open(NULL, FOTA_FLASH_EMU_DEFAULT_SIZE, FOTA_FLASH_EMU_STRICT, &r->emu));
    r->flash = fota_flash_emu_port(r->emu);
    size_t len = 0;
    uint8_t *old = fake_image(RIG_OLD_VERSION, RIG_OLD_SIZE, 0, &len);
    check("provisioning", fota_device_provision(&r->flash, NULL, old, len));
    free(old);
    fota_part_table_t t;
    fota_part_table_default(&t);
    const fota_partition_t *p = fota_part_find(&t, FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_OTA);
    r->otadata_offset = p->offset;
    r->update_offset = fota_part_find(&t, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0 + 1u)->offset;
}

/* The first power-on: the bootloader picks ota_0 and writes otadata's first entry. */
static void first_boot(rig_t *r)
{
    r->st.boot.flash = r->flash;
    check("booting", fota_bootloader_run(&r->flash, &r->st.boot.running));
    check("reading otadata",
          fota_flash_emu_read(r->emu, r->otadata_offset, r->otadata, sizeof r->otadata));
    if (r->opts.running_pending) {
        r->st.boot.running.ota_state = FOTA_OTA_IMG_PENDING_VERIFY;
    }
}

/* The 2.0.0 release, as fake_server_release builds it but signed with the fixed key. */
static void publish(rig_t *r)
{
    fake_server_t *s = &r->srv;
    s->image = fake_image(RIG_NEW_VERSION, RIG_NEW_SIZE, 0, &s->image_len);
    fota_manifest_t *m = &s->m;
    memset(m, 0, sizeof *m);
    m->format_version = 1;
    snprintf(m->product_id, sizeof m->product_id, "%s", RIG_PRODUCT);
    snprintf(m->version, sizeof m->version, "%s", RIG_NEW_VERSION);
    m->image_size = (uint32_t)s->image_len;
    m->chunk_size = r->opts.chunk_size;
    m->chunk_count = (m->image_size + m->chunk_size - 1u) / m->chunk_size;
    m->created = 1790000000u;
    s->blob_len = fota_chain_blob_size(s->image_len, m->chunk_size);
    s->blob = malloc(s->blob_len);
    if (s->blob == NULL) {
        die("allocating the blob", FOTA_ERR_NO_MEM);
    }
    check("building the chain", fota_chain_build(s->image, s->image_len, m->chunk_size, s->blob,
                                                 s->blob_len, m->chain_head));
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    mbedtls_md(sha, s->image, s->image_len, m->image_sha256);
    check("signing the manifest", fota_manifest_sign(m, rig_signing_key(), s->manifest));
    uint8_t digest[32];
    mbedtls_md(sha, s->manifest, sizeof s->manifest, digest);
    rig_hex(digest, FOTA_RELEASE_ID_LEN / 2, s->release);
    s->offer = true;
}

static void agent_config(const rig_t *r, fota_agent_config_t *ac)
{
    memset(ac, 0, sizeof *ac);
    ac->device_id = RIG_DEVICE_ID;
    ac->device_key = r->device_key;
    ac->product_id = RIG_PRODUCT;
    ac->current_version =
        r->opts.current_version != NULL ? r->opts.current_version : RIG_OLD_VERSION;
    rig_public_key(&ac->release_key, &ac->release_key_len);
    ac->mode = r->opts.mode;
    ac->retry_ms = 100;
    ac->progress_every = 2;
}

fota_err_t rig_agent_start(rig_t *r)
{
    rig_agent_stop(r);
    fota_agent_config_t ac;
    agent_config(r, &ac);
    fota_ports_t p;
    p.flash = r->flash;
    p.boot = (fota_boot_t){
        r,           boot_update_partition, boot_set, boot_running_state, boot_confirm,
        boot_reboot, boot_running_partition};
    p.store = (fota_store_t){&r->st.store, store_load, store_save, store_clear};
    p.clock = fota_manual_clock_port(&r->st.clock);
    fota_err_t err = fota_agent_init(&r->st.agent, &ac, &p);
    r->st.agent_up = err == FOTA_OK;
    return err;
}

void rig_agent_stop(rig_t *r)
{
    if (r->st.agent_up) {
        fota_agent_deinit(&r->st.agent);
        r->st.agent_up = false;
    }
}

void rig_open(rig_t *r, const rig_opts_t *o)
{
    memset(r, 0, sizeof *r);
    r->opts = *o;
    for (int i = 0; i < 32; i++) {
        r->device_key[i] = (uint8_t)(0xA0 + i);
    }
    open_flash(r);
    first_boot(r);
    fake_server_init(&r->srv, RIG_DEVICE_ID, r->device_key);
    publish(r);
    r->srv_tr = fake_server_transport(&r->srv);
    r->boot_inner = fota_emu_boot_port(&r->st.boot);
    r->st.clock.now_ms = 1000u;
    r->st.clock.unix_time = 1790000000u;
    r->st.clock.rng = 0x5eedu;
    check("starting the agent", rig_agent_start(r));
}

void rig_reset_otadata(rig_t *r)
{
    if (!r->otadata_dirty) {
        return;
    }
    check("erasing otadata", fota_otadata_erase(&r->flash, r->otadata_offset));
    check("writing otadata",
          fota_flash_write(&r->flash, r->otadata_offset, r->otadata, sizeof r->otadata));
    r->otadata_dirty = false;
}

void rig_snapshot(rig_t *r)
{
    r->snap = r->st;
}

void rig_restore(rig_t *r)
{
    r->st = r->snap;
    r->srv.report_count = 0;
    r->boot_switched = false;
    rig_reset_otadata(r);
    fota_flash_stats_t stats;
    fota_flash_emu_stats(r->emu, &stats);
    r->writes_before = stats.writes;
}

void rig_erase_update_slot(rig_t *r, bool with_image)
{
    uint32_t sector = r->flash.sector_size;
    uint32_t span = (RIG_NEW_SIZE + sector - 1u) / sector * sector;
    check("erasing the update slot", fota_flash_erase(&r->flash, r->update_offset, span));
    if (with_image) {
        check("writing the update slot",
              fota_flash_write(&r->flash, r->update_offset, r->srv.image, r->srv.image_len));
    }
}

static void violated(const char *what)
{
    fprintf(stderr, "fuzz rig: property violated: %s\n", what);
    abort();
}

void rig_check_flash(rig_t *r, bool check_switch)
{
    static uint8_t slot[RIG_NEW_SIZE];
    const fake_server_t *s = &r->srv;
    fota_flash_stats_t stats;
    fota_flash_emu_stats(r->emu, &stats);
    if (stats.writes == r->writes_before && !r->boot_switched) {
        return; /* nothing written since the input started */
    }
    check("reading the update slot",
          fota_flash_emu_read(r->emu, r->update_offset, slot, s->image_len));
    bool whole = true;
    for (size_t i = 0; i < s->image_len; i++) {
        if (slot[i] != s->image[i] && slot[i] != 0xFF) {
            violated("a byte in the update slot is not the release's: unverified data was written");
        }
        whole = whole && slot[i] == s->image[i];
    }
    if (check_switch && r->boot_switched && !whole) {
        violated("the boot slot was switched to an image that is not whole");
    }
}

/* ---- driving the agent ----------------------------------------------------------------------- */

bool rig_is_data(const fota_http_request_t *req)
{
    return strstr(req->target, "/chunk?") != NULL || strstr(req->target, "/blob/") != NULL;
}

/* Polls through steps that need no wait (verifying, a failed port call); false when the agent
 * waits for time to pass or asks for a reboot. */
bool rig_poll_http(rig_t *r, const fota_http_request_t **req)
{
    for (int i = 0; i < 64; i++) {
        fota_action_t act;
        if (fota_agent_poll(&r->st.agent, &act) != FOTA_OK) {
            return false;
        }
        if (act.kind == FOTA_ACTION_HTTP) {
            *req = act.http;
            return true;
        }
        if (act.kind != FOTA_ACTION_WAIT || act.wait_ms != 0) {
            return false;
        }
    }
    return false;
}

void rig_run(rig_t *r, unsigned max_steps, bool stop_at_data, bool *data_req)
{
    if (data_req != NULL) {
        *data_req = false;
    }
    for (unsigned i = 0; i < max_steps; i++) {
        const fota_http_request_t *req;
        if (!rig_poll_http(r, &req)) {
            return; /* waiting (back-off, nothing to do) or rebooting */
        }
        if (stop_at_data && rig_is_data(req)) {
            *data_req = true;
            return;
        }
        r->srv_tr.perform(r->srv_tr.ctx, req, &r->st.agent);
    }
}

void rig_capture_requests(fota_mode_t mode, void (*fn)(void *ctx, const fota_http_request_t *req),
                          void *ctx)
{
    static rig_t rig;
    rig_opts_t o = {mode, 1024u, NULL, false};
    rig_open(&rig, &o);
    fota_agent_check_now(&rig.st.agent);
    const fota_http_request_t *req;
    for (unsigned i = 0; i < 256 && rig_poll_http(&rig, &req); i++) {
        fn(ctx, req);
        rig.srv_tr.perform(rig.srv_tr.ctx, req, &rig.st.agent);
    }
}

void rig_respond(rig_t *r, int status, int64_t content_length, const uint8_t *body, size_t len,
                 const size_t *pieces, size_t npieces, fota_err_t transport_err)
{
    fota_agent_t *a = &r->st.agent;
    fota_agent_response_begin(a, status, content_length);
    size_t off = 0;
    for (size_t k = 0; off < len; k++) {
        size_t piece = npieces > 0 ? pieces[k % npieces] : 0;
        size_t n = piece == 0 || piece > len - off ? len - off : piece;
        if (fota_agent_feed(a, body + off, n) != FOTA_OK) {
            break;
        }
        off += n;
    }
    fota_agent_response_end(a, transport_err);
}

void rig_trace(const rig_t *r, const char *target)
{
    static int on = -1;
    if (on < 0) {
        on = getenv("FOTA_FUZZ_TRACE") != NULL;
    }
    if (!on) {
        return;
    }
    uint32_t done = 0, total = 0;
    fota_agent_progress(&r->st.agent, &done, &total);
    fprintf(stderr, "%s: state %s, last error %s, chunks %u/%u, journal saves %u, reports:", target,
            fota_state_name(fota_agent_state(&r->st.agent)),
            fota_err_name(fota_agent_last_error(&r->st.agent)), (unsigned)done, (unsigned)total,
            r->st.store.saves);
    for (unsigned i = 0; i < r->srv.report_count && i < 64; i++) {
        fprintf(stderr, " %s", r->srv.reports[i]);
    }
    fprintf(stderr, "\n");
}

/* ---- seeds ----------------------------------------------------------------------------------- */

void rig_require(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "property violated: %s\n", what);
        abort();
    }
}

const char *rig_make_seed_dir(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--make-seed") == 0 && i + 1 < argc) {
            return argv[i + 1];
        }
        if (strncmp(argv[i], "--make-seed=", 12) == 0) {
            return argv[i] + 12;
        }
    }
    return NULL;
}

void rig_write_seed(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "fuzz rig: cannot write %s\n", path);
        abort();
    }
}
