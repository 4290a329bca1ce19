#!/usr/bin/env bash
# test_fotad_https.sh - fotad serving HTTPS itself (--tls-cert, --tls-key; docs/SERVER.md) on
# loopback, with a CA and server certificates made here by the openssl command: TLS 1.2 and 1.3
# only; start-up refuses
# a certificate without its key, a key of another certificate and a missing file; fotactl
# uploads and assigns over https verifying fotad against the CA (--ca and $FOTA_CA); an emulated
# ESP32 (fota-device --ca), the same through the ESP-IDF component (--esp-idf, the CA as its
# cfg.ca_pem) and a fleet of fota-sim devices (--ca) update over https; clients that
# trust another CA, or only the system's store, are refused with a TLS error and the device keeps
# its image, unseen by fotad; plain http to the TLS port gets no answer. SIGHUP with a new
# certificate of the same CA (another serial) is what a new connection sees, while a connection
# opened before the reload still gets its answer and fotad keeps its PID, port and listening
# socket; SIGHUP with a broken key, or the key of another certificate, keeps the certificate in
# use.
# Run by ctest as: bash test_fotad_https.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotad-https
for tool in fotactl fota-device fota-flash fota-sim; do
    [ -x "$BUILD/$tool" ] || fail "$tool not built"
done
command -v openssl >/dev/null || fail "the openssl command is missing (scripts/install-deps)"

PRODUCT=inv-tls

# ---- certificates --------------------------------------------------------------------------------
tls_ca ca
tls_ca rogue-ca
tls_cert ca srv1 1001
tls_cert ca srv2 2002
tls_cert ca srv3 3003

# ---- start-up refuses what cannot serve ----------------------------------------------------------
operator_keys
# refused WANT_RC TEXT [fotad args]: fotad exits WANT_RC at start-up and says TEXT.
refused() {
    local want=$1 text=$2
    shift 2
    local rc=0
    timeout 20 "$BUILD/fotad" --port 0 --data-dir "$W/refused" --release-key "$W/release.pub" \
        --master-secret-file "$W/master" --admin-token-file "$W/token" "$@" \
        >"$W/refused.out" 2>"$W/refused.err" || rc=$?
    check_sanitizer "$W/refused.err"
    [ "$rc" = "$want" ] || { cat "$W/refused.err" >&2; fail "fotad $*: exit $rc, wanted $want"; }
    grep -qF -- "$text" "$W/refused.err" ||
        { cat "$W/refused.err" >&2; fail "fotad $*: no '$text'"; }
}
refused 2 "tls_cert is set without tls_key: HTTPS needs both" --tls-cert "$W/srv1.pem"
refused 2 "tls_key is set without tls_cert: HTTPS needs both" --tls-key "$W/srv1.key"
refused 1 "TLS key $W/srv2.key does not belong to the certificate $W/srv1.pem" \
    --tls-cert "$W/srv1.pem" --tls-key "$W/srv2.key"
refused 1 "TLS certificate $W/none.pem: cannot read it" --tls-cert "$W/none.pem" \
    --tls-key "$W/srv1.key"
refused 1 "TLS certificate $W/srv1.key: not a PEM certificate chain" --tls-cert "$W/srv1.key" \
    --tls-key "$W/srv1.key"
refused 1 "TLS key $W/srv1.pem: not an unencrypted PEM private key" --tls-cert "$W/srv1.pem" \
    --tls-key "$W/srv1.pem"
[ ! -e "$W/refused/fotad.db" ] || fail "a refused start-up opened the store"

# ---- fotad on HTTPS; the serving pair lives in files the test replaces ---------------------------
cp "$W/srv1.pem" "$W/server.pem"
cp "$W/srv1.key" "$W/server.key"
chmod 644 "$W/server.key"
fotad_start --tls-cert "$W/server.pem" --tls-key "$W/server.key"
grep -q "TLS key $W/server.key is readable by group or others (chmod 600 it)" "$W/fotad.log" ||
    fail "no warning for a key readable by others"
chmod 600 "$W/server.key"
URL="https://127.0.0.1:$PORT"
grep -q "fotad listening on 127.0.0.1 port $PORT, HTTPS" "$W/fotad.log" ||
    fail "no HTTPS in the log"
grep -q "TLS certificate $W/server.pem: subject \"CN=127.0.0.1\", serial 1001" "$W/fotad.log" ||
    fail "the certificate is not described in the log"

