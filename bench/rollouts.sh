#!/bin/bash
# rollouts.sh - what staged rollouts (docs/ROLLOUTS.md) are worth, measured:
#
# 1. How far a release that fails on every device gets before its rollout halts itself, for
#    fleets of 1,000 and 10,000 emulated ESP32s (fota-sim: the real agent, --fail-rate 100%, 64
#    transfers at a time). The fleet checks in once (fotad learns its devices), a rollout in
#    stages of 10 devices, 5 %, 25 % and 100 % with at most 3 failures a stage starts, and the
#    fleet runs against it; devices offered nothing keep checking for 20 s after the start
#    (fota-sim --linger), so that a later stage opening by mistake would reach them.
#      columns: devices; canary = the first stage's size; received = devices whose self-test
#      failed at least once (they received the release: fota-sim's selftest_failure_devices);
#      state and the reason the rollout gives (fotactl rollout show); goal: received <= canary
#      (the canary plus the transfers in flight when the threshold is crossed, which are all in
#      the canary here).
# 2. The scheduler's cost per check request: signed check requests (bench_load --kind check, 64
#    connections, 64 devices) against fotad with the offer coming from a product assignment (no
#    rollout), from a rollout, and from one rollout among 50 active ones (49 on other products);
#    requests per second and latency side by side, one fotad per row.
#
# Usage: bench/rollouts.sh [--quick] [--no-doc] [BUILD_DIR]   (quick: 200 devices, 2 s loads)
source "$(dirname "$0")/lib.sh" rollouts "$@"
bench_quiet
bench_need fotad fota-sim fota-image fota-mkbundle fotactl bench_load

fleets="1000 10000"
seconds=5
[ "$QUICK" = 1 ] && fleets="200" && seconds=2

bench_keys
bench_image 1.0.0 64K "$W/v1.bin"
bench_image 2.0.0 64K "$W/v2.bin"

json_num() { # FILE KEY
    grep -oE "\"$2\":[0-9.]+" "$1" | head -n 1 | cut -d: -f2
}

ctl() {
    "$BUILD/fotactl" "$@" --server "http://127.0.0.1:$PORT" --token-file "$W/token"
}

# halt N: a fresh fotad; N devices check in; a rollout of a release failing everywhere.
halt() {
    local n=$1 rel id
    rm -rf "$W/data"
    bench_fotad -- --log-level warn --rollout-tick 1
    rel=$("$BUILD/fotactl" release create --image "$W/v2.bin" --key "$W/release.pem" \
        --product halt -o "$W/v2.bundle" 2>/dev/null)
    ctl release upload "$W/v2.bundle" >/dev/null
    local sim=("$BUILD/fota-sim" run --server "http://127.0.0.1:$PORT" --devices "$n"
        --concurrency 64 --product halt --image "$W/v1.bin" --release-key "$W/release.pub"
        --master-secret-file "$W/master" --check-interval 1000 --no-progress --timeout 600)
    "${sim[@]}" --expect none >"$W/checkin-$n.txt" 2>&1 || bench_fail "check-in of $n devices"
    id=$(ctl rollout create "$rel" --stages 10,5%,25%,100% --stage-max-failures 3 --start |
        sed -n 's/^rollout \([0-9]*\) created$/\1/p')
    [ -n "$id" ] || bench_fail "rollout create"
    "${sim[@]}" --expect none --linger 20000 --fail-rate 100% --fail-version 2.0.0 \
        --json "$W/halt-$n.json" >"$W/halt-$n.txt" 2>&1 || true
    [ -s "$W/halt-$n.json" ] || { cat "$W/halt-$n.txt" >&2; bench_fail "fota-sim $n"; }
    ctl rollout show "$id" >"$W/show-$n.txt"
    local got state why
    got=$(json_num "$W/halt-$n.json" selftest_failure_devices)
    state=$(awk '$1 == "state" { print $2 }' "$W/show-$n.txt")
    why=$(sed -n 's/^paused_reason *//p' "$W/show-$n.txt")
    kill -TERM "$FOTAD_PID"
    wait "$FOTAD_PID" || true
    printf '%8s %7s %9s %-8s %-26s %s\n' "$n" 10 "$got" "$state" "$why" \
        "$([ "$got" -le 10 ] && echo met || echo MISSED)"
}

# load KIND: a fresh fotad whose 64 load devices are offered a release by KIND (assignment,
# rollout, rollout50); one table row from bench_load's check requests.
load() {
    local kind=$1 rel i
    rm -rf "$W/data"
    bench_fotad -- --log-level warn
    rel=$("$BUILD/fotactl" release create --image "$W/v2.bin" --key "$W/release.pem" \
        --product load -o "$W/load.bundle" 2>/dev/null)
    ctl release upload "$W/load.bundle" >/dev/null
    # the 64 devices check in once (bench_load's device ids: load-0000 ...)
    "$BUILD/bench_load" --url "http://127.0.0.1:$PORT" --kind check --release "$rel" --chunks 1 \
        --master "$W/master" --connections 64 --seconds 0.5 --warmup 0 --hw load \
        --version 1.0.0 >/dev/null
    if [ "$kind" = assignment ]; then
        ctl assign "$rel" --product load >/dev/null
    else
        if [ "$kind" = rollout50 ]; then
            for i in $(seq 1 49); do
                local other
                other=$("$BUILD/fotactl" release create --image "$W/v2.bin" --key "$W/release.pem" \
                    --product "other-$i" -o "$W/other.bundle" 2>/dev/null)
                ctl release upload "$W/other.bundle" >/dev/null
                ctl rollout create "$other" --stages 100% --start >/dev/null
            done
        fi
        ctl rollout create "$rel" --stages 100% --start >/dev/null
    fi
    "$BUILD/bench_load" --url "http://127.0.0.1:$PORT" --kind check --release "$rel" --chunks 1 \
        --master "$W/master" --connections 64 --seconds "$seconds" --warmup 1 --hw load \
        --version 1.0.0 >"$W/load-$kind.txt"
    kill -TERM "$FOTAD_PID"
    wait "$FOTAD_PID" || true
    local rps p50 p99 non2xx
    rps=$(awk '$1 == "rps" { print $2 }' "$W/load-$kind.txt")
    p50=$(awk '$1 == "p50_ms" { print $2 }' "$W/load-$kind.txt")
    p99=$(awk '$1 == "p99_ms" { print $2 }' "$W/load-$kind.txt")
    non2xx=$(awk '$1 == "non2xx" { print $2 }' "$W/load-$kind.txt")
    printf '%-32s %10s %8s %8s %8s\n' "$2" "$rps" "$p50" "$p99" "$non2xx"
}

{
    echo "a release failing on every device, in stages 10 devices, 5 %, 25 %, 100 % (at most 3"
    echo "failures a stage)"
    printf '%8s %7s %9s %-8s %-26s %s\n' devices canary received state reason "goal: <= canary"
    for n in $fleets; do
        halt "$n"
    done
    echo
    echo "check requests, 64 connections of 64 devices, ${seconds} s"
    printf '%-32s %10s %8s %8s %8s\n' "offer from" rps p50_ms p99_ms non2xx
    load assignment "a product assignment"
    load rollout "a rollout"
    load rollout50 "a rollout among 50 active ones"
} >"$W/table"
bench_report "Staged rollouts: halting and the scheduler's cost" "$W/table"
