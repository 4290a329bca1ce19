#!/bin/bash
# cluster.sh - what fotad past one machine costs and carries (docs/SCALING.md), side by side in
# one run on loopback:
#
# 1. Signed check requests per second (bench_load --kind check: 64 keep-alive connections, 64
#    devices, each request with a fresh nonce and MAC; the product has an assignment, so every
#    answer is an offer) against: one fotad on SQLite; one fotad on PostgreSQL; two and three
#    fotad on one PostgreSQL database behind nginx (scripts/lib/cluster.sh: hashed on the device
#    id). On this 2-core machine every server shares the cores with the client and with each
#    other, so the rows say what each set-up costs per request, not how far it scales on
#    machines of its own: srv_us = CPU microseconds per request of everything serving it
#    (fotad processes, PostgreSQL, nginx: /proc/PID/stat).
# 2. Blob bytes per second, chain mode (bench_load --kind blob), one 1,056-byte record per Range
#    request, and the whole 1.1 MB blob per request (what a chain-mode device asks for, 8
#    connections): fotad sending the bytes itself against nginx sending them by
#    X-Accel-Redirect with sendfile after fotad's checks (--accel-redirect).
# 3. What one device update writes to PostgreSQL: 200 emulated ESP32s (fota-sim, chain mode, a
#    64 KB image) update against one fotad on PostgreSQL; transactions, rows written and WAL
#    bytes (pg_stat_database, pg_current_wal_lsn) per device, the checks before it included.
#
# Usage: bench/cluster.sh [--quick] [--no-doc] [BUILD_DIR]   (quick: 1 s runs, 50 devices)
source "$(dirname "$0")/lib.sh" cluster "$@"
bench_quiet
bench_need fotad fotactl fota-image fota-sim bench_load
source "$BENCH_ROOT/tests/support/pg.sh"
source "$BENCH_ROOT/scripts/lib/cluster.sh"
[ -x "$PG_BIN/postgres" ] && [ -x "$CL_NGINX" ] ||
    bench_fail "PostgreSQL 15 or nginx missing (scripts/install-deps)"
seconds=5
fleet=200
[ "$QUICK" = 1 ] && seconds=1 && fleet=50
bench_on_exit "cl_stop; pg_cluster_stop"

pg_cluster_start || bench_fail "PostgreSQL did not start"
psql_q() { "$PG_BIN/psql" -X -tA "$@"; }
for db in single pair trio fleet; do
    psql_q "$PG_URI" -q -c "CREATE DATABASE $db" || bench_fail "createdb $db"
done

PRODUCT=bench
"$BUILD/fotactl" keygen --private "$W/release.pem" --public "$W/release.pub" >/dev/null
head -c 32 /dev/urandom >"$W/master"
head -c 24 /dev/urandom | base64 >"$W/token"
chmod 600 "$W/master" "$W/token"
"$BUILD/fota-image" create --version 1.0.0 --size 64K -o "$W/v1.bin" >/dev/null
"$BUILD/fota-image" create --version 2.0.0 --size 1068032 -o "$W/big.bin" >/dev/null
"$BUILD/fota-image" create --version 2.0.0 --size 64K -o "$W/v2.bin" >/dev/null
REL=$("$BUILD/fotactl" release create --image "$W/big.bin" --key "$W/release.pem" \
    --product "$PRODUCT" -o "$W/big.bundle" 2>/dev/null)
SMALL=$("$BUILD/fotactl" release create --image "$W/v2.bin" --key "$W/release.pem" \
    --product "$PRODUCT-fleet" -o "$W/v2.bundle" 2>/dev/null)
CHUNKS=1043
BLOB=$((1068032 + 32 * CHUNKS)) # the whole blob: what a chain-mode device asks for at once

ctl() { "$BUILD/fotactl" "$@" --token-file "$W/token" >/dev/null || bench_fail "fotactl $*"; }
publish() { # URL BUNDLE RELEASE PRODUCT
    ctl release upload "$2" --server "$1"
    ctl assign "$3" --product "$4" --server "$1"
}

