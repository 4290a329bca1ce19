/*
 * store_pg_schema.c - the PostgreSQL backend's schema and its migrations, run when a fotad opens
 * the store (store_pg.c).
 *
 * Versions. The table schema_version holds one row: the version of the schema in the database.
 * Each version has one migration step that takes a database of the version before to it; an
 * empty database (no schema_version, version 0) runs every step, an older one the steps it
 * lacks. A database from a newer fotad is refused (FOTA_ERR_UNSUPPORTED). A new step is
 * appended, never edited: databases in the field went through the old ones. The PostgreSQL
 * versions count on their own (the SQLite file's user_version is another history):
 *   1  releases, products, devices, reports, assignments, the legacy bridge's setting and
 *      enrollments, device tags, rollouts, rollout_stages, rollout_members, rollout_events (what
 *      SQLite's versions 1 to 4 hold)
 *   2  nonces, leases, objects: what several fotad on one database share (docs/SCALING.md)
 *   3  admin tokens (the SHA-256 of each, never the token) and the audit log (SQLite's version 5)
 *   4  deltas (a release's patches from source images, docs/MANIFEST.md; SQLite's version 6)
 *
 * Several fotad at once. Every fotad of a cluster runs this at start, and several may start at
 * the same moment on an empty database. The whole migration is one transaction that first takes
 * a transaction-level advisory lock (one fixed key; PostgreSQL's DDL is transactional): the first
 * fotad creates or migrates, the others wait on the lock, then read the new version and have
 * nothing to do. A step that fails rolls everything back, leaving the database as it was.
 *
 * Types. Numbers are BIGINT (every uint32_t fits; a stage boundary, a 64-bit place, is stored with
 * its bits as a signed BIGINT, as in SQLite), flags BOOLEAN, bytes BYTEA. Every text column that
 * is sorted or compared for a listing uses the "C" collation, so that listings come in byte order
 * as they do from SQLite, whatever locale the database was created with.
 */
#include <stdio.h>
#include <stdlib.h>

#include "store_pg_int.h"

#include "log.h"

#define CTEXT "TEXT COLLATE \"C\""
#define NUM "BIGINT NOT NULL"

/* The advisory lock that serialises migrations: "fotadscm" as a 64-bit number. */
#define PG_SCHEMA_LOCK "7381246275929465709"

/* release_id, not release: RELEASE is an SQL keyword. releases.seq orders uploads of the same
 * second (SQLite's rowid). */
