#!/usr/bin/env bash
# test_fota_sim.sh - fota-sim end to end against the real fotad on loopback: release keys and
# signed bundles (fotactl when it is built, else the test-support fota-mkbundle), fotad on an
# ephemeral port, upload and assignment through the admin API, then fleets of 20 simulated
# devices in both modes, without and with every fault (power cuts clean and torn, dropped,
# stalled and bit-flipped transfers, latency, fotad restarted by fota-sim itself), a release
# that fails its self-test (every device rolls back), and the runs that must fail: a device on
# a version that is neither the old nor the expected one (exit 3), devices that do not end as
# expected (exit 4), bad command lines (2) and setup errors (1); the devices' flashes shared
# copy-on-write from one template (what each holds at the start and the end), against
# --no-share and --flash-dir; a delta release (fotactl release delta): a fleet on its source image
# updates by the delta through power cuts, drops, stalls and flips, a fleet on another image by
# the full image, and the summary tells them apart; a delta that fails on every device (the full
# image follows). Then fleets of 30 devices
# through the ESP-IDF component (--esp-idf: ports/esp-idf over the ESP-IDF API double) with power
# cuts anywhere, drops, stalls and flips, a delta update, a release every device rejects at its
# self-test, and a foreign image. Every verdict is read from the --json summary.
#
# Until fotad is built this test says why and passes (it lands in parallel); with fotad it is
# mandatory. Run by ctest as: bash test_fota_sim.sh BUILD_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
for tool in fotad fota-sim fota-image; do
    if [ ! -x "$BUILD/$tool" ]; then
        echo "SKIPPED: $BUILD/$tool is not built yet; this test runs once it is"
        exit 0
    fi
done
# FOTA_SIM_KEYTOOL=fota-mkbundle forces the test-support tool (to tell a fotactl problem apart).
if [ "${FOTA_SIM_KEYTOOL:-fotactl}" = fotactl ] && [ -x "$BUILD/fotactl" ] &&
    "$BUILD/fotactl" --help 2>/dev/null | grep -q release; then
    KEYTOOL=fotactl
elif [ -x "$BUILD/fota-mkbundle" ]; then
    KEYTOOL=fota-mkbundle
else
    echo "SKIPPED: neither fotactl nor fota-mkbundle is built: no way to sign a release"
    exit 0
fi

mkdir -p "$BUILD/tmp"
W=$(mktemp -d "$BUILD/tmp/fota-sim.XXXXXX")
FOTAD_PID=""
OK=0
TOKEN="sim-test-token-0123456789abcdef"

cleanup() {
    if [ -n "$FOTAD_PID" ] && kill -0 "$FOTAD_PID" 2>/dev/null; then
        kill -KILL "$FOTAD_PID" 2>/dev/null || true
        wait "$FOTAD_PID" 2>/dev/null || true
    fi
    if [ "$OK" = 1 ]; then
        rm -rf "$W"
    else
        echo "(test files kept in $W)" >&2
    fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    [ -f "$W/sim.out" ] && { echo "--- fota-sim output:" >&2; tail -n 40 "$W/sim.out" >&2; }
    [ -f "$W/sim.err" ] && { echo "--- fota-sim stderr:" >&2; tail -n 20 "$W/sim.err" >&2; }
    exit 1
}

# ---- keys, images, bundles --------------------------------------------------------------------

head -c 32 /dev/urandom >"$W/master"
chmod 600 "$W/master"
printf '%s\n' "$TOKEN" >"$W/token"
chmod 600 "$W/token"

make_image() { # VERSION FILE [fota-image args]
    local v=$1 f=$2
    shift 2
    "$BUILD/fota-image" create --version "$v" --size 48K "$@" -o "$f" >/dev/null ||
        fail "fota-image create $v"
}

if [ "$KEYTOOL" = fotactl ]; then
    "$BUILD/fotactl" keygen --private "$W/release.pem" --public "$W/release.pub" \
        >/dev/null 2>"$W/keytool.err" || fail "fotactl keygen: $(cat "$W/keytool.err")"
else
    "$BUILD/fota-mkbundle" genkey "$W/release.pem" "$W/release.pub" 2>"$W/keytool.err" ||
        fail "fota-mkbundle genkey"
fi

