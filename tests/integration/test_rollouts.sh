#!/usr/bin/env bash
# test_rollouts.sh - rollouts end to end (docs/ROLLOUTS.md, docs/ADMIN_API.md "Rollouts") against
# fotad-test (fotad with the test clock of server/main.c: the rollouts read the time from a file
# this script writes) and signed device requests: device tags; a dry run; a canary stage of 2
# devices found by their place, soak and auto advance; a repeated report counted once, also after
# fotad is SIGKILLed and restarted mid-rollout; a count threshold pausing with its reason; a device
# joining mid-rollout placed by its id; update and resume; cancel mid-stage (410 gone for a started
# member's data); a second rollout with an explicit device list, a maintenance window (204 +
# Retry-After outside it), a rate limit, download_only then install (the offer's action changes);
# a percent threshold with min_finished; the admin API's errors.
# Run by ctest as: bash test_rollouts.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" rollouts
[ -x "$BUILD/fotad-test" ] || fail "$BUILD/fotad-test not built"
FOTAD_BIN=fotad-test
export FOTAD_TEST_CLOCK_FILE="$W/clock"
DEVTGT=/api/inverter/fota
NOW=1736164800 # Monday 2025-01-06 12:00 UTC
echo "$NOW" >"$W/clock"

set_clock() {
    NOW=$1
    echo "$NOW" >"$W/clock"
}

make_keys
make_image 1.0.0 "$W/v1.bin" 8K
make_image 2.0.0 "$W/v2.bin" 8K
R2=$(make_bundle "$W/v2.bin" inv-5k 2.0.0 "$W/v2.bundle")
fotad_start --rollout-tick 1
admin POST /api/admin/releases --data-binary @"$W/v2.bundle"
expect 201 "upload"

check() { # check DEVICE [VERSION]
    dev "$1" "$DEVTGT/check?version=${2:-1.0.0}&hw=inv-5k" --show Retry-After
}
report() { # report DEVICE STATE
    dev "$1" "$DEVTGT/report" --method POST --content-type application/json \
        --body "{\"state\":\"$2\",\"release\":\"$R2\",\"version\":\"2.0.0\",\"running\":\"1.0.0\"}"
    expect 204 "report $2 of $1"
}
rollout() { # rollout ID: GET it into $W/body
    admin GET "/api/admin/rollouts/$1"
    expect 200 "rollout $1"
}
# wait_for ID TEXT: the rollout shows TEXT within 5 s (the tick runs every second).
wait_for() {
    local i
    for i in $(seq 1 50); do
        rollout "$1"
        grep -qF -- "$2" "$W/body" && return 0
        sleep 0.1
    done
    cat "$W/body" >&2
    fail "rollout $1 never showed $2"
}
# The devices sorted by their place: SHA-256("fota-cohort-v1" || id), first 8 bytes.
by_place() {
    local d
    for d in "$@"; do
        printf '%s %s\n' "$(printf 'fota-cohort-v1%s' "$d" | sha256sum | cut -c1-16)" "$d"
    done | sort | cut -d' ' -f2
}

# --- device tags ---------------------------------------------------------------------------------
DEVS="d01 d02 d03 d04 d05 d06"
for d in $DEVS; do
    check "$d"
    expect 204 "$d before any rollout"
done
admin POST /api/admin/device-tags -d '{"device_ids":["d01","d02","d03","d04","d05","d06"],"add":["eu","beta"]}'
expect 200 "tags"
admin POST /api/admin/device-tags -d '{"device_ids":["d06"],"remove":["beta"]}'
expect 200 "tag removed"
admin GET "/api/admin/devices?tag=beta"
expect 200 "devices by tag"
body_has '"id":"d05"'
grep -qF '"id":"d06"' "$W/body" && fail "d06 lost its tag beta but is listed"
admin GET /api/admin/devices/d01
body_has '"tags":["beta","eu"]'
admin POST /api/admin/device-tags -d '{"device_ids":["d01"],"add":["bad tag"]}'
error_is 400 bad_request "a tag with a space"
admin GET "/api/admin/devices?tag=a%20b"
error_is 400 bad_request "a malformed tag filter"

# --- rollout A: canary of 2, then the rest; thresholds; restart ----------------------------------
BODY_A='{"name":"spring","release":"'$R2'","tags":["beta"],
 "stages":[{"devices":2,"soak_s":600},{"percent":100,"max_failures":2}]}'
admin POST /api/admin/rollouts -d "${BODY_A%\}},\"dry_run\":true}"
expect 200 "dry run"
body_has '"stage_sizes":[2,3]'
admin GET /api/admin/rollouts
body_has '"rollouts":[]'
admin POST /api/admin/rollouts -d "$BODY_A"
expect 201 "create"
A=$(json_num id)
body_has '"state":"created"'
check d01
expect 204 "a created rollout offers nothing"
admin POST "/api/admin/rollouts/$A/start"
expect 200 "start"
body_has '"state":"running"'

