#!/usr/bin/env bash
# test_arduino_client.sh - the Arduino library's FotaClient (arduino/src) end to end on loopback:
# a sketch (tests/support-bin/fota-arduino-sketch.cpp: Arduino-ESP32's start-up, setup() with
# begin, self-test, markValid or rollback, and loop() calling fota.loop()) on an emulated ESP32
# over the ESP-IDF API double, against a real fotad with releases signed and uploaded with
# fotactl. The device has Arduino-ESP32's default partition table (fota-flash create's default)
# and its key provisioned into NVS.
#
# Covers: an update installed, restarted, left pending by the Arduino core (the library's
# verifyRollbackLater) and confirmed by the sketch, in seed mode against fotad's chunk API and in
# chain mode; a power cut in the middle of each download, after which begin() reads the journal
# and loop() resumes where it stopped (no chunk fetched from the start again); requestIntervalMs
# pacing one data request per interval in both modes; mayReboot postponing the restart; a
# release whose self-test fails, rolled back by the sketch (rollback()) and reported to fotad; a
# device without a key, whose begin() fails with a clear error and which writes nothing; a
# sketch that confirms from loop() long after the start; begin() without a firmware version or
# with a placeholder release key; a new image whose begin() fails, rolled back by the sketch.
# Run by ctest as: bash test_arduino_client.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" arduino
for tool in fota-arduino-sketch fota-flash fotactl; do
    [ -x "$BUILD/$tool" ] || fail "$tool not built"
done
PRODUCT=inverter

operator_keys
# Images as an Arduino build makes them: the app descriptor's version is the core's, the same
# for every sketch; the sketch's own version (FIRMWARE_VERSION, handed to begin()) is in the
# project name here, and the release names it with --version.
CORE=esp-idf-v5.5.5-arduino
SEED=0
sketch_image() { # VERSION FILE SIZE [fota-image args]
    local version=$1 file=$2 size=$3
    shift 3
    SEED=$((SEED + 1)) # the content differs from image to image (it derives from the version)
    "$BUILD/fota-image" create --version "$CORE" --project "$version" --seed "$SEED" \
        --size "$size" -o "$file" "$@" >/dev/null || fail "fota-image create $version"
}
sketch_image 1.0.0 "$W/v1.bin" 96K
sketch_image 2.0.0 "$W/v2.bin" 96K
sketch_image 2.1.0-bad "$W/bad.bin" 48K --fail-selftest
R2=$(fotactl_release "$W/v2.bin" "$W/v2.bundle" --version 2.0.0)
RBAD=$(fotactl_release "$W/bad.bin" "$W/bad.bundle" --version 2.1.0-bad)
fotad_start
fotactl_ok release upload "$W/v2.bundle"
fotactl_ok release upload "$W/bad.bundle"
fotactl_ok assign "$R2" --product "$PRODUCT"
CHUNKS=$(( $(stat -c %s "$W/v2.bin") / 1024 ))

new_device() { # ID: Arduino-ESP32's default 4 MB layout, 1.0.0 in app0
    "$BUILD/fota-flash" create "$W/$1.flash" --image "$W/v1.bin" >/dev/null ||
        fail "fota-flash create $1"
}
# sketch ID MODE [args]: run the sketch on $W/ID.flash; exit code in $RC.
sketch() {
    local id=$1 mode=$2
    shift 2
    RC=0
    "$BUILD/fota-arduino-sketch" "$W/$id.flash" --server "$URL" --id "$id" --product "$PRODUCT" \
        --release-key "$W/release.pub" --mode "$mode" --timeout 60 "$@" \
        >"$W/$id.out" 2>"$W/$id.err" || RC=$?
    check_sanitizer "$W/$id.err"
}
has() { # ID LINE-REGEX WHY
    grep -q -- "$2" "$W/$1.out" || { show_out "$1"; fail "$1: $3"; }
}
requests() { # ID: data requests fotad served it (seed chunks or chain Ranges)
    grep -c -E "path=\"/api/inverter/fota/(chunk\?chunk_number=|blob/).*device=$1( |\$)" \
        "$W/fotad.log" || true
}

