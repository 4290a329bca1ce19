# fotad.sh - shared helpers for the fotad integration tests (sourced, not run by ctest: only
# tests/integration/*.sh are tests). A test does:
#
#   source "$(dirname "$0")/lib/fotad.sh" "$1" NAME     # BUILD dir, a name for the temp dir
#   make_keys; fotad_start; ...; fotad_stop
#
# Everything lives in a private directory under $BUILD/tmp, removed on exit (kept on failure
# for a look, with its path printed; KEEP=1 keeps it after a pass too). The fotad started here
# is always killed on exit, even when the test fails half-way. Only tools the project installs
# are used: bash, coreutils, curl, od, dd, cmp - and the project's own fotad, fota-image,
# fota-mkbundle, fota-devreq (and fotactl, fota-flash, openssl for the helpers that name them).

set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
T_NAME=${2:-fotad}
for tool in fotad fota-image fota-mkbundle fota-devreq; do
    [ -x "$BUILD/$tool" ] || { echo "FAIL: $BUILD/$tool not built" >&2; exit 1; }
done
mkdir -p "$BUILD/tmp"
W=$(mktemp -d "$BUILD/tmp/$T_NAME.XXXXXX")
FOTAD_PID=""
T_OK=0
TOKEN="test-admin-token-0123456789abcdef"

t_cleanup() {
    if [ -n "$FOTAD_PID" ] && kill -0 "$FOTAD_PID" 2>/dev/null; then
        kill -KILL "$FOTAD_PID" 2>/dev/null || true
        wait "$FOTAD_PID" 2>/dev/null || true
    fi
    if [ "$T_OK" = 1 ] && [ -z "${KEEP:-}" ]; then
        rm -rf "$W"
    else
        echo "(test files kept in $W)" >&2
    fi
}
trap t_cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$W/fotad.log" ]; then
        echo "--- last lines of fotad.log:" >&2
        tail -n 20 "$W/fotad.log" >&2
    fi
    exit 1
}

pass() {
    T_OK=1
    echo "PASS: $T_NAME"
}

# A sanitizer report anywhere is a failure, whatever the exit codes said.
check_sanitizer() {
    local f
    for f in "$@"; do
        if [ -f "$f" ] && grep -qE 'Sanitizer|runtime error:' "$f"; then
            cat "$f" >&2
            fail "sanitizer report in $f"
        fi
    done
}

# Keys, master secret, admin token file, and a base image.
make_keys() {
    "$BUILD/fota-mkbundle" genkey "$W/release.pem" "$W/release.pub" 2>"$W/mk.err" ||
        fail "genkey"
    head -c 32 /dev/urandom >"$W/master"
    chmod 600 "$W/master"
    printf '%s\n' "$TOKEN" >"$W/token"
    chmod 600 "$W/token"
}

# make_image VERSION FILE [SIZE]
make_image() {
    "$BUILD/fota-image" create --version "$1" --size "${3:-20K}" -o "$2" >/dev/null ||
        fail "fota-image create $1"
}

# make_bundle IMAGE PRODUCT VERSION OUT [extra fota-mkbundle args]: prints the release id.
make_bundle() {
    local image=$1 product=$2 version=$3 out=$4
    shift 4
    "$BUILD/fota-mkbundle" create --key "$W/release.pem" --image "$image" --product "$product" \
        --version "$version" -o "$out" "$@" 2>>"$W/mk.err" || fail "fota-mkbundle create $version"
}

# ---- the operator's tools and emulated ESP32s (fotactl, fota-flash) ----------------------------
# operator_keys: the release key pair as an operator makes it (fotactl keygen), the master secret
# and the admin token file.
operator_keys() {
    "$BUILD/fotactl" keygen --private "$W/release.pem" --public "$W/release.pub" >/dev/null ||
        fail "fotactl keygen"
    head -c 32 /dev/urandom >"$W/master"
    chmod 600 "$W/master"
    printf '%s\n' "$TOKEN" >"$W/token"
    chmod 600 "$W/token"
}

# fotactl_release IMAGE OUT [fotactl args]: fotactl release create for $PRODUCT, signed with
# $W/release.pem; prints the release id.
fotactl_release() {
    local image=$1 out=$2
    shift 2
    "$BUILD/fotactl" release create --image "$image" --key "$W/release.pem" \
        --product "$PRODUCT" -o "$out" "$@" 2>>"$W/mk.err" || fail "fotactl release create $image"
}

# fotactl_ok ARGS...: fotactl against this fotad as the admin (output appended to $W/ctl.out);
# an error fails the test.
fotactl_ok() {
    "$BUILD/fotactl" "$@" --server "$URL" --token-file "$W/token" >>"$W/ctl.out" 2>&1 ||
        fail "fotactl $*"
}

# show_out ID: what the device ID printed ($W/ID.out, $W/ID.err), on stderr.
show_out() {
    cat "$W/$1.out" "$W/$1.err" >&2
}

# flash_boots ID VERSION SLOT: $W/ID.flash boots VERSION from SLOT next, and otadata holds it
# VALID (fota-flash show, kept in $W/ID.show).
flash_boots() {
    "$BUILD/fota-flash" show "$W/$1.flash" >"$W/$1.show" || fail "fota-flash show $1"
    grep -q "^Next boot: $3 .*version $2\$" "$W/$1.show" ||
        { cat "$W/$1.show" >&2; fail "$1 does not boot $2 from $3"; }
    grep -q "state VALID, crc ok -> $3 (active)" "$W/$1.show" ||
        { cat "$W/$1.show" >&2; fail "$1: the active otadata entry is not VALID for $3"; }
}

