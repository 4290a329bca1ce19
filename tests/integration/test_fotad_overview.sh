#!/usr/bin/env bash
# test_fotad_overview.sh - the admin API's routes for the operator console (docs/ADMIN_API.md,
# "Fleet overview", the paged form of "Devices", whoami, the console's files) against a real
# fotad and signed device requests: 12 devices of two products checking in and reporting (some
# confirmed, some in error); the overview's counts per version, product, state and error, the
# online count, the outcomes in their bucket and the newest errors; pages of 5 walked with the
# cursor to the end, with the total of the filter; each filter; every malformed parameter a 400
# naming it; the list without paging parameters unchanged; whoami; the console's page with its
# Content-Security-Policy, ETag and 304, its files' types, 404 for an unknown one, no token needed.
# The fleet and its numbers run twice: fotad on SQLite, then on a PostgreSQL 15 server of the
# test's own (tests/support/pg.sh).
# Run by ctest as: bash test_fotad_overview.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" overview
source "$(dirname "$0")/../support/pg.sh"
cleanup() {
    pg_cluster_stop
    t_cleanup
}
trap cleanup EXIT
DEVTGT=/api/inverter/fota
make_keys

# fleet_and_numbers: devices check in and report on the fotad running now; its overview, pages,
# filters and whoami.
fleet_and_numbers() {

report() { # report DEVICE STATE ERROR RUNNING
    dev "$1" "$DEVTGT/report" --method POST --content-type application/json \
        --body "{\"state\":\"$2\",\"error\":$3,\"running\":\"$4\",\"done\":4,\"total\":8}"
    expect 204 "report $2 of $1"
}
for i in 01 02 03 04 05 06 07 08; do
    dev "a-$i" "$DEVTGT/check?version=1.0.0&hw=prod-a"
    expect 204 "check a-$i"
done
for i in 01 02 03 04; do
    dev "b-$i" "$DEVTGT/check?version=2.0.0&hw=prod-b"
    expect 204 "check b-$i"
done
for i in 01 02 03; do report "a-$i" confirmed 0 1.1.0; done
report a-04 error 905 1.0.0
report a-05 error 905 1.0.0
report b-01 rolled_back 1002 2.0.0
admin POST /api/admin/device-tags -d '{"device_ids":["a-01","b-01"],"add":["eu"]}'
expect 200 "tags"

# ---- the overview -----------------------------------------------------------------------------
admin GET /api/admin/overview
expect 200 "overview"
body_has '"devices":12,"online":12,"in_error":3'
body_has '{"product":"prod-a","version":"1.1.0","devices":3,"online":3}'
body_has '{"product":"prod-a","version":"1.0.0","devices":5,"online":5}'
body_has '{"product":"prod-b","version":"2.0.0","devices":4,"online":4}'
body_has '{"product":"prod-a","devices":8,"online":8}'
body_has '{"state":"confirmed","devices":3,"online":3}'
body_has '{"state":"","devices":6,"online":6}'
body_has '{"name":"FOTA_ERR_SECURITY_VERSION","devices":2,"online":2,"error":905}'
body_has '{"name":"FOTA_ERR_AGENT_ROLLED_BACK","devices":1,"online":1,"error":1002}'
# The outcomes: 60 buckets of 60 s, the last one holding now, all the reports in one of the last
# two (the run takes seconds).
counts=$(grep -oE '"confirmed":\[[0-9,]*\]' "$W/body" | tr -dc '0-9,' | tr ',' '\n' | grep -c . )
[ "$counts" = 60 ] || fail "outcomes: $counts buckets, wanted 60"
sum() { grep -oE "\"$1\":\\[[0-9,]*\\]" "$W/body" | grep -oE '[0-9]+' | awk '{s += $1} END {print s + 0}'; }
[ "$(sum confirmed)" = 3 ] || fail "outcomes: confirmed $(sum confirmed)"
[ "$(sum error)" = 2 ] || fail "outcomes: error $(sum error)"
[ "$(sum rolled_back)" = 1 ] || fail "outcomes: rolled_back $(sum rolled_back)"
body_has '"recent_errors":[{"id":"'
admin GET "/api/admin/overview?recent=1&buckets=2&bucket_s=3600&online_s=1"
expect 200 "overview with parameters"
[ "$(grep -o '"last_error_name"' "$W/body" | wc -l)" = 1 ] || fail "recent=1 gave more than one"
body_has '"bucket_s":3600'
for bad in "online_s=0" "online_s=x" "bucket_s=86401" "buckets=0" "buckets=501" "recent=101"; do
    admin GET "/api/admin/overview?$bad"
    error_is 400 bad_request "overview?$bad"
    body_has "malformed parameter ${bad%%=*}"
done

# ---- pages of devices -------------------------------------------------------------------------
# page_total N: the page's total (the last key of its object; a device's "total" is its download's).
page_total() {
    grep -qE "\"next\":(null|\"[^\"]*\"),\"total\":$1}\$" "$W/body" ||
        { cat "$W/body" >&2; fail "the page's total is not $1"; }
}
after=""
seen=""
for page in 1 2 3 4; do
    admin GET "/api/admin/devices?limit=5${after:+&after=$after}"
    expect 200 "page $page"
    page_total 12
    seen="$seen $(grep -oE '"id":"[^"]*"' "$W/body" | cut -d'"' -f4 | tr '\n' ' ')"
    after=$(grep -oE '"next":"[^"]*"' "$W/body" | cut -d'"' -f4 || true)
    [ -n "$after" ] || break
done
[ "$page" = 3 ] || fail "12 devices in pages of 5 took $page pages"
body_has '"next":null'
want="a-01 a-02 a-03 a-04 a-05 a-06 a-07 a-08 b-01 b-02 b-03 b-04"
[ "$(echo $seen)" = "$want" ] || fail "pages gave '$(echo $seen)', wanted '$want'"
page_ids() { grep -oE '"id":"[^"]*"' "$W/body" | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//'; }
filter() { # filter QUERY TOTAL IDS
    admin GET "/api/admin/devices?$1"
    expect 200 "devices?$1"
    page_total "$2"
    [ "$(page_ids)" = "$3" ] || fail "devices?$1 gave '$(page_ids)', wanted '$3'"
}
filter "q=A-0" 8 "a-01 a-02 a-03 a-04 a-05 a-06 a-07 a-08"
filter "q=-0&limit=2" 12 "a-01 a-02"
filter "product=prod-b" 4 "b-01 b-02 b-03 b-04"
filter "version=1.1.0" 3 "a-01 a-02 a-03"
filter "state=error" 2 "a-04 a-05"
filter "errors=1" 3 "a-04 a-05 b-01"
filter "errors=0&product=prod-b&limit=1" 4 "b-01"
filter "tag=eu&limit=10" 2 "a-01 b-01"
filter "tag=eu&errors=1" 1 "b-01"
filter "state=verifying" 0 ""
for bad in "limit=0" "limit=1001" "limit=x" "after=bad%20id" "q=a%20b" "state=Error" \
    "errors=2" "tag=bad%20tag&limit=5" "version=%01"; do
    admin GET "/api/admin/devices?$bad"
    error_is 400 bad_request "devices?$bad"
done
# Without the paging parameters: every device, as before.
admin GET /api/admin/devices
expect 200 "devices"
grep -qF '"next"' "$W/body" && fail "the unpaged list became paged"
[ "$(grep -o '"id":' "$W/body" | wc -l)" = 12 ] || fail "the unpaged list lost devices"
admin GET "/api/admin/devices?tag=eu"
grep -qF '"next"' "$W/body" && fail "the tag list became paged"
# A report's error name.
admin GET /api/admin/devices/a-04
body_has '"error":905,"error_name":"FOTA_ERR_SECURITY_VERSION"'

# ---- whoami -----------------------------------------------------------------------------------
admin GET /api/admin/whoami
expect 200 "whoami"
body_has '"role":"admin"'
raw GET /api/admin/whoami
error_is 401 unauthorized "whoami without a token"
raw GET /api/admin/whoami -H "Authorization: Bearer wrong"
error_is 403 forbidden "whoami with a wrong token"
}

fotad_start
fleet_and_numbers

# ---- the console's files ----------------------------------------------------------------------
curl -s -D "$W/h" -o "$W/page" "$URL/" || fail "GET /"
grep -q '^HTTP/1.1 200' "$W/h" || fail "GET / did not answer 200"
grep -qi '^Content-Type: text/html; charset=utf-8' "$W/h" || fail "the page's type"
grep -qi "^Content-Security-Policy: default-src 'none'; script-src 'self'" "$W/h" ||
    fail "the page's Content-Security-Policy"
grep -qi '^Cache-Control: no-cache' "$W/h" || fail "the page's Cache-Control"
grep -q '<script src="/console/app.js"' "$W/page" || fail "the page names its script"
grep -q '<script src="/console/admin.js"' "$W/page" || fail "the page names its admin views' script"
grep -qE '<script>|style=' "$W/page" && fail "an inline script or style in the page"
etag=$(grep -i '^ETag:' "$W/h" | cut -d' ' -f2 | tr -d '\r')
[ -n "$etag" ] || fail "no ETag"
raw GET / -H "If-None-Match: $etag"
expect 304 "the page again with its ETag"
raw GET / -H 'If-None-Match: "0000000000000000"'
expect 200 "the page with another ETag"
for f in app.js:text/javascript admin.js:text/javascript style.css:text/css uPlot.min.js:text/javascript \
    uPlot.min.css:text/css favicon.svg:image/svg+xml; do
    curl -s -D "$W/h" -o /dev/null "$URL/console/${f%%:*}" || fail "GET ${f%%:*}"
    grep -qi "^Content-Type: ${f#*:}" "$W/h" || fail "${f%%:*}: its type"
    grep -qi '^Content-Security-Policy' "$W/h" && fail "${f%%:*}: a page's CSP on a file"
done
curl -s -o "$W/lib.js" "$URL/console/uPlot.min.js" || fail "GET uPlot.min.js"
grep -q 'uPlot' "$W/lib.js" || fail "the chart library is not uPlot"
raw GET /console/nothing.js
error_is 404 not_found "an unknown console file"
raw GET /console/../api/admin/whoami
[ "$STATUS" != 200 ] || fail "a path out of /console/"
raw POST /
error_is 405 method_not_allowed "POST /"
fotad_stop

# ---- the same on PostgreSQL -------------------------------------------------------------------
pg_cluster_start || fail "the PostgreSQL server did not start"
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$PG_URI" -c "CREATE DATABASE fotad" || fail "createdb"
rm -rf "$W/data"
fotad_start --database "$(pg_uri fotad)"
grep -q "store: PostgreSQL database fotad" "$W/fotad.log" || fail "not on PostgreSQL"
fleet_and_numbers
fotad_stop
pass
