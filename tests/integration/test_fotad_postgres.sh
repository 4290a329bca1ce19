#!/usr/bin/env bash
# test_fotad_postgres.sh - fotad with its store in PostgreSQL (--database), against a real
# PostgreSQL 15 server this test starts (tests/support/pg.sh: a cluster of its own in a
# temporary directory, on a Unix socket, as a user other than root). Covers: a release uploaded
# and assigned, an emulated ESP32 (fota-device, the real agent) updated to it and seen confirmed,
# the rows in PostgreSQL and no SQLite file made; fotad restarted and the device's state, the
# release and the assignment kept; PostgreSQL stopped under a running fotad (device requests get
# 503 store_unavailable with Retry-After: 5, the admin API too, /healthz still answers) and
# started again (fotad serves again without a restart); two fotad started at the same moment on
# one empty database both come up (the migration runs once, under its lock) and work as one server
# with no shared directory: an upload and an assignment through one are served by the other (the
# blob fetched from the database into its own cache; a delta likewise), a nonce used on one is a
# replay on the other, each node's /metrics shows the same cluster-wide gauges from the database
# and its own request counters, a rollout's rate limit counts the starts of both nodes, one node
# holds the periodic lease and the other takes it over when it is killed.
# Run by ctest as: bash test_fotad_postgres.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotad-postgres
source "$(dirname "$0")/../support/pg.sh"
[ -x "$BUILD/fota-device" ] && [ -x "$BUILD/fota-flash" ] || fail "fota-device/fota-flash not built"

TWIN_PIDS=()
cleanup() {
    local p
    for p in "${TWIN_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    pg_cluster_stop
    t_cleanup
}
trap cleanup EXIT

psql_do() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

pg_cluster_start || fail "the PostgreSQL server did not start"
psql_do "$PG_URI" -c "CREATE DATABASE fotad" -c "CREATE DATABASE twin" || fail "createdb"
DB=$(pg_uri fotad)

PRODUCT=inv-5k
make_keys
make_image 1.0.0 "$W/v1.bin" 100K
make_image 2.0.0 "$W/v2.bin" 100K
R2=$(make_bundle "$W/v2.bin" "$PRODUCT" 2.0.0 "$W/v2.bundle")

# device ID: run the emulated device in $W/ID.flash (chain mode) until it settles.
device() {
    local id=$1
    DEV_RC=0
    "$BUILD/fota-device" run "$W/$id.flash" --server "$URL" --id "$id" --master "$W/master" \
        --release-key "$W/release.pub" --product "$PRODUCT" --mode chain --timeout 60 \
        >"$W/$id.out" 2>"$W/$id.err" || DEV_RC=$?
    check_sanitizer "$W/$id.err"
}

# --- an update through fotad on PostgreSQL -------------------------------------------------------
fotad_start --database "$DB"
grep -q "store: PostgreSQL database fotad on $PG_HOST" "$W/fotad.log" || fail "not on PostgreSQL"
grep -q "store PostgreSQL" "$W/fotad.log" || fail "the startup line does not name the store"
admin POST /api/admin/releases --data-binary @"$W/v2.bundle"
expect 201 "upload 2.0.0"
admin POST /api/admin/assignments -d "{\"release\":\"$R2\",\"product\":\"$PRODUCT\"}"
expect 201 "assign 2.0.0"
"$BUILD/fota-flash" create "$W/dev-1.flash" --image "$W/v1.bin" >/dev/null || fail "flash dev-1"
device dev-1
[ "$DEV_RC" = 0 ] || { cat "$W/dev-1.out" "$W/dev-1.err" >&2; fail "update exit $DEV_RC"; }
grep -q "running 2.0.0, outcome: FOTA_OK" "$W/dev-1.out" ||
    { cat "$W/dev-1.out" >&2; fail "dev-1 does not run 2.0.0"; }