static const char schema_v1[] =
    "CREATE TABLE releases(id " CTEXT " PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY,"
    " product TEXT NOT NULL, version TEXT NOT NULL, security_version " NUM ","
    " image_size " NUM ", chunk_size " NUM ", chunk_count " NUM ", blob_size " NUM ","
    " image_sha256 TEXT NOT NULL, blob_sha256 TEXT NOT NULL, created " NUM ", uploaded " NUM ","
    " manifest BYTEA NOT NULL, chip INTEGER);"
    "CREATE INDEX releases_by_upload ON releases(uploaded, seq);"
    "CREATE TABLE products(id " CTEXT " PRIMARY KEY, chip INTEGER NOT NULL, created " NUM ");"
    "CREATE TABLE devices(id " CTEXT " PRIMARY KEY, product TEXT NOT NULL DEFAULT '',"
    " version TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT '',"
    " release_id TEXT NOT NULL DEFAULT '', offered TEXT NOT NULL DEFAULT '',"
    " done BIGINT NOT NULL DEFAULT 0, total BIGINT NOT NULL DEFAULT 0,"
    " last_error BIGINT NOT NULL DEFAULT 0, first_seen " NUM ", last_seen " NUM ");"
    "CREATE TABLE reports(seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " device " CTEXT " NOT NULL, time " NUM ", state TEXT NOT NULL, release_id TEXT NOT NULL,"
    " version TEXT NOT NULL, running TEXT NOT NULL, done " NUM ", total " NUM ", error " NUM ");"
    "CREATE INDEX reports_by_device ON reports(device, seq);"
    "CREATE TABLE assignments(kind SMALLINT NOT NULL, target " CTEXT " NOT NULL,"
    " release_id TEXT NOT NULL REFERENCES releases(id), updated " NUM ","
    " PRIMARY KEY(kind, target));"
    "CREATE TABLE legacy(one SMALLINT PRIMARY KEY CHECK(one = 1), product TEXT NOT NULL,"
    " bridge_release TEXT NOT NULL REFERENCES releases(id), mac_field TEXT NOT NULL,"
    " updated " NUM ");"
    "CREATE TABLE enrollments(device_id " CTEXT " PRIMARY KEY, product TEXT NOT NULL,"
    " key_wrapped BYTEA NOT NULL, state " CTEXT " NOT NULL, address TEXT NOT NULL,"
    " requested " NUM ", decided BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX enrollments_by_state ON enrollments(state, device_id);"
    "CREATE TABLE device_tags(device " CTEXT " NOT NULL, tag " CTEXT " NOT NULL,"
    " PRIMARY KEY(device, tag));"
    "CREATE INDEX device_tags_by_tag ON device_tags(tag, device);"
    "CREATE TABLE rollouts(id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " name TEXT NOT NULL, product TEXT NOT NULL, release_id TEXT NOT NULL REFERENCES releases(id),"
    " rollback_release TEXT NOT NULL, tags TEXT NOT NULL, explicit_devices BOOLEAN NOT NULL,"
    " state TEXT NOT NULL, action TEXT NOT NULL, rollback_on_failure BOOLEAN NOT NULL,"
    " current_stage " NUM ", rollback_stage " NUM ", paused_reason TEXT NOT NULL,"
    " timeout_s " NUM ", rate_per_minute " NUM ", rate_after_successes " NUM ","
    " rate_then_per_minute " NUM ", window_cron TEXT NOT NULL, window_offset_s " NUM ","
    " window_duration_s " NUM ", finish_running BOOLEAN NOT NULL, max_failures " NUM ","
    " max_failure_percent " NUM ", min_finished " NUM ", created " NUM ", start_at " NUM ","
    " started " NUM ", finished " NUM ");"
    "CREATE INDEX rollouts_by_product ON rollouts(product, state);"
    "CREATE TABLE rollout_stages(rollout BIGINT NOT NULL REFERENCES rollouts(id),"
    " idx INTEGER NOT NULL, kind SMALLINT NOT NULL, amount " NUM ", success_percent " NUM ","
    " soak_s " NUM ", manual BOOLEAN NOT NULL, max_failures " NUM ","
    " max_failure_percent " NUM ", min_finished " NUM ", boundary " NUM ", opened " NUM ","
    " done_since " NUM ", PRIMARY KEY(rollout, idx));"
    "CREATE TABLE rollout_members(rollout BIGINT NOT NULL REFERENCES rollouts(id),"
    " device " CTEXT " NOT NULL, stage " NUM ", status SMALLINT NOT NULL, started " NUM ","
    " last_activity " NUM ", reason TEXT NOT NULL, PRIMARY KEY(rollout, device));"
    "CREATE INDEX rollout_members_by_start ON rollout_members(rollout, started);"
    "CREATE TABLE rollout_events(seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " rollout BIGINT NOT NULL REFERENCES rollouts(id), time " NUM ", kind TEXT NOT NULL,"
    " text TEXT NOT NULL);"
    "CREATE INDEX rollout_events_by_rollout ON rollout_events(rollout, seq);";

static const char schema_v2[] =
    "CREATE TABLE nonces(device " CTEXT " NOT NULL, nonce " CTEXT " NOT NULL, expires " NUM ","
    " PRIMARY KEY(device, nonce));"
    "CREATE INDEX nonces_by_expiry ON nonces(expires);"
    "CREATE TABLE leases(name " CTEXT " PRIMARY KEY, holder TEXT NOT NULL, expires " NUM ");"
    "CREATE TABLE objects(name " CTEXT " PRIMARY KEY, data BYTEA NOT NULL);";

