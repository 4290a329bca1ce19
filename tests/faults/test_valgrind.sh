#!/usr/bin/env bash
# test_valgrind.sh BUILD_DIR - the integration scenarios with every fota process under valgrind
# memcheck: no invalid read or write, no use of uninitialised memory, no definite or indirect
# leak, in fotad, fotactl, fota-image, fota-flash, fota-device and fota-sim.
#
# What runs (each process under memcheck, small images so it stays well under a minute and a
# half on two cores):
#   - fotactl keygen, release create (good release and one that fails its self-test), inspect;
#     fota-image create and info; fota-flash create, show;
#   - fotad with its SQLite store; fotactl release upload (twice: "already uploaded"), list,
#     show, assign, device list, device show, and a refused (tampered) upload;
#   - fota-device: a full update in seed mode and in chain mode, a second run with nothing to
#     do, a device with a forged key (refused), a rollback from the release that fails its
#     self-test, then the same release installed again from the slot and rolled back again;
#   - refused requests: no or wrong admin token, malformed and oversized JSON, a body that is
#     not a bundle, unknown device and route, wrong method, a device request without a key;
#   - fota-sim: a small fleet in each mode, the chain one with power cuts and dropped
#     transfers, and a seed one where fota-sim starts its own fotad under memcheck and
#     restarts it (SIGTERM) in the middle of the download;
#   - fotad with its own TLS (a CA and certificates made with openssl): fotactl and fota-device
#     over https verifying against the CA, plain http refused, SIGHUP with a new certificate
#     and with a broken key, SIGTERM;
#   - fotad stopped with SIGTERM, so that its leak check runs at exit (exit 0, clean log).
#
# A valgrind error makes the process exit 99; a definite or indirect leak counts as an error.
# The test fails on either and prints that process's valgrind log. Suppressions, each with its
# reason, are in tests/faults/valgrind.supp (third-party library internals only).
# Skipped in a sanitizer build (ASan and valgrind do not mix); fails if valgrind is missing
# (scripts/install-deps installs it). Run by ctest as: bash test_valgrind.sh BUILD_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SUPP=$HERE/valgrind.supp

if grep -q '^FOTA_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    echo "SKIPPED: $BUILD is a sanitizer build (FOTA_SANITIZE=ON); valgrind needs a plain build"
    exit 0
fi
if ! command -v valgrind >/dev/null 2>&1; then
    echo "FAIL: valgrind is not installed (Debian: valgrind; run scripts/install-deps)" >&2
    exit 1
fi
for tool in fotad fotactl fota-image fota-flash fota-device fota-sim; do
    [ -x "$BUILD/$tool" ] || { echo "FAIL: $BUILD/$tool not built" >&2; exit 1; }
done

# The private directory $W, fail(), and a fotad killed on exit: the integration tests' library.
source "$HERE/../integration/lib/fotad.sh" "$1" valgrind
mkdir -p "$W/vg"
TOKEN="valgrind-test-token-0123456789abcdef"
PRODUCT=inv-vg

LEAK_KINDS=definite,indirect
VG=(valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds="$LEAK_KINDS"
    --show-leak-kinds="$LEAK_KINDS" --error-exitcode=99 --track-fds=no
    --suppressions="$SUPP" --num-callers=30)

# vg_check NAME LOG RC: the verdict on one valgrind run (exit 99, or errors in its summary).
vg_check() {
    local name=$1 log=$2 rc=$3
    if [ "$rc" = 99 ] || ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
        echo "--- valgrind log of $name ($log):" >&2
        cat "$log" >&2
        grep -q 'ERROR SUMMARY' "$log" ||
            fail "$name ended before valgrind's summary (killed? exit $rc)"
        fail "valgrind reports errors or leaks in $name (exit $rc)"
    fi
}

