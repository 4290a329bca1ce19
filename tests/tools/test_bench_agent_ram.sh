#!/bin/bash
# bench/agent_ram.sh still runs and prints numbers for every row (not a timed test: the
# figures themselves are reported in docs/BENCHMARKS.md, not asserted here).
set -euo pipefail
build="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
out=$(bash "$root/bench/agent_ram.sh" "$build")
echo "$out"
for row in "state struct (B)" "worst stack, core (B)" "RAM, core total (B)" "code, total for one mode (B)"; do
    line=$(echo "$out" | grep -F "$row")
    echo "$line" | grep -Eq "^.{30} +[0-9]+ +[0-9]+ " || { echo "no figures in row: $row"; exit 1; }
done
# The struct must be smaller in a chain-only build than with the seed JSON buffer.
seed=$(echo "$out" | grep -F "state struct (B)" | awk '{ print $(NF-2) }')
chain=$(echo "$out" | grep -F "state struct (B)" | awk '{ print $(NF-1) }')
[ "$chain" -lt "$seed" ] || { echo "chain-only struct ($chain) not smaller than seed ($seed)"; exit 1; }
