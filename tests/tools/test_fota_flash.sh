#!/usr/bin/env bash
# test_fota_flash.sh - fota-flash end to end on emulated ESP32 flash files: create with the
# default and a custom partition table, bad tables, show, boot, confirm, run, write-ota, the
# rollback of an image that fails its self-test, falling back over an invalid image, and a
# bricked device; devices of other chips (create --chip): the chip recorded by the bootloader
# image, shown, and images of another chip refused by create and write-ota and skipped at boot.
# Run by ctest as: bash test_fota_flash.sh BUILD_DIR
set -euo pipefail

BUILD=${1:?usage: test_fota_flash.sh BUILD_DIR}
FLASH="$BUILD/fota-flash"
IMAGE="$BUILD/fota-image"
[ -x "$FLASH" ] && [ -x "$IMAGE" ] || { echo "FAIL: tools not built in $BUILD" >&2; exit 1; }
. "$(dirname "$0")/lib/cli.sh" test_fota_flash

# Zero the first 4 KB of a partition: its image header is gone.
wipe() {
    dd if=/dev/zero of="$1" bs=4096 seek=$(($2 / 4096)) count=1 conv=notrunc status=none
}

mk_image() { # VERSION FILE [extra options]
    local v=$1 f=$2
    shift 2
    "$IMAGE" create --version "$v" --size 64K -o "$f" "$@" >/dev/null
}

mk_image 1.0.0 "$W/v1.bin"
mk_image 2.0.0 "$W/v2.bin"
mk_image 3.0.0 "$W/v3.bin"
mk_image 9.9.9 "$W/bad.bin" --fail-selftest
"$IMAGE" create --version 4.0.0 --size 1M -o "$W/big.bin" >/dev/null

# --- help and usage errors ---------------------------------------------------------------------
run 0 "$FLASH" --help
has out "usage: fota-flash"
for sub in create show boot confirm run write-ota; do
    run 0 "$FLASH" "$sub" --help
    has out "usage: fota-flash $sub"
    run 2 "$FLASH" "$sub" --no-such-option
    one_line_error "unknown option '--no-such-option'"
done
run 2 "$FLASH"
run 2 "$FLASH" reboot "$W/dev.bin"
one_line_error "unknown command 'reboot'"
run 2 "$FLASH" show
one_line_error "missing FILE"
run 2 "$FLASH" create "$W/dev.bin"
one_line_error "missing --image"
run 2 "$FLASH" create "$W/dev.bin" --image "$W/v1.bin" --size 1000
one_line_error "invalid --size '1000'"
run 2 "$FLASH" boot "$W/dev.bin" extra
one_line_error "unexpected argument 'extra'"

# --- create with the default table, show, boot -------------------------------------------------
run 0 "$FLASH" create "$W/dev.bin" --image "$W/v1.bin"
has out "version 1.0.0"
[ "$(stat -c %s "$W/dev.bin")" -eq 4194304 ] || fail "default flash is not 4 MB"

run 0 "$FLASH" show "$W/dev.bin"
has out "4194304 bytes (4M)"
has_re out '^  nvs +data +nvs +0x009000 +0x005000 \(20K\) +-$'
has_re out '^  otadata +data +ota +0x00e000 +0x002000 \(8K\)'
has_re out '^  app0 +app +ota_0 +0x010000 +0x140000 \(1280K\)'
has_re out '^  app1 +app +ota_1 +0x150000 +0x140000 \(1280K\)'
has_re out '^  spiffs +data +spiffs +0x290000 +0x160000'
has_re out '^  coredump +data +coredump +0x3f0000 +0x010000 \(64K\)'
has out "copy 0: erased"
has out "copy 1: erased"
has out "Next boot: ota_0 (app0 at 0x010000), version 1.0.0"
has out "otadata has no usable entry"
has_re out '^  ota_0 +app0 +0x010000: version 1\.0\.0, 65536 bytes$'
has_re out '^  ota_1 +app1 +0x150000: empty$'