# vg WANT_EXIT NAME CMD [ARGS...]: run CMD under memcheck, stdout in $W/NAME.out, stderr in
# $W/NAME.err; it must exit WANT_EXIT ("any" for any code but 99) with a clean valgrind log.
N=0
vg() {
    local want=$1 name=$2 rc=0
    shift 2
    N=$((N + 1))
    local log="$W/vg/$N-$name.log"
    "${VG[@]}" --log-file="$log" "$@" >"$W/$name.out" 2>"$W/$name.err" || rc=$?
    vg_check "$name" "$log" "$rc"
    if [ "$want" != any ] && [ "$rc" != "$want" ]; then
        cat "$W/$name.out" "$W/$name.err" >&2
        fail "$name exited $rc, wanted $want"
    fi
}

out_has() { # NAME TEXT: $W/NAME.out contains TEXT
    grep -qF -- "$2" "$W/$1.out" || { cat "$W/$1.out" "$W/$1.err" >&2; fail "$1: no '$2'"; }
}

T0=$(date +%s)

# ---- offline: keys, images, signed releases -----------------------------------------------------

head -c 32 /dev/urandom >"$W/master"
printf '%s\n' "$TOKEN" >"$W/token"
chmod 600 "$W/master" "$W/token"

vg 0 keygen "$BUILD/fotactl" keygen --private "$W/release.pem" --public "$W/release.pub"
vg 0 img-v1 "$BUILD/fota-image" create --version 1.0.0 --size 64K -o "$W/v1.bin"
vg 0 img-v2 "$BUILD/fota-image" create --version 2.0.0 --size 64K -o "$W/v2.bin"
vg 0 img-bad "$BUILD/fota-image" create --version 2.1.0-bad --size 32K --fail-selftest \
    -o "$W/bad.bin"
vg 0 img-info "$BUILD/fota-image" info "$W/v2.bin"
vg 0 create-v2 "$BUILD/fotactl" release create --image "$W/v2.bin" --key "$W/release.pem" \
    --product "$PRODUCT" --version 2.0.0 -o "$W/v2.bundle"
R2=$(grep -oE '[0-9a-f]{32}' "$W/create-v2.out" | head -n 1)
vg 0 create-bad "$BUILD/fotactl" release create --image "$W/bad.bin" --key "$W/release.pem" \
    --product "$PRODUCT" --version 2.1.0-bad -o "$W/bad.bundle"
RBAD=$(grep -oE '[0-9a-f]{32}' "$W/create-bad.out" | head -n 1)
if [ -z "$R2" ] || [ -z "$RBAD" ]; then
    fail "release create printed no release id"
fi
vg 0 inspect "$BUILD/fotactl" release inspect "$W/v2.bundle" --public "$W/release.pub"

# ---- fotad (SQLite) under memcheck --------------------------------------------------------------

FOTAD_LOG="$W/vg/fotad.log"
"${VG[@]}" --log-file="$FOTAD_LOG" "$BUILD/fotad" --port 0 --port-file "$W/port" \
    --data-dir "$W/data" --release-key "$W/release.pub" --master-secret-file "$W/master" \
    --admin-token-file "$W/token" --threads 4 2>"$W/fotad.err" &
FOTAD_PID=$!
for _ in $(seq 1 600); do # valgrind starts slowly: up to 30 s
    [ -s "$W/port" ] && break
    kill -0 "$FOTAD_PID" 2>/dev/null || { cat "$W/fotad.err" "$FOTAD_LOG" >&2; fail "fotad exited at startup"; }
    sleep 0.05
done
[ -s "$W/port" ] || fail "fotad did not write its port file"
URL="http://127.0.0.1:$(cat "$W/port")"
export FOTA_SERVER=$URL
ctl() { # WANT NAME fotactl-args...
    local want=$1 name=$2
    shift 2
    vg "$want" "$name" "$BUILD/fotactl" "$@" --token-file "$W/token"
}

cp "$W/v2.bundle" "$W/tampered.bundle"
off=$((256 + 7 * 1056 + 5)) # a byte of record 7: inverted, the hash chain breaks there
b=$(od -An -tu1 -j "$off" -N1 "$W/v2.bundle" | tr -d ' ')
# shellcheck disable=SC2059
printf "$(printf '\\%03o' $((b ^ 0xFF)))" |
    dd of="$W/tampered.bundle" bs=1 seek="$off" conv=notrunc status=none
