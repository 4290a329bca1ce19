#!/bin/bash
# The agent's RAM and code size on a Cortex-M4 (arm-none-eabi-gcc -Os), side by side with the
# seed design's own statement (~3 KB per chunk + an 8 KB JSON document + a ~1.4 KB HTTP buffer).
#
#   state struct   sizeof(fota_agent_t) as the Cortex-M4 compiler lays it out
#   worst stack    deepest path through the core's call graph (-fstack-usage + -fcallgraph-info),
#                  from any public entry point; calls into mbedTLS and through port pointers are
#                  not in the graph and are listed separately
#   mbedTLS heap   peak heap mbedTLS takes on the agent's behalf during a whole 1 MB update
#                  (bench_agent_heap, host build, Debian's mbedTLS configuration)
#   code           .text+.rodata of the core objects: shared, seed-only and chain-only parts
#
# Usage: bench/agent_ram.sh [BUILD_DIR]   (BUILD_DIR has bench_agent_heap; default build/)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

FOTA_ARM_CFLAGS="-fcallgraph-info=su" bash "$root/scripts/build-arm" "$work/arm" >/dev/null
cd "$work/arm/obj"
mv "$work"/arm/obj/*.ci "$work"/arm/obj/*.su . 2>/dev/null || true
find "$work" "$root" -maxdepth 1 -name '*.ci' -newer "$work" -exec mv {} . \; 2>/dev/null || true
find "$work" "$root" -maxdepth 1 -name '*.su' -newer "$work" -exec mv {} . \; 2>/dev/null || true

# sizeof(fota_agent_t) for the default configuration (both modes) and for a chain-only build,
# whose one I/O buffer only has to hold a record (1 KB chunk + 32-byte hash), not a JSON chunk.
probe() {
    printf '#include "fota/agent.h"\nchar fota_agent_size_probe[sizeof(fota_agent_t)];\n' >"$work/probe.c"
    arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -std=c99 -I"$root/agent/include" \
        -I"$work/arm/include" "$@" -c "$work/probe.c" -o "$work/probe.o"
    local hex
    hex=$(arm-none-eabi-nm -S "$work/probe.o" | awk '/fota_agent_size_probe/ { print $2 }')
    echo $((16#$hex))
}
size_both=$(probe)
size_chain=$(probe -DFOTA_CONFIG_IO_BUF=1056)

# Worst stack: longest path in the call graph, weights from the .ci node labels.
stack_report=$(cat *.ci | awk '
    /^node:/ {
        match($0, /title: "[^"]*"/); name = substr($0, RSTART + 8, RLENGTH - 9)
        if (match($0, /\\n[0-9]+ bytes/)) { n = substr($0, RSTART + 2, RLENGTH - 8); su[name] = n + 0; known[name] = 1 }
        else if (!(name in known)) ext[name] = 1
    }
    /^edge:/ {
        match($0, /sourcename: "[^"]*"/); s = substr($0, RSTART + 13, RLENGTH - 14)
        match($0, /targetname: "[^"]*"/); t = substr($0, RSTART + 13, RLENGTH - 14)
        key = s SUBSEP t
        if (!(key in seen)) { seen[key] = 1; nout[s]++; out[s, nout[s]] = t }
    }
    function depth(f,    i, d, best, c) {
        if (f in memo) return memo[f]
        if (f in busy) return 0
        busy[f] = 1; best = 0
        for (i = 1; i <= nout[f]; i++) { d = depth(out[f, i]); if (d > best) { best = d; c = out[f, i] } }
        delete busy[f]
        memo[f] = su[f] + best; next_of[f] = c
        return memo[f]
    }
    END {
        split("fota_agent_init fota_agent_poll fota_agent_response_begin fota_agent_feed fota_agent_response_end fota_agent_confirm", entries, " ")
        worst = 0
        for (i in entries) { e = entries[i]; d = depth(e); if (d > worst) { worst = d; we = e } }
        path = we; f = we
        while ((f in next_of) && next_of[f] != "") { f = next_of[f]; path = path " > " f }
        gsub(/[^ >]*\/[^ >]*:/, "", path); printf "%d\t%s\n", worst, path
        for (e in ext) if (e ~ /^mbedtls_/) m = m " " e
        printf "%s\n", m
    }')
worst_stack=$(echo "$stack_report" | head -1 | cut -f1)
worst_path=$(echo "$stack_report" | head -1 | cut -f2)
mbed_calls=$(echo "$stack_report" | sed -n 2p)

# Code size per part (text + data of the objects; nothing is in .data/.bss: no global state).
obj_size() { arm-none-eabi-size "$@" | awk 'NR > 1 { t += $1 + $2; b += $3 } END { print t + 0, b + 0 }'; }
read -r all bss <<<"$(obj_size ./*.o)"
read -r seed_only _ <<<"$(obj_size seed.o json.o offer.o)"
read -r chain_only _ <<<"$(obj_size records.o chain.o)"
read -r names _ <<<"$(obj_size err.o)"
shared=$((all - seed_only - chain_only))

heap_table=""
if [ -x "$build/bench_agent_heap" ]; then
    heap_table=$("$build/bench_agent_heap")
fi
heap_of() { echo "$heap_table" | awk -v m="$1" '$1 == m { print $3 }'; }
heap_seed=$(heap_of seed); heap_chain=$(heap_of chain)
heap_seed=${heap_seed:-n/a}; heap_chain=${heap_chain:-n/a}

seed_stmt=$((3 * 1024 + 8 * 1024 + 1434))
echo "agent RAM and code size, Cortex-M4 (arm-none-eabi-gcc -Os), 1 KB chunks, $(date -u +%F)"
printf '%-30s %10s %10s %12s\n' "figure" "seed mode" "chain mode" "seed design"
printf '%-30s %10s %10s %12s\n' "state struct (B)" "$size_both" "$size_chain" "-"
printf '%-30s %10s %10s %12s\n' "worst stack, core (B)" "$worst_stack" "$worst_stack" "-"
printf '%-30s %10s %10s %12s\n' "RAM, core total (B)" "$((size_both + worst_stack))" \
    "$((size_chain + worst_stack))" "$seed_stmt"
printf '%-30s %10s %10s %12s\n' "  ratio to the seed design" \
    "$(awk -v a=$((size_both + worst_stack)) -v b=$seed_stmt 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a=$((size_chain + worst_stack)) -v b=$seed_stmt 'BEGIN { printf "%.2f", a / b }')" "1.00"
printf '%-30s %10s %10s %12s\n' "mbedTLS heap peak (B, host)" "$heap_seed" "$heap_chain" "-"
printf '%-30s %10s %10s %12s\n' "code, shared part (B)" "$shared" "$shared" "-"
printf '%-30s %10s %10s %12s\n' "code, mode-specific (B)" "$seed_only" "$chain_only" "-"
printf '%-30s %10s %10s %12s\n' "code, total for one mode (B)" "$((shared + seed_only))" \
    "$((shared + chain_only))" "-"
echo
echo "worst stack path: $worst_path"
echo "not in the stack figure (library code and port callbacks): mbedTLS:$mbed_calls"
echo "of the shared code, $names B are the error-name table (fota_err_name); .bss/.data: $bss B"
