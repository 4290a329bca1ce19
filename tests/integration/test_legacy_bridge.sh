#!/usr/bin/env bash
# test_legacy_bridge.sh - the way out for inverters on the original firmware (docs/MIGRATION.md),
# end to end on loopback with a real fotad:
#
#  1. An inverter on the original firmware (lib/legacy_inverter.py: no device id, no signing, the
#     fleet-wide HMAC key) downloads the bridge release through fotad's legacy bridge, checking
#     each chunk's MAC with the fleet key, and installs it as Update.end() does (fota-flash
#     write-ota), then reboots into it.
#  2. The bridge firmware (the ESP-IDF component with a fleet key: fota-device --esp-idf
#     --fleet-key) makes its own key, enrolls it and waits; the operator sees the registration
#     with the key's fingerprint the device printed and approves it in bulk; the device then
#     updates in chain mode to the product's release, signing with its own key.
#
# And the fence: legacy mode is off by default (401, nothing served); only chunk_number is
# accepted, only the bridge release is served, and nothing else is reachable without
# authentication; the MAC field name is configurable; one legacy product per fotad; the bridge
# release must be the product's and in 1 KB chunks; fotad without a fleet key refuses to turn it
# on; the rate limit per address answers 429 (counted); every legacy request is counted. The
# enrollment's: a wrong fleet key gets 401; a second key for a pending id puts it in conflict,
# which bulk approval skips; an approved key cannot be replaced; an id that already signs with a
# derived key cannot be enrolled; revoking an enrollment locks the device out at once; the
# setting survives a restart of fotad, and the database holds no enrolled key in the clear.
# Run by ctest as: bash test_legacy_bridge.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" legacy-bridge
for tool in fota-device fota-flash fotactl; do
    [ -x "$BUILD/$tool" ] || fail "$tool not built"
done
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PARTS="$SRC/ports/esp-idf/examples/inverter/partitions.csv"
INVERTER="$SRC/tests/integration/lib/legacy_inverter.py"
PRODUCT=inverter
PY=/usr/bin/python3
[ -x "$PY" ] || fail "python3 is missing (scripts/install-deps installs it)"

operator_keys
head -c 32 /dev/urandom >"$W/fleet.key"
chmod 600 "$W/fleet.key"
head -c 32 /dev/urandom >"$W/wrong.key"
make_image 1.0.0-original "$W/orig.bin" 64K
make_image 2.0.0-bridge "$W/bridge.bin" 64K
make_image 3.0.0 "$W/v3.bin" 96K
RB=$(fotactl_release "$W/bridge.bin" "$W/bridge.bundle" --chunk-size 1K)
R3=$(fotactl_release "$W/v3.bin" "$W/v3.bundle" --chunk-size 1K)
ROTHER=$("$BUILD/fotactl" release create --image "$W/v3.bin" --key "$W/release.pem" \
    --product other -o "$W/other.bundle" 2>>"$W/mk.err") || fail "release for product other"

# legacy N [curl args]: the original firmware's request for chunk N, no authentication.
legacy() {
    local n=$1
    shift
    raw GET "/api/inverter/fota/chunk?chunk_number=$n" "$@"
}
# enroll_key FLEET_FILE: hex of the enrollment key HMAC-SHA256(fleet key, "fota-enroll-v1").
enroll_key() {
    "$PY" -c 'import hmac,hashlib,sys; print(hmac.new(open(sys.argv[1],"rb").read(),
        b"fota-enroll-v1", hashlib.sha256).hexdigest())' "$1"
}
# enroll ID KEYHEX [FLEET_FILE]: a registration of KEYHEX for ID signed with the fleet's key.
enroll() {
    local rc=0
    "$BUILD/fota-devreq" --url "$URL" --device "$1" --key "$(enroll_key "${3:-$W/fleet.key}")" \
        --method POST --target /api/inverter/fota/enroll --body "{\"key\":\"$2\"}" \
        --content-type application/json >"$W/devout" 2>"$W/deverr" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$W/deverr" >&2; fail "fota-devreq enroll $1"; }
    STATUS=$(head -n 1 "$W/devout")
    tail -n +2 "$W/devout" >"$W/body"
}
# as_enrolled ID KEYHEX TARGET: a device request signed with an enrolled device's own key.
as_enrolled() {
    local rc=0
    "$BUILD/fota-devreq" --url "$URL" --device "$1" --key "$2" --target "$3" \
        >"$W/devout" 2>"$W/deverr" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$W/deverr" >&2; fail "fota-devreq $3"; }
    STATUS=$(head -n 1 "$W/devout")
    tail -n +2 "$W/devout" >"$W/body"
}
k1=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
k2=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