# device_seen ID STATE VERSION: fotad's view of the device (the admin API's answer stays in $BODY
# for more body_has).
device_seen() {
    admin GET "/api/admin/devices/$1"
    expect 200 "device $1"
    body_has "\"state\":\"$2\""
    body_has "\"version\":\"$3\""
}

# bundle_parts NAME: $W/NAME.bundle split into $W/NAME.manifest (its 256-byte manifest) and
# $W/NAME.blob (the hash-chained records after it).
bundle_parts() {
    head -c 256 "$W/$1.bundle" >"$W/$1.manifest"
    tail -c +257 "$W/$1.bundle" >"$W/$1.blob"
}

# fotad_start [extra fotad args]: start $BUILD/$FOTAD_BIN (fotad unless set: fotad-test for the
# test hooks of server/main.c) on an ephemeral port, wait until it listens.
fotad_start() {
    rm -f "$W/port"
    "$BUILD/${FOTAD_BIN:-fotad}" --port 0 --port-file "$W/port" --data-dir "$W/data" \
        --release-key "$W/release.pub" --master-secret-file "$W/master" \
        --admin-token-file "$W/token" --threads 4 "$@" 2>>"$W/fotad.log" &
    FOTAD_PID=$!
    local i
    for i in $(seq 1 200); do
        [ -s "$W/port" ] && break
        kill -0 "$FOTAD_PID" 2>/dev/null || fail "fotad exited at startup"
        sleep 0.05
    done
    [ -s "$W/port" ] || fail "fotad did not write its port file"
    PORT=$(cat "$W/port")
    URL="http://127.0.0.1:$PORT"
}

# fotad_stop: SIGTERM, and the server must exit 0 with a clean log.
fotad_stop() {
    kill -TERM "$FOTAD_PID"
    local rc=0
    wait "$FOTAD_PID" || rc=$?
    FOTAD_PID=""
    [ "$rc" -eq 0 ] || fail "fotad exited with $rc after SIGTERM"
    grep -q "fotad stopped" "$W/fotad.log" || fail "no clean shutdown in the log"
    check_sanitizer "$W/fotad.log"
}

# admin METHOD PATH [curl args...]: an admin call with the token; body in $W/body, status in
# $STATUS.
admin() {
    local method=$1 path=$2
    shift 2
    STATUS=$(curl -s -o "$W/body" -w '%{http_code}' -X "$method" \
        -H "Authorization: Bearer $TOKEN" "$@" "$URL$path") || fail "curl $method $path"
}

# raw METHOD PATH [curl args...]: the same without the token.
raw() {
    local method=$1 path=$2
    shift 2
    STATUS=$(curl -s -o "$W/body" -w '%{http_code}' -X "$method" "$@" "$URL$path") ||
        fail "curl $method $path"
}

# dev DEVICE TARGET [fota-devreq args...]: one authenticated device request; the status in
# $STATUS, the rest of the output (headers asked with --show, body) in $W/body.
dev() {
    local device=$1 target=$2
    shift 2
    local rc=0
    "$BUILD/fota-devreq" --url "$URL" --device "$device" --master "$W/master" \
        --target "$target" "$@" >"$W/devout" 2>"$W/deverr" || rc=$?
    check_sanitizer "$W/deverr"
    [ "$rc" -eq 0 ] || { cat "$W/devout" "$W/deverr" >&2; fail "fota-devreq exit $rc: $target"; }
    STATUS=$(head -n 1 "$W/devout")
    tail -n +2 "$W/devout" >"$W/body"
}

# expect STATUS WHAT: the last call answered STATUS.
expect() {
    [ "$STATUS" = "$1" ] || { cat "$W/body" >&2; echo >&2; fail "$2: status $STATUS, wanted $1"; }
}

# body_has TEXT: the last body contains TEXT.
body_has() {
    grep -qF -- "$1" "$W/body" || { cat "$W/body" >&2; echo >&2; fail "body lacks '$1'"; }
}

# error_is STATUS CODE WHAT: a JSON error with this status and machine code.
error_is() {
    expect "$1" "$3"
    body_has "\"code\":\"$2\""
    body_has '"error":"'
}

# flip_byte FILE OFFSET: invert every bit of one byte in place.
flip_byte() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    # shellcheck disable=SC2059
    printf "$(printf '\\%03o' $((b ^ 0xFF)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# json_num FIELD: the first numeric value of "FIELD": in the last body.
json_num() {
    grep -oE "\"$1\":[0-9]+" "$W/body" | sed -n 1p | cut -d: -f2
}

# ---- TLS: a private CA and server certificates (openssl; docs/SERVER.md, "HTTPS") ---------------
# tls_ca NAME: a self-signed CA, $W/NAME.pem and $W/NAME.key (ECDSA P-256, valid two days).
tls_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=fota test $1" -keyout "$W/$1.key" -out "$W/$1.pem" 2>>"$W/openssl.log" ||
        fail "openssl: CA $1"
}

# tls_cert CA NAME SERIAL: a server certificate for 127.0.0.1 (and localhost) signed by CA,
# $W/NAME.pem and $W/NAME.key, with the serial number SERIAL (hex).
tls_cert() {
    local ca=$1 name=$2 serial=$3
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$W/$name.key" -out "$W/$name.csr" 2>>"$W/openssl.log" || fail "openssl: key $name"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' \
        >"$W/$name.ext"
    openssl x509 -req -in "$W/$name.csr" -CA "$W/$ca.pem" -CAkey "$W/$ca.key" -days 2 \
        -set_serial "0x$serial" -extfile "$W/$name.ext" -out "$W/$name.pem" \
        2>>"$W/openssl.log" || fail "openssl: certificate $name"
}
