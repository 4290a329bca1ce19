#!/usr/bin/env bash
# test_server_attacks.sh - a hostile client against a real fotad on loopback: every route without
# and with wrong credentials, path traversal and encoded NULs in release ids and blob names,
# oversized targets, headers and bodies, malformed JSON (\u0000 included) on every JSON route,
# SQL metacharacters in every field that reaches the store, a device acting under another
# device's id, and a flood of idle / half-sent connections plus malformed requests. Each attack
# must get its 4xx with the JSON code, and fotad must stay up.
#
# Nothing stored may be lost or changed: the admin API's listings, the database rows (when the
# sqlite3 shell is installed) and the checksums of every stored object are compared before and
# after, apart from what honest devices and the attacking device's own record legitimately add.
#
# Honest traffic is measured four times in one run: before the floods, during the idle flood,
# during the idle and malformed floods, and after them: keep-alive seed-chunk requests per
# second (bench_load, where it is built), a fleet of emulated devices doing a whole update
# (fota-sim) and requests on fresh connections (fota-devreq). The figures are printed, not
# asserted (no wall-clock limits in tests; machines are noisy): what is asserted is that every
# honest request and every honest update succeeded during the floods. Connections left idle at
# the start must be closed by fotad's idle timeout (30 s) by the end.
#
# ATTACK_IDLE (default 3000) idle connections, all of which fotad must accept (its connection
# limit, --max-connections, is by default half the open-file limit; docs/SECURITY.md "The server
# under attack").
# Run by ctest as:
#   bash test_server_attacks.sh BUILD_DIR
source "$(dirname "$0")/../integration/lib/fotad.sh" "$1" server-attacks
[ -x "$BUILD/fota-sim" ] || fail "$BUILD/fota-sim not built"

# Every client call is bounded: a stalled server fails the test instead of hanging it.
curl() { command curl --connect-timeout 10 --max-time 20 "$@"; }

