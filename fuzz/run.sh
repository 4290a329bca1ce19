#!/bin/bash
# run.sh [SECONDS] - build the fuzz targets, make their seed corpora with our own tools, run each
# target for SECONDS (default 60) and print a table: target, executions, exec/s, coverage
# (edges, features), corpus size, crashes. Exit 1 if any target crashed, leaked, timed out or
# ran out of memory.
#
#   corpus:  fuzz/corpus/<target>/  (generated, grows from run to run; not in git)
#   crashes: fuzz/crashes/<target>/ (libFuzzer's reproducer: crash-*, leak-*, timeout-*, oom-*)
#   logs:    $FUZZ_OUT/logs/<target>.log
#
# Environment: FUZZ_OUT build directory (default build-fuzz), FUZZ_JOBS targets run at once
# (default 2), FUZZ_TARGETS a subset ("chain offer"), FUZZ_TOOLS a main build with fota-image and
# fota-flash for the tool-made seeds (default build, made with `make` when missing),
# FUZZ_CORPUS / FUZZ_CRASHES other directories, FUZZ_ARGS extra libFuzzer flags.
# Replay a reproducer: $FUZZ_OUT/fuzz_<target> fuzz/crashes/<target>/crash-...
# (FOTA_FUZZ_TRACE=1 in the environment makes the agent targets say what the agent did).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER_TARGET=${1:-60}
OUT=${FUZZ_OUT:-$ROOT/build-fuzz}
JOBS=${FUZZ_JOBS:-2}
TOOLS=${FUZZ_TOOLS:-$ROOT/build}
CORPUS=${FUZZ_CORPUS:-$ROOT/fuzz/corpus}
CRASHES=${FUZZ_CRASHES:-$ROOT/fuzz/crashes}

"$ROOT/fuzz/build.sh" "$OUT"
if [ ! -x "$TOOLS/fota-image" ] || [ ! -x "$TOOLS/fota-flash" ]; then
    make -C "$ROOT" BUILD="$TOOLS" >/dev/null
fi
TARGETS=${FUZZ_TARGETS:-$(for e in "$OUT"/fuzz_*; do echo "${e##*/fuzz_}"; done)}
"$ROOT/fuzz/seeds.sh" "$OUT" "$TOOLS" "$CORPUS"
mkdir -p "$OUT/logs"

run_one() { # TARGET
    local t=$1 dict=()
    mkdir -p "$CRASHES/$t" "$CORPUS/$t"
    [ -f "$ROOT/fuzz/dict/$t.dict" ] && dict=(-dict="$ROOT/fuzz/dict/$t.dict")
    # shellcheck disable=SC2086
    "$OUT/fuzz_$t" "$CORPUS/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$CRASHES/$t/" "${dict[@]}" \
        ${FUZZ_ARGS:-} >"$OUT/logs/$t.log" 2>&1 || true
}
export -f run_one
export OUT CORPUS CRASHES SECONDS_PER_TARGET ROOT
export FUZZ_ARGS=${FUZZ_ARGS:-}

echo "fuzz/run.sh: $(echo "$TARGETS" | wc -w) targets, ${SECONDS_PER_TARGET}s each, $JOBS at a time"
echo "$TARGETS" | tr ' ' '\n' | grep . | xargs -P "$JOBS" -I{} bash -c 'run_one {}'

# One row per target from its log; a crash is a reproducer libFuzzer wrote (crash, leak, timeout,
# out of memory; a property violation aborts, so it is a crash too).
stat_of() { # LOG NAME
    sed -n "s/^stat::$2: *//p" "$1" | tail -1
}
field_of() { # LOG FIELD (cov, ft, corp)
    grep -E '^#[0-9]+' "$1" | grep -oE "$2: [0-9/a-zA-Z]+" | tail -1 | sed "s/^$2: //"
}

failed=0
printf '%-12s %12s %8s %7s %8s %12s %8s\n' target executions exec/s cov features corpus crashes
for t in $TARGETS; do
    log="$OUT/logs/$t.log"
    crashes=$(grep -c 'Test unit written to' "$log" || true)
    [ "$crashes" -gt 0 ] && failed=1
    printf '%-12s %12s %8s %7s %8s %12s %8s\n' "$t" "$(stat_of "$log" number_of_executed_units)" \
        "$(stat_of "$log" average_exec_per_sec)" "$(field_of "$log" cov)" "$(field_of "$log" ft)" \
        "$(field_of "$log" corp)" "$crashes"
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz/run.sh: crashes found; reproducers in $CRASHES/<target>/, logs in $OUT/logs/" >&2
    exit 1
fi
