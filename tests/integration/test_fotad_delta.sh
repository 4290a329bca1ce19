#!/usr/bin/env bash
# test_fotad_delta.sh - delta updates through a real fotad on loopback (docs/PROTOCOL.md,
# docs/ADMIN_API.md): two ESP32 images, both released with fotactl; a delta from the old one to
# the new release made by fotactl release delta and checked by fotactl release inspect; hostile
# delta uploads refused with their codes and nothing stored (a tampered record, a manifest of
# another key, a release fotad does not have, a release of the same version with another image,
# truncated, padded, a malformed manifest); the delta uploaded (again: 200, the same delta); the
# release listing it; checks with and without image= (and with another image, a malformed one);
# the 320-byte delta manifest; the delta's blob by Range (first, middle and last record) and
# whole, byte for byte the bundle's, its records applied by the agent's applier to the old image
# giving the new image; a delta_failed report stored.
# Run by ctest as: bash test_fotad_delta.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotad-delta
[ -x "$BUILD/fota-delta-apply" ] || fail "$BUILD/fota-delta-apply not built"

DEVTGT=/api/inverter/fota
PRODUCT=inv-5k
operator_keys
# The same content seed: v2 is v1 with another version and 16 KB more, so the patch is small.
"$BUILD/fota-image" create --version 1.0.0 --size 64K --seed 7 -o "$W/v1.bin" >/dev/null ||
    fail "fota-image v1"
"$BUILD/fota-image" create --version 2.0.0 --size 80K --seed 7 -o "$W/v2.bin" >/dev/null ||
    fail "fota-image v2"
"$BUILD/fota-image" create --version 3.0.0 --size 64K --seed 8 -o "$W/v3.bin" >/dev/null ||
    fail "fota-image v3"
R1=$(fotactl_release "$W/v1.bin" "$W/v1.bundle")
R2=$(fotactl_release "$W/v2.bin" "$W/v2.bundle")
R3=$(fotactl_release "$W/v3.bin" "$W/v3.bundle")
# The image id of v1: the SHA-256 appended to it, which is the SHA-256 of the bytes before it.
SRC=$(tail -c 32 "$W/v1.bin" | od -An -tx1 -v | tr -d ' \n')
[ "$SRC" = "$(head -c -32 "$W/v1.bin" | sha256sum | cut -c1-64)" ] || fail "v1 has no appended hash"
V2ID=$(tail -c 32 "$W/v2.bin" | od -An -tx1 -v | tr -d ' \n')
fotad_start

# --- fotactl release delta and inspect (offline) -------------------------------------------------
D=$("$BUILD/fotactl" release delta --from "$W/v1.bin" --release "$W/v2.bundle" \
    --key "$W/release.pem" -o "$W/d.bundle" 2>"$W/delta.err") || { cat "$W/delta.err" >&2; fail "release delta"; }
[[ "$D" =~ ^[0-9a-f]{32}$ ]] || fail "release delta printed '$D', not an id"
grep -qE "delta $D: $PRODUCT 2.0.0 from image $SRC \(65536 bytes\), patch [0-9]+ bytes in 1024-byte records, blob [0-9]+ bytes = [0-9.]+% of the full download" \
    "$W/delta.err" || { cat "$W/delta.err" >&2; fail "release delta summary"; }
head -c 320 "$W/d.bundle" >"$W/d.manifest"
tail -c +321 "$W/d.bundle" >"$W/d.blob"
BLOB=$(stat -c %s "$W/d.blob")
[ "$(head -c 320 "$W/d.bundle" | sha256sum | cut -c1-32)" = "$D" ] || fail "delta id is not SHA-256(manifest)"
"$BUILD/fotactl" release inspect "$W/d.bundle" --public "$W/release.pub" >"$W/inspect.out" ||
    fail "inspect of the delta bundle"
RECORDS=$(sed -n 's/^chain *\([0-9]*\) records valid$/\1/p' "$W/inspect.out")
for want in "delta             $D" "source            65536 bytes, sha256 $SRC" "image             81920 bytes" \
    "signature         valid" "version           2.0.0"; do
    grep -qF "$want" "$W/inspect.out" || { cat "$W/inspect.out" >&2; fail "inspect lacks '$want'"; }
