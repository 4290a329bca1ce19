#!/usr/bin/env bash
# test_fotactl_fotad.sh - fotactl against a real fotad on loopback: upload (and again: the same
# id, "already uploaded"), a bundle signed by a key fotad does not trust refused, list and show,
# assign to a product and to a device, device list and show after a device has checked in,
# wrong token refused, --json for scripts.
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
grep -q "^$id uploaded$" "$W/out" || fail "upload said: $(cat "$W/out")"
ctl release upload "$W/v2.bundle" >"$W/out" || fail "second upload"
grep -q "^$id already uploaded$" "$W/out" || fail "second upload said: $(cat "$W/out")"
"$BUILD/fotactl" release create --image "$W/v2.bin" --key "$W/rogue.pem" --product inv-5k \
    -o "$W/rogue.bundle" 2>/dev/null >/dev/null
ctl release upload "$W/rogue.bundle" 2>"$W/err" && fail "rogue bundle accepted"
grep -q "status 422 bad_signature" "$W/err" || fail "rogue: $(cat "$W/err")"

ctl release list >"$W/out"
grep -Eq "^$id +inv-5k +2.0.0 " "$W/out" || fail "release list: $(cat "$W/out")"
[ "$(grep -c . "$W/out")" = 2 ] || fail "release list has other rows"
ctl release list --json | grep -q "\"id\":\"$id\"" || fail "release list --json"
ctl release show "$id" | grep -q "^image_size  *40960$" || fail "release show"
ctl release show ffffffffffffffffffffffffffffffff 2>"$W/err" && fail "unknown release shown"
grep -q "status 404" "$W/err" || fail "unknown release: $(cat "$W/err")"

ctl assign "$id" --product inv-5k | grep -q "assigned to product inv-5k" || fail "assign product"
ctl assign "$id" --device dev-7 >/dev/null || fail "assign device"
ctl assign "$id" 2>/dev/null && fail "assign without a target"
ctl assignment list >"$W/out"
grep -Eq "^$id +dev-7 " "$W/out" && grep -Eq "^$id +- +inv-5k" "$W/out" || fail "assignment list: $(cat "$W/out")"

# A device checks in; fotactl shows it.
"$BUILD/fota-devreq" --url "$URL" --device dev-7 --master "$W/master" \
    --target "/api/inverter/fota/check?version=1.0.0&hw=inv-5k" >"$W/devout" 2>&1 || fail "check"
ctl device list >"$W/out"
grep -Eq "^dev-7 +inv-5k +1.0.0 " "$W/out" || fail "device list: $(cat "$W/out")"
ctl device show dev-7 | grep -q "^version  *1.0.0$" || fail "device show"

"$BUILD/fotactl" release list --server "$URL" --token wrong 2>"$W/err" && fail "wrong token"
grep -q "status 403 forbidden" "$W/err" || fail "wrong token: $(cat "$W/err")"
fotad_stop
pass
