#!/usr/bin/env bash
# test_console_browser.sh - the operator console (server/console, docs/CONSOLE.md) in Debian's
# chromium, headless, driven by tests/browser/console.test.mjs (puppeteer-core, installed into
# the build by scripts/console-deps; no browser is downloaded), against a real fotad with a fleet
# made by fota-sim (tests/browser/fleet.sh: devices updated, rolled back, in error, a rollout
# paused by its threshold). The numbers of every view are compared with the admin API's, pause
# and resume from the page with the rollout's state in the API, the filters and pages with the
# API's; no console error or failed request is allowed. Screenshots of every view are written to
# the test's folder, or to $FOTA_CONSOLE_SCREENSHOTS (docs/img for the README).
# Run by ctest as: bash test_console_browser.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
fail() {
    echo "FAIL: $*" >&2
    [ -f "$W/fleet/fotad.log" ] && tail -n 20 "$W/fleet/fotad.log" >&2
    exit 1
}
for tool in fotad fotactl fota-sim fota-image; do
    [ -x "$BUILD/$tool" ] || { echo "FAIL: $BUILD/$tool not built" >&2; exit 1; }
done
CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || { echo "FAIL: chromium is missing (scripts/install-deps)" >&2; exit 1; }
command -v node >/dev/null || { echo "FAIL: node is missing (scripts/install-deps)" >&2; exit 1; }
DRIVER="$BUILD/browser-npm"
[ -d "$DRIVER/node_modules/puppeteer-core" ] ||
    { echo "FAIL: $DRIVER has no puppeteer-core (the build's console_browser_driver)" >&2; exit 1; }
mkdir -p "$BUILD/tmp"
W=$(mktemp -d "$BUILD/tmp/console-browser.XXXXXX")
OK=0
cleanup() {
    if [ -f "$W/fleet/fotad.pid" ]; then
        kill "$(cat "$W/fleet/fotad.pid")" 2>/dev/null || true
    fi
    if [ "$OK" = 1 ] && [ -z "${KEEP:-}" ]; then rm -rf "$W"; else echo "(test files kept in $W)" >&2; fi
}
trap cleanup EXIT

bash "$SRC/tests/browser/fleet.sh" "$BUILD" "$W/fleet" 8 >"$W/fleet.out" 2>&1 ||
    { cat "$W/fleet.out" >&2; fail "the fleet did not come up"; }
SHOTS=${FOTA_CONSOLE_SCREENSHOTS:-$W/screens}
mkdir -p "$SHOTS" "$W/profile"
FOTA_URL=$(cat "$W/fleet/url") FOTA_TOKEN=$(cat "$W/fleet/admin.token") CHROMIUM="$CHROMIUM" \
    SCREENSHOTS="$SHOTS" PROFILE_DIR="$W/profile" DRIVER_DIR="$DRIVER" \
    node "$SRC/tests/browser/console.test.mjs" || fail "the console's browser test"
# fotad stops cleanly (a sanitizer build reports leaks at its exit), and reported nothing.
pid=$(cat "$W/fleet/fotad.pid")
kill -TERM "$pid"
for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "fotad did not stop on SIGTERM"
if grep -qE 'Sanitizer|runtime error:' "$W/fleet/fotad.log"; then
    cat "$W/fleet/fotad.log" >&2
    fail "sanitizer report in fotad.log"
fi
OK=1
echo "PASS: console_browser (screenshots in $SHOTS)"
