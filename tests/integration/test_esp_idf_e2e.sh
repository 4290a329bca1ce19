#!/usr/bin/env bash
# test_esp_idf_e2e.sh - the ESP-IDF component end to end on loopback: a real fotad with a
# temporary SQLite store, releases signed offline and uploaded with fotactl, and emulated ESP32s
# made by fota-flash create with the example firmware's partition table
# (ports/esp-idf/examples/inverter/partitions.csv), running the component (ports/esp-idf) over
# the ESP-IDF API double with fota-device --esp-idf: the device key provisioned into NVS from a
# factory CSV, the journal in fota_nvs, the component's own task driving the agent, reboots
# power-cycling the device.
#
# Covers: a full update in seed mode and in chain mode (update, reboot, self-test, confirm; fotad
# shows the device confirmed on the new version; the flash boots the new image from the other
# slot, VALID) and a second run that finds nothing to do with the key read back from NVS; the
# process killed in the middle of a download and run again, resuming from the journal in NVS; a
# release whose self-test fails, rejected by the application (fota_esp_reject) and rolled back,
# reported to fotad; a device without a key in NVS refused by fota_esp_init (ESP_ERR_NOT_FOUND)
# with nothing written to its update slot; a device whose wall clock is not set, which updates
# with the time of fotad's Date header and loses no report (its rollback reaches fotad too).
# Run by ctest as: bash test_esp_idf_e2e.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" esp-idf-e2e
for tool in fota-device fota-flash fotactl; do
    [ -x "$BUILD/$tool" ] || fail "$tool not built"
done
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PARTS="$SRC/ports/esp-idf/examples/inverter/partitions.csv"
PRODUCT=inverter

# ---- keys, images and releases, with the operator's tools ----------------------------------------
operator_keys
make_image 1.0.0 "$W/v1.bin" 200K
make_image 2.0.0 "$W/v2.bin" 200K
"$BUILD/fota-image" create --version 2.1.0-bad --size 64K --fail-selftest -o "$W/bad.bin" \
    >/dev/null || fail "fota-image create (bad)"
R2=$(fotactl_release "$W/v2.bin" "$W/v2.bundle")
RBAD=$(fotactl_release "$W/bad.bin" "$W/bad.bundle")
fotad_start
fotactl_ok release upload "$W/v2.bundle"
fotactl_ok release upload "$W/bad.bundle"
fotactl_ok assign "$R2" --product "$PRODUCT"

# new_device ID: a flash with the example's partition table, 1.0.0 in app0.
new_device() {
    "$BUILD/fota-flash" create "$W/$1.flash" --image "$W/v1.bin" --partitions "$PARTS" \
        >/dev/null || fail "fota-flash create $1"
}
# esp ID MODE [args]: fota-device --esp-idf on $W/ID.flash; exit code in $RC.
esp() {
    local id=$1 mode=$2
    shift 2
    RC=0
    "$BUILD/fota-device" run "$W/$id.flash" --esp-idf --journal-partition fota_nvs \
        --server "$URL" --id "$id" --release-key "$W/release.pub" --product "$PRODUCT" \
        --mode "$mode" --retry 100 --timeout 60 "$@" >"$W/$id.out" 2>"$W/$id.err" || RC=$?
    check_sanitizer "$W/$id.err"
}

