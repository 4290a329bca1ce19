#!/usr/bin/env bash
# test_fotad_metrics.sh - GET /metrics of a real fotad on loopback (docs/SERVER.md "Metrics"),
# after emulated ESP32s running the real agent (fota-device) updated in chain and seed mode and
# one more device only checked in: every scrape passes `promtool check metrics`; a token is
# required (401 without, 403 wrong; a viewer token is enough, a revoked one refused) unless
# --metrics-open; the gauges agree with the admin API
# (devices per running version and per state as GET /api/admin/devices lists them, a rollout's
# open stage and members as GET /api/admin/rollouts/ID counts them); the request counters rise
# by exactly the requests made between two scrapes; the blob and chunk bytes served equal the
# response bytes of those requests in fotad's log, the blob bytes being the release's blob_size
# per chain-mode device; store calls are timed.
# Run by ctest as: bash test_fotad_metrics.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotad-metrics
[ -x "$BUILD/fota-device" ] && [ -x "$BUILD/fota-flash" ] || fail "fota-device/fota-flash not built"
command -v promtool >/dev/null || fail "promtool not installed (scripts/install-deps: prometheus)"

PRODUCT=inv-5k
make_keys
make_image 1.0.0 "$W/v1.bin" 60K
make_image 2.0.0 "$W/v2.bin" 60K
make_image 3.0.0 "$W/v3.bin" 20K
R2=$(make_bundle "$W/v2.bin" "$PRODUCT" 2.0.0 "$W/v2.bundle")
R3=$(make_bundle "$W/v3.bin" "$PRODUCT" 3.0.0 "$W/v3.bundle")
fotad_start

# scrape OUT: GET /metrics with the token into $W/OUT, checked by promtool (no complaint at all).
scrape() {
    admin GET /metrics -D "$W/$1.headers"
    expect 200 "GET /metrics"
    cp "$W/body" "$W/$1"
    grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$W/$1.headers" ||
        fail "content type: $(cat "$W/$1.headers")"
    promtool check metrics <"$W/$1" >"$W/$1.promtool" 2>&1 ||
        { cat "$W/$1.promtool" >&2; fail "promtool check metrics failed on $1"; }
    [ ! -s "$W/$1.promtool" ] || { cat "$W/$1.promtool" >&2; fail "promtool complains about $1"; }
}
# value FILE SERIES: the value of the sample SERIES (name and labels exactly), 0 when absent.
value() {
    awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }' "$W/$1"
}
# rises FILE_BEFORE FILE_AFTER SERIES N: the sample rose by exactly N.
rises() {
    local a b
    a=$(value "$1" "$3")
    b=$(value "$2" "$3")
    [ "$((b - a))" = "$4" ] || fail "$3: $a -> $b, not +$4"
}

# --- access: the admin token, or nothing with --metrics-open --------------------------------------
raw GET /metrics
error_is 401 unauthorized "metrics without a token"
raw GET /metrics -H "Authorization: Bearer wrong-token"
error_is 403 forbidden "metrics with a wrong token"
# A token of the least role, made for the scraper, is enough; once revoked it is refused.
admin POST /api/admin/tokens -d '{"name":"prometheus","role":"viewer"}'
expect 201 "a viewer token"
VIEWER=$(grep -oE '"secret":"fota_[0-9a-f]+_[0-9a-f]+"' "$W/body" | cut -d'"' -f4)
VIEWER_ID=$(grep -oE '"id":"[0-9a-f]+"' "$W/body" | cut -d'"' -f4)
raw GET /metrics -H "Authorization: Bearer $VIEWER"
expect 200 "metrics with a viewer token"
grep -q '^# TYPE fota_http_requests_total counter$' "$W/body" || fail "viewer scrape: no counters"
admin POST "/api/admin/tokens/$VIEWER_ID/revoke"
expect 200 "revoke the viewer token"
raw GET /metrics -H "Authorization: Bearer $VIEWER"
error_is 403 forbidden "metrics with a revoked token"
scrape m0
grep -q '^fota_build_info{version="[^"]*"} 1$' "$W/m0" || fail "no fota_build_info"
for f in process_start_time_seconds process_resident_memory_bytes process_open_fds \
    process_cpu_seconds_total; do
    grep -qE "^$f [0-9.e+]+$" "$W/m0" || fail "no $f"
done
start=$(value m0 process_start_time_seconds)
now=$(date +%s)
awk -v s="$start" -v n="$now" 'BEGIN { exit !(s > n - 60 && s <= n + 1) }' ||
    fail "process_start_time_seconds $start is not about now ($now)"

