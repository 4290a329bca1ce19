#!/usr/bin/env bash
# test_fota_delta.sh - fota-delta end to end: create a patch between two generated images and
# apply it with the device's applier (the result is the new image byte for byte), a patch for
# another source image refused with FOTA_ERR_DELTA_SOURCE, truncated and damaged patches
# refused with a one-line error and no output file, info's header, records and segments, the
# options and usage errors.
# Run by ctest as: bash test_fota_delta.sh BUILD_DIR
set -euo pipefail

BUILD=${1:?usage: test_fota_delta.sh BUILD_DIR}
TOOL="$BUILD/fota-delta"
IMG="$BUILD/fota-image"
[ -x "$TOOL" ] || { echo "FAIL: $TOOL not built" >&2; exit 1; }
[ -x "$IMG" ] || { echo "FAIL: $IMG not built" >&2; exit 1; }
. "$(dirname "$0")/lib/cli.sh" test_fota_delta

# Two releases of one firmware: the same content seed, another version and 8 KB more code, so
# they share most bytes (2,616 differ in place) as two builds do; and an unrelated third image.
"$IMG" create --version 1.0.0 --size 128K --seed 7 -o "$W/v1.bin" >/dev/null
"$IMG" create --version 1.1.0 --size 136K --seed 7 -o "$W/v2.bin" >/dev/null
"$IMG" create --version 2.0.0 --size 96K --seed 8 -o "$W/other.bin" >/dev/null

# --- help and usage errors ---------------------------------------------------------------------
run 0 "$TOOL" --help
has_re out "usage: fota-delta"
for sub in create apply info; do
    run 0 "$TOOL" "$sub" --help
    has_re out "usage: fota-delta $sub"
done
run 2 "$TOOL"
run 2 "$TOOL" create "$W/v1.bin" "$W/v2.bin"
one_line_error_re "missing"
run 2 "$TOOL" create "$W/v1.bin" "$W/v2.bin" "$W/p" --record-size 100
one_line_error_re "--record-size must be 256 to 65536"
run 2 "$TOOL" create "$W/v1.bin" "$W/v2.bin" "$W/p" --segment-records 0
one_line_error_re "--segment-records must be 1 or more"
run 2 "$TOOL" create "$W/v1.bin" "$W/v2.bin" "$W/p" --segment-records x
one_line_error_re "invalid --segment-records 'x'"
run 1 "$TOOL" create "$W/v1.bin" "$W/nope.bin" "$W/p"
one_line_error_re "nope.bin: cannot read: .*FOTA_ERR_IO"
[ ! -e "$W/p" ] || fail "a patch was written after an error"

# --- round trip ----------------------------------------------------------------------------------
run 0 "$TOOL" create "$W/v1.bin" "$W/v2.bin" "$W/p12"
has_re out "p12: created, [0-9]+ bytes \([0-9.]+ % of .*v2.bin, 139264 bytes\), [0-9]+ records, [0-9]+ segments"
size=$(stat -c %s "$W/p12")
[ "$size" -lt 20000 ] || fail "patch between two close releases is $size bytes"
run 0 "$TOOL" apply "$W/v1.bin" "$W/p12" "$W/v2.out"
has_re out "applied to .*v1.bin, 139264 bytes written to .*v2.out"
cmp "$W/v2.bin" "$W/v2.out" || fail "apply did not give the new image"

# Backwards (the new image is smaller) and between unrelated images (all inserted bytes).
run 0 "$TOOL" create "$W/v2.bin" "$W/v1.bin" "$W/p21"
run 0 "$TOOL" apply "$W/v2.bin" "$W/p21" "$W/v1.out"
cmp "$W/v1.bin" "$W/v1.out" || fail "the backward patch did not give the old image"
run 0 "$TOOL" create "$W/v1.bin" "$W/other.bin" "$W/p1o"
run 0 "$TOOL" apply "$W/v1.bin" "$W/p1o" "$W/other.out"
cmp "$W/other.bin" "$W/other.out" || fail "the patch to an unrelated image did not apply"

# Other record sizes and segments: 512-byte records, two records per segment.
run 0 "$TOOL" create "$W/v1.bin" "$W/v2.bin" "$W/p512" --record-size 512 --segment-records 2
has_re out ", ([0-9]+) records, [0-9]+ segments"
recs512=$(sed -n 's/.*, \([0-9]*\) records, \([0-9]*\) segments.*/\1 \2/p' "$W/out")
[ "${recs512#* }" -eq $(( (${recs512% *} + 1) / 2 )) ] || fail "--segment-records 2: $recs512 (records, segments)"
run 0 "$TOOL" apply "$W/v1.bin" "$W/p512" "$W/v2.512"
cmp "$W/v2.bin" "$W/v2.512" || fail "the 512-byte-record patch did not apply"

