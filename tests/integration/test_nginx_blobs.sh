#!/usr/bin/env bash
# test_nginx_blobs.sh - a real nginx, run with the shipped server/nginx/fota.conf, in front of a
# real fotad started with --accel-redirect /_fota_objects/: fotad authenticates every blob
# request and makes its checks, nginx sends the bytes from fotad's object file (docs/SERVER.md,
# "nginx in front").
#
# A release is uploaded and assigned with fotactl through nginx. Then every chain-mode blob
# request below is sent as a signed device request (fota-devreq) both through nginx and to a
# second fotad without the option on the same data directory, and the two answers must be the
# same: status, body byte for byte, and every header but nginx's Date/Server/Connection (so
# Content-Range, Content-Length, ETag, Content-Type, Accept-Ranges, and no Last-Modified).
# Ranges of the first, middle (short and long) and last bytes, open-ended, cut at the end, past
# the end (416), no Range (200), HEAD with and without Range, If-None-Match (304, and not
# matching), and the requests fotad keeps for itself (If-Range, If-Match, If-Unmodified-Since,
# several ranges, a Range nginx would read otherwise, an unknown release), and a delta's blob
# (first and last bytes, whole, past the end). fotad's request log
# says for each one whether nginx sent the bytes (accel=..., bytes=0) or fotad did.
# A request without authentication, with a wrong MAC or another device's key is refused by
# fotad through nginx (401, fotad's JSON, no blob byte); the internal location answers 404 from
# outside, signed or not. Last, emulated ESP32s (fota-device) update through nginx in chain
# mode (the bytes all sent by nginx) and in seed mode (chunks, with their per-device MAC, all
# sent by fotad), confirmed and seen by fotad.
#
# nginx runs as the user running the test (as root, its workers stay root: the files are in the
# test's private directory), on a free loopback port, with its pid file, logs and temporary
# files in the test's directory. Run by ctest as: bash test_nginx_blobs.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" nginx-blobs
source "$(dirname "$0")/lib/nginx.sh"
for tool in fotactl fota-device fota-flash; do
    [ -x "$BUILD/$tool" ] || fail "$tool not built"
done
PLAIN_PID=""
stop_extra() { # nginx and the second fotad, whatever happened
    ngx_stop
    if [ -n "$PLAIN_PID" ]; then
        kill -TERM "$PLAIN_PID" 2>/dev/null || true
        wait "$PLAIN_PID" 2>/dev/null || true
    fi
    PLAIN_PID=""
}
trap 'stop_extra; t_cleanup' EXIT

PRODUCT=inv-5k
DEVTGT=/api/inverter/fota
operator_keys
make_image 1.0.0 "$W/v1.bin" 300K
make_image 2.0.0 "$W/v2.bin" 300K
REL=$(fotactl_release "$W/v2.bin" "$W/v2.bundle" --version 2.0.0)
bundle_parts v2
TOTAL=$(stat -c %s "$W/v2.blob")
ETAG=$(sha256sum "$W/v2.blob" | cut -d' ' -f1)
BLOB="$DEVTGT/blob/$REL"

fotad_start --accel-redirect /_fota_objects/
grep -q "X-Accel-Redirect /_fota_objects/" "$W/fotad.log" ||
    fail "fotad does not say it hands blobs over"

# ---- nginx with the shipped configuration ------------------------------------------------------
# The three lines the file marks CHANGE: nginx's port, fotad's address, the data directory.
nginx_front

# The operator's tools go through nginx as well: the upload, the assignment.
URL=$URL_N
fotactl_ok release upload "$W/v2.bundle"
fotactl_ok assign "$REL" --product "$PRODUCT"
admin GET "/api/admin/releases/$REL"
expect 200 "the release through nginx"

# ---- the reference: a fotad without the option on the same data directory ---------------------
"$BUILD/fotad" --port 0 --port-file "$W/port-plain" --data-dir "$W/data" \
    --release-key "$W/release.pub" --master-secret-file "$W/master" \
    --admin-token-file "$W/token" --threads 2 2>>"$W/fotad-plain.log" &
PLAIN_PID=$!
for _ in $(seq 1 200); do
    [ -s "$W/port-plain" ] && break
    kill -0 "$PLAIN_PID" 2>/dev/null || fail "the second fotad exited at startup"
    sleep 0.05
