#!/usr/bin/env bash
# test_demo.sh - the main job (scripts/demo, what `make demo` runs) in a short form: 20 devices
# and 128 KB images instead of 200 and 1 MB, every fault on. Asserts the summaries: every device
# updated to 1.1.0 through the power cuts, drops, flips and fotad restart, and rolled back from
# the failing release; nothing bricked, no foreign image, power cuts really happened; and that
# the demo left no process behind and named its folder.
# Run by ctest as: bash test_demo.sh BUILD_DIR
set -euo pipefail
B=$(cd "$1" && pwd)
root="$(cd "$(dirname "$0")/../.." && pwd)"
mkdir -p "$B/tmp"
W=$(mktemp -d "$B/tmp/demo.XXXXXX")
fail() { echo "FAIL: $*" >&2; echo "(kept $W)" >&2; exit 1; }

FOTA_BIN="$B" FOTA_DEMO_DIR="$W/demo" FOTA_DEMO_DEVICES=20 FOTA_DEMO_IMAGE_SIZE=128K \
    bash "$root/scripts/demo" >"$W/out" 2>&1 || { cat "$W/out"; fail "the demo failed"; }
grep -q "^demo folder: $W/demo" "$W/out" || fail "the demo did not name its folder"

num() { grep -oE "\"$2\":[0-9.]+" "$W/demo/$1" | cut -d: -f2; }
[ "$(num update.json updated)" = 20 ] || fail "updated: $(num update.json updated)"
[ "$(num rollback.json rolled_back)" = 20 ] || fail "rolled back: $(num rollback.json rolled_back)"
for f in update.json rollback.json; do
    [ "$(num $f bricked)" = 0 ] && [ "$(num $f foreign)" = 0 ] && [ "$(num $f failed)" = 0 ] ||
        fail "$f: bricked, foreign or failed devices"
    grep -q '"ok":true' "$W/demo/$f" || fail "$f not ok"
done
[ "$(num update.json power_cuts)" -gt 0 ] || fail "no power cut happened"
[ "$(num update.json server_restarts)" = 1 ] || fail "fotad was not restarted"
grep -q '"new_versions":\["1.1.0"\]' "$W/demo/update.json" || fail "another version installed"
if pgrep -f "$W/demo/data" >/dev/null; then
    pkill -KILL -f "$W/demo/data" || true
    fail "the demo left fotad running"
fi
rm -rf "$W"
echo "PASS: demo"
