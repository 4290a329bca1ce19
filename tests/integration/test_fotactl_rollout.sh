#!/usr/bin/env bash
# test_fotactl_rollout.sh - the operator's side of rollouts: fotactl rollout create (dry run,
# stages, thresholds, window, rate, action), list, show (the per-stage table, and --watch ending
# when the rollout is final), history, start, pause, resume, install, update, cancel, and
# fotactl device tag, against a real fotad; the server's answers checked through fotactl's output
# and --json; and a download_only rollout on a real device (fota-device): downloaded and kept
# across power cycles, installed without a new download after `rollout install`. The rollout
# logic itself is test_rollouts.sh's.
# Run by ctest as: bash test_fotactl_rollout.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotactl-rollout
[ -x "$BUILD/fotactl" ] || fail "fotactl not built"
PRODUCT=inv-ctl

operator_keys
make_image 1.0.0 "$W/v1.bin" 8K
make_image 2.0.0 "$W/v2.bin" 8K
R2=$(fotactl_release "$W/v2.bin" "$W/v2.bundle")
fotad_start --rollout-tick 1
fotactl_ok release upload "$W/v2.bundle"
for i in 1 2 3 4 5 6; do
    dev "ctl-$i" "/api/inverter/fota/check?version=1.0.0&hw=$PRODUCT"
    expect 204 "check-in of ctl-$i"
done

# ctl ARGS...: fotactl against this fotad; its output in $OUT, its exit code in $RC.
ctl() {
    RC=0
    OUT=$("$BUILD/fotactl" "$@" --server "$URL" --token-file "$W/token" 2>&1) || RC=$?
}

ctl device tag ctl-1 ctl-2 --add eu,canary
[ "$RC" = 0 ] || fail "device tag: $OUT"
admin GET "/api/admin/devices?tag=canary"
body_has '"id":"ctl-1"'
body_has '"id":"ctl-2"'
ctl device tag ctl-1
[ "$RC" = 2 ] || fail "device tag without --add or --remove: exit $RC"

ctl rollout create "$R2" --stages 2,50%,100% --dry-run
[ "$RC" = 0 ] || fail "dry run: $OUT"
grep -qE "^dry run: nothing stored; devices known now per stage: 2 [0-9]+ [0-9]+$" <<<"$OUT" ||
    fail "dry run output: $OUT"
ctl rollout list
grep -q "^no rollouts$" <<<"$OUT" || fail "a dry run stored a rollout: $OUT"

# A canary of more devices than fotad knows would let the release past it untried: refused.
ctl rollout create "$R2" --stages 50,100% --start
[ "$RC" = 1 ] || fail "a 50-device stage with 6 devices known started: exit $RC ($OUT)"
grep -q "stage 1 wants 50 devices, fotad knows 6 of the target" <<<"$OUT" ||
    fail "the refusal does not say why: $OUT"
ctl rollout list
grep -qE "^ *[0-9]+ +- +$PRODUCT +$R2 +created " <<<"$OUT" || fail "the refused rollout: $OUT"
CANARY=$(awk 'NR == 2 {print $1}' <<<"$OUT")
ctl rollout cancel "$CANARY"
[ "$RC" = 0 ] || fail "cancel the refused rollout: $OUT"

ctl rollout create "$R2" --stages 2,x --dry-run
[ "$RC" = 2 ] || fail "a malformed stage list: exit $RC"
ctl rollout create "$R2" --stages 2,100% --window "0 2 * * *"
[ "$RC" = 1 ] || fail "a window without a duration: exit $RC ($OUT)"
grep -q "status 400 bad_request" <<<"$OUT" || fail "the server's refusal not shown: $OUT"

ctl rollout create "$R2" --name spring --stages 2,50%,100% --stage-max-failures 2 \
    --max-failure-percent 30 --min-finished 3 --timeout 600 --rate 30 --action download_only
[ "$RC" = 0 ] || fail "create: $OUT"
ID=$(sed -n 's/^rollout \([0-9]*\) created$/\1/p' <<<"$OUT")
[ -n "$ID" ] || fail "no rollout id in: $OUT"
ctl rollout show "$ID" --json
grep -q '"state":"created"' <<<"$OUT" || fail "show --json: $OUT"
grep -q '"name":"spring"' <<<"$OUT" || fail "name not stored: $OUT"
grep -q '"action":"download_only"' <<<"$OUT" || fail "action not stored: $OUT"
grep -q '"per_minute":30' <<<"$OUT" || fail "rate not stored: $OUT"
grep -q '"timeout_s":600' <<<"$OUT" || fail "timeout not stored: $OUT"

ctl rollout start "$ID"
[ "$RC" = 0 ] || fail "start: $OUT"
ctl rollout show "$ID"
grep -q "^state *running" <<<"$OUT" || fail "show after start: $OUT"
grep -qE "^> +2 dev +\[[.#]{20}\] +2 " <<<"$OUT" || fail "the open stage's row: $OUT"
grep -qE "^ +50% +\[" <<<"$OUT" || fail "the 50 % stage's row: $OUT"
ctl rollout list
grep -qE "^ *$ID +spring +$PRODUCT +$R2 +running " <<<"$OUT" || fail "list: $OUT"

