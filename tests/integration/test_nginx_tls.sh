#!/usr/bin/env bash
# test_nginx_tls.sh - the other way to HTTPS (docs/SERVER.md, "nginx terminating TLS"): a real
# nginx runs the shipped server/nginx/fota.conf with its listen line made a TLS listener (the
# certificate of a CA made here with openssl), in front of a plain-HTTP fotad that leaves the
# blobs to nginx (--accel-redirect). fotactl uploads and assigns through it with --ca; an
# emulated ESP32 (fota-device --ca) updates through it in chain mode, every blob byte sent by
# nginx; a device that trusts another CA is refused and keeps its image, unseen by fotad.
# Run by ctest as: bash test_nginx_tls.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" nginx-tls
source "$(dirname "$0")/lib/nginx.sh"
command -v openssl >/dev/null || fail "the openssl command is missing (scripts/install-deps)"
for tool in fotactl fota-device fota-flash; do
    [ -x "$BUILD/$tool" ] || fail "$tool not built"
done
trap 'ngx_stop; t_cleanup' EXIT

PRODUCT=inv-ngx
operator_keys
tls_ca ca
tls_ca rogue-ca
tls_cert ca nginx 5005
make_image 1.0.0 "$W/v1.bin" 200K
make_image 2.0.0 "$W/v2.bin" 200K
REL=$(fotactl_release "$W/v2.bin" "$W/v2.bundle")
fotad_start --accel-redirect /_fota_objects/

# The shipped file with its listen line made TLS with the certificate (as its comment says).
nginx_front --tls

# fotactl through nginx's TLS.
"$BUILD/fotactl" release upload "$W/v2.bundle" --server "$URL_N" --ca "$W/ca.pem" \
    --token-file "$W/token" >"$W/out" 2>"$W/err" || fail "upload through nginx: $(cat "$W/err")"
"$BUILD/fotactl" assign "$REL" --product "$PRODUCT" --server "$URL_N" --ca "$W/ca.pem" \
    --token-file "$W/token" >/dev/null 2>"$W/err" || fail "assign through nginx: $(cat "$W/err")"

# device ID [args]: fota-device through nginx, chain mode; exit code in DEV_RC.
device() {
    local id=$1
    shift
    "$BUILD/fota-flash" create "$W/$id.flash" --image "$W/v1.bin" >/dev/null || fail "flash $id"
    DEV_RC=0
    "$BUILD/fota-device" run "$W/$id.flash" --server "$URL_N" --id "$id" --master "$W/master" \
        --release-key "$W/release.pub" --product "$PRODUCT" --mode chain --retry 100 "$@" \
        >"$W/$id.out" 2>"$W/$id.err" || DEV_RC=$?
    check_sanitizer "$W/$id.err"
}
device ngx-1 --ca "$W/ca.pem" --timeout 60
[ "$DEV_RC" = 0 ] && grep -q "running 2.0.0, outcome: FOTA_OK" "$W/ngx-1.out" ||
    { show_out ngx-1; fail "update through nginx's TLS: exit $DEV_RC"; }
grep -q 'path="/api/inverter/fota/blob/.*device=ngx-1 accel=20[06]' "$W/fotad.log" ||
    fail "the blob was not handed to nginx"
grep 'path="/api/inverter/fota/blob/.*device=ngx-1' "$W/fotad.log" | grep -qv 'accel=' &&
    fail "fotad sent blob bytes itself"
admin GET /api/admin/devices/ngx-1
expect 200 "device ngx-1 seen by fotad"
body_has '"state":"confirmed"'

device ngx-rogue --ca "$W/rogue-ca.pem" --timeout 3
[ "$DEV_RC" = 1 ] && grep -q "SSL certificate problem" "$W/ngx-rogue.out" ||
    { show_out ngx-rogue; fail "a device with another CA: exit $DEV_RC"; }
admin GET /api/admin/devices/ngx-rogue
expect 404 "fotad saw the refused device"

ngx_stop
fotad_stop
pass
