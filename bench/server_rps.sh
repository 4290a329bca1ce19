#!/bin/bash
# server_rps.sh - chunk requests per second one server answers: fotad's seed-mode chunk endpoint
# (base64 JSON with a per-device HMAC), fotad's chain-mode blob with one record per Range
# request, and nginx serving the same blob file as a static file with the same Ranges (the
# reference: what a plain web server or CDN does with the bytes).
#
# The client is bench_load: 64 keep-alive connections on one epoll loop, each request signed as a
# device signs it (a fresh nonce and HMAC each; nginx ignores the headers, so both servers get
# the same client). The machine has 2 cores: the server is pinned to CPU 1 (taskset -c 1; fotad
# --threads 2, nginx worker_processes 2) and the client to CPU 0, so neither steals the other's
# core. Both servers log every request to a file, as they do by default. A 1,068,032-byte image
# in 1 KB chunks (1,043 chunks, records of 1,056 bytes); every run warms up first.
#
#   columns: rps = responses per second (the median of 3 rounds of the three runs in turn; the
#   rounds' range beside it); body MB/s; p50/p99 latency; non-2xx answers; srv/cli cpu = how
#   busy the server's and the client's core were (/proc/stat, interrupts included; near 1.00 on
#   the client's core: the client, not the server, is the limit); vs nginx = rps / nginx's;
#   srv_us = the server processes' own CPU time (user + system, /proc/PID/stat) per response
#   after the warm-up; us vs = nginx's srv_us / this one's (above 1: fewer CPU microseconds per
#   response than nginx). When other work shares the server's core, rps falls with the share it
#   gets while srv_us stays what a response costs; on an idle machine the two ratios agree.
#
# Needs nginx (scripts/install-deps). Usage: bench/server_rps.sh [--quick] [--no-doc]
# [BUILD_DIR]   (quick: one round of 1 s runs)
source "$(dirname "$0")/lib.sh" server_rps "$@"
bench_quiet
bench_need fotad fota-image fota-mkbundle bench_load
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx_bin" ] || bench_fail "nginx is not installed (scripts/install-deps)"

seconds=5
warmup=1
rounds=3
[ "$QUICK" = 1 ] && seconds=1 && warmup=0.5 && rounds=1
server_cpu=1
client_cpu=0
pin_server=(taskset -c "$server_cpu") # prefixes that exec the command: the pid stays the same
pin_client=(taskset -c "$client_cpu")
if [ "$(nproc)" -lt 2 ]; then
    pin_server=(env)
    pin_client=(env)
fi

size=1068032
bench_keys
bench_image 2.0.0 "$size" "$W/v2.bin"
rel=$(bench_bundle "$W/v2.bin" bench-rps 2.0.0 "$W/v2.bundle")
chunks=$(((size + 1023) / 1024))
bench_fotad "${pin_server[@]}" -- --threads 2
url="http://127.0.0.1:$PORT"
bench_release "$url" "$W/v2.bundle" "$rel" bench-rps

# The blob fotad serves, for nginx: the object of the right size in the data directory.
blob_size=$((size + 32 * chunks))
blob=$(find "$W/data/objects" -type f -size "${blob_size}c" | head -n 1)
[ -n "$blob" ] || bench_fail "no blob of $blob_size bytes in the data directory"
mkdir -p "$W/www/api/inverter/fota/blob"
cp "$blob" "$W/www/api/inverter/fota/blob/$rel"

# nginx_conf PORT: the reference server's configuration (defaults otherwise, access log on).
nginx_conf() {
    cat <<EOF
user root; # the files are in a private temporary directory
worker_processes 2;
daemon off;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log $W/nginx-access.log;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 100000000;
    client_body_temp_path $W/nginx-tmp;
    proxy_temp_path $W/nginx-tmp;
    fastcgi_temp_path $W/nginx-tmp;
    uwsgi_temp_path $W/nginx-tmp;
    scgi_temp_path $W/nginx-tmp;
    server {
        listen 127.0.0.1:$1;
        root $W/www;
    }
}
EOF
}
mkdir -p "$W/nginx-tmp"
# A free port is not known in advance: try a few random ones until nginx serves the blob.
nginx_port=""
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    nginx_conf "$port" >"$W/nginx.conf"
    bench_bg "${pin_server[@]}" "$nginx_bin" -c "$W/nginx.conf" -e "$W/nginx-error.log"
    NGINX_PID=$BG_PID
    for _ in $(seq 1 100); do
        kill -0 "$NGINX_PID" 2>/dev/null || break
        if curl -sf -o /dev/null -r 0-1055 \
            "http://127.0.0.1:$port/api/inverter/fota/blob/$rel"; then
            nginx_port=$port
            break 2
        fi
        sleep 0.05
    done
    kill "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