read -r -a ORDER <<<"$(by_place d01 d02 d03 d04 d05 | tr '\n' ' ')"
C1=${ORDER[0]} C2=${ORDER[1]} S1=${ORDER[2]} S2=${ORDER[3]} S3=${ORDER[4]}
check "$S1"
expect 204 "stage 2 before it opens"
grep -q '^Retry-After' "$W/body" && fail "a member waiting for its stage got a Retry-After"
check d06
expect 204 "an untagged device is no member (and nothing is assigned)"
for d in "$C1" "$C2"; do
    check "$d"
    expect 200 "canary $d"
    body_has '"action":"soft"'
    body_has "\"rollout\":$A"
    body_has "\"release\":\"$R2\""
done
dev "$C1" "$DEVTGT/chunk?chunk_number=0"
expect 200 "the canary's first chunk (fotad notes downloading)"
rollout "$A"
body_has '"downloading":1'
report "$C1" installed
report "$C1" confirmed
report "$C1" confirmed # a retry after a lost answer
rollout "$A"
body_has '"succeeded":1'

# SIGKILL in the middle, restart: the state is kept, a repeated report counts nothing twice.
kill -KILL "$FOTAD_PID"
wait "$FOTAD_PID" 2>/dev/null || true
FOTAD_PID=""
fotad_start --rollout-tick 1
report "$C1" confirmed
report "$C2" confirmed
report "$C2" confirmed
rollout "$A"
body_has '"state":"running"'
body_has '"succeeded":2,"failed":0,"total":2'
body_has '"current_stage":1'
set_clock $((NOW + 599))
sleep 1.5
rollout "$A"
body_has '"current_stage":1'
set_clock $((NOW + 1))
wait_for "$A" '"current_stage":2'

# Stage 2: two failures pause it by the threshold, with the reason.
for d in "$S1" "$S2"; do
    check "$d"
    expect 200 "stage 2 member $d"
done
report "$S1" rolled_back
rollout "$A"
body_has '"state":"running"'
report "$S2" error
rollout "$A"
body_has '"state":"paused"'
body_has '"paused_reason":"stage 2: 2 failed >= 2"'
check "$S3"
expect 204 "no new start while paused"
admin GET "/api/admin/rollouts/$A/history"
expect 200 "history"
body_has '"kind":"threshold","text":"stage 2: 2 failed >= 2"'
body_has '"kind":"advanced"'

# A device that appears now joins by its place (beta-tagged, stage 2 unless below the canaries').
admin POST /api/admin/device-tags -d '{"device_ids":["d07"],"add":["beta"]}'
expect 200 "tag d07"
check d07
expect 204 "d07 joins a paused rollout"
rollout "$A"
if [ "$(by_place "$C2" d07 | head -n 1)" = d07 ]; then
    body_has '"pending":0,"started":0,"downloading":0,"downloaded":0,"installed":0,"succeeded":2,"failed":0,"total":3'
else
    body_has '"total":4'
fi

# Raise the threshold, resume: the joined device starts; cancel while S3 downloads.
admin POST "/api/admin/rollouts/$A/update" -d '{"stages":[{},{"max_failures":5}]}'
expect 200 "update"
body_has '"max_failures":5'
admin POST "/api/admin/rollouts/$A/resume"
expect 200 "resume"
body_has '"state":"running"'
check "$S3"
expect 200 "after resume"
dev "$S3" "$DEVTGT/chunk?chunk_number=0&release=$R2"
expect 200 "S3 downloads"
admin POST "/api/admin/rollouts/$A/cancel"
expect 200 "cancel"
body_has '"state":"cancelled"'
dev "$S3" "$DEVTGT/chunk?chunk_number=1&release=$R2"
error_is 410 gone "a cancelled member's data request"
dev "$S3" "$DEVTGT/blob/$R2" --range bytes=0-99
error_is 410 gone "a cancelled member's blob request"
check "$S3"
expect 204 "a cancelled rollout offers nothing"
dev d06 "$DEVTGT/chunk?chunk_number=0&release=$R2"
expect 200 "a device that never started it is not refused"
admin POST "/api/admin/rollouts/$A/resume"
error_is 409 conflict "resume a cancelled rollout"

# --- rollout B: explicit devices, window, rate limit, download_only then install --------------
for d in e01 e02 e03; do
    check "$d"
    expect 204 "$d"
done
admin POST /api/admin/rollouts -d '{"release":"'$R2'","devices":["e01","e02","e03"],
 "stages":[{"percent":100}],"action":"download_only","rate":{"per_minute":1},
 "window":{"cron":"0 2 * * *","tz":"+02:00","duration_s":3600}}'