ctl 1 upload-tampered release upload "$W/tampered.bundle"
grep -q "status 422" "$W/upload-tampered.err" || fail "tampered upload: $(cat "$W/upload-tampered.err")"
ctl 0 upload-v2 release upload "$W/v2.bundle"
out_has upload-v2 "$R2 uploaded"
ctl 0 upload-v2-again release upload "$W/v2.bundle"
out_has upload-v2-again "already uploaded"
ctl 0 upload-bad release upload "$W/bad.bundle"
ctl 0 assign-v2 assign "$R2" --product "$PRODUCT"
ctl 0 list release list
out_has list "$R2"
ctl 0 show release show "$R2" --json
ctl 1 show-unknown release show ffffffffffffffffffffffffffffffff

# Refused requests: the error paths of fotad that a client reaches cheaply.
bad() { # STATUS WHAT curl-args...
    local want=$1 what=$2 got
    shift 2
    got=$(curl -s -o "$W/body" -w '%{http_code}' "$@") || fail "curl: $what"
    [ "$got" = "$want" ] || { cat "$W/body" >&2; fail "$what: status $got, wanted $want"; }
}
AUTH=(-H "Authorization: Bearer $TOKEN")
bad 401 "no token" "$URL/api/admin/releases"
bad 403 "wrong token" -H "Authorization: Bearer ${TOKEN}x" "$URL/api/admin/releases"
bad 400 "malformed JSON" "${AUTH[@]}" -d '{"release":' "$URL/api/admin/assignments"
bad 400 "trailing garbage" "${AUTH[@]}" -d "{\"release\":\"$R2\",\"device\":\"x\"} junk" \
    "$URL/api/admin/assignments"
head -c 70000 /dev/zero | tr '\0' ' ' >"$W/huge.json"
bad 413 "admin body too large" "${AUTH[@]}" --data-binary @"$W/huge.json" \
    "$URL/api/admin/assignments"
bad 400 "not a bundle" "${AUTH[@]}" -H 'Content-Type: application/octet-stream' \
    --data-binary @"$W/v1.bin" "$URL/api/admin/releases"
bad 404 "unknown device" "${AUTH[@]}" "$URL/api/admin/devices/nobody"
bad 405 "wrong method" "${AUTH[@]}" -X DELETE "$URL/api/admin/releases"
bad 404 "unknown route" "$URL/nothing"
bad 401 "device request without a key" "$URL/api/inverter/fota/check?version=1.0.0&hw=$PRODUCT"

# ---- one device, seed and chain mode, a forged key ----------------------------------------------

new_device() { # ID
    vg 0 "flash-$1" "$BUILD/fota-flash" create "$W/$1.flash" --image "$W/v1.bin"
}
device() { # WANT ID MODE [args]
    local want=$1 id=$2 mode=$3
    shift 3
    vg "$want" "dev-$id" "$BUILD/fota-device" run "$W/$id.flash" --server "$URL" --id "$id" \
        --master "$W/master" --release-key "$W/release.pub" --product "$PRODUCT" \
        --mode "$mode" --timeout 60 "$@"
}

for mode in seed chain; do
    new_device "d-$mode"
    device 0 "d-$mode" "$mode"
    out_has "dev-d-$mode" "running 2.0.0, outcome: FOTA_OK"
    out_has "dev-d-$mode" "state confirmed"
done
device 0 d-seed seed # nothing left to do

new_device d-forged
vg 1 dev-forged "$BUILD/fota-device" run "$W/d-forged.flash" --server "$URL" --id d-forged \
    --key 0000000000000000000000000000000000000000000000000000000000000000 \
    --release-key "$W/release.pub" --product "$PRODUCT" --timeout 20 --quiet
grep -q FOTA_ERR_HTTP_AUTH "$W/dev-forged.out" "$W/dev-forged.err" || fail "forged key: not refused"

# ---- rollback: a release that fails its self-test, twice, then not offered again --------------