done
[ -n "$nginx_port" ] ||
    { cat "$W/nginx-error.log" >&2; bench_fail "nginx does not serve the blob"; }

# busy and total jiffies of one CPU so far (/proc/stat; softirq work counts as busy).
cpu_ticks() { # CPU
    awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 11; i++) t += $i; print t - $5 - $6, t }' \
        /proc/stat
}
busy_between() { # "busy0 total0" "busy1 total1"
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
        printf "%.2f", (y[2] > x[2]) ? (y[1] - x[1]) / (y[2] - x[2]) : 0 }'
}

# CPU time (user + system, clock ticks) the server's processes have used so far: PID and its
# children (nginx's workers; fotad's threads are in its own figure).
server_ticks() { # PID
    local p t=0
    for p in "$1" $(pgrep -P "$1" || true); do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

# measure NAME ROUND URL KIND PID: one bench_load run; how busy both cores were over it, and the
# server's own CPU time per response over the measured part (after the warm-up).
measure() {
    local name=$1 round=$2 u=$3 kind=$4 pid=$5 s0 c0 t0 out="$W/$1.$2.out"
    s0=$(cpu_ticks "$server_cpu")
    c0=$(cpu_ticks "$client_cpu")
    "${pin_client[@]}" "$BUILD/bench_load" --url "$u" --kind "$kind" --release "$rel" \
        --chunks "$chunks" --record-size 1056 --master "$W/master" --connections 64 \
        --seconds "$seconds" --warmup "$warmup" >"$out" &
    local load=$!
    sleep "$warmup"
    t0=$(server_ticks "$pid")
    wait "$load" || bench_fail "bench_load $name"
    local t1
    t1=$(server_ticks "$pid")
    echo "server_busy $(busy_between "$s0" "$(cpu_ticks "$server_cpu")")" >>"$out"
    echo "client_busy $(busy_between "$c0" "$(cpu_ticks "$client_cpu")")" >>"$out"
    awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v n="$(kv "$out" requests)" \
        'BEGIN { printf "server_us %.1f\n", (n > 0 ? t * 1e6 / hz / n : 0) }' >>"$out"
}
# Rounds of the three runs in turn (the median round counts): other work on the machine hits
# all three alike.
for round in $(seq 1 "$rounds"); do
    measure nginx "$round" "http://127.0.0.1:$nginx_port" blob "$NGINX_PID"
    measure blob "$round" "$url" blob "$FOTAD_PID"
    measure seed "$round" "$url" seed "$FOTAD_PID"
done
# The median round of a target, by rps, as its result file; the spread of all rounds.
for name in nginx blob seed; do
    med=$(for f in "$W/$name".*.out; do echo "$(kv "$f" rps) $f"; done | sort -n |
        awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }')
    cp "$med" "$W/$name.out"
    echo "spread $(for f in "$W/$name".*.out; do kv "$f" rps; done | sort -n |
        awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }')" >>"$W/$name.out"
done

nginx_rps=$(kv "$W/nginx.out" rps)
nginx_us=$(kv "$W/nginx.out" server_us)
{
    printf '%-28s %8s %13s %8s %8s %8s %7s %7s %7s %8s %7s %8s %7s\n' target rps "rps (rounds)" \
        body_MB/s p50_ms p99_ms non2xx srv_cpu cli_cpu "vs nginx" srv_us "us vs" goal
    for r in "nginx nginx: blob, 1 record/Range -" "blob fotad: blob, 1 record/Range >=0.8" \
        "seed fotad: seed JSON chunk >=0.5"; do
        set -- $r
        out="$W/$1.out"
        printf '%-28s %8s %13s %8s %8s %8s %7s %7s %7s %8s %7s %8s %7s\n' "$2 $3 $4 $5" \
            "$(kv "$out" rps)" "$(kv "$out" spread)" "$(kv "$out" body_mb_s)" \
            "$(kv "$out" p50_ms)" "$(kv "$out" p99_ms)" "$(kv "$out" non2xx)" \
            "$(kv "$out" server_busy)" "$(kv "$out" client_busy)" \
            "$(ratio "$(kv "$out" rps)" "$nginx_rps" 2)" "$(kv "$out" server_us)" \
            "$(ratio "$nginx_us" "$(kv "$out" server_us)" 2)" "$6"
    done
    echo
    echo "server pinned to CPU $server_cpu (fotad --threads 2; nginx $("$nginx_bin" -v 2>&1 |
        sed 's|.*/||'), worker_processes 2), client to CPU $client_cpu; 64 connections," \
        "${seconds} s after ${warmup} s of warm-up, median of $rounds rounds"
} >"$W/table"
bench_report "Server: chunk requests per second" "$W/table"
