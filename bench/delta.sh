#!/bin/bash
# delta.sh - delta patches between real firmware images (docs/DELTA.md): ours (fota-delta,
# host/delta_create.c) beside bsdiff (Debian's), xdelta3 -9 and detools 0.53.0's sequential
# patches with heatshrink and with LZMA (ESP-IDF's esp_delta_ota uses detools), and what the
# device pays to apply ours.
#
# The pairs are Cortex-M4 firmware images built here from Mbed TLS's sources (../shared), never
# random data: arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections,
# the default configuration less what needs an OS (bench/delta_user_config.h), every object
# linked with --whole-archive at 0x08000000, objcopy -O binary. Builds are cached in
# BUILD/bench-delta (a make per image):
#
#   tls-3.6.3-3.6.4   Mbed TLS 3.6.3 -> 3.6.4: a real patch release (about 418 KB)
#   tls-one-constant  3.6.4 -> 3.6.4 with ENTROPY_MAX_LOOP (library/entropy.c) 256 -> 512: a
#                     one-line fix, rebuilt
#   tls-Os-O2         3.6.4 -Os -> 3.6.4 -O2: the build type switched from size to speed
#                     (CMake's MinSizeRel -> Release), the flag change that a firmware team
#                     actually makes; every function is compiled anew, so it bounds the others
#   big-3.6.3-3.6.4   images of the seed firmware's size, 1,068,032 bytes: Mbed TLS built -O2
#                     with more of its options (bench/delta_user_config_big.h) and newlib's libm
#                     linked whole, the rest of the slot 0xFF (erased flash); 3.6.3 -> 3.6.4
#                     inside it
#
# Columns: the new image's size; our patch and its share of the new image; bsdiff; xdelta3 -9;
# detools sequential with heatshrink (window 8, lookahead 7: detools' defaults) and with LZMA;
# the time to make ours and bsdiff's. Then, in chain mode (32 bytes of hash per 1 KB record, the
# patch's records being the chunks), our download against the full image's. Then the device
# side: the applier's RAM (sizeof(fota_delta_t) for a Cortex-M4), delta.c's code (-Os text, and
# linked into a firmware with its libc calls, --gc-sections), and instructions per output byte of
# fota_delta_record under callgrind (the host build, x86-64 -O2) for each pair.
#
# detools runs from its tarball in ../shared: its C extensions (suffix array, bsdiff) built with
# Debian's python3-dev, its Python dependencies from Debian (python3-bitstruct, -humanfriendly,
# -pyelftools, -zstandard, -lz4), heatshrink2 (not in Debian; PyPI unreachable) replaced by
# bench/delta_heatshrink2.py over the heatshrink 0.4.1 C encoder from ../shared. Its
# hdiffpatch extension is not in the tarball (a git submodule), so a stub stands in for that
# module; the sequential patch type does not use it.
#
# --quick: one pair of small images (a dozen Mbed TLS files of each version, unresolved symbols
# left), no detools, a few seconds once built.
#
# Usage: bench/delta.sh [--quick] [--no-doc] [BUILD_DIR]
# Needs ../shared/third_party/mbedtls (skipped with a message without it).
source "$(dirname "$0")/lib.sh" delta "$@"
bench_need fota-delta
SHARED="$BENCH_ROOT/../shared/third_party"
if [ ! -d "$SHARED/mbedtls" ]; then
    echo "delta: SKIPPED: ../shared/third_party/mbedtls not found (the firmware pairs need it)"
    exit 0
fi
for t in arm-none-eabi-gcc bsdiff xdelta3 valgrind callgrind_annotate; do
    command -v "$t" >/dev/null || bench_fail "$t not found: run scripts/install-deps"
done
CACHE="$BUILD/bench-delta"
mkdir -p "$CACHE/src"
BIG=1068032

# ---- firmware images ---------------------------------------------------------------------------

# src VERSION: Mbed TLS's sources, unpacked once; prints the directory.
src() {
    local d="$CACHE/src/mbedtls-$1"
    if [ ! -d "$d" ]; then
        tar -xzf "$SHARED/mbedtls/mbedtls-$1-src.tar.gz" -C "$CACHE/src" ||
            bench_fail "cannot unpack mbedtls-$1"
    fi
    echo "$d"
}

