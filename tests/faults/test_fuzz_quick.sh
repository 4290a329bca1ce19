#!/bin/bash
# test_fuzz_quick.sh BUILD_DIR - a short fuzzing pass over every libFuzzer target in fuzz/, run by
# ctest: build the targets (fuzz/build.sh, clang with ASan + UBSan + libFuzzer) into
# BUILD_DIR/fuzz, make fresh seed corpora with our own tools (fuzz/seeds.sh), replay every
# checked-in reproducer under fuzz/crashes/<target>/ (fixed bugs stay fixed), then fuzz each target
# for a share of a ~10 s budget, two at a time. Fails if anything crashes, leaks, times out or
# breaks a property, and if clang's fuzzer runtime is missing (scripts/install-deps installs it:
# clang, libclang-rt-14-dev). Long runs: fuzz/run.sh (docs/FUZZING.md).
set -euo pipefail

BUILD=${1:?usage: test_fuzz_quick.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$BUILD/fuzz
BUDGET=${FUZZ_QUICK_BUDGET:-10}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

if ! command -v clang >/dev/null 2>&1; then
    fail "clang is not installed: the fuzz targets need clang and its libFuzzer runtime (Debian: clang libclang-rt-14-dev; run scripts/install-deps)"
fi
"$ROOT/fuzz/build.sh" "$OUT" >"$BUILD/fuzz-build.log" 2>&1 || {
    cat "$BUILD/fuzz-build.log" >&2
    fail "the fuzz targets do not build (is libclang-rt-14-dev installed? scripts/install-deps installs it)"
}

CORPUS=$OUT/corpus-quick
CRASHES=$OUT/crashes-quick
rm -rf "$CORPUS" "$CRASHES"
"$ROOT/fuzz/seeds.sh" "$OUT" "$BUILD" "$CORPUS" || fail "making the seed corpora failed (see above)"
TARGETS=$(for e in "$OUT"/fuzz_*; do echo "${e##*/fuzz_}"; done)
COUNT=$(echo "$TARGETS" | wc -w)
# Two at a time, so the budget is wall time; libFuzzer counts whole seconds, at least one each.
EACH=$((BUDGET * 2 / COUNT))
[ "$EACH" -ge 1 ] || EACH=1
mkdir -p "$CRASHES" "$OUT/logs"

# Reproducers of bugs found before: each must now run clean.
replay() {
    local t=$1 files
    [ -d "$ROOT/fuzz/crashes/$t" ] || return 0
    files=$(find "$ROOT/fuzz/crashes/$t" -type f | sort)
    [ -z "$files" ] && return 0
    # shellcheck disable=SC2086
    "$OUT/fuzz_$t" -runs=1 $files >"$OUT/logs/replay-$t.log" 2>&1 || {
        tail -40 "$OUT/logs/replay-$t.log" >&2
        fail "fuzz_$t: a checked-in reproducer in fuzz/crashes/$t/ still fails"
    }
}

for t in $TARGETS; do
    replay "$t"
done

quick() { # TARGET
    local t=$1 log=$OUT/logs/quick-$1.log
    mkdir -p "$CRASHES/$t"
    "$OUT/fuzz_$t" "$CORPUS/$t" -max_total_time="$EACH" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$CRASHES/$t/" -print_final_stats=1 >"$log" 2>&1 && return 0
    tail -60 "$log" >&2
    echo "FAIL: fuzz_$t crashed; reproducer in $CRASHES/$t/" >&2
    return 1
}
export -f quick
export OUT CORPUS CRASHES EACH

echo "$TARGETS" | tr ' ' '\n' | grep . | xargs -P 2 -I{} bash -c 'quick {}' ||
    fail "a fuzz target crashed (see above)"
for t in $TARGETS; do
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/logs/quick-$t.log")
    echo "fuzz_$t: ${runs:-0} inputs, no crash"
done
echo "$COUNT passed, 0 failed"
