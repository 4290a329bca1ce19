#!/usr/bin/env bash
# test_demo.sh - the main job (scripts/demo, what `make demo` runs) in a short form: 20 devices
# and 128 KB images instead of 200 and 1 MB, every fault on, run twice: as `make demo` runs it
# (devices run the agent directly) and with FOTA_DEMO_ESP_IDF=1 (devices run the ESP-IDF
# component over the ESP-IDF API double). Asserts the summaries: every device updated to 1.1.0
# through the power cuts, drops, flips and fotad restart, then to the patch release 1.1.1 by its
# delta (every device confirmed by the delta, the delta fleet's bytes on the wire under a quarter
# of those of the same fleet downloading the full image), and rolled back from the failing
# release; nothing bricked, no foreign image, power cuts really happened; that each fleet run
# said what its devices run and really ran that; and that the demo left no process behind and
# named its folder.
# Run by ctest as: bash test_demo.sh BUILD_DIR
set -euo pipefail
B=$(cd "$1" && pwd)
root="$(cd "$(dirname "$0")/../.." && pwd)"
mkdir -p "$B/tmp"
W=$(mktemp -d "$B/tmp/demo.XXXXXX")
fail() { echo "FAIL: $*" >&2; echo "(kept $W)" >&2; exit 1; }

# demo NAME ESP_IDF KIND SAYS: run the short demo into $W/NAME and check what it left.
demo() {
    local name=$1 esp=$2 kind=$3 says=$4 d="$W/$1/demo"
    mkdir -p "$W/$name"
    FOTA_BIN="$B" FOTA_DEMO_DIR="$d" FOTA_DEMO_DEVICES=20 FOTA_DEMO_IMAGE_SIZE=128K \
        FOTA_DEMO_ESP_IDF="$esp" bash "$root/scripts/demo" >"$W/$name/out" 2>&1 ||
        { cat "$W/$name/out"; fail "$name: the demo failed"; }
    grep -q "^demo folder: $d" "$W/$name/out" || fail "$name: the demo did not name its folder"
    num() { grep -oE "\"$2\":[0-9.]+" "$d/$1" | cut -d: -f2; }
    [ "$(num update.json updated)" = 20 ] || fail "$name: updated: $(num update.json updated)"
    [ "$(num rollback.json rolled_back)" = 20 ] ||
        fail "$name: rolled back: $(num rollback.json rolled_back)"
    # The patch release: every device of the delta fleet confirmed 1.1.1 by the delta, every
    # device of the fleet on 1.0.0 by the full image; the delta moved under a quarter of the bytes.
    [ "$(num delta.json updated_by_delta)" = 20 ] ||
        fail "$name: updated by the delta: $(num delta.json updated_by_delta)"
    [ "$(num full.json updated_by_full_image)" = 20 ] && [ "$(num full.json updated_by_delta)" = 0 ] ||
        fail "$name: the fleet on 1.0.0 did not update by the full image"
    grep -q '"new_versions":\["1.1.1"\]' "$d/delta.json" || fail "$name: the delta installed another version"
    [ "$(num delta.json server_restarts)" = 1 ] || fail "$name: fotad was not restarted under the delta"
    local dw fw
    dw=$(($(num delta.json bytes_received) + $(num delta.json bytes_sent)))
    fw=$(($(num full.json bytes_received) + $(num full.json bytes_sent)))
    [ $((dw * 4)) -lt "$fw" ] || fail "$name: the delta update moved $dw bytes, the full one $fw"
    grep -qE "^   by delta $dw bytes, by the full image $fw bytes: the delta costs [0-9.]+ % of the full download$" \
        "$W/$name/out" || fail "$name: the demo did not print the delta's bytes beside the full ones"
    for f in update.json delta.json full.json rollback.json; do
        [ "$(num $f bricked)" = 0 ] && [ "$(num $f foreign)" = 0 ] && [ "$(num $f failed)" = 0 ] ||
            fail "$name: $f: bricked, foreign or failed devices"
        grep -q '"ok":true' "$d/$f" || fail "$name: $f not ok"
        grep -q "\"device_kind\":\"$kind\"" "$d/$f" || fail "$name: $f: devices did not run $kind"
    done
    # The staged rollouts: the good release reached every device through its stages; the bad
    # one stopped at the 10-device canary (no more devices received it); the one failing on a
    # few passed its threshold.
    [ "$(num staged.json updated)" = 20 ] || fail "$name: staged: $(num staged.json updated)"
    local bad
    bad=$(num halt.json selftest_failure_devices)
    [ "$bad" -ge 1 ] && [ "$bad" -le 10 ] || fail "$name: the failing release reached $bad devices"
    grep -q '^rollout 2: paused, stage 1: 3 failed >= 3$' "$W/$name/out" ||
        fail "$name: the failing rollout did not pause itself at stage 1"
    grep -q '"ok":true' "$d/few.json" || fail "$name: few.json not ok"
    grep -q '^rollout 1: finished$' "$W/$name/out" && grep -q '^rollout 3: finished$' "$W/$name/out" ||
        fail "$name: the good and the mostly good rollouts did not both finish"
    grep -q '"rollout":{"id":2,' "$d/halt.json" || fail "$name: halt.json lacks the rollout"
    [ "$(grep -c "^   devices run $says" "$W/$name/out")" = 5 ] ||
        fail "$name: the demo did not say, for its fleets, that devices run $says"
    [ "$(num update.json power_cuts)" -gt 0 ] || fail "$name: no power cut happened"
    [ "$(num update.json server_restarts)" = 1 ] || fail "$name: fotad was not restarted"
    grep -q '"new_versions":\["1.1.0"\]' "$d/update.json" || fail "$name: another version installed"
    if pgrep -f "$d/data" >/dev/null; then
        pkill -KILL -f "$d/data" || true
        fail "$name: the demo left fotad running"
    fi
}

demo agent 0 agent "the agent directly"
demo esp-idf 1 esp-idf "the ESP-IDF component"
rc=0
FOTA_BIN="$B" FOTA_DEMO_DIR="$W/bad" FOTA_DEMO_ESP_IDF=yes bash "$root/scripts/demo" \
    >"$W/bad.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "FOTA_DEMO_ESP_IDF must be 0 or 1" "$W/bad.out" ||
    fail "FOTA_DEMO_ESP_IDF=yes: exit $rc"
rm -rf "$W"
echo "PASS: demo"