# ---- without a fleet key: no bridge at all ---------------------------------------------------------
fotad_start
fotactl_ok release upload "$W/bridge.bundle"
fotactl_ok release upload "$W/v3.bundle"
fotactl_ok release upload "$W/other.bundle"
legacy 0
error_is 401 auth "legacy request, legacy mode off"
admin POST /api/admin/legacy -d "{\"product\":\"$PRODUCT\",\"bridge_release\":\"$RB\"}"
error_is 409 no_fleet_key "legacy on without a fleet key"
enroll dev-x "$k1"
error_is 404 not_found "enrollment without a fleet key"
fotad_stop

# ---- with one: still off until an operator names the product and its bridge release ------------------
fotad_start --legacy-fleet-key-file "$W/fleet.key" --legacy-rate 600 --legacy-burst 30
legacy 0
error_is 401 auth "legacy request before legacy set"
admin GET /api/admin/legacy
expect 200 "legacy show"
body_has '"enabled":false'
body_has '"fleet_key":true'
R4K=$(fotactl_release "$W/v3.bin" "$W/v3-4k.bundle" --chunk-size 4K --version 3.0.0-4k)
fotactl_ok release upload "$W/v3-4k.bundle"
admin POST /api/admin/legacy -d "{\"product\":\"$PRODUCT\",\"bridge_release\":\"$R4K\"}"
error_is 422 chunk_size "bridge release in 4 KB chunks"
admin POST /api/admin/legacy -d "{\"product\":\"$PRODUCT\",\"bridge_release\":\"$ROTHER\"}"
error_is 422 product_mismatch "bridge release of another product"
admin POST /api/admin/legacy -d "{\"product\":\"$PRODUCT\",\"bridge_release\":\"$RB\",\"mac_field\":\"data\"}"
error_is 400 bad_request "mac_field data"
fotactl_ok legacy set --product "$PRODUCT" --bridge-release "$RB" --mac-field hmac
admin POST /api/admin/legacy -d "{\"product\":\"other\",\"bridge_release\":\"$ROTHER\"}"
error_is 409 legacy_in_use "a second legacy product"

# The fence: chunk_number only, and the bridge release only; nothing else without authentication.
legacy 0
expect 200 "legacy chunk 0"
body_has '"chunk_number":0,"data":"'
body_has '"hmac":"'
raw GET "/api/inverter/fota/chunk?chunk_number=0&release=$R3"
error_is 400 bad_request "legacy request naming a release"
raw GET "/api/inverter/fota/chunk?chunk_number=0" -H "X-Device-Id: inv-1"
error_is 401 auth "chunk with some of the auth headers"
raw GET "/api/inverter/fota/check?version=1.0.0&hw=$PRODUCT"
error_is 401 auth "check without authentication"
raw GET "/api/inverter/fota/manifest?release=$RB"
error_is 401 auth "manifest without authentication"
raw GET "/api/inverter/fota/blob/$R3"
error_is 401 auth "blob without authentication"
legacy 99999999999999999999
error_is 416 range "legacy chunk past the end"
legacy x
error_is 400 bad_request "legacy malformed chunk number"

# ---- 1. the original firmware downloads the bridge and installs it ---------------------------------
"$BUILD/fota-flash" create "$W/inv.flash" --image "$W/orig.bin" --partitions "$PARTS" \
    >/dev/null || fail "fota-flash create"
"$PY" "$INVERTER" "$URL" "$W/wrong.key" "$W/wrong.bin" --mac-field hmac >"$W/inv.out" \
    2>"$W/inv.err" && fail "a client with another fleet key accepted the chunks"
