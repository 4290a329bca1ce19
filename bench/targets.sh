#!/bin/bash
# targets.sh - the agent measured on MCU instruction sets: the bare-metal harness (ports/qemu,
# docs/TARGETS.md) on RV32IMAC (qemu-system-riscv32 -machine virt: the ESP32-C3/C6 cores'
# instruction set, picolibc) and a Cortex-M4 (qemu-system-arm -machine mps2-an386, newlib-nano),
# both -Os with Mbed TLS 3.6.4 built for the target, updating from a real fotad through
# fota-qemu-bridge:
#
#   instructions  executed inside the agent's calls (poll, response begin/header/feed/end, init,
#                 deinit, confirm; not the UART, and not the flash port under them, whose own
#                 instructions per byte are the column flash/B) for a whole update of a
#                 1,068,032-byte image (the seed's firmware size) in each mode, from QEMU's
#                 instruction-driven clock (-icount), per firmware byte; beside it SHA-256 alone
#                 (mbedtls_sha256 over the same bytes, on the same target, same build): the floor.
#                 "marginal" = (1 MB run - 64 KB run) / (bytes between), which leaves out the
#                 costs an update pays once (the manifest's ECDSA check above all).
#   stack         the harness paints its stack at start and finds the deepest byte touched at the
#                 end (whole firmware: harness, agent, Mbed TLS)
#   pool          the most of Mbed TLS's static heap pool (memory_buffer_alloc) any allocation
#                 reached: the pool a firmware must give it
#   code, static  from the link map (--gc-sections): .text+.rodata and .data+.bss that the
#                 agent core (libfota.a), Mbed TLS (libmbedcrypto.a), the C library (libc,
#                 libgcc) and the harness bring into the firmware
#
# Usage: bench/targets.sh [--quick] [--no-doc] [BUILD_DIR]   (quick: 64 KB, chain mode)
# Needs ../shared/third_party/mbedtls (skipped with a message without it).
source "$(dirname "$0")/lib.sh" targets "$@"
bench_need fotad fotactl fota-image fota-qemu-bridge
if [ ! -d "$BENCH_ROOT/../shared/third_party/mbedtls" ]; then
    echo "targets: SKIPPED: ../shared/third_party/mbedtls not found (the firmware needs it)"
    exit 0
fi

FULL=1068032
SMALL=65536
sizes="$SMALL $FULL"
modes="chain seed"
[ "$QUICK" = 1 ] && sizes="$SMALL" && modes="chain"
PRODUCT=bench

bench_keys

