#!/bin/bash
# coverage.sh [OUT] - which lines and branches of agent/src, ports/posix, emu and host the fuzz corpora reach:
# builds the targets with clang's source-based coverage instead of the sanitizers
# (FUZZ_COVERAGE=1 fuzz/build.sh OUT, default build-fuzz-cov), runs every input of
# fuzz/corpus/<target>/ once through its target, merges the profiles and prints llvm-cov's
# per-file report (all targets together). Needs llvm-profdata and llvm-cov (Debian: llvm-14).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/build-fuzz-cov}
CORPUS=${FUZZ_CORPUS:-$ROOT/fuzz/corpus}
PROFDATA=$(command -v llvm-profdata || command -v llvm-profdata-14 || true)
COV=$(command -v llvm-cov || command -v llvm-cov-14 || true)
if [ -z "$PROFDATA" ] || [ -z "$COV" ]; then
    echo "fuzz/coverage.sh: llvm-profdata and llvm-cov are needed (apt-get install llvm-14)" >&2
    exit 1
fi

FUZZ_COVERAGE=1 "$ROOT/fuzz/build.sh" "$OUT"
rm -rf "$OUT/prof"
mkdir -p "$OUT/prof"
objects=()
for exe in "$OUT"/fuzz_*; do
    t=${exe##*/fuzz_}
    [ -d "$CORPUS/$t" ] || continue
    LLVM_PROFILE_FILE="$OUT/prof/$t.profraw" "$exe" -runs=0 "$CORPUS/$t" >/dev/null 2>&1
    objects+=(-object "$exe")
done
"$PROFDATA" merge -sparse -o "$OUT/prof/all.profdata" "$OUT"/prof/*.profraw
"$COV" report -instr-profile="$OUT/prof/all.profdata" "${objects[@]:1}" \
    "$ROOT/agent/src" "$ROOT/ports/posix" "$ROOT/emu" "$ROOT/host"
