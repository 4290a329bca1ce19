/*
 * store_pg_sql.c - the SQL of every statement of the PostgreSQL backend (store_pg_int.h lists
 * them), in one place beside the schema (store_pg_schema.c) whose columns they name. Every value
 * is a parameter ($1, $2, ...): store_pg.c prepares each statement once per connection and binds
 * the values when it runs, so no SQL is ever built from a value. The SQLite backend's statements
 * (store_sqlite_ops.c) say the same things; the differences are PostgreSQL's: ON CONFLICT DO
 * NOTHING for INSERT OR IGNORE, GREATEST for max, string_agg for group_concat, RETURNING for
 * last_insert_rowid, releases.seq for rowid.
 */
#include "store_pg_int.h"

#include "store_cols.h"

/* A device row and its tags, sorted, joined by ','. */
#define DEV_COLS                                                                                   \
    DEV_BASE_COLS ",(SELECT string_agg(tag,',' ORDER BY tag) FROM device_tags"                     \
                  " WHERE device=devices.id)"
/* The console's filters: $1 search (part of the id, any case), $2 product, $3 version, $4 state,
 * $5 tag, $6 errors only; an empty filter (or 0) passes every device. */
#define DEV_FILTER                                                                                 \
    "($1::text='' OR strpos(lower(id),lower($1::text))>0) AND ($2::text='' OR product=$2) AND"     \
    " ($3::text='' OR version=$3) AND ($4::text='' OR state=$4) AND ($5::text='' OR id IN"         \
    " (SELECT device FROM device_tags WHERE tag=$5)) AND ($6::int=0 OR last_error<>0)"
#define RO_INSERT_PARAMS                                                                           \
    "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,"  \
    "$26,$27"
#define RO_UPDATE_PARAMS                                                                           \
    "$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26," \
    "$27,$28"

/* The audit rows of a listing (store.h's fotad_audit_query_t), ordered by seq. */
#define AUDIT_WHERE                                                                                \
    " FROM audit WHERE seq<$1 AND seq>$2 AND ($3='' OR token=$3) AND ($4='' OR action=$4)"         \
    " AND time>=$5 ORDER BY seq"

