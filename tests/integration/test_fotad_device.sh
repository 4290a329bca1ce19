#!/usr/bin/env bash
# test_fotad_device.sh - fotad's device API end to end on loopback (docs/PROTOCOL.md): upload a
# release, assign it, then check / manifest / seed-mode chunks (data and MAC verified against
# the image) / chain-mode blob with Range (first, middle, last byte, open-ended, suffix, beyond
# the end, none, and a download reassembled from several resumes) / reports, and every way the
# device authentication must refuse a request (bad MAC, another device's key, replayed nonce,
# stale or future clock, missing or malformed headers).
# Run by ctest as: bash test_fotad_device.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotad-device

DEVTGT=/api/inverter/fota
make_keys
make_image 1.0.0 "$W/v1.bin" 24K
make_image 2.0.0 "$W/v2.bin" 24K
REL=$(make_bundle "$W/v2.bin" inv-5k 2.0.0 "$W/v2.bundle")
bundle_parts v2
TOTAL=$(stat -c %s "$W/v2.blob")
CHUNKS=$(((24576 + 1023) / 1024))
fotad_start

# --- before anything is uploaded or assigned --------------------------------------------------
dev inv-1 "$DEVTGT/check?version=1.0.0&hw=inv-5k"
expect 204 "check with nothing assigned"
dev inv-1 "$DEVTGT/chunk?chunk_number=0"
error_is 404 not_found "chunk with nothing offered or assigned"

admin POST /api/admin/releases --data-binary @"$W/v2.bundle" -H 'Content-Type: application/octet-stream'
expect 201 "upload"
body_has "\"id\":\"$REL\""
admin POST /api/admin/assignments -d "{\"release\":\"$REL\",\"product\":\"inv-5k\"}"
expect 201 "assign to the product"

# --- check ---------------------------------------------------------------------------------------
dev inv-1 "$DEVTGT/check?version=1.0.0&hw=inv-5k"
expect 200 "check with an assigned newer release"
for f in "\"release\":\"$REL\"" '"version":"2.0.0"' '"size":24576' '"chunk_size":1024' \
    "\"chunk_count\":$CHUNKS" "\"manifest\":\"$DEVTGT/manifest?release=$REL\"" \
    "\"blob\":\"$DEVTGT/blob/$REL\""; do
    body_has "$f"
done
[ "$(stat -c %s "$W/body")" -le 513 ] || fail "offer over 512 bytes"
grep -qF manifest_data "$W/body" && fail "manifest_data in an offer that did not ask for it"
# manifest=1: the signed manifest inside the offer, the very bytes uploaded, within the 1024
# bytes an agent reserves for such an offer.
dev inv-1 "$DEVTGT/check?version=1.0.0&hw=inv-5k&manifest=1"
expect 200 "check asking for the manifest"
body_has "\"release\":\"$REL\""
sed -n 's/.*"manifest_data":"\([^"]*\)".*/\1/p' "$W/body" | base64 -d >"$W/offer.manifest" ||
    fail "manifest_data is not base64"
cmp -s "$W/offer.manifest" "$W/v2.manifest" || fail "manifest_data differs from the manifest"
[ "$(stat -c %s "$W/body")" -le 1024 ] || fail "offer with the manifest over 1024 bytes"
dev inv-1 "$DEVTGT/check?version=1.0.0&hw=inv-5k&manifest=0"
expect 200 "check with manifest=0"
grep -qF manifest_data "$W/body" && fail "manifest_data without manifest=1"
dev inv-1 "$DEVTGT/check?version=2.0.0&hw=inv-5k"
expect 204 "check when already running the assigned version"
dev inv-2 "$DEVTGT/check?version=1.0.0&hw=other-board"
expect 204 "check from another product"
dev inv-1 "$DEVTGT/check?version=1.0.0"
error_is 400 bad_request "check without hw"
# The MAC covers the target exactly as sent: percent-escapes and '+' must survive.
dev inv-3 "$DEVTGT/check?hw=inv-5k&version=1.0.0%2Bbuild.7"
expect 200 "check with an escaped version"
admin GET /api/admin/devices/inv-3
body_has '"version":"1.0.0+build.7"'
body_has '"product":"inv-5k"'