done
[ -s "$W/port-plain" ] || fail "the second fotad did not write its port file"
URL_P="http://127.0.0.1:$(cat "$W/port-plain")"

# ask VIA NAME [fota-devreq args]: one request signed by device NAME, through nginx (VIA=nginx)
# or to the second fotad (VIA=plain); $W/NAME.VIA.{status,hdrs,body}.
ask() {
    local via=$1 name=$2 url=$URL_N rc=0
    shift 2
    [ "$via" = plain ] && url=$URL_P
    "$BUILD/fota-devreq" --url "$url" --device "$name" --master "$W/master" \
        --dump-headers "$W/$name.$via.hdrs" --out "$W/$name.$via.body" "$@" \
        >"$W/$name.$via.out" 2>"$W/$name.$via.err" || rc=$?
    check_sanitizer "$W/$name.$via.err"
    [ "$rc" -eq 0 ] || { cat "$W/$name.$via.err" >&2; fail "fota-devreq exit $rc ($name, $via)"; }
    head -n 1 "$W/$name.$via.out" >"$W/$name.$via.status"
}

# headers NAME VIA: the answer's header lines, names in lower case, sorted; without the status
# line and what nginx always says of itself (Date: its own clock; Server; Connection).
headers() {
    tr -d '\r' <"$W/$1.$2.hdrs" | grep ':' | grep -viE '^(date|server|connection|keep-alive):' |
        awk -F': ' '{ printf "%s: %s\n", tolower($1), substr($0, length($1) + 3) }' | sort
}

# hdr NAME NAME2: header NAME2 of NAME's answer through nginx, or nothing.
hdr() {
    tr -d '\r' <"$W/$1.nginx.hdrs" | grep -i "^$2:" | head -n 1 | cut -d: -f2- | sed 's/^ *//'
}

# fotad_line NAME: fotad's log line of NAME's blob request (waits for it: fotad logs a request
# once its answer is out, nginx may have it first).
fotad_line() {
    for _ in $(seq 1 100); do
        LINE=$(grep "path=\"$DEVTGT/blob/.* device=$1\( \|$\)" "$W/fotad.log" | tail -n 1 || true)
        [ -n "$LINE" ] && return 0
        sleep 0.05
    done
    fail "$1: no blob request in fotad's log"
}

# same NAME STATUS WHO [fota-devreq args]: the request through nginx and to the reference fotad
# gets the same answer, with STATUS; WHO says who sent the bytes: nginx (fotad handed the request
# over: accel=STATUS and bytes=0 in fotad's log) or fotad.
same() {
    local name=$1 status=$2 who=$3
    shift 3
    ask nginx "$name" "$@"
    ask plain "$name" "$@"
    local got mine
    got=$(cat "$W/$name.nginx.status")
    mine=$(cat "$W/$name.plain.status")
    [ "$got" = "$status" ] || { cat "$W/$name.nginx.hdrs" >&2; fail "$name: $got, wanted $status"; }
    [ "$mine" = "$status" ] || fail "$name: fotad's own status $mine"
    cmp -s "$W/$name.nginx.body" "$W/$name.plain.body" || fail "$name: the bodies differ"
    if ! diff <(headers "$name" plain) <(headers "$name" nginx) >"$W/$name.diff"; then
        cat "$W/$name.diff" >&2
        fail "$name: the headers differ (< fotad alone, > through nginx)"
    fi
    fotad_line "$name"
    if [ "$who" = nginx ]; then
        [[ "$LINE" == *" status=200 bytes=0 "*" accel=$status"* ]] ||
            fail "$name: not handed over to nginx: $LINE"
    else
        [[ "$LINE" != *" accel="* ]] ||
            fail "$name: handed over, though nginx answers otherwise: $LINE"
    fi
}

# part NAME FIRST LAST: NAME's answer is blob[FIRST..LAST] with its Content-Range.
part() {
    [ "$(hdr "$1" Content-Range)" = "bytes $2-$3/$TOTAL" ] ||
        fail "$1: Content-Range $(hdr "$1" Content-Range)"
    dd if="$W/v2.blob" of="$W/want" bs=64K iflag=skip_bytes,count_bytes skip="$2" \
        count=$(($3 - $2 + 1)) status=none
    cmp -s "$W/$1.nginx.body" "$W/want" || fail "$1: not bytes $2-$3 of the blob"
}