# served_serial: the serial of the certificate a new connection gets, verified against the CA.
served_serial() {
    openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$W/ca.pem" -verify_return_error \
        </dev/null 2>>"$W/openssl.log" | openssl x509 -noout -serial 2>>"$W/openssl.log" |
        sed 's/^serial=//'
}
[ "$(served_serial)" = 1001 ] || fail "a new connection does not get serial 1001"
raw GET /healthz --cacert "$W/ca.pem"
expect 200 "healthz over https"
# TLS 1.2 and 1.3 only: a client that would take TLS 1.0 or 1.1 (openssl's legacy level) gets
# no session.
for v in tls1 tls1_1 tls1_2 tls1_3; do
    got=$(openssl s_client -connect "127.0.0.1:$PORT" -"$v" -cipher 'DEFAULT@SECLEVEL=0' \
        -CAfile "$W/ca.pem" </dev/null 2>>"$W/openssl.log" | sed -n 's/^New, \([^,]*\),.*/\1/p') ||
        true # s_client fails when there is no session
    case $v in
    tls1 | tls1_1) want="(NONE)" ;;
    tls1_2) want=TLSv1.2 ;;
    tls1_3) want=TLSv1.3 ;;
    esac
    [ "$got" = "$want" ] || fail "-$v: the session is '$got', wanted '$want'"
done

# Plain http to the TLS port gets no HTTP answer.
rc=0
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/healthz") ||
    rc=$?
[ "$rc" != 0 ] && [ "$code" = 000 ] || fail "plain http to the TLS port: curl $rc, status $code"

# ---- fotactl over https --------------------------------------------------------------------------
make_image 1.0.0 "$W/v1.bin" 64K
make_image 2.0.0 "$W/v2.bin" 64K
REL=$(fotactl_release "$W/v2.bin" "$W/v2.bundle")
ctl() { "$BUILD/fotactl" "$@" --server "$URL" --token-file "$W/token"; }
ctl release upload "$W/v2.bundle" --ca "$W/ca.pem" >"$W/out" 2>"$W/err" ||
    fail "fotactl upload over https: $(cat "$W/err")"
[ "$(cat "$W/out")" = "$REL uploaded" ] || fail "upload said: $(cat "$W/out")"
ctl assign "$REL" --product "$PRODUCT" --ca "$W/ca.pem" >/dev/null 2>"$W/err" ||
    fail "fotactl assign over https: $(cat "$W/err")"
FOTA_CA="$W/ca.pem" ctl release list >"$W/out" 2>"$W/err" ||
    fail "fotactl with \$FOTA_CA: $(cat "$W/err")"
grep -q "^$REL " "$W/out" || fail "release list over https: $(cat "$W/out")"
# Another CA, or the system's store, does not vouch for fotad: refused, with what to check.
rc=0
ctl release list --ca "$W/rogue-ca.pem" >"$W/out" 2>"$W/err" || rc=$?
[ "$rc" = 1 ] && [ ! -s "$W/out" ] || fail "fotactl with another CA: exit $rc"
grep -q "TLS with $URL failed (is --ca the CA that signed fotad's certificate?)" "$W/err" ||
    fail "fotactl with another CA: $(cat "$W/err")"
rc=0
ctl release list >/dev/null 2>"$W/err" || rc=$?
[ "$rc" = 1 ] &&
    grep -q "TLS with $URL failed (fotad's certificate is not signed by a CA" "$W/err" ||
    fail "fotactl without --ca: exit $rc: $(cat "$W/err")"
rc=0
ctl release list --ca "$W/none.pem" 2>"$W/err" || rc=$?
[ "$rc" = 2 ] && grep -q "CA file '$W/none.pem': cannot read it" "$W/err" ||
    fail "fotactl with a missing CA file: exit $rc: $(cat "$W/err")"

# ---- an emulated ESP32 over https ----------------------------------------------------------------
# device ID [fota-device args]: run $W/ID.flash against fotad until it settles; exit code in DEV_RC.
device() {
    local id=$1
    shift
    DEV_RC=0
    "$BUILD/fota-device" run "$W/$id.flash" --server "$URL" --id "$id" --master "$W/master" \
        --release-key "$W/release.pub" --product "$PRODUCT" --timeout 30 --retry 100 "$@" \
        >"$W/$id.out" 2>"$W/$id.err" || DEV_RC=$?
    check_sanitizer "$W/$id.err"
}
new_device() {
    "$BUILD/fota-flash" create "$W/$1.flash" --image "$W/v1.bin" >/dev/null || fail "flash $1"
}
running() { # ID VERSION: the flash boots VERSION next
    "$BUILD/fota-flash" show "$W/$1.flash" >"$W/$1.show" || fail "show $1"
    grep -q "Next boot: .*version $2\$" "$W/$1.show" ||
        { cat "$W/$1.show" >&2; fail "$1 does not boot $2"; }
}
new_device dev-tls
device dev-tls --ca "$W/ca.pem"
[ "$DEV_RC" = 0 ] || { show_out dev-tls; fail "update over https: exit $DEV_RC"; }
grep -q "running 2.0.0, outcome: FOTA_OK" "$W/dev-tls.out" ||
    { show_out dev-tls; fail "not 2.0.0"; }
