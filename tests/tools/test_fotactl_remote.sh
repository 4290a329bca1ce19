#!/usr/bin/env bash
# test_fotactl_remote.sh - fotactl's admin API client at the port boundary: a scripted HTTP
# server on loopback (fota-fakeadmin) logs every request and answers fixed bodies, so this test
# checks exactly what fotactl sends (method, path, bearer token from each source, content type,
# the upload's bytes, the assignment's JSON) and how it shows what comes back (aligned tables,
# UTC times, escape sequences neutralised, --json as sent, "no ..." for empty lists), and the
# failures fotad itself never produces (a proxy's HTML 502, a 200 that is not JSON, a dropped
# connection, an answer over 64 MiB, nobody listening). Exit codes are checked exactly, so a leak
# report under the sanitizer build fails the test too. The real fotad is exercised by
# tests/integration/test_fotactl_fotad.sh.
# Run by ctest as: bash test_fotactl_remote.sh BUILD_DIR
set -euo pipefail
B=$(cd "$1" && pwd)
mkdir -p "$B/tmp"
W=$(mktemp -d "$B/tmp/fotactl-remote.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$W"
unset FOTA_SERVER FOTA_TOKEN
export TZ=XST-5:30 # times must come out in UTC whatever the local zone

# expect RC CMD...: run CMD (stdout to out, stderr to err) and insist on exit code RC.
expect() {
    local want=$1 rc=0
    shift
    "$@" >out 2>err || rc=$?
    [ "$rc" = "$want" ] || { cat out err >&2; fail "exit $rc, wanted $want: $*"; }
}
# one_line_error TEXT: stderr is exactly one line and contains TEXT; stdout is empty.
one_line_error() {
    [ "$(wc -l <err)" = 1 ] || { cat err >&2; fail "error is not one line"; }
    grep -qF -- "$1" err || fail "error lacks '$1': $(cat err)"
    [ ! -s out ] || fail "stdout on an error: $(cat out)"
}
logged() { grep -qF -- "$1" "$2" || { cat "$2" >&2; fail "not requested: $1"; }; }

# fake NAME ROUTE...: start a fake admin API; its URL in $URL_NAME, its log in NAME.log.
fake() {
    local name=$1
    shift
    local args=()
    for r in "$@"; do args+=(--route "$r"); done
    "$B/fota-fakeadmin" --port-file "$name.port" --log "$name.log" "${args[@]}" 2>"$name.err" &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        [ -s "$name.port" ] && break
        sleep 0.05
    done
    [ -s "$name.port" ] || fail "fake $name did not start: $(cat "$name.err")"
    printf -v "URL_$name" 'http://127.0.0.1:%s' "$(cat "$name.port")"
}

ID=0123456789abcdef0123456789abcdef
ID2=fedcba9876543210fedcba9876543210
utc() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'; }

# Fixtures: what fotad answers (docs/ADMIN_API.md), keys in another order than fotactl prints
# them and a key fotactl does not know, which it must ignore.
REL='{"uploaded":1795000100,"id":"'$ID'","product":"inv-5k","version":"2.0.1","security_version":1,"image_size":1068032,"chunk_size":1024,"chunk_count":1043,"image_sha256":"'$(printf 'ab%.0s' {1..32})'","blob_size":1101408,"created":1795000000,"chip":"esp32","chip_id":0,"future_key":[1,2]}'
REL2='{"id":"'$ID2'","product":"evil\u001b[2J","version":"10.0.0-rc.1","security_version":12,"image_size":4096,"chunk_size":4096,"chunk_count":1,"image_sha256":"00","blob_size":4128,"created":1795000500,"uploaded":1795000600,"chip":"esp32s3","chip_id":9}'
printf '%s' "$REL" >release.json
printf '%s' '{"releases":['"$REL2,$REL"']}' >releases.json
DEV='{"id":"inv-000123","product":"inv-5k","version":"2.0.0","state":"downloading","release":"'$ID'","offered":"'$ID'","done":512,"total":1043,"last_error":0,"last_error_name":"FOTA_OK","first_seen":1795000000,"last_seen":1795000100}'
DEV2='{"id":"b","product":"","version":"","state":"","release":"","offered":"","done":0,"total":0,"last_error":0,"last_error_name":"FOTA_OK","first_seen":1795000000,"last_seen":1795000001}'
printf '%s' '{"devices":['"$DEV,$DEV2"']}' >devices.json
printf '%s' "${DEV%\}}"',"reports":[{"time":1795000100,"state":"downloading","release":"'$ID'","version":"2.0.1","running":"2.0.0","done":512,"total":1043,"error":0},{"time":1795000050,"state":"checking","release":"","version":"","running":"2.0.0","done":0,"total":0,"error":0}]}' >device.json
printf '%s' '{"release":"'$ID'","device":"inv-000123","updated":1795000200}' >assigned.json
printf '%s' '{"assignments":[{"release":"'$ID'","device":"inv-000123","updated":1795000200},{"release":"'$ID2'","product":"inv-5k","updated":1795000300}]}' >assignments.json
printf '%s' '{"assignments":[]}' >no-assignments.json
PROD='{"id":"inv-c6","chip":"esp32c6","chip_id":13,"created":1795000400}'
printf '%s' "$PROD" >product.json
printf '%s' '{"products":['"$PROD"',{"id":"inv-5k","chip":"esp32","chip_id":0,"created":1795000100}]}' >products.json
printf '%s' '{"error":"the request is built for ESP32 (id 0), product inv-c6 for ESP32-C6 (id 13)","code":"chip_mismatch"}' >chip.json
printf '%s' '{"devices":[]}' >no-devices.json
printf '<html><body><h1>502 Bad Gateway</h1></body></html>\n' >proxy.html
printf 'this is not json' >notjson.txt
printf '%s' '{"error":"release is for product inv-5k, device is inv-3k","code":"product_mismatch"}' >mismatch.json
printf '%s' '{"error":"missing or malformed Authorization header","code":"unauthorized"}' >unauth.json
head -c $((65 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >huge.json

fake A "GET /api/admin/releases 200 releases.json" \
    "GET /api/admin/releases/$ID 200 release.json" \
    "POST /api/admin/releases 201 release.json" \
    "GET /api/admin/devices 200 devices.json" \
    "GET /api/admin/devices/inv-000123 200 device.json" \
    "GET /api/admin/devices/proxied 502 proxy.html" \
    "GET /api/admin/devices/garbled 200 notjson.txt" \
    "GET /api/admin/devices/huge 200 huge.json" \
    "POST /api/admin/assignments 201 assigned.json" \
    "GET /api/admin/assignments 200 assignments.json" \
    "POST /api/admin/products 201 product.json" \
    "GET /api/admin/products 200 products.json" \
    "GET /api/admin/products/inv-c6 200 product.json"
fake E "GET /api/admin/assignments 200 no-assignments.json" \
    "GET /api/admin/devices 200 no-devices.json" \
    "POST /api/admin/releases 200 release.json" \
    "POST /api/admin/assignments 422 mismatch.json" \
    "POST /api/admin/products 409 chip.json" \
    "GET /api/admin/releases 401 unauth.json"

# ---- where the server and the token come from ---------------------------------------------
FOTA_SERVER="$URL_A/" FOTA_TOKEN=env-token expect 0 "$B/fotactl" release list
logged "GET /api/admin/releases auth=Bearer env-token type= len=0" A.log
FOTA_SERVER=http://127.0.0.1:1 FOTA_TOKEN=env-token expect 0 "$B/fotactl" release list \
    --server "$URL_A" --token flag-token
logged "auth=Bearer flag-token" A.log
printf 'file-token\nsecond line is not the token\n' >token
FOTA_TOKEN=env-token expect 0 "$B/fotactl" release list --server "$URL_A" --token-file token
logged "auth=Bearer file-token type=" A.log
grep -q "second line" A.log && fail "more than the first line of the token file sent"
expect 2 "$B/fotactl" release list --server "$URL_A" --token a --token-file token
one_line_error "not both"
expect 2 "$B/fotactl" release list --server "$URL_A"
one_line_error "no admin token"
expect 2 "$B/fotactl" release list --server "$URL_A" --token "$(printf 'a\r\nX-Evil: 1')"
one_line_error "control characters"
expect 2 "$B/fotactl" release list --server "ftp://127.0.0.1" --token t
one_line_error "not an http:// or https:// URL"
# The default server is http://127.0.0.1:8080: the message names it (nothing listens in CI,
# or something else does; either way it is the URL fotactl tried).
FOTA_TOKEN=t "$B/fotactl" device list >out 2>err || true
grep -qF "127.0.0.1:8080" err || [ -s out ] || fail "default server not used: $(cat err)"

export FOTA_SERVER=$URL_A FOTA_TOKEN=tok

# ---- tables -----------------------------------------------------------------------------------
expect 0 "$B/fotactl" release list
[ "$(wc -l <out)" = 3 ] || fail "release list: $(cat out)"
head -n 1 out | grep -Eq '^ID +PRODUCT +CHIP +VERSION +SECVER +SIZE +CHUNK +UPLOADED \(UTC\)$' ||
    fail "release list header: $(head -n 1 out)"
grep -Eq "^$ID +inv-5k +esp32 +2\.0\.1 +1 +1068032 +1024 +$(utc 1795000100)\$" out ||
    fail "release row: $(cat out)"
# Aligned: every column starts where its title does; numbers end where their title ends.
col() { awk -v w="$2" 'NR == 1 { print index($0, w) }' "$1"; }
for t in PRODUCT VERSION UPLOADED; do
    c=$(col out $t)
    while IFS= read -r line; do
        [ "${line:$((c - 2)):1}" = " " ] && [ "${line:$((c - 1)):1}" != " " ] ||
            fail "column $t not aligned: '$line'"
    done < <(tail -n +2 out)
done
ends=$(awk 'NR == 1 { e = index($0, "SIZE") + 3 } NR > 1 { print substr($0, e, 2) }' out)
[ "$ends" = "$(printf '6 \n2 ')" ] || fail "SIZE not right-aligned: $(cat out)"
# The escape sequence a server (or a device through it) could send is shown harmless.
grep -qF 'evil?[2J' out || fail "control character not replaced: $(cat -v out)"
grep -q $'\x1b' out && fail "an escape character reached the terminal"
# Newest first, as the server sent them: fotactl does not reorder.
[ "$(sed -n 2p out | cut -c1-32)" = "$ID2" ] || fail "rows reordered"

expect 0 "$B/fotactl" release list --json
[ "$(cat out)" = "$(cat releases.json)" ] || fail "--json is not the server's document: $(cat out)"
grep -qF '"future_key":[1,2]' out || fail "--json dropped a key fotactl does not know"

expect 0 "$B/fotactl" release show $ID
logged "GET /api/admin/releases/$ID auth=Bearer tok" A.log
grep -Eq "^image_size +1068032$" out && grep -Eq "^chunk_count +1043$" out &&
    grep -Eq "^chip +esp32$" out && grep -Eq "^chip_id +0$" out &&
    grep -Eq "^created +$(utc 1795000000) UTC$" out || fail "release show: $(cat out)"
grep -q future_key out && fail "release show printed an unknown key"
expect 0 "$B/fotactl" release show $ID --json
grep -qF "\"blob_size\":1101408" out || fail "release show --json"
# An unknown release: the server's 404 as one line.
expect 1 "$B/fotactl" release show $ID2
one_line_error "fotactl: $ID2: status 404 not_found: no such route in the fake"
# Ids are checked before they go into a URL; nothing is sent.
n=$(wc -l <A.log)
expect 2 "$B/fotactl" release show ../../x
one_line_error "not a release id"
expect 2 "$B/fotactl" device show "a b"
one_line_error "not a device id"
[ "$(wc -l <A.log)" = "$n" ] || fail "a request was sent for a bad id"

expect 0 "$B/fotactl" device list
head -n 1 out | grep -Eq '^ID +PRODUCT +VERSION +STATE +DONE +TOTAL +LAST ERROR +LAST SEEN \(UTC\)$' ||
    fail "device list header: $(head -n 1 out)"
grep -Eq "^inv-000123 +inv-5k +2\.0\.0 +downloading +512 +1043 +FOTA_OK +$(utc 1795000100)$" out ||
    fail "device row: $(cat out)"
grep -Eq "^b +- +- +- +0 +0 +FOTA_OK +$(utc 1795000001)$" out || fail "empty fields: $(cat out)"

expect 0 "$B/fotactl" device show inv-000123
grep -Eq "^state +downloading$" out && grep -Eq "^offered +$ID$" out &&
    grep -Eq "^last_seen +$(utc 1795000100) UTC$" out || fail "device show fields: $(cat out)"
grep -Eq "^TIME \(UTC\) +STATE +VERSION +RUNNING +DONE +TOTAL +ERROR +RELEASE$" out ||
    fail "report header: $(cat out)"
grep -Eq "^$(utc 1795000100) +downloading +2\.0\.1 +2\.0\.0 +512 +1043 +0 +$ID$" out &&
    grep -Eq "^$(utc 1795000050) +checking +- +2\.0\.0 +0 +0 +0 +-$" out ||
    fail "report rows: $(cat out)"

expect 0 "$B/fotactl" assignment list
grep -Eq "^$ID +inv-000123 +- +$(utc 1795000200)$" out &&
    grep -Eq "^$ID2 +- +inv-5k +$(utc 1795000300)$" out || fail "assignment list: $(cat out)"
expect 0 "$B/fotactl" assignment list --server "$URL_E"
[ "$(cat out)" = "no assignments" ] || fail "empty assignment list: $(cat out)"
expect 0 "$B/fotactl" device list --server "$URL_E"
[ "$(cat out)" = "no devices" ] || fail "empty device list: $(cat out)"
expect 0 "$B/fotactl" device list --server "$URL_E" --json
[ "$(cat out)" = '{"devices":[]}' ] || fail "empty device list --json: $(cat out)"

# ---- writes -----------------------------------------------------------------------------------
head -c 70000 /dev/urandom >fake.bundle
expect 0 "$B/fotactl" release upload fake.bundle
[ "$(cat out)" = "$ID uploaded" ] || fail "upload: $(cat out)"
logged "POST /api/admin/releases auth=Bearer tok type=application/octet-stream len=70000 sha256=$(sha256sum fake.bundle | cut -d' ' -f1)" A.log
grep -q "upload \[" err && fail "a progress bar without a terminal"
expect 0 "$B/fotactl" release upload fake.bundle --server "$URL_E"
[ "$(cat out)" = "$ID already uploaded" ] || fail "200 upload: $(cat out)"
expect 0 "$B/fotactl" release upload fake.bundle --json
[ "$(cat out)" = "$(cat release.json)" ] || fail "upload --json: $(cat out)"
# On a terminal (script gives one), the bar shows.
if command -v script >/dev/null; then
    script -qec "'$B/fotactl' release upload '$W/fake.bundle'" /dev/null >tty.out </dev/null ||
        fail "upload on a terminal: $(cat tty.out)"
    grep -qF "100% 70000/70000 bytes" tty.out || fail "no progress bar on a terminal"
fi
expect 1 "$B/fotactl" release upload missing.bundle
one_line_error "missing.bundle: cannot read"

expect 0 "$B/fotactl" assign $ID --device inv-000123
[ "$(cat out)" = "$ID assigned to device inv-000123" ] || fail "assign: $(cat out)"
logged "POST /api/admin/assignments auth=Bearer tok type=application/json len=" A.log
logged "body={\"release\":\"$ID\",\"device\":\"inv-000123\"}" A.log
expect 0 "$B/fotactl" assign $ID --product 'inv 5k "x"' --json
logged "body={\"release\":\"$ID\",\"product\":\"inv 5k \\\"x\\\"\"}" A.log
[ "$(cat out)" = "$(cat assigned.json)" ] || fail "assign --json: $(cat out)"
n=$(wc -l <A.log)
expect 2 "$B/fotactl" assign $ID
one_line_error "exactly one of --device and --product"
expect 2 "$B/fotactl" assign $ID --device a --product b
expect 2 "$B/fotactl" assign $ID --device 'x/../y'
one_line_error "not a device id"
[ "$(wc -l <A.log)" = "$n" ] || fail "an assignment was sent for bad arguments"
expect 1 "$B/fotactl" assign $ID --device inv-000123 --server "$URL_E"
one_line_error "fotactl: assign: status 422 product_mismatch: release is for product inv-5k"

# ---- products ---------------------------------------------------------------------------------
expect 0 "$B/fotactl" product create inv-c6 --chip ESP32-C6
[ "$(cat out)" = "product inv-c6 created, chip esp32c6" ] || fail "product create: $(cat out)"
logged "POST /api/admin/products auth=Bearer tok type=application/json len=" A.log
logged 'body={"id":"inv-c6","chip":"esp32c6"}' A.log
expect 1 "$B/fotactl" product create inv-c6 --chip esp32 --server "$URL_E"
one_line_error "fotactl: inv-c6: status 409 chip_mismatch: the request is built for ESP32 (id 0)"
n=$(wc -l <A.log)
expect 2 "$B/fotactl" product create inv-c6 --chip esp8266
one_line_error "--chip is one of esp32, esp32s2"
expect 2 "$B/fotactl" product create inv-c6
one_line_error "--chip is one of"
expect 2 "$B/fotactl" product create 012345678901234567890123456789012 --chip esp32
one_line_error "not a product id"
expect 2 "$B/fotactl" product show "a/b"
one_line_error "product list shows others"
[ "$(wc -l <A.log)" = "$n" ] || fail "a product request was sent for bad arguments"
expect 0 "$B/fotactl" product list
head -n 1 out | grep -Eq '^ID +CHIP +CHIP ID +CREATED \(UTC\)$' || fail "product list header: $(cat out)"
grep -Eq "^inv-c6 +esp32c6 +13 +$(utc 1795000400)$" out &&
    grep -Eq "^inv-5k +esp32 +0 +$(utc 1795000100)$" out || fail "product list: $(cat out)"
expect 0 "$B/fotactl" product show inv-c6
grep -Eq "^chip +esp32c6$" out && grep -Eq "^chip_id +13$" out || fail "product show: $(cat out)"
expect 0 "$B/fotactl" product show inv-c6 --json
[ "$(cat out)" = "$(cat product.json)" ] || fail "product show --json: $(cat out)"

# ---- failures fotad does not produce ---------------------------------------------------------
expect 1 "$B/fotactl" release list --server "$URL_E"
one_line_error "status 401 unauthorized: missing or malformed Authorization header"
expect 1 "$B/fotactl" device show proxied
one_line_error "fotactl: proxied: status 502, not a fotad error: <html><body><h1>502 Bad Gateway"
expect 1 "$B/fotactl" device show garbled
one_line_error "status 200 but the answer is not JSON"
expect 1 "$B/fotactl" device show huge
one_line_error "is larger than 67108864 bytes"
# A connection closed without an answer, then nobody listening at all.
fake D "GET /api/admin/devices drop -"
expect 1 "$B/fotactl" device list --server "$URL_D"
one_line_error "fotactl: device list: request to $URL_D failed"
kill "${PIDS[-1]}"
wait "${PIDS[-1]}" 2>/dev/null || true
expect 1 "$B/fotactl" device list --server "$URL_D"
one_line_error "fotactl: device list: cannot reach fotad at $URL_D"
# The fake itself stops cleanly (and, in the sanitizer build, without a report).
kill "${PIDS[0]}"
rc=0
wait "${PIDS[0]}" || rc=$?
[ "$rc" = 0 ] && ! grep -qE 'Sanitizer|runtime error' A.err || fail "fake: exit $rc $(cat A.err)"
echo "PASS: fotactl remote"