# The device-visible headers fotad and nginx must agree on, checked for their values once.
LAST=$((TOTAL - 1))
same first 206 nginx --target "$BLOB" --range "bytes=0-1055"
part first 0 1055
[ "$(hdr first ETag)" = "\"$ETAG\"" ] || fail "ETag $(hdr first ETag)"
[ "$(hdr first Content-Type)" = "application/octet-stream" ] ||
    fail "Content-Type $(hdr first Content-Type)"
[ "$(hdr first Accept-Ranges)" = bytes ] || fail "Accept-Ranges $(hdr first Accept-Ranges)"
[ "$(hdr first Content-Length)" = 1056 ] || fail "Content-Length $(hdr first Content-Length)"
[ -z "$(hdr first Last-Modified)$(hdr first X-Accel-Redirect)" ] || fail "nginx's own headers leak"
[ -n "$(hdr first Date)" ] || fail "no Date through nginx"
same middle 206 nginx --target "$BLOB" --range "bytes=105600-211199"
part middle 105600 211199
same middle-short 206 nginx --target "$BLOB" --range "bytes=5000-5099"
part middle-short 5000 5099
same last 206 nginx --target "$BLOB" --range "bytes=-1056"
part last $((TOTAL - 1056)) "$LAST"
same from 206 nginx --target "$BLOB" --range "bytes=300000-"
part from 300000 "$LAST"
same cut 206 nginx --target "$BLOB" --range "bytes=316000-999999999"
part cut 316000 "$LAST"
same spaced 206 nginx --target "$BLOB" --range "bytes= 10-19 "
part spaced 10 19
same beyond 416 fotad --target "$BLOB" --range "bytes=$TOTAL-"
grep -q '"code":"range"' "$W/beyond.nginx.body" || fail "beyond: not fotad's 416"
[ "$(hdr beyond Content-Range)" = "bytes */$TOTAL" ] ||
    fail "beyond: Content-Range $(hdr beyond Content-Range)"
same whole 200 nginx --target "$BLOB"
cmp -s "$W/whole.nginx.body" "$W/v2.blob" || fail "whole: not the blob"
[ -z "$(hdr whole Content-Range)" ] || fail "whole: a Content-Range"
[ "$(grep -ci '^Accept-Ranges:' "$W/whole.nginx.hdrs")" = 1 ] || fail "whole: Accept-Ranges twice"
same head 200 nginx --target "$BLOB" --method HEAD
[ "$(hdr head Content-Length)" = "$TOTAL" ] && [ ! -s "$W/head.nginx.body" ] ||
    fail "head: not the GET's headers alone"
same head-range 206 nginx --target "$BLOB" --method HEAD --range "bytes=100-199"
[ "$(hdr head-range Content-Length)" = 100 ] ||
    fail "head-range: Content-Length $(hdr head-range Content-Length)"
same upper 206 nginx --target "$DEVTGT/blob/$(printf '%s' "$REL" | tr a-f A-F)" --range "bytes=0-99"
part upper 0 99

# Conditional requests: fotad decides; nginx sends bytes only where it would answer the same.
[ -f "$W/data/objects/${ETAG:0:2}/${ETAG:2}" ] || fail "no object file for the blob"
same inm 304 fotad --target "$BLOB" --header "If-None-Match: \"$ETAG\""
same inm-other 200 nginx --target "$BLOB" --header 'If-None-Match: "0123abcd"'
same inm-range 206 nginx --target "$BLOB" --range "bytes=0-99" --header 'If-None-Match: "0123abcd"'
# What nginx would take for its own validators of the file (its ETag is the file's modification
# time and size in hex, its Last-Modified that time): fotad's are the only ones that count.
OBJFILE="$W/data/objects/${ETAG:0:2}/${ETAG:2}"
MTIME=$(stat -c %Y "$OBJFILE")
NGINX_TAG=$(printf '"%x-%x"' "$MTIME" "$(stat -c %s "$OBJFILE")")
same inm-file 200 nginx --target "$BLOB" --header "If-None-Match: $NGINX_TAG"
same ims 200 nginx --target "$BLOB" \
    --header "If-Modified-Since: $(date -u -d "@$MTIME" '+%a, %d %b %Y %H:%M:%S GMT')"