# hex in mawk, which has no strtonum
map_sizes() { # MAP: "GROUP code|data|bss BYTES" lines, and "obj NAME BYTES" for Mbed TLS code
    awk '
    function hex(s,   i, v) {
        s = tolower(s); sub(/^0x/, "", s); v = 0
        for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
        return v
    }
    function group(f) {
        if (f ~ /libfota\.a\(/) return "agent"
        if (f ~ /libmbedcrypto\.a\(/) return "mbedtls"
        if (f ~ /lib(c|c_nano|g_nano|gcc)\.a\(/) return "libc"
        return "harness"
    }
    function add(size, file,   g, o) {
        if (kind == "" || size == "" || file == "") return
        g = group(file); n[g " " kind] += hex(size)
        if (g == "mbedtls" && kind == "code") {
            o = file; sub(/.*\(/, "", o); sub(/\.o\)$/, "", o); obj[o] += hex(size)
        }
    }
    /^Linker script and memory map/ { on = 1; next }
    !on { next }
    /^[.]/ {
        kind = ""
        if ($1 ~ /^\.(text|rodata|ARM\.exidx)$/) kind = "code"
        if ($1 == ".data") kind = "data"
        if ($1 == ".bss") kind = "bss"
        next
    }
    /^ [.*][a-zA-Z_]/ && $1 != "*fill*" {
        if (NF >= 4 && $2 ~ /^0x/) { add($3, $4); next }
        if (NF == 1) { pending = 1; next }
    }
    pending && /^ +0x/ { pending = 0; if (NF >= 3) add($2, $3); next }
    { pending = 0 }
    END {
        for (k in n) print k, n[k]
        for (o in obj) print "obj", o, obj[o]
    }' "$1"
}

# run TARGET MODE SIZE: one update on the target; results in $W/TARGET-MODE-SIZE.out.
run() {
    local t=$1 mode=$2 size=$3 shift qemu
    case "$t" in
    riscv32) shift=0 qemu=(qemu-system-riscv32 -machine virt -bios none) ;;
    cortex-m4) shift=5 qemu=(qemu-system-arm -machine mps2-an386) ;;
    esac
    local id="$t-$mode-$size"
    "$BUILD/fota-qemu-bridge" --server "http://127.0.0.1:$PORT" --id "$id" --master "$W/master" \
        --release-key "$W/release.pub" --product "$PRODUCT-$t" --version 1.0.0 --mode "$mode" \
        --chip "$(chip_id "$t")" --measure "$size" --icount-shift "$shift" --timeout 1200 -- \
        "${qemu[@]}" -kernel "$BUILD/qemu/$t/fota-qemu.elf" -nographic -monitor none \
        -semihosting-config enable=on,target=native -icount "shift=$shift" \
        >"$W/$id.out" 2>"$W/$id.err" || { cat "$W/$id.err" >&2; bench_fail "$id: bridge failed"; }
    grep -q "^result outcome FOTA_OK$" "$W/$id.out" || { cat "$W/$id.out" >&2; bench_fail "$id"; }
}
chip_id() { [ "$1" = riscv32 ] && echo 5 || echo 0; }   # ESP32-C3, ESP32
chip_name() { [ "$1" = riscv32 ] && echo esp32c3 || echo esp32; }
res() { sed -n "s/^result $2 //p" "$W/$1.out"; }

bench_fotad -- --log-level warn
# One product per target (a product has one chip), one release per size, assigned in turn.
declare -A REL
for t in riscv32 cortex-m4; do
    "$BENCH_ROOT/scripts/build-qemu" "$t" "$BUILD/qemu/$t" >"$W/build-$t.log" 2>&1 ||
        { cat "$W/build-$t.log" >&2; bench_fail "build-qemu $t"; }
    for size in $sizes; do
        "$BUILD/fota-image" create --version "2.0.$size" --size "$size" --chip "$(chip_name "$t")" \
            -o "$W/$t-$size.bin" >/dev/null || bench_fail "fota-image"
        REL[$t-$size]=$("$BUILD/fotactl" release create --image "$W/$t-$size.bin" \
            --key "$W/release.pem" --product "$PRODUCT-$t" -o "$W/$t-$size.bundle" 2>/dev/null)
        "$BUILD/fotactl" release upload "$W/$t-$size.bundle" --server "http://127.0.0.1:$PORT" \
            --token-file "$W/token" >/dev/null || bench_fail "release upload"
    done
done
for t in riscv32 cortex-m4; do
    for size in $sizes; do
        "$BUILD/fotactl" assign "${REL[$t-$size]}" --product "$PRODUCT-$t" \
            --server "http://127.0.0.1:$PORT" --token-file "$W/token" >/dev/null ||
            bench_fail "assign"
        for mode in $modes; do
            run "$t" "$mode" "$size"
        done
    done
done

per_byte() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
{
    printf '%-10s %-6s %9s %13s %7s %7s %6s %9s %7s %8s %6s %5s\n' target mode bytes \
        instructions "per B" "SHA/B" ratio marginal "m.ratio" "flash/B" stack pool
    for t in riscv32 cortex-m4; do
        for mode in $modes; do
            for size in $sizes; do
                id="$t-$mode-$size"
                insns=$(res "$id" agent_insns)
                sha=$(res "$id" sha256_insns)
                marg="-" mratio="-"
                if [ "$size" = "$FULL" ]; then
                    small="$t-$mode-$SMALL"
                    marg=$(per_byte $((insns - $(res "$small" agent_insns))) $((FULL - SMALL)))
                    mratio=$(ratio "$marg" "$(per_byte $((sha - $(res "$small" sha256_insns))) \
                        $((FULL - SMALL)))" 2)
                fi
                printf '%-10s %-6s %9s %13s %7s %7s %6s %9s %7s %8s %6s %5s\n' "$t" "$mode" \
                    "$size" "$insns" "$(per_byte "$insns" "$size")" "$(per_byte "$sha" "$size")" \
                    "$(ratio "$insns" "$sha" 2)" "$marg" "$mratio" \
                    "$(per_byte "$(res "$id" flash_insns)" "$size")" "$(res "$id" stack_used)" \
                    "$(res "$id" heap_peak)"
            done
        done
    done
    echo
    echo "per byte of the 1 MB image on the same target (of the chain run), what the agent's chain-mode"
    echo "path is made of besides SHA-256: the C library's memcpy (a record gathered across pieces)"
    echo "and memcmp (the read-back), and the ESP image check alone (checksum over every byte):"
    for t in riscv32 cortex-m4; do
        id="$t-chain-$FULL"
        [ -f "$W/$id.out" ] || id="$t-chain-$SMALL"
        b=$(res "$id" measure_bytes)
        echo "  $t: SHA-256 $(per_byte "$(res "$id" sha256_insns)" "$b")," \
            "memcpy $(per_byte "$(res "$id" memcpy_insns)" "$b")," \
            "memcmp $(per_byte "$(res "$id" memcmp_insns)" "$b")," \
            "image check $(per_byte "$(res "$id" image_check_insns)" "$b")"
    done
    echo
    printf '%-10s %11s %12s %10s %12s %11s %12s %12s\n' target "agent code" "Mbed TLS" libc \
        harness "agent RAM" "Mbed TLS RAM" "fota_agent_t"
    for t in riscv32 cortex-m4; do
        map_sizes "$BUILD/qemu/$t/fota-qemu.map" >"$W/$t.sizes"
        get() { awk -v k="$1 $2" '$1 " " $2 == k { v = $3 } END { print v + 0 }' "$W/$t.sizes"; }
        ram() { echo $(($(get "$1" data) + $(get "$1" bss))); }
        printf '%-10s %11s %12s %10s %12s %11s %12s %12s\n' "$t" "$(get agent code)" \
            "$(get mbedtls code)" "$(get libc code)" "$(get harness code)" "$(ram agent)" \
            "$(ram mbedtls)" "$(res "$t-chain-$SMALL" agent_struct)"
    done
    echo
    for t in riscv32 cortex-m4; do
        echo "Mbed TLS code on $t by object: $(awk '$1 == "obj" { print $3, $2 }' "$W/$t.sizes" |
            sort -rn | awk '{ printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1 }')" |
            fold -s -w 100 | sed 's/ *$//'
    done
    echo "riscv64-unknown-elf-gcc $(riscv64-unknown-elf-gcc -dumpfullversion)," \
        "arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpfullversion), Mbed TLS 3.6.4," \
        "QEMU $(qemu-system-riscv32 --version | sed -n '1s/^QEMU emulator version \([^ ]*\).*/\1/p')"
} >"$W/table"
BENCH_COMMAND="bench/targets.sh BUILD_DIR"
bench_report "The agent on MCU instruction sets (QEMU, bare metal)" "$W/table"
