#!/bin/bash
# download_time.sh - time to download and install a 1,068,032-byte image over a 10 Mbit/s link
# with 50 ms round-trip time, in chain mode, against seed mode and against the limit of the
# link: size / bandwidth + one RTT.
#
# fotad runs in one network namespace, the emulated ESP32 (bench_device: the real agent with
# the libcurl transport) in another; bench_link joins them with a TUN pair that delays each
# packet by 25 ms each way and lets it through at 10 Mbit/s (IP bytes), queue 1000 packets: the
# model of `tc qdisc netem delay 25ms rate 10mbit`, which this kernel lacks (no sch_netem). The
# clock starts when the device sends its first check and stops when the image is verified and
# the boot slot switched ("installed"); "confirmed" adds the reboot and the confirmation.
#
#   columns: install s = first check to installed; confirm s = to confirmed;
#   vs limit = install s / (size * 8 / rate + RTT); seed/this = seed's install s / this row's;
#   IP B/fw = IP bytes both ways (TCP/IP headers included) per firmware byte;
#   tcp/curl = TCP payload counted on the link / bytes counted by curl (1.000: the same bytes).
#
# Needs root (network namespaces) and /dev/net/tun.
# Usage: bench/download_time.sh [--quick] [--no-doc] [BUILD_DIR]    (quick: a 64 KB image)
source "$(dirname "$0")/lib.sh" download_time "$@"
bench_quiet
bench_need fotad fota-image fota-mkbundle fota-flash bench_device bench_link
[ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && command -v ip >/dev/null ||
    bench_fail "needs root, ip (iproute2) and /dev/net/tun"

size=1068032
[ "$QUICK" = 1 ] && size=65536
delay_ms=25
rate_mbit=10

# --- the link: two namespaces, a TUN in each, bench_link between them --------------------------
nss="fbs-$$"
nsd="fbd-$$"
ip netns add "$nss"
bench_on_exit "ip netns del $nss"
ip netns add "$nsd"
bench_on_exit "ip netns del $nsd"
bench_bg "$BUILD/bench_link" --ns-a "$nss" --dev-a fbs0 --ns-b "$nsd" --dev-b fbd0 \
    --delay-ms "$delay_ms" --rate-mbit "$rate_mbit" --queue 1000 --ready "$W/link.ready" \
    --stats "$W/link.stats"
LINK_PID=$BG_PID
for _ in $(seq 1 100); do
    [ -s "$W/link.ready" ] && break
    sleep 0.05
done
[ -s "$W/link.ready" ] || bench_fail "bench_link did not start"
ip -n "$nss" addr add 10.77.0.1 peer 10.77.0.2 dev fbs0
ip -n "$nsd" addr add 10.77.0.2 peer 10.77.0.1 dev fbd0
for ns in "$nss" "$nsd"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$([ "$ns" = "$nss" ] && echo fbs0 || echo fbd0)" up
done

link_snapshot() {
    rm -f "$W/link.stats"
    kill -USR1 "$LINK_PID"
    for _ in $(seq 1 100); do
        [ -s "$W/link.stats" ] && break
        sleep 0.02
    done
    cp "$W/link.stats" "$W/$1"
}

# --- the server, in its namespace ---------------------------------------------------------------
bench_keys
bench_image 1.0.0 "$size" "$W/v1.bin"
bench_image 2.0.0 "$size" "$W/v2.bin"
rel=$(bench_bundle "$W/v2.bin" bench-net 2.0.0 "$W/v2.bundle")
bench_fotad ip netns exec "$nss" -- --listen 10.77.0.1 --threads 2
url="http://10.77.0.1:$PORT"
BENCH_CURL_PREFIX=(ip netns exec "$nss")
bench_release "$url" "$W/v2.bundle" "$rel" bench-net

# row NAME [MODE]: one update across the link, in MODE (default NAME); results in $W/NAME.out,
# link counters in $W/NAME.link0 and .link1.
row() {
    local name=$1 mode=${2:-$1}
    "$BUILD/fota-flash" create "$W/$name.flash" --image "$W/v1.bin" >/dev/null ||
        bench_fail "fota-flash create"
    link_snapshot "$name.link0"
    BENCH_TRACE=1 ip netns exec "$nsd" "$BUILD/bench_device" "$W/$name.flash" --server "$url" \
        --id "net-$name" --master "$W/master" --release-key "$W/release.pub" \
        --product bench-net --mode "$mode" --timeout 600 >"$W/$name.out" 2>"$W/$name.err" ||
        { cat "$W/$name.out" "$W/$name.err" >&2; bench_fail "$name: the update failed"; }
    link_snapshot "$name.link1"
}
row chain
row seed
# The same chain-mode update with the server host's initial congestion window raised to cover
# the link's bandwidth-delay product (10 Mbit/s x 50 ms = 62,500 bytes, 44 segments of 1,448):
# a route setting of the machine fotad runs on (docs/SERVER.md), not of fotad or the agent.
initcwnd=44
ip -n "$nss" route replace 10.77.0.2 dev fbs0 src 10.77.0.1 initcwnd "$initcwnd" ||
    bench_fail "ip route initcwnd"
row chain-iw chain
ip -n "$nss" route replace 10.77.0.2 dev fbs0 src 10.77.0.1
# What the link and TCP give one request: the whole blob in one authenticated GET on a new
# connection (fota-devreq), no agent: handshake, request, slow start, the bytes.
t0=$(date +%s.%N)
ip netns exec "$nsd" "$BUILD/fota-devreq" --url "$url" --device net-ref --master "$W/master" \
    --target "/api/inverter/fota/blob/$rel" --out "$W/blob.ref" >/dev/null 2>"$W/ref.err" ||
    { cat "$W/ref.err" >&2; bench_fail "fota-devreq blob"; }
t_ref=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')

limit=$(awk -v s="$size" -v r="$rate_mbit" -v d="$delay_ms" \
    'BEGIN { printf "%.4f", s * 8 / (r * 1e6) + 2 * d / 1000 }')
seed_s=$(kv "$W/seed.out" t_installed)
link_delta() { # MODE KEY
    echo $(($(kv "$W/$1.link1" "$2") - $(kv "$W/$1.link0" "$2")))
}
{
    printf '%-8s %8s %8s %9s %9s %8s %8s %9s %8s %8s  %s\n' mode image_B requests install_s \
        confirm_s limit_s "vs limit" seed/this "IP B/fw" tcp/curl goal
    for mode in seed chain chain-iw; do
        out="$W/$mode.out"
        t=$(kv "$out" t_installed)
        ip_bytes=$(($(link_delta "$mode" a_to_b_ip_bytes) + $(link_delta "$mode" b_to_a_ip_bytes)))
        tcp=$(($(link_delta "$mode" a_to_b_tcp_payload) + $(link_delta "$mode" b_to_a_tcp_payload)))
        curl_b=$(($(kv "$out" sent) + $(kv "$out" received)))
        goal="-"
        [ "$mode" = chain ] && goal=">=10x seed, <=1.5x limit"
        [ "$mode" = chain-iw ] && goal="<=1.2x limit"
        printf '%-8s %8s %8s %9.3f %9.3f %8s %8s %9s %8s %8s  %s\n' "$mode" "$size" \
            "$(kv "$out" requests)" "$t" "$(kv "$out" t_confirmed)" "$limit" \
            "$(ratio "$t" "$limit" 2)" "$(ratio "$seed_s" "$t" 1)" \
            "$(ratio "$ip_bytes" "$size" 4)" "$(ratio "$tcp" "$curl_b" 3)" "$goal"
    done
    echo
    drops() { echo $(($(link_delta "$1" a_to_b_drops) + $(link_delta "$1" b_to_a_drops))); }
    echo "link: ${rate_mbit} Mbit/s, ${delay_ms} ms each way (RTT $((2 * delay_ms)) ms)," \
        "queue 1000 packets, drops: seed $(drops seed), chain $(drops chain)," \
        "chain-iw $(drops chain-iw)"
    echo "chain-iw: chain mode with the server's initial congestion window at $initcwnd segments" \
        "(ip route ... initcwnd $initcwnd; Linux's default is 10)"
    echo "one GET of the whole blob ($(stat -c %s "$W/blob.ref") B) on a new connection, no" \
        "agent (fota-devreq): $t_ref s = $(ratio "$t_ref" "$limit" 2) x the limit"
    printf 'chain timeline (s): downloading %s, verifying %s, installed %s, rebooting %s,'\
' confirmed %s\n' \
        "$(kv "$W/chain.out" t_downloading)" "$(kv "$W/chain.out" t_verifying)" \
        "$(kv "$W/chain.out" t_installed)" "$(kv "$W/chain.out" t_rebooting)" \
        "$(kv "$W/chain.out" t_confirmed)"
    for name in chain chain-iw; do
        echo "$name requests (start s, duration s, method, bytes received, target):"
        grep '^trace ' "$W/$name.err" | awk '{ t = $6; sub(/\?.*/, "", t)
            sub(/blob\/.*/, "blob/ID", t); printf "  %7.3f %7.3f %-4s %8s %s\n", $2, $3, $4, $5, t }'
    done
} >"$W/table"
bench_report "Download and install time over a slow link" "$W/table"