grep -q "MAC mismatch" "$W/inv.err" || fail "wrong fleet key: $(cat "$W/inv.err")"
[ ! -e "$W/wrong.bin" ] || fail "an image was kept after a MAC mismatch"
"$PY" "$INVERTER" "$URL" "$W/fleet.key" "$W/got.bin" --mac-field hmac >"$W/inv.out" \
    2>"$W/inv.err" || { cat "$W/inv.err" >&2; fail "the original firmware's download failed"; }
cmp -s "$W/got.bin" "$W/bridge.bin" || fail "the downloaded image is not the bridge release"
grep -qE "downloaded 64 chunks, 65536 bytes, [1-9][0-9]* waits" "$W/inv.out" ||
    fail "download: $(cat "$W/inv.out") (64 chunks expected, and the rate limit to bite)"
"$BUILD/fota-flash" write-ota "$W/inv.flash" --image "$W/got.bin" >/dev/null ||
    fail "installing the bridge (write-ota)"
admin GET /api/admin/legacy
body_has '"enabled":true'
body_has "\"bridge_release\":\"$RB\""
body_has '"mac_field":"hmac"'
[ "$(json_num chunks)" -ge 66 ] || fail "legacy chunks counted: $(cat "$W/body")"
[ "$(json_num rate_limited)" -ge 1 ] || fail "rate-limited requests not counted"
[ "$(json_num refused)" -ge 3 ] || fail "refused legacy requests not counted"
grep -q "legacy: 127.0.0.1 fetched the first chunk of bridge release $RB" "$W/fotad.log" ||
    fail "no log line for the start of a legacy download"

# ---- 2. the bridge firmware enrolls; the operator approves; it updates in chain mode ---------------
fotactl_ok assign "$R3" --product "$PRODUCT"
"$BUILD/fota-device" run "$W/inv.flash" --esp-idf --journal-partition fota_nvs --server "$URL" \
    --id inv-1 --release-key "$W/release.pub" --product "$PRODUCT" --mode chain --retry 100 \
    --timeout 60 --fleet-key "$W/fleet.key" >"$W/inv-1.out" 2>"$W/inv-1.err" &
DEV_PID=$!
for _ in $(seq 1 200); do
    grep -q "enrollment: pending" "$W/inv-1.out" && break
    sleep 0.1
done
grep -q "enrollment: pending" "$W/inv-1.out" || { show_out inv-1; fail "no pending enrollment"; }
FP=$(sed -n 's/^enrollment: pending (key fingerprint \([0-9a-f]*\))$/\1/p' "$W/inv-1.out")
"$BUILD/fotactl" enroll list --state pending --server "$URL" --token-file "$W/token" \
    >"$W/enroll.list" || fail "fotactl enroll list"
grep -q " pending .*$FP .*127.0.0.1" "$W/enroll.list" ||
    { cat "$W/enroll.list" >&2; fail "the registration does not show the device's fingerprint"; }
DEV_ID=$(awk 'NR == 2 {print $1}' "$W/enroll.list")
device_id_ok=0
case "$DEV_ID" in esp32-240ac4*) device_id_ok=1 ;; esac
[ "$device_id_ok" = 1 ] || fail "bridge device id '$DEV_ID' is not <chip>-<MAC>"
sleep 1 # still pending: the device keeps asking, nothing else
admin GET "/api/admin/devices/$DEV_ID"
error_is 404 not_found "a device that is not enrolled yet is unknown to fotad"
fotactl_ok enroll approve --all-pending
rc=0
wait "$DEV_PID" || rc=$?
check_sanitizer "$W/inv-1.err"
[ "$rc" -eq 0 ] || { show_out inv-1; fail "bridge device exit $rc"; }
grep -q "enrollment: approved" "$W/inv-1.out" || { show_out inv-1; fail "never approved"; }
grep -q "running 3.0.0, outcome: FOTA_OK" "$W/inv-1.out" || { show_out inv-1; fail "no update to 3.0.0"; }
flash_boots inv 3.0.0 ota_0
device_seen "$DEV_ID" confirmed 3.0.0