/* Admin tokens and the audit log (docs/ADMIN_API.md, "Roles and tokens"). */
static const char schema_v3[] =
    "CREATE TABLE tokens(id " CTEXT " PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
    " sha256 BYTEA NOT NULL, created " NUM ", created_by TEXT NOT NULL,"
    " revoked BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE audit(seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, time " NUM ","
    " token " CTEXT " NOT NULL, role TEXT NOT NULL, action " CTEXT " NOT NULL,"
    " target TEXT NOT NULL, client TEXT NOT NULL, status " NUM ");"
    "CREATE INDEX audit_by_token ON audit(token, seq);";
/* Deltas; deltas.seq orders uploads of the same second. */
static const char schema_v4[] =
    "CREATE TABLE deltas(id " CTEXT " PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY,"
    " release_id " CTEXT " NOT NULL REFERENCES releases(id), source_sha256 " CTEXT " NOT NULL,"
    " source_size " NUM ", patch_size " NUM ", chunk_size " NUM ", chunk_count " NUM ","
    " blob_size " NUM ", blob_sha256 TEXT NOT NULL, created " NUM ", uploaded " NUM ","
    " manifest BYTEA NOT NULL);"
    "CREATE INDEX deltas_by_release ON deltas(release_id, source_sha256, uploaded);";

/* migrations[v - 1] takes a database of version v - 1 to version v. */
static const char *const migrations[] = {schema_v1, schema_v2, schema_v3, schema_v4};

#define PG_SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

static fota_err_t read_version(pg_conn_t *c, int *version)
{
    PGresult *res = PQexec(c->pq, "SELECT version FROM schema_version WHERE one = 1");
    fota_err_t err = PQresultStatus(res) == PGRES_TUPLES_OK
                         ? FOTA_OK
                         : pg_fail(c, res, "read the schema version");
    *version = err == FOTA_OK && PQntuples(res) == 1 ? (int)pg_col_int(res, 0, 0) : 0;
    PQclear(res);
    return err;
}

static fota_err_t write_version(pg_conn_t *c, int version)
{
    char text[16];
    snprintf(text, sizeof text, "%d", version);
    const char *values[] = {text};
    PGresult *res = PQexecParams(c->pq,
                                 "INSERT INTO schema_version(one, version) VALUES(1, $1)"
                                 " ON CONFLICT(one) DO UPDATE SET version = excluded.version",
                                 1, NULL, values, NULL, NULL, 0);
    fota_err_t err = PQresultStatus(res) == PGRES_COMMAND_OK
                         ? FOTA_OK
                         : pg_fail(c, res, "set the schema version");
    PQclear(res);
    return err;
}

/* The steps from `version` to PG_SCHEMA_VERSION, inside the caller's transaction. */
static fota_err_t migrate(pg_conn_t *c, int version)
{
    if (version > PG_SCHEMA_VERSION) {
        FOTAD_ERROR("store: database schema %d is newer than this fotad (%d)", version,
                    PG_SCHEMA_VERSION);
        return FOTA_ERR_UNSUPPORTED;
    }
    fota_err_t err = FOTA_OK;
    for (int v = version + 1; err == FOTA_OK && v <= PG_SCHEMA_VERSION; v++) {
        err = pg_exec(c, migrations[v - 1], "migrate the schema");
        if (err == FOTA_OK) {
            FOTAD_INFO("store: database schema %s version %d", version > 0 ? "migrated to" : "at",
                       v);
        }
    }
    return err == FOTA_OK && version < PG_SCHEMA_VERSION ? write_version(c, PG_SCHEMA_VERSION)
                                                         : err;
}

fota_err_t pg_schema_init(pg_conn_t *c)
{
    fota_err_t err = pg_txn_begin(c);
    if (err == FOTA_OK) {
        err = pg_exec(c, "SELECT pg_advisory_xact_lock(" PG_SCHEMA_LOCK ")", "lock the schema");
    }
    if (err == FOTA_OK) {
        err = pg_exec(c,
                      "CREATE TABLE IF NOT EXISTS schema_version(one SMALLINT PRIMARY KEY"
                      " CHECK(one = 1), version INTEGER NOT NULL)",
                      "create the schema version table");
    }
    int version = 0;
    if (err == FOTA_OK) {
        err = read_version(c, &version);
    }
    if (err == FOTA_OK) {
        err = migrate(c, version);
    }
    return pg_txn_end(c, err);
}
