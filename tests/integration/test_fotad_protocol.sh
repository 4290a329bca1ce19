#!/usr/bin/env bash
# test_fotad_protocol.sh - fotad against what docs/PROTOCOL.md promises a client written from it
# alone: release ids in either case (manifest, chunk, blob, report, assignment); chunk numbers
# that are decimal but too large for 32 (or 64) bits get 416 like any other number past the end;
# the blob's conditional requests (If-None-Match -> 304, If-Range that does not match -> the whole
# blob with 200, If-Match that does not match -> 412, for GET and HEAD); and the details a client
# must not have to guess: a HEAD is signed with the method HEAD, the body hash in the signed
# string is lowercase hex, every answer (the 401 of a request without a usable time too) carries
# Date, a device without a clock takes its time from it, the blob's Content-Type, and the bounds
# of a report's `error`.
#
# Most requests here are signed by a few lines of Python written from docs/PROTOCOL.md section 2
# (not with the project's fota/auth.h, as fota-devreq does) and sent with curl, so headers
# fota-devreq does not send (If-Range, If-None-Match, If-Match) and a real HEAD can be tried.
# /usr/bin/python3 comes with python3-kconfiglib (scripts/install-deps).
# Run by ctest as: bash test_fotad_protocol.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotad-protocol
PY=/usr/bin/python3
[ -x "$PY" ] || fail "$PY not found: run scripts/install-deps"

DEVTGT=/api/inverter/fota
make_keys
make_image 2.0.0 "$W/v2.bin" 24K
REL=$(make_bundle "$W/v2.bin" inv-5k 2.0.0 "$W/v2.bundle")
bundle_parts v2
TOTAL=$(stat -c %s "$W/v2.blob")
CHUNKS=$(((24576 + 1023) / 1024))
ETAG=$(sha256sum "$W/v2.blob" | cut -d' ' -f1)
UPPER=$(printf '%s' "$REL" | tr a-f A-F)
MIXED="${UPPER:0:16}${REL:16}"
[ "$UPPER" != "$REL" ] || fail "the release id has no letter to change the case of"
fotad_start

# --- a client written from docs/PROTOCOL.md section 2 ------------------------------------------
# M = METHOD \n TARGET \n TIME \n NONCE \n hex(SHA-256(body)); the MAC is HMAC-SHA256 with the
# auth key = HMAC-SHA256(device key, "fota-auth-v1"), device key = HMAC-SHA256(master, id).
# argv: master-file id method target body-file time nonce hash-case
SIGN_PY='
import hashlib, hmac, sys
master_file, dev, method, target, body_file, t, nonce, case = sys.argv[1:9]
master = open(master_file, "rb").read()
body = open(body_file, "rb").read() if body_file != "-" else b""
device_key = hmac.new(master, dev.encode(), hashlib.sha256).digest()
auth_key = hmac.new(device_key, b"fota-auth-v1", hashlib.sha256).digest()
body_hash = hashlib.sha256(body).hexdigest()
body_hash = body_hash.upper() if case == "upper" else body_hash
m = "\n".join([method, target, t, nonce, body_hash]).encode()
print(hmac.new(auth_key, m, hashlib.sha256).hexdigest())
'

# sreq METHOD TARGET [curl args...]: a device request signed as above (device $S_DEV; the signed
# method $S_SIGN, else METHOD; time $S_TIME, else now; the body file $S_BODY; the body hash in
# $S_CASE) and sent with curl. Status in $STATUS, response headers in $W/hdrs, body in $W/body.
S_DEV=inv-1
sreq() {
    local method=$1 target=$2
    shift 2
    local t=${S_TIME:-$(date +%s)}
    local nonce mac
    nonce=$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
    mac=$("$PY" -c "$SIGN_PY" "$W/master" "$S_DEV" "${S_SIGN:-$method}" "$target" \
        "${S_BODY:--}" "$t" "$nonce" "${S_CASE:-lower}") || fail "signing $target"
    local how=(-X "$method") out="$W/body"
    # (curl --head reads no body and writes the headers to -o: they are in $W/hdrs already)
    [ "$method" = HEAD ] && how=(--head) && out=/dev/null
    [ -n "${S_BODY:-}" ] && how+=(--data-binary "@$S_BODY" -H 'Content-Type: application/json')
    rm -f "$W/body" "$W/hdrs"
    STATUS=$(curl -s --path-as-is -o "$out" -D "$W/hdrs" -w '%{http_code}' "${how[@]}" \
        -H "X-Device-Id: $S_DEV" -H "X-Fota-Time: $t" -H "X-Fota-Nonce: $nonce" \
        -H "X-Fota-Auth: $mac" "$@" "$URL$target") || fail "curl $method $target"
    touch "$W/body"
}

