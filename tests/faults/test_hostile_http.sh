#!/usr/bin/env bash
# test_hostile_http.sh - attack the agent over real HTTP on loopback. fota-hostile
# (tests/support-bin/fota-hostile.c) serves releases made by `fotactl release create` and
# misbehaves as its mode file says: lying Content-Length (longer, shorter), a body cut in half,
# an endless body, slow-loris bodies and headers, a redirect loop, 200 or 416 for a Range, a
# Content-Range (and body) one record off, a bit flipped in a record, oversized headers, a 500
# storm, a forged manifest, the manifest of another release, a release for another product, a
# downgrade below the security floor, an image too big for the partition, the records of another
# release. The real agent runs in fota-device over the libcurl transport (short request
# deadline, short back-off).
#
# After each attack: the attempt failed with the error expected (the name fota-device prints as
# the outcome), the update slot holds nothing but bytes of the honest image or erased 0xFF, the
# emulated bootloader still boots 1.0.0, and the next run against the honest server installs and
# confirms 2.0.0. The same attacks at the transport port: tests/unit/test_hostile_agent.c.
# Run by ctest as: bash test_hostile_http.sh BUILD_DIR
set -u
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
for tool in fota-hostile fota-device fota-flash fota-image fotactl; do
    [ -x "$BUILD/$tool" ] || { echo "FAIL: $BUILD/$tool not built" >&2; exit 1; }
