#!/bin/bash
# bench/agent_ram.sh still runs and prints numbers for every row (not a timed test: the
# figures themselves are reported in docs/BENCHMARKS.md, not asserted here): the Cortex-M4 table,
# and the ESP-IDF component's Xtensa table when ../shared/third_party/esp-idf is beside the
# repository (else the line saying it was skipped).
set -euo pipefail
build="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
out=$(bash "$root/bench/agent_ram.sh" "$build")
echo "$out"
for row in "state struct (B)" "worst stack, core (B)" "RAM, core total (B)" "code, total for one mode (B)"; do
    line=$(echo "$out" | grep -F "$row")
    echo "$line" | grep -Eq "^.{30} +[0-9]+ +[0-9]+ " || { echo "no figures in row: $row"; exit 1; }
done
for row in "linked, both modes" "linked, seed-only build" "linked, chain-only build"; do
    echo "$out" | grep -F "$row" | grep -Eq "^.{30} +[0-9]+ " || { echo "no figures in row: $row"; exit 1; }
done
# A one-mode build is smaller than both modes.
both=$(echo "$out" | grep -F "linked, both modes" | awk '{ print $(NF-2) }')
for row in "linked, seed-only build" "linked, chain-only build"; do
    one=$(echo "$out" | grep -F "$row" | awk '{ print $(NF-2) }')
    [ "$one" -lt "$both" ] || { echo "$row ($one) not smaller than both modes ($both)"; exit 1; }
done
# The link-time optimized builds: each a figure, smaller than the plain link of the same build
# and more than half of it (a link that dropped the agent would be tiny).
for build_name in "both modes" "seed-only build" "chain-only build"; do
    plain=$(echo "$out" | grep -F "linked, $build_name" | awk '{ print $(NF-2) }')
    lto=$(echo "$out" | grep -F -- "-flto, $build_name" | awk '{ print $(NF-2) }')
    [[ "$lto" =~ ^[0-9]+$ ]] || { echo "no figure in row: -flto, $build_name"; exit 1; }
    [ "$lto" -le "$plain" ] && [ $((2 * lto)) -gt "$plain" ] ||
        { echo "-flto, $build_name: $lto B against $plain B linked plainly"; exit 1; }
done
# Delta updates add under 8 KB of state and under 8 KB of linked code.
for row in "delta: state struct" "delta: code linked"; do
    added=$(echo "$out" | grep -F "$row" | awk '{ print $(NF-2) }')
    [[ "$added" =~ ^[0-9]+$ ]] || { echo "no figure in row: $row"; exit 1; }
    [ "$added" -lt 8192 ] || { echo "$row: $added B, not under 8 KB"; exit 1; }
done
# The struct must be smaller in a chain-only build than with the seed JSON buffer.
seed=$(echo "$out" | grep -F "state struct (B)" | awk '{ print $(NF-2) }')
chain=$(echo "$out" | grep -F "state struct (B)" | awk '{ print $(NF-1) }')
[ "$chain" -lt "$seed" ] || { echo "chain-only struct ($chain) not smaller than seed ($seed)"; exit 1; }

if [ ! -d "$root/../shared/third_party/esp-idf" ]; then
    echo "$out" | grep -qx "ESP-IDF component rows skipped: .*" || { echo "no skip line"; exit 1; }
    exit 0
fi
for row in "code, agent core (B)" "code, ESP-IDF port (B)" "code, agent + port (B)" \
    "static RAM, .data+.bss (B)" "handle, struct fota_esp (B)" "worst stack, agent task (B)" \
    "worst stack, public API (B)" "HTTP receive buffer (B)" "HTTP transmit buffer (B)" \
    "HTTP buffers, total (B)" "RAM besides TLS buffers (B)" "TLS receive buffer (B)" \
    "Arduino: FotaClient code (B)" "Arduino: linked, names on (B)" "Arduino: a FotaClient (B)" \
    "  linked, without delta (B)" "  without delta (B)"; do
    echo "$out" | grep -F "$row" | grep -Eq "^.{30} +[0-9]+ " || { echo "no figures in row: $row"; exit 1; }
done