done
[ "$RECORDS" -ge 3 ] || fail "the patch has $RECORDS records, the test wants 3 or more"
[ "$BLOB" -eq $(( $(sed -n 's/^patch *\([0-9]*\) bytes.*/\1/p' "$W/inspect.out") + 32 * RECORDS )) ] ||
    fail "blob size is not patch + 32 per record"
# A tampered record, another key: inspect says so and fails.
cp "$W/d.bundle" "$W/bad-record.bundle"
flip_byte "$W/bad-record.bundle" $((320 + 1056 + 100)) # record 1
"$BUILD/fotactl" release inspect "$W/bad-record.bundle" >"$W/x.out" 2>"$W/x.err" &&
    fail "inspect accepted a tampered record"
grep -q "record 1 fails the hash chain" "$W/x.err" || { cat "$W/x.err" >&2; fail "inspect's chain error"; }
"$BUILD/fotactl" keygen --private "$W/other.pem" --public "$W/other.pub" >/dev/null || fail keygen
"$BUILD/fotactl" release inspect "$W/d.bundle" --public "$W/other.pub" >"$W/x.out" 2>"$W/x.err" &&
    fail "inspect accepted a delta with another key"
# release delta refuses a source without an appended hash, and a release signed by another key.
head -c -32 "$W/v1.bin" >"$W/nohash.bin"
"$BUILD/fotactl" release delta --from "$W/nohash.bin" --release "$W/v2.bundle" --key "$W/release.pem" \
    -o "$W/x.bundle" >/dev/null 2>"$W/x.err" && fail "release delta from an image without its hash"
"$BUILD/fotactl" release delta --from "$W/v1.bin" --release "$W/v2.bundle" --key "$W/other.pem" \
    -o "$W/x.bundle" >/dev/null 2>"$W/x.err" && fail "release delta of a release of another key"
grep -q "not signed with this key" "$W/x.err" || { cat "$W/x.err" >&2; fail "release delta's key error"; }

# --- uploads ----------------------------------------------------------------------------------
upload() {
    admin POST /api/admin/releases --data-binary @"$1" -H 'Content-Type: application/octet-stream'
}
fotactl_ok release upload "$W/v1.bundle"
fotactl_ok release upload "$W/v2.bundle"
objects() { find "$W/data/objects" -type f | sort; }
objects >"$W/objects.before"
# Hostile or mistaken delta bundles: refused with a clear code, nothing stored.
upload "$W/bad-record.bundle"
error_is 422 chain_mismatch "a tampered record"
body_has "record 1"
# The same delta signed with a key fotad does not have.
"$BUILD/fotactl" release create --image "$W/v2.bin" --key "$W/other.pem" --product "$PRODUCT" \
    -o "$W/v2-other.bundle" >/dev/null 2>&1 || fail "release create with the other key"
"$BUILD/fotactl" release delta --from "$W/v1.bin" --release "$W/v2-other.bundle" --key "$W/other.pem" \
    -o "$W/d-other.bundle" >/dev/null 2>&1 || fail "release delta with the other key"
upload "$W/d-other.bundle"
error_is 422 bad_signature "a delta of another key"
# A delta to a release fotad does not have (v3 was never uploaded).
"$BUILD/fotactl" release delta --from "$W/v1.bin" --release "$W/v3.bundle" --key "$W/release.pem" \
    -o "$W/d3.bundle" >/dev/null 2>&1 || fail "release delta to v3"
upload "$W/d3.bundle"
error_is 404 unknown_release "a delta of an unknown release"
body_has "version 3.0.0"
# The same product and version as a stored release, but another security version.
"$BUILD/fotactl" release create --image "$W/v2.bin" --key "$W/release.pem" --product "$PRODUCT" \
    --security-version 5 -o "$W/v2-sv5.bundle" >/dev/null 2>&1 || fail "release create sv5"
"$BUILD/fotactl" release delta --from "$W/v1.bin" --release "$W/v2-sv5.bundle" --key "$W/release.pem" \
    -o "$W/d-sv5.bundle" >/dev/null 2>&1 || fail "release delta sv5"
