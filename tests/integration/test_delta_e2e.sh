#!/usr/bin/env bash
# test_delta_e2e.sh - delta updates end to end (docs/DELTA.md "End to end"): a real fotad on
# loopback, releases and their delta made offline with fotactl and uploaded, emulated ESP32s
# running the real agent with the libcurl transport (fota-device, chain mode).
#  - a device running the delta's source image updates by the delta: its check names its image,
#    fotad offers the delta and serves the delta's blob, the device fetches a fraction of the full
#    blob and ends confirmed on the new release, byte for byte the release's image;
#  - a device running another image of the same version is offered no delta and updates by the
#    full image;
#  - a validly signed delta that makes another image than its manifest names (fota-mkbundle delta
#    --wrong-output: fotactl cannot make one): the device applies it, refuses the result before
#    the switch, reports delta_failed (seen in the admin API) and ends confirmed by the full image;
#  - the device's power cut (SIGKILL) in the middle of the delta download, several times: each
#    power-on resumes the delta from a segment start (never from record 0 again), at most a
#    sector's worth of records fetched again per cut, no full download, confirmed at the end.
# Run by ctest as: bash test_delta_e2e.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" delta-e2e
for tool in fota-device fota-flash fotactl; do
    [ -x "$BUILD/$tool" ] || fail "$BUILD/$tool not built"
done

PRODUCT=inv-5k
operator_keys
# A patch release: 2.0.0 is 1.0.0 with another version and 4 KB of code added at the end (the same
# content seed); 3.0.0 likewise. "other" is a 1.0.0 of other bytes (another build of the version).
img() {
    "$BUILD/fota-image" create --version "$1" --size "$2" --seed "$3" -o "$W/$4.bin" >/dev/null ||
        fail "fota-image $4"
}
img 1.0.0 256K 11 v1
img 2.0.0 260K 11 v2
img 3.0.0 264K 11 v3
img 1.0.0 256K 12 other
img 0.9.0 196K 11 v09 # 2.0.0 adds 64 KB to it: a delta of about 64 records, for the power cuts
R2=$(fotactl_release "$W/v2.bin" "$W/v2.bundle")
R3=$(fotactl_release "$W/v3.bin" "$W/v3.bundle")
image_id() { tail -c 32 "$1" | od -An -tx1 -v | tr -d ' \n'; }
SRC=$(image_id "$W/v1.bin")
D2=$("$BUILD/fotactl" release delta --from "$W/v1.bin" --release "$W/v2.bundle" \
    --key "$W/release.pem" -o "$W/d2.bundle" 2>>"$W/mk.err") || fail "fotactl release delta"
# The spoiled one, for 3.0.0 (one delta per source and release).
D3=$("$BUILD/fota-mkbundle" delta --key "$W/release.pem" --image "$W/v3.bin" --product "$PRODUCT" \
    --version 3.0.0 --from "$W/v1.bin" --wrong-output -o "$W/d3.bundle" 2>>"$W/mk.err") ||
    fail "fota-mkbundle delta"
D09=$("$BUILD/fotactl" release delta --from "$W/v09.bin" --release "$W/v2.bundle" \
    --key "$W/release.pem" -o "$W/d09.bundle" 2>>"$W/mk.err") || fail "fotactl release delta 0.9.0"
fotad_start
for b in v2 v3 d2 d3 d09; do
    fotactl_ok release upload "$W/$b.bundle"
done
fotactl_ok assign "$R2" --product "$PRODUCT"
D2_BLOB=$(($(stat -c %s "$W/d2.bundle") - 320))
R2_BLOB=$(($(stat -c %s "$W/v2.bundle") - 256))
[ $((D2_BLOB * 5)) -lt "$R2_BLOB" ] || fail "the delta's blob ($D2_BLOB B) is not under a fifth of the full one ($R2_BLOB B)"