# The library's request and check functions, redone without extra processes (this test makes some
# 500 calls; forks dominate its time): same names, same contracts.
admin() {
    local method=$1 path=$2
    shift 2
    curl -s -o "$W/body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $TOKEN" "$@" \
        "$URL$path" >"$W/code" || fail "curl $method $path"
    read -r STATUS <"$W/code" || true
}
raw() {
    local method=$1 path=$2
    shift 2
    curl -s -o "$W/body" -w '%{http_code}' -X "$method" "$@" "$URL$path" >"$W/code" ||
        fail "curl $method $path"
    read -r STATUS <"$W/code" || true
}
dev() {
    local device=$1 target=$2 rc=0 out=""
    shift 2
    "$BUILD/fota-devreq" --url "$URL" --device "$device" --master "$W/master" \
        --target "$target" "$@" >"$W/devout" 2>"$W/deverr" || rc=$?
    [ ! -s "$W/deverr" ] || check_sanitizer "$W/deverr"
    [ "$rc" -eq 0 ] || { cat "$W/devout" "$W/deverr" >&2; fail "fota-devreq exit $rc: $target"; }
    IFS= read -r -d '' out <"$W/devout" || true
    STATUS=${out%%$'\n'*}
    out=${out#"$STATUS"}
    printf '%s' "${out#$'\n'}" >"$W/body"
}
body_has() {
    local b=""
    IFS= read -r -d '' b <"${BODY_FILE:-$W/body}" || true
    [[ $b == *"$1"* ]] || { printf '%s\n' "$b" >&2; fail "body lacks '$1'"; }
}
T0=$SECONDS
section() { echo "--- $1 (at $((SECONDS - T0)) s)"; }

# Flood processes are ours to stop, whatever ends the test.
FLOOD_PIDS=()
# stop_floods: ask them to stop (a file they poll), give them 8 s (their own calls time out in
# 5 s), then kill what is left.
stop_floods() {
    local p i alive
    [ -z "${W:-}" ] || touch "$W/flood.stop"
    for i in $(seq 1 80); do
        alive=0
        for p in "${FLOOD_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for p in "${FLOOD_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${FLOOD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    FLOOD_PIDS=()
}
trap 'stop_floods; t_cleanup' EXIT

DEVTGT=/api/inverter/fota
make_keys
make_image 2.0.0 "$W/v2.bin" 24K
REL=$(make_bundle "$W/v2.bin" inv-5k 2.0.0 "$W/v2.bundle")
fotad_start
admin POST /api/admin/releases --data-binary @"$W/v2.bundle" -H 'Content-Type: application/octet-stream'
expect 201 "honest upload"
admin POST /api/admin/assignments -d "{\"release\":\"$REL\",\"product\":\"inv-5k\"}"
expect 201 "honest assignment"
dev honest-1 "$DEVTGT/check?version=1.0.0&hw=inv-5k"
expect 200 "honest check"

# Idle-timeout witnesses, checked at the end: a connection that sends nothing, one with half a
# request line, one with the request line and half its headers.
exec {IDLE_A}<>"/dev/tcp/127.0.0.1/$PORT"
exec {IDLE_B}<>"/dev/tcp/127.0.0.1/$PORT"
exec {IDLE_C}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /api/inverter/fo' >&"$IDLE_B"
printf 'GET /api/admin/devices?idle-witness HTTP/1.1\r\nHost: x\r\nX-A: ' >&"$IDLE_C"
IDLE_T0=$SECONDS

alive() { kill -0 "$FOTAD_PID" 2>/dev/null || fail "fotad died: $1"; }
# status_4xx WHAT: the last call got some 4xx with a JSON error (code not pinned by the docs).
status_4xx() {
    case "$STATUS" in 4??) ;; *) cat "$W/body" >&2; fail "$1: status $STATUS, wanted 4xx" ;; esac
    body_has '"code":"'
}
# snapshot FILE: what is stored, apart from what may move: last_seen (honest traffic touches it),
# mallory's own record (an authenticated device may change its own record) and the devices the
# honest-traffic measurement adds (load-*, sim-*).
kept() { echo "$1 <> 'mallory' AND $1 NOT LIKE 'load-%' AND $1 NOT LIKE 'sim-%'"; }
snapshot() {
    local p
    : >"$1"
    for p in releases assignments "devices/honest-1" devices; do
        admin GET "/api/admin/$p"
        expect 200 "list $p"
        if [ "$p" = devices ]; then
            grep -oE '"id":"[^"]*"' "$W/body" | grep -vE '"id":"(load|sim)-' >>"$1" || true
        else
            sed -E 's/"(last_seen|seen|time|updated)":[0-9]+/"\1":T/g' "$W/body" >>"$1"
        fi
        echo >>"$1"
    done
    (cd "$W/data/objects" && find . -type f | LC_ALL=C sort | xargs sha256sum) >>"$1"
    if [ -n "$SQLITE" ]; then
        "$SQLITE" -readonly "$W/data/fotad.db" >>"$1" <<SQL || fail "reading the database"
SELECT id, product, version, security_version, image_size, chunk_size, chunk_count, blob_size,
  image_sha256, blob_sha256, created, uploaded, hex(manifest) FROM releases ORDER BY id;
SELECT * FROM assignments ORDER BY kind, target;
SELECT id, product, version, state, release_id, offered, done, total, last_error, first_seen
  FROM devices WHERE $(kept id) ORDER BY id;
SELECT * FROM reports WHERE $(kept device) ORDER BY seq;
SELECT count(*) FROM devices WHERE id = 'mallory';
SQL
    fi
}
SQLITE=$(command -v sqlite3 || true)
[ -n "$SQLITE" ] || echo "note: no sqlite3 shell; the database is compared through the admin API only"
# mallory: a provisioned (authenticated) device that attacks; its own record is its to change.
dev mallory "$DEVTGT/check?version=1.0.0&hw=inv-5k"
expect 200 "mallory's first check"
snapshot "$W/before"

# --- 1. no / wrong credentials on every route and method ----------------------------------------
section "1. credentials"
# Many plain requests go through one curl process (--next), each answer in its own file:
# batch_add WANT_STATUS WANT_CODE WHAT CURL_ARGS... URL; batch_run checks them all. WANT_STATUS
# 4xx takes any 4xx with a JSON code; WANT_CODE - checks the status only, CODE+TEXT also wants
# TEXT in the body.
BATCH=()
BATCH_CHECK=()
batch_add() {
    local n=${#BATCH_CHECK[@]}
    BATCH_CHECK+=("$1"$'\t'"$2"$'\t'"$3")
    shift 3
    BATCH+=(-s -m 20 -o "$W/batch.$n" -w '%{http_code}\n' "$@" --next)
}
batch_run() {
    local i want code what codes=()
    unset 'BATCH[${#BATCH[@]}-1]' # the last --next
    command curl --connect-timeout 10 "${BATCH[@]}" >"$W/batch.codes" || fail "batched curl"
    mapfile -t codes <"$W/batch.codes"
    [ "${#codes[@]}" = "${#BATCH_CHECK[@]}" ] || fail "batched curl: ${#codes[@]} answers"
    for i in "${!BATCH_CHECK[@]}"; do
        IFS=$'\t' read -r want code what <<<"${BATCH_CHECK[$i]}"
        STATUS=${codes[$i]}
        BODY_FILE=$W/batch.$i
        if [ "$want" = 4xx ]; then
            status_4xx "$what"
        elif [ "$code" = - ]; then
            expect "$want" "$what"
        else
            error_is "$want" "${code%%+*}" "$what"
            [[ $code != *+* ]] || body_has "${code#*+}"
        fi
    done
    echo "    $i batched answers checked"
    unset BODY_FILE
    BATCH=()
    BATCH_CHECK=()
}

AUTH=(-H "Authorization: Bearer $TOKEN")
JSON=(-H 'Content-Type: application/json')
ASSIGN=$URL/api/admin/assignments

# The route table (docs/ADMIN_API.md, docs/PROTOCOL.md): a method a route has not gets 405
# before authentication (that reveals only the route table, which is public); the others must
# be refused for want of credentials.
LONGTOK=$(printf 't%.0s' $(seq 2000))
ADMIN_ROUTES="releases:GET,HEAD,POST releases/$REL:GET,HEAD devices:GET,HEAD
devices/honest-1:GET,HEAD assignments:GET,HEAD,POST"
for r in $ADMIN_ROUTES; do
    p=/api/admin/${r%%:*}
    for m in GET HEAD POST PUT DELETE PATCH; do
        if [[ ,${r#*:}, != *,$m,* ]]; then
            batch_add 405 method_not_allowed "$m $p" -X "$m" -d '{}' "$URL$p"
            continue
        fi
        d=(-d '{}')
        [ "$m" = GET ] && d=()
        if [ "$m" = HEAD ]; then
            batch_add 401 - "HEAD $p without a token" -I "$URL$p"
            batch_add 403 - "HEAD $p with a wrong token" -I -H "Authorization: Bearer x$TOKEN" "$URL$p"
            continue
        fi
        batch_add 401 unauthorized "$m $p without a token" -X "$m" "${d[@]}" "$URL$p"
        for h in "Bearer wrong-token-0123456789abcdef0123" "Bearer ${TOKEN}x" "Bearer ${TOKEN%?}" \
            "Bearer ${TOKEN^^}" "Bearer $TOKEN$TOKEN"; do
            batch_add 403 forbidden "$m $p with the token '$h'" -X "$m" "${d[@]}" -H "Authorization: $h" "$URL$p"
        done
        for h in "Basic $TOKEN" "Bearer" "bearer$TOKEN" "$TOKEN" "Bearer $LONGTOK"; do
            batch_add 401 unauthorized "$m $p with the header '${h:0:60}'" -X "$m" "${d[@]}" -H "Authorization: $h" "$URL$p"
        done
    done
done
batch_run
# The token is checked before the size limit: a huge unauthenticated upload learns nothing.
head -c $((2 * 1024 * 1024)) /dev/zero >"$W/big"
raw POST /api/admin/releases --data-binary @"$W/big" -H 'Content-Type: application/octet-stream'
error_is 401 unauthorized "2 MiB upload without a token"
ZEROS=$(printf '0%.0s' $(seq 64))
FORGED=(-H 'X-Device-Id: honest-1' -H "X-Fota-Time: $(date +%s)" -H 'X-Fota-Nonce: 0123456789abcdef'
    -H "X-Fota-Auth: $ZEROS")
DEV_ROUTES="check?version=1.0.0&hw=inv-5k:GET manifest?release=$REL:GET chunk?chunk_number=0:GET
blob/$REL:GET report:POST"
for r in $DEV_ROUTES; do
    p=$DEVTGT/${r%:*}
    for m in GET HEAD POST PUT DELETE; do
        d=()
        [ "$m" = POST ] && d=(-d '{"state":"error"}')
        [ "$m" = HEAD ] && d=(-I)
        allowed=${r##*:}
        [ "$allowed" = GET ] && allowed="GET HEAD"
        code=method_not_allowed
        [ "$m" = HEAD ] && code=- # no body in an answer to HEAD
        if [[ " $allowed " != *" $m "* ]]; then
            batch_add 405 "$code" "$m $p" -X "$m" "${d[@]}" "$URL$p"
            continue
        fi
        if [ "$m" = HEAD ]; then
            batch_add 401 - "HEAD $p without device auth" "${d[@]}" "$URL$p"
            continue
        fi
        batch_add 401 auth "$m $p without device auth" -X "$m" "${d[@]}" "$URL$p"
        batch_add 401 auth "$m $p with forged device headers" -X "$m" "${d[@]}" "${FORGED[@]}" "$URL$p"
        batch_add 401 auth "$m $p with half the device headers" -X "$m" "${d[@]}" "${FORGED[@]:0:4}" "$URL$p"
    done
done
batch_run
for r in $DEV_ROUTES; do
    p=$DEVTGT/${r%:*}
    dm=()
    case $p in *report) dm=(--method POST --body '{"state":"error"}') ;; esac
    dev honest-1 "$p" --bad-mac "${dm[@]}"
    error_is 401 auth "$p with a bad MAC"
    dev honest-1 "$p" --skew -3600 "${dm[@]}"
    error_is 401 auth "$p with a clock an hour behind"
done
# A captured request sent again (the same nonce): refused.
NONCE=$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')
dev honest-1 "$DEVTGT/check?version=1.0.0&hw=inv-5k" --nonce "$NONCE"
expect 200 "honest check with a chosen nonce"
dev honest-1 "$DEVTGT/check?version=1.0.0&hw=inv-5k" --nonce "$NONCE"
error_is 401 auth "a replayed nonce"
body_has replayed
alive "credential probes"

# --- 2. path traversal and malformed ids -----------------------------------------------------------
section "2. traversal"
LONG=$(printf 'a%.0s' $(seq 300))
for id in '..%2f..%2fetc%2fpasswd' '%2e%2e%2f%2e%2e%2fetc%2fpasswd' '..%252f..%252f' '%2fetc%2fpasswd' \
    '....%2f%2f' "$LONG" "${REL}x" '%ff%fe' "$REL%2f.."; do
    batch_add 404 not_found "admin release id '$id'" "${AUTH[@]}" "$URL/api/admin/releases/$id"
    dev mallory "$DEVTGT/blob/$id"
    status_4xx "blob '$id'"
    dev mallory "$DEVTGT/manifest?release=$id"
    status_4xx "manifest release '$id'"
done
for id in '..%2f..%2fetc%2fpasswd' "${REL}x"; do
    dev mallory "$DEVTGT/chunk?chunk_number=0&release=$id"
    status_4xx "chunk release '$id'"
done
# Literal ../ on the request line (curl would normalise it away).
raw GET "/api/admin/releases/../../../etc/passwd" --path-as-is -H "Authorization: Bearer $TOKEN"
status_4xx "literal ../ in an admin path"
raw GET "$DEVTGT/blob/../../../../etc/passwd" --path-as-is
status_4xx "literal ../ in a blob path"
for id in '..%2f..%2fetc' "$LONG" '%2fetc%2fpasswd'; do
    batch_add 4xx - "admin device id '$id'" "${AUTH[@]}" "$URL/api/admin/devices/$id"
done
dev mallory "$DEVTGT/chunk?chunk_number=0&release=$REL%00"
expect 400 "%00 in a query value"
# %00 in the path: libmicrohttpd decodes it and the C string ends there, so "blob/ID%00junk"
# would be the blob ID. The router refuses the raw target first, before the route and the token.
for id in "$REL%00" "$REL%00.bin" "${REL:0:31}%00" 'a%00b'; do
    batch_add 400 "bad_request+encoded NUL" "admin release id '$id'" "${AUTH[@]}" \
        "$URL/api/admin/releases/$id"
    batch_add 400 "bad_request+encoded NUL" "admin release id '$id' without a token" \
        "$URL/api/admin/releases/$id"
    batch_add 400 "bad_request+encoded NUL" "admin device id '$id'" "${AUTH[@]}" \
        "$URL/api/admin/devices/$id"
    dev mallory "$DEVTGT/blob/$id"
    error_is 400 bad_request "blob '$id'"
    body_has "encoded NUL"
done
batch_run
dev mallory "$DEVTGT/check%00x?version=1.0.0&hw=inv-5k"
error_is 400 bad_request "%00 in a device route's name"
alive "traversal"

# --- 3. oversized targets, headers, bodies ---------------------------------------------------------
section "3. oversized"
BIGQ=$(printf 'x%.0s' $(seq 1100))
dev mallory "$DEVTGT/check?version=1.0.0&hw=inv-5k&pad=$BIGQ"
expect 414 "target over 1024 bytes"
raw GET "/api/admin/releases?$BIGQ$BIGQ$BIGQ$BIGQ$BIGQ$BIGQ$BIGQ$BIGQ" -H "Authorization: Bearer $TOKEN"
status_4xx "8 KiB admin query string"
MANY="a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9"
dev mallory "$DEVTGT/check?version=1.0.0&hw=inv-5k&$MANY"
expect 400 "more than 8 query parameters"
dev mallory "$DEVTGT/check?version=1.0.0&hw=inv-5k&version=2.0.0"
expect 400 "a parameter given twice"
# Headers within the connection's 16 KiB are served; past it libmicrohttpd answers itself
# (431, no JSON body of ours).
HALFH=$(head -c 8000 /dev/zero | tr '\0' 'h')
raw GET /api/admin/releases -H "Authorization: Bearer $TOKEN" -H "X-Junk: $HALFH"
expect 200 "an 8 KB header"
BIGH=$(head -c 20000 /dev/zero | tr '\0' 'h')
raw GET /api/admin/releases -H "Authorization: Bearer $TOKEN" -H "X-Junk: $BIGH"
expect 431 "a 20 KB header"
raw GET /api/admin/releases -H "Authorization: Bearer $TOKEN" -H "X-Junk: $BIGH$BIGH$BIGH$BIGH$BIGH"
expect 431 "a 100 KB header"
BIGH_STATUS=$STATUS
HDRS=()
for i in $(seq 1 200); do HDRS+=(-H "X-H$i: v"); done
raw GET /api/admin/releases -H "Authorization: Bearer $TOKEN" "${HDRS[@]}"
expect 200 "200 short headers"
head -c 70000 /dev/zero | tr '\0' ' ' >"$W/json70k"
admin POST /api/admin/assignments --data-binary @"$W/json70k" -H 'Content-Type: application/json'
error_is 413 too_large "JSON body over 64 KiB"
head -c 2000 /dev/zero | tr '\0' ' ' >"$W/rep2k"
dev mallory "$DEVTGT/report" --method POST --body-file "$W/rep2k" --content-type application/json
error_is 413 too_large "report over 1024 bytes"
admin GET /api/admin/releases --data-binary @"$W/json70k"
status_4xx "body on a GET"
alive "oversized"

# --- 4. malformed JSON on /api/admin/assignments and the report endpoint --------------------------
section "4. malformed JSON"
NEST=$(printf '[%.0s' $(seq 10000))
NESTO=$(for _ in $(seq 3000); do printf '{"a":'; done)
BADJSON=(
    '' '{' '{"release":' "{\"release\":\"$REL\",\"product\":\"inv-5k\"" '[]' '"str"' '123' 'null'
    "$NEST" "$NESTO" "{\"release\":\"$REL\",\"product\":\"inv-5k\"}{}" "{\"release\":\"$REL\",\"product\":\"inv-5k\"} x"
    '{"release":123,"product":"inv-5k"}' "{\"release\":\"$REL\",\"product\":[\"inv-5k\"]}"
    "{\"release\":\"$REL\",\"product\":null}" "{\"release\":\"$REL\",\"product\":true}"
    "{\"release\":\"$REL\",\"product\":\"inv-5k\",\"device\":\"d1\"}"
    "{'release':'$REL'}"
    "{\"release\":\"$REL\",\"product\":\"inv-5k\",}" "{\"release\":\"$REL\" \"product\":\"inv-5k\"}"
    '{"state":"error","done":1e999999}'
)
for j in "${BADJSON[@]}"; do
    batch_add 400 bad_request "assignment body '${j:0:60}'" "${AUTH[@]}" "${JSON[@]}" --data-binary "$j" "$ASSIGN"
done
# A NUL in a string (\u0000, or a raw zero byte): cJSON would end the C string there and the
# product "inv-5k\u0000x" would be read as "inv-5k". Refused whole, whatever the field.
NULS=("{\"release\":\"$REL\",\"product\":\"inv-5k\\u0000x\"}"
    "{\"release\":\"$REL\\u0000\",\"product\":\"inv-5k\"}"
    "{\"release\":\"$REL\",\"device\":\"honest-1\\u0000\"}"
    "{\"release\":\"$REL\",\"product\":\"inv-5k\",\"x\\u0000\":1}")
for j in "${NULS[@]}"; do
    batch_add 400 bad_request+NUL "assignment body '$j'" "${AUTH[@]}" "${JSON[@]}" --data-binary "$j" "$ASSIGN"
done
printf '{"release":"%s","product":"inv-5k\0x"}' "$REL" >"$W/nul.json"
batch_add 400 bad_request+NUL "assignment with a raw zero byte" "${AUTH[@]}" "${JSON[@]}" \
    --data-binary @"$W/nul.json" "$ASSIGN"
# An escaped backslash before "u0000" is no NUL: the product inv\u0000 (9 printable characters)
# is read whole, and it is not the release's product.
batch_add 422 product_mismatch "assignment with an escaped backslash" "${AUTH[@]}" "${JSON[@]}" \
    --data-binary "{\"release\":\"$REL\",\"product\":\"inv\\\\u0000\"}" "$ASSIGN"
# Invalid UTF-8 inside a string.
printf '{"release":"%s","product":"inv\xff\xfe5k"}' "$REL" >"$W/utf8.json"
batch_add 400 bad_request "assignment with invalid UTF-8" "${AUTH[@]}" "${JSON[@]}" \
    --data-binary @"$W/utf8.json" "$ASSIGN"
batch_run
REPBAD=(
    '' '{' '{"state":' '[]' 'null' '{"state":"error"' '{"state":"error"}x' '{"state":123}'
    '{"state":"ERROR"}' '{"state":""}' '{"state":"error","done":-1}' '{"state":"error","done":4294967296}'
    '{"state":"error","done":99999999999999999999999999999}' '{"state":"error","done":1.5}'
    '{"state":"error","done":"1"}' '{"state":"error","error":4294967296000}' '{"state":"error","release":"../../x"}'
    '{"state":"error","version":"'"$(printf 'v%.0s' $(seq 40))"'"}' '{"state":"error","error":1e999}'
    '{"state":"a_very_long_state_name"}' '{"done":1}'
    "${NEST:0:900}" "$(for _ in $(seq 150); do printf '{"a":'; done)"
)
for j in "${REPBAD[@]}"; do
    dev mallory "$DEVTGT/report" --method POST --body "$j" --content-type application/json
    error_is 400 bad_request "report body '${j:0:60}'"
done
# NULs in the report's strings, required and optional: the whole report is refused.
for j in '{"state":"error\u0000"}' '{"state":"error","version":"1.0\u0000x"}' \
    '{"state":"error","running":"2.0.0\u0000evil"}' "{\"state\":\"error\",\"release\":\"$REL\\u0000\"}" \
    '{"state":"error","\u0000":1}'; do
    dev mallory "$DEVTGT/report" --method POST --body "$j" --content-type application/json
    error_is 400 bad_request "report body '$j'"
    body_has 'NUL'
done
printf '{"state":"error","version":"1.0\0x"}' >"$W/rnul.json"
dev mallory "$DEVTGT/report" --method POST --body-file "$W/rnul.json" --content-type application/json
error_is 400 bad_request "report with a raw zero byte"
body_has 'NUL'
printf '{"state":"error","version":"v\xff\xfe"}' >"$W/rutf8.json"
dev mallory "$DEVTGT/report" --method POST --body-file "$W/rutf8.json" --content-type application/json
error_is 400 bad_request "report with invalid UTF-8"
# Duplicate keys: a body that two readers could read two ways is refused.
dev mallory "$DEVTGT/report" --method POST --body '{"state":"error","state":"booted"}' --content-type application/json
error_is 400 bad_request "report with a duplicate key"
body_has 'a key given twice'
admin POST /api/admin/assignments -H 'Content-Type: application/json' \
    --data-binary "{\"release\":\"$REL\",\"product\":\"inv-5k\",\"product\":\"other\"}"
error_is 400 bad_request "assignment with a duplicate key"
alive "malformed JSON"

# --- 5. SQL metacharacters in every field that reaches the store -----------------------------------
section "5. SQL"
SQLS=("' OR 1=1 --" '"; DROP TABLE releases; --' "'); DELETE FROM devices; --" "x' UNION SELECT * FROM assignments --"
    '\\x00' '%' "\\'" 'honest-%' "honest-1' --")
urlenc() {
    local i c h out=""
    for ((i = 0; i < ${#1}; i++)); do
        c=${1:i:1}
        case $c in [A-Za-z0-9.~-]) out+=$c ;; *) printf -v h '%%%02X' "'$c" && out+=$h ;; esac
    done
    ENC=$out
}
for s in "${SQLS[@]}"; do
    urlenc "$s"
    e=$ENC
    js=${s//\\/\\\\}
    js=${js//\"/\\\"}
    # version and hw are stored as the device's record: as data, byte for byte (or refused as
    # too long for a label: 400).
    dev mallory "$DEVTGT/check?version=$e&hw=$e"
    case "$STATUS" in 204 | 400) ;; *) fail "SQL in version and hw: $STATUS" ;; esac
    if [ "$STATUS" = 204 ]; then
        admin GET /api/admin/devices/mallory
        body_has "\"product\":\"$js\""
        body_has "\"version\":\"$js\""
    fi
    dev mallory "$DEVTGT/manifest?release=$e"
    status_4xx "SQL in a manifest release"
    dev mallory "$DEVTGT/report" --method POST --body "{\"state\":\"error\",\"release\":\"$js\"}"
    error_is 400 bad_request "SQL in a report release"
    dev mallory "$DEVTGT/report" --method POST --body "{\"state\":\"$js\"}"
    error_is 400 bad_request "SQL in a report state"
    batch_add 404 not_found "SQL in an admin device id '$s'" "${AUTH[@]}" "$URL/api/admin/devices/$e"
    batch_add 404 not_found "SQL in an admin release id '$s'" "${AUTH[@]}" "$URL/api/admin/releases/$e"
    batch_add 4xx - "SQL in an assignment release '$s'" "${AUTH[@]}" "${JSON[@]}" \
        --data-binary "{\"release\":\"$js\",\"product\":\"inv-5k\"}" "$ASSIGN"
    batch_add 4xx - "SQL in an assignment device '$s'" "${AUTH[@]}" "${JSON[@]}" \
        --data-binary "{\"release\":\"$REL\",\"device\":\"$js\"}" "$ASSIGN"
    batch_add 4xx - "SQL in an assignment product '$s'" "${AUTH[@]}" "${JSON[@]}" \
        --data-binary "{\"release\":\"$REL\",\"product\":\"$js\"}" "$ASSIGN"
done
batch_run
# LIKE wildcards are plain characters: "_" and "honest-_" are ids of their own, not patterns.
admin GET /api/admin/devices/honest-_
error_is 404 not_found "LIKE wildcard in a device id"
# Device ids with SQL: the id format refuses them before any key is derived.
for s in "x' OR 1=1 --" 'a"; DROP TABLE devices; --'; do
    raw GET "$DEVTGT/check?version=1&hw=inv-5k" -H "X-Device-Id: $s" -H "X-Fota-Time: $(date +%s)" \
        -H 'X-Fota-Nonce: 0123456789abcdef' -H "X-Fota-Auth: $ZEROS"
    error_is 401 auth "SQL in X-Device-Id"
done
alive "SQL"

# --- 6. other devices' data ------------------------------------------------------------------------
section "6. other devices' data"
# A device's key with another device's id (fota-devreq --key-device signs with the key of one id
# and sends the other): on every device route, refused before anything is read or written.
for t in "$DEVTGT/check?version=9.9.9&hw=inv-5k" "$DEVTGT/manifest?release=$REL" \
    "$DEVTGT/chunk?chunk_number=0" "$DEVTGT/blob/$REL" "$DEVTGT/report"; do
    dm=()
    case $t in *report) dm=(--method POST --body '{"state":"booted"}') ;; esac
    dev mallory "$t" --key-device honest-1 "${dm[@]}"
    error_is 401 auth "mallory's key as honest-1 on $t"
    dev honest-1 "$t" --key-device honest-2 "${dm[@]}"
    error_is 401 auth "honest-1's key as honest-2 on $t"
done
admin GET /api/admin/devices/honest-2
error_is 404 not_found "no trace of the impersonated device"
# A seed chunk's MAC is made with the asking device's own key: mallory's chunk verifies with
# mallory's key, never with honest-1's.
dev mallory "$DEVTGT/chunk?chunk_number=3&release=$REL" --check-chunk "$W/v2.bin"
expect 200 "mallory's own chunk"
grep -q "chunk 3 ok" "$W/body" || fail "mallory's chunk does not verify with mallory's key"
cp "$W/body" "$W/chunk3.json"
dev honest-1 "$DEVTGT/chunk?chunk_number=3&release=$REL"
expect 200 "honest-1's chunk"
mac_of() { grep -oE '"mac":"[0-9a-f]{64}"' "$1"; }
[ "$(mac_of "$W/body")" != "$(mac_of "$W/chunk3.json")" ] || fail "two devices got the same chunk MAC"
alive "other devices"

# --- nothing stored changed, apart from honest additions ------------------------------------------
section "compare what is stored"
snapshot "$W/after"
diff "$W/before" "$W/after" >"$W/diff" || { cat "$W/diff" >&2; fail "stored state changed under attack"; }
echo "100 KB of headers answered $BIGH_STATUS"

# --- 7. honest traffic without and with the floods -----------------------------------------------
section "7. honest traffic without and with the floods"
N_IDLE=${ATTACK_IDLE:-3000}
# fotad takes about half of the open-file limit for connections, and the flood needs one
# descriptor per connection too: on a machine whose hard limit is small, flood with less.
HARD_FDS=$(ulimit -Hn)
if [ "$HARD_FDS" != unlimited ] && [ $(((HARD_FDS - 200) / 2)) -lt "$N_IDLE" ]; then
    N_IDLE=$(((HARD_FDS - 200) / 2))
    echo "note: open-file hard limit $HARD_FDS: $N_IDLE idle connections"
fi
N_SIM=${ATTACK_SIM:-40}
N_FRESH=${ATTACK_FRESH:-10}
LOAD_S=${ATTACK_LOAD_SECONDS:-2}
make_image 1.0.0 "$W/v1.bin" 24K
SIM_FIRST=1

# kv FILE KEY: the value of bench_load's "KEY value" line.
kv() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# load_run LABEL: bench_load, 8 keep-alive honest devices asking for seed chunks for LOAD_S s.
# (Benchmarks are not built in sanitizer builds: there the other two measures stand alone.)
load_run() {
    local out=$W/load.$1
    [ -x "$BUILD/bench_load" ] || return 0
    timeout $((LOAD_S + 30)) "$BUILD/bench_load" --url "$URL" --kind seed --release "$REL" \
        --chunks 24 --master "$W/master" --connections 8 --seconds "$LOAD_S" --warmup 0.5 \
        >"$out" 2>"$out.err" || { cat "$out" "$out.err" >&2; fail "bench_load ($1)"; }
    check_sanitizer "$out.err"
    [ "$(kv "$out" non2xx)" = 0 ] || { cat "$out" >&2; fail "honest chunks answered non-2xx ($1)"; }
    [ "$(kv "$out" requests)" -gt 0 ] || fail "no honest chunk request completed ($1)"
}

# sim_run LABEL: N_SIM emulated devices (new ids each run) do a whole seed-mode update to 2.0.0
# (a check, the manifest, 24 chunk requests and their reports each).
sim_run() {
    local out=$W/sim.$1
    timeout 90 "$BUILD/fota-sim" run --server "$URL" --devices "$N_SIM" --first-id "$SIM_FIRST" \
        --product inv-5k --mode seed --image "$W/v1.bin" --release-key "$W/release.pub" \
        --master-secret-file "$W/master" --check-interval 200 --timeout 60 --http-timeout 10000 \
        --expect updated --to 2.0.0 --json "$out.json" --no-progress >"$out" 2>"$out.err" ||
        { cat "$out" "$out.err" >&2; fail "fota-sim: honest devices did not all update ($1)"; }
    check_sanitizer "$out.err"
    SIM_FIRST=$((SIM_FIRST + N_SIM))
}
sim_num() { grep -oE "\"$2\":[0-9.]+" "$W/sim.$1.json" | head -n 1 | cut -d: -f2; }

# fresh_run LABEL: N_FRESH chunk requests, each a new process and a new connection.
fresh_run() {
    local i t0
    t0=$(date +%s%N)
    for i in $(seq 1 "$N_FRESH"); do
        dev honest-1 "$DEVTGT/chunk?chunk_number=$((i % 24))&release=$REL"
        expect 200 "honest chunk $i on a fresh connection ($1)"
    done
    echo $((($(date +%s%N) - t0) / 1000000)) >"$W/fresh.$1"
}

measure() {
    load_run "$1"
    sim_run "$1"
    fresh_run "$1"
}

# The idle flood: N_IDLE connections from one process: a quarter send nothing, a quarter half a
# request line, a quarter a request line and half a header, a quarter a report's headers and 5
# of its 900 announced body bytes. Held until $W/flood.stop appears.
idle_flood() {
    ulimit -n $((N_IDLE + 64)) 2>/dev/null || true
    local i fd opened=0
    for i in $(seq 1 "$N_IDLE"); do
        exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" 2>/dev/null || break
        case $((i % 4)) in
            1) printf 'GET /api/inverter/fo' ;;
            2) printf 'GET /api/admin/releases HTTP/1.1\r\nHost: x\r\nX-A: ' ;;
            3) printf 'POST %s/report HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n{"sta' "$DEVTGT" ;;
        esac 1>&"$fd" 2>/dev/null || true
        opened=$i
    done
    echo "$opened" >"$W/idle.opened"
    while [ ! -f "$W/flood.stop" ]; do sleep 0.2; done
}

# The malformed flood: over keep-alive connections, batches of 101 requests: a bad JSON body
# without a token, forged device headers, traversal with a 9 KB header, a product with \u0000
# (with the token), then a request line that is not HTTP; over and over until $W/flood.stop.
malformed_flood() {
    local i args=()
    for i in $(seq 1 25); do
        args+=(-s -o /dev/null -m 5 -X POST -d '{"release":' "$ASSIGN" --next
            -s -o /dev/null -m 5 "${FORGED[@]}" "$URL$DEVTGT/check?version=1&hw=a" --next
            -s -o /dev/null -m 5 -H "X-J: ${BIGH:0:9000}" "${AUTH[@]}" "$URL/api/admin/releases/..%2f..%2f"
            --next -s -o /dev/null -m 5 "${AUTH[@]}" "${JSON[@]}" "$ASSIGN"
            --data-binary "{\"release\":\"$REL\",\"product\":\"inv-5k\\u0000\"}" --next)
    done
    args+=(-s -o /dev/null -m 5 "$URL/healthz")
    while [ ! -f "$W/flood.stop" ]; do
        command curl --connect-timeout 5 "${args[@]}" || true
        printf 'BREW /\x00\xff HTTP/9.9\r\n\r\n' |
            timeout 5 curl -s -o /dev/null "telnet://127.0.0.1:$PORT" 2>/dev/null || true
    done
}

measure none
rm -f "$W/flood.stop" "$W/idle.opened"
idle_flood &
FLOOD_PIDS+=($!)
for _ in $(seq 1 600); do [ -f "$W/idle.opened" ] && break; sleep 0.1; done
[ -f "$W/idle.opened" ] || fail "the idle flood did not open its connections in 60 s"
IDLE_OPEN=$(cat "$W/idle.opened")
[ "$IDLE_OPEN" = "$N_IDLE" ] || fail "the idle flood opened $IDLE_OPEN of $N_IDLE connections"
alive "idle flood"
measure idle
LOG_MARK=$(wc -l <"$W/fotad.log")
FLOOD_T0=$(date +%s%N)
for _ in 1 2; do
    malformed_flood &
    FLOOD_PIDS+=($!)
done
measure both
FLOOD_MS=$((($(date +%s%N) - FLOOD_T0) / 1000000))
FLOOD_REFUSED=$(tail -n +"$((LOG_MARK + 1))" "$W/fotad.log" | grep -c ' status=4[0-9][0-9] ' || true)
stop_floods
alive "after the floods"
dev honest-1 "$DEVTGT/check?version=1.0.0&hw=inv-5k"
expect 200 "honest check after the floods"
measure after

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
# row TEXT FUNCTION ARG: FUNCTION ARG PHASE for each phase, then the two flood phases over "none".
PHASES="none idle both after"
row() {
    local text=$1 p v=()
    shift
    for p in $PHASES; do v+=("$("$@" "$p")"); done
    printf '%-38s %9s %9s %9s %9s %6s %6s\n' "$text" "${v[@]}" "$(ratio "${v[1]}" "${v[0]}")" \
        "$(ratio "${v[2]}" "${v[0]}")"
}
load_fig() { kv "$W/load.$2" "$1"; }
sim_fig() { sim_num "$2" "$1"; }
fresh_fig() { cat "$W/fresh.$1"; }
echo "idle flood: $IDLE_OPEN connections held; malformed flood: $FLOOD_REFUSED requests refused 4xx in $FLOOD_MS ms"
printf '%-38s %9s %9s %9s %9s %6s %6s\n' "honest traffic" "no flood" "idle" "idle+bad" "after" \
    "idle/" "both/"
if [ -f "$W/load.none" ]; then
    row "bench_load 8 keep-alive conns: rps" load_fig rps
    row "  p50 ms" load_fig p50_ms
    row "  p99 ms" load_fig p99_ms
fi
row "fota-sim $N_SIM devices, whole update: s" sim_fig seconds
row "  failed requests (retried)" sim_fig failed_requests
row "fota-devreq $N_FRESH fresh connections: ms" fresh_fig

# --- nothing stored changed by the floods either ---------------------------------------------------
snapshot "$W/after-floods"
diff "$W/before" "$W/after-floods" >"$W/diff" ||
    { cat "$W/diff" >&2; fail "stored state changed under the floods"; }

# --- idle connections time out ---------------------------------------------------------------------
section "idle timeout"
while [ $((SECONDS - IDLE_T0)) -lt 33 ]; do sleep 0.5; done
for fd in "$IDLE_A" "$IDLE_B" "$IDLE_C"; do
    timeout 5 cat <&"$fd" >/dev/null || fail "fotad kept an idle connection open for 33 s"
done
grep -q 'path="/api/admin/devices?idle-witness".*ended=timeout' "$W/fotad.log" ||
    fail "no ended=timeout log line for the idle half-sent request"
fotad_stop
section "done"
pass
