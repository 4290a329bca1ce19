#!/bin/bash
# wire.sh - bytes on the wire per firmware byte for one whole update of a 1,068,032-byte image
# (the seed's firmware size): seed mode (1 KB base64 JSON chunk per request, the reference), and
# chain mode with 1 KB and 4 KB chunks.
#
# A real fotad on loopback; one emulated ESP32 per row (bench_device: the real agent with the
# libcurl transport) updates from 1.0.0 to 2.0.0 and confirms. Bytes are what curl sent and
# received on the socket: request lines, headers and bodies both ways, for every request of the
# update (check, manifest, data, reports). TCP/IP headers are not in them (bench/download_time.sh
# counts IP packets too). The 4 KB row needs an agent built with FOTA_CONFIG_MAX_CHUNK_SIZE=4096:
# a second build directory BUILD/bench-4k is configured for it (only bench_device is built).
#
#   columns: requests; sent and received bytes; wire/fw = (sent + received) / image size, the
#   whole update (reports included); dl/fw = the download alone: check, manifest and data
#   requests; data/fw = the chunk or blob requests alone; vs seed = wire bytes / seed's.
#   The agent sends a progress report every 64 chunks, as fota-device and fota-sim configure it.
#
# Usage: bench/wire.sh [--quick] [--no-doc] [BUILD_DIR]    (quick: a 128 KB image)
source "$(dirname "$0")/lib.sh" wire "$@"
bench_need fotad fota-image fota-mkbundle fota-flash bench_device

size=1068032
[ "$QUICK" = 1 ] && size=131072

# The 4 KB agent: the same sources, one define more.
b4k="$BUILD/bench-4k"
cmake -S "$BENCH_ROOT" -B "$b4k" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS=-DFOTA_CONFIG_MAX_CHUNK_SIZE=4096 >"$W/cmake.log" 2>&1 ||
    { cat "$W/cmake.log" >&2; bench_fail "configure $b4k"; }
cmake --build "$b4k" --target bench_device -j "$(nproc)" >>"$W/cmake.log" 2>&1 ||
    { tail -n 30 "$W/cmake.log" >&2; bench_fail "build $b4k"; }

bench_keys
bench_image 1.0.0 "$size" "$W/v1.bin"
bench_image 2.0.0 "$size" "$W/v2.bin"
r1k=$(bench_bundle "$W/v2.bin" bench-1k 2.0.0 "$W/v2-1k.bundle" --chunk-size 1024)
r4k=$(bench_bundle "$W/v2.bin" bench-4k 2.0.0 "$W/v2-4k.bundle" --chunk-size 4096)
bench_fotad -- --threads 2
url="http://127.0.0.1:$PORT"
bench_release "$url" "$W/v2-1k.bundle" "$r1k" bench-1k
bench_release "$url" "$W/v2-4k.bundle" "$r4k" bench-4k

# row NAME MODE CHUNK PRODUCT BENCH_DEVICE: one update; results in $W/NAME.out.
row() {
    local name=$1 mode=$2 product=$4 prog=$5
    "$BUILD/fota-flash" create "$W/$name.flash" --image "$W/v1.bin" >/dev/null ||
        bench_fail "fota-flash create"
    "$prog" "$W/$name.flash" --server "$url" --id "wire-$name" --master "$W/master" \
        --release-key "$W/release.pub" --product "$product" --mode "$mode" --timeout 300 \
        >"$W/$name.out" 2>"$W/$name.err" ||
        { cat "$W/$name.out" "$W/$name.err" >&2; bench_fail "$name: the update failed"; }
    [ "$(kv "$W/$name.out" version)" = 2.0.0 ] || bench_fail "$name: not running 2.0.0"
}
row seed seed 1024 bench-1k "$BUILD/bench_device"
row chain1k chain 1024 bench-1k "$BUILD/bench_device"
row chain4k chain 4096 bench-4k "$b4k/bench_device"

seed_total=$(($(kv "$W/seed.out" sent) + $(kv "$W/seed.out" received)))
{
    printf '%-6s %6s %8s %10s %10s %8s %8s %8s %8s %9s\n' mode chunk requests sent_B received_B \
        wire/fw dl/fw data/fw "vs seed" goal
    for r in "seed seed 1024 -" "chain chain1k 1024 <=1.035" "chain chain4k 4096 <=1.01"; do
        set -- $r
        out="$W/$2.out"
        total=$(($(kv "$out" sent) + $(kv "$out" received)))
        data=$(($(kv "$out" sent_chunk) + $(kv "$out" received_chunk) + $(kv "$out" sent_blob) +
            $(kv "$out" received_blob)))
        dl=$((data + $(kv "$out" sent_check) + $(kv "$out" received_check) +
            $(kv "$out" sent_manifest) + $(kv "$out" received_manifest)))
        printf '%-6s %6s %8s %10s %10s %8s %8s %8s %8s %9s\n' "$1" "$3" "$(kv "$out" requests)" \
            "$(kv "$out" sent)" "$(kv "$out" received)" "$(ratio "$total" "$size" 4)" \
            "$(ratio "$dl" "$size" 4)" "$(ratio "$data" "$size" 4)" \
            "$(ratio "$total" "$seed_total" 3)" "$4"
    done
} >"$W/table"

# Where the bytes go: per kind of request, for each row.
{
    echo
    printf '%-8s %-9s %8s %10s %10s %9s\n' row request count sent_B received_B per_fw_B
    for name in seed chain1k chain4k; do
        for k in check manifest chunk blob report; do
            n=$(kv "$W/$name.out" "requests_$k")
            [ "$n" = 0 ] && continue
            s=$(kv "$W/$name.out" "sent_$k")
            r=$(kv "$W/$name.out" "received_$k")
            printf '%-8s %-9s %8s %10s %10s %9s\n' "$name" "$k" "$n" "$s" "$r" \
                "$(ratio $((s + r)) "$size" 5)"
        done
    done
} >>"$W/table"
bench_report "Bytes on the wire per firmware byte" "$W/table"