ctl rollout pause "$ID"
[ "$RC" = 0 ] || fail "pause: $OUT"
ctl rollout show "$ID"
grep -q "^paused_reason *paused by the operator" <<<"$OUT" || fail "pause reason: $OUT"
ctl rollout pause "$ID"
[ "$RC" = 1 ] || fail "pausing a paused rollout: exit $RC"
grep -q "status 409" <<<"$OUT" || fail "409 not shown: $OUT"
ctl rollout resume "$ID"
[ "$RC" = 0 ] || fail "resume: $OUT"
ctl rollout update "$ID" --max-failures 9 --rate 60
[ "$RC" = 0 ] || fail "update: $OUT"
ctl rollout show "$ID" --json
grep -q '"max_failures":9' <<<"$OUT" || fail "update not applied: $OUT"
grep -q '"per_minute":60' <<<"$OUT" || fail "rate update not applied: $OUT"
ctl rollout install "$ID" --action soft
[ "$RC" = 0 ] || fail "install: $OUT"
ctl rollout show "$ID" --json
grep -q '"action":"soft"' <<<"$OUT" || fail "install did not change the action: $OUT"

ctl rollout cancel "$ID"
[ "$RC" = 0 ] || fail "cancel: $OUT"
# --watch returns by itself once the rollout is final (cancelled here).
OUT=$(timeout 10 "$BUILD/fotactl" rollout show "$ID" --watch --interval 1 --server "$URL" \
    --token-file "$W/token" 2>&1) || fail "show --watch did not end: $OUT"
grep -q "^state *cancelled" <<<"$OUT" || fail "watch: $OUT"
ctl rollout history "$ID"
for kind in created started paused resumed updated install cancelled; do
    grep -qE "^[0-9-]+ [0-9:]+ +$kind " <<<"$OUT" || fail "history lacks $kind: $OUT"
done
# ---- download_only on a real device (fota-device, the agent on an emulated ESP32): the image is
# downloaded, verified and kept; the device stays on 1.0.0 across power cycles (each run of
# fota-device powers it on anew); after `rollout install` it installs without downloading again.
"$BUILD/fota-flash" create "$W/do-1.flash" --image "$W/v1.bin" >/dev/null || fail "flash do-1"
dev_run() {
    RC=0
    "$BUILD/fota-device" run "$W/do-1.flash" --server "$URL" --id do-1 --master "$W/master" \
        --release-key "$W/release.pub" --product "$PRODUCT" --mode chain --timeout 60 \
        >"$W/do-1.out" 2>"$W/do-1.err" || RC=$?
    check_sanitizer "$W/do-1.err"
}
dev_run # checks in: known before the rollout starts
ctl rollout create "$R2" --devices do-1 --stages 100% --action download_only --start
[ "$RC" = 0 ] || fail "download_only rollout: $OUT"
DO=$(sed -n 's/^rollout \([0-9]*\) created$/\1/p' <<<"$OUT")
dev_run
grep -q "^state downloaded" "$W/do-1.out" || { cat "$W/do-1.out" >&2; fail "not downloaded"; }
grep -q "running 1.0.0" "$W/do-1.out" || { cat "$W/do-1.out" >&2; fail "installed too early"; }
admin GET /api/admin/devices/do-1
body_has '"state":"downloaded"'
blobs=$(grep -c 'path="/api/inverter/fota/blob/' "$W/fotad.log")
dev_run # powered on again: the image waits, nothing is fetched
grep -q "running 1.0.0" "$W/do-1.out" || fail "installed without the command"
ctl rollout install "$DO"
[ "$RC" = 0 ] || fail "install: $OUT"
dev_run
grep -q "running 2.0.0" "$W/do-1.out" || { cat "$W/do-1.out" >&2; fail "not installed after install"; }
[ "$(grep -c 'path="/api/inverter/fota/blob/' "$W/fotad.log")" = "$blobs" ] ||
    fail "the image was downloaded again after the install command"
device_seen do-1 confirmed 2.0.0

# A device's own assignment is the expert override, and fotactl shows it as such.
fotactl_ok assign "$R2" --device ctl-3
ctl assignment list
grep -qE "^RELEASE +DEVICE \(OVERRIDE\) +PRODUCT" <<<"$OUT" || fail "assignment list: $OUT"
grep -qE "^$R2 +ctl-3 +- " <<<"$OUT" || fail "assignment list row: $OUT"

ctl rollout show 999
[ "$RC" = 1 ] || fail "an unknown rollout: exit $RC"
ctl rollout show abc
[ "$RC" = 2 ] || fail "a malformed id: exit $RC"
fotad_stop
pass
