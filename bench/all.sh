#!/bin/bash
# all.sh - every benchmark in bench/, one after the other (what `make bench` runs): each prints
# its table and, in full mode, writes it into docs/BENCHMARKS.md with the machine, the date and
# its command. The CPU-count and size benchmarks come first, the timing ones last; run them on
# an otherwise idle machine (each timing benchmark reports how busy the machine was).
#
# Usage: bench/all.sh [--quick] [--no-doc] [BUILD_DIR]
source "$(dirname "$0")/lib.sh" agent_ram "$@"
bench_need bench_agent_heap

# The agent's RAM and code size (bench/agent_ram.sh predates lib.sh: it takes the build dir
# only and prints its table; its section of the docs is written from here).
bash "$BENCH_ROOT/bench/agent_ram.sh" "$BUILD" >"$W/raw" || bench_fail "agent_ram.sh failed"
fold -s -w 100 "$W/raw" | sed 's/ *$//' >"$W/table"
echo "arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpfullversion 2>/dev/null || echo '?')" >>"$W/table"
BENCH_COMMAND="bench/agent_ram.sh BUILD_DIR"
bench_report "Agent RAM and code size (Cortex-M4)" "$W/table"

opts=()
[ "$QUICK" = 1 ] && opts+=(--quick)
[ "$WRITE_DOC" = 0 ] && opts+=(--no-doc)
failed=""
for b in wire cpu_per_byte install_ram targets delta download_time server_rps metrics cluster fleet rollouts; do
    echo
    echo "=== bench/$b.sh"
    bash "$BENCH_ROOT/bench/$b.sh" "${opts[@]+"${opts[@]}"}" "$BUILD" || failed="$failed $b"
done
[ -z "$failed" ] || bench_fail "failed:$failed"