# device ID [args]: run the emulated device in $W/ID.flash until it settles (exit code in DEV_RC).
device() {
    local id=$1
    shift
    DEV_RC=0
    "$BUILD/fota-device" run "$W/$id.flash" --server "$URL" --id "$id" --master "$W/master" \
        --release-key "$W/release.pub" --product "$PRODUCT" --mode chain --timeout 60 "$@" \
        >"$W/$id.out" 2>"$W/$id.err" || DEV_RC=$?
    check_sanitizer "$W/$id.err"
}
new_device() {
    "$BUILD/fota-flash" create "$W/$1.flash" --image "$W/$2.bin" >/dev/null || fail "flash $1"
}
# confirmed ID VERSION IMAGE: the device ended on VERSION, booting it from ota_1, and ota_1 holds
# IMAGE's bytes.
confirmed() {
    [ "$DEV_RC" = 0 ] || { show_out "$1"; fail "$1: exit $DEV_RC"; }
    grep -q "running $2, outcome: FOTA_OK" "$W/$1.out" || { show_out "$1"; fail "$1: not running $2"; }
    flash_boots "$1" "$2" ota_1
    local off size
    off=$(sed -n 's/^ *[a-z0-9_]* *app *ota_1 *0x\([0-9a-f]*\) .*/\1/p' "$W/$1.show" | head -n 1)
    [ -n "$off" ] || { cat "$W/$1.show" >&2; fail "$1: no ota_1 offset in fota-flash show"; }
    size=$(stat -c %s "$3")
    cmp -s <(tail -c +$((16#$off + 1)) "$W/$1.flash" | head -c "$size") "$3" ||
        fail "$1: ota_1 does not hold the release's image"
    device_seen "$1" confirmed "$2"
}
# log_of ID: fotad's request log lines of the device ID.
log_of() { grep -E "device=$1( |$)" "$W/fotad.log" || true; }

# --- the delta's source: updated by the delta --------------------------------------------------
new_device dev-delta v1
device dev-delta
confirmed dev-delta 2.0.0 "$W/v2.bin"
log_of dev-delta >"$W/dev-delta.log"
grep -q "check?.*image=$SRC" "$W/dev-delta.log" || { cat "$W/dev-delta.log" >&2; fail "the check did not name the image"; }
grep -q "blob/$D2" "$W/dev-delta.log" || { cat "$W/dev-delta.log" >&2; fail "the delta's blob was not fetched"; }
grep -q "blob/$R2" "$W/dev-delta.log" && fail "dev-delta fetched the full blob too"
grep -q "delta_failed" "$W/dev-delta.out" && fail "dev-delta reported delta_failed"
# fotad's own report of the download's start counts the delta's records, as the device's do.
D2_RECORDS=$(( (D2_BLOB + 1055) / 1056 ))
admin GET /api/admin/devices/dev-delta
body_has "\"state\":\"downloading\",\"release\":\"$R2\",\"version\":\"2.0.0\",\"running\":\"\",\"done\":0,\"total\":$D2_RECORDS,"

# --- another image of the same version: no delta offered, the full image ------------------------
new_device dev-other other
device dev-other
confirmed dev-other 2.0.0 "$W/v2.bin"
log_of dev-other >"$W/dev-other.log"
grep -q "check?.*image=$(image_id "$W/other.bin")" "$W/dev-other.log" || fail "dev-other's check"
grep -q "blob/$R2" "$W/dev-other.log" || { cat "$W/dev-other.log" >&2; fail "dev-other: no full blob"; }
grep -qE "blob/($D2|$D3|$D09)|manifest\?release=($D2|$D3|$D09)" "$W/dev-other.log" &&
    fail "dev-other was sent a delta"

# --- a signed delta whose result is not the release's image: delta_failed, then the full image --
new_device dev-wrong v1
fotactl_ok assign "$R3" --device dev-wrong
device dev-wrong
confirmed dev-wrong 3.0.0 "$W/v3.bin"
log_of dev-wrong >"$W/dev-wrong.log"
# The delta's blob first (whole), the release's blob after it.
first_delta=$(grep -n "blob/$D3" "$W/dev-wrong.log" | head -n 1 | cut -d: -f1)
first_full=$(grep -n "blob/$R3" "$W/dev-wrong.log" | head -n 1 | cut -d: -f1)
[ -n "$first_delta" ] && [ -n "$first_full" ] && [ "$first_delta" -lt "$first_full" ] ||
    { cat "$W/dev-wrong.log" >&2; fail "dev-wrong: not the delta, then the full image"; }
sent=$(grep "blob/$D3" "$W/dev-wrong.log" | sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' | paste -sd+ | bc)
[ "$sent" -eq $(($(stat -c %s "$W/d3.bundle") - 320)) ] || fail "dev-wrong: $sent bytes of the delta's blob"
admin GET /api/admin/devices/dev-wrong
body_has '"state":"delta_failed"'
body_has '"error_name":"FOTA_ERR_IMAGE_SHA256"'
# Two starts noted: the delta's (its records) and the full image's (its chunks).
body_has "\"state\":\"downloading\",\"release\":\"$R3\",\"version\":\"3.0.0\",\"running\":\"\",\"done\":0,\"total\":$(( ($(stat -c %s "$W/d3.bundle") - 320 + 1055) / 1056 )),"
body_has "\"state\":\"downloading\",\"release\":\"$R3\",\"version\":\"3.0.0\",\"running\":\"\",\"done\":0,\"total\":264,"

# --- power cuts in the middle of a delta download: each power-on resumes it ----------------------
# One record per request, 40 ms apart: the 64-record delta takes about 2.6 s; the device is killed
# (SIGKILL: no shutdown, whatever the emulated flash holds stays) after 12, 30 and 48 requests.
new_device dev-cut v09
RECORDS=$(( ($(stat -c %s "$W/d09.bundle") - 320 + 1055) / 1056 ))
[ "$RECORDS" -ge 60 ] || fail "the 0.9.0 delta has $RECORDS records, the test wants 60 or more"
requests() { grep -cE "blob/$D09.*device=dev-cut$" "$W/fotad.log" || true; }
for at in 12 30 48; do
    "$BUILD/fota-device" run "$W/dev-cut.flash" --server "$URL" --id dev-cut --master "$W/master" \
        --release-key "$W/release.pub" --product "$PRODUCT" --mode chain --timeout 60 \
        --range-records 1 --chunk-interval 40 >"$W/dev-cut.$at.out" 2>"$W/dev-cut.err" &
    DEV_PID=$!
    for _ in $(seq 1 1000); do
        [ "$(requests)" -ge "$at" ] && break
        kill -0 "$DEV_PID" 2>/dev/null || break
        sleep 0.01
    done
    kill -KILL "$DEV_PID" 2>/dev/null || fail "dev-cut ended before the cut at $at requests"
    wait "$DEV_PID" 2>/dev/null || true
    check_sanitizer "$W/dev-cut.err"
done
device dev-cut
confirmed dev-cut 2.0.0 "$W/v2.bin"
grep -q "blob/$R2.*device=dev-cut$" "$W/fotad.log" && fail "dev-cut fell back to the full image"
# Every record fetched once, and after each of the 3 cuts at most a sector's worth again (4 records
# of 1 KB, docs/DELTA.md); starting over at each power-on would add 12 + 30 + 48.
sent=$(grep -E "blob/$D09.*device=dev-cut$" "$W/fotad.log" | sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' |
    paste -sd+ | bc)
blob=$(($(stat -c %s "$W/d09.bundle") - 320))
[ "$sent" -ge "$blob" ] && [ "$sent" -le $((blob + 3 * 4 * 1056)) ] ||
    fail "dev-cut: $sent bytes sent of a $blob-byte delta, 3 cuts"
# Each power-on after a cut went on from further than the one before (a segment start; the first
# reported progress of each run), never from record 0.
last=0
for out in dev-cut.30.out dev-cut.48.out dev-cut.out; do
    resumed=$(sed -n 's/^state downloading (\([0-9]*\)\/[0-9]*)$/\1/p' "$W/$out" | head -n 1)
    [ -n "$resumed" ] && [ "$resumed" -gt "$last" ] ||
        { cat "$W/$out" >&2; fail "$out: resumed at '$resumed' after $last"; }
    last=$resumed
done

pass