# --- a fleet: two chain-mode updates, one seed-mode, one device that only checks -----------------
admin POST /api/admin/releases --data-binary @"$W/v2.bundle"
expect 201 "upload 2.0.0"
admin POST /api/admin/releases --data-binary @"$W/v3.bundle"
expect 201 "upload 3.0.0"
admin POST /api/admin/assignments -d "{\"release\":\"$R2\",\"product\":\"$PRODUCT\"}"
expect 201 "assign 2.0.0"
for id in dev-a dev-b dev-s; do
    mode=chain
    [ "$id" = dev-s ] && mode=seed
    "$BUILD/fota-flash" create "$W/$id.flash" --image "$W/v1.bin" >/dev/null || fail "flash $id"
    "$BUILD/fota-device" run "$W/$id.flash" --server "$URL" --id "$id" --master "$W/master" \
        --release-key "$W/release.pub" --product "$PRODUCT" --mode "$mode" --timeout 60 \
        >"$W/$id.out" 2>"$W/$id.err" || { show_out "$id"; fail "$id: update failed"; }
    check_sanitizer "$W/$id.err"
    grep -q "running 2.0.0, outcome: FOTA_OK" "$W/$id.out" || { show_out "$id"; fail "$id"; }
done
dev dev-old "/api/inverter/fota/check?version=1.0.0&hw=inv-3k"
expect 204 "dev-old's check"
sleep 0.3 # the last requests are counted when libmicrohttpd has finished them
scrape m1

