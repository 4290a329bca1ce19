#!/bin/bash
# install_ram.sh - RAM of one simulated device while it installs an image, for images of 64 KB,
# 1 MB and 1.25 MB (a full 0x140000 OTA slot), in chain and seed mode: the agent's RAM must not
# grow with the image.
#
# One emulated ESP32 (bench_device: the real agent with the libcurl transport, its flash a
# 4 MB file mapped into memory) updates from a 64 KB 1.0.0 to 2.0.0 of each size against a real
# fotad on loopback, and confirms. Measured on the whole process, curl and mbedTLS included:
#
#   heap peak   valgrind massif, the largest heap the process ever held (requested bytes plus
#               allocator overhead; the flash file mapping is not heap)
#   RSS peak    VmHWM: resident memory at its highest, flash pages included
#   anon peak   the largest RssAnon seen (sampled at every agent event): the process's own
#               memory without the flash file's pages
#   file peak   the largest RssFile seen: program and libraries, plus the flash pages touched
#   x 64 KB     heap peak / the 64 KB image's heap peak, same mode
#
# Needs valgrind (scripts/install-deps).
# Usage: bench/install_ram.sh [--quick] [--no-doc] [BUILD_DIR]   (quick: 64 KB and 128 KB, chain)
source "$(dirname "$0")/lib.sh" install_ram "$@"
bench_need fotad fota-image fota-mkbundle fota-flash bench_device
command -v valgrind >/dev/null && command -v ms_print >/dev/null ||
    bench_fail "valgrind is not installed (scripts/install-deps)"

sizes="65536 1048576 1310720"
modes="chain seed"
[ "$QUICK" = 1 ] && sizes="65536 131072" && modes=chain

bench_keys
bench_image 1.0.0 64K "$W/v1.bin"
bench_fotad -- --threads 2
url="http://127.0.0.1:$PORT"
for size in $sizes; do
    bench_image 2.0.0 "$size" "$W/v2-$size.bin"
    rel=$(bench_bundle "$W/v2-$size.bin" "ram-$size" 2.0.0 "$W/v2-$size.bundle")
    bench_release "$url" "$W/v2-$size.bundle" "$rel" "ram-$size"
done

# device NAME SIZE MODE [PREFIX...]: one update of a new device; output in $W/NAME.out.
device() {
    local name=$1 size=$2 mode=$3
    shift 3
    "$BUILD/fota-flash" create "$W/$name.flash" --image "$W/v1.bin" >/dev/null ||
        bench_fail "fota-flash create"
    "$@" "$BUILD/bench_device" "$W/$name.flash" --server "$url" --id "ram-$name" \
        --master "$W/master" --release-key "$W/release.pub" --product "ram-$size" --mode "$mode" \
        --timeout 600 >"$W/$name.out" 2>"$W/$name.err" ||
        { cat "$W/$name.out" "$W/$name.err" >&2; bench_fail "$name: the update failed"; }
    [ "$(kv "$W/$name.out" version)" = 2.0.0 ] || bench_fail "$name: not running 2.0.0"
}
# Peak of mem_heap_B + mem_heap_extra_B over massif's snapshots.
massif_peak() {
    awk -F= '/^mem_heap_B=/ { h = $2 } /^mem_heap_extra_B=/ { t = h + $2; if (t > m) m = t }
        END { print m + 0 }' "$1"
}

{
    printf '%-6s %9s %11s %9s %12s %12s %12s %8s\n' mode image_B heap_peak_B "x 64 KB" \
        rss_peak_kB anon_peak_kB file_peak_kB result
    for mode in $modes; do
        base=""
        for size in $sizes; do
            name="$mode-$size"
            device "$name" "$size" "$mode"
            device "$name-massif" "$size" "$mode" valgrind --tool=massif --stacks=no \
                --massif-out-file="$W/$name.massif"
            heap=$(massif_peak "$W/$name.massif")
            base=${base:-$heap}
            printf '%-6s %9s %11s %9s %12s %12s %12s %8s\n' "$mode" "$size" "$heap" \
                "$(ratio "$heap" "$base" 3)" "$(kv "$W/$name.out" peak_rss_kb)" \
                "$(kv "$W/$name.out" peak_anon_kb)" "$(kv "$W/$name.out" peak_file_kb)" \
                "$(kv "$W/$name.out" outcome | sed 's/FOTA_OK/ok/')"
        done
    done
    echo
    echo "goal: flat in image size (the same heap peak for every image); the flash is a 4 MB" \
        "file mapping, its touched pages are in the RSS and file columns, not in the heap"
} >"$W/table"
bench_report "Image install RAM: one simulated device" "$W/table"
