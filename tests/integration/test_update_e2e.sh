#!/usr/bin/env bash
# test_update_e2e.sh - the whole system on loopback: a real fotad with a temporary SQLite store,
# releases signed offline and uploaded through the admin API, and emulated ESP32s running the
# real agent with the libcurl transport (fota-device). Covers a full update in seed mode and in
# chain mode ending with the new image confirmed on the device; a release that fails its
# self-test rolled back and reported, installed once more from the slot (no download), then not
# offered again; a device with a wrong key refused
# with nothing written; fotad killed mid-download and restarted, the download resuming.
# Run by ctest as: bash test_update_e2e.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" update-e2e
[ -x "$BUILD/fota-device" ] && [ -x "$BUILD/fota-flash" ] || fail "fota-device/fota-flash not built"

PRODUCT=inv-5k
make_keys
make_image 1.0.0 "$W/v1.bin" 300K
make_image 2.0.0 "$W/v2.bin" 300K
"$BUILD/fota-image" create --version 2.1.0-bad --size 100K --fail-selftest -o "$W/bad.bin" >/dev/null
R2=$(make_bundle "$W/v2.bin" "$PRODUCT" 2.0.0 "$W/v2.bundle")
RBAD=$(make_bundle "$W/bad.bin" "$PRODUCT" 2.1.0-bad "$W/bad.bundle")
fotad_start

admin POST /api/admin/releases --data-binary @"$W/v2.bundle"
expect 201 "upload 2.0.0"
admin POST /api/admin/assignments -d "{\"release\":\"$R2\",\"product\":\"$PRODUCT\"}"
expect 201 "assign 2.0.0"

# device ID MODE [args]: run the emulated device in $W/ID.flash until it settles.
device() {
    local id=$1 mode=$2
    shift 2
    DEV_RC=0
    "$BUILD/fota-device" run "$W/$id.flash" --server "$URL" --id "$id" --master "$W/master" \
        --release-key "$W/release.pub" --product "$PRODUCT" --mode "$mode" --timeout 60 "$@" \
        >"$W/$id.out" 2>"$W/$id.err" || DEV_RC=$?
    check_sanitizer "$W/$id.err"
}
new_device() {
    "$BUILD/fota-flash" create "$W/$1.flash" --image "$W/v1.bin" >/dev/null || fail "flash $1"
}
running() {
    "$BUILD/fota-flash" show "$W/$1.flash" >"$W/$1.show" || fail "show $1"
    grep -q "Next boot: .*version $2" "$W/$1.show" || { cat "$W/$1.show" >&2; fail "$1 does not boot $2"; }
}

# --- a full update in each mode, confirmed on the device and seen by fotad ------------------------
for mode in seed chain; do
    id="dev-$mode"
    new_device "$id"
    device "$id" "$mode"
    [ "$DEV_RC" = 0 ] || { cat "$W/$id.out" "$W/$id.err" >&2; fail "$mode update exit $DEV_RC"; }
    grep -q "running 2.0.0, outcome: FOTA_OK" "$W/$id.out" || { cat "$W/$id.out" >&2; fail "$mode: not running 2.0.0"; }
    for s in downloading verifying installed rebooting booted confirmed; do
        grep -q "^state $s" "$W/$id.out" || { cat "$W/$id.out" >&2; fail "$mode: never $s"; }
    done
    running "$id" 2.0.0
    grep -q "ota_1.*version 2.0.0" "$W/$id.show" || fail "$mode: 2.0.0 not in ota_1"
    admin GET "/api/admin/devices/$id"
    expect 200 "device $id"
    body_has '"state":"confirmed"'
    body_has '"version":"2.0.0"'
    body_has "\"release\":\"$R2\""
    # Running the offered release: the next check downloads nothing.
    device "$id" "$mode"
    [ "$DEV_RC" = 0 ] || fail "$mode: second run exit $DEV_RC"
    grep -q "state downloading" "$W/$id.out" && fail "$mode: downloaded again"
done
# The chunk and blob requests are in fotad's log, one per chunk in seed mode, few in chain mode.
seed_reqs=$(grep -c 'path="/api/inverter/fota/chunk?chunk_number=.*device=dev-seed' "$W/fotad.log" || true)
chain_reqs=$(grep -c 'path="/api/inverter/fota/blob/.*device=dev-chain' "$W/fotad.log" || true)
chunks=$(( ($(stat -c %s "$W/v2.bin") + 1023) / 1024 ))
[ "$seed_reqs" -eq "$chunks" ] || fail "seed mode: $seed_reqs chunk requests for $chunks chunks"
[ "$chain_reqs" -ge 1 ] && [ "$chain_reqs" -le 2 ] || fail "chain mode: $chain_reqs blob requests"

