/*
 * store_sqlite.c - the SQLite backend of store.h: the database file, its schema, connections and
 * their statement caches (store_sqlite_int.h explains the one-writer / reader-pool design). The
 * operations themselves are in store_sqlite_ops.c.
 *
 * Durability. The database runs in WAL mode. A COMMIT appends the transaction to the -wal file
 * with write(2) before it returns, and fotad answers a request only after its COMMIT returned,
 * so an acknowledged write is in the operating system's page cache: a crash or SIGKILL of fotad
 * loses nothing, and the next open replays the WAL. With synchronous=NORMAL (the default) the WAL
 * is fsync'ed only at checkpoints, so a power cut or kernel crash can lose the last commits (the
 * database stays consistent); synchronous=FULL (db_sync = full) fsyncs every commit and survives
 * those too, at the price of one fsync per report. docs/SERVER.md has the operator's view.
 *
 * Schema versions. PRAGMA user_version holds the version of the schema in the file. Each
 * version has one migration step that takes a database of the version before to it; a new
 * database (version 0) runs every step, an older one the steps it lacks, all in one write
 * transaction that first reads the version, so that two processes opening the same file never
 * both migrate it and a failed step leaves the file as it was. A file from a newer fotad is
 * refused. A new step is appended, never edited: files in the field went through the old ones.
 *   1  releases, devices, reports, assignments
 *   2  releases.chip (the image's chip id; NULL in rows of version 1 until fotad reads it from the
 *      image) and products (each product's chip)
 *   3  the legacy bridge's setting and enrollments
 *   4  device tags and rollouts: rollouts, rollout_stages, rollout_members (a member's status is
 *      the number of fotad_member_status_t: never renumbered), rollout_events
 *   5  admin tokens (the SHA-256 of each, never the token) and the audit log
 *   6  deltas (a release's patches from source images, docs/MANIFEST.md)
 */
#include "store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SQ_BUSY_TIMEOUT_MS 5000

/* release_id, not release: RELEASE is an SQL keyword. */
static const char schema_v1[] =
    "CREATE TABLE IF NOT EXISTS releases("
    " id TEXT PRIMARY KEY, product TEXT NOT NULL, version TEXT NOT NULL,"
    " security_version INTEGER NOT NULL, image_size INTEGER NOT NULL,"
    " chunk_size INTEGER NOT NULL, chunk_count INTEGER NOT NULL, blob_size INTEGER NOT NULL,"
    " image_sha256 TEXT NOT NULL, blob_sha256 TEXT NOT NULL, created INTEGER NOT NULL,"
    " uploaded INTEGER NOT NULL, manifest BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS devices("
    " id TEXT PRIMARY KEY, product TEXT NOT NULL DEFAULT '', version TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL DEFAULT '', release_id TEXT NOT NULL DEFAULT '',"
    " offered TEXT NOT NULL DEFAULT '', done INTEGER NOT NULL DEFAULT 0,"
    " total INTEGER NOT NULL DEFAULT 0, last_error INTEGER NOT NULL DEFAULT 0,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS reports("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, time INTEGER NOT NULL,"
    " state TEXT NOT NULL, release_id TEXT NOT NULL, version TEXT NOT NULL,"
    " running TEXT NOT NULL, done INTEGER NOT NULL, total INTEGER NOT NULL,"
    " error INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS reports_by_device ON reports(device, seq);"
    "CREATE TABLE IF NOT EXISTS assignments("
    " kind INTEGER NOT NULL, target TEXT NOT NULL,"
    " release_id TEXT NOT NULL REFERENCES releases(id), updated INTEGER NOT NULL,"
    " PRIMARY KEY(kind, target));";

static const char schema_v2[] =
    "ALTER TABLE releases ADD COLUMN chip INTEGER;"
    "CREATE TABLE products(id TEXT PRIMARY KEY, chip INTEGER NOT NULL, created INTEGER NOT NULL);";

/* The legacy bridge: one setting row at most, and the bridge devices' enrollments. */
static const char schema_v3[] =
    "CREATE TABLE legacy(one INTEGER PRIMARY KEY CHECK(one = 1), product TEXT NOT NULL,"
    " bridge_release TEXT NOT NULL REFERENCES releases(id), mac_field TEXT NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE TABLE enrollments(device_id TEXT PRIMARY KEY, product TEXT NOT NULL,"
    " key_wrapped BLOB NOT NULL, state TEXT NOT NULL, address TEXT NOT NULL,"
    " requested INTEGER NOT NULL, decided INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX enrollments_by_state ON enrollments(state, device_id);";

/* Device tags and rollouts (docs/ROLLOUTS.md). A stage boundary is a 64-bit place stored with
 * its bits as a signed integer. */
