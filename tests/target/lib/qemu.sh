# qemu.sh - shared by the bare-metal target tests (tests/target/test_qemu_*.sh; sourced, not run
# by ctest): the agent core built for a QEMU machine (scripts/build-qemu), run end to end against
# a real fotad through fota-qemu-bridge, and against fota-hostile's attacks.
#
#   source "$(dirname "$0")/lib/qemu.sh" "$1" TARGET CHIP   # riscv32 esp32c3, cortex-m4 esp32
#
# Without ../shared/third_party/mbedtls (the Mbed TLS 3.6 sources the firmware is built with)
# the test says SKIPPED and passes. The cross compilers and QEMU come from scripts/install-deps.
Q_TARGET=$2
Q_CHIP=$3
Q_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [ ! -d "$Q_ROOT/../shared/third_party/mbedtls" ]; then
    echo "SKIPPED: ../shared/third_party/mbedtls not found: the agent was not built or run on $Q_TARGET"
    exit 0
fi
source "$Q_ROOT/tests/integration/lib/fotad.sh" "$1" "qemu-$Q_TARGET"
[ -x "$BUILD/fota-qemu-bridge" ] || fail "fota-qemu-bridge not built"
[ -x "$BUILD/fota-hostile" ] || fail "fota-hostile not built"

case "$Q_TARGET" in
riscv32)
    Q_SHIFT=0
    Q_QEMU=(qemu-system-riscv32 -machine virt -bios none)
    ;;
cortex-m4)
    Q_SHIFT=5
    Q_QEMU=(qemu-system-arm -machine mps2-an386)
    ;;
esac
command -v "${Q_QEMU[0]}" >/dev/null || fail "${Q_QEMU[0]} not installed (scripts/install-deps)"
Q_MACHINE=("${Q_QEMU[@]}")
# q_kernel ELF: q_run boots ELF from now on.
q_kernel() {
    Q_QEMU=("${Q_MACHINE[@]}" -kernel "$1" -nographic -monitor none
            -semihosting-config enable=on,target=native -icount "shift=$Q_SHIFT")
}
q_kernel "$BUILD/qemu/$Q_TARGET/fota-qemu.elf"
Q_SLOT_LEN=$((0x140000)) # ports/qemu/harness.h: HARNESS_SLOT_SIZE

# q_build: the firmware for this target, into $BUILD/qemu/$Q_TARGET.
q_build() {
    "$Q_ROOT/scripts/build-qemu" "$Q_TARGET" "$BUILD/qemu/$Q_TARGET" >"$W/build.log" 2>&1 ||
        { cat "$W/build.log" >&2; fail "scripts/build-qemu $Q_TARGET"; }
}

# q_build_lto: the same firmware with link-time optimization (FOTA_QEMU_LTO=1), into
# $BUILD/qemu/$Q_TARGET-lto; q_run boots it from then on.
q_build_lto() {
    FOTA_QEMU_LTO=1 "$Q_ROOT/scripts/build-qemu" "$Q_TARGET" "$BUILD/qemu/$Q_TARGET-lto" \
        >"$W/build-lto.log" 2>&1 || { cat "$W/build-lto.log" >&2; fail "build-qemu, -flto"; }
    q_kernel "$BUILD/qemu/$Q_TARGET-lto/fota-qemu.elf"
}

# q_image VERSION FILE SIZE [fota-image args]: an image for this target's chip.
q_image() {
    local version=$1 file=$2 size=$3
    shift 3
    "$BUILD/fota-image" create --version "$version" --size "$size" --chip "$Q_CHIP" -o "$file" \
        "$@" >/dev/null || fail "fota-image create $version"
}

# q_run ID URL MODE [bridge args]: the device ID on the target against URL; its output in
# $W/ID.out (results, "result KEY VALUE"), QEMU's console and the bridge's words in $W/ID.err,
# the update slot in $W/ID.slot; the bridge's exit code in $RC.
q_run() {
    local id=$1 url=$2 mode=$3
    shift 3
    RC=0
    "$BUILD/fota-qemu-bridge" --server "$url" --id "$id" --release-key "$W/release.pub" \
        --product "$PRODUCT" --version 1.0.0 --mode "$mode" --chip "$Q_CHIP_ID" \
        --dump "$W/$id.slot" --icount-shift "$Q_SHIFT" --timeout 120 --http-timeout 20000 \
        "$@" -- "${Q_QEMU[@]}" >"$W/$id.out" 2>"$W/$id.err" || RC=$?
    check_sanitizer "$W/$id.err"
}

# q_result ID KEY: the value the run of ID reported for KEY.
q_result() {
    sed -n "s/^result $2 //p" "$W/$1.out"
}

# q_expect ID KEY VALUE
q_expect() {
    local got
    got=$(q_result "$1" "$2")
    [ "$got" = "$3" ] || { cat "$W/$1.out" "$W/$1.err" >&2; fail "$1: $2 is '$got', wanted '$3'"; }
}

# q_slot_is ID IMAGE: the update slot holds IMAGE and erased flash after it.
q_slot_is() {
    local n
    n=$(stat -c %s "$2")
    [ "$(stat -c %s "$W/$1.slot")" = "$Q_SLOT_LEN" ] || fail "$1: the slot dump is not the slot"
    cmp -s -n "$n" "$W/$1.slot" "$2" || fail "$1: the slot does not hold $(basename "$2")"
    tail -c +$((n + 1)) "$W/$1.slot" | tr -d '\377' | cmp -s - /dev/null ||
        fail "$1: the slot is not erased after the image"
}

# q_slot_bad ID IMAGE: the first byte of the update slot that is neither IMAGE's byte there nor
# erased (0xFF), as cmp -l prints it (offset, got, want in octal); nothing when there is none.
q_slot_bad() {
    local honest="$W/honest.slot"
    { cat "$2"; head -c $((Q_SLOT_LEN - $(stat -c %s "$2"))) /dev/zero | tr '\0' '\377'; } \
        >"$honest"
    cmp -l "$W/$1.slot" "$honest" | awk '$2 != 377 { print; exit }' || true
}

# q_slot_honest ID IMAGE: every byte of the update slot is IMAGE's byte there or erased.
q_slot_honest() {
    local bad
    bad=$(q_slot_bad "$1" "$2")
    [ -z "$bad" ] || fail "$1: unverified byte in the update slot (offset, got, want): $bad"
}