running dev-tls 2.0.0
admin GET /api/admin/devices/dev-tls --cacert "$W/ca.pem"
expect 200 "device dev-tls"
body_has '"state":"confirmed"'
body_has '"version":"2.0.0"'

# Another CA, no CA (the system's store), plain http: refused, the image kept, fotad never hears.
for how in rogue-ca system http; do
    id="dev-$how"
    new_device "$id"
    case $how in
    rogue-ca) device "$id" --ca "$W/rogue-ca.pem" --timeout 3 ;;
    system) device "$id" --timeout 3 ;;
    http) URL="http://127.0.0.1:$PORT" device "$id" --timeout 3 ;;
    esac
    [ "$DEV_RC" = 1 ] || { show_out "$id"; fail "$how: fota-device exit $DEV_RC, wanted 1"; }
    if [ "$how" = http ]; then
        grep -q "FOTA_ERR_HTTP" "$W/$id.out" || { show_out "$id"; fail "$how: no HTTP error"; }
    else
        grep -q "SSL certificate problem: unable to get local issuer certificate" "$W/$id.out" ||
            { show_out "$id"; fail "$how: no clear TLS error"; }
    fi
    grep -q "state downloading" "$W/$id.out" && fail "$how: downloaded"
    running "$id" 1.0.0
    admin GET "/api/admin/devices/$id" --cacert "$W/ca.pem"
    expect 404 "$how: fotad saw $id"
done
rc=0
"$BUILD/fota-device" run "$W/dev-http.flash" --server "$URL" --id x --master "$W/master" \
    --release-key "$W/release.pub" --product "$PRODUCT" --ca "$W/none.pem" >/dev/null \
    2>"$W/err" || rc=$?
[ "$rc" != 0 ] && grep -q "cannot read the CA file" "$W/err" ||
    fail "fota-device --ca none: $(cat "$W/err")"

# ---- the ESP-IDF component (over the ESP-IDF API double) with the CA as its cfg.ca_pem -----------
PARTS="$(cd "$(dirname "$0")/../.." && pwd)/ports/esp-idf/examples/inverter/partitions.csv"
for how in ca rogue-ca; do
    id="esp-$how"
    "$BUILD/fota-flash" create "$W/$id.flash" --image "$W/v1.bin" --partitions "$PARTS" \
        >/dev/null || fail "fota-flash create $id"
    device "$id" --esp-idf --journal-partition fota_nvs --ca "$W/$how.pem" \
        --timeout "$([ "$how" = ca ] && echo 30 || echo 3)"
done
[ "$DEV_RC" = 1 ] || { show_out esp-rogue-ca; fail "ESP-IDF device with another CA: exit $DEV_RC"; }
running esp-rogue-ca 1.0.0
grep -q "running 2.0.0, outcome: FOTA_OK" "$W/esp-ca.out" ||
    { show_out esp-ca; fail "ESP-IDF over https"; }
running esp-ca 2.0.0

# ---- a fota-sim fleet over https -----------------------------------------------------------------
SIM=(--image "$W/v1.bin" --release-key "$W/release.pub" --master-secret-file "$W/master"
    --product "$PRODUCT" --devices 6 --check-interval 300 --retry 100 --reboot-delay 10
    --no-progress --server "$URL")
rc=0
"$BUILD/fota-sim" run "${SIM[@]}" --ca "$W/ca.pem" --timeout 60 --json "$W/sim.json" \
    >"$W/sim.out" 2>"$W/sim.err" || rc=$?
check_sanitizer "$W/sim.err"
[ "$rc" = 0 ] || { cat "$W/sim.out" "$W/sim.err" >&2; fail "fota-sim over https: exit $rc"; }
grep -q '^"updated":6,' "$W/sim.json" || { cat "$W/sim.json" >&2; fail "fota-sim: not 6 updated"; }
rc=0
"$BUILD/fota-sim" run "${SIM[@]}" --esp-idf --id-prefix esp-sim- --ca "$W/ca.pem" --timeout 60 \
    --json "$W/sim-esp.json" >"$W/sim.out" 2>"$W/sim.err" || rc=$?