make_bundle() { # IMAGE PRODUCT VERSION OUT: the release id on stdout
    if [ "$KEYTOOL" = fotactl ]; then
        "$BUILD/fotactl" release create --key "$W/release.pem" --image "$1" --product "$2" \
            --version "$3" -o "$4" 2>>"$W/keytool.err" >"$W/create.out" ||
            fail "fotactl release create: $(cat "$W/keytool.err")"
        grep -oE '[0-9a-f]{32}' "$W/create.out" | head -n 1
    else
        "$BUILD/fota-mkbundle" create --key "$W/release.pem" --image "$1" --product "$2" \
            --version "$3" -o "$4" 2>>"$W/keytool.err" || fail "fota-mkbundle create $3"
    fi
}

make_image 1.0.0 "$W/v1.bin"
make_image 2.0.0 "$W/v2.bin"
make_image 3.0.0 "$W/bad.bin" --fail-selftest
REL=$(make_bundle "$W/v2.bin" inv-sim 2.0.0 "$W/v2.bundle")
BAD=$(make_bundle "$W/bad.bin" inv-rb 3.0.0 "$W/bad.bundle")

# ---- fotad ------------------------------------------------------------------------------------

FOTAD_ARGS=(--release-key "$W/release.pub" --master-secret-file "$W/master"
    --admin-token-file "$W/token" --threads 4)

"$BUILD/fotad" --port 0 --port-file "$W/port" --data-dir "$W/data" "${FOTAD_ARGS[@]}" \
    2>>"$W/fotad.log" &
FOTAD_PID=$!
for _ in $(seq 1 200); do
    [ -s "$W/port" ] && break
    kill -0 "$FOTAD_PID" 2>/dev/null || fail "fotad exited at startup"
    sleep 0.05
done
[ -s "$W/port" ] || fail "fotad did not write its port file"
URL="http://127.0.0.1:$(cat "$W/port")"

# upload.sh URL TOKEN BUNDLE RELEASE PRODUCT: upload the bundle and assign it to the product
# (fotactl release upload + assign, or the admin API with curl).
if [ "$KEYTOOL" = fotactl ]; then
    cat >"$W/upload.sh" <<EOF
set -eu
"$BUILD/fotactl" release upload "\$3" --server "\$1" --token "\$2" >/dev/null
"$BUILD/fotactl" assign "\$4" --product "\$5" --server "\$1" --token "\$2" >/dev/null
EOF
else
    cat >"$W/upload.sh" <<'EOF'
set -eu
url=$1 token=$2 bundle=$3 rel=$4 product=$5
curl -sf -o /dev/null -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$bundle" "$url/api/admin/releases"
curl -sf -o /dev/null -H "Authorization: Bearer $token" \
    -d "{\"release\":\"$rel\",\"product\":\"$product\"}" "$url/api/admin/assignments"
EOF
fi
bash "$W/upload.sh" "$URL" "$TOKEN" "$W/v2.bundle" "$REL" inv-sim || fail "upload 2.0.0"
bash "$W/upload.sh" "$URL" "$TOKEN" "$W/bad.bundle" "$BAD" inv-rb || fail "upload 3.0.0"

# ---- running the simulator --------------------------------------------------------------------

COMMON=(--image "$W/v1.bin" --release-key "$W/release.pub" --master-secret-file "$W/master"
    --devices 20 --check-interval 500 --retry 200 --reboot-delay 20 --timeout 120 --no-progress)

# sim WANT_EXIT NAME [fota-sim args]: run it, keep the JSON in $W/NAME.json.
sim() {
    local want=$1 name=$2
    shift 2
    local rc=0
    "$BUILD/fota-sim" run "${COMMON[@]}" --json "$W/$name.json" "$@" >"$W/sim.out" \
        2>"$W/sim.err" || rc=$?
    if grep -qE 'Sanitizer|runtime error:' "$W/sim.err"; then
        fail "$name: sanitizer report"
    fi
    [ "$rc" -eq "$want" ] || fail "$name: fota-sim exited $rc, wanted $want"
    JSON="$W/$name.json"
    NAME=$name
}

# field NAME: a number from the last summary.
field() {
    grep -oE "^\"$1\":[0-9]+" "$JSON" | head -n 1 | cut -d: -f2
}

is() { # FIELD VALUE
    local got
    got=$(field "$1")
    [ "$got" = "$2" ] || fail "$NAME: $1 is '$got', wanted $2"
}

at_least() { # FIELD MIN
    local got
    got=$(field "$1")
    [ -n "$got" ] && [ "$got" -ge "$2" ] || fail "$NAME: $1 is '$got', wanted at least $2"
}

