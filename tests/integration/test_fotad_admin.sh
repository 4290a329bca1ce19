#!/usr/bin/env bash
# test_fotad_admin.sh - fotad's admin API end to end (docs/ADMIN_API.md): the bearer token
# (401 without, 403 wrong), release uploads and every refusal in the documented order (short,
# bad manifest, forged or tampered signature, wrong length, tampered blob, wrong image SHA-256,
# not an ESP32 image, too large with and without Content-Length), idempotent re-upload, the
# content-addressed objects on disk, listings, assignments and their errors, routing errors
# (404, 405 with Allow, 413, malformed JSON) and /healthz.
# Run by ctest as: bash test_fotad_admin.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotad-admin

make_keys
make_image 1.0.0 "$W/v1.bin" 16K
make_image 2.0.0 "$W/v2.bin" 16K
make_image 3.0.0 "$W/big.bin" 120K
R1=$(make_bundle "$W/v1.bin" inv-5k 1.0.0 "$W/v1.bundle")
R2=$(make_bundle "$W/v2.bin" inv-5k 2.0.0 "$W/v2.bundle" --security-version 3 --chunk-size 4096)
make_bundle "$W/big.bin" inv-5k 3.0.0 "$W/big.bundle" >/dev/null
fotad_start --max-upload 100K

upload() {
    admin POST /api/admin/releases --data-binary @"$1" -H 'Content-Type: application/octet-stream'
}

# --- token ------------------------------------------------------------------------------------------
raw GET /api/admin/releases
error_is 401 unauthorized "no token"
raw GET /api/admin/releases -H "Authorization: Basic dXNlcjpwYXNz"
error_is 401 unauthorized "another auth scheme"
raw GET /api/admin/releases -H "Authorization: Bearer"
error_is 401 unauthorized "empty bearer token"
raw GET /api/admin/releases -H "Authorization: Bearer wrong-token"
error_is 403 forbidden "wrong token"
raw GET /api/admin/releases -H "Authorization: Bearer ${TOKEN}x"
error_is 403 forbidden "token with one more character"
raw POST /api/admin/releases --data-binary @"$W/v1.bundle" -H "Authorization: Bearer nope"
error_is 403 forbidden "upload with a wrong token"
raw GET /healthz
expect 200 "healthz needs no token"
body_has '{"ok":true}'

# --- uploads that must be refused ------------------------------------------------------------------
head -c 100 "$W/v1.bundle" >"$W/short"
upload "$W/short"
error_is 400 bad_bundle "bundle shorter than a manifest"

cp "$W/v1.bundle" "$W/badmagic"
flip_byte "$W/badmagic" 0
upload "$W/badmagic"
error_is 400 bad_manifest "manifest with a bad magic"

# Signed by a key fotad does not know.
"$BUILD/fota-mkbundle" genkey "$W/other.pem" "$W/other.pub" || fail "genkey"
"$BUILD/fota-mkbundle" create --key "$W/other.pem" --image "$W/v1.bin" --product inv-5k \
    --version 1.0.0 -o "$W/forged" >/dev/null || fail "forged bundle"
upload "$W/forged"
error_is 422 bad_signature "signed by an unknown key"

cp "$W/v1.bundle" "$W/badsig"
flip_byte "$W/badsig" 190
upload "$W/badsig"
error_is 422 bad_signature "signature bytes changed"

cp "$W/v1.bundle" "$W/badbody"
# version "1.0.0" -> "1.9.0": still a valid manifest, but not the one that was signed
printf '9' | dd of="$W/badbody" bs=1 seek=42 conv=notrunc status=none
upload "$W/badbody"
error_is 422 bad_signature "a signed field changed"

head -c $(($(stat -c %s "$W/v1.bundle") - 1)) "$W/v1.bundle" >"$W/cut"
upload "$W/cut"
error_is 400 bad_bundle "bundle one byte short"
cat "$W/v1.bundle" <(printf 'x') >"$W/long"
upload "$W/long"
error_is 400 bad_bundle "bundle one byte long"

cp "$W/v1.bundle" "$W/tampered"
flip_byte "$W/tampered" $((256 + 3 * 1056 + 500)) # inside record 3
upload "$W/tampered"
error_is 422 chain_mismatch "tampered blob"
body_has "record 3"

make_bundle "$W/v1.bin" inv-5k 1.0.1 "$W/badsha" --bad-sha256 >/dev/null
upload "$W/badsha"
error_is 422 image_sha256 "image SHA-256 not the manifest's"

head -c 5000 /dev/urandom >"$W/notesp.bin"
make_bundle "$W/notesp.bin" inv-5k 1.0.2 "$W/notesp" >/dev/null
upload "$W/notesp"
error_is 422 bad_image "not an ESP32 image"