ctl 0 assign-bad assign "$RBAD" --device d-chain
device any d-chain chain
out_has dev-d-chain "state rolled_back"
out_has dev-d-chain "running 2.0.0"
device any d-chain chain # installed again from the slot, rolled back again
out_has dev-d-chain "state rolled_back"
device any d-chain chain
grep -q "state manifest" "$W/dev-d-chain.out" && fail "a release rolled back twice was offered again"
vg 0 fota-flash-boot "$BUILD/fota-flash" show "$W/d-chain.flash"
grep -q "Next boot: .*version 2.0.0" "$W/fota-flash-boot.out" || fail "d-chain does not boot 2.0.0"

ctl 0 device-list device list
out_has device-list d-chain
ctl 0 device-show device show d-chain
out_has device-show rolled_back

# ---- a small fota-sim fleet, each mode ----------------------------------------------------------

SIM=(--server "$URL" --product "$PRODUCT" --image "$W/v1.bin" --release-key "$W/release.pub"
    --master-secret-file "$W/master" --devices 4 --check-interval 300 --retry 100
    --reboot-delay 10 --timeout 60 --no-progress)
vg 0 sim-seed "$BUILD/fota-sim" run "${SIM[@]}" --mode seed --id-prefix vs- \
    --json "$W/sim-seed.json"
grep -q '"updated":4' "$W/sim-seed.json" || fail "sim seed: $(cat "$W/sim-seed.json")"
vg 0 sim-chain "$BUILD/fota-sim" run "${SIM[@]}" --mode chain --id-prefix vc- \
    --power-cuts 2 --drops 2 --seed 3 --json "$W/sim-chain.json"
grep -q '"updated":4' "$W/sim-chain.json" || fail "sim chain: $(cat "$W/sim-chain.json")"

# fota-sim starting its own fotad under memcheck and stopping it (SIGTERM) in the middle of the
# fleet's download, with transfers in flight; fotactl uploads and assigns once it answers.
q() { printf '%q ' "$@"; } # a command line for sh -c
SIM_FOTAD=$(q "${VG[@]}" --log-file="$W/vg/sim-fotad.%p.log" "$BUILD/fotad" --data-dir "$W/data2" \
    --release-key "$W/release.pub" --master-secret-file "$W/master" \
    --admin-token-file "$W/token" --threads 4)
{
    echo 'set -eu'
    echo "$(q "${VG[@]}" --log-file="$W/vg/ready-upload.%p.log" "$BUILD/fotactl" release upload \
        "$W/v2.bundle" --token-file "$W/token") --server \"\$FOTA_SIM_URL\" >/dev/null"
    echo "$(q "${VG[@]}" --log-file="$W/vg/ready-assign.%p.log" "$BUILD/fotactl" assign "$R2" \
        --product "$PRODUCT" --token-file "$W/token") --server \"\$FOTA_SIM_URL\" >/dev/null"
} >"$W/ready.sh"
vg 0 sim-restart "$BUILD/fota-sim" run "${SIM[@]:2}" --mode seed --id-prefix vr- \
    --fotad "$SIM_FOTAD --port {port}" --fotad-log "$W/sim-fotad.err" --server-wait 30 \
    --on-ready "bash $(q "$W/ready.sh")" --restart-server 1 --drops 1 --flips 1 \
    --json "$W/sim-restart.json"
grep -q '"updated":4' "$W/sim-restart.json" || fail "sim restart: $(cat "$W/sim-restart.json")"
grep -q '"server_restarts":1' "$W/sim-restart.json" || fail "sim restart: fotad not restarted"
[ "$(grep -c 'fotad stopped' "$W/sim-fotad.err")" = 2 ] ||
    fail "sim restart: fotad did not stop cleanly twice: $(tail -n 20 "$W/sim-fotad.err")"
for log in "$W"/vg/sim-fotad.*.log "$W"/vg/ready-*.log; do
    vg_check "${log##*/}" "$log" 0
done

# ---- fotad with its own TLS under memcheck: handshakes, reloads, shutdown -----------------------