check_sanitizer "$W/sim.err"
[ "$rc" = 0 ] && grep -q '^"updated":6,' "$W/sim-esp.json" ||
    { cat "$W/sim.out" "$W/sim.err" >&2; fail "fota-sim --esp-idf over https: exit $rc"; }
rc=0
"$BUILD/fota-sim" run "${SIM[@]}" --ca "$W/rogue-ca.pem" --server-wait 2 --timeout 10 \
    >"$W/sim.out" 2>"$W/sim.err" || rc=$?
check_sanitizer "$W/sim.err"
[ "$rc" = 1 ] && grep -q "$URL/healthz did not answer" "$W/sim.err" ||
    { cat "$W/sim.err" >&2; fail "fota-sim with another CA: exit $rc"; }

# ---- SIGHUP: a new certificate for new connections, the old connection still answered ------------
# listen_inode: the inode of the socket listening on $PORT (/proc/net/tcp, state 0A = LISTEN).
listen_inode() {
    awk -v port=":$(printf '%04X' "$PORT")" '$2 ~ port"$" && $4 == "0A" { print $10 }' /proc/net/tcp
}
INODE=$(listen_inode)
[ -n "$INODE" ] && [ "$INODE" != 0 ] || fail "no listening socket on port $PORT in /proc/net/tcp"
# A connection set up before the reload sends its request after it.
(
    sleep 2
    printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'
    sleep 2
) | openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$W/ca.pem" -verify_return_error \
    -quiet >"$W/held.out" 2>>"$W/openssl.log" &
HELD=$!
sleep 1
cp "$W/srv2.pem" "$W/server.pem"
cp "$W/srv2.key" "$W/server.key"
kill -HUP "$FOTAD_PID"
for _ in $(seq 1 100); do
    grep -q "TLS reloaded" "$W/fotad.log" && break
    sleep 0.05
done
grep -q "TLS reloaded: new connections get the certificate with serial 2002 (was 1001)" \
    "$W/fotad.log" || fail "no reload in the log"
[ "$(served_serial)" = 2002 ] || fail "a new connection after SIGHUP does not get serial 2002"
wait "$HELD" || true
grep -q '^HTTP/1.1 200' "$W/held.out" && grep -qF '{"ok":true}' "$W/held.out" ||
    { cat "$W/held.out" >&2; fail "the connection opened before the reload got no answer"; }
kill -0 "$FOTAD_PID" 2>/dev/null || fail "fotad is gone after SIGHUP"
[ "$(cat "$W/port")" = "$PORT" ] || fail "the port file changed"
[ "$(listen_inode)" = "$INODE" ] || fail "the listening socket was replaced by the reload"
raw GET /healthz --cacert "$W/ca.pem"
expect 200 "healthz after the reload"
new_device dev-after
device dev-after --ca "$W/ca.pem"
[ "$DEV_RC" = 0 ] && grep -q "running 2.0.0, outcome: FOTA_OK" "$W/dev-after.out" ||
    { show_out dev-after; fail "update after the reload: exit $DEV_RC"; }

# A broken key, then the key of another certificate: refused, serial 2002 still served.
cp "$W/srv3.pem" "$W/server.pem"
head -c 200 "$W/srv3.key" >"$W/server.key"
# reload_refused N: the Nth reload failure is logged.
reload_refused() {
    kill -HUP "$FOTAD_PID"
    for _ in $(seq 1 100); do
        [ "$(grep -c "TLS reload failed" "$W/fotad.log")" -ge "$1" ] && break
        sleep 0.05
    done
    local kept="TLS reload failed: still serving the certificate with serial 2002"
    [ "$(grep -c "$kept" "$W/fotad.log")" = "$1" ] ||
        fail "reload $1 of a bad pair: not refused in the log"
    kill -0 "$FOTAD_PID" 2>/dev/null || fail "fotad is gone after a bad reload"
    [ "$(served_serial)" = 2002 ] || fail "a bad reload changed the certificate served"
}
reload_refused 1
grep -q "TLS key $W/server.key: not an unencrypted PEM private key" "$W/fotad.log" ||
    fail "the broken key's reason is not logged"
cp "$W/srv1.key" "$W/server.key"
reload_refused 2
grep -q "TLS key $W/server.key does not belong to the certificate $W/server.pem" "$W/fotad.log" ||
    fail "the mismatched key's reason is not logged"
ctl device list --ca "$W/ca.pem" >"$W/out" 2>"$W/err" ||
    fail "fotactl after bad reloads: $(cat "$W/err")"
grep -q "^dev-after " "$W/out" || fail "device list after bad reloads: $(cat "$W/out")"

fotad_stop
pass
