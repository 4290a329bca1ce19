#!/bin/bash
# seeds.sh FUZZ_BIN_DIR TOOLS_DIR CORPUS_DIR - make the seed corpora of every fuzz target, with
# our own tools, into CORPUS_DIR/<target>/ (files already there are kept: a corpus grows).
#
#   - each target's --make-seed mode (the real agent, release, store and codecs make them);
#   - fota-image create: ESP32 app images for fuzz_esp_image (1-byte flags prefix, see there);
#   - fota-flash create / write-ota / boot / run / confirm on device flash files: the partition
#     table (0x8000, 0xC00 bytes) for fuzz_part_table and both otadata copies (0xE000 and 0xF000,
#     32 bytes each) for fuzz_otadata, cut out of the flash file with dd;
#   - fotactl release create and fota-mkbundle create: release bundles for fuzz_upload, signed
#     with the fixed fuzzing key.
# TOOLS_DIR is a build directory of the main CMake build (fota-image, fota-flash, fotactl,
# fota-mkbundle); without it only the --make-seed seeds are made.
# The printf formats built from arguments below are octal escapes on purpose.
# shellcheck disable=SC2059
set -euo pipefail

BIN=${1:?usage: seeds.sh FUZZ_BIN_DIR TOOLS_DIR CORPUS_DIR}
TOOLS=${2:?}
CORPUS=${3:?}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