run 0 "$FLASH" boot "$W/dev.bin"
has out "booted ota_0 (app0 at 0x010000): version 1.0.0"
lacks out "rolled back"
lacks out "fell back"

# Nothing is pending on a fresh device.
run 1 "$FLASH" confirm "$W/dev.bin"
one_line_error "nothing to confirm"
has err "(FOTA_ERR_BOOT_NOT_PENDING)"

# --- a custom table, and a flash size -----------------------------------------------------------
cat >"$W/parts.csv" <<'EOF'
# Name,   Type, SubType, Offset,  Size,   Flags
nvs,      data, nvs,     0x9000,  0x4000,

otadata,  data, ota,     0xd000,  0x2000,
phy_init, data, phy,     0xf000,  0x1000,
factory,  app,  factory, 0x10000, 256K,
ota_0,    app,  ota_0,   ,        640K,
ota_1,    app,  ota_1,   ,        640K,
storage,  data, spiffs,  ,        128K, readonly
EOF
run 0 "$FLASH" create "$W/custom.bin" --image "$W/v1.bin" --partitions "$W/parts.csv" --size 2M
has out "7 partitions"
[ "$(stat -c %s "$W/custom.bin")" -eq 2097152 ] || fail "--size 2M ignored"
run 0 "$FLASH" show "$W/custom.bin"
has out "2097152 bytes (2M)"
has out "7 entries"
has_re out '^  phy_init +data +phy +0x00f000 +0x001000 \(4K\)'
has_re out '^  factory +app +factory +0x010000 +0x040000 \(256K\)'
has_re out '^  ota_0 +app +ota_0 +0x050000 +0x0a0000 \(640K\)'
has_re out '^  ota_1 +app +ota_1 +0x0f0000 +0x0a0000 \(640K\)'
has_re out '^  storage +data +spiffs +0x190000 +0x020000 \(128K\) +readonly$'
has_re out '^  factory +factory +0x010000: empty$'
has_re out '^  ota_0 +ota_0 +0x050000: version 1\.0\.0'
# The factory partition is empty, so the bootloader falls back to ota_0.
has out "Next boot: ota_0"
has out "fall back: factory holds no valid image"
run 0 "$FLASH" boot "$W/custom.bin"
has out "booted ota_0"
has out "fell back: otadata selected factory"

# The image must fit ota_0.
cat >"$W/small.csv" <<'EOF'
nvs,      data, nvs,   0x9000,  0x5000,
otadata,  data, ota,   0xe000,  0x2000,
app0,     app,  ota_0, 0x10000, 512K,
app1,     app,  ota_1, ,        512K,
EOF
run 1 "$FLASH" create "$W/small.bin" --image "$W/big.bin" --partitions "$W/small.csv"
one_line_error "(FOTA_ERR_IMAGE_TOO_BIG)"
[ ! -e "$W/small.bin" ] || fail "a failed create left a flash file"

# --- bad tables: overlapping partitions, a bad line ---------------------------------------------
cp "$W/dev.bin" "$W/dev.keep"
cat >"$W/overlap.csv" <<'EOF'
# Name,   Type, SubType, Offset,   Size
nvs,      data, nvs,     0x9000,   0x5000,
otadata,  data, ota,     0xe000,   0x2000,
app0,     app,  ota_0,   0x10000,  0x140000,
app1,     app,  ota_1,   0x100000, 0x140000,
EOF
run 1 "$FLASH" create "$W/dev.bin" --image "$W/v1.bin" --partitions "$W/overlap.csv"
one_line_error "(FOTA_ERR_PART_OVERLAP)"
has err "$W/overlap.csv: line 5: "
cmp -s "$W/dev.bin" "$W/dev.keep" || fail "a failed create changed the existing flash file"

cat >"$W/badline.csv" <<'EOF'
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app
app1,     app,  ota_1,   0x150000, 0x140000,
EOF
run 1 "$FLASH" create "$W/x.bin" --image "$W/v1.bin" --partitions "$W/badline.csv"
one_line_error "$W/badline.csv: line 3: "
has err "(FOTA_ERR_PART_"
[ ! -e "$W/x.bin" ] || fail "a failed create left a flash file"

