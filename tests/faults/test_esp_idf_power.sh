#!/usr/bin/env bash
# test_esp_idf_power.sh - the exhaustive power-cut proof through the ESP-IDF component: a real
# fotad on loopback, a 64 KB release (2.0.0 over a 32 KB 1.0.0) assigned to the product, and
# tests/support-bin/fota-esp-power, which runs the component over the ESP-IDF API double with the
# power cut at every flash operation of the update (clean), at every write and erase (torn), and
# before every NVS commit (the journal lives in NVS, the device's other durable store), in seed
# mode and in chain mode, each run on a fresh device (docs in fota-esp-power.c). Every run must
# end confirmed on the new image, never bricked, with at most one flash sector fetched again
# per cut, and exactly the cuts in the rollback window (the first boot of the new image before
# its confirm) roll back.
#
# The normal build sweeps every cut point (about 50 s on two cores). A sanitizer build
# (FOTA_SANITIZE=ON in the build's CMakeCache.txt) is nearly three times slower, over two minutes
# for the whole sweep: it cuts at every write and erase of the update slot, clean and torn, and at
# FOTA_ESP_POWER_SAMPLE more cut points per mode drawn from FOTA_ESP_POWER_SEED (default 600),
# instead of at every one, and says so; the NVS commits, few, are swept whole in both. FOTA_ESP_POWER_SAMPLE=0 forces the exhaustive sweep anywhere;
# FOTA_ESP_POWER_JOBS sets the worker processes (default 2).
# Run by ctest as: bash test_esp_idf_power.sh BUILD_DIR
source "$(dirname "$0")/../integration/lib/fotad.sh" "$1" esp-idf-power
[ -x "$BUILD/fota-esp-power" ] || fail "fota-esp-power not built"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PARTS="$SRC/ports/esp-idf/examples/inverter/partitions.csv"
PRODUCT=inverter

SAMPLE=${FOTA_ESP_POWER_SAMPLE:-}
if [ -z "$SAMPLE" ]; then
    SAMPLE=0
    if grep -q '^FOTA_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
        SAMPLE=600
    fi
fi
if [ "$SAMPLE" != 0 ]; then
    echo "# sanitizer build: the update slot's writes and erases and $SAMPLE sampled cut points" \
        "per mode, NOT every cut point (the normal build sweeps them all)"
fi

# Runs are independent: two processes keep both cores busy (fotad takes its share).
JOBS=${FOTA_ESP_POWER_JOBS:-2}

make_keys
make_image 1.0.0 "$W/v1.bin" 32K
make_image 2.0.0 "$W/v2.bin" 64K
R2=$(make_bundle "$W/v2.bin" "$PRODUCT" 2.0.0 "$W/v2.bundle")
fotad_start --log-level warn
admin POST /api/admin/releases --data-binary @"$W/v2.bundle"
expect 201 "upload 2.0.0"
admin POST /api/admin/assignments -d "{\"release\":\"$R2\",\"product\":\"$PRODUCT\"}"
expect 201 "assign 2.0.0"

start=$(date +%s)
for mode in seed chain; do
    rc=0
    FOTA_ESP_LOG=N "$BUILD/fota-esp-power" --server "$URL" --token-file "$W/token" \
        --master "$W/master" --release-key "$W/release.pub" --product "$PRODUCT" \
        --old "$W/v1.bin" --new "$W/v2.bin" --partitions "$PARTS" --mode "$mode" \
        --sample "$SAMPLE" --seed "${FOTA_ESP_POWER_SEED:-20260101}" --jobs "$JOBS" \
        >"$W/$mode.out" 2>"$W/$mode.err" || rc=$?
    cat "$W/$mode.out"
    check_sanitizer "$W/$mode.err"
    [ "$rc" = 0 ] || { cat "$W/$mode.err" >&2; fail "$mode: fota-esp-power exit $rc"; }
    grep -q "^# $mode, clean cuts: [1-9][0-9]* cut points" "$W/$mode.out" || fail "$mode: no clean sweep"
    grep -q "^# $mode, torn cuts: [1-9][0-9]* cut points" "$W/$mode.out" || fail "$mode: no torn sweep"
    # every NVS commit (the journal's saves), in both builds
    n=$(sed -n "s/^# $mode, commit cuts: \([0-9]*\) cut points of \([0-9]*\) NVS commits.*/\1 \2/p" "$W/$mode.out")
    set -- $n
    [ "${1:-0}" -gt 0 ] && [ "$1" = "$2" ] || fail "$mode: commit cuts: '$n'"
    if [ "$SAMPLE" = 0 ]; then
        # exhaustive: every operation clean, every write and erase torn
        n=$(sed -n "s/^# $mode, clean cuts: \([0-9]*\) cut points of \([0-9]*\) flash.*/\1 \2/p" "$W/$mode.out")
        set -- $n
        [ "$1" = "$2" ] || fail "$mode: $1 clean cut points of $2 operations"
        n=$(sed -n "s/^# $mode, torn cuts: \([0-9]*\) cut points of [0-9]* flash operations (\([0-9]*\) writes.*/\1 \2/p" "$W/$mode.out")
        set -- $n
        [ "$1" = "$2" ] || fail "$mode: $1 torn cut points of $2 writes and erases"
        grep -q "^# $mode, clean cuts: .*([1-9][0-9]*: first boot" "$W/$mode.out" ||
            fail "$mode: no clean cut rolled back"
    fi
done
echo "# both modes in $(( $(date +%s) - start )) s"
# fotad_stop without its look for the "stopped" line: info lines are not logged here
kill -TERM "$FOTAD_PID"
rc=0
wait "$FOTAD_PID" || rc=$?
FOTAD_PID=""
[ "$rc" = 0 ] || fail "fotad exited with $rc after SIGTERM"
check_sanitizer "$W/fotad.log"
pass