# ---- an update in each mode: installed, restarted, left pending by the core, confirmed ----------
for mode in seed chain; do
    id="ard-$mode"
    new_device "$id"
    sketch "$id" "$mode" --master "$W/master"
    [ "$RC" = 0 ] || { show_out "$id"; fail "$mode: exit $RC"; }
    has "$id" "^begin: device $id, running 1.0.0, chunk 0/0\$" "no clean start on 1.0.0"
    for s in checking manifest downloading verifying installed rebooting booted confirmed idle; do
        has "$id" "^state $s\$" "never $s"
    done
    has "$id" "^restart\$" "no restart into the new image"
    has "$id" "^boot 2: running 2.0.0\$" "the second start does not run 2.0.0"
    has "$id" "^core: the new image is left pending verify for the sketch\$" \
        "the Arduino core confirmed the image before the sketch's self-test"
    has "$id" "^begin: device $id, running 2.0.0 (pending verify)" "2.0.0 did not start pending"
    has "$id" "^self-test passed: markValid ok\$" "the sketch did not confirm"
    has "$id" "^device $id: running 2.0.0, valid, state idle, last error FOTA_OK, loops" \
        "not settled on 2.0.0, valid"
    grep -q "^error" "$W/$id.out" && { show_out "$id"; fail "$mode: an error on the way"; }
    flash_boots "$id" "$CORE" ota_1
    device_seen "$id" confirmed 2.0.0
    body_has "\"release\":\"$R2\""
done
# One request per chunk in seed mode; chain mode asks 16 chunks per Range (chunksPerRequest).
[ "$(requests ard-seed)" = "$CHUNKS" ] || fail "seed: $(requests ard-seed) requests for $CHUNKS"
[ "$(requests ard-chain)" = $(( (CHUNKS + 15) / 16 )) ] ||
    fail "chain: $(requests ard-chain) Range requests for $CHUNKS chunks of 16"

# ---- a power cut in the middle of the download: loop() resumes from the journal --------------------
for mode in seed chain; do
    id="ard-cut-$mode"
    new_device "$id"
    sketch "$id" "$mode" --master "$W/master" --cut-write 40
    [ "$RC" = 0 ] || { show_out "$id"; fail "cut $mode: exit $RC"; }
    has "$id" "^cutting the power after [0-9]* flash writes$" "the cut was not planned"
    has "$id" "^power cut\$" "the power was not cut"
    # The start after the cut read the journal: the download goes on from where it stopped, at
    # most one flash sector (4 chunks) back.
    before=$(sed -n '/^power cut$/q; s|^progress \([0-9]*\)/.*|\1|p' "$W/$id.out" | tail -1)
    after=$(sed -n '/^power cut$/,$ s|^progress \([0-9]*\)/.*|\1|p' "$W/$id.out" | head -1)
    [ -n "$before" ] && [ -n "$after" ] && [ "$before" -ge 24 ] && [ "$after" -ge $((before - 4)) ] ||
        { show_out "$id"; fail "cut $mode: chunk ${before:-?} before the cut, ${after:-?} after"; }
    has "$id" "^device $id: running 2.0.0, valid, state idle" "cut $mode: not on 2.0.0"
    flash_boots "$id" "$CORE" ota_1
    device_seen "$id" confirmed 2.0.0
done
# Nothing fetched from the start again: chunk 0 once in seed mode and at most one sector more
# than the image; in chain mode one Range request more than an uncut download needs.
[ "$(grep -c 'chunk_number=0&.*device=ard-cut-seed' "$W/fotad.log")" = 1 ] ||
    fail "cut seed: chunk 0 fetched twice"
total=$(requests ard-cut-seed)
[ "$total" -le $((CHUNKS + 4)) ] || fail "cut seed: $total chunk requests for $CHUNKS chunks"
total=$(requests ard-cut-chain)
[ "$total" -le $(( (CHUNKS + 15) / 16 + 1 )) ] ||
    fail "cut chain: $total Range requests for $CHUNKS chunks of 16"

# ---- requestIntervalMs: one data request per interval (the sketch's clock: 10 ms a loop) -----------
for mode in seed chain; do
    id="ard-paced-$mode"
    new_device "$id"
    sketch "$id" "$mode" --master "$W/master" --request-interval 500 --chunks-per-request 8
    [ "$RC" = 0 ] || { show_out "$id"; fail "paced $mode: exit $RC"; }
    has "$id" "^device $id: running 2.0.0, valid" "paced $mode: not on 2.0.0"
    n=$(requests "$id")
    loops=$(sed -n 's/^device .* loops \([0-9]*\)$/\1/p' "$W/$id.out")
    # 500 ms between requests = 50 loops; without pacing there would be about one per request.
    [ "$loops" -ge $(( (n - 1) * 50 )) ] ||
        { show_out "$id"; fail "paced $mode: $loops loops for $n requests"; }
done

# ---- mayReboot: the sketch postpones the restart twice, then the update goes on ----------------------
new_device ard-later
sketch ard-later chain --master "$W/master" --postpone-reboot 2
[ "$RC" = 0 ] || { show_out ard-later; fail "postponed: exit $RC"; }
[ "$(grep -c '^reboot postponed' "$W/ard-later.out")" = 2 ] ||
    { show_out ard-later; fail "postponed: mayReboot did not say no twice"; }