# The one-line change: 3.6.4 with one constant changed, its other files (and their objects,
# when fw/tls-3.6.4 is built) kept as they are so that make rebuilds entropy.c only.
src_one_constant() {
    local d="$CACHE/src/mbedtls-3.6.4-const"
    if [ ! -d "$d" ]; then
        cp -rp "$(src 3.6.4)" "$d.tmp"
        sed -i 's/^#define ENTROPY_MAX_LOOP    256 /#define ENTROPY_MAX_LOOP    512 /' \
            "$d.tmp/library/entropy.c"
        grep -q 'ENTROPY_MAX_LOOP    512 ' "$d.tmp/library/entropy.c" ||
            bench_fail "the constant to change is not in library/entropy.c"
        mv "$d.tmp" "$d"
    fi
    echo "$d"
}

# firmware NAME SRC_DIR CONFIG_H "CFLAGS" "FILES" ["LINK EXTRA" ["LD FLAGS" [agent]]]: build (or
# reuse) the image BUILD/bench-delta/fw/NAME/fw.bin from SRC_DIR/library/*.c (or only FILES, with
# unresolved symbols left: the quick pair), with the fota agent core (agent/src/*.c) too when the
# last argument is "agent", the LINK EXTRA archives linked whole; through a generated Makefile,
# two jobs.
firmware() {
    local name=$1 srcdir=$2 config=$3 cflags=$4 files=$5 extra=${6:-} ldflags=${7:-} agent=${8:-}
    local d="$CACHE/fw/$name"
    mkdir -p "$d/obj"
    cp -p "$config" "$d/user_config.h"
    cp -p "$BENCH_ROOT"/bench/delta_user_config*.h "$d/"
    # The single quotes below hold Make's $(...), $< and $@, not the shell's.
    # shellcheck disable=SC2016
    local srcs='$(wildcard $(SRC)/library/*.c)'
    if [ -n "$files" ]; then
        # shellcheck disable=SC2016
        srcs=$(for f in $files; do printf '$(SRC)/library/%s.c ' "$f"; done)
        ldflags="$ldflags -Wl,--unresolved-symbols=ignore-all"
    fi
    # shellcheck disable=SC2016
    {
        echo "# generated by bench/delta.sh"
        echo "SRC := $srcdir"
        echo "FOTA := $BENCH_ROOT"
        echo "CC := arm-none-eabi-gcc"
        echo "CFLAGS := -mcpu=cortex-m4 -mthumb $cflags -ffunction-sections -fdata-sections" \
            "-I$d -DMBEDTLS_USER_CONFIG_FILE='\"user_config.h\"' -I\$(SRC)/include -I\$(SRC)/library"
        echo "OBJS := \$(patsubst \$(SRC)/library/%.c,obj/%.o,$srcs)"
        if [ "$agent" = agent ]; then
            echo 'OBJS += $(patsubst $(FOTA)/agent/src/%.c,obj/fota_%.o,$(wildcard $(FOTA)/agent/src/*.c))'
        fi
        printf 'fw.bin: fw.elf\n\tarm-none-eabi-objcopy -O binary $< $@\n'
        printf 'fw.elf: $(OBJS) obj/start.o Makefile\n'
        printf '\t$(CC) -mcpu=cortex-m4 -mthumb -nostartfiles -specs=nano.specs -specs=nosys.specs'
        printf ' -Wl,--entry=Reset_Handler -Wl,-Ttext=0x08000000 %s' "$ldflags"
        printf ' -Wl,--whole-archive $(OBJS) obj/start.o %s -Wl,--no-whole-archive -lc -lm -o $@\n' "$extra"
        printf 'obj/%%.o: $(SRC)/library/%%.c user_config.h\n\t$(CC) $(CFLAGS) -c $< -o $@\n'
        printf 'obj/fota_%%.o: $(FOTA)/agent/src/%%.c user_config.h\n'
        printf '\t$(CC) $(CFLAGS) -std=c99 -I$(FOTA)/agent/include -c $< -o $@\n'
        printf 'obj/start.o:\n\techo "void Reset_Handler(void) { for (;;) {} }" > obj/start.c\n'
        printf '\t$(CC) -mcpu=cortex-m4 -mthumb -c obj/start.c -o $@\n'
    } >"$d/Makefile"
    nice -n 10 make -s -C "$d" -j 2 fw.bin >"$d/make.log" 2>&1 ||
        { tail -20 "$d/make.log" >&2; bench_fail "building the firmware $name failed"; }
    echo "$d/fw.bin"
}