tls_ca ca
tls_cert ca tls1 1001
tls_cert ca tls2 2002
cp "$W/tls1.pem" "$W/tls.pem"
cp "$W/tls1.key" "$W/tls.key"
TLS_LOG="$W/vg/fotad-tls.log"
rm -f "$W/port"
"${VG[@]}" --log-file="$TLS_LOG" "$BUILD/fotad" --port 0 --port-file "$W/port" \
    --data-dir "$W/data-tls" --release-key "$W/release.pub" --master-secret-file "$W/master" \
    --admin-token-file "$W/token" --threads 2 --tls-cert "$W/tls.pem" --tls-key "$W/tls.key" \
    2>"$W/fotad-tls.err" &
TLS_PID=$!
for _ in $(seq 1 600); do
    [ -s "$W/port" ] && break
    kill -0 "$TLS_PID" 2>/dev/null ||
        { cat "$W/fotad-tls.err" "$TLS_LOG" >&2; fail "TLS fotad exited at startup"; }
    sleep 0.05
done
[ -s "$W/port" ] || fail "TLS fotad did not write its port file"
TLS_URL="https://127.0.0.1:$(cat "$W/port")"
vg 0 tls-upload "$BUILD/fotactl" release upload "$W/v2.bundle" --server "$TLS_URL" \
    --ca "$W/ca.pem" --token-file "$W/token"
vg 0 tls-assign "$BUILD/fotactl" assign "$R2" --product "$PRODUCT" --server "$TLS_URL" \
    --ca "$W/ca.pem" --token-file "$W/token"
curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$(cat "$W/port")/healthz" &&
    fail "plain http answered on the TLS port"
"$BUILD/fota-flash" create "$W/dev-tls.flash" --image "$W/v1.bin" >/dev/null || fail "flash dev-tls"
cp "$W/tls2.pem" "$W/tls.pem"
cp "$W/tls2.key" "$W/tls.key"
kill -HUP "$TLS_PID"
vg 0 tls-device "$BUILD/fota-device" run "$W/dev-tls.flash" --server "$TLS_URL" --ca "$W/ca.pem" \
    --id dev-tls --master "$W/master" --release-key "$W/release.pub" --product "$PRODUCT" \
    --timeout 60
out_has tls-device "running 2.0.0, outcome: FOTA_OK"
for _ in $(seq 1 600); do # the reload is logged before the next one
    grep -q "TLS reloaded" "$W/fotad-tls.err" && break
    sleep 0.05
done
printf 'broken\n' >"$W/tls.key"
kill -HUP "$TLS_PID"
vg 0 tls-list "$BUILD/fotactl" release list --server "$TLS_URL" --ca "$W/ca.pem" \
    --token-file "$W/token"
kill -TERM "$TLS_PID"
rc=0
wait "$TLS_PID" || rc=$?
vg_check fotad-tls "$TLS_LOG" "$rc"
[ "$rc" = 0 ] || { tail -n 20 "$W/fotad-tls.err" >&2; fail "TLS fotad exited $rc after SIGTERM"; }
grep -q "TLS reloaded: new connections get the certificate with serial 2002" "$W/fotad-tls.err" &&
    grep -q "TLS reload failed: still serving the certificate with serial 2002" \
        "$W/fotad-tls.err" ||
    { tail -n 20 "$W/fotad-tls.err" >&2; fail "TLS fotad: the reloads are not in its log"; }

# ---- fotad stopped with SIGTERM: its leak check runs at exit ------------------------------------

kill -TERM "$FOTAD_PID"
rc=0
wait "$FOTAD_PID" || rc=$?
FOTAD_PID=""
vg_check fotad "$FOTAD_LOG" "$rc"
[ "$rc" = 0 ] || { tail -n 20 "$W/fotad.err" >&2; fail "fotad exited $rc after SIGTERM"; }
grep -q "fotad stopped" "$W/fotad.err" || fail "fotad: no clean shutdown in its log"

# Every log, including those of processes started by other processes, must be clean.
logs=0
for log in "$W"/vg/*.log; do
    vg_check "${log##*/}" "$log" 0
    logs=$((logs + 1))
done
echo "$logs processes under valgrind memcheck, no error, no leak ($(($(date +%s) - T0)) s)"
pass