# hdr NAME: the value of response header NAME of the last sreq, or nothing.
hdr() {
    grep -i "^$1:" "$W/hdrs" | head -n 1 | cut -d: -f2- | sed 's/^ *//' | tr -d '\r'
}

# no_hdr NAME WHAT: the last answer has no header NAME.
no_hdr() {
    [ -z "$(hdr "$1")" ] || { cat "$W/hdrs" >&2; fail "$2: a $1 header"; }
}

# is_whole_blob WHAT: the last answer is 200 with the whole blob, no Content-Range.
is_whole_blob() {
    expect 200 "$1"
    cmp -s "$W/body" "$W/v2.blob" || fail "$1: not the whole blob"
    no_hdr Content-Range "$1"
    [ "$(hdr ETag)" = "\"$ETAG\"" ] || fail "$1: ETag $(hdr ETag)"
}

# is_part FIRST LAST WHAT: the last answer is 206 with blob[FIRST..LAST].
is_part() {
    expect 206 "$3"
    [ "$(hdr Content-Range)" = "bytes $1-$2/$TOTAL" ] || fail "$3: Content-Range $(hdr Content-Range)"
    dd if="$W/v2.blob" of="$W/want" bs=1 skip="$1" count=$(($2 - $1 + 1)) status=none
    cmp -s "$W/body" "$W/want" || fail "$3: wrong bytes"
}

# is_not_modified WHAT: the last answer is 304 with the ETag and no body.
is_not_modified() {
    expect 304 "$1"
    [ "$(hdr ETag)" = "\"$ETAG\"" ] || fail "$1: 304 without the ETag"
    [ ! -s "$W/body" ] || fail "$1: a body with 304"
    local cl
    cl=$(hdr Content-Length)
    [ -z "$cl" ] || [ "$cl" = "$TOTAL" ] || fail "$1: 304 with Content-Length $cl"
}

admin POST /api/admin/releases --data-binary @"$W/v2.bundle"
expect 201 "upload"

# --- 1. release ids in either case -------------------------------------------------------------
admin POST /api/admin/assignments -d "{\"release\":\"$UPPER\",\"product\":\"inv-5k\"}"
expect 201 "an assignment naming the release in upper case"
admin GET /api/admin/assignments
body_has "\"release\":\"$REL\""
dev inv-1 "$DEVTGT/check?version=1.0.0&hw=inv-5k"
expect 200 "check"
body_has "\"release\":\"$REL\""
for id in "$UPPER" "$MIXED"; do
    dev inv-1 "$DEVTGT/manifest?release=$id" --out "$W/got.manifest"
    expect 200 "manifest?release=$id"
    cmp -s "$W/got.manifest" "$W/v2.manifest" || fail "manifest of $id: wrong bytes"
    dev inv-1 "$DEVTGT/chunk?chunk_number=3&release=$id" --check-chunk "$W/v2.bin"
    expect 200 "chunk of $id"
    body_has "chunk 3 ok"
    dev inv-1 "$DEVTGT/blob/$id" --range "bytes=0-99" --out "$W/part"
    expect 206 "blob/$id"
    dd if="$W/v2.blob" of="$W/want" bs=1 count=100 status=none
    cmp -s "$W/part" "$W/want" || fail "blob/$id: wrong bytes"
    dev inv-1 "$DEVTGT/report" --method POST \
        --body "{\"state\":\"downloading\",\"release\":\"$id\",\"done\":1,\"total\":$CHUNKS}"
    expect 204 "a report naming $id"
    admin GET /api/admin/devices/inv-1
    body_has "\"release\":\"$REL\"" # stored in lowercase
    admin GET "/api/admin/releases/$id" # the admin API takes either case too
    expect 200 "admin release $id"
    body_has "\"id\":\"$REL\""
done
admin GET "/api/admin/releases/${UPPER}0"
expect 404 "an admin release id one digit too long"
dev inv-1 "$DEVTGT/manifest?release=${UPPER}0"
error_is 404 not_found "an id one digit too long"
dev inv-1 "$DEVTGT/blob/${UPPER:0:31}G"
error_is 404 not_found "an id with a G"
dev inv-1 "$DEVTGT/report" --method POST --body "{\"state\":\"error\",\"release\":\"${UPPER:0:31}G\"}"
error_is 400 bad_request "a report with an id that is not hex"

