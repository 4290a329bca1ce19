#!/usr/bin/env bash
# test_fotad_crash.sh - an acknowledged write survives kill -9 (docs/SERVER.md, durability):
# devices send reports (several at once, so the writer lock and the thread pool are exercised),
# fotad is killed with SIGKILL right after the last 204, restarted on the same data directory,
# and the admin API must show every report; the releases, their objects and assignments are
# still served after the restart (the release cache is rebuilt from the database).
# Run by ctest as: bash test_fotad_crash.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotad-crash

D=/api/inverter/fota
N=12 # reports per device
make_keys
make_image 2.0.0 "$W/v2.bin" 8K
R2=$(make_bundle "$W/v2.bin" inv-5k 2.0.0 "$W/v2.bundle")
fotad_start

admin POST /api/admin/releases --data-binary @"$W/v2.bundle"
expect 201 "upload"
admin POST /api/admin/assignments -d "{\"release\":\"$R2\",\"product\":\"inv-5k\"}"
expect 201 "assign"

# send_reports DEVICE: N reports in order, each acknowledged with 204.
send_reports() {
    local i out="$W/out.$1"
    for i in $(seq 1 "$N"); do
        "$BUILD/fota-devreq" --url "$URL" --device "$1" --master "$W/master" --method POST \
            --target "$D/report" --body "{\"state\":\"downloading\",\"release\":\"$R2\",\"done\":$i,\"total\":8}" \
            >"$out" 2>&1 || { cat "$out" >&2; return 1; }
        [ "$(head -n 1 "$out")" = 204 ] || { cat "$out" >&2; return 1; }
    done
}
pids=""
for d in dev-a dev-b dev-c; do
    send_reports "$d" &
    pids="$pids $!"
done
for p in $pids; do
    wait "$p" || fail "a report was not acknowledged"
done
# The last one, and the kill right after its 204.
dev dev-d "$D/report" --method POST --body '{"state":"installed","done":8,"total":8}'
expect 204 "last report"
exec 3>&2 2>/dev/null # bash would report the killed job on stderr
kill -KILL "$FOTAD_PID"
wait "$FOTAD_PID" || true
exec 2>&3 3>&-
FOTAD_PID=""
check_sanitizer "$W/fotad.log"

fotad_start
for d in dev-a dev-b dev-c; do
    admin GET "/api/admin/devices/$d"
    expect 200 "$d after the restart"
    [ "$(grep -o '"time":' "$W/body" | wc -l)" -eq "$N" ] || fail "$d: reports lost: $(cat "$W/body")"
    body_has "\"done\":$N"
done
admin GET /api/admin/devices/dev-d
expect 200 "dev-d after the restart"
body_has '"state":"installed"'
admin GET /api/admin/assignments
body_has "\"release\":\"$R2\""
dev dev-e "$D/check?version=1.0.0&hw=inv-5k"
expect 200 "offer after the restart"
dev dev-e "$D/chunk?chunk_number=7" --check-chunk "$W/v2.bin"
body_has "chunk 7 ok"
dev dev-e "$D/blob/$R2" --out "$W/blob"
cmp -s "$W/blob" <(tail -c +257 "$W/v2.bundle") || fail "blob after the restart"

fotad_stop
pass