upload "$W/d-sv5.bundle"
error_is 409 release_mismatch "a delta of another image of a stored version"
head -c 300 "$W/d.bundle" >"$W/short.bundle"
upload "$W/short.bundle"
error_is 400 bad_bundle "a delta bundle shorter than its manifest"
head -c -1 "$W/d.bundle" >"$W/trunc.bundle"
upload "$W/trunc.bundle"
error_is 400 bad_bundle "a truncated delta bundle"
{ cat "$W/d.bundle"; printf x; } >"$W/long.bundle"
upload "$W/long.bundle"
error_is 400 bad_bundle "a delta bundle with a byte too many"
cp "$W/d.bundle" "$W/bad-manifest.bundle"
flip_byte "$W/bad-manifest.bundle" 210 # reserved bytes must be zero
upload "$W/bad-manifest.bundle"
error_is 400 bad_manifest "a malformed delta manifest"
cp "$W/d.bundle" "$W/bad-sig.bundle"
flip_byte "$W/bad-sig.bundle" 100 # in the signed body: the signature no longer verifies
upload "$W/bad-sig.bundle"
error_is 422 bad_signature "a delta manifest changed after signing"
objects >"$W/objects.after"
cmp -s "$W/objects.before" "$W/objects.after" || fail "a refused delta left objects behind"
admin GET "/api/admin/releases/$R2"
expect 200 "release after the refusals"
body_has '"deltas":[]'

# The real one: 201, stored; again: 200, the same delta.
upload "$W/d.bundle"
expect 201 "delta upload"
for f in "\"delta\":\"$D\"" "\"release\":\"$R2\"" "\"source_sha256\":\"$SRC\"" '"source_size":65536' \
    "\"blob_size\":$BLOB" "\"chunk_count\":$RECORDS" '"chunk_size":1024'; do
    body_has "$f"
done
: >"$W/ctl.out"
fotactl_ok release upload "$W/d.bundle"
grep -qx "$D already uploaded" "$W/ctl.out" || { cat "$W/ctl.out" >&2; fail "fotactl upload of a stored delta"; }
admin GET "/api/admin/releases/$R2"
expect 200 "release with its delta"
body_has "\"deltas\":[{\"delta\":\"$D\",\"release\":\"$R2\""
admin GET "/api/admin/releases/$R1"
body_has '"deltas":[]'
"$BUILD/fotactl" release show "$R2" --server "$URL" --token-file "$W/token" >"$W/show.out" ||
    fail "fotactl release show"
grep -qE "^$D +$SRC +[0-9]+ +$BLOB " "$W/show.out" || { cat "$W/show.out" >&2; fail "release show lacks the delta"; }
# The delta's objects (blob and manifest) are in the object store under their SHA-256.
for part in d.blob d.manifest; do
    h=$(sha256sum "$W/$part" | cut -c1-64)
    cmp -s "$W/data/objects/${h:0:2}/${h:2}" "$W/$part" || fail "object of $part missing"
done

# --- device: check ------------------------------------------------------------------------------
admin POST /api/admin/assignments -d "{\"release\":\"$R2\",\"product\":\"$PRODUCT\"}"
expect 201 "assign v2"
dev inv-1 "$DEVTGT/check?version=1.0.0&hw=$PRODUCT"
expect 200 "check without image"
body_has "\"release\":\"$R2\""
grep -qF '"delta"' "$W/body" && fail "a delta offered to a check without image"
dev inv-1 "$DEVTGT/check?version=1.0.0&hw=$PRODUCT&image=$SRC"
expect 200 "check with the source image"
body_has "\"release\":\"$R2\""
body_has "\"delta\":\"$D\""
body_has "\"delta_size\":$BLOB"
[ "$(stat -c %s "$W/body")" -le 512 ] || fail "an offer with a delta over 512 bytes"
dev inv-1 "$DEVTGT/check?version=1.0.0&hw=$PRODUCT&image=${SRC^^}"
expect 200 "check with the image id in upper case"
body_has "\"delta\":\"$D\""
dev inv-1 "$DEVTGT/check?version=1.0.0&hw=$PRODUCT&image=$V2ID"
expect 200 "check with another image"
grep -qF '"delta"' "$W/body" && fail "a delta offered for another image"
dev inv-1 "$DEVTGT/check?version=1.0.0&hw=$PRODUCT&image=${SRC:0:63}"
error_is 400 bad_request "image of 63 digits"
dev inv-1 "$DEVTGT/check?version=1.0.0&hw=$PRODUCT&image=${SRC:0:63}g"
error_is 400 bad_request "image not hex"
dev inv-1 "$DEVTGT/check?version=2.0.0&hw=$PRODUCT&image=$SRC"
expect 204 "check when running the assigned version"