# pad FILE SIZE OUT: the image in a slot of SIZE bytes, the rest erased flash (0xFF).
pad() {
    local n
    n=$(stat -c %s "$1")
    [ "$n" -le "$2" ] || bench_fail "$1 is $n bytes, more than the $2 of the slot"
    { cat "$1"; head -c $(($2 - n)) /dev/zero | tr '\0' '\377'; } >"$3"
}

CFG="$BENCH_ROOT/bench/delta_user_config.h"
CFG_BIG="$BENCH_ROOT/bench/delta_user_config_big.h"
QUICK_FILES="aes sha256 sha512 md bignum bignum_core ecdsa asn1parse asn1write platform_util
constant_time ctr_drbg hmac_drbg"
PAIRS=""
add_pair() { # NAME OLD NEW
    cp "$2" "$W/$1.old"
    cp "$3" "$W/$1.new"
    PAIRS="$PAIRS $1"
}

if [ "$QUICK" = 1 ]; then
    add_pair quick-3.6.3-3.6.4 \
        "$(firmware quick-3.6.3 "$(src 3.6.3)" "$CFG" -Os "$QUICK_FILES")" \
        "$(firmware quick-3.6.4 "$(src 3.6.4)" "$CFG" -Os "$QUICK_FILES")"
else
    fw363=$(firmware tls-3.6.3 "$(src 3.6.3)" "$CFG" -Os "")
    fw364=$(firmware tls-3.6.4 "$(src 3.6.4)" "$CFG" -Os "")
    constdir=$(src_one_constant)
    if [ ! -d "$CACHE/fw/tls-3.6.4-const/obj" ]; then
        mkdir -p "$CACHE/fw/tls-3.6.4-const/obj"
        cp -p "$CACHE/fw/tls-3.6.4/obj/"*.o "$CACHE/fw/tls-3.6.4-const/obj/"
    fi
    fwconst=$(firmware tls-3.6.4-const "$constdir" "$CFG" -Os "")
    fwo2=$(firmware tls-3.6.4-O2 "$(src 3.6.4)" "$CFG" -O2 "")
    # The whole of newlib's C and math libraries (not nano) and libgcc: their few calls into an
    # operating system stay unresolved, and the functions both libraries define are taken once.
    libs=""
    for l in libc.a libm.a libgcc.a; do
        libs="$libs $(arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -print-file-name=$l)"
    done
    big_ld="-Wl,--unresolved-symbols=ignore-all -Wl,--allow-multiple-definition"
    big363=$(firmware big-3.6.3 "$(src 3.6.3)" "$CFG_BIG" -O2 "" "$libs" "$big_ld" agent)
    big364=$(firmware big-3.6.4 "$(src 3.6.4)" "$CFG_BIG" -O2 "" "$libs" "$big_ld" agent)
    pad "$big363" "$BIG" "$W/big363.bin"
    pad "$big364" "$BIG" "$W/big364.bin"
    add_pair tls-3.6.3-3.6.4 "$fw363" "$fw364"
    add_pair tls-one-constant "$fw364" "$fwconst"
    add_pair tls-Os-O2 "$fw364" "$fwo2"
    add_pair big-3.6.3-3.6.4 "$W/big363.bin" "$W/big364.bin"
fi