safe() {
    is bricked 0
    is foreign 0
}

# ---- clean fleets, both modes -------------------------------------------------------------------

for mode in seed chain; do
    sim 0 "clean-$mode" --server "$URL" --product inv-sim --mode $mode --id-prefix "c$mode-"
    is devices 20
    is updated 20
    is failed 0
    is rolled_back 0
    safe
    is redownloaded_bytes 0
    at_least firmware_bytes $((20 * 48 * 1024))
    grep -q '"new_versions":\["2.0.0"\]' "$JSON" || fail "$NAME: new version not 2.0.0"
    grep -q '"device_kind":"agent"' "$JSON" || fail "$NAME: devices did not run the agent alone"
done

# ---- every fault, both modes ------------------------------------------------------------------
# Power cuts on every device (half clean, half torn), dropped, stalled and bit-flipped
# transfers, latency. A flipped record fails the hash chain, which ends the chain-mode attempt
# (the agent treats FOTA_ERR_CHAIN_MISMATCH as fatal), so chain mode gets a few flips by count
# and more attempts; seed mode retries a bad chunk by itself.

FAULTS=(--power-cuts 100% --cut-mode mixed --drops 10% --stalls 5% --stall-ms 300 --latency 2
    --jitter 5 --seed 7)
sim 0 faults-seed --server "$URL" --product inv-sim --mode seed --id-prefix fseed- \
    "${FAULTS[@]}" --flips 3%
is updated 20
safe
is power_cuts_planned 20
is power_cuts 20
is power_cuts_survived 20
at_least drops 1
at_least flips 1
at_least reboots 20

sim 0 faults-chain --server "$URL" --product inv-sim --mode chain --id-prefix fchain- \
    "${FAULTS[@]}" --flips 3 --attempts 6 --range-records 8
is updated 20
safe
is power_cuts 20
is power_cuts_survived 20
at_least drops 1
is flips 3

# The same seed places the same faults: the power cuts fall on the same operations.
sim 0 replay-a --server "$URL" --product inv-sim --id-prefix ra- --power-cuts 50% --seed 11
A_PLANNED=$(field power_cuts_planned)
A_CUTS=$(field power_cuts)
sim 0 replay-b --server "$URL" --product inv-sim --id-prefix rb- --power-cuts 50% --seed 11
is power_cuts_planned "$A_PLANNED"
is power_cuts "$A_CUTS"

# Cuts anywhere in the update: a cut during the new image's first boot (before it confirms)
# rolls the device back, by ESP-IDF's rules; nothing may brick.
sim 0 cuts-anywhere --server "$URL" --product inv-sim --id-prefix any- --power-cuts 40 \
    --cut-at anywhere --expect any --seed 3
safe
is power_cuts_planned 40

# ---- fotad restarted by fota-sim during the download ----------------------------------------

sim 0 restarts --fotad "$BUILD/fotad --port {port} --data-dir $W/data2 ${FOTAD_ARGS[*]}" \
    --fotad-log "$W/fotad2.log" \
    --on-ready "bash $W/upload.sh \"\$FOTA_SIM_URL\" $TOKEN $W/v2.bundle $REL inv-sim" \
    --restart-server 2 --product inv-sim --mode seed --id-prefix rs- --latency 5
is updated 20
safe
is server_restarts 2
[ "$(grep -c 'fotad stopped' "$W/fotad2.log")" -ge 3 ] || fail "restarts: fotad was not restarted"

# ---- a release that fails its self-test: every device rolls back -------------------------------

sim 0 rollback --server "$URL" --product inv-rb --id-prefix rbk- --expect rolled_back
is rolled_back 20
is updated 0
safe
grep -q '"self-test failed":20' "$JSON" || fail "rollback: not 20 self-test failures"

# ---- a good release that fails on some devices (--fail-rate): those roll back, the rest update ----

sim 0 fail-rate --server "$URL" --product inv-sim --id-prefix fr- --fail-rate 5 --fail-version 2.0.0 \
    --expect any --seed 7
is selftest_failures_planned 5
is selftest_failure_devices 5
is rolled_back 5
is updated 15
safe
grep -q "received the bad release *5  of 20 devices" "$W/sim.out" ||
    { cat "$W/sim.out" >&2; fail "fail-rate: summary line"; }