# ---- enrollment fence ---------------------------------------------------------------------------------
enroll dev-a "$k1" "$W/wrong.key"
error_is 401 auth "registration signed with another fleet key"
enroll dev-a "$k1"
expect 202 "registration of dev-a"
body_has '"state":"pending"'
enroll dev-a "$k1"
expect 202 "the same registration again"
enroll dev-b "$k1"
expect 202 "registration of dev-b"
enroll dev-b "$k2"
error_is 409 enrollment_conflict "a second key for dev-b"
fotactl_ok enroll approve --all-pending
as_enrolled dev-a "$k1" "/api/inverter/fota/check?version=2.0.0-bridge&hw=$PRODUCT"
expect 200 "approved dev-a checks with its own key"
as_enrolled dev-b "$k1" "/api/inverter/fota/check?version=2.0.0-bridge&hw=$PRODUCT"
error_is 401 auth "dev-b in conflict is not approved"
enroll dev-a "$k2"
error_is 409 enrollment_conflict "replacing an approved key"
as_enrolled dev-a "$k1" "/api/inverter/fota/check?version=2.0.0-bridge&hw=$PRODUCT"
expect 200 "dev-a keeps its key"
dev prov-1 "/api/inverter/fota/check?version=1.0.0&hw=$PRODUCT"
expect 200 "a provisioned device"
enroll prov-1 "$k1"
error_is 409 device_exists "enrolling the id of a provisioned device"
fotactl_ok enroll reject dev-a
as_enrolled dev-a "$k1" "/api/inverter/fota/check?version=2.0.0-bridge&hw=$PRODUCT"
error_is 401 auth "a revoked key"
enroll dev-a "$k1"
error_is 403 enrollment_rejected "registering a rejected id again"
fotactl_ok enroll delete dev-a
enroll dev-a "$k2"
error_is 409 device_exists "a revoked device, deleted, registering again"
admin GET "/api/admin/enrollments?state=conflict"
expect 200 "enrollments in conflict"
body_has '"device_id":"dev-b"'
enroll dev-c "$k1"
expect 202 "registration of dev-c"
enroll dev-c "$k2"
error_is 409 enrollment_conflict "a second key for dev-c"
fotactl_ok enroll delete dev-c
enroll dev-c "$k2"
expect 202 "a registration that never got approved may come again after delete"
"$PY" - "$W/data/fotad.db" "$k1" "$k2" <<'EOF' || fail "an enrolled key is in the database"
import sqlite3, sys
db = open(sys.argv[1], "rb").read()
for k in sys.argv[2:]:
    if bytes.fromhex(k) in db or k.encode() in db:
        sys.exit(1)
EOF

# ---- the setting and the approvals survive a restart; off stops the bridge ---------------------------
fotad_stop
fotad_start --legacy-fleet-key-file "$W/fleet.key"
legacy 1
expect 200 "legacy chunk after a restart"
body_has '"hmac":"'
as_enrolled dev-b "$k1" "/api/inverter/fota/check?version=2.0.0-bridge&hw=$PRODUCT"
error_is 401 auth "dev-b still not approved after a restart"
fotactl_ok enroll list
grep -q "dev-b .* conflict" "$W/ctl.out" || { cat "$W/ctl.out" >&2; fail "enroll list"; }
fotactl_ok legacy off
legacy 1
error_is 401 auth "legacy request after legacy off"
"$BUILD/fota-device" run "$W/inv.flash" --esp-idf --journal-partition fota_nvs --server "$URL" \
    --id inv-1 --release-key "$W/release.pub" --product "$PRODUCT" --mode chain --retry 100 \
    --timeout 30 --fleet-key "$W/fleet.key" >"$W/inv-1b.out" 2>"$W/inv-1b.err" ||
    { cat "$W/inv-1b.out" "$W/inv-1b.err" >&2; fail "the enrolled device after legacy off"; }
grep -q "running 3.0.0" "$W/inv-1b.out" || fail "enrolled device: $(cat "$W/inv-1b.out")"
grep -q "enrollment: pending" "$W/inv-1b.out" && fail "an enrolled device enrolled again"
fotad_stop
pass