# ---- a full update in each mode -------------------------------------------------------------------
for mode in seed chain; do
    id="esp-$mode"
    new_device "$id"
    esp "$id" "$mode" --master "$W/master"
    [ "$RC" = 0 ] || { show_out "$id"; fail "$mode: exit $RC"; }
    grep -q "^device $id: running 2.0.0, outcome: FOTA_OK\$" "$W/$id.out" ||
        { show_out "$id"; fail "$mode: not running 2.0.0"; }
    for s in checking manifest downloading verifying installed rebooting booted confirmed idle; do
        grep -q "^state $s " "$W/$id.out" || { show_out "$id"; fail "$mode: never $s"; }
    done
    grep -q "^error" "$W/$id.out" && { show_out "$id"; fail "$mode: an error on the way"; }
    flash_boots "$id" 2.0.0 ota_1
    grep -q "ota_0 .*version 1.0.0" "$W/$id.show" || fail "$mode: the old image is gone"
    grep -q "ota_1 .*version 2.0.0, 204800 bytes" "$W/$id.show" || fail "$mode: ota_1 lacks 2.0.0"
    [ -s "$W/$id.flash.nvs" ] || fail "$mode: no state file beside the flash"
    device_seen "$id" confirmed 2.0.0
    body_has "\"release\":\"$R2\""
    # fotad noted the start from the first data request; the device reported "confirmed" only:
    # its reboot followed the install at once, and it confirmed before "booted" went out.
    body_has "\"state\":\"downloading\",\"release\":\"$R2\",\"version\":\"2.0.0\",\"running\":\"\",\"done\":0"
    body_has '"state":"confirmed"'
    ! grep -qE '"state":"(installed|booted)"' "$W/body" || fail "$mode: installed or booted reported"
    # Again, without a key on the command line: the component reads it from NVS; nothing to do.
    esp "$id" "$mode"
    [ "$RC" = 0 ] || { show_out "$id"; fail "$mode: second run exit $RC"; }
    grep -q "^device $id: running 2.0.0, outcome: FOTA_OK\$" "$W/$id.out" || fail "$mode: rerun"
    grep -q "^state downloading" "$W/$id.out" && fail "$mode: downloaded again"
done
# One request per chunk in seed mode, one Range for the whole image in chain mode.
chunks=$(( $(stat -c %s "$W/v2.bin") / 1024 ))
seed_reqs=$(grep -c 'path="/api/inverter/fota/chunk?chunk_number=.*device=esp-seed' "$W/fotad.log" || true)
chain_reqs=$(grep -c 'path="/api/inverter/fota/blob/.*device=esp-chain' "$W/fotad.log" || true)
[ "$seed_reqs" = "$chunks" ] || fail "seed mode: $seed_reqs chunk requests for $chunks chunks"
[ "$chain_reqs" = 1 ] || fail "chain mode: $chain_reqs blob requests"
# The manifest came inside the check's answer: never asked for on its own.
grep -q 'path="/api/inverter/fota/manifest?.*device=esp-\(seed\|chain\)$' "$W/fotad.log" &&
    fail "a manifest request: the offer did not carry the manifest"

# ---- the process killed in the middle of a download: the next run resumes from the state file ------
new_device esp-resume
"$BUILD/fota-device" run "$W/esp-resume.flash" --esp-idf --journal-partition fota_nvs \
    --server "$URL" --id esp-resume --master "$W/master" --release-key "$W/release.pub" \
    --product "$PRODUCT" --mode seed --chunk-interval 5 --timeout 60 >"$W/esp-resume.out" 2>&1 &
DEV_PID=$!
for i in $(seq 1 500); do # paced at 5 ms a chunk: 200 chunks take a second or more
    n=$(grep -c 'chunk_number=.*device=esp-resume' "$W/fotad.log" || true)
    [ "$n" -ge 60 ] && break
    sleep 0.02
done
kill -KILL "$DEV_PID" # the power is gone, and the RAM with it
wait "$DEV_PID" 2>/dev/null || true
[ "$n" -lt 190 ] || fail "resume: the download was over before the device could be stopped"
esp esp-resume seed # no key: it is in NVS; the journal is in fota_nvs
[ "$RC" = 0 ] || { show_out esp-resume; fail "resume: exit $RC"; }
grep -q "^device esp-resume: running 2.0.0, outcome: FOTA_OK\$" "$W/esp-resume.out" ||
    { show_out esp-resume; fail "resume: not running 2.0.0"; }
grep -q "^state downloading ([1-9][0-9]*/$chunks)" "$W/esp-resume.out" ||
    { show_out esp-resume; fail "resume: the download started over"; }
[ "$(grep -c 'chunk_number=0&.*device=esp-resume' "$W/fotad.log")" = 1 ] ||
    fail "resume: chunk 0 fetched twice"
total=$(grep -c 'chunk_number=.*device=esp-resume' "$W/fotad.log")
[ "$total" -le $((chunks + 4)) ] || fail "resume: $total chunk requests for $chunks chunks"
flash_boots esp-resume 2.0.0 ota_1

# ---- a release whose self-test fails: rejected by the application, rolled back, reported -----------
fotactl_ok assign "$RBAD" --device esp-chain
esp esp-chain chain
[ "$RC" = 1 ] || { show_out esp-chain; fail "bad release: exit $RC, not 1"; }
grep -q "^state rolled_back" "$W/esp-chain.out" || { show_out esp-chain; fail "no rollback"; }
grep -q "^device esp-chain: running 2.0.0, outcome: FOTA_ERR_AGENT_ROLLED_BACK\$" \
    "$W/esp-chain.out" || { show_out esp-chain; fail "not back on 2.0.0"; }