done
mkdir -p "$BUILD/tmp"
W=$(mktemp -d "$BUILD/tmp/hostile-http.XXXXXX")
SRV=""
cleanup() {
    [ -n "$SRV" ] && kill -- "-$SRV" 2>/dev/null # the server's process group: it and its children
    rm -rf "$W"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
T0=$(date +%s%N)
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# ---- releases: the honest one, and signed ones the device must refuse all the same ------------
PRODUCT=inv-5k
FLOOR=2
KEY=$(printf 'a5%.0s' $(seq 32))
SLOT_OFF=$((0x150000)) # ota_1 of the default layout (docs/TOOLS.md, fota-flash create)
SLOT_LEN=$((0x140000))
"$BUILD/fotactl" keygen --private "$W/rel.pem" --public "$W/rel.pub" >/dev/null || fail keygen
image() { # VERSION SIZE SECURE_VERSION OUT [SEED]
    "$BUILD/fota-image" create --version "$1" --size "$2" --secure-version "$3" \
        ${5:+--seed "$5"} -o "$4" >/dev/null || fail "image $4"
}
release() { # IMAGE PRODUCT OUT
    "$BUILD/fotactl" release create --image "$1" --key "$W/rel.pem" --product "$2" -o "$3" \
        >/dev/null 2>&1 || fail "release $3"
}
image 1.0.0 20K $FLOOR "$W/v1.bin"
image 2.0.0 20K $FLOOR "$W/v2.bin"
image 2.0.0 20K $FLOOR "$W/other.bin" 77        # same version and size, other bytes
image 1.9.0 20K $((FLOOR - 1)) "$W/old.bin"      # below the device's floor
image 2.1.0 $((SLOT_LEN + 64 * 1024)) $FLOOR "$W/big.bin" # does not fit ota_1
release "$W/v2.bin" $PRODUCT "$W/v2.bundle"
release "$W/other.bin" $PRODUCT "$W/other.bundle"
release "$W/v2.bin" other-product "$W/product.bundle"
release "$W/old.bin" $PRODUCT "$W/downgrade.bundle"
release "$W/big.bin" $PRODUCT "$W/toobig.bundle"
# What the slot may hold: the honest image, erased flash after it.
{ cat "$W/v2.bin"; head -c $((SLOT_LEN - $(stat -c %s "$W/v2.bin"))) /dev/zero | tr '\0' '\377'; } \
    >"$W/v2.slot"

echo honest >"$W/mode"
"$BUILD/fota-hostile" "$W/v2.bundle" "$W/mode" "$W/port" other="$W/other.bundle" \
    product="$W/product.bundle" downgrade="$W/downgrade.bundle" toobig="$W/toobig.bundle" \
    >/dev/null 2>"$W/srv.log" &
SRV=$!
for _ in $(seq 50); do [ -s "$W/port" ] && break; sleep 0.1; done
[ -s "$W/port" ] || fail "fota-hostile did not start"
URL="http://127.0.0.1:$(cat "$W/port")"

# device ID [fota-device options]: run the agent until it settles; DEV_RC is its exit code.
device() {
    local id=$1
    shift
    DEV_RC=0
    timeout 30 "$BUILD/fota-device" run "$W/$id.flash" --server "$URL" --id "$id" --key "$KEY" \
        --release-key "$W/rel.pub" --product $PRODUCT --mode chain --floor $FLOOR --retry 1 \
        --timeout 20 "$@" >"$W/$id.out" 2>&1 || DEV_RC=$?
}
boots() { # ID VERSION: the emulated bootloader (a power cycle) starts VERSION, confirmed
    "$BUILD/fota-flash" boot "$W/$1.flash" >"$W/$1.boot" 2>&1 || { cat "$W/$1.boot" >&2; fail "$1: boot"; }
    grep -q "^booted .*: version $2, state VALID\$" "$W/$1.boot" ||
        { cat "$W/$1.boot" "$W/$1".*out >&2; fail "$1: does not boot $2"; }
}
slot_bad() { # FLASH: the first byte of ota_1 that is neither the honest image's nor erased
    dd if="$1" of="$W/slot" bs=4096 skip=$((SLOT_OFF / 4096)) count=$((SLOT_LEN / 4096)) \
        status=none || fail "$1: read the slot"
    cmp -l "$W/slot" "$W/v2.slot" | awk '$2 != 377 { print; exit }'
}
slot_clean() { # ID
    local bad
    bad=$(slot_bad "$W/$1.flash")
    [ -z "$bad" ] || fail "$1: unverified byte in the update slot (offset, octal got, want): $bad"
}
# Every device starts as a copy of this one: 1.0.0 in ota_0, ota_1 erased.
"$BUILD/fota-flash" create "$W/v1.flash" --image "$W/v1.bin" >/dev/null || fail "flash v1"
# The check itself: a slot holding another image than the honest one is caught.
cp "$W/v1.flash" "$W/check.flash"
"$BUILD/fota-flash" write-ota "$W/check.flash" --image "$W/other.bin" >/dev/null || fail write-ota
[ -n "$(slot_bad "$W/check.flash")" ] || fail "the slot check does not see a foreign image"
# attack MODE ERROR [PATTERN [fota-device options]]: the attempt ends with ERROR (and its output
# matches PATTERN: the transport's words, or the error line); then the checks above.
attack() {
    local mode=$1 want=$2 pattern=${3:-} id="dev-$1" t
    shift $(($# < 3 ? $# : 3))
    t=$(date +%s%N)
    cp "$W/v1.flash" "$W/$id.flash"
    echo "$mode" >"$W/mode"
    device "$id" "$@"
    [ "$DEV_RC" = 1 ] || { cat "$W/$id.out" >&2; fail "$mode: fota-device exit $DEV_RC, wanted 1"; }
    grep -q "^device $id: running 1.0.0, outcome: $want\$" "$W/$id.out" ||
        { cat "$W/$id.out" >&2; fail "$mode: outcome is not $want"; }
    if [ -n "$pattern" ]; then
        grep -qF -- "$pattern" "$W/$id.out" || { cat "$W/$id.out" >&2; fail "$mode: no '$pattern'"; }
    fi
    grep -q "^$mode " "$W/srv.log" || fail "$mode: the server never played it"
    mv "$W/$id.out" "$W/$id.attack.out"
    slot_clean "$id"
    boots "$id" 1.0.0
    local t_attack
    t_attack=$(ms_since "$t")
    echo honest >"$W/mode"
    device "$id"
    [ "$DEV_RC" = 0 ] || { cat "$W/$id.out" >&2; fail "$mode: honest run exit $DEV_RC"; }
    grep -q "running 2.0.0, outcome: FOTA_OK" "$W/$id.out" ||
        { cat "$W/$id.out" >&2; fail "$mode: the honest release did not install"; }
    grep -q "^state confirmed" "$W/$id.out" || { cat "$W/$id.out" >&2; fail "$mode: not confirmed"; }
    boots "$id" 2.0.0
    printf 'ok: %-12s -> %-28s (%s ms attack, %s ms in all)\n' "$mode" "$want" "$t_attack" \
        "$(ms_since "$t")"
}

# HTTP framing and transport
attack lies-long FOTA_ERR_HTTP_LENGTH
attack lies-short FOTA_ERR_HTTP_LENGTH
attack cut FOTA_ERR_HTTP_TRUNCATED
attack endless FOTA_ERR_HTTP_BODY_TOO_LARGE "error FOTA_ERR_HTTP_BODY_TOO_LARGE in checking"
attack loris FOTA_ERR_HTTP_TIMEOUT "Operation timed out" --http-timeout 500
attack loris-head FOTA_ERR_HTTP_TIMEOUT "Operation timed out" --http-timeout 500
attack redirect FOTA_ERR_HTTP_REDIRECT "(redirect (HTTP 302) not followed)"
attack storm FOTA_ERR_HTTP_STATUS "error FOTA_ERR_HTTP_STATUS in downloading"
! grep -q redirect "$W/dev-storm.attack.out" || fail "storm: told apart from a redirect no more"
attack range200 FOTA_ERR_HTTP_RANGE
attack 416 FOTA_ERR_HTTP_RANGE
attack badrange FOTA_ERR_CHAIN_MISMATCH
attack corrupt FOTA_ERR_CHAIN_MISMATCH
attack bigheaders FOTA_ERR_HTTP_HEADERS_TOO_LARGE "(response headers over 16384 bytes)"
attack bigheader FOTA_ERR_HTTP_HEADERS_TOO_LARGE "(a response header line over curl's limit)"
attack statusheaders FOTA_ERR_HTTP_HEADERS_TOO_LARGE "(response headers over 16384 bytes)"
# trust: signed or not, the release is refused
attack forged FOTA_ERR_MANIFEST_SIGNATURE
attack swap FOTA_ERR_MANIFEST_CHANGED
attack product FOTA_ERR_MANIFEST_PRODUCT
attack downgrade FOTA_ERR_SECURITY_VERSION
attack toobig FOTA_ERR_IMAGE_TOO_BIG
attack foreign FOTA_ERR_CHAIN_MISMATCH

# An endless 206 after the honest records: the agent takes the bytes of its Range and not one
# more, so the honest release installs without reading the 256 MB the server would send.
cp "$W/v1.flash" "$W/dev-endless-blob.flash"
echo endless-blob >"$W/mode"
t=$(date +%s%N)
device dev-endless-blob
if [ "$DEV_RC" != 0 ] || ! grep -q "running 2.0.0, outcome: FOTA_OK" "$W/dev-endless-blob.out"; then
    cat "$W/dev-endless-blob.out" >&2
    fail "endless-blob: did not install"
fi
grep -q "^endless-blob " "$W/srv.log" || fail "endless-blob: the server never played it"
for _ in $(seq 50); do grep -q "^endless-blob: hung up" "$W/srv.log" && break; sleep 0.1; done
grep -q "^endless-blob: hung up" "$W/srv.log" || { cat "$W/srv.log" >&2; fail "endless-blob: read to the end"; }
boots dev-endless-blob 2.0.0
echo "ok: endless-blob -> installed; $(grep -o 'hung up after .*' "$W/srv.log") ($(ms_since "$t") ms)"
echo "PASS: test_hostile_http ($(ms_since "$T0") ms)"