run 1 "$FLASH" create "$W/x.bin" --image "$W/v1.bin" --partitions "$W/no-such.csv"
one_line_error "cannot read: No such file or directory (FOTA_ERR_IO)"

# The default table does not fit a 2 MB flash.
run 1 "$FLASH" create "$W/x.bin" --image "$W/v1.bin" --size 2M
one_line_error "default partition table: "

# --- update: write-ota, run (confirm), run again -----------------------------------------------
run 0 "$FLASH" write-ota "$W/dev.bin" --image "$W/v2.bin"
has out "wrote $W/v2.bin to ota_1 (app1 at 0x150000): version 2.0.0"
has out "next boot: ota_1 (otadata copy"
has out "state NEW"
run 0 "$FLASH" show "$W/dev.bin"
has out "Next boot: ota_1 (app1 at 0x150000), version 2.0.0"
has out "it is NEW: it boots as PENDING_VERIFY"
has_re out '^  copy [01]: seq [0-9]+, state NEW, crc ok -> ota_1 \(active\)$'
has_re out '^  ota_1 +app1 +0x150000: version 2\.0\.0'

run 0 "$FLASH" run "$W/dev.bin"
has out "booted ota_1 (app1 at 0x150000): version 2.0.0"
has out "self-test passed: ota_1 confirmed, state VALID"
run 0 "$FLASH" run "$W/dev.bin"
has out "booted ota_1 (app1 at 0x150000): version 2.0.0"
has out "keeps running, state VALID"
lacks out "rolled back"
run 0 "$FLASH" show "$W/dev.bin"
has_re out '^  copy [01]: seq [0-9]+, state VALID, crc ok -> ota_1 \(active\)$'
has out "Next boot: ota_1"

# --- boot + confirm by hand; an update waits for the confirmation -------------------------------
run 0 "$FLASH" write-ota "$W/dev.bin" --image "$W/v3.bin"
has out "to ota_0 (app0 at 0x010000): version 3.0.0"
run 0 "$FLASH" boot "$W/dev.bin"
has out "booted ota_0 (app0 at 0x010000): version 3.0.0, state PENDING_VERIFY"
has out "pending verify: confirm it"
run 1 "$FLASH" write-ota "$W/dev.bin" --image "$W/v2.bin"
one_line_error "the running image ota_0 is PENDING_VERIFY: confirm it first (FOTA_ERR_STATE)"
run 0 "$FLASH" confirm "$W/dev.bin"
has out "confirmed ota_0 (app0): version 3.0.0, state VALID"
run 1 "$FLASH" confirm "$W/dev.bin"
one_line_error "nothing to confirm: the running image ota_0 is VALID (FOTA_ERR_BOOT_NOT_PENDING)"
run 0 "$FLASH" boot "$W/dev.bin"
has out "booted ota_0 (app0 at 0x010000): version 3.0.0, state VALID"
lacks out "rolled back"

# --- rollback: an image that fails its self-test ------------------------------------------------
run 0 "$FLASH" create "$W/rb.bin" --image "$W/v1.bin"
run 0 "$FLASH" write-ota "$W/rb.bin" --image "$W/bad.bin"
has out "to ota_1"
run 0 "$FLASH" show "$W/rb.bin"
has_re out '^  ota_1 +app1 +0x150000: version 9\.9\.9, 65536 bytes, self-test fails$'
run 1 "$FLASH" run "$W/rb.bin"
has out "booted ota_1 (app1 at 0x150000): version 9.9.9"
has out "self-test failed: ota_1 does not confirm itself; it stays PENDING_VERIFY"
one_line_error "ota_1 (version 9.9.9) failed its self-test (FOTA_ERR_BOOT_SELFTEST)"
run 0 "$FLASH" show "$W/rb.bin"
has out "it is PENDING_VERIFY: it booted and never confirmed"
has out "Next boot: ota_0 (app0 at 0x010000), version 1.0.0"
run 0 "$FLASH" run "$W/rb.bin"
has out "booted ota_0 (app0 at 0x010000): version 1.0.0"
has out "rolled back: ota_1 booted before and never confirmed itself; its entry is now ABORTED"
run 0 "$FLASH" show "$W/rb.bin"
has_re out '^  copy [01]: seq [0-9]+, state ABORTED, crc ok -> not usable$'
has out "Next boot: ota_0"
run 0 "$FLASH" boot "$W/rb.bin"
has out "booted ota_0 (app0 at 0x010000): version 1.0.0"
lacks out "rolled back"