# --- 2. chunk numbers: decimal past the end is 416, however large; anything else 400 --------------
for n in "$CHUNKS" 4294967295 4294967296 18446744073709551615 18446744073709551616 \
    99999999999999999999999999999999999999999999999999 "0000000000000000000000000000000000000$CHUNKS"; do
    dev inv-1 "$DEVTGT/chunk?chunk_number=$n&release=$REL"
    error_is 416 range "chunk_number=$n"
done
dev inv-1 "$DEVTGT/chunk?chunk_number=0007&release=$REL" --check-chunk "$W/v2.bin"
expect 200 "chunk_number=0007"
body_has "chunk 7 ok"
for n in "" -1 1x 0x1 "1%20" "%2B1" "+1" "1.0" "1e3"; do
    dev inv-1 "$DEVTGT/chunk?chunk_number=$n&release=$REL"
    error_is 400 bad_request "chunk_number='$n'"
done

# --- 3. the blob's conditional requests (RFC 9110 section 13) ----------------------------------
B="$DEVTGT/blob/$REL"
sreq GET "$B"
is_whole_blob "a client's own signed GET"
[ "$(hdr Content-Type)" = application/octet-stream ] || fail "blob Content-Type $(hdr Content-Type)"
[ "$(hdr Accept-Ranges)" = bytes ] || fail "blob without Accept-Ranges: bytes"
# If-Range: the Range applies only while the ETag is the blob's (strong comparison).
sreq GET "$B" -H "Range: bytes=100-199" -H "If-Range: \"$ETAG\""
is_part 100 199 "If-Range with the blob's ETag"
[ "$(hdr Content-Type)" = application/octet-stream ] || fail "206 Content-Type $(hdr Content-Type)"
sreq GET "$B" -H "Range: bytes=100-199" -H "If-Range: \"0123456789abcdef\""
is_whole_blob "If-Range with another ETag"
sreq GET "$B" -H "Range: bytes=100-199" -H "If-Range: W/\"$ETAG\""
is_whole_blob "If-Range with a weak ETag"
sreq GET "$B" -H "Range: bytes=100-199" -H "If-Range: Tue, 15 Nov 1994 08:12:31 GMT"
is_whole_blob "If-Range with a date (no Last-Modified)"
sreq GET "$B" -H "Range: bytes=$TOTAL-" -H "If-Range: \"other\""
is_whole_blob "an unsatisfiable Range ignored for its If-Range"
sreq GET "$B" -H "Range: bytes=$TOTAL-" -H "If-Range: \"$ETAG\""
error_is 416 range "an unsatisfiable Range with a matching If-Range"
sreq GET "$B" -H "If-Range: \"other\""
is_whole_blob "If-Range without Range"
# If-None-Match: 304 when a tag matches (weak comparison), for GET and HEAD, Range or not.
for inm in "\"$ETAG\"" "W/\"$ETAG\"" "\"x\", \"$ETAG\"" "*" " \"a\" ,, W/\"$ETAG\" "; do
    sreq GET "$B" -H "If-None-Match: $inm"
    is_not_modified "GET, If-None-Match: $inm"
    sreq GET "$B" -H "Range: bytes=0-9" -H "If-None-Match: $inm"
    is_not_modified "GET with Range, If-None-Match: $inm"
    sreq HEAD "$B" -H "If-None-Match: $inm"
    is_not_modified "HEAD, If-None-Match: $inm"
done
for inm in "\"other\"" "\"x\", W/\"y\"" "\"$ETAG" "$ETAG" "\"$ETAG\" junk"; do
    sreq GET "$B" -H "Range: bytes=0-9" -H "If-None-Match: $inm"
    is_part 0 9 "If-None-Match: $inm (no match)"
done
# If-Match: 412 unless a tag matches (strong comparison).
sreq GET "$B" -H "If-Match: \"other\""
error_is 412 precondition_failed "If-Match with another ETag"
sreq GET "$B" -H "If-Match: W/\"$ETAG\""
error_is 412 precondition_failed "If-Match with a weak ETag"
sreq GET "$B" -H "Range: bytes=5-6" -H "If-Match: \"x\", \"$ETAG\""
is_part 5 6 "If-Match naming the blob"
sreq GET "$B" -H "If-Match: *"
is_whole_blob "If-Match: *"
# If-Modified-Since and If-Unmodified-Since are ignored: fotad sends no Last-Modified.
sreq GET "$B" -H "Range: bytes=0-9" -H "If-Modified-Since: Sun, 06 Nov 2094 08:49:37 GMT" \
    -H "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT"