device_seen dev-1 confirmed 2.0.0
[ ! -e "$W/data/fotad.db" ] || fail "fotad made a SQLite database beside PostgreSQL"
[ "$(psql_do "$DB" -tAc "SELECT state || ' ' || version FROM devices WHERE id = 'dev-1'")" = \
    "confirmed 2.0.0" ] || fail "the device's row is not in PostgreSQL"
CONFIRMED="SELECT count(*) FROM reports WHERE device = 'dev-1' AND state = 'confirmed'"
[ "$(psql_do "$DB" -tAc "$CONFIRMED")" = 1 ] || fail "the report is not in PostgreSQL"

# --- fotad restarted: everything kept ------------------------------------------------------------
fotad_stop
fotad_start --database "$DB"
device_seen dev-1 confirmed 2.0.0
body_has "\"release\":\"$R2\""
admin GET /api/admin/assignments
expect 200 "assignments"
body_has "\"release\":\"$R2\""
device dev-1
[ "$DEV_RC" = 0 ] || { cat "$W/dev-1.out" "$W/dev-1.err" >&2; fail "second run exit $DEV_RC"; }
grep -q "state downloading" "$W/dev-1.out" && fail "downloaded again after the restart"

# --- PostgreSQL restarts under a running fotad ---------------------------------------------------
CHECK="/api/inverter/fota/check?version=2.0.0&hw=$PRODUCT"
pg_ctl_dir "$PG_DIR" stop >/dev/null || fail "pg_ctl stop"
dev dev-1 "$CHECK" --show Retry-After
error_is 503 store_unavailable "a check while PostgreSQL is down"
grep -qx "Retry-After: 5" "$W/body" || { cat "$W/body" >&2; fail "no Retry-After: 5"; }
admin GET /api/admin/devices/dev-1
error_is 503 store_unavailable "an admin read while PostgreSQL is down"
raw GET /healthz
expect 200 "healthz while PostgreSQL is down"
grep -q "error store: " "$W/fotad.log" || fail "the store's failure is not logged"
pg_ctl_dir "$PG_DIR" start >/dev/null || fail "pg_ctl start"
dev dev-1 "$CHECK"
expect 204 "a check once PostgreSQL is back"
device_seen dev-1 confirmed 2.0.0
kill -0 "$FOTAD_PID" || fail "fotad died"
fotad_stop

# --- two fotad at the same moment on one empty database -------------------------------------------
TWIN=$(pg_uri twin)
for n in a b; do
    rm -f "$W/twin-$n.port"
    "$BUILD/fotad" --port 0 --port-file "$W/twin-$n.port" --data-dir "$W/twin-$n" \
        --release-key "$W/release.pub" --master-secret-file "$W/master" \
        --admin-token-file "$W/token" --threads 2 --database "$TWIN" --rollout-tick 1 \
        --log-level info 2>"$W/twin-$n.log" &
    TWIN_PIDS+=($!)
done
for i in $(seq 1 200); do
    [ -s "$W/twin-a.port" ] && [ -s "$W/twin-b.port" ] && break
    for p in "${TWIN_PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null || { cat "$W"/twin-*.log >&2; fail "a fotad exited at startup"; }
    done
    sleep 0.05
done
[ -s "$W/twin-a.port" ] && [ -s "$W/twin-b.port" ] || { cat "$W"/twin-*.log >&2; fail "no port"; }
[ "$(psql_do "$TWIN" -tAc "SELECT version FROM schema_version")" = 4 ] || fail "schema version"
URL="http://127.0.0.1:$(cat "$W/twin-a.port")"
admin POST /api/admin/releases --data-binary @"$W/v2.bundle"
expect 201 "upload through the first"
URL_A=$URL
# The second node's data directory holds no object (it shares none with the first).
[ -z "$(find "$W/twin-b/objects" -type f)" ] || fail "the second node had objects already"
URL_B="http://127.0.0.1:$(cat "$W/twin-b.port")"
URL=$URL_B
admin GET "/api/admin/releases/$R2"
expect 200 "the release seen through the second"