# Rollback on the updated device: v3 runs confirmed in ota_0, the failing image goes to ota_1.
run 0 "$FLASH" write-ota "$W/dev.bin" --image "$W/bad.bin"
has out "to ota_1"
run 1 "$FLASH" run "$W/dev.bin"
run 0 "$FLASH" run "$W/dev.bin"
has out "booted ota_0 (app0 at 0x010000): version 3.0.0"
has out "rolled back: ota_1"

# A boot without a confirmation rolls back the same way.
run 0 "$FLASH" create "$W/nc.bin" --image "$W/v1.bin"
run 0 "$FLASH" write-ota "$W/nc.bin" --image "$W/v2.bin"
run 0 "$FLASH" boot "$W/nc.bin"
has out "booted ota_1"
run 0 "$FLASH" boot "$W/nc.bin"
has out "booted ota_0 (app0 at 0x010000): version 1.0.0"
has out "rolled back: ota_1"

# --- fall back over an invalid image, written with --no-verify ----------------------------------
cp "$W/v2.bin" "$W/corrupt.bin"
flip_byte "$W/corrupt.bin" 20000
run 1 "$FLASH" write-ota "$W/fb.bin" --image "$W/v2.bin"
one_line_error "cannot open: No such file or directory"
run 0 "$FLASH" create "$W/fb.bin" --image "$W/v1.bin"
run 1 "$FLASH" write-ota "$W/fb.bin" --image "$W/corrupt.bin"
has err "(FOTA_ERR_IMAGE_"
run 0 "$FLASH" write-ota "$W/fb.bin" --image "$W/corrupt.bin" --no-verify
has err "written anyway (--no-verify)"
run 0 "$FLASH" show "$W/fb.bin"
has_re out '^  ota_1 +app1 +0x150000: invalid: .*\(FOTA_ERR_IMAGE_'
has out "fall back: ota_1 holds no valid image, so the bootloader takes ota_0"
run 0 "$FLASH" boot "$W/fb.bin"
has out "booted ota_0 (app0 at 0x010000): version 1.0.0"
has out "fell back: otadata selected ota_1, but its image is invalid"

# --- bricked: both app slots corrupted ----------------------------------------------------------
run 0 "$FLASH" create "$W/brick.bin" --image "$W/v1.bin"
run 0 "$FLASH" write-ota "$W/brick.bin" --image "$W/v2.bin"
wipe "$W/brick.bin" $((0x10000))
run 0 "$FLASH" boot "$W/brick.bin"
has out "booted ota_1"
wipe "$W/brick.bin" $((0x150000))
run 3 "$FLASH" boot "$W/brick.bin"
one_line_error "bricked: no bootable app"
has err "(FOTA_ERR_BOOT_NO_APP)"
run 3 "$FLASH" run "$W/brick.bin"
one_line_error "bricked"
run 0 "$FLASH" show "$W/brick.bin"
has out "Next boot: none: bricked"
has_re out '^  ota_0 +app0 +0x010000: invalid: image header magic is not 0xE9 \(FOTA_ERR_IMAGE_MAGIC\)$'
run 3 "$FLASH" write-ota "$W/brick.bin" --image "$W/v1.bin"
one_line_error "bricked"