# --- a device whose key is wrong is refused and keeps its image -------------------------------------
new_device dev-forged
"$BUILD/fota-device" run "$W/dev-forged.flash" --server "$URL" --id dev-forged \
    --key 0000000000000000000000000000000000000000000000000000000000000000 \
    --release-key "$W/release.pub" --product "$PRODUCT" --timeout 20 --quiet \
    >"$W/dev-forged.out" 2>&1 && fail "a forged device key was accepted"
grep -q "FOTA_ERR_HTTP_AUTH" "$W/dev-forged.out" || { cat "$W/dev-forged.out" >&2; fail "forged key: not an auth error"; }
running dev-forged 1.0.0
grep -q "ota_1 .*empty" "$W/dev-forged.show" || fail "forged key: something was written to ota_1"

# --- fotad killed in the middle of a download, restarted: the download resumes ------------------
new_device dev-resume
"$BUILD/fota-device" run "$W/dev-resume.flash" --server "$URL" --id dev-resume \
    --master "$W/master" --release-key "$W/release.pub" --product "$PRODUCT" --mode seed \
    --chunk-interval 10 --timeout 60 >"$W/dev-resume.out" 2>&1 &
DEV_PID=$!
for i in $(seq 1 500); do # paced at 10 ms a chunk: 300 chunks take 3 s or more
    n=$(grep -c 'chunk_number=.*device=dev-resume' "$W/fotad.log" || true)
    [ "$n" -ge 40 ] && break
    sleep 0.02
done
[ "$n" -lt 250 ] || fail "resume: the download was over before fotad could be killed"
kill -KILL "$FOTAD_PID"
wait "$FOTAD_PID" 2>/dev/null || true
sleep 0.5
fotad_start --port "$PORT"
wait "$DEV_PID" || { cat "$W/dev-resume.out" >&2; fail "resume: device exit"; }
grep -q "running 2.0.0, outcome: FOTA_OK" "$W/dev-resume.out" || { cat "$W/dev-resume.out" >&2; fail "resume: not running 2.0.0"; }
grep -q "error FOTA_ERR_HTTP_CONNECT" "$W/dev-resume.out" || fail "resume: the device never saw fotad go away"
zeros=$(grep -c 'chunk_number=0&.*device=dev-resume' "$W/fotad.log" || true)
[ "$zeros" -eq 1 ] || fail "resume: chunk 0 fetched $zeros times (started over)"

# --- a release that fails its self-test: rolled back, reported, not offered again --------------------
admin POST /api/admin/releases --data-binary @"$W/bad.bundle"
expect 201 "upload the bad release"
admin POST /api/admin/assignments -d "{\"release\":\"$RBAD\",\"device\":\"dev-chain\"}"
expect 201 "assign the bad release"
device dev-chain chain
grep -q "state rolled_back" "$W/dev-chain.out" || { cat "$W/dev-chain.out" >&2; fail "no rollback"; }
grep -q "running 2.0.0" "$W/dev-chain.out" || fail "not back on 2.0.0"
running dev-chain 2.0.0
admin GET /api/admin/devices/dev-chain
body_has '"state":"rolled_back"'
# Offered once more: installed again from the image still in the slot, not downloaded.
device dev-chain chain
grep -q "state verifying" "$W/dev-chain.out" || { cat "$W/dev-chain.out" >&2; fail "second attempt not verified"; }
[ "$(grep -c "blob/$RBAD.*device=dev-chain" "$W/fotad.log")" = 1 ] || fail "second attempt downloaded again"
grep -q "state rolled_back" "$W/dev-chain.out" || fail "second attempt not rolled back"
# Rolled back twice: not offered again.
device dev-chain chain
grep -q "state manifest" "$W/dev-chain.out" && fail "the rolled-back release was offered a third time"
[ "$(grep -c "blob/$RBAD.*device=dev-chain" "$W/fotad.log")" = 1 ] || fail "bad release fetched more than once"
running dev-chain 2.0.0

fotad_stop
pass