# --- device: the delta's manifest and blob ---------------------------------------------------------
dev inv-1 "$DEVTGT/manifest?release=$D" --out "$W/got.manifest"
expect 200 "delta manifest"
[ "$(stat -c %s "$W/got.manifest")" -eq 320 ] || fail "delta manifest is not 320 bytes"
cmp -s "$W/got.manifest" "$W/d.manifest" || fail "delta manifest differs from the upload"
dev inv-1 "$DEVTGT/manifest?release=${D^^}" --out "$W/got.manifest"
expect 200 "delta manifest, id in upper case"
cmp -s "$W/got.manifest" "$W/d.manifest" || fail "delta manifest (upper case id) differs"
# range FIRST LEN: a 206 with exactly blob[FIRST, FIRST+LEN), the blob's ETag.
range() {
    dev inv-1 "$DEVTGT/blob/$D" --range "bytes=$1-$(($1 + $2 - 1))" --show Content-Range --show ETag \
        --out "$W/part"
    expect 206 "delta blob Range at $1"
    body_has "Content-Range: bytes $1-$(($1 + $2 - 1))/$BLOB"
    body_has "ETag: \"$(sha256sum "$W/d.blob" | cut -c1-64)\""
    dd if="$W/d.blob" of="$W/want" bs=1 skip="$1" count="$2" status=none
    cmp -s "$W/part" "$W/want" || fail "delta blob Range at $1: wrong bytes"
}
MID=$((RECORDS / 2))
range 0 1056                                    # the first record
range $((MID * 1056)) 1056                      # a middle one
range $(((RECORDS - 1) * 1056)) $((BLOB - (RECORDS - 1) * 1056)) # the last (shorter) one
dev inv-1 "$DEVTGT/blob/$D" --range "bytes=$BLOB-" --show Content-Range
error_is 416 range "delta blob Range past the end"
# The whole blob in three resumed pieces, then applied as a device applies it.
: >"$W/fetched.blob"
for spec in "0-999" "1000-$((BLOB / 2))" "$((BLOB / 2 + 1))-"; do
    dev inv-1 "$DEVTGT/blob/$D" --range "bytes=$spec" --out "$W/piece"
    expect 206 "delta blob piece $spec"
    cat "$W/piece" >>"$W/fetched.blob"
done
cmp -s "$W/fetched.blob" "$W/d.blob" || fail "the fetched delta blob differs from the bundle's"
"$BUILD/fota-delta-apply" "$W/got.manifest" "$W/fetched.blob" "$W/v1.bin" "$W/patched.bin" ||
    fail "the served delta does not apply"
cmp -s "$W/patched.bin" "$W/v2.bin" || fail "the patched image is not v2"
# The applier is no rubber stamp: the records against another source image fail.
"$BUILD/fota-delta-apply" "$W/got.manifest" "$W/fetched.blob" "$W/v3.bin" "$W/x.bin" 2>/dev/null &&
    cmp -s "$W/x.bin" "$W/v2.bin" && fail "the delta applied to another image gave v2"
dev inv-1 "$DEVTGT/blob/0123456789abcdef0123456789abcdef"
error_is 404 not_found "blob of an unknown id"
dev inv-1 "$DEVTGT/chunk?chunk_number=0&release=$D"
error_is 404 not_found "a seed-mode chunk of a delta"

# --- a delta that failed on the device --------------------------------------------------------------
dev inv-1 "$DEVTGT/report" --method POST --content-type application/json \
    --body "{\"state\":\"delta_failed\",\"release\":\"$R2\",\"version\":\"2.0.0\",\"running\":\"1.0.0\",\"done\":0,\"total\":$RECORDS,\"error\":1201}"
expect 204 "delta_failed report"
admin GET /api/admin/devices/inv-1
body_has '"state":"delta_failed"'
body_has '"last_error":1201'
body_has '"last_error_name":"FOTA_ERR_DELTA_SOURCE"'
body_has "\"release\":\"$R2\""

fotad_stop
# A restarted fotad still serves the delta (from its row and objects).
fotad_start
dev inv-2 "$DEVTGT/check?version=1.0.0&hw=$PRODUCT&image=$SRC"
body_has "\"delta\":\"$D\""
dev inv-2 "$DEVTGT/blob/$D" --out "$W/again.blob"
expect 200 "delta blob after a restart"
cmp -s "$W/again.blob" "$W/d.blob" || fail "delta blob after a restart differs"
fotad_stop
pass