# --- files that are not device flashes ----------------------------------------------------------
run 1 "$FLASH" show "$W/no-such.bin"
one_line_error "cannot open: No such file or directory"
head -c 100 /dev/zero >"$W/odd.bin"
run 1 "$FLASH" show "$W/odd.bin"
one_line_error "(FOTA_ERR_FLASH_SIZE)"
cp "$W/dev.bin" "$W/notable.bin"
wipe "$W/notable.bin" $((0x8000))
run 1 "$FLASH" boot "$W/notable.bin"
one_line_error "no valid partition table at 0x8000"
has err "(FOTA_ERR_PART_"

# --- chips ---------------------------------------------------------------------------------------
mk_image 1.0.0 "$W/s3v1.bin" --chip esp32s3
mk_image 2.0.0 "$W/s3v2.bin" --chip esp32s3
# A device is an ESP32 unless told otherwise; its bootloader sits at 0x1000.
run 0 "$FLASH" create "$W/e.flash" --image "$W/v1.bin"
has out "created, ESP32 (id 0),"
run 0 "$FLASH" show "$W/e.flash"
has out "Chip: ESP32 (id 0), bootloader at 0x1000"
run 1 "$FLASH" create "$W/e2.flash" --image "$W/s3v1.bin"
one_line_error "the image is built for ESP32-S3 (id 9), the device is an ESP32 (id 0) (FOTA_ERR_IMAGE_CHIP)"
[ ! -e "$W/e2.flash" ] || fail "a refused create wrote a flash file"
run 2 "$FLASH" create "$W/e2.flash" --image "$W/v1.bin" --chip esp8266
one_line_error "unknown --chip 'esp8266'"
# An ESP32-S3: bootloader at 0x0, boots its image, updates to another S3 image.
run 0 "$FLASH" create "$W/s3.flash" --image "$W/s3v1.bin" --chip ESP32-S3
has out "created, ESP32-S3 (id 9),"
[ "$(od -An -tx1 -N1 "$W/s3.flash" | tr -d ' ')" = e9 ] || fail "no bootloader image at 0x0"
run 0 "$FLASH" show "$W/s3.flash"
has out "Chip: ESP32-S3 (id 9), bootloader at 0x0"
has_re out '^  ota_0 +app0 +0x010000: version 1.0.0, 65536 bytes$'
run 0 "$FLASH" run "$W/s3.flash"
has out "booted ota_0 (app0 at 0x010000): version 1.0.0"
# An ESP32 image is refused as esp_ota_end would; forced in, the bootloader skips it.
run 1 "$FLASH" write-ota "$W/s3.flash" --image "$W/v2.bin"
one_line_error "the image is built for ESP32 (id 0), the device is an ESP32-S3 (id 9) (FOTA_ERR_IMAGE_CHIP)"
run 0 "$FLASH" write-ota "$W/s3.flash" --image "$W/v2.bin" --no-verify
run 0 "$FLASH" show "$W/s3.flash"
has_re out '^  ota_1 +app1 +0x150000: invalid: image built for another chip \(FOTA_ERR_IMAGE_CHIP\)$'
has out "fall back: ota_1 holds no valid image, so the bootloader takes ota_0"
run 0 "$FLASH" boot "$W/s3.flash"
has out "booted ota_0 (app0 at 0x010000): version 1.0.0"
has out "fell back: otadata selected ota_1, but its image is invalid"
run 0 "$FLASH" write-ota "$W/s3.flash" --image "$W/s3v2.bin"
run 0 "$FLASH" run "$W/s3.flash"
has out "booted ota_1 (app1 at 0x150000): version 2.0.0"
has out "self-test passed: ota_1 confirmed"
# The same S3 flash seen by an ESP32's bootloader would not boot: its chip is in the flash.
cp "$W/s3.flash" "$W/s3-no-boot.flash"
dd if=/dev/zero of="$W/s3-no-boot.flash" bs=4096 count=1 conv=notrunc status=none
run 3 "$FLASH" boot "$W/s3-no-boot.flash"
one_line_error "bricked"
run 0 "$FLASH" show "$W/s3-no-boot.flash"
has out "Chip: ESP32 (id 0) (no bootloader image: a flash of an ESP32)"

echo "test_fota_flash: all passed"