expect 201 "create B"
B=$(json_num id)
admin POST "/api/admin/rollouts/$B/start"
expect 200 "start B"
check e01
expect 204 "outside the window"
grep -qx "Retry-After: $((1736208000 - NOW))" "$W/body" ||
    { cat "$W/body" >&2; fail "Retry-After is not the time to 00:00 UTC (02:00 at +02:00)"; }
set_clock $((1736208000 + 60)) # Tuesday 00:01 UTC = 02:01 at +02:00: open
check e01
expect 200 "inside the window"
body_has '"action":"download_only"'
check e02
expect 204 "the rate limit: one start a minute"
grep -qx "Retry-After: 60" "$W/body" || { cat "$W/body" >&2; fail "no Retry-After for the rate"; }
report e01 downloaded
rollout "$B"
body_has '"downloaded":1'
admin POST "/api/admin/rollouts/$B/install" -d '{"action":"forced"}'
expect 200 "install"
body_has '"action":"forced"'
check e01
expect 200 "the waiting member is offered again"
body_has '"action":"forced"'
admin POST "/api/admin/rollouts/$B/install"
error_is 409 conflict "install twice"
set_clock $((1736208000 + 120))
check e02
expect 200 "the next minute"
admin POST "/api/admin/rollouts/$B/update" -d '{"max_failure_percent":50,"min_finished":2}'
expect 200 "rollout-wide percent threshold"
report e02 error
rollout "$B"
body_has '"state":"running"' # 1 finished: below min_finished
report e01 confirmed
report e03 error # e03 never started: its report still counts (it fails)
rollout "$B"
body_has '"state":"paused"'
body_has '"paused_reason":"rollout: 2 of 3 finished failed (66%) >= 50%"'
body_has '"failure_percent":66.6'

# --- errors --------------------------------------------------------------------------------------
admin POST /api/admin/rollouts -d '{"release":"'$R2'","stages":[{"percent":100}]}'
expect 201 "a third rollout (created only)"
C=$(json_num id)
admin POST "/api/admin/rollouts/$C/start"
error_is 409 conflict "a second active rollout for the product"
body_has "rollout $B is already active"
admin POST /api/admin/rollouts -d '{"release":"'$R2'","stages":[{"percent":100}'
error_is 400 bad_request "malformed JSON"
admin POST /api/admin/rollouts -d '{"release":"'$R2'","stages":"all"}'
error_is 400 bad_request "stages of the wrong type"
admin POST /api/admin/rollouts -d '{"release":"'$R2'","stages":[{"percent":1e300}]}'
error_is 400 bad_request "a huge number"
admin POST /api/admin/rollouts -d '{"release":"'$R2'","stages":[{"devices":-1}]}'
error_is 400 bad_request "a negative count"
admin POST /api/admin/rollouts -d '{"release":"'$R2'","stages":[{"percent":5,"devices":2}]}'
error_is 400 bad_request "devices and percent"
admin POST /api/admin/rollouts -d '{"release":"'$R2'","stages":[{"percent":5}],"window":{"cron":"61 * * * *","duration_s":60}}'
error_is 400 bad_request "a bad cron"
admin POST /api/admin/rollouts -d '{"release":"'$R2'","stages":[{"percent":5}],"action":"now"}'
error_is 400 bad_request "an unknown action"
admin POST /api/admin/rollouts -d '{"release":"ffffffffffffffffffffffffffffffff","stages":[{"percent":5}]}'
error_is 404 not_found "an unknown release"
admin POST /api/admin/rollouts -d '{"release":"'$R2'","stages":[{"percent":5}],"product":"inv-9k"}'
error_is 422 product_mismatch "another product"
admin GET /api/admin/rollouts/999
error_is 404 not_found "an unknown rollout"
admin POST /api/admin/rollouts/abc/pause
error_is 404 not_found "a malformed rollout id"
admin POST /api/admin/rollouts/99999999999999999999999/pause
error_is 404 not_found "a huge rollout id"
admin GET "/api/admin/rollouts/$B/start"
error_is 405 method_not_allowed "GET of an action"
admin POST "/api/admin/rollouts/$B/start" -d '{"start_at":"soon"}'
error_is 400 bad_request "start_at of the wrong type"
admin POST "/api/admin/rollouts/$B/pause" -d '[1]'
error_is 400 bad_request "an action body that is not an object"
head -c 2000 /dev/zero | tr '\0' ' ' >"$W/big"
admin POST "/api/admin/rollouts/$B/pause" --data-binary @"$W/big"
error_is 413 too_large "an action body over its limit"
admin GET /api/admin/rollouts
body_has "\"id\":$A"
body_has "\"id\":$B"

fotad_stop
pass