grep -q "self-test failed: rolling back" "$W/esp-chain.err" ||
    { show_out esp-chain; fail "the application did not reject the image (fota_esp_reject)"; }
flash_boots esp-chain 2.0.0 ota_1
grep -q "ota_0 .*version 2.1.0-bad" "$W/esp-chain.show" || fail "the bad image is not in ota_0"
grep -q "seq 3, state INVALID, crc ok" "$W/esp-chain.show" ||
    { cat "$W/esp-chain.show" >&2; fail "the rejected image is not INVALID"; }
device_seen esp-chain rolled_back 2.0.0

# ---- a device without a key in NVS: refused by fota_esp_init, nothing written -------------------------
new_device esp-nokey
esp esp-nokey chain
[ "$RC" = 1 ] || { show_out esp-nokey; fail "no key: exit $RC, not 1"; }
grep -q "^device esp-nokey: running 1.0.0, stopped: FOTA_ERR_ESP_NOT_FOUND\$" "$W/esp-nokey.out" ||
    { show_out esp-nokey; fail "no key: not stopped with ESP_ERR_NOT_FOUND"; }
grep -q 'fota_esp_init: no device key in NVS (partition "nvs", namespace "fota", blob device_key)' \
    "$W/esp-nokey.err" || { show_out esp-nokey; fail "no key: no clear message"; }
"$BUILD/fota-flash" show "$W/esp-nokey.flash" >"$W/esp-nokey.show" || fail "show esp-nokey"
grep -q "ota_1 .*: empty" "$W/esp-nokey.show" || fail "no key: something was written to ota_1"
grep -q "^Next boot: ota_0 .*version 1.0.0" "$W/esp-nokey.show" || fail "no key: not on 1.0.0"
grep -q "device=esp-nokey" "$W/fotad.log" && fail "no key: the device talked to fotad"

# ---- a device whose wall clock is not set: the time comes from fotad's Date header -----------------
fotactl_ok assign "$R2" --device esp-noclock
new_device esp-noclock
KEY=$("$BUILD/fotactl" device key esp-noclock --master "$W/master") || fail "fotactl device key"
esp esp-noclock chain --key "$KEY" --no-wall-time
[ "$RC" = 0 ] || { show_out esp-noclock; fail "no wall clock: exit $RC"; }
grep -q "^device esp-noclock: running 2.0.0, outcome: FOTA_OK\$" "$W/esp-noclock.out" ||
    { show_out esp-noclock; fail "no wall clock: not running 2.0.0"; }
# The first request went out with time 0 and was refused; its Date set the clock.
grep -q 'status=401 .*X-Fota-Time malformed' "$W/fotad.log" || fail "no wall clock: never refused"
flash_boots esp-noclock 2.0.0 ota_1
device_seen esp-noclock confirmed 2.0.0
for s in downloading confirmed; do # the first report after the reboot too
    body_has "\"state\":\"$s\""
done
# Its rollback reaches fotad as well: the first request after that reboot is the report.
fotactl_ok assign "$RBAD" --device esp-noclock
esp esp-noclock chain --no-wall-time
grep -q "^device esp-noclock: running 2.0.0, outcome: FOTA_ERR_AGENT_ROLLED_BACK\$" \
    "$W/esp-noclock.out" || { show_out esp-noclock; fail "no wall clock: no rollback"; }
device_seen esp-noclock rolled_back 2.0.0
# Up to date: the check refused for want of the time is asked again, and nothing is offered.
fotactl_ok assign "$R2" --device esp-noclock
esp esp-noclock chain --no-wall-time
[ "$RC" = 0 ] || { show_out esp-noclock; fail "no wall clock, up to date: exit $RC"; }
grep -q "^device esp-noclock: running 2.0.0, outcome: FOTA_OK\$" "$W/esp-noclock.out" ||
    { show_out esp-noclock; fail "no wall clock, up to date: not FOTA_OK"; }
[ "$(grep -c '^state checking' "$W/esp-noclock.out")" = 2 ] ||
    { show_out esp-noclock; fail "no wall clock, up to date: not checked twice"; }

fotad_stop
pass
