#!/bin/bash
# fleet.sh - how many devices one fotad serves to completion: fleets of 1,000 and 10,000
# emulated ESP32s (fota-sim: the real agent, emulated flash and bootloader, one libcurl-multi
# event loop, 64 transfers at a time) update a 64 KB image in chain mode against one fotad on
# the same machine, with no faults injected. A run passes when every device ends updated.
#
#   columns: updated / failed devices; seconds = fota-sim's run, first check to last device done;
#   dev/s = devices completed per second; requests and failed requests (fota-sim's count);
#   fotad RSS = fotad's peak resident memory (VmHWM) and fotad CPU = its CPU seconds, both read
#   from /proc when the run is over; sim RSS = fota-sim's peak (all devices' emulated flash is
#   in it); wire/fw = bytes on the wire per firmware byte as fota-sim counts them.
#
# fotad runs with its defaults (4 threads, SQLite with synchronous=NORMAL), started here so its
# memory can be read; fota-sim and fotad share the machine's cores.
# Usage: bench/fleet.sh [--quick] [--no-doc] [BUILD_DIR]    (quick: 100 devices)
source "$(dirname "$0")/lib.sh" fleet "$@"
bench_quiet
bench_need fotad fota-sim fota-image fota-mkbundle

# devices:transfers in flight (fota-sim --concurrency): the last fleet keeps thousands of
# connections open on fotad at once.
fleets="1000:64 10000:64 10000:4000"
sim_timeout=3600
[ "$QUICK" = 1 ] && fleets="100:64 100:100" && sim_timeout=120

bench_keys
bench_image 1.0.0 64K "$W/v1.bin"
bench_image 2.0.0 64K "$W/v2.bin"
rel=$(bench_bundle "$W/v2.bin" bench-fleet 2.0.0 "$W/v2.bundle")

json_num() { # FILE KEY
    grep -oE "\"$2\":[0-9.]+" "$1" | head -n 1 | cut -d: -f2
}

# fleet N C: a fresh fotad and N devices, C transfers at once; one table row.
fleet() {
    local n=$1 c=$2 hz rc=0
    rm -rf "$W/data"
    bench_fotad -- --log-level warn
    local url="http://127.0.0.1:$PORT"
    bench_release "$url" "$W/v2.bundle" "$rel" bench-fleet
    "$BUILD/fota-sim" run --server "$url" --devices "$n" --concurrency "$c" --mode chain \
        --product bench-fleet \
        --image "$W/v1.bin" --release-key "$W/release.pub" --master-secret-file "$W/master" \
        --no-progress --timeout "$sim_timeout" --json "$W/fleet-$n.json" \
        >"$W/fleet-$n.txt" 2>&1 || rc=$?
    hz=$(getconf CLK_TCK)
    local rss cpu
    rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$FOTAD_PID/status")
    cpu=$(awk -v hz="$hz" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$FOTAD_PID/stat")
    kill -TERM "$FOTAD_PID"
    wait "$FOTAD_PID" || true
    [ -s "$W/fleet-$n.json" ] ||
        { cat "$W/fleet-$n.txt" >&2; bench_fail "fota-sim $n: no summary"; }
    local j="$W/fleet-$n.json" secs
    secs=$(json_num "$j" seconds)
    printf '%8s %6s %8s %7s %8s %7s %9s %8s %10s %9s %10s %8s %s\n' "$n" "$c" \
        "$(json_num "$j" updated)" \
        "$(json_num "$j" failed)" "$secs" "$(ratio "$(json_num "$j" updated)" "$secs" 0)" \
        "$(json_num "$j" requests)" "$(json_num "$j" failed_requests)" "$((rss / 1024))" \
        "$cpu" "$(($(json_num "$j" peak_rss_bytes) / 1048576))" \
        "$(json_num "$j" wire_per_firmware_byte)" \
        "$([ "$rc" = 0 ] && echo pass || echo "FAIL ($rc)")"
}

{
    printf '%8s %6s %8s %7s %8s %7s %9s %8s %10s %9s %10s %8s %s\n' devices conc updated \
        failed seconds dev/s requests req_fail fotad_RSS_MB fotad_cpu sim_RSS_MB wire/fw result
    for f in $fleets; do
        fleet "${f%%:*}" "${f##*:}"
    done
    echo
    echo "64 KB image, chain mode, conc = fota-sim --concurrency (transfers, so connections, open" \
        "at once), no faults; goal: 10,000 devices, zero failures, server RSS reported"
} >"$W/table"
bench_report "Concurrent devices one fotad serves" "$W/table"