# --- two fotad as one server: no shared directory, one database ------------------------------------
# An assignment made through one node is what the other offers.
URL=$URL_A
admin POST /api/admin/assignments -d "{\"release\":\"$R2\",\"product\":\"$PRODUCT\"}"
expect 201 "assign through the first"
URL=$URL_B
dev twin-dev "/api/inverter/fota/check?version=1.0.0&hw=$PRODUCT"
expect 200 "the offer through the second"
body_has "$R2"
# The blob through the second node: its objects were fetched from the database when it first
# needed the release, checked against their SHA-256 and cached; the bytes are the release's.
dev twin-dev "/api/inverter/fota/blob/$R2" --range "bytes=0-99" --out "$W/twin.part"
expect 206 "a blob Range through the second node"
cmp -s "$W/twin.part" <(tail -c +257 "$W/v2.bundle" | head -c 100) || fail "blob bytes differ"
grep -q "fetched from the database" "$W/twin-b.log" || fail "the second node did not fetch"
[ -n "$(find "$W/twin-b/objects" -type f)" ] || fail "the second node cached nothing"
# A delta uploaded through the first node is offered and served by the second: its row from the
# database, its blob fetched from there into the second node's cache.
URL=$URL_A
DELTA=$("$BUILD/fotactl" release delta --from "$W/v1.bin" --release "$W/v2.bundle" \
    --key "$W/release.pem" -o "$W/d.bundle" 2>>"$W/mk.err") || fail "fotactl release delta"
admin POST /api/admin/releases --data-binary @"$W/d.bundle"
expect 201 "a delta through the first node"
URL=$URL_B
SRC=$(tail -c 32 "$W/v1.bin" | od -An -tx1 -v | tr -d ' \n')
dev twin-dev "/api/inverter/fota/check?version=1.0.0&hw=$PRODUCT&image=$SRC"
expect 200 "a check with image= through the second node"
body_has "\"delta\":\"$DELTA\""
dev twin-dev "/api/inverter/fota/manifest?release=$DELTA" --out "$W/twin-d.manifest"
expect 200 "the delta manifest through the second node"
cmp -s "$W/twin-d.manifest" <(head -c 320 "$W/d.bundle") || fail "delta manifest differs"
dev twin-dev "/api/inverter/fota/blob/$DELTA" --out "$W/twin-d.blob"
expect 200 "the delta blob through the second node"
cmp -s "$W/twin-d.blob" <(tail -c +321 "$W/d.bundle") || fail "delta blob differs"
# A nonce used on one node is a replay on the other.
URL=$URL_A
dev twin-dev "/api/inverter/fota/check?version=1.0.0&hw=$PRODUCT" --nonce 0123456789abcdef
expect 200 "a nonce's first use, on the first node"
URL=$URL_B
dev twin-dev "/api/inverter/fota/check?version=1.0.0&hw=$PRODUCT" --nonce 0123456789abcdef
expect 401 "the same nonce on the second node"
body_has "replayed nonce"
# /metrics: the gauges come from the shared database (the same on both nodes), the request
# counters are each node's own (the replayed check was answered by the second only).
for n in A B; do
    URL=$(eval echo "\$URL_$n")
    admin GET /metrics
    expect 200 "metrics of node $n"
    if command -v promtool >/dev/null; then
        promtool check metrics <"$W/body" >"$W/promtool.out" 2>&1 && [ ! -s "$W/promtool.out" ] ||
            { cat "$W/promtool.out" >&2; fail "promtool on node $n's metrics"; }
    fi
    grep -E '^fota_(devices|devices_by_version|update_results)\{' "$W/body" >"$W/gauges.$n"
    grep -F 'route="/api/inverter/fota/check",code="401"}' "$W/body" >"$W/replays.$n" || true
done
grep -qx 'fota_devices_by_version{version="1.0.0"} 1' "$W/gauges.A" ||
    { cat "$W/gauges.A" >&2; fail "node A's gauges lack twin-dev"; }