upload "$W/big.bundle"
error_is 413 too_large "upload over --max-upload (Content-Length)"
STATUS=$(curl -s -o "$W/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H 'Transfer-Encoding: chunked' --data-binary @"$W/big.bundle" "$URL/api/admin/releases")
error_is 413 too_large "upload over --max-upload (chunked)"

admin GET /api/admin/releases
expect 200 "list after refusals"
body_has '{"releases":[]}'
[ -z "$(ls -A "$W/data/objects" 2>/dev/null | grep -v '^$' || true)" ] || fail "a refused upload left objects"

# --- good uploads ---------------------------------------------------------------------------------
upload "$W/v1.bundle"
expect 201 "upload v1"
body_has "\"id\":\"$R1\""
UPLOADED=$(json_num uploaded)
upload "$W/v2.bundle"
expect 201 "upload v2"
for f in "\"id\":\"$R2\"" '"product":"inv-5k"' '"version":"2.0.0"' '"security_version":3' \
    '"image_size":16384' '"chunk_size":4096' '"chunk_count":4' '"blob_size":16512' \
    "\"image_sha256\":\"$(sha256sum "$W/v2.bin" | cut -c1-64)\""; do
    body_has "$f"
done
sleep 1
upload "$W/v1.bundle"
expect 200 "re-upload of the same manifest"
body_has "\"id\":\"$R1\""
[ "$(json_num uploaded)" = "$UPLOADED" ] || fail "re-upload changed the upload time"

# Objects are content-addressed: objects/ab/cdef... holds the bytes whose SHA-256 is abcdef...
bundle_parts v2
for f in "$W/v2.bin" "$W/v2.blob"; do
    sum=$(sha256sum "$f" | cut -c1-64)
    cmp -s "$f" "$W/data/objects/${sum:0:2}/${sum:2}" || fail "object for $(basename "$f") missing"
done
[ -z "$(ls -A "$W/data/tmp")" ] || fail "temporary files left in data/tmp"

admin GET /api/admin/releases
expect 200 "list releases"
[ "$(grep -o '"id":"[0-9a-f]*"' "$W/body" | cut -d'"' -f4 | tr '\n' ' ')" = "$R2 $R1 " ] ||
    fail "releases not listed newest upload first"
admin GET "/api/admin/releases/$R2"
expect 200 "get release"
body_has '"blob_size":16512'
admin GET /api/admin/releases/0123456789abcdef0123456789abcdef
error_is 404 not_found "unknown release"
admin GET /api/admin/releases/NOT-AN-ID
error_is 404 not_found "malformed release id"

# --- assignments ------------------------------------------------------------------------------------
assign() {
    admin POST /api/admin/assignments -d "$1"
}
assign "{\"release\":\"$R1\",\"product\":\"inv-5k\"}"
expect 201 "assign to a product"
body_has "\"product\":\"inv-5k\""
assign "{\"release\":\"$R2\",\"device\":\"inv-7\"}"
expect 201 "assign to an unknown device"
body_has '"device":"inv-7"'
assign "{\"release\":\"0123456789abcdef0123456789abcdef\",\"device\":\"inv-7\"}"
error_is 404 not_found "assign an unknown release"
assign "{\"release\":\"$R1\",\"product\":\"other-board\"}"
error_is 422 product_mismatch "assign to another product"
dev inv-8 "/api/inverter/fota/check?version=1.0.0&hw=other-board"
expect 204 "inv-8 checks in as other-board"
assign "{\"release\":\"$R1\",\"device\":\"inv-8\"}"
error_is 422 product_mismatch "assign to a device of another product"
assign "{\"release\":\"$R1\"}"
error_is 400 bad_request "neither device nor product"
assign "{\"release\":\"$R1\",\"device\":\"inv-7\",\"product\":\"inv-5k\"}"
error_is 400 bad_request "both device and product"
assign "{\"release\":\"$R1\",\"device\":\"no spaces\"}"
error_is 400 bad_request "malformed device id"
assign "{\"release\":42,\"device\":\"inv-7\"}"
error_is 400 bad_request "release not a string"
assign '{"release":'
error_is 400 bad_request "malformed JSON"
assign "{\"release\":\"$R1\",\"device\":\"inv-7\"} trailing"
error_is 400 bad_request "trailing garbage after the JSON"
head -c 70000 /dev/zero | tr '\0' ' ' >"$W/huge.json"
admin POST /api/admin/assignments --data-binary @"$W/huge.json"
error_is 413 too_large "admin JSON over 64 KiB"
assign "{\"release\":\"$R2\",\"product\":\"inv-5k\"}"
expect 201 "replace the product's assignment"
admin GET /api/admin/assignments
expect 200 "list assignments"
body_has "{\"release\":\"$R2\",\"device\":\"inv-7\""
body_has "{\"release\":\"$R2\",\"product\":\"inv-5k\""
[ "$(grep -o '"release"' "$W/body" | wc -l)" -eq 2 ] || fail "assignment not replaced"

# --- devices -------------------------------------------------------------------------------------------
dev inv-b "/api/inverter/fota/check?version=1.0.0&hw=inv-5k"
dev inv-a "/api/inverter/fota/manifest?release=$R1"
admin GET /api/admin/devices
expect 200 "list devices"
[ "$(grep -o '"id":"[^"]*"' "$W/body" | cut -d'"' -f4 | tr '\n' ' ')" = "inv-8 inv-a inv-b " ] ||
    fail "devices not listed by id (or a device missing): $(cat "$W/body")"
admin GET /api/admin/devices/inv-a
expect 200 "a device seen only through a manifest request"
body_has '"reports":[]'
admin GET /api/admin/devices/inv-zzz
error_is 404 not_found "unknown device"

# --- routing and methods ----------------------------------------------------------------------------
admin GET /api/admin/nothing
error_is 404 not_found "unknown admin route"
raw GET /nothing
error_is 404 not_found "unknown route"
STATUS=$(curl -s -o "$W/body" -D "$W/headers" -w '%{http_code}' -X DELETE \
    -H "Authorization: Bearer $TOKEN" "$URL/api/admin/releases")
error_is 405 method_not_allowed "DELETE releases"
grep -qi '^Allow: POST, GET, HEAD' "$W/headers" || fail "405 without the right Allow: $(cat "$W/headers")"
admin PUT "/api/admin/releases/$R1"
error_is 405 method_not_allowed "PUT a release"
admin GET /api/admin/assignments --data-binary 'x'
error_is 413 too_large "a body on a GET"

fotad_stop
pass