[ "$(sed -n '/^state installed$/,/^restart$/p' "$W/ard-later.out" | grep -c postponed)" = 2 ] ||
    { show_out ard-later; fail "postponed: restarted before mayReboot allowed it"; }
has ard-later "^device ard-later: running 2.0.0, valid" "postponed: not on 2.0.0"

# ---- a self-test that takes its time: markValid() from loop(), long after the agent went to wait ---
new_device ard-late
sketch ard-late chain --master "$W/master" --confirm-after 300 --timeout 30
[ "$RC" = 0 ] || { show_out ard-late; fail "late confirm: exit $RC"; }
has ard-late "^self-test passed: markValid ok\$" "late confirm: no markValid"
has ard-late "^device ard-late: running 2.0.0, valid, state idle" "late confirm: not settled"
# ... within a few loops of markValid(), not after the agent's wait for it (49 days of loops).
loops=$(sed -n 's/^device .* loops \([0-9]*\)$/\1/p' "$W/ard-late.out")
[ "$loops" -lt 5000 ] || { show_out ard-late; fail "late confirm: settled after $loops loops"; }
device_seen ard-late confirmed 2.0.0

# ---- a release whose self-test fails: the sketch rolls it back, fotad hears it -----------------------
fotactl_ok assign "$RBAD" --device ard-chain
sketch ard-chain chain
[ "$RC" = 0 ] || { show_out ard-chain; fail "bad release: exit $RC"; }
has ard-chain "^begin: device ard-chain, running 2.1.0-bad (pending verify)" "bad image not started"
has ard-chain "^self-test failed: rollback\$" "the sketch did not roll back"
has ard-chain "^state rolled_back\$" "no rolled_back state"
has ard-chain "^device ard-chain: running 2.0.0, valid" "not back on 2.0.0"
device_seen ard-chain rolled_back 2.0.0

# ---- no key in NVS: begin() fails and says why; nothing is written ---------------------------------
new_device ard-nokey
sketch ard-nokey chain
[ "$RC" = 2 ] || { show_out ard-nokey; fail "no key: exit $RC, not 2"; }
has ard-nokey "^begin failed: FOTA_ERR_ESP_NOT_FOUND\$" "no key: not ESP_ERR_NOT_FOUND"
"$BUILD/fota-flash" show "$W/ard-nokey.flash" >"$W/ard-nokey.show" || fail "show ard-nokey"
grep -q "ota_1 .*: empty" "$W/ard-nokey.show" || fail "no key: something was written to ota_1"
grep -q "device=ard-nokey" "$W/fotad.log" && fail "no key: the device talked to fotad"

# ---- no firmware version given: begin() refuses (an Arduino build's app descriptor cannot say) ----
new_device ard-nover
sketch ard-nover chain --master "$W/master" --break-begin-in 1.0.0
[ "$RC" = 2 ] || { show_out ard-nover; fail "no version: exit $RC, not 2"; }
has ard-nover "^begin failed: FOTA_ERR_ESP_INVALID_ARG\$" "no version: not refused"

# ---- a release key that is no key (the examples' placeholder): begin() says so at once ---------------
printf -- '-----BEGIN PUBLIC KEY-----\npaste the lines of release.pub here\n-----END PUBLIC KEY-----\n' \
    >"$W/placeholder.pub"
new_device ard-badkey
RC=0
"$BUILD/fota-arduino-sketch" "$W/ard-badkey.flash" --server "$URL" --id ard-badkey \
    --product "$PRODUCT" --release-key "$W/placeholder.pub" --master "$W/master" --timeout 30 \
    >"$W/ard-badkey.out" 2>"$W/ard-badkey.err" || RC=$?
check_sanitizer "$W/ard-badkey.err"
[ "$RC" = 2 ] || { show_out ard-badkey; fail "placeholder key: exit $RC, not 2"; }
has ard-badkey "^begin failed: FOTA_ERR_ESP_INVALID_ARG\$" "placeholder key: not refused"
grep -q "device=ard-badkey" "$W/fotad.log" && fail "placeholder key: the device talked to fotad"

# ---- a new image whose begin() fails: the sketch rolls it back (rollback() without a client) -------
new_device ard-nobegin
sketch ard-nobegin chain --master "$W/master" --break-begin-in 2.0.0
[ "$RC" = 0 ] || { show_out ard-nobegin; fail "begin fails on 2.0.0: exit $RC"; }
has ard-nobegin "^self-test failed (begin failed): rollback\$" "begin fails: no rollback"
has ard-nobegin "^device ard-nobegin: running 1.0.0, valid" "begin fails: not back on 1.0.0"
device_seen ard-nobegin rolled_back 1.0.0

fotad_stop
pass