make_seed_modes() {
    for exe in "$BIN"/fuzz_*; do
        [ -x "$exe" ] || continue
        local t
        t=$(basename "$exe")
        t=${t#fuzz_}
        mkdir -p "$CORPUS/$t"
        "$exe" --make-seed "$CORPUS/$t" >"$TMP/make-seed.log" 2>&1 || {
            tail -20 "$TMP/make-seed.log" >&2
            echo "seeds.sh: $exe --make-seed failed (the code under test crashed making seeds)" >&2
            return 1
        }
    done
}

# One 1-byte flags prefix + a file, as fuzz_esp_image and fuzz_part_table read them.
with_flags() { # FLAGS_OCTAL FILE OUT
    { printf "\\$1"; cat "$2"; } >"$3"
}

image_seeds() {
    local fi="$TOOLS/fota-image" d="$CORPUS/esp_image"
    mkdir -p "$d"
    "$fi" create --version 1.0.0 --size 1K -o "$TMP/v1.bin" >/dev/null
    "$fi" create --version 2.0.0 --size 4K --secure-version 2 --project inverter-fw -o "$TMP/v2.bin" >/dev/null
    "$fi" create --version 3.0.0 --size 2K --fail-selftest -o "$TMP/v3.bin" >/dev/null
    "$fi" create --version 4.0.0 --size 3K --chip-id 9 --seed 77 -o "$TMP/v4.bin" >/dev/null
    with_flags 000 "$TMP/v1.bin" "$d/tool-v1"
    with_flags 003 "$TMP/v2.bin" "$d/tool-v2-fix"
    with_flags 004 "$TMP/v3.bin" "$d/tool-v3-limit-more"
    with_flags 010 "$TMP/v4.bin" "$d/tool-v4-limit-half"
}

table_of() { # FLASH OUT FLAGS_OCTAL
    { printf "\\$3"; dd if="$1" bs=4096 skip=8 count=1 status=none | head -c 3072; } >"$2"
}

otadata_of() { # FLASH OUT OPS...
    local flash=$1 out=$2
    shift 2
    {
        dd if="$flash" bs=4096 skip=14 count=1 status=none | head -c 32
        dd if="$flash" bs=4096 skip=15 count=1 status=none | head -c 32
        printf '\004' # flags: raw CRCs, two OTA slots
        printf "$@"
    } >"$out"
}

flash_seeds() {
    local ff="$TOOLS/fota-flash" dt="$CORPUS/part_table" do="$CORPUS/otadata" dev="$TMP/dev.bin"
    mkdir -p "$dt" "$do"
    "$TOOLS/fota-image" create --version 1.0.0 --size 8K -o "$TMP/a.bin" >/dev/null
    "$TOOLS/fota-image" create --version 2.0.0 --size 8K -o "$TMP/b.bin" >/dev/null
    "$TOOLS/fota-image" create --version 3.0.0 --size 8K --fail-selftest -o "$TMP/c.bin" >/dev/null
    "$ff" create "$dev" --image "$TMP/a.bin" >/dev/null
    table_of "$dev" "$dt/tool-default" 000
    table_of "$dev" "$dt/tool-default-boot" 002
    otadata_of "$dev" "$do/tool-erased" '\000\007'
    "$ff" write-ota "$dev" --image "$TMP/b.bin" >/dev/null
    otadata_of "$dev" "$do/tool-new" '\000\001\007'
    "$ff" boot "$dev" >/dev/null
    otadata_of "$dev" "$do/tool-pending" '\000\000'
    "$ff" confirm "$dev" >/dev/null
    otadata_of "$dev" "$do/tool-valid" '\003\013\004'
    "$ff" write-ota "$dev" --image "$TMP/c.bin" >/dev/null
    "$ff" run "$dev" >/dev/null 2>&1 || true
    "$ff" run "$dev" >/dev/null 2>&1 || true
    otadata_of "$dev" "$do/tool-rolled-back" '\002\015\026'
    printf 'nvs,data,nvs,0x9000,0x4000,\notadata,data,ota,0xd000,0x2000,\nphy_init,data,phy,0xf000,0x1000,\nota_0,app,ota_0,0x10000,1M,\nota_1,app,ota_1,,1M,\nstorage,data,spiffs,,512K,readonly\n' >"$TMP/parts.csv"
    "$ff" create "$TMP/dev2.bin" --image "$TMP/a.bin" --partitions "$TMP/parts.csv" >/dev/null
    table_of "$TMP/dev2.bin" "$dt/tool-custom" 002
}

# Release uploads for fuzz_upload as operators make them: `fotactl release create` with the fixed
# fuzzing key (fuzz_upload --write-key), and fota-mkbundle --bad-sha256 (a signed manifest whose
# image SHA-256 is wrong, which only the last checks catch).
upload_seeds() {
    local d="$CORPUS/upload" key="$TMP/release-key.pem"
    mkdir -p "$d"
    "$BIN/fuzz_upload" --write-key "$key" >/dev/null 2>&1
    "$TOOLS/fota-image" create --version 2.0.0 --size 5K -o "$TMP/u1.bin" >/dev/null
    "$TOOLS/fota-image" create --version 2.1.0 --size 2K --secure-version 3 -o "$TMP/u2.bin" >/dev/null
    "$TOOLS/fotactl" release create --image "$TMP/u1.bin" --key "$key" --product esp32-inverter \
        -o "$d/tool-fotactl-5k" >/dev/null 2>&1
    "$TOOLS/fotactl" release create --image "$TMP/u2.bin" --key "$key" --product inv-5k \
        --chunk-size 256 -o "$d/tool-fotactl-2k-chunks-256" >/dev/null 2>&1
    "$TOOLS/fota-mkbundle" create --key "$key" --image "$TMP/u2.bin" --product inv-5k \
        --version 2.1.0 --chunk-size 512 --bad-sha256 -o "$d/tool-mkbundle-bad-sha256" >/dev/null
}

make_seed_modes
if [ -x "$TOOLS/fota-image" ] && [ -x "$TOOLS/fota-flash" ]; then
    image_seeds
    flash_seeds
else
    echo "seeds.sh: no fota-image/fota-flash in $TOOLS: only --make-seed seeds" >&2
fi
if [ -x "$BIN/fuzz_upload" ] && [ -x "$TOOLS/fotactl" ] && [ -x "$TOOLS/fota-mkbundle" ]; then
    upload_seeds
else
    echo "seeds.sh: no fuzz_upload, fotactl or fota-mkbundle: only --make-seed seeds for fuzz_upload" >&2
fi