# --- manifest ------------------------------------------------------------------------------------
dev inv-1 "$DEVTGT/manifest?release=$REL" --out "$W/got.manifest"
expect 200 "manifest"
cmp -s "$W/got.manifest" "$W/v2.manifest" || fail "manifest bytes differ from the upload"
dev inv-1 "$DEVTGT/manifest?release=00000000000000000000000000000000"
error_is 404 not_found "manifest of an unknown release"
dev inv-1 "$DEVTGT/manifest"
error_is 400 bad_request "manifest without release"

# --- seed-mode chunks: data and MAC checked by fota-devreq against the image ---------------------
dev inv-1 "$DEVTGT/check?version=1.0.0&hw=inv-5k"
for n in 0 1 11 $((CHUNKS - 1)); do
    dev inv-1 "$DEVTGT/chunk?chunk_number=$n" --check-chunk "$W/v2.bin"
    expect 200 "chunk $n"
    body_has "chunk $n ok"
done
dev inv-1 "$DEVTGT/chunk?chunk_number=5&release=$REL" --check-chunk "$W/v2.bin"
body_has "chunk 5 ok"
# Each device gets the MAC under its own key (fota-devreq checks with the requester's key).
dev inv-2 "$DEVTGT/chunk?chunk_number=4&release=$REL" --check-chunk "$W/v2.bin"
body_has "chunk 4 ok"
# The checker itself can fail: the same chunk against another image is refused.
rc=0
"$BUILD/fota-devreq" --url "$URL" --device inv-2 --master "$W/master" \
    --target "$DEVTGT/chunk?chunk_number=4&release=$REL" --check-chunk "$W/v1.bin" >"$W/body" || rc=$?
[ "$rc" -eq 1 ] || fail "chunk checker accepted the wrong image (exit $rc)"
body_has "chunk BAD"
dev inv-1 "$DEVTGT/chunk?chunk_number=$CHUNKS"
error_is 416 range "chunk past the end"
dev inv-1 "$DEVTGT/chunk?chunk_number=x1"
error_is 400 bad_request "malformed chunk_number"
dev inv-1 "$DEVTGT/chunk"
error_is 400 bad_request "missing chunk_number"
dev inv-1 "$DEVTGT/chunk?chunk_number=1&release=ffffffffffffffffffffffffffffffff"
error_is 404 not_found "chunk of an unknown release"

# --- chain-mode blob with Range --------------------------------------------------------------------
# range SPEC FIRST LEN: a 206 with exactly blob[FIRST, FIRST+LEN) and the right Content-Range.
range() {
    dev inv-1 "$DEVTGT/blob/$REL" --range "$1" --show Content-Range --out "$W/part"
    expect 206 "Range $1"
    body_has "Content-Range: bytes $2-$(($2 + $3 - 1))/$TOTAL"
    # (dd, not tail | head: under pipefail, tail killed by SIGPIPE would end the script)
    dd if="$W/v2.blob" of="$W/want" bs=1 skip="$2" count="$3" status=none
    cmp -s "$W/part" "$W/want" || fail "Range $1: wrong bytes"
}
range "bytes=0-0" 0 1
range "bytes=1000-2999" 1000 2000
range "bytes=$((TOTAL - 1))-$((TOTAL - 1))" $((TOTAL - 1)) 1
range "bytes=$((TOTAL - 1))-" $((TOTAL - 1)) 1
range "bytes=100-" 100 $((TOTAL - 100))
range "bytes=0-999999999" 0 "$TOTAL"
range "bytes=-32" $((TOTAL - 32)) 32
range "bytes=1056-2111" 1056 1056
# up to 16 KiB from the mapped blob in one send, longer from a file descriptor: both sides
range "bytes=0-16383" 0 16384
range "bytes=1-16385" 1 16385
dev inv-1 "$DEVTGT/blob/$REL" --range "bytes=$TOTAL-" --show Content-Range
error_is 416 range "Range past the end"
body_has "Content-Range: bytes */$TOTAL"
dev inv-1 "$DEVTGT/blob/$REL" --range "bytes=$((TOTAL + 5))-$((TOTAL + 9))" --show Content-Range
expect 416 "Range entirely past the end"
dev inv-1 "$DEVTGT/blob/$REL" --out "$W/whole"
expect 200 "blob without Range"
cmp -s "$W/whole" "$W/v2.blob" || fail "whole blob differs"
# A download broken three times, each resumed from where it stopped, is the exact blob.
: >"$W/assembled"
for spec in "0-4999" "5000-12344" "12345-20000" "20001-"; do
    dev inv-1 "$DEVTGT/blob/$REL" --range "bytes=$spec" --out "$W/piece"
    expect 206 "resume $spec"
    cat "$W/piece" >>"$W/assembled"
