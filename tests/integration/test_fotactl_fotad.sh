#!/usr/bin/env bash
# test_fotactl_fotad.sh - fotactl against a real fotad on loopback, end to end: keys and a
# signed bundle made by fotactl, upload (and again: the same id, "already uploaded"), refusals
# as one-line errors with fotad's status and code (a bundle signed by a key fotad does not trust,
# a tampered blob, an unknown release, a product mismatch, a wrong token, nobody listening),
# release list and show, assignments to a product and to a device, device list and show (with
# its reports) after a device provisioned with `fotactl device key` has checked in and
# reported, the server and token from the environment, --json for scripts.
# fotad flags as docs/SERVER.md gives them (started by lib/fotad.sh).
# Run by ctest as: bash test_fotactl_fotad.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotactl-fotad
[ -x "$BUILD/fotactl" ] || fail "fotactl not built"
ctl() { "$BUILD/fotactl" "$@" --server "$URL" --token-file "$W/token"; }

"$BUILD/fotactl" keygen --private "$W/release.pem" --public "$W/release.pub" >/dev/null
"$BUILD/fotactl" keygen --private "$W/rogue.pem" --public "$W/rogue.pub" >/dev/null
head -c 32 /dev/urandom >"$W/master"
chmod 600 "$W/master"
printf '%s\n' "$TOKEN" >"$W/token"
chmod 600 "$W/token"
make_image 2.0.0 "$W/v2.bin" 40K
fotad_start

id=$("$BUILD/fotactl" release create --image "$W/v2.bin" --key "$W/release.pem" --product inv-5k \
    -o "$W/v2.bundle" 2>/dev/null)
ctl release upload "$W/v2.bundle" >"$W/out" || fail "upload"
[ "$(cat "$W/out")" = "$id uploaded" ] || fail "upload said: $(cat "$W/out")"
ctl release upload "$W/v2.bundle" >"$W/out" || fail "second upload"
[ "$(cat "$W/out")" = "$id already uploaded" ] || fail "second upload said: $(cat "$W/out")"
ctl release upload "$W/v2.bundle" --json >"$W/out" || fail "upload --json"
grep -qF "\"id\":\"$id\"" "$W/out" && grep -qF '"chunk_count":40' "$W/out" ||
    fail "upload --json: $(cat "$W/out")"

# Refusals: one line each, with fotad's status and code, exit 1.
"$BUILD/fotactl" release create --image "$W/v2.bin" --key "$W/rogue.pem" --product inv-5k \
    -o "$W/rogue.bundle" 2>/dev/null >/dev/null
rc=0
ctl release upload "$W/rogue.bundle" >"$W/out" 2>"$W/err" || rc=$?
[ "$rc" = 1 ] || fail "rogue bundle: exit $rc"
grep -q "status 422 bad_signature" "$W/err" || fail "rogue: $(cat "$W/err")"
[ "$(wc -l <"$W/err")" = 1 ] && [ ! -s "$W/out" ] || fail "rogue: not one line"
cp "$W/v2.bundle" "$W/tampered.bundle"
flip_byte "$W/tampered.bundle" $((256 + 7 * 1056 + 5))
ctl release upload "$W/tampered.bundle" 2>"$W/err" && fail "tampered bundle accepted"
grep -q "status 422 chain_mismatch" "$W/err" || fail "tampered: $(cat "$W/err")"
# ... which inspect finds the same way before any upload.
"$BUILD/fotactl" release inspect "$W/tampered.bundle" --public "$W/release.pub" 2>"$W/err" &&
    fail "inspect passed a tampered bundle"
grep -q "record 7 fails the hash chain" "$W/err" || fail "inspect: $(cat "$W/err")"

ctl release list >"$W/out"
grep -Eq "^$id +inv-5k +esp32 +2\.0\.0 +0 +40960 +1024 +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}$" "$W/out" ||
    fail "release list: $(cat "$W/out")"
[ "$(grep -c . "$W/out")" = 2 ] || fail "release list has other rows: $(cat "$W/out")"
ctl release list --json | grep -q "^{\"releases\":\[{.*\"id\":\"$id\"" || fail "release list --json"
ctl release show "$id" >"$W/out"
grep -q "^image_size  *40960$" "$W/out" && grep -q "^chunk_count  *40$" "$W/out" &&
    grep -q "^blob_size  *$((40960 + 32 * 40))$" "$W/out" || fail "release show: $(cat "$W/out")"
