#!/bin/bash
# metrics.sh - what watching fotad costs its devices: device-API requests per second with
# nothing else, side by side with the same load while Prometheus scrapes GET /metrics every
# second, and while it does and the operator console is open on its overview as well (docs/CONSOLE.md:
# the page and its files and GET /api/admin/whoami once, then what server/console/app.js's overview
# view requests every 5 s, GET /api/admin/overview?bucket_s=60&buckets=60 and GET
# /api/admin/rollouts). Two kinds of device request: a chain-mode blob Range (no store access) and
# a check (the store's device row written: the census query of a scrape competes with it).
#
# The client is bench_load (64 keep-alive connections, each request signed as a device signs
# it), pinned to CPU 0 with the scraper and the console (curl); fotad --threads 2 is pinned to
# CPU 1 (taskset), as in bench/server_rps.sh. Before the runs, 1,024 devices check in, so a
# scrape's census and the console's overview have a fleet to read. The runs alternate quiet,
# scraped and watched (scraped + console), in rounds; the median round counts.
#
#   columns: rps = device responses per second quiet, scraped and watched (the rounds' range
#   below the table); /quiet = the ratio to quiet; p99 latency of each; srv_us = fotad's own CPU
#   time (user + system, /proc/PID/stat) per device response, the watchers' requests included.
#   Below the table: the size of a /metrics answer and of the console's requests, their median and
#   largest latency, and how many were made during the runs; then fotad's own CPU time per
#   /metrics answer and per overview poll of the console (its two requests), each made many times
#   in a row with no other load, and for reference per unpaged device list.
#
# Usage: bench/metrics.sh [--quick] [--no-doc] [BUILD_DIR]   (quick: one round of 2 s runs)
source "$(dirname "$0")/lib.sh" metrics "$@"
bench_quiet
bench_need fotad fota-image fota-mkbundle bench_load

seconds=5
warmup=1
rounds=3
[ "$QUICK" = 1 ] && seconds=2 && warmup=0.5 && rounds=1
server_cpu=1
client_cpu=0
pin_server=(taskset -c "$server_cpu")
pin_client=(taskset -c "$client_cpu")
if [ "$(nproc)" -lt 2 ]; then
    pin_server=(env)
    pin_client=(env)
fi

size=262144
chunks=$((size / 1024))
bench_keys
bench_image 2.0.0 "$size" "$W/v2.bin"
rel=$(bench_bundle "$W/v2.bin" bench-metrics 2.0.0 "$W/v2.bundle")
bench_fotad "${pin_server[@]}" -- --threads 2
url="http://127.0.0.1:$PORT"
bench_release "$url" "$W/v2.bundle" "$rel" bench-metrics
auth="Authorization: Bearer $(cat "$W/token")"

# load KIND CONNECTIONS SECONDS WARMUP OUT: one bench_load run on the client's core.
load() {
    "${pin_client[@]}" "$BUILD/bench_load" --url "$url" --kind "$1" --release "$rel" \
        --chunks "$chunks" --record-size 1056 --master "$W/master" --connections "$2" \
        --seconds "$3" --warmup "$4" --hw bench-metrics --version 1.0.0 >"$5"
}
# The fleet: 1,024 devices (load-0000 ...) check in once.
load check 1024 1 0 "$W/fleet.out" || bench_fail "bench_load: the fleet's checks"

# The console's overview poll (server/console/app.js, views.overview.load, every REFRESH_MS = 5 s).
overview_poll=("/api/admin/overview?bucket_s=60&buckets=60" /api/admin/rollouts)
# The watchers, as a script of their own: OUT_PREFIX CONSOLE. Prometheus every second, and when
# CONSOLE is 1 the console opened (its page and files without a token, then whoami) and its
# overview polled every 5 s; each answer's time, size, status and name appended to
# OUT_PREFIX.scrapes / OUT_PREFIX.polls.
cat >"$W/watch.sh" <<WATCH
#!/bin/bash
get() { # FILE NAME PATH [CURL ARGS]
    local f=\$1 n=\$2 p=\$3
    shift 3
    curl -s -o /dev/null -w "%{time_total} %{size_download} %{http_code} \$n\n" "\$@" "$url\$p" >>"\$f"
}
if [ "\$2" = 1 ]; then
    for f in / /console/app.js /console/admin.js /console/style.css /console/uPlot.min.js \
        /console/uPlot.min.css /console/favicon.svg; do
        get "\$1.polls" page "\$f"
    done
    get "\$1.polls" whoami /api/admin/whoami -H "$auth"