sim 0 fail-rate-pct --server "$URL" --product inv-sim --id-prefix fp- --fail-rate 50% --expect any \
    --seed 7
planned=$(field selftest_failures_planned)
[ "$planned" -gt 0 ] && [ "$planned" -lt 20 ] || fail "fail-rate 50%: $planned of 20 planned"
is rolled_back "$planned"
is updated $((20 - planned))

# ---- a delta release: devices on its source image update by the delta ---------------------------
# 1.0.0 (what the delta fleet runs) and 1.0.1 share their content seed: 1.0.1 is 1.0.0 with 4 KB
# more, so the patch is a few records. Every device must end on 1.0.1 by the delta, through a power
# cut each (clean or torn, in the patch's download: the applier resumes at a segment start), drops,
# stalls and flips; a fleet on another image gets the full image of the same release.
if [ "$KEYTOOL" = fotactl ]; then
    make_image 1.0.0 "$W/dsrc.bin" --seed 21
    "$BUILD/fota-image" create --version 1.0.1 --size 52K --seed 21 -o "$W/dnew.bin" >/dev/null ||
        fail "fota-image create 1.0.1"
    DREL=$(make_bundle "$W/dnew.bin" inv-delta 1.0.1 "$W/dnew.bundle")
    bash "$W/upload.sh" "$URL" "$TOKEN" "$W/dnew.bundle" "$DREL" inv-delta || fail "upload 1.0.1"
    "$BUILD/fotactl" release delta --from "$W/dsrc.bin" --release "$W/dnew.bundle" \
        --key "$W/release.pem" -o "$W/delta.bundle" >/dev/null 2>>"$W/keytool.err" ||
        fail "fotactl release delta: $(cat "$W/keytool.err")"
    "$BUILD/fotactl" release upload "$W/delta.bundle" --server "$URL" --token "$TOKEN" \
        >/dev/null || fail "upload the delta"

    sim 0 delta --server "$URL" --product inv-delta --image "$W/dsrc.bin" --id-prefix dl- \
        --power-cuts 100% --cut-mode mixed --drops 10% --stalls 5% --stall-ms 300 --flips 2 \
        --attempts 6 --range-records 2 --latency 2 --jitter 5 --seed 13
    is updated 20
    is updated_by_delta 20
    is updated_by_full_image 0
    is delta_devices 20
    is delta_fallbacks 0
    safe
    is power_cuts 20
    is power_cuts_survived 20
    at_least drops 1
    is flips 2
    # firmware bytes are the new image's, not the patch's
    is firmware_bytes $((20 * 52 * 1024))
    grep -q '"new_versions":\["1.0.1"\]' "$JSON" || fail "delta: new version not 1.0.1"
    grep -qE '^    by delta +20$' "$W/sim.out" && grep -qE '^    by full image +0$' "$W/sim.out" ||
        fail "delta: the summary does not count the updates by delta"
    DWIRE=$(($(field bytes_received) + $(field bytes_sent)))

    sim 0 delta-other --server "$URL" --product inv-delta --image "$W/v1.bin" --id-prefix do-
    is updated 20
    is updated_by_delta 0
    is updated_by_full_image 20
    is delta_devices 0
    safe
    FWIRE=$(($(field bytes_received) + $(field bytes_sent)))
    # a fleet that saw no delta prints the summary it always did
    grep -q "by delta" "$W/sim.out" && fail "delta-other: delta rows without a delta"
    # the delta fleet, faults and all, moved less than a quarter of the full image's bytes
    [ $((DWIRE * 4)) -lt "$FWIRE" ] || fail "delta: $DWIRE wire bytes against $FWIRE in full"

    # A validly signed delta whose patch makes another image than its manifest names
    # (fota-mkbundle delta --wrong-output: fotactl cannot make one); fotad cannot tell. Every
    # device applies it, finds the image's SHA-256 wrong, reports delta_failed and takes the full
    # image in the same update, through a power cut each and drops: all updated by the full
    # image, none bricked.
    [ -x "$BUILD/fota-mkbundle" ] || fail "$BUILD/fota-mkbundle is not built"
    "$BUILD/fota-image" create --version 1.0.2 --size 52K --seed 21 -o "$W/dfail.bin" \
        >/dev/null || fail "fota-image create 1.0.2"
    FREL=$(make_bundle "$W/dfail.bin" inv-dfail 1.0.2 "$W/dfail.bundle")
    bash "$W/upload.sh" "$URL" "$TOKEN" "$W/dfail.bundle" "$FREL" inv-dfail || fail "upload 1.0.2"
    "$BUILD/fota-mkbundle" delta --key "$W/release.pem" --image "$W/dfail.bin" \
        --product inv-dfail --version 1.0.2 --from "$W/dsrc.bin" --wrong-output \
        -o "$W/wrong.bundle" >/dev/null 2>>"$W/keytool.err" ||
        fail "fota-mkbundle delta: $(cat "$W/keytool.err")"
    "$BUILD/fotactl" release upload "$W/wrong.bundle" --server "$URL" --token "$TOKEN" \
        >/dev/null || fail "upload the wrong delta"
    sim 0 delta-fails --server "$URL" --product inv-dfail --image "$W/dsrc.bin" --id-prefix df- \
        --power-cuts 100% --drops 10% --seed 17
    is updated 20
    is updated_by_delta 0
    is updated_by_full_image 20
    is delta_devices 20
    is delta_fallbacks 20
    safe
    is power_cuts_survived "$(field power_cuts)"
    grep -qE '^    by full image +20  \(20 after a failed delta\)$' "$W/sim.out" ||
        fail "delta-fails: the summary does not count the fallbacks"
