#!/usr/bin/env bash
# test_fota_image.sh - fota-image end to end: create, info and verify images, and the errors a
# damaged image must give (checksum, hash, truncation, magic), usage errors and exit codes; images
# for every chip of the family (--chip), named in info and verify, with esptool's segment names.
# Run by ctest as: bash test_fota_image.sh BUILD_DIR
set -euo pipefail

BUILD=${1:?usage: test_fota_image.sh BUILD_DIR}
TOOL="$BUILD/fota-image"
[ -x "$TOOL" ] || { echo "FAIL: $TOOL not built" >&2; exit 1; }
. "$(dirname "$0")/lib/cli.sh" test_fota_image

set_byte() {
    # shellcheck disable=SC2059
    printf "$(printf '\\%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# --- help and usage errors ---------------------------------------------------------------------
run 0 "$TOOL" --help
has out "usage: fota-image"
has out "verify"
for sub in create info verify; do
    run 0 "$TOOL" "$sub" --help
    has out "usage: fota-image $sub"
done
run 2 "$TOOL"
run 2 "$TOOL" frobnicate
one_line_error "unknown command 'frobnicate'"
run 2 "$TOOL" create --version 1.0.0 --size 64K -o "$W/x.bin" --bogus
one_line_error "unknown option '--bogus'"
run 2 "$TOOL" info
one_line_error "missing FILE"
run 2 "$TOOL" create --size 64K -o "$W/x.bin"
one_line_error "missing --version"
run 2 "$TOOL" create --version 1.0.0 --size lots -o "$W/x.bin"
one_line_error "invalid --size 'lots'"
run 2 "$TOOL" create --version 1.0.0 --size 64K --seed 12z -o "$W/x.bin"
one_line_error "invalid --seed"
run 2 "$TOOL" create --version 0123456789012345678901234567890123 --size 64K -o "$W/x.bin"
one_line_error "--version must be 1 to 31 characters"
run 2 "$TOOL" verify "$W/x.bin" --max-size
one_line_error "needs a value"
[ ! -e "$W/x.bin" ] || fail "a failed create wrote a file"

# --- create, info, verify ----------------------------------------------------------------------
run 0 "$TOOL" create --version 1.2.3 --size 64K --project inverter-fw --secure-version 7 -o "$W/a.bin"
has out "version 1.2.3"
has out "65536 bytes"
[ "$(stat -c %s "$W/a.bin")" -eq 65536 ] || fail "64K image is not 65536 bytes"

run 0 "$TOOL" verify "$W/a.bin"
has out "$W/a.bin: valid, version 1.2.3, 65536 bytes, chip ESP32 (id 0)"

run 0 "$TOOL" info "$W/a.bin"
has out "magic           0xe9"
has out "chip            ESP32 (id 0)"
has out "hash appended   yes"
has out "version         1.2.3"
has out "project         inverter-fw"
has out "secure version  7"
has out "self-test passes"
has out "Result:           $W/a.bin: valid, version 1.2.3, 65536 bytes"
grep -Eq '^Checksum: +0x[0-9a-f]{2} at 0x[0-9a-f]+, computed 0x[0-9a-f]{2}: valid$' "$W/out" ||
    fail "info: checksum line"
grep -Eq '^SHA-256: +[0-9a-f]{64}: valid$' "$W/out" || fail "info: SHA-256 line"
grep -Eq '^  0 +0x00000020 ' "$W/out" || fail "info: segment 0 does not start at 0x20"
segments=$(grep -cE '^  [0-9]+ +0x[0-9a-f]{8}  0x[0-9a-f]{8}  0x[0-9a-f]{8}' "$W/out")
grep -q "segments        $segments\$" "$W/out" || fail "info: $segments segment lines, header differs"

# Sizes in bytes and with M suffix; the default project name.
run 0 "$TOOL" create --version 2.0.0 --size 1068032 -o "$W/b.bin"
run 0 "$TOOL" verify "$W/b.bin"
has out "valid, version 2.0.0, 1068032 bytes"
run 0 "$TOOL" create --version 2.0.0 --size 1M -o "$W/m.bin"
run 0 "$TOOL" verify "$W/m.bin" --max-size 0x140000
has out "valid, version 2.0.0, 1048576 bytes"
run 0 "$TOOL" info "$W/m.bin"
has out "project         fota-test"

# Reproducible content; another version or seed changes it.
run 0 "$TOOL" create --version 1.2.3 --size 64K --project inverter-fw --secure-version 7 -o "$W/a2.bin"
cmp -s "$W/a.bin" "$W/a2.bin" || fail "same parameters gave different images"
run 0 "$TOOL" create --version 1.2.3 --size 64K --project inverter-fw --secure-version 7 --seed 99 -o "$W/a3.bin"
if cmp -s "$W/a.bin" "$W/a3.bin"; then fail "--seed did not change the content"; fi

# The emulator note.
run 0 "$TOOL" create --version 3.0.0 --size 64K --fail-selftest -o "$W/f.bin"
has out "self-test fails"
run 0 "$TOOL" info "$W/f.bin"
has out "Emulator flags:   0x00000001 (self-test fails"

# A size that is not a multiple of 16 is rounded up.
run 0 "$TOOL" create --version 1.0.0 --size 1030 -o "$W/r.bin"
[ "$(stat -c %s "$W/r.bin")" -eq 1040 ] || fail "--size 1030 did not give 1040 bytes"

# --- chips -------------------------------------------------------------------------------------
# --chip-id still writes any id; a known one is named, an unknown one is not.
run 0 "$TOOL" create --version 1.0.0 --size 64K --chip-id 9 -o "$W/s3.bin"
run 0 "$TOOL" info "$W/s3.bin"
has out "chip            ESP32-S3 (id 9)"
run 0 "$TOOL" create --version 1.0.0 --size 64K --chip-id 0x1234 -o "$W/unknown.bin"
has out "chip unknown chip (id 4660)"
run 0 "$TOOL" verify "$W/unknown.bin"
has out "chip unknown chip (id 4660)"
run 2 "$TOOL" create --version 1.0.0 --size 64K --chip esp32s3 --chip-id 9 -o "$W/x.bin"
one_line_error "--chip and --chip-id exclude each other"
run 2 "$TOOL" create --version 1.0.0 --size 64K --chip esp8266 -o "$W/x.bin"
one_line_error "unknown --chip 'esp8266': one of esp32, esp32s2, esp32c3, esp32s3,"
[ ! -e "$W/x.bin" ] || fail "a failed create wrote a file"

# Every chip ESP-IDF v5.5 builds apps for: the id in the header, named by info and verify, and
# the segments where that chip's app has them (types as esptool names them on that chip).
# chip  id  name  DROM, DRAM and IROM types ('+' for ', ')  full revision min and max
while read -r chip id name drom dram irom rmin rmax; do
    drom=${drom//+/, } dram=${dram//+/, } irom=${irom//+/, }
    run 0 "$TOOL" create --version 1.0.0 --size 128K --chip "$chip" -o "$W/$chip.bin"
    has out "chip $name (id $id)"
    run 0 "$TOOL" verify "$W/$chip.bin"
    has out "$W/$chip.bin: valid, version 1.0.0, 131072 bytes, chip $name (id $id)"
    run 0 "$TOOL" info "$W/$chip.bin"
    has out "chip            $name (id $id)"
    has out "full min $rmin, full max $rmax"
    for s in "0 $drom" "1 $dram" "3 $irom"; do
        grep -Eq "^  ${s%% *} +0x[0-9a-f]{8}  0x[0-9a-f]{8}  0x[0-9a-f]{8}  ${s#* }\$" "$W/out" ||
            { cat "$W/out" >&2; fail "$chip: segment ${s%% *} is not ${s#* }"; }
    done
    lacks out "  ?"
done <<'CHIPS'
esp32    0  ESP32     DROM       BYTE_ACCESSIBLE+DRAM              IROM       v0.0 v3.99
esp32s2  2  ESP32-S2  DROM       BYTE_ACCESSIBLE+MEM_INTERNAL+DRAM IROM       v0.0 v1.99
esp32s3  9  ESP32-S3  DROM       BYTE_ACCESSIBLE+MEM_INTERNAL+DRAM IROM       v0.0 v0.99
esp32c2  12 ESP32-C2  DROM       DRAM+BYTE_ACCESSIBLE              IROM       v1.0 v2.99
esp32c3  5  ESP32-C3  DROM       DRAM+BYTE_ACCESSIBLE              IROM       v0.3 v1.99
esp32c5  23 ESP32-C5  DROM+IROM  DRAM+BYTE_ACCESSIBLE+IRAM         DROM+IROM  v1.0 v1.99
esp32c6  13 ESP32-C6  DROM+IROM  DRAM+BYTE_ACCESSIBLE+IRAM         DROM+IROM  v0.0 v0.99
esp32c61 20 ESP32-C61 DROM+IROM  DRAM+BYTE_ACCESSIBLE+IRAM         DROM+IROM  v1.0 v1.99
esp32h2  16 ESP32-H2  DROM+IROM  DRAM+BYTE_ACCESSIBLE+IRAM         DROM+IROM  v0.0 v1.99
esp32p4  18 ESP32-P4  DROM+IROM  DRAM+BYTE_ACCESSIBLE+IRAM         DROM+IROM  v3.1 v3.99
CHIPS
# Names in either spelling and case.
run 0 "$TOOL" create --version 1.0.0 --size 64K --chip ESP32-C6 -o "$W/c6.bin"
has out "chip ESP32-C6 (id 13)"
# The ESP32-C3's legacy revision field is its minor revision (ESP-IDF's esptool_py rule).
run 0 "$TOOL" info "$W/esp32c3.bin"
has out "chip revision   min 3, full min v0.3"

# A segment loaded at address 0 is padding (esptool's PADDING), not '?': segment 1's load
# address cleared (the appended hash then fails, but info shows every segment).
run 0 "$TOOL" info "$W/a.bin"
seg1=$(awk '$1 == "1" && $2 ~ /^0x/ {print $2; exit}' "$W/out")
cp "$W/a.bin" "$W/pad.bin"
for i in 0 1 2 3; do set_byte "$W/pad.bin" $((seg1 - 8 + i)) 0; done
run 1 "$TOOL" info "$W/pad.bin"
grep -Eq '^  1 +0x[0-9a-f]{8}  0x00000000  0x[0-9a-f]{8}  PADDING$' "$W/out" ||
    { cat "$W/out" >&2; fail "info: a segment at 0 is not PADDING"; }

# --max-size smaller than the image.
run 1 "$TOOL" verify "$W/a.bin" --max-size 32K
one_line_error "(FOTA_ERR_IMAGE_TOO_BIG)"
has err "65536 bytes, more than the 32768 available"

# --- damaged images ----------------------------------------------------------------------------
# A byte inside segment 1's data: the checksum catches it.
run 0 "$TOOL" info "$W/a.bin"
seg1=$(awk '$1 == "1" && $2 ~ /^0x/ {print $2; exit}' "$W/out")
[ -n "$seg1" ] || fail "no segment 1 in info output"
cp "$W/a.bin" "$W/data.bin"
flip_byte "$W/data.bin" $((seg1 + 16))
run 1 "$TOOL" verify "$W/data.bin"
one_line_error "fota-image: $W/data.bin: image checksum mismatch (FOTA_ERR_IMAGE_CHECKSUM)"
run 1 "$TOOL" info "$W/data.bin"
one_line_error "(FOTA_ERR_IMAGE_CHECKSUM)"
grep -Eq '^Checksum: .*: invalid$' "$W/out" || fail "info does not show the checksum invalid"
has out "Result:           invalid"

# The appended SHA-256 (last byte of the file).
cp "$W/a.bin" "$W/hash.bin"
flip_byte "$W/hash.bin" $((65536 - 1))
run 1 "$TOOL" verify "$W/hash.bin"
one_line_error "(FOTA_ERR_IMAGE_HASH)"
run 1 "$TOOL" info "$W/hash.bin"
grep -Eq '^SHA-256: .*: invalid$' "$W/out" || fail "info does not show the hash invalid"
grep -Eq '^Checksum: .*: valid$' "$W/out" || fail "info: checksum should still be valid"

# Truncated: in the data, and just before the hash.
head -c 40000 "$W/a.bin" >"$W/short.bin"
run 1 "$TOOL" verify "$W/short.bin"
one_line_error "image truncated (FOTA_ERR_IMAGE_TRUNCATED)"
run 1 "$TOOL" info "$W/short.bin"
has out "runs past the end of the file"
head -c $((65536 - 10)) "$W/a.bin" >"$W/short2.bin"
run 1 "$TOOL" verify "$W/short2.bin"
one_line_error "(FOTA_ERR_IMAGE_TRUNCATED)"
head -c 10 "$W/a.bin" >"$W/tiny.bin"
run 1 "$TOOL" verify "$W/tiny.bin"
one_line_error "(FOTA_ERR_IMAGE_"

# Wrong magic.
cp "$W/a.bin" "$W/magic.bin"
set_byte "$W/magic.bin" 0 0
run 1 "$TOOL" verify "$W/magic.bin"
one_line_error "(FOTA_ERR_IMAGE_MAGIC)"
run 1 "$TOOL" info "$W/magic.bin"
has out "unreadable"

# Not a file at all.
run 1 "$TOOL" verify "$W/no-such.bin"
one_line_error "cannot read: No such file or directory (FOTA_ERR_IO)"
run 1 "$TOOL" info "$W"
one_line_error "(FOTA_ERR_IO)"

echo "test_fota_image: all passed"