fi
t=0
while :; do
    get "\$1.scrapes" metrics /metrics -H "$auth"
    if [ "\$2" = 1 ] && [ \$((t % 5)) = 0 ]; then
        get "\$1.polls" overview "${overview_poll[0]}" -H "$auth"
        get "\$1.polls" rollouts "${overview_poll[1]}" -H "$auth"
    fi
    t=\$((t + 1))
    sleep 1
done
WATCH

server_ticks() { # PID: its user + system clock ticks so far
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# measure NAME ROUND KIND MODE: one run (MODE quiet, scraped or watched), the watchers started
# before it and stopped after.
measure() {
    local out="$W/$1.$2.out" t0 t1 watcher=""
    if [ "$4" != quiet ]; then
        bench_bg "${pin_client[@]}" bash "$W/watch.sh" "$W/$1.$2" "$([ "$4" = watched ] && echo 1)"
        watcher=$BG_PID
    fi
    load "$3" 64 "$seconds" "$warmup" "$out" &
    local pid=$!
    sleep "$warmup"
    t0=$(server_ticks "$FOTAD_PID")
    wait "$pid" || bench_fail "bench_load $1"
    t1=$(server_ticks "$FOTAD_PID")
    if [ -n "$watcher" ]; then
        kill "$watcher" 2>/dev/null || true
        wait "$watcher" 2>/dev/null || true
    fi
    awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v n="$(kv "$out" requests)" \
        'BEGIN { printf "server_us %.1f\n", (n > 0 ? t * 1e6 / hz / n : 0) }' >>"$out"
}
for round in $(seq 1 "$rounds"); do
    for kind in blob check; do
        for mode in quiet scraped watched; do
            measure "$kind-$mode" "$round" "$kind" "$mode"
        done
    done
done
# The median round of each run by rps, as its result file, and the spread of all rounds.
for name in blob-quiet blob-scraped blob-watched check-quiet check-scraped check-watched; do
    med=$(for f in "$W/$name".*.out; do echo "$(kv "$f" rps) $f"; done | sort -n |
        awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }')
    cp "$med" "$W/$name.out"
    echo "spread $(for f in "$W/$name".*.out; do kv "$f" rps; done | sort -n |
        awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }')" >>"$W/$name.out"