FIRST=${PAIRS# }
FIRST=${FIRST%% *}
bench_quiet

# ---- detools ------------------------------------------------------------------------------------

# detools_ready: build detools' C extensions and the heatshrink encoder once; false (with the
# reason in DETOOLS_WHY) when they cannot be built here.
DETOOLS_WHY=""
detools_ready() {
    local d="$CACHE/detools" py=/usr/bin/python3
    [ -f "$d/ok" ] && [ -x "$d/detools-apply" ] && return 0
    if [ ! -f "$SHARED/delta/detools-0.53.0.tar.gz" ] ||
        [ ! -f "$SHARED/delta/heatshrink-0.4.1.tar.gz" ]; then
        DETOOLS_WHY="../shared/third_party/delta not found"
        return 1
    fi
    $py -c 'import bitstruct, humanfriendly, elftools, zstandard, lz4' 2>/dev/null ||
        { DETOOLS_WHY="its Python dependencies are missing (scripts/install-deps)"; return 1; }
    local inc suffix
    inc=$($py -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    suffix=$($py -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
    [ -f "$inc/Python.h" ] || { DETOOLS_WHY="python3-dev is missing"; return 1; }
    rm -rf "$d" && mkdir -p "$d/shim/heatshrink2"
    tar -xzf "$SHARED/delta/detools-0.53.0.tar.gz" -C "$d"
    tar -xzf "$SHARED/delta/heatshrink-0.4.1.tar.gz" -C "$d"
    local t="$d/detools-0.53.0/detools"
    if ! {
        gcc -O2 -shared -fPIC -I"$inc" "$t/suffix_array.c" "$t/sais/sais.c" \
            "$t/libdivsufsort/divsufsort.c" -o "$t/suffix_array$suffix" &&
            gcc -O2 -shared -fPIC -I"$inc" "$t/bsdiff.c" -o "$t/bsdiff$suffix" &&
            gcc -O2 -shared -fPIC "$d/heatshrink-0.4.1/heatshrink_encoder.c" \
                -o "$d/shim/heatshrink2/libheatshrink.so" &&
            gcc -O2 -g -std=c99 -I"$d/detools-0.53.0/c/heatshrink" "$d/detools-0.53.0/c/main.c" \
                "$d/detools-0.53.0/c/detools.c" "$d/detools-0.53.0/c/heatshrink/heatshrink_decoder.c" \
                -llzma -o "$d/detools-apply"
    } >"$d/build.log" 2>&1; then
        DETOOLS_WHY="its C extensions do not build ($d/build.log)"
        return 1
    fi
    echo "# hdiffpatch is not in the tarball; the sequential patches do not use it" >"$t/hdiffpatch.py"
    cp "$BENCH_ROOT/bench/delta_heatshrink2.py" "$d/shim/heatshrink2/core.py"
    : >"$d/shim/heatshrink2/__init__.py"
    touch "$d/ok"
}

detools_patch() { # COMPRESSION OLD NEW OUT
    PYTHONPATH="$CACHE/detools/shim:$CACHE/detools/detools-0.53.0" /usr/bin/python3 -m detools \
        create_patch -t sequential -c "$1" "$2" "$3" "$4" >/dev/null 2>"$W/detools.err"
}

# ---- measures -----------------------------------------------------------------------------------

ms_now() { date +%s%N | cut -c1-13; }
size_of() { stat -c %s "$1"; }

# Instructions of fota_delta_record (inclusive: the applier and its I/O over memory) while
# fota-delta apply runs, per byte of the new image.
ir_per_byte() { # OLD PATCH NEW_SIZE
    valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" --toggle-collect=fota_delta_record \
        "$BUILD/fota-delta" apply "$1" "$2" "$W/cg.bin" >/dev/null 2>"$W/cg.err" ||
        bench_fail "fota-delta apply under callgrind failed: $(tail -3 "$W/cg.err")"
    local ir
    ir=$(callgrind_annotate "$W/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
    ratio "$ir" "$3" 1
}

# Instructions of fota_delta_record per new byte on a Cortex-M4 (-Os, as on a device): the pair
# linked into bench/delta_m4.c and run under qemu-system-arm -machine mps2-an386 -icount shift=5
# (the board's timer on QEMU's instruction clock, as bench/targets.sh); "-" without QEMU.
m4_per_byte() { # NAME OLD PATCH NEW
    command -v qemu-system-arm >/dev/null || { echo "-"; return 0; }
    local q="$BENCH_ROOT/ports/qemu" d="$W/m4-$1"
    mkdir -p "$d"
    printf '\t.section .rodata.delta_m4_data,"a"\n\t.balign 4\n' >"$d/data.S"
    for x in old patch; do
        local f=$2
        [ "$x" = patch ] && f=$3
        printf '\t.global delta_m4_%s, delta_m4_%s_end\ndelta_m4_%s:\n\t.incbin "%s"\ndelta_m4_%s_end:\n' \
            "$x" "$x" "$x" "$f" "$x" >>"$d/data.S"
    done
    arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft --specs=nano.specs -Os \
        -ffunction-sections -fdata-sections -I"$q" -I"$BENCH_ROOT/agent/include" \
        -nostartfiles -T "$q/cortex-m4/link.ld" -Wl,--gc-sections "$q/cortex-m4/start.c" \
        "$q/cortex-m4/board.c" "$q/semihost.c" "$BENCH_ROOT/agent/src/delta.c" \
        "$BENCH_ROOT/bench/delta_m4.c" "$d/data.S" -o "$d/m4.elf" 2>"$d/build.log" ||
        { cat "$d/build.log" >&2; bench_fail "building bench/delta_m4.c"; }
    (cd "$d" && timeout 900 qemu-system-arm -machine mps2-an386 -kernel m4.elf -nographic \
        -monitor none -semihosting-config enable=on,target=native -icount shift=5 >out 2>&1) ||
        { cat "$d/out" >&2; bench_fail "$1: the applier failed on the Cortex-M4"; }
    local line
    line=$(grep '^delta_m4 insns' "$d/out") || { cat "$d/out" >&2; bench_fail "$1: no result from QEMU"; }
    cmp -s "$d/delta_m4.out" "$4" || bench_fail "$1: the Cortex-M4 made another image"
    echo "$line" | awk '{ printf "%.1f\n", $3 / $5 }'
}

use_detools=0
if [ "$QUICK" = 0 ]; then
    detools_ready && use_detools=1
fi

printf '%-18s %9s %8s %6s %8s %8s %8s %8s %7s %7s %6s %6s\n' pair "new" ours "%new" bsdiff \
    xdelta3 "dt-hs" "dt-lzma" "ours-ms" "bsd-ms" "Ir/B" "M4/B" >"$W/table"
: >"$W/chain"
for p in $PAIRS; do
    old="$W/$p.old" new="$W/$p.new"
    n=$(size_of "$new")
    t0=$(ms_now)
    "$BUILD/fota-delta" create "$old" "$new" "$W/$p.fdp" >/dev/null || bench_fail "fota-delta create $p"
    t1=$(ms_now)
    bsdiff "$old" "$new" "$W/$p.bsdiff" || bench_fail "bsdiff $p"
    t2=$(ms_now)
    "$BUILD/fota-delta" apply "$old" "$W/$p.fdp" "$W/$p.out" >/dev/null || bench_fail "apply $p"
    cmp -s "$W/$p.out" "$new" || bench_fail "$p: the patch applied does not give the new image"
    xdelta3 -9 -e -f -s "$old" "$new" "$W/$p.xd3" || bench_fail "xdelta3 $p"
    hs="-" lz="-"
    if [ "$use_detools" = 1 ]; then
        detools_patch heatshrink "$old" "$new" "$W/$p.hs" ||
            bench_fail "detools heatshrink $p: $(tail -2 "$W/detools.err")"
        detools_patch lzma "$old" "$new" "$W/$p.lzma" ||
            bench_fail "detools lzma $p: $(tail -2 "$W/detools.err")"
        hs=$(size_of "$W/$p.hs") lz=$(size_of "$W/$p.lzma")
        # detools' own C applier (built from the same tarball) must give the new image.
        for x in hs lzma; do
            if ! "$CACHE/detools/detools-apply" apply_patch "$old" "$W/$p.$x" "$W/$p.$x.out" \
                >/dev/null 2>&1 || ! cmp -s "$W/$p.$x.out" "$new"; then
                bench_fail "$p: detools' applier does not give the new image from its $x patch"
            fi
        done
    fi
    ours=$(size_of "$W/$p.fdp")
    ir=$(ir_per_byte "$old" "$W/$p.fdp" "$n")
    [ "$p" = "$FIRST" ] && first_ir=$ir
    printf '%-18s %9s %8s %6s %8s %8s %8s %8s %7s %7s %6s %6s\n' "$p" "$n" "$ours" \
        "$(ratio $((ours * 100)) "$n" 2)" "$(size_of "$W/$p.bsdiff")" "$(size_of "$W/$p.xd3")" \
        "$hs" "$lz" $((t1 - t0)) $((t2 - t1)) "$ir" \
        "$(m4_per_byte "$p" "$old" "$W/$p.fdp" "$new")" >>"$W/table"
    records=$(((ours - 16 + 1023) / 1024))
    full=$((n + 32 * ((n + 1023) / 1024)))
    printf '%-18s %9s %9s %9s %6s\n' "$p" "$full" "$records" $((ours + 32 * records)) \
        "$(ratio $(((ours + 32 * records) * 100)) "$full" 2)" >>"$W/chain"
done

# Our patch's size against the records per segment (what a power cut may cost again beyond a
# sector's worth of records), on the first pair. The default is the one a create without the
# option makes (the same patch as one of the rows).
if [ "$QUICK" = 0 ]; then
    printf '%-44s %8s\n' "records per segment ($FIRST)" "patch" >"$W/segments"
    "$BUILD/fota-delta" create "$W/$FIRST.old" "$W/$FIRST.new" "$W/seg-default.fdp" >/dev/null ||
        bench_fail "fota-delta create"
    for sr in 1 2 4 8 16 1000000; do
        "$BUILD/fota-delta" create "$W/$FIRST.old" "$W/$FIRST.new" "$W/seg.fdp" \
            --segment-records "$sr" >/dev/null || bench_fail "fota-delta create --segment-records $sr"
        label=$sr
        [ "$sr" = 1000000 ] && label="one segment"
        cmp -s "$W/seg.fdp" "$W/seg-default.fdp" && label="$label (the default)"
        printf '%-44s %8s\n' "$label" "$(size_of "$W/seg.fdp")" >>"$W/segments"
    done
fi

# ---- the device side ----------------------------------------------------------------------------

A=(arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections -std=c99
    -I"$BENCH_ROOT/agent/include")
"${A[@]}" -c "$BENCH_ROOT/agent/src/delta.c" -o "$W/delta.o" || bench_fail "delta.c for Cortex-M4"
text=$(arm-none-eabi-size "$W/delta.o" | awk 'NR == 2 { print $1 + $2 }')
cat >"$W/ram.c" <<'EOF'
#include "fota/delta.h"
char fota_delta_size[sizeof(fota_delta_t)];
EOF
"${A[@]}" -c "$W/ram.c" -o "$W/ram.o"
ram=$(arm-none-eabi-nm -S -t d "$W/ram.o" | awk '$4 == "fota_delta_size" { print $2 + 0 }')
# Linked cost: a firmware that applies a patch, against the same one without the calls.
cat >"$W/use.c" <<'EOF'
#include "fota/delta.h"
static fota_delta_t d;
static fota_err_t rd(void *c, uint32_t o, uint8_t *b, size_t n) { (void)c; (void)o; (void)b; (void)n; return FOTA_OK; }
static fota_err_t wr(void *c, uint32_t o, const uint8_t *b, size_t n) { (void)c; (void)o; (void)b; (void)n; return FOTA_OK; }
extern const uint8_t patch[];
void Reset_Handler(void);
void Reset_Handler(void)
{
#ifdef USE
    static const fota_delta_io_t io = {0, rd, wr};
    uint32_t at;
    if (fota_delta_begin(&d, patch, 16, 1000) == FOTA_OK && fota_delta_segment_at(patch + 16, 8, &at)) {
        fota_delta_restart(&d);
        (void)fota_delta_record(&d, patch + 16, 1024, at, &io);
    }
    (void)fota_delta_done(&d);
#else
    (void)*(const volatile uint8_t *)patch;
#endif
    for (;;) {}
}
const uint8_t patch[1040] = {1};
EOF
# shellcheck disable=SC2054
L=(-nostartfiles -specs=nano.specs -specs=nosys.specs -Wl,--entry=Reset_Handler -Wl,-Ttext=0x08000000
    -Wl,--gc-sections)
"${A[@]}" "${L[@]}" -DUSE "$W/use.c" "$BENCH_ROOT/agent/src/delta.c" -o "$W/use.elf" ||
    bench_fail "linking the applier for Cortex-M4"
"${A[@]}" "${L[@]}" "$W/use.c" -o "$W/none.elf" || bench_fail "linking without the applier"
linked=$(($(arm-none-eabi-size "$W/use.elf" | awk 'NR == 2 { print $1 }') -
    $(arm-none-eabi-size "$W/none.elf" | awk 'NR == 2 { print $1 }')))

# detools' applier for the same device (sequential patches, heatshrink 8/7 with a static
# decoder, no LZMA, no file I/O: ESP-IDF's esp_delta_ota's choice), and its instructions per new
# byte under callgrind on the first pair (its own CLI: the file I/O is counted, a few %).
dt_ram="-" dt_code="-" dt_ir="-"
if [ "$use_detools" = 1 ]; then
    dc="$CACHE/detools/detools-0.53.0/c"
    DT=(-DDETOOLS_CONFIG_FILE_IO=0 -DDETOOLS_CONFIG_COMPRESSION_LZMA=0 -DDETOOLS_CONFIG_COMPRESSION_CRLE=0
        -DDETOOLS_CONFIG_COMPRESSION_NONE=0 -I"$dc" -I"$dc/heatshrink")
    printf '#include "detools.h"\nchar detools_size[sizeof(struct detools_apply_patch_t)];\n' >"$W/dt.c"
    for f in "$W/dt.c" "$dc/detools.c" "$dc/heatshrink/heatshrink_decoder.c"; do
        "${A[@]}" "${DT[@]}" -c "$f" -o "$W/$(basename "${f%.c}").o" || bench_fail "$f for Cortex-M4"
    done
    dt_ram=$(arm-none-eabi-nm -S -t d "$W/dt.o" | awk '$4 == "detools_size" { print $2 + 0 }')
    dt_code=$(arm-none-eabi-size "$W/detools.o" "$W/heatshrink_decoder.o" | awk 'NR > 1 { s += $1 + $2 } END { print s }')
    valgrind --tool=callgrind --callgrind-out-file="$W/dcg.out" \
        --toggle-collect=detools_apply_patch_filenames "$CACHE/detools/detools-apply" apply_patch \
        "$W/$FIRST.old" "$W/$FIRST.hs" "$W/dcg.bin" >/dev/null 2>&1 || bench_fail "detools under callgrind"
    dt_ir=$(ratio "$(callgrind_annotate "$W/dcg.out" 2>/dev/null |
        awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')" "$(size_of "$W/$FIRST.new")" 1)
fi

{
    if [ -s "$W/segments" ]; then
        echo
        cat "$W/segments"
    fi
    echo
    echo "in chain mode (32 bytes of hash per 1 KB record): full image against our patch"
    printf '%-18s %9s %9s %9s %6s\n' pair "full" records patch "%full"
    cat "$W/chain"
    echo
    echo "the applier on a Cortex-M4 (arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpfullversion) -Os)"
    printf '%-44s %8s %8s\n' "" ours detools
    printf '%-44s %8s %8s\n' "RAM: sizeof(fota_delta_t), of detools' state" "$ram" "$dt_ram"
    printf '%-44s %8s %8s\n' "code: text + rodata of the applier's objects" "$text" "$dt_code"
    printf '%-44s %8s %8s\n' "code linked (--gc-sections, with its libc)" "$linked" "-"
    printf '%-44s %8s %8s\n' "host Ir per new byte ($FIRST)" "$first_ir" "$dt_ir"
} >>"$W/table"

{
    echo "Sizes in bytes; %new = our patch / the new image; dt-hs, dt-lzma = detools 0.53.0"
    echo "sequential patches with heatshrink (8/7) and LZMA; ours-ms, bsd-ms = time to make the"
    echo "patch; Ir/B = instructions of fota_delta_record per new byte under callgrind (x86-64 -O2,"
    echo "the applier's I/O over memory); M4/B = the same on a Cortex-M4 (-Os) under QEMU"
    echo "(mps2-an386, -icount), writing into the memory that plays the flash. Every patch is applied"
    echo "(ours on the host and on the Cortex-M4, detools' with its own C applier) and compared with"
    echo "the new image. ours-ms includes that check. detools' device side: detools.c and"
    echo "heatshrink_decoder.c for sequential heatshrink patches only (static 8/7 decoder, no LZMA, no"
    echo "file I/O), its state struct detools_apply_patch_t; its Ir/B with its CLI's file I/O (a few %)."
    echo "The pairs and how they are built: bench/delta.sh's header and docs/DELTA.md."
    if [ "$QUICK" = 1 ]; then
        echo "Quick form: small images of $(echo "$QUICK_FILES" | wc -w) Mbed TLS files; detools not run."
    elif [ "$use_detools" = 0 ]; then
        echo "detools not run: $DETOOLS_WHY."
    fi
} | fold -s -w 100 >"$W/notes"
bench_report "Delta patches on real firmware" "$W/table" "$W/notes"