is_part 0 9 "If-Modified-Since, If-Unmodified-Since"
no_hdr Last-Modified "the blob"
# HEAD: the GET's headers without the body, signed with the method HEAD.
sreq HEAD "$B"
expect 200 "HEAD blob"
[ "$(hdr Content-Length)" = "$TOTAL" ] || fail "HEAD: Content-Length $(hdr Content-Length)"
[ "$(hdr ETag)" = "\"$ETAG\"" ] || fail "HEAD: ETag"
[ "$(hdr Content-Type)" = application/octet-stream ] || fail "HEAD: Content-Type"
sreq HEAD "$B" -H "Range: bytes=10-19"
expect 206 "HEAD with Range"
[ "$(hdr Content-Range)" = "bytes 10-19/$TOTAL" ] || fail "HEAD with Range: $(hdr Content-Range)"
sreq HEAD "$B" -H "Range: bytes=10-19" -H "If-Range: \"other\""
expect 200 "HEAD with Range and another If-Range"
S_SIGN=GET sreq HEAD "$B"
expect 401 "a HEAD signed as GET"
S_SIGN=GET sreq HEAD "$DEVTGT/manifest?release=$REL"
expect 401 "a HEAD of the manifest signed as GET"

# --- 4. what a client must not have to guess ----------------------------------------------------
# The body hash in the signed string is lowercase hex.
printf '{"state":"checking"}' >"$W/report.json"
S_BODY="$W/report.json" S_CASE=upper sreq POST "$DEVTGT/report"
error_is 401 auth "a report signed over an upper-case body hash"
S_BODY="$W/report.json" sreq POST "$DEVTGT/report"
expect 204 "a report signed over the lowercase body hash"
# Every answer has a Date (IMF-fixdate) close to the server's clock: 2xx, 204, 4xx, and the 401
# of a request whose time is absent or wrong, which is how a device without a clock learns it.
date_ok() {
    local d now t
    d=$(hdr Date)
    [[ "$d" =~ ^(Mon|Tue|Wed|Thu|Fri|Sat|Sun),\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ GMT$ ]] ||
        fail "$1: Date '$d' is not an IMF-fixdate"
    t=$(date -u -d "$d" +%s)
    now=$(date +%s)
    if [ $((now - t)) -gt 5 ] || [ $((t - now)) -gt 5 ]; then
        fail "$1: Date $d is $((t - now)) s off"
    fi
}
sreq GET "$DEVTGT/check?version=1.0.0&hw=inv-5k"
expect 200 "check"
date_ok "200"
sreq GET "$DEVTGT/check?version=2.0.0&hw=inv-5k"
expect 204 "check"
date_ok "204"
sreq GET "$DEVTGT/nothing"
expect 404 "unknown route"
date_ok "404"
sreq GET "$B" -H "If-None-Match: *"
date_ok "304"
S_TIME=0 sreq GET "$DEVTGT/check?version=1.0.0&hw=inv-5k"
error_is 401 auth "time 0"
body_has "clock window"
date_ok "401 for time 0"
# ... and the retry with the time from that Date is accepted.
S_TIME=$(date -u -d "$(hdr Date)" +%s) sreq GET "$DEVTGT/check?version=1.0.0&hw=inv-5k"
expect 200 "the retry with the time taken from Date"
STATUS=$(curl -s -o "$W/body" -D "$W/hdrs" -w '%{http_code}' "$URL$DEVTGT/check") || fail "curl"
error_is 401 auth "no authentication headers"
date_ok "401 without any header"

# A report's error is a signed 32-bit integer; done and total unsigned 32-bit.
for e in 0 -1 2147483647 -2147483648 1002 7.0 1e3; do
    dev inv-1 "$DEVTGT/report" --method POST --body "{\"state\":\"error\",\"error\":$e}"
    expect 204 "error $e"
done
admin GET /api/admin/devices/inv-1
body_has '"last_error":1000'
for e in 2147483648 -2147483649 4294967295 1.5 '"7"' null true; do
    dev inv-1 "$DEVTGT/report" --method POST --body "{\"state\":\"error\",\"error\":$e}"
    error_is 400 bad_request "error $e"
    body_has "missing or invalid field error"
done
dev inv-1 "$DEVTGT/report" --method POST --body '{"state":"downloading","done":4294967295,"total":4294967295}'
expect 204 "done and total 2^32 - 1"
dev inv-1 "$DEVTGT/report" --method POST --body '{"state":"downloading","done":4294967296}'
error_is 400 bad_request "done 2^32"

fotad_stop
pass