# --- info ----------------------------------------------------------------------------------------
run 0 "$TOOL" info "$W/p12"
has_re out "^New image: +139264 bytes"
has_re out "^Source image: +131072 bytes"
has_re out "^Record size: +1024 bytes"
records=$(( (size - 16 + 1023) / 1024 ))
has_re out "^Records: +$records \(the last $(( (size - 16) - (records - 1) * 1024 )) bytes\)"
has_re out "^  0 +0 +0x00000000 +0x00000000 +1 +[0-9]+$"
# A segment per record (the default); the segments' records add up to the patch's and their new
# bytes to the new image.
awk '/^  [0-9]/ { r += $5; b += $6 } END { print r, b }' "$W/out" >"$W/sum"
[ "$(cat "$W/sum")" = "$records 139264" ] || fail "segments sum to $(cat "$W/sum")"
run 0 "$TOOL" info "$W/p512"
[ "$(grep -c '^  [0-9]' "$W/out")" -eq "$(( ($(stat -c %s "$W/p512") - 16 + 1023) / 1024 ))" ] ||
    fail "--segment-records 2: not one segment per two records"
run 0 "$TOOL" info "$W/p12"
[ "$(grep -c '^  [0-9]' "$W/out")" -eq "$records" ] || fail "the default: not one segment per record"

# --- refused patches -----------------------------------------------------------------------------
# Made for another source image.
run 1 "$TOOL" apply "$W/v2.bin" "$W/p12" "$W/bad.out"
one_line_error_re "made for a source image of 131072 bytes, not 139264: .*\(FOTA_ERR_DELTA_SOURCE\)$"
[ ! -e "$W/bad.out" ] || fail "an image was written for a patch of another source"

# Truncated inside a record, at a record boundary, inside the header.
head -c $((size - 100)) "$W/p12" >"$W/cut"
run 1 "$TOOL" apply "$W/v1.bin" "$W/cut" "$W/bad.out"
one_line_error_re "record $((records - 1)) \(patch offset [0-9]+\): .*\(FOTA_ERR_DELTA_CORRUPT\)$"
head -c $((16 + 2 * 1024)) "$W/p12" >"$W/cut"
run 1 "$TOOL" apply "$W/v1.bin" "$W/cut" "$W/bad.out"
one_line_error_re "the patch ends after [0-9]+ of the new image's 139264 bytes: .*\(FOTA_ERR_DELTA_CORRUPT\)$"
head -c 10 "$W/p12" >"$W/cut"
run 1 "$TOOL" apply "$W/v1.bin" "$W/cut" "$W/bad.out"
one_line_error_re "FOTA_ERR_DELTA_FORMAT"
run 1 "$TOOL" info "$W/cut"
one_line_error_re "FOTA_ERR_DELTA_FORMAT"
[ ! -e "$W/bad.out" ] || fail "an image was written for a truncated patch"

# A first segment that does not start at the new image's first byte (its new position, after
# the flags byte and the output length's LEB128 bytes, set to 5).
at=17
while [ "$(od -An -tu1 -j "$at" -N1 "$W/p12" | tr -d ' ')" -ge 128 ]; do at=$((at + 1)); done
cp "$W/p12" "$W/late"
printf '\005' | dd of="$W/late" bs=1 seek=$((at + 1)) conv=notrunc status=none
run 1 "$TOOL" apply "$W/v1.bin" "$W/late" "$W/bad.out"
one_line_error_re "record 0 does not start the new image: .*\(FOTA_ERR_DELTA_ORDER\)$"

# Damaged: the range coder does not check itself (the hash chain authenticates each record
# before the applier sees it), so a flipped byte is either refused with a delta error or decoded
# into other bytes, always within the images (the sanitizer build checks every access).
refused=0
for off in 20 40 100 500 1100 3000 $((size - 20)); do
    cp "$W/p12" "$W/flip"
    flip_byte "$W/flip" "$off"
    rm -f "$W/bad.out"
    got=0
    "$TOOL" apply "$W/v1.bin" "$W/flip" "$W/bad.out" >"$W/out" 2>"$W/err" || got=$?
    if grep -qE 'Sanitizer|runtime error:' "$W/err"; then cat "$W/err" >&2; fail "sanitizer report"; fi
    case $got in
    0) ! cmp -s "$W/bad.out" "$W/v2.bin" || fail "a flipped byte at $off changed nothing" ;;
    1) one_line_error_re "\(FOTA_ERR_DELTA_[A-Z_]+\)$"
       [ ! -e "$W/bad.out" ] || fail "an image was written for a refused patch"
       refused=$((refused + 1)) ;;
    *) fail "exit $got for a flipped byte at $off" ;;
    esac
done
[ "$refused" -ge 1 ] || fail "no damaged patch was refused"
# A record whose flags byte is not 0 or 1: info names it.
cp "$W/p12" "$W/flip"
printf '\002' | dd of="$W/flip" bs=1 seek=$((16 + 1024)) conv=notrunc status=none
run 1 "$TOOL" info "$W/flip"
one_line_error_re "record 1: malformed start \(FOTA_ERR_DELTA_CORRUPT\)$"

echo "PASS: test_fota_delta"