static const char schema_v4[] =
    "CREATE TABLE device_tags(device TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY(device, tag));"
    "CREATE INDEX device_tags_by_tag ON device_tags(tag, device);"
    "CREATE TABLE rollouts(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
    " product TEXT NOT NULL, release_id TEXT NOT NULL REFERENCES releases(id),"
    " rollback_release TEXT NOT NULL, tags TEXT NOT NULL, explicit_devices INTEGER NOT NULL,"
    " state TEXT NOT NULL, action TEXT NOT NULL, rollback_on_failure INTEGER NOT NULL,"
    " current_stage INTEGER NOT NULL, rollback_stage INTEGER NOT NULL,"
    " paused_reason TEXT NOT NULL, timeout_s INTEGER NOT NULL, rate_per_minute INTEGER NOT NULL,"
    " rate_after_successes INTEGER NOT NULL, rate_then_per_minute INTEGER NOT NULL,"
    " window_cron TEXT NOT NULL, window_offset_s INTEGER NOT NULL,"
    " window_duration_s INTEGER NOT NULL, finish_running INTEGER NOT NULL,"
    " max_failures INTEGER NOT NULL, max_failure_percent INTEGER NOT NULL,"
    " min_finished INTEGER NOT NULL, created INTEGER NOT NULL, start_at INTEGER NOT NULL,"
    " started INTEGER NOT NULL, finished INTEGER NOT NULL);"
    "CREATE INDEX rollouts_by_product ON rollouts(product, state);"
    "CREATE TABLE rollout_stages(rollout INTEGER NOT NULL REFERENCES rollouts(id),"
    " idx INTEGER NOT NULL, kind INTEGER NOT NULL, amount INTEGER NOT NULL,"
    " success_percent INTEGER NOT NULL, soak_s INTEGER NOT NULL, manual INTEGER NOT NULL,"
    " max_failures INTEGER NOT NULL, max_failure_percent INTEGER NOT NULL,"
    " min_finished INTEGER NOT NULL, boundary INTEGER NOT NULL, opened INTEGER NOT NULL,"
    " done_since INTEGER NOT NULL, PRIMARY KEY(rollout, idx));"
    "CREATE TABLE rollout_members(rollout INTEGER NOT NULL REFERENCES rollouts(id),"
    " device TEXT NOT NULL, stage INTEGER NOT NULL, status INTEGER NOT NULL,"
    " started INTEGER NOT NULL, last_activity INTEGER NOT NULL, reason TEXT NOT NULL,"
    " PRIMARY KEY(rollout, device));"
    "CREATE INDEX rollout_members_by_start ON rollout_members(rollout, started);"
    "CREATE TABLE rollout_events(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " rollout INTEGER NOT NULL REFERENCES rollouts(id), time INTEGER NOT NULL,"
    " kind TEXT NOT NULL, text TEXT NOT NULL);"
    "CREATE INDEX rollout_events_by_rollout ON rollout_events(rollout, seq);";

/* Admin tokens and the audit log (docs/ADMIN_API.md, "Roles and tokens"). */
static const char schema_v5[] =
    "CREATE TABLE tokens(id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
    " sha256 BLOB NOT NULL, created INTEGER NOT NULL, created_by TEXT NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    " token TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,"
    " client TEXT NOT NULL, status INTEGER NOT NULL);"
    "CREATE INDEX audit_by_token ON audit(token, seq);";
/* Deltas: the patches to a release's image from source images (their ids), found by release and
 * source at a check. */
static const char schema_v6[] =
    "CREATE TABLE deltas(id TEXT PRIMARY KEY, release_id TEXT NOT NULL REFERENCES releases(id),"
    " source_sha256 TEXT NOT NULL, source_size INTEGER NOT NULL, patch_size INTEGER NOT NULL,"
    " chunk_size INTEGER NOT NULL, chunk_count INTEGER NOT NULL, blob_size INTEGER NOT NULL,"
    " blob_sha256 TEXT NOT NULL, created INTEGER NOT NULL, uploaded INTEGER NOT NULL,"
    " manifest BLOB NOT NULL);"
    "CREATE INDEX deltas_by_release ON deltas(release_id, source_sha256, uploaded);";

/* migrations[v - 1] takes a database of version v - 1 to version v. */
static const char *const migrations[] = {schema_v1, schema_v2, schema_v3, schema_v4,
                                          schema_v5, schema_v6};

#define SQ_SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

fota_err_t sq_fail(sq_conn_t *c, const char *what)
{
    int code = c != NULL && c->db != NULL ? sqlite3_errcode(c->db) : SQLITE_ERROR;
    FOTAD_ERROR("store: %s: %s", what, c != NULL && c->db != NULL ? sqlite3_errmsg(c->db) : "?");
    return code == SQLITE_NOMEM ? FOTA_ERR_NO_MEM : FOTA_ERR_IO;
}

static fota_err_t exec(sq_conn_t *c, const char *sql, const char *what)
{
    return sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK ? FOTA_OK : sq_fail(c, what);
}

static void conn_close(sq_conn_t *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < SQ_STMT_COUNT; i++) {
        sqlite3_finalize(c->stmts[i]);
    }
    sqlite3_close(c->db);
    free(c);
}

/* Per-connection settings: WAL (persistent, set by the writer), sync level, foreign keys, a
 * busy timeout (another process, e.g. the sqlite3 shell, may hold a lock), read-only readers. */