# CPU ticks used so far by the processes serving (fotad nodes, PostgreSQL's, nginx's).
serving_ticks() {
    local p t=0
    for p in "${CL_PID[@]}" $(pgrep -u "$(pg_os_user)" postgres || true) \
        ${CL_NGINX_PID:+$CL_NGINX_PID $(pgrep -P "$CL_NGINX_PID" || true)}; do
        [ -n "$p" ] || continue
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

# load NAME URL KIND [bench_load args]: one run; its "key value" output in $W/NAME.out and the
# serving processes' CPU microseconds per request in $W/NAME.us.
load() {
    local name=$1 url=$2 kind=$3 t0 t1
    shift 3
    t0=$(serving_ticks)
    "$BUILD/bench_load" --url "$url" --kind "$kind" --release "$REL" --chunks "$CHUNKS" \
        --record-size 1056 --master "$W/master" --connections 64 --seconds "$seconds" \
        --warmup 1 --hw "$PRODUCT" --version 1.0.0 "$@" >"$W/$name.out" ||
        bench_fail "bench_load $name"
    t1=$(serving_ticks)
    awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$(kv "$W/$name.out" requests)" \
        -v s="$seconds" 'BEGIN { printf "%.0f", (n > 0 ? d / hz * 1e6 / (n * (s + 1) / s) : 0) }' \
        >"$W/$name.us"
}

# 1 and 2: the set-ups one after the other, each stopped before the next.
mkdir -p "$W/sqlite"
bench_fotad -- --threads 4 --log-level warn
publish "http://127.0.0.1:$PORT" "$W/big.bundle" "$REL" "$PRODUCT"
CL_PID[sqlite]=$FOTAD_PID
load sqlite "http://127.0.0.1:$PORT" check
kill -TERM "$FOTAD_PID"
wait "$FOTAD_PID" 2>/dev/null || true
unset 'CL_PID[sqlite]'

cl_node s1 "$(pg_uri single)" --threads 4 --log-level warn || bench_fail "fotad s1"
publish "http://127.0.0.1:${CL_PORT[s1]}" "$W/big.bundle" "$REL" "$PRODUCT"
load pg1 "http://127.0.0.1:${CL_PORT[s1]}" check
load blob_fotad "http://127.0.0.1:${CL_PORT[s1]}" blob
load whole_fotad "http://127.0.0.1:${CL_PORT[s1]}" blob --chunks 1 --record-size "$BLOB" \
    --connections 8
cl_stop
cl_node s2 "$(pg_uri single)" --threads 4 --log-level warn "$(cl_accel s2)" ||
    bench_fail "fotad s2"
cl_nginx s2 || bench_fail "nginx"
load blob_nginx "$CL_URL" blob
load whole_nginx "$CL_URL" blob --chunks 1 --record-size "$BLOB" --connections 8
cl_stop

for set in "pair p1 p2" "trio t1 t2 t3"; do
    read -r db nodes <<<"$set"
    for n in $nodes; do
        cl_node "$n" "$(pg_uri "$db")" --threads 4 --log-level warn "$(cl_accel "$n")" ||
            bench_fail "fotad $n"
    done
    # shellcheck disable=SC2086
    cl_nginx $nodes || bench_fail "nginx"
    publish "$CL_URL" "$W/big.bundle" "$REL" "$PRODUCT"
    load "$db" "$CL_URL" check
    cl_stop
done

# 3: what a device update writes to PostgreSQL.
cl_node f1 "$(pg_uri fleet)" --threads 4 --log-level warn || bench_fail "fotad f1"
publish "http://127.0.0.1:${CL_PORT[f1]}" "$W/v2.bundle" "$SMALL" "$PRODUCT-fleet"
# the statistics of the set-up's own sessions in first: fotad restarted, an idle moment
cl_stop
sleep 1
cl_node f1 "$(pg_uri fleet)" --threads 4 --log-level warn || bench_fail "fotad f1"
stats() {
    psql_q "$(pg_uri fleet)" -c "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted,
        pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') FROM pg_stat_database
        WHERE datname = 'fleet'" | tr '|' ' '
}
read -r x0 r0 w0 <<<"$(stats)"
"$BUILD/fota-sim" run --server "http://127.0.0.1:${CL_PORT[f1]}" --devices "$fleet" \
    --concurrency 32 --product "$PRODUCT-fleet" --image "$W/v1.bin" \
    --release-key "$W/release.pub" --master-secret-file "$W/master" --check-interval 1000 \
    --no-progress --timeout 300 --json "$W/fleet.json" >"$W/fleet.txt" 2>&1 ||
    { cat "$W/fleet.txt" >&2; bench_fail "fota-sim"; }
# fotad's connections end with it, and their statistics reach pg_stat_database as they do
cl_stop
sleep 1
read -r x1 r1 w1 <<<"$(stats)"
requests=$(grep -o '"requests":[0-9]*' "$W/fleet.json" | head -n 1 | cut -d: -f2)

per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
{
    printf '%-34s %8s %8s %8s %8s %8s\n' "check requests, signed" rps p50_ms p99_ms srv_us vs_sqlite
    base=$(kv "$W/sqlite.out" rps)
    for row in "sqlite:one fotad, SQLite" "pg1:one fotad, PostgreSQL" \
        "pair:two fotad + nginx, PostgreSQL" "trio:three fotad + nginx, PostgreSQL"; do
        f=${row%%:*}
        printf '%-34s %8.0f %8s %8s %8s %8s\n' "${row#*:}" "$(kv "$W/$f.out" rps)" \
            "$(kv "$W/$f.out" p50_ms)" "$(kv "$W/$f.out" p99_ms)" "$(cat "$W/$f.us")" \
            "$(ratio "$(kv "$W/$f.out" rps)" "$base" 2)"
    done
    echo
    printf '%-34s %8s %8s %8s %8s\n' "blob: 1 record per Range, or all" rps "MB/s" p50_ms srv_us
    for row in "blob_fotad:fotad sends the bytes" "blob_nginx:nginx sends them (X-Accel)" \
        "whole_fotad:whole blob, fotad, 8 conns" "whole_nginx:whole blob, nginx (X-Accel)"; do
        f=${row%%:*}
        printf '%-34s %8.0f %8s %8s %8s\n' "${row#*:}" "$(kv "$W/$f.out" rps)" \
            "$(kv "$W/$f.out" body_mb_s)" "$(kv "$W/$f.out" p50_ms)" "$(cat "$W/$f.us")"
    done
    echo
    echo "one device update on PostgreSQL ($fleet devices, chain mode, 64 KB; $requests requests):"
    echo "  transactions per device $(per $((x1 - x0)) "$fleet"), rows written per device" \
        "$(per $((r1 - r0)) "$fleet"), WAL bytes per device $(per $((w1 - w0)) "$fleet")"
    echo "$(nproc) cores shared by client, servers and PostgreSQL; PostgreSQL 15 (fsync off, as" \
        "tests/support/pg.sh starts it),"
    echo "nginx $("$CL_NGINX" -v 2>&1 | sed 's|.*/||'); srv_us: CPU microseconds per request of" \
        "fotad, PostgreSQL and nginx together"
} >"$W/table"
BENCH_COMMAND="bench/cluster.sh BUILD_DIR"
bench_report "Past one machine: SQLite, PostgreSQL, nodes behind nginx" "$W/table"