same if-range 206 fotad --target "$BLOB" --range "bytes=100-199" --header "If-Range: \"$ETAG\""
part if-range 100 199
same if-range-other 200 fotad --target "$BLOB" --range "bytes=100-199" \
    --header 'If-Range: "0123abcd"'
same if-match 200 fotad --target "$BLOB" --header "If-Match: \"$ETAG\""
same if-match-other 412 fotad --target "$BLOB" --header 'If-Match: "0123abcd"'
same ius 200 fotad --target "$BLOB" --header 'If-Unmodified-Since: Tue, 15 Nov 1994 08:12:31 GMT'
# Ranges fotad ignores (200, the whole blob) or that nginx would read otherwise.
same several 200 fotad --target "$BLOB" --range "bytes=0-1,5-6"
same junk 200 fotad --target "$BLOB" --range "bytes=0-1,junk"
same spaced-dash 200 fotad --target "$BLOB" --range "bytes=10 - 19"
same backwards 200 fotad --target "$BLOB" --range "bytes=9-5"
same unit 200 fotad --target "$BLOB" --range "records=0-5"
same space-eq 206 fotad --target "$BLOB" --range "bytes =0-99"
part space-eq 0 99
same tab 206 fotad --target "$BLOB" --range "$(printf 'bytes=\t0-99')"
part tab 0 99
same huge 206 fotad --target "$BLOB" --range "bytes=316700-99999999999999999999"
part huge 316700 "$LAST"
same unknown 404 fotad --target "$DEVTGT/blob/0123456789abcdef0123456789abcdef" --range "bytes=0-9"

# ---- a delta's blob (fotactl release delta from v1): fotad's same checks, nginx's bytes --------
DELTA=$("$BUILD/fotactl" release delta --from "$W/v1.bin" --release "$W/v2.bundle" \
    --key "$W/release.pem" -o "$W/d.bundle" 2>>"$W/mk.err") || fail "fotactl release delta"
tail -c +321 "$W/d.bundle" >"$W/d.blob"
DTOTAL=$(stat -c %s "$W/d.blob")
fotactl_ok release upload "$W/d.bundle"
same delta-first 206 nginx --target "$DEVTGT/blob/$DELTA" --range "bytes=0-1055"
same delta-last 206 nginx --target "$DEVTGT/blob/$DELTA" --range "bytes=-100"
same delta-whole 200 nginx --target "$DEVTGT/blob/$DELTA"
same delta-beyond 416 fotad --target "$DEVTGT/blob/$DELTA" --range "bytes=$DTOTAL-"
cmp -s "$W/delta-whole.nginx.body" "$W/d.blob" || fail "delta-whole: not the delta's blob"
head -c 1056 "$W/d.blob" | cmp -s - "$W/delta-first.nginx.body" || fail "delta-first: wrong bytes"
tail -c 100 "$W/d.blob" | cmp -s - "$W/delta-last.nginx.body" || fail "delta-last: wrong bytes"
[ "$(hdr delta-first ETag)" = "\"$(sha256sum "$W/d.blob" | cut -c1-64)\"" ] ||
    fail "delta-first: ETag $(hdr delta-first ETag)"

# ---- what stays with fotad: authentication ---------------------------------------------------
refused() { # NAME: 401 from fotad through nginx, its JSON, nothing of the blob
    [ "$(cat "$W/$1.nginx.status")" = 401 ] || fail "$1: status $(cat "$W/$1.nginx.status")"
    grep -q '"code":"auth"' "$W/$1.nginx.body" || fail "$1: not fotad's 401"
    local size
    size=$(stat -c %s "$W/$1.nginx.body")
    [ "$size" -lt 400 ] || fail "$1: a body of $size bytes"
    [ -z "$(hdr "$1" Content-Range)$(hdr "$1" ETag)" ] || fail "$1: blob headers on a 401"
}
ask nginx bad-mac --target "$BLOB" --range "bytes=0-1055" --bad-mac
refused bad-mac
ask nginx other-key --target "$BLOB" --key-device inv-someone-else
refused other-key
ask nginx no-auth --target "$BLOB" --omit X-Fota-Auth
refused no-auth
STATUS=$(curl -s -o "$W/anon.body" -w '%{http_code}' -r 0-1055 "$URL_N$BLOB") || fail "curl anon"
[ "$STATUS" = 401 ] && grep -q '"code":"auth"' "$W/anon.body" || fail "an unsigned request: $STATUS"
grep -q "path=\"$BLOB\" status=401 .*error=auth" "$W/fotad.log" ||
    fail "fotad did not refuse them itself"