const char *const pg_sql[PG_STMT_COUNT] = {
    [PG_REL_INSERT] = "INSERT INTO releases(" REL_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,"
                      "$11,$12,$13,$14) ON CONFLICT(id) DO NOTHING",
    [PG_REL_GET] = "SELECT " REL_COLS " FROM releases WHERE id=$1",
    [PG_REL_LIST] = "SELECT " REL_COLS " FROM releases ORDER BY uploaded DESC, seq DESC",
    [PG_REL_SET_CHIP] = "UPDATE releases SET chip=$2 WHERE id=$1 AND chip IS NULL",
    [PG_DELTA_INSERT] = "INSERT INTO deltas(" DELTA_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,"
                        "$11,$12) ON CONFLICT(id) DO NOTHING",
    [PG_DELTA_GET] = "SELECT " DELTA_COLS " FROM deltas WHERE id=$1",
    [PG_DELTA_FIND] = "SELECT " DELTA_COLS " FROM deltas WHERE release_id=$1 AND source_sha256=$2"
                      " ORDER BY uploaded DESC, seq DESC LIMIT 1",
    [PG_DELTA_LIST] = "SELECT " DELTA_COLS " FROM deltas WHERE release_id=$1"
                      " ORDER BY uploaded DESC, seq DESC",
    [PG_PROD_INSERT] =
        "INSERT INTO products(" PROD_COLS ") VALUES($1,$2,$3) ON CONFLICT(id) DO NOTHING",
    [PG_PROD_GET] = "SELECT " PROD_COLS " FROM products WHERE id=$1",
    [PG_PROD_LIST] = "SELECT " PROD_COLS " FROM products ORDER BY id",
    [PG_DEV_TOUCH] = "INSERT INTO devices(id,first_seen,last_seen) VALUES($1,$2,$2)"
                     " ON CONFLICT(id) DO UPDATE SET"
                     " last_seen=GREATEST(devices.last_seen,excluded.last_seen)",
    [PG_DEV_CHECK] = "INSERT INTO devices(id,product,version,offered,first_seen,last_seen)"
                     " VALUES($1,$2,$3,$4,$5,$5) ON CONFLICT(id) DO UPDATE SET"
                     " product=excluded.product, version=excluded.version,"
                     " offered=excluded.offered,"
                     " last_seen=GREATEST(devices.last_seen,excluded.last_seen)",
    [PG_DEV_REPORT] =
        "INSERT INTO devices(id,version,state,release_id,done,total,last_error,first_seen,"
        "last_seen) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$8) ON CONFLICT(id) DO UPDATE SET"
        " version=CASE WHEN excluded.version<>'' THEN excluded.version ELSE devices.version END,"
        " state=excluded.state, release_id=excluded.release_id, done=excluded.done,"
        " total=excluded.total, last_error=excluded.last_error,"
        " last_seen=GREATEST(devices.last_seen,excluded.last_seen)",
    [PG_DEV_GET] = "SELECT " DEV_COLS " FROM devices WHERE id=$1",
    [PG_DEV_LIST] = "SELECT " DEV_COLS " FROM devices ORDER BY id",
    [PG_DEV_CENSUS] = "SELECT state, version, release_id, count(*) FROM devices"
                      " GROUP BY state, version, release_id",
    [PG_REPORT_INSERT] =
        "INSERT INTO reports(device," REPORT_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)",
    [PG_REPORT_LIST] =
        "SELECT " REPORT_COLS " FROM reports WHERE device=$1 ORDER BY seq DESC LIMIT $2",
    [PG_ASSIGN_SET] = "INSERT INTO assignments(kind,target,release_id,updated) VALUES($1,$2,$3,$4)"
                      " ON CONFLICT(kind,target) DO UPDATE SET release_id=excluded.release_id,"
                      " updated=excluded.updated",
    [PG_ASSIGN_GET] =
        "SELECT kind,target,release_id,updated FROM assignments WHERE kind=$1 AND target=$2",
    [PG_ASSIGN_LIST] =
        "SELECT kind,target,release_id,updated FROM assignments ORDER BY kind,target",
    [PG_LEGACY_GET] = "SELECT " LEGACY_COLS " FROM legacy WHERE one=1",
    [PG_LEGACY_SET] = "INSERT INTO legacy(one," LEGACY_COLS ") VALUES(1,$1,$2,$3,$4)"
                      " ON CONFLICT(one) DO UPDATE SET product=excluded.product,"
                      " bridge_release=excluded.bridge_release, mac_field=excluded.mac_field,"
                      " updated=excluded.updated",
    [PG_LEGACY_CLEAR] = "DELETE FROM legacy",
    [PG_ENROLL_INSERT] = "INSERT INTO enrollments(" ENROLL_COLS
                         ") VALUES($1,$2,$3,$4,$5,$6,$7) ON CONFLICT(device_id) DO NOTHING",
    [PG_ENROLL_GET] = "SELECT " ENROLL_COLS " FROM enrollments WHERE device_id=$1",
    [PG_ENROLL_MOVE] =
        "UPDATE enrollments SET state=$3, decided=$4 WHERE device_id=$1 AND state=$2",
    [PG_ENROLL_MOVE_ALL] = "UPDATE enrollments SET state=$2, decided=$3 WHERE state=$1",
    [PG_ENROLL_DELETE] = "DELETE FROM enrollments WHERE device_id=$1",
    [PG_ENROLL_LIST] = "SELECT " ENROLL_COLS " FROM enrollments ORDER BY device_id",
    [PG_ENROLL_LIST_STATE] =
        "SELECT " ENROLL_COLS " FROM enrollments WHERE state=$1 ORDER BY device_id",
    [PG_ENROLL_COUNT] = "SELECT count(*) FROM enrollments WHERE state=$1",
    /* Tag changes take turns (the count check must see every other change committed); reads of
     * the table go on beside them. */
    [PG_TAG_LOCK] = "LOCK TABLE device_tags IN SHARE ROW EXCLUSIVE MODE",
    [PG_TAG_ADD] = "INSERT INTO device_tags(device,tag) VALUES($1,$2) ON CONFLICT DO NOTHING",
    [PG_TAG_REMOVE] = "DELETE FROM device_tags WHERE device=$1 AND tag=$2",
    [PG_TAG_COUNT] = "SELECT count(*) FROM device_tags WHERE device=$1",
    [PG_DEV_LIST_TAGGED] = "SELECT " DEV_COLS " FROM devices WHERE id IN"
                           " (SELECT device FROM device_tags WHERE tag=$1) ORDER BY id",
    [PG_RO_INSERT] = "INSERT INTO rollouts(" RO_COLS ") VALUES(" RO_INSERT_PARAMS ") RETURNING id",
    [PG_RO_UPDATE] = "UPDATE rollouts SET (" RO_COLS ")=(" RO_UPDATE_PARAMS ") WHERE id=$1",
    [PG_RO_GET] = "SELECT id," RO_COLS " FROM rollouts WHERE id=$1",
    [PG_RO_LOCK] = "SELECT 1 FROM rollouts WHERE id=$1 FOR UPDATE",
    [PG_RO_LIST] = "SELECT id," RO_COLS " FROM rollouts ORDER BY id DESC",
    [PG_STAGE_CLEAR] = "DELETE FROM rollout_stages WHERE rollout=$1",
    [PG_STAGE_INSERT] = "INSERT INTO rollout_stages(rollout," STAGE_COLS
                        ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
    [PG_STAGE_LIST] = "SELECT " STAGE_COLS " FROM rollout_stages WHERE rollout=$1 ORDER BY idx",
    [PG_MEMBER_PUT] = "INSERT INTO rollout_members(" MEMBER_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7)"
                      " ON CONFLICT(rollout,device) DO UPDATE SET stage=excluded.stage,"
                      " status=excluded.status, started=excluded.started,"
                      " last_activity=excluded.last_activity, reason=excluded.reason",
    [PG_MEMBER_GET] = "SELECT " MEMBER_COLS " FROM rollout_members WHERE rollout=$1 AND device=$2",
    [PG_MEMBER_LIST] =
        "SELECT " MEMBER_COLS " FROM rollout_members WHERE rollout=$1 ORDER BY device",
    [PG_MEMBER_COUNTS] = "SELECT stage,status,count(*) FROM rollout_members WHERE rollout=$1"
                         " GROUP BY stage,status",
    [PG_MEMBER_STARTS] = "SELECT count(*),COALESCE(min(started),0) FROM rollout_members"
                         " WHERE rollout=$1 AND started>0 AND started>=$2",
    [PG_MEMBER_TIME_OUT] =
        "UPDATE rollout_members SET status=6, reason='timed_out' WHERE rollout=$1"
        " AND status BETWEEN 1 AND 4 AND last_activity<=$2",
    [PG_EVENT_INSERT] = "INSERT INTO rollout_events(rollout,time,kind,text) VALUES($1,$2,$3,$4)",
    [PG_EVENT_LIST] =
        "SELECT rollout,time,kind,text FROM rollout_events WHERE rollout=$1 ORDER BY seq",
    /* A pair is new, or its old row expired before now ($4): a row comes back. */
    [PG_NONCE_CLAIM] = "INSERT INTO nonces(device,nonce,expires) VALUES($1,$2,$3)"
                       " ON CONFLICT(device,nonce) DO UPDATE SET expires=excluded.expires"
                       " WHERE nonces.expires<$4 RETURNING 1",
    [PG_NONCE_PURGE] = "DELETE FROM nonces WHERE expires<$1",
    /* The lease is free, expired before now ($4), or the holder's already: a row comes back. */
    [PG_LEASE_TAKE] = "INSERT INTO leases(name,holder,expires) VALUES($1,$2,$3)"
                      " ON CONFLICT(name) DO UPDATE SET holder=excluded.holder,"
                      " expires=excluded.expires"
                      " WHERE leases.holder=excluded.holder OR leases.expires<$4 RETURNING 1",
    [PG_OBJ_PUT] = "INSERT INTO objects(name,data) VALUES($1,$2) ON CONFLICT DO NOTHING",
    [PG_OBJ_GET] = "SELECT data FROM objects WHERE name=$1",
    [PG_TOKEN_INSERT] = "INSERT INTO tokens(" TOKEN_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7)"
                        " ON CONFLICT(id) DO NOTHING",
    [PG_TOKEN_GET] = "SELECT " TOKEN_COLS " FROM tokens WHERE id=$1",
    [PG_TOKEN_LIST] = "SELECT " TOKEN_COLS " FROM tokens ORDER BY created, id",
    [PG_TOKEN_REVOKE] = "UPDATE tokens SET revoked=$2 WHERE id=$1 AND revoked=0",
    [PG_AUDIT_INSERT] = "INSERT INTO audit(" AUDIT_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7)",
    [PG_AUDIT_LIST_NEWEST] = "SELECT seq," AUDIT_COLS AUDIT_WHERE " DESC LIMIT $6",
    [PG_AUDIT_LIST_OLDEST] = "SELECT seq," AUDIT_COLS AUDIT_WHERE " LIMIT $6",
    /* The console's filters ($1..$6 as in DEV_FILTER), then $7 after and $8 limit. */
    [PG_DEV_PAGE] = "SELECT " DEV_COLS " FROM devices WHERE " DEV_FILTER
                    " AND id>$7::text ORDER BY id LIMIT $8",
    [PG_DEV_PAGE_COUNT] = "SELECT count(*) FROM devices WHERE " DEV_FILTER,
    [PG_DEV_GROUPS] = "SELECT product,version,state,last_error,count(*),"
                      "count(*) FILTER (WHERE last_seen>=$1) FROM devices"
                      " GROUP BY product,version,state,last_error",
    [PG_OUTCOMES] = "SELECT (time-$1::bigint)/$2::bigint,state,count(*) FROM reports"
                    " WHERE time>=$1 AND state IN ('confirmed','rolled_back','error') GROUP BY 1,2",
    [PG_DEV_ERRORS] = "SELECT " DEV_COLS " FROM devices WHERE last_error<>0"
                      " ORDER BY last_seen DESC, id LIMIT $1",
};