ctl release show ffffffffffffffffffffffffffffffff 2>"$W/err" && fail "unknown release shown"
grep -q "status 404 not_found" "$W/err" || fail "unknown release: $(cat "$W/err")"

# Assignments.
ctl assign "$id" --product inv-5k >"$W/out" || fail "assign product"
[ "$(cat "$W/out")" = "$id assigned to product inv-5k" ] || fail "assign: $(cat "$W/out")"
ctl assign "$id" --device dev-7 --json >"$W/out" || fail "assign device"
grep -qF "\"release\":\"$id\"" "$W/out" && grep -qF '"device":"dev-7"' "$W/out" &&
    grep -q '"updated":[0-9]' "$W/out" || fail "assign --json: $(cat "$W/out")"
ctl assign "$id" 2>/dev/null && fail "assign without a target"
ctl assign ffffffffffffffffffffffffffffffff --device dev-7 2>"$W/err" && fail "unknown release"
grep -q "status 404 not_found" "$W/err" || fail "assign unknown: $(cat "$W/err")"
ctl assign "$id" --product inv-3k 2>"$W/err" && fail "product mismatch accepted"
grep -q "status 422 product_mismatch" "$W/err" || fail "mismatch: $(cat "$W/err")"
ctl assignment list >"$W/out"
grep -Eq "^$id +dev-7 +- +[0-9]{4}-" "$W/out" && grep -Eq "^$id +- +inv-5k +[0-9]{4}-" "$W/out" ||
    fail "assignment list: $(cat "$W/out")"
[ "$(sed -n 2p "$W/out" | awk '{print $2}')" = dev-7 ] || fail "device assignments not first"

# A device provisioned with fotactl's key checks in and reports; fotactl shows it.
key=$("$BUILD/fotactl" device key dev-7 --master "$W/master")
"$BUILD/fota-devreq" --url "$URL" --device dev-7 --key "$key" \
    --target "/api/inverter/fota/check?version=1.0.0&hw=inv-5k" >"$W/devout" 2>&1 ||
    fail "check: $(cat "$W/devout")"
[ "$(head -n 1 "$W/devout")" = 200 ] || fail "check with fotactl's key: $(cat "$W/devout")"
"$BUILD/fota-devreq" --url "$URL" --device dev-7 --key "$key" --method POST \
    --content-type application/json --target /api/inverter/fota/report \
    --body '{"state":"downloading","release":"'"$id"'","version":"2.0.0","running":"1.0.0","done":12,"total":40,"error":0}' \
    >"$W/devout" 2>&1 || fail "report: $(cat "$W/devout")"
[ "$(head -n 1 "$W/devout")" = 204 ] || fail "report: $(cat "$W/devout")"
# The server and token from the environment this time.
FOTA_SERVER=$URL FOTA_TOKEN=$TOKEN "$BUILD/fotactl" device list >"$W/out" || fail "device list"
grep -Eq "^dev-7 +inv-5k +1\.0\.0 +downloading +12 +40 +FOTA_OK +[0-9]{4}-" "$W/out" ||
    fail "device list: $(cat "$W/out")"
ctl device show dev-7 >"$W/out" || fail "device show"
grep -q "^version  *1.0.0$" "$W/out" && grep -q "^offered  *$id$" "$W/out" ||
    fail "device show: $(cat "$W/out")"
grep -Eq "^[0-9-]{10} [0-9:]{8} +downloading +2\.0\.0 +1\.0\.0 +12 +40 +0 +$id$" "$W/out" ||
    fail "device show reports: $(cat "$W/out")"
ctl device list --json | grep -qF '"id":"dev-7"' || fail "device list --json"
ctl device show nobody 2>"$W/err" && fail "unknown device shown"
grep -q "status 404 not_found" "$W/err" || fail "unknown device: $(cat "$W/err")"

"$BUILD/fotactl" release list --server "$URL" --token wrong 2>"$W/err" && fail "wrong token"
grep -q "status 403 forbidden" "$W/err" || fail "wrong token: $(cat "$W/err")"
fotad_stop
"$BUILD/fotactl" release list --server "$URL" --token-file "$W/token" 2>"$W/err" &&
    fail "a stopped fotad answered"
grep -q "cannot reach fotad at $URL" "$W/err" || fail "stopped fotad: $(cat "$W/err")"
pass