static fota_err_t conn_setup(sq_store_t *s, sq_conn_t *c, bool writer)
{
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas, "%sPRAGMA synchronous=%s;PRAGMA foreign_keys=ON;%s",
             writer ? "PRAGMA journal_mode=WAL;" : "",
             s->sync == FOTAD_SYNC_FULL ? "FULL" : "NORMAL", writer ? "" : "PRAGMA query_only=1;");
    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    return exec(c, pragmas, "connection setup");
}

static fota_err_t conn_open(sq_store_t *s, bool writer, sq_conn_t **out)
{
    sq_conn_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    fota_err_t err = FOTA_OK;
    if (sqlite3_open_v2(s->path, &c->db, flags, NULL) != SQLITE_OK) {
        err = sq_fail(c, s->path);
    }
    if (err == FOTA_OK) {
        err = conn_setup(s, c, writer);
    }
    if (err != FOTA_OK) {
        conn_close(c);
        return err;
    }
    *out = c;
    return FOTA_OK;
}

sqlite3_stmt *sq_stmt(sq_conn_t *c, sq_stmt_id_t id)
{
    if (c->stmts[id] == NULL && sqlite3_prepare_v3(c->db, sq_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                                   &c->stmts[id], NULL) != SQLITE_OK) {
        sq_fail(c, "prepare");
        return NULL;
    }
    return c->stmts[id];
}

void sq_reset(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

void sq_col_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", t != NULL ? (const char *)t : "");
}

sq_conn_t *sq_reader_get(sq_store_t *s)
{
    pthread_mutex_lock(&s->pool_lock);
    sq_conn_t *c = s->idle;
    if (c != NULL) {
        s->idle = c->next;
    }
    pthread_mutex_unlock(&s->pool_lock);
    if (c == NULL && conn_open(s, false, &c) != FOTA_OK) {
        return NULL;
    }
    return c;
}

void sq_reader_put(sq_store_t *s, sq_conn_t *c)
{
    pthread_mutex_lock(&s->pool_lock);
    c->next = s->idle;
    s->idle = c;
    pthread_mutex_unlock(&s->pool_lock);
}

sq_conn_t *sq_writer_get(sq_store_t *s)
{
    pthread_mutex_lock(&s->write_lock);
    return s->writer;
}

void sq_writer_put(sq_store_t *s)
{
    pthread_mutex_unlock(&s->write_lock);
}

static fota_err_t read_version(sq_conn_t *c, int *version)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return sq_fail(c, "read schema version");
    }
    *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return FOTA_OK;
}

/* The steps from `version` to SQ_SCHEMA_VERSION, inside the caller's transaction. */
static fota_err_t migrate(sq_conn_t *c, int version)
{
    if (version > SQ_SCHEMA_VERSION) {
        FOTAD_ERROR("store: database schema %d is newer than this fotad (%d)", version,
                    SQ_SCHEMA_VERSION);
        return FOTA_ERR_UNSUPPORTED;
    }
    fota_err_t err = FOTA_OK;
    for (int v = version + 1; err == FOTA_OK && v <= SQ_SCHEMA_VERSION; v++) {
        err = exec(c, migrations[v - 1], "migrate schema");
        if (err == FOTA_OK && version > 0) {
            FOTAD_INFO("store: database schema migrated to version %d", v);
        }
    }
    if (err == FOTA_OK && version < SQ_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", SQ_SCHEMA_VERSION);
        err = exec(c, sql, "set schema version");
    }
    return err;
}

/* Create the tables, bring an older database up to this fotad's schema, or refuse a newer one. */
static fota_err_t schema_init(sq_conn_t *c)
{
    int version = 0;
    fota_err_t err = exec(c, "BEGIN IMMEDIATE", "begin schema");
    if (err == FOTA_OK) {
        err = read_version(c, &version);
    }
    if (err == FOTA_OK) {
        err = migrate(c, version);
    }
    if (err == FOTA_OK) {
        err = exec(c, "COMMIT", "commit schema");
    }
    if (err != FOTA_OK && !sqlite3_get_autocommit(c->db)) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return err;
}

void sq_close(void *ctx)
{
    sq_store_t *s = ctx;
    while (s->idle != NULL) {
        sq_conn_t *c = s->idle;
        s->idle = c->next;
        conn_close(c);
    }
    conn_close(s->writer);
    pthread_mutex_destroy(&s->write_lock);
    pthread_mutex_destroy(&s->pool_lock);
    free(s->path);
    free(s);
}

fota_err_t fotad_store_sqlite_open(const char *path, fotad_sync_t sync, fotad_store_t *out)
{
    sq_store_t *s = calloc(1, sizeof *s);
    char *copy = strdup(path);
    if (s == NULL || copy == NULL) {
        free(s);
        free(copy);
        return FOTA_ERR_NO_MEM;
    }
    s->path = copy;
    s->sync = sync;
    pthread_mutex_init(&s->write_lock, NULL);
    pthread_mutex_init(&s->pool_lock, NULL);
    fota_err_t err = conn_open(s, true, &s->writer);
    if (err == FOTA_OK) {
        err = schema_init(s->writer);
    }
    if (err != FOTA_OK) {
        sq_close(s);
        return err;
    }
    out->ops = &sq_ops;
    out->ctx = s;
    return FOTA_OK;
}