else
    echo "delta fleets skipped: fotactl is not built (fota-mkbundle makes no deltas)"
fi

# ---- memory: the devices share the factory flash copy-on-write ----------------------------------
# By default every device opens its flash from one provisioned template and holds only the
# sectors it writes; every run above ran so. Torn power cuts here fall on shared sectors too.
# --no-share gives each device its whole flash; --flash-dir keeps each in a file.

sharing() { # WANT: the summary's flash_sharing
    grep -q "\"flash_sharing\":\"$1\"" "$JSON" || fail "$NAME: flash_sharing is not $1"
}

sim 0 mem-shared --server "$URL" --product inv-sim --id-prefix ms- --power-cuts 50% \
    --cut-mode torn --seed 4
is updated 20
safe
sharing template
FLASH=$(field flash_bytes_per_device)
START=$(($(field flash_held_start_bytes) / 20))
END=$(($(field flash_held_end_bytes) / 20))
# booted: a sector table and the odd sector written at the first boot, not the flash
[ "$START" -lt $((FLASH / 8)) ] || fail "mem-shared: $START bytes held per device at the start"
# updated: the new 48 KB image in the other slot, still far less than the whole flash
[ "$END" -ge $((48 * 1024)) ] && [ "$END" -lt $((FLASH / 2)) ] ||
    fail "mem-shared: $END bytes held per device at the end (flash $FLASH)"
at_least template_bytes $((48 * 1024))
grep -q "shared copy-on-write" "$W/sim.out" || fail "mem-shared: the summary does not say so"

sim 0 mem-own --server "$URL" --product inv-sim --id-prefix mo- --no-share
is updated 20
sharing own
is template_bytes 0
at_least flash_held_start_bytes $((20 * FLASH))
at_least peak_rss_start_bytes $((20 * FLASH))

mkdir -p "$W/flashes"
sim 0 mem-files --server "$URL" --product inv-sim --id-prefix mf- --flash-dir "$W/flashes"
is updated 20
sharing files
[ "$(find "$W/flashes" -name 'mf-*.flash' -size "$((FLASH / 1024))k" | wc -l)" = 20 ] ||
    fail "mem-files: not 20 flash files of $FLASH bytes"

# ---- runs that must fail -----------------------------------------------------------------------

# Devices end on 2.0.0 while 9.9.9 was the release: a foreign image, the worst verdict.
sim 3 foreign --server "$URL" --product inv-sim --id-prefix fx- --to 9.9.9
is foreign 20
# Devices roll back when an update was expected.
sim 4 unexpected --server "$URL" --product inv-rb --id-prefix ux- --expect updated
is rolled_back 20
# Nothing is offered to this product: not updated within the timeout.
sim 4 no-offer --server "$URL" --product nobody --id-prefix no- --timeout 3
grep -q '"timeout (no offer)":20' "$JSON" || fail "no-offer: reason"
sim 0 no-offer-ok --server "$URL" --product nobody --id-prefix nn- --expect none
is idle 20