done
cmp -s "$W/assembled" "$W/v2.blob" || fail "reassembled blob differs"
dev inv-1 "$DEVTGT/blob/0123456789abcdef0123456789abcdef"
error_is 404 not_found "blob of an unknown release"
dev inv-1 "$DEVTGT/blob/"
error_is 404 not_found "blob without an id"

# --- reports -----------------------------------------------------------------------------------------
REPORT="{\"state\":\"downloading\",\"release\":\"$REL\",\"version\":\"2.0.0\",\"running\":\"1.0.0\",\"done\":7,\"total\":$CHUNKS,\"error\":0}"
dev inv-1 "$DEVTGT/report" --method POST --body "$REPORT" --content-type application/json
expect 204 "report"
dev inv-1 "$DEVTGT/report" --method POST --body '{"state":"error","error":907}'
expect 204 "report with defaults"
admin GET /api/admin/devices/inv-1
body_has '"state":"error"'
body_has '"last_error":907'
body_has '"last_error_name":"FOTA_ERR_IMAGE_SHA256"'
body_has '"done":7'
dev inv-1 "$DEVTGT/report" --method POST --body '{"state":"downloading",'
error_is 400 bad_request "truncated JSON"
dev inv-1 "$DEVTGT/report" --method POST --body '{"state":"Bad State"}'
error_is 400 bad_request "bad state"
dev inv-1 "$DEVTGT/report" --method POST --body '{"state":"booted","done":-1}'
error_is 400 bad_request "negative done"
dev inv-1 "$DEVTGT/report" --method POST --body '[1,2]'
error_is 400 bad_request "not an object"
dev inv-1 "$DEVTGT/report" --method POST --body "{\"state\":\"booted\",\"pad\":\"$(head -c 1100 /dev/zero | tr '\0' x)\"}"
error_is 413 too_large "report over 1024 bytes"

# --- authentication -----------------------------------------------------------------------------------
CHECK="$DEVTGT/check?version=1.0.0&hw=inv-5k"
dev inv-1 "$CHECK" --bad-mac
error_is 401 auth "corrupted MAC"
body_has "bad MAC"
dev inv-1 "$CHECK" --key-device inv-2
error_is 401 auth "another device's key"
dev inv-1 "$CHECK" --nonce 0123456789abcdef
expect 200 "first use of a nonce"
dev inv-1 "$CHECK" --nonce 0123456789abcdef
error_is 401 auth "replayed nonce"
body_has "replayed"
dev inv-2 "$DEVTGT/check?version=1.0.0&hw=other-board" --nonce 0123456789abcdef
expect 204 "the same nonce from another device"
dev inv-1 "$CHECK" --skew -301
error_is 401 auth "clock 301 s behind"
dev inv-1 "$CHECK" --skew 400
error_is 401 auth "clock 400 s ahead"
dev inv-1 "$CHECK" --skew -250
expect 200 "clock 250 s behind (inside the window)"
for h in X-Device-Id X-Fota-Time X-Fota-Nonce X-Fota-Auth; do
    dev inv-1 "$CHECK" --omit "$h"
    error_is 401 auth "missing $h"
done
dev 'bad id!' "$CHECK"
error_is 401 auth "malformed device id"
dev inv-1 "$CHECK" --nonce 0123
error_is 401 auth "short nonce"
dev inv-1 "$DEVTGT/report" --method POST --body "$REPORT" --bad-mac
error_is 401 auth "report with a bad MAC"
raw GET "$CHECK"
error_is 401 auth "no authentication at all"

# --- routing ------------------------------------------------------------------------------------------
dev inv-1 "$DEVTGT/nothing-here"
error_is 404 not_found "unknown device endpoint"
STATUS=$(curl -s -o "$W/body" -D "$W/headers" -w '%{http_code}' -X POST "$URL$DEVTGT/check")
error_is 405 method_not_allowed "POST check"
grep -qi '^Allow: GET, HEAD' "$W/headers" || fail "405 without Allow: GET, HEAD"

fotad_stop
grep -q 'request method=GET path="/api/inverter/fota/chunk?chunk_number=0" status=200 bytes=[0-9]* ms=[0-9.]* device=inv-1' \
    "$W/fotad.log" || fail "request log line missing or malformed"
grep -q 'status=401 .*error=auth cause="device authentication failed: replayed nonce"' \
    "$W/fotad.log" || fail "auth failure not logged with its cause"
pass