cmp -s "$W/gauges.A" "$W/gauges.B" || { cat "$W"/gauges.* >&2; fail "the nodes' gauges differ"; }
[ ! -s "$W/replays.A" ] && grep -q ' 1$' "$W/replays.B" ||
    { cat "$W"/replays.* >&2; fail "the 401 is not counted by the node that answered it alone"; }
# A rollout's rate limit holds for the cluster, not per node: 16 members check at the same moment,
# half through each node, and exactly the limit (5 a minute) are started and offered the release.
RATED=()
for i in $(seq -w 1 16); do
    RATED+=("\"rate-$i\"")
    dev "rate-$i" "/api/inverter/fota/check?version=1.0.0&hw=$PRODUCT"
done
URL=$URL_A
admin POST /api/admin/rollouts -d "{\"release\":\"$R2\",\"devices\":[$(
    IFS=,
    echo "${RATED[*]}"
)],\"stages\":[{\"percent\":100}],\"rate\":{\"per_minute\":5}}"
expect 201 "a rollout of 16 devices, 5 starts a minute"
RO=$(json_num id)
admin POST "/api/admin/rollouts/$RO/start"
expect 200 "start it"
sleep 2.5 # the other node learns of the started rollout at its next tick (1 s here)
CHECKERS=()
for i in $(seq -w 1 16); do
    node=$URL_A
    [ $((10#$i % 2)) -eq 0 ] && node=$URL_B
    "$BUILD/fota-devreq" --url "$node" --device "rate-$i" --master "$W/master" \
        --target "/api/inverter/fota/check?version=1.0.0&hw=$PRODUCT" \
        >"$W/rate-$i.out" 2>"$W/rate-$i.err" &
    CHECKERS+=($!)
done
for p in "${CHECKERS[@]}"; do
    wait "$p" || fail "a rate-limited check failed"
done
OFFERED=$(cat "$W"/rate-*.out | grep -cx 200 || true)
HELD=$(cat "$W"/rate-*.out | grep -cx 204 || true)
[ "$OFFERED" = 5 ] && [ "$HELD" = 11 ] ||
    fail "the cluster offered $OFFERED and held back $HELD of 16, wanted 5 and 11"
STARTED=$(psql_do "$TWIN" -tAc "SELECT count(*) FROM rollout_members WHERE rollout = $RO AND started > 0")
[ "$STARTED" = 5 ] || fail "$STARTED members started in the store, wanted 5"
echo "ok: rate limit across two nodes: 5 of 16 started"

# The periodic work runs on one node: one lease holder, the same over three ticks; when it is
# killed the other takes over within two ticks and the margin (1 s tick: 5 s).
holder() { psql_do "$TWIN" -tAc "SELECT holder FROM leases WHERE name = 'periodic'"; }
H1=$(holder)
[ -n "$H1" ] || fail "no node holds the periodic lease"
sleep 3
[ "$(holder)" = "$H1" ] || fail "the periodic lease changed hands while its holder ran"
HOLDER_PID=$(echo "$H1" | cut -d: -f2)
case " ${TWIN_PIDS[*]} " in *" $HOLDER_PID "*) ;; *) fail "lease holder $H1 is neither fotad" ;; esac
kill -KILL "$HOLDER_PID"
wait "$HOLDER_PID" 2>/dev/null || true
for i in $(seq 1 80); do
    H2=$(holder)
    [ "$H2" != "$H1" ] && break
    sleep 0.1
done
[ "$H2" != "$H1" ] || fail "nobody took the periodic lease over within 8 s"
echo "ok: periodic lease $H1 -> $H2 after SIGKILL"
SURVIVORS=()
for p in "${TWIN_PIDS[@]}"; do
    [ "$p" = "$HOLDER_PID" ] || SURVIVORS+=("$p")
done
TWIN_PIDS=("${SURVIVORS[@]}")
for p in "${TWIN_PIDS[@]}"; do
    kill -TERM "$p"
    wait "$p" || fail "a twin fotad exited with $? after SIGTERM"
done
TWIN_PIDS=()
check_sanitizer "$W/twin-a.log" "$W/twin-b.log"
pass