# Devices per version and per state, as the admin API lists them.
admin GET /api/admin/devices
expect 200 "device list"
cp "$W/body" "$W/devices.json"
grep -o '"version":"[^"]*"' "$W/devices.json" | sort | uniq -c >"$W/by_version"
[ "$(wc -l <"$W/by_version")" = 2 ] || fail "versions: $(cat "$W/by_version")"
while read -r n v; do
    v=${v#\"version\":\"}
    v=${v%\"}
    [ "$(value m1 "fota_devices_by_version{version=\"$v\"}")" = "$n" ] ||
        fail "version $v: $n devices in the admin API, metrics say $(value m1 "fota_devices_by_version{version=\"$v\"}")"
done <"$W/by_version"
[ "$(value m1 'fota_devices_by_version{version="2.0.0"}')" = 3 ] || fail "three devices on 2.0.0"
[ "$(value m1 'fota_devices{state="confirmed"}')" = 3 ] || fail "three confirmed devices"
[ "$(value m1 'fota_devices{state="none"}')" = 1 ] || fail "one device without a report"
[ "$(value m1 "fota_update_results{release=\"$R2\",outcome=\"confirmed\"}")" = 3 ] ||
    fail "three confirmed updates to $R2"

# Bytes served: each blob and chunk response's bytes= in the log, summed; a chain-mode update
# fetched the release's blob once.
sum_bytes() {
    grep -E "request method=GET path=\"/api/inverter/fota/$1.* status=20[06] " "$W/fotad.log" |
        grep -oE ' bytes=[0-9]+' | cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }'
}
admin GET "/api/admin/releases/$R2"
blob_size=$(json_num blob_size)
[ "$(sum_bytes blob)" = $((2 * blob_size)) ] || fail "blob bytes in the log $(sum_bytes blob), not 2 x $blob_size"
[ "$(value m1 'fota_served_bytes_total{kind="blob"}')" = $((2 * blob_size)) ] ||
    fail "blob bytes served $(value m1 'fota_served_bytes_total{kind="blob"}'), downloaded $((2 * blob_size))"
chunk_bytes=$(sum_bytes chunk)
[ "$chunk_bytes" -gt 60000 ] || fail "seed mode: only $chunk_bytes chunk bytes in the log"
[ "$(value m1 'fota_served_bytes_total{kind="chunk"}')" = "$chunk_bytes" ] ||
    fail "chunk bytes served $(value m1 'fota_served_bytes_total{kind="chunk"}'), logged $chunk_bytes"
blobs=$(grep -c 'path="/api/inverter/fota/blob/' "$W/fotad.log")
[ "$(value m1 'fota_http_requests_total{method="GET",route="/api/inverter/fota/blob/{id}",code="206"}')" -ge 1 ] ||
    fail "no blob request counted"
counted=$(grep -E '^fota_http_requests_total\{method="GET",route="/api/inverter/fota/blob/\{id\}"' "$W/m1" |
    awk '{ s += $2 } END { print s + 0 }')
[ "$counted" = "$blobs" ] || fail "$blobs blob requests in the log, $counted counted"
chunks=$(value m1 'fota_http_requests_total{method="GET",route="/api/inverter/fota/chunk",code="200"}')
[ "$chunks" = 60 ] || fail "seed mode: $chunks chunk requests counted, the image has 60 chunks"
grep -qE '^fota_store_call_duration_seconds_count\{op="device_check"\} [1-9]' "$W/m1" ||
    fail "the store's device_check calls are not timed"
grep -qE '^fota_http_request_duration_seconds_count\{method="GET",route="/api/inverter/fota/check"\} [1-9]' "$W/m1" ||
    fail "no check durations"

# --- the counters rise by exactly the requests made -----------------------------------------------
sleep 0.3
scrape m1
for i in 1 2 3; do
    raw GET /healthz
    expect 200 healthz
done
admin GET /api/admin/devices
admin GET /api/admin/devices
raw GET /nowhere
expect 404 "an unknown path"
raw GET /api/admin/devices
expect 401 "the admin API without a token"
dev dev-old "/api/inverter/fota/check?version=1.0.0&hw=inv-3k"
expect 204 "dev-old's check again"
sleep 0.3
scrape m2
rises m1 m2 'fota_http_requests_total{method="GET",route="/healthz",code="200"}' 3
rises m1 m2 'fota_http_requests_total{method="GET",route="/api/admin/devices",code="200"}' 2
rises m1 m2 'fota_http_requests_total{method="GET",route="/api/admin/devices",code="401"}' 1
rises m1 m2 'fota_http_requests_total{method="",route="unmatched",code="404"}' 1
rises m1 m2 'fota_http_requests_total{method="GET",route="/api/inverter/fota/check",code="204"}' 1
rises m1 m2 'fota_http_requests_total{method="GET",route="/metrics",code="200"}' 1 # m1's own
rises m1 m2 'fota_http_request_duration_seconds_count{method="GET",route="/healthz"}' 3
rises m1 m2 'fota_served_bytes_total{kind="blob"}' 0
total() { grep '^fota_http_requests_total{' "$W/$1" | awk '{ s += $2 } END { print s + 0 }'; }
[ $(($(total m2) - $(total m1))) = 9 ] || fail "$(($(total m2) - $(total m1))) requests counted, 9 made"

# --- a rollout's stage and members, as the admin API counts them ----------------------------------
admin POST /api/admin/rollouts -d '{"release":"'"$R3"'","devices":["dev-a","dev-b","dev-s"],
 "stages":[{"devices":1},{"percent":100}]}'
expect 201 "create a rollout"
RO=$(json_num id)
admin POST "/api/admin/rollouts/$RO/start"
expect 200 "start the rollout"
scrape m3
admin GET "/api/admin/rollouts/$RO"
cp "$W/body" "$W/rollout.json"
stage=$(json_num current_stage)
[ "$stage" = 1 ] || fail "current_stage $stage"
grep -q "^fota_rollout_stage{rollout=\"$RO\",release=\"$R3\",state=\"running\"} $stage\$" "$W/m3" ||
    fail "fota_rollout_stage: $(grep fota_rollout_stage "$W/m3")"
for st in 1 2; do
    for s in pending started succeeded failed; do
        want=$(grep -oE '"stages":\[.*' "$W/rollout.json" | grep -oE "\"counts\":\{[^}]*\}" |
            sed -n "${st}p" | grep -oE "\"$s\":[0-9]+" | cut -d: -f2)
        got=$(value m3 "fota_rollout_members{rollout=\"$RO\",stage=\"$st\",status=\"$s\"}")
        [ "$got" = "$want" ] || fail "stage $st $s: admin API $want, metrics $got"
    done
done
[ "$(value m3 "fota_rollout_members{rollout=\"$RO\",stage=\"1\",status=\"pending\"}")" -ge 1 ] ||
    fail "no pending member in stage 1"
fotad_stop

# --- --metrics-open: no token needed -----------------------------------------------------------
fotad_start --metrics-open
raw GET /metrics
expect 200 "metrics with --metrics-open"
grep -q '^fota_devices_by_version{version="2.0.0"} 3$' "$W/body" || fail "open metrics: $(head "$W/body")"
raw GET /api/admin/devices
error_is 401 unauthorized "the admin API still needs the token"
fotad_stop
pass
