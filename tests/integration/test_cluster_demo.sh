#!/usr/bin/env bash
# test_cluster_demo.sh - `make cluster-demo` in a short form: scripts/cluster-demo with 300
# devices (PostgreSQL, three fotad with their own data directories, nginx in front; one fotad
# killed with SIGKILL and PostgreSQL restarted during the update). It must end with every device
# updated and confirmed in the database, none bricked, no report lost, and everything it
# started stopped.
# Run by ctest as: bash test_cluster_demo.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
out=$(bash "$ROOT/scripts/cluster-demo" "$BUILD" 300 2>&1) || {
    echo "$out"
    echo "FAIL: scripts/cluster-demo exited non-zero"
    exit 1
}
echo "$out" | grep -E "^fotad [abc]:|^devices|^cluster-demo:"
echo "$out" | grep -q "^cluster-demo: every device updated, none bricked, no report lost$" ||
    { echo "$out"; echo "FAIL: no clean end"; exit 1; }
echo "$out" | grep -q "fotad b killed (SIGKILL)" && echo "$out" | grep -q "PostgreSQL started again" ||
    { echo "$out"; echo "FAIL: the faults were not played"; exit 1; }
# The demo's processes name its directory under this build's tmp/ on their command lines (a
# demo of another checkout running beside this one is not this demo's).
demo_re="$(printf '%s' "$BUILD/tmp/" | sed 's/[][\.*^$+?(){}|]/\\&/g')cluster-demo\.[A-Za-z0-9]*/"
if pgrep -f "$demo_re" >/dev/null; then
    echo "FAIL: processes of the demo still running:"
    pgrep -af "$demo_re"
    exit 1
fi
echo "PASS: test_cluster_demo"