done
cat "$W"/*.scrapes >"$W/all.scrapes" 2>/dev/null || true
cat "$W"/*.polls >"$W/all.polls" 2>/dev/null || true
[ -s "$W/all.scrapes" ] || bench_fail "no scrape was made"
bad=$(awk '$3 != 200' "$W/all.scrapes" "$W/all.polls" | wc -l)
[ "$bad" = 0 ] || bench_fail "$bad watcher requests did not get 200"

# cpu_per_answer N PATH...: fotad's CPU time (ms) per round of the PATHs over N rounds in a row,
# with no other load (CPU time: what other work on the machine does not change much).
cpu_per_answer() {
    local t0 t1 i p n=$1
    shift
    t0=$(server_ticks "$FOTAD_PID")
    for i in $(seq 1 "$n"); do
        for p in "$@"; do
            curl -sf -o /dev/null -H "$auth" "$url$p" || bench_fail "GET $p"
        done
    done
    t1=$(server_ticks "$FOTAD_PID")
    awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v n="$n" \
        'BEGIN { printf "%.2f", t * 1000 / hz / n }'
}
n_cpu=200
[ "$QUICK" = 1 ] && n_cpu=20
metrics_cpu=$(cpu_per_answer "$n_cpu" /metrics)
console_cpu=$(cpu_per_answer "$n_cpu" "${overview_poll[@]}")
devices_cpu=$(cpu_per_answer $((n_cpu / 4)) /api/admin/devices)

# latency FILE [WHAT]: "N answers of B bytes, median X ms, max Y ms" (WHAT: the polls' 4th field).
latency() {
    awk -v w="${2:-}" 'w == "" || $4 == w { print $1 * 1000, $2 }' "$1" | sort -n |
        awk '{ t[NR] = $1; b = $2 } END {
            printf "%d answers of about %d bytes, median %.1f ms, max %.1f ms", NR, b,
                t[int((NR + 1) / 2)], t[NR] }'
}

{
    printf '%-30s %7s %7s %6s %7s %6s %8s %8s %8s %7s %7s %7s\n' target quiet scraped /quiet \
        watched /quiet p99_q_ms p99_s_ms p99_w_ms srv_us_q srv_us_s srv_us_w
    for r in "blob fotad: blob, 1 record/Range" "check fotad: check (a store write)"; do
        set -- $r
        q="$W/$1-quiet.out"
        sc="$W/$1-scraped.out"
        w="$W/$1-watched.out"
        shift
        printf '%-30s %7s %7s %6s %7s %6s %8s %8s %8s %7s %7s %7s\n' "$*" "$(kv "$q" rps)" \
            "$(kv "$sc" rps)" "$(ratio "$(kv "$sc" rps)" "$(kv "$q" rps)" 3)" "$(kv "$w" rps)" \
            "$(ratio "$(kv "$w" rps)" "$(kv "$q" rps)" 3)" "$(kv "$q" p99_ms)" \
            "$(kv "$sc" p99_ms)" "$(kv "$w" p99_ms)" "$(kv "$q" server_us)" \
            "$(kv "$sc" server_us)" "$(kv "$w" server_us)"
    done
    echo
    echo "rps of the rounds (quiet, scraped, watched): blob $(kv "$W/blob-quiet.out" spread)," \
        "$(kv "$W/blob-scraped.out" spread), $(kv "$W/blob-watched.out" spread); check" \
        "$(kv "$W/check-quiet.out" spread), $(kv "$W/check-scraped.out" spread)," \
        "$(kv "$W/check-watched.out" spread)"
    echo
    echo "GET /metrics every second: $(latency "$W/all.scrapes")"
    echo "fotad CPU per answer, alone: /metrics $metrics_cpu ms ($n_cpu in a row)," \
        "the console's overview poll (overview + rollouts) $console_cpu ms ($n_cpu in a row)"
    echo "for reference, alone: the whole device list (GET /api/admin/devices, $((n_cpu / 4)) in a" \
        "row) $devices_cpu ms, $(ratio "$devices_cpu" "$console_cpu" 1) x the overview poll"
    echo "the console opened at each watched run: $(awk '$4 == "whoami"' "$W/all.polls" | wc -l)" \
        "times, $(awk '$4 == "page" || $4 == "whoami" { b += $2 } $4 == "whoami" { n++ }
            END { printf "%d", n ? b / n : 0 }' "$W/all.polls") bytes each (the page, 6 files," \
        "whoami)"
    echo "GET /api/admin/overview?bucket_s=60&buckets=60 every 5 s: $(latency "$W/all.polls" overview)"
    echo "GET /api/admin/rollouts every 5 s: $(latency "$W/all.polls" rollouts)"
    echo "fotad --threads 2 pinned to CPU $server_cpu; bench_load (64 connections), the scraper" \
        "and the console's requests on CPU $client_cpu; 1,024 devices known; ${seconds} s runs" \
        "after ${warmup} s of warm-up, median of $rounds rounds"
} >"$W/table"
bench_report "Server: the cost of /metrics and an open dashboard" "$W/table"