# Usage and setup errors.
rc=0
"$BUILD/fota-sim" run --server "$URL" >/dev/null 2>"$W/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "missing --image" "$W/err" || fail "missing --image: exit $rc"
rc=0
"$BUILD/fota-sim" "${COMMON[@]}" --server "$URL" --product p --drops 120% >/dev/null \
    2>"$W/err" || rc=$?
[ "$rc" -eq 2 ] || fail "bad rate: exit $rc"
rc=0
"$BUILD/fota-sim" run "${COMMON[@]}" --image "$W/nothing.bin" --server "$URL" --product p \
    >/dev/null 2>"$W/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "nothing.bin" "$W/err" || fail "missing image: exit $rc"
rc=0
"$BUILD/fota-sim" run "${COMMON[@]}" --server http://127.0.0.1:1 --server-wait 1 --product p \
    >/dev/null 2>"$W/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "healthz" "$W/err" || fail "unreachable server: exit $rc"

# ---- through the ESP-IDF component (--esp-idf) --------------------------------------------------
# Every device runs ports/esp-idf over the ESP-IDF API double: the image through esp_partition,
# the boot switch through esp_ota_ops, the journal in an NVS blob, the device id and key from a
# factory NVS image; fota-sim's curl loop stays the transport. One power cut per device anywhere
# in the update (a cut in the first boot rolls the device back, and the retry from the slot
# heals it), so every device must still end updated.

ESP=(--esp-idf --devices 30)
esp_kind() {
    grep -q '"device_kind":"esp-idf"' "$JSON" || fail "$NAME: devices did not run the component"
}

sim 0 esp-clean --server "$URL" --product inv-sim --id-prefix ec- "${ESP[@]}"
esp_kind
is updated 30
is failed 0
safe
is redownloaded_bytes 0
[ -s "$W/sim.err" ] && fail "esp-clean: the component logged without --verbose: $(head -3 "$W/sim.err")"

CUTS=(--power-cuts 100% --cut-at anywhere --cut-mode mixed)
sim 0 esp-faults-seed --server "$URL" --product inv-sim --mode seed --id-prefix efs- "${ESP[@]}" \
    "${CUTS[@]}" --drops 5% --flips 3% --latency 2 --jitter 5 --seed 5
esp_kind
is updated 30
safe
is power_cuts 30
is power_cuts_survived 30
at_least drops 1
at_least flips 1
at_least reboots 30

sim 0 esp-faults-chain --server "$URL" --product inv-sim --mode chain --id-prefix efc- \
    "${ESP[@]}" "${CUTS[@]}" --drops 10% --stalls 5% --stall-ms 300 --flips 2 --attempts 6 \
    --range-records 8 --seed 9
is updated 30
safe
is power_cuts 30
is power_cuts_survived 30
at_least drops 1
is flips 2

# A delta through the component: a power cut each anywhere in the update; the applier reads the
# running image through the component's flash port, from the partition
# esp_ota_get_running_partition names.
if [ "$KEYTOOL" = fotactl ]; then
    sim 0 esp-delta --server "$URL" --product inv-delta --image "$W/dsrc.bin" --id-prefix ed- \
        "${ESP[@]}" "${CUTS[@]}" --drops 5% --seed 5
    esp_kind
    is updated 30
    is updated_by_delta 30
    safe
    is power_cuts_survived "$(field power_cuts)"
fi

# The failing release: the example's start runs the self-test, fota_esp_reject marks the image
# invalid and the device restarts into 1.0.0; the agent reports it and tries once more from its
# slot. The component's own log line proves who rejected it.
FOTA_ESP_LOG=W sim 0 esp-rollback --server "$URL" --product inv-rb --id-prefix erb- "${ESP[@]}" \
    --expect rolled_back
esp_kind
is rolled_back 30
is updated 0
safe
is selftest_failures 60
grep -q '"self-test failed":30' "$JSON" || fail "esp-rollback: not 30 self-test failures"
[ "$(grep -c '\] fota: self-test failed: rolling back' "$W/sim.err")" = 60 ] ||
    fail "esp-rollback: the component did not reject the image 60 times"

# The end-of-run check works through the component too.
sim 3 esp-foreign --server "$URL" --product inv-sim --id-prefix efx- "${ESP[@]}" --to 9.9.9
is foreign 30

kill -TERM "$FOTAD_PID"
wait "$FOTAD_PID" || fail "fotad did not stop cleanly"
FOTAD_PID=""
OK=1
echo "PASS: test_fota_sim ($KEYTOOL)"