grep "status=401" "$W/fotad.log" | grep -q "accel=" && fail "a refused request was handed over"

# ---- the internal location is not reachable from outside ---------------------------------------
OBJ="/_fota_objects/${ETAG:0:2}/${ETAG:2}"
for how in --get --head; do # (curl --head writes the headers to -o)
    STATUS=$(curl -s -o "$W/direct.body" -w '%{http_code}' "$how" -r 0-99 "$URL_N$OBJ") ||
        fail "curl $how $OBJ"
    [ "$STATUS" = 404 ] || fail "$how $OBJ from outside: $STATUS"
    cmp -s -n 100 "$W/direct.body" "$W/v2.blob" && fail "$how $OBJ: blob bytes"
done
ask nginx direct --target "$OBJ"
STATUS=$(cat "$W/direct.nginx.status")
[ "$STATUS" = 404 ] || fail "a signed request for $OBJ: $STATUS"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "$URL_N/_fota_objects/") || fail "curl listing"
[ "$STATUS" = 404 ] || fail "/_fota_objects/ from outside: $STATUS"

# ---- whole updates through nginx -----------------------------------------------------------------
device() { # ID MODE: an emulated ESP32 with 1.0.0 updates through nginx
    "$BUILD/fota-flash" create "$W/$1.flash" --image "$W/v1.bin" >/dev/null || fail "flash $1"
    local rc=0
    "$BUILD/fota-device" run "$W/$1.flash" --server "$URL_N" --id "$1" --master "$W/master" \
        --release-key "$W/release.pub" --product "$PRODUCT" --mode "$2" --timeout 60 \
        >"$W/$1.out" 2>"$W/$1.err" || rc=$?
    check_sanitizer "$W/$1.err"
    [ "$rc" = 0 ] || { show_out "$1"; fail "$1: exit $rc"; }
    grep -q "running 2.0.0, outcome: FOTA_OK" "$W/$1.out" ||
        { show_out "$1"; fail "$1: not running 2.0.0"; }
    flash_boots "$1" 2.0.0 ota_1
    device_seen "$1" confirmed 2.0.0
}
device dev-chain chain
grep "path=\"$DEVTGT/blob/.* device=dev-chain" "$W/fotad.log" >"$W/chain.lines" ||
    fail "dev-chain: no blob request in fotad's log"
grep -v " status=200 bytes=0 .*accel=20[06]" "$W/chain.lines" &&
    fail "dev-chain: fotad sent blob bytes"
device dev-seed seed
CHUNKS=$((($(stat -c %s "$W/v2.bin") + 1023) / 1024))
SENT=$(grep -c "path=\"$DEVTGT/chunk?chunk_number=.* status=200 bytes=[1-9].*device=dev-seed" \
    "$W/fotad.log" || true)
[ "$SENT" -eq "$CHUNKS" ] || fail "dev-seed: $SENT chunks sent by fotad, of $CHUNKS"
grep "device=dev-seed" "$W/fotad.log" | grep -q "accel=" && fail "dev-seed: a chunk was handed over"

# fotad sent no blob byte of its own for any request it handed over.
grep "path=\"$DEVTGT/blob/" "$W/fotad.log" | grep "accel=" | grep -qv " bytes=0 " &&
    fail "a handed-over request with bytes from fotad"

# ---- nothing went wrong in nginx; everything stops cleanly -----------------------------------
grep -E '\[(crit|alert|emerg|error)\]' "$W/nginx/error.log" && fail "errors in nginx's log"
kill -TERM "$NGX_PID"
wait "$NGX_PID" || fail "nginx exited with $?"
NGX_PID=""
kill -TERM "$PLAIN_PID"
wait "$PLAIN_PID" || fail "the second fotad exited with $?"
PLAIN_PID=""
check_sanitizer "$W/fotad-plain.log"
fotad_stop
pass
