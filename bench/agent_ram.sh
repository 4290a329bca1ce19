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
#   code           .text+.rodata of the core objects: shared, seed-only and chain-only parts;
#                  what a firmware's link keeps of them, with and without link-time optimization
#   delta          what FOTA_CONFIG_DELTA adds to the state struct and to the linked code (the
#                  build with it against the build with FOTA_CONFIG_DELTA=0)
#
# A second table: the ESP-IDF component (ports/esp-idf) with the agent core, compiled against
# ESP-IDF v5.5.5's headers (../shared/third_party/esp-idf beside the repository; skipped when
# absent) for ESP32 defaults + app rollback, with xtensa-lx106-elf-gcc -Os -mlongcalls. The ESP32
# is an Xtensa LX6; lx106 is the closest compiler Debian has (call0 ABI, where the ESP32 uses
# register windows), so these figures are indicative:
#   code           .text+.rodata+.literal of the core and of the port objects (compiled with
#                  -ffunction-sections -fdata-sections as ESP-IDF does), and what a link with
#                  --gc-sections keeps of them from the public fota_esp_* calls
#   static RAM     .data+.bss of those objects, and the one handle (sizeof(struct fota_esp))
#   worst stack    as above, from the task function agent_task and from the public fota_esp_*
#                  calls; an indirect call in the port's driver counts as its deepest transport
#                  callback, one in the core as the deepest port callback (the component fills
#                  the ports); ESP-IDF (esp_http_client, nvs, mbedTLS, ...) is outside the graph
#   buffers        what the component configures (esp_http_client rx/tx, the read piece, the URL)
#                  and the TLS buffers from sdkconfig.h, beside esp_https_ota's defaults
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
size_chain=$(probe -DFOTA_CONFIG_MODE_SEED=0)
size_nodelta=$(probe -DFOTA_CONFIG_DELTA=0)

# Worst stack: longest path in the call graph, weights from the .ci node labels. Reads the .ci
# files on stdin; prints "bytes<TAB>path" for the deepest of the entry points ($1), then each
# callee outside the graph as "name<TAB>file that declares it".
stack_report() {
    awk -v entry_list="$1" '
    /^node:/ {
        match($0, /title: "[^"]*"/); name = substr($0, RSTART + 8, RLENGTH - 9)
        if (match($0, /\\n[0-9]+ bytes/)) { n = substr($0, RSTART + 2, RLENGTH - 8); su[name] = n + 0; known[name] = 1 }
        else if (!(name in known) && match($0, /\\n[^"]*:[0-9]+:[0-9]+"/)) ext[name] = substr($0, RSTART + 2, RLENGTH - 3)
        else if (!(name in known)) ext[name] = ""
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
        split(entry_list, entries, " ")
        worst = 0
        for (i in entries) { e = entries[i]; d = depth(e); if (d > worst) { worst = d; we = e } }
        path = we; f = we
        while ((f in next_of) && next_of[f] != "") { f = next_of[f]; path = path " > " f }
        gsub(/[^ >]*\/[^ >]*:/, "", path); printf "%d\t%s\n", worst, path
        for (e in ext) if (!(e in known)) printf "%s\t%s\n", e, ext[e]
    }'
}
core_entries="fota_agent_init fota_agent_poll fota_agent_response_begin fota_agent_feed
              fota_agent_response_end fota_agent_confirm"
stack_report=$(cat ./*.ci | stack_report "$core_entries")
worst_stack=$(echo "$stack_report" | head -1 | cut -f1)
worst_path=$(echo "$stack_report" | head -1 | cut -f2)
mbed_calls=$(echo "$stack_report" | awk -F '\t' 'NR > 1 && $1 ~ /^mbedtls_/ { printf " %s", $1 }')

# Code size per part (text + data of the objects; nothing is in .data/.bss: no global state).
obj_size() { arm-none-eabi-size "$@" | awk 'NR > 1 { t += $1 + $2; b += $3 } END { print t + 0, b + 0 }'; }
read -r all bss <<<"$(obj_size ./*.o)"
read -r seed_only _ <<<"$(obj_size seed.o json.o offer.o)"
read -r chain_only _ <<<"$(obj_size records.o chain.o)"
read -r names _ <<<"$(obj_size err.o)"
shared=$((all - seed_only - chain_only))

# What a firmware's link keeps (--gc-sections from every function agent.h declares), for both
# modes and the one-mode builds (FOTA_CONFIG_MODE_SEED / _CHAIN 0). The error names stay out of
# such a link unless the application calls fota_err_name (FOTA_CONFIG_ERR_NAMES 0 here as well).
api_roots=()
lto_roots=() # the same, as the compiler driver passes them to the linker
for f in $(grep -o 'fota_[a-z_]*(' "$root/agent/include/fota/agent.h" | tr -d '(' | sort -u); do
    api_roots+=(-u "$f")
    lto_roots+=("-Wl,-u,$f")
done
linked() {
    rm -rf "$work/lk"
    FOTA_ARM_CFLAGS="-DFOTA_CONFIG_ERR_NAMES=0 $*" bash "$root/scripts/build-arm" \
        "$work/lk" >/dev/null
    arm-none-eabi-ld -r --gc-sections "${api_roots[@]}" -o "$work/lk/linked.o" "$work"/lk/obj/*.o
    arm-none-eabi-size "$work/lk/linked.o" | awk 'NR == 2 { print $1 + $2 }'
}
# The same builds as a firmware built with link-time optimization links them (-flto: GCC sees the
# whole program at the link, so what only one caller uses is folded into it): a final link of the
# agent alone, its entry points the API roots, library calls left unresolved (not counted).
linked_lto() {
    rm -rf "$work/lto"
    # (nm says "no symbols" of the objects a build leaves empty: kept unless the build fails)
    FOTA_ARM_CFLAGS="-DFOTA_CONFIG_ERR_NAMES=0 -flto -ffat-lto-objects $*" \
        bash "$root/scripts/build-arm" "$work/lto" >"$work/lto.log" 2>&1 || {
        cat "$work/lto.log" >&2
        return 1
    }
    arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -Os -flto -nostdlib -Wl,-e,0 \
        -Wl,--gc-sections -Wl,--unresolved-symbols=ignore-all "${lto_roots[@]}" \
        -o "$work/lto/linked.elf" "$work"/lto/obj/*.o
    arm-none-eabi-size "$work/lto/linked.elf" | awk 'NR == 2 { print $1 + $2 }'
}
linked_both=$(linked -DFOTA_CONFIG_DELTA=0)
linked_seed=$(linked -DFOTA_CONFIG_MODE_CHAIN=0)
linked_chain=$(linked -DFOTA_CONFIG_MODE_SEED=0 -DFOTA_CONFIG_DELTA=0)
linked_delta=$(linked)
linked_chain_delta=$(linked -DFOTA_CONFIG_MODE_SEED=0)
lto_both=$(linked_lto -DFOTA_CONFIG_DELTA=0)
lto_seed=$(linked_lto -DFOTA_CONFIG_MODE_CHAIN=0)
lto_chain=$(linked_lto -DFOTA_CONFIG_MODE_SEED=0 -DFOTA_CONFIG_DELTA=0)

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
echo "code as a firmware links it (--gc-sections from agent.h's functions), error names off:"
printf '%-30s %10s %10s\n' "build" "code (B)" "goal"
printf '%-30s %10s %10s\n' "linked, both modes" "$linked_both" "<= 12288"
printf '%-30s %10s %10s\n' "linked, seed-only build" "$linked_seed" "<= 9216"
printf '%-30s %10s %10s\n' "linked, chain-only build" "$linked_chain" "<= 9216"
printf '%-30s %10s %10s\n' "with delta, both modes" "$linked_delta" "-"
printf '%-30s %10s %10s\n' "with delta, chain-only" "$linked_chain_delta" "-"
printf '%-30s %10s %10s\n' "-flto, both modes" "$lto_both" "<= 12288"
printf '%-30s %10s %10s\n' "-flto, seed-only build" "$lto_seed" "<= 9216"
printf '%-30s %10s %10s\n' "-flto, chain-only build" "$lto_chain" "<= 9216"
echo "(fota_err_name and its table are linked only when the application calls it; the rows"
echo "without delta are builds with FOTA_CONFIG_DELTA=0, the default has it with chain mode;"
echo "the -flto rows are the same three builds linked with link-time optimization)"
echo
echo "what delta updates add (FOTA_CONFIG_DELTA 1 against 0, both modes):"
printf '%-30s %10s %10s\n' "figure" "added (B)" "goal"
printf '%-30s %10s %10s\n' "delta: state struct" "$((size_both - size_nodelta))" "< 8192"
printf '%-30s %10s %10s\n' "delta: code linked" "$((linked_delta - linked_both))" "< 8192"
echo
echo "worst stack path: $worst_path"
echo "not in the stack figure (library code and port callbacks): mbedTLS:$mbed_calls"
echo "of the shared code, $names B are the error-name table (fota_err_name); .bss/.data: $bss B"

# ---- the ESP-IDF component on Xtensa ---------------------------------------------------------
echo
bundle="$(cd "$root/.." && pwd)/shared/third_party/esp-idf"
if [ ! -d "$bundle" ]; then
    echo "ESP-IDF component rows skipped: ../shared/third_party/esp-idf not found"
    exit 0
fi
command -v xtensa-lx106-elf-gcc >/dev/null ||
    { echo "xtensa-lx106-elf-gcc not found: run scripts/install-deps" >&2; exit 1; }
x="$work/xtensa"
port="$root/ports/esp-idf"
mkdir -p "$x/obj/agent" "$x/obj/port" "$x/include"
tar xzf "$bundle/esp-idf-v5.5.5-headers.tar.gz" -C "$x"
echo "source \"$port/Kconfig\"" >>"$x/esp-idf/kconfigs.in"
/usr/bin/python3 "$bundle/gen-sdkconfig.py" "$x/esp-idf" "$x/sdkconfig.h" esp32 \
    BOOTLOADER_APP_ROLLBACK_ENABLE=y >/dev/null
cfg() { awk -v n="CONFIG_$1" '$1 == "#define" && $2 == n { print $3 }' "$x/sdkconfig.h"; }
read -r -a idf_flags <<<"$(sh "$bundle/idf-cflags" "$x/esp-idf" "$x")"
xflags=(-mlongcalls -std=gnu17 -Os -Wall -Wextra -Werror
        -DFOTA_CONFIG_MAX_CHUNK_SIZE="$(cfg FOTA_MAX_CHUNK_SIZE)" -DFOTA_CONFIG_ERR_NAMES=0
        -I"$port/include" -I"$port/src"
        -I"$root/agent/include" -I"$x/include" "${idf_flags[@]}")
for src in "$root"/agent/src/*.c "$port"/src/*.c; do
    part=agent
    [[ "$src" == "$port"/* ]] && part=port
    xtensa-lx106-elf-gcc "${xflags[@]}" -ffunction-sections -fdata-sections -fstack-usage \
        -fcallgraph-info=su -c "$src" -o "$x/obj/$part/$(basename "${src%.c}").o"
done

# Sizes: the handle, the agent state in it, the URL buffer the transport allocates.
printf '%s\n' '#include "fota_esp_internal.h"' 'char p_handle[sizeof(struct fota_esp)];' \
    'char p_agent[sizeof(fota_agent_t)];' \
    'char p_url[sizeof(CONFIG_FOTA_SERVER_URL) + FOTA_CONFIG_TARGET_MAX];' >"$x/probe.c"
xtensa-lx106-elf-gcc "${xflags[@]}" -c "$x/probe.c" -o "$x/probe.o"
xtensa-lx106-elf-gcc "${xflags[@]}" -DFOTA_CONFIG_DELTA=0 -c "$x/probe.c" -o "$x/probe_nodelta.o"
probe_of() { # probe_of SYMBOL [OBJECT]
    echo $((16#$(xtensa-lx106-elf-nm -S "${2:-$x/probe.o}" | awk -v n="$1" '$4 == n { print $2 }')))
}
handle=$(probe_of p_handle)
handle_nodelta=$(probe_of p_handle "$x/probe_nodelta.o")
agent_state=$(probe_of p_agent)
url_buf=$(probe_of p_url)

# Code and static RAM (size's text of an Xtensa object is .literal + .text + .rodata).
xsize() {
    xtensa-lx106-elf-size "$@" | awk 'NR > 1 { t += $1; d += $2 + $3 } END { print t + 0, d + 0 }'
}
read -r x_core x_core_ram <<<"$(xsize "$x"/obj/agent/*.o)"
read -r x_port x_port_ram <<<"$(xsize "$x"/obj/port/*.o)"
# What ESP-IDF's link keeps of them (--gc-sections), from the public API down.
mapfile -t api < <(grep -o 'fota_esp_[a-z_]*(' "$port/include/fota_esp.h" | tr -d '(' | sort -u)
roots=()
for f in "${api[@]}"; do roots+=(-u "$f"); done
xtensa-lx106-elf-ld -r --gc-sections "${roots[@]}" -o "$x/linked.o" "$x"/obj/*/*.o
read -r x_linked _ <<<"$(xsize "$x/linked.o")"
# x_variant NAME FLAGS...: the core and the port compiled again with FLAGS into $x/NAME (with
# their call graphs), linked as above; prints the linked code size.
x_variant() {
    local name=$1 src
    shift
    mkdir -p "$x/$name"
    for src in "$root"/agent/src/*.c "$port"/src/*.c; do
        xtensa-lx106-elf-gcc "${xflags[@]}" "$@" -ffunction-sections -fdata-sections \
            -fstack-usage -fcallgraph-info=su -c "$src" -o "$x/$name/$(basename "${src%.c}").o"
    done
    xtensa-lx106-elf-ld -r --gc-sections "${roots[@]}" -o "$x/linked_$name.o" "$x/$name"/*.o
    xsize "$x/linked_$name.o" | cut -d' ' -f1
}
# The same link for a chain-only component (CONFIG_FOTA_BUILD_CHAIN_ONLY: FOTA_CONFIG_MODE_SEED=0)
# and for one without delta updates (CONFIG_FOTA_DELTA=n: FOTA_CONFIG_DELTA=0).
x_linked_chain=$(x_variant chain -DFOTA_CONFIG_MODE_SEED=0)
x_linked_nodelta=$(x_variant nodelta -DFOTA_CONFIG_DELTA=0)
# The error names, which CONFIG_FOTA_ERROR_NAMES=y adds (off by default, as measured above).
xtensa-lx106-elf-gcc "${xflags[@]/-DFOTA_CONFIG_ERR_NAMES=0/-DFOTA_CONFIG_ERR_NAMES=1}" \
    -ffunction-sections -fdata-sections -c "$root/agent/src/err.c" -o "$x/err_names.o"
xtensa-lx106-elf-ld -r --gc-sections -u fota_err_name -o "$x/names.o" "$x/err_names.o"
read -r x_names _ <<<"$(xsize "$x/names.o")"

# The Arduino library (arduino/): FotaClient (C++) over the same objects, with the error names
# (an Arduino build has no per-library definitions: FOTA_CONFIG_ERR_NAMES keeps its default, 1),
# linked from the class's and verifyRollbackLater's symbols; and the size of a FotaClient.
command -v xtensa-lx106-elf-g++ >/dev/null ||
    { echo "xtensa-lx106-elf-g++ not found: run scripts/install-deps" >&2; exit 1; }
xxflags=("${xflags[@]/-std=gnu17/-std=gnu++17}" -fno-exceptions -fno-rtti -I"$root/arduino/src")
xtensa-lx106-elf-g++ "${xxflags[@]}" -ffunction-sections -fdata-sections \
    -c "$root/arduino/src/FotaClient.cpp" -o "$x/FotaClient.o"
mapfile -t class_syms < <(xtensa-lx106-elf-nm -g --defined-only "$x/FotaClient.o" |
    awk '$2 == "T" { print $3 }')
roots=()
for f in "${class_syms[@]}"; do roots+=(-u "$f"); done
arduino_objs=()
for o in "$x"/obj/*/*.o; do [ "$(basename "$o")" = err.o ] || arduino_objs+=("$o"); done
xtensa-lx106-elf-ld -r --gc-sections "${roots[@]}" -o "$x/arduino.o" "$x/FotaClient.o" \
    "${arduino_objs[@]}" "$x/err_names.o"
read -r x_arduino _ <<<"$(xsize "$x/arduino.o")"
read -r x_class _ <<<"$(xsize "$x/FotaClient.o")"
printf '%s\n' '#include "FotaClient.h"' 'char p_client[sizeof(FotaClient)];' >"$x/probe.cpp"
xtensa-lx106-elf-g++ "${xxflags[@]}" -c "$x/probe.cpp" -o "$x/probe_cpp.o"
client_size=$((16#$(xtensa-lx106-elf-nm -S "$x/probe_cpp.o" | awk '$4 == "p_client" { print $2 }')))

# Stack: indirect calls resolved to the callbacks the component installs. A callback is a static
# function nothing calls directly; those of esp_transport.c serve the driver's (fota_esp.c) calls,
# the others (flash, boot, store, clock, and the core's own) the core's; the port's remaining
# indirect calls are the application's hooks (wall_time) and stay outside. Each calling function
# gets its own placeholder node, "(port)#N", so that a callback may call through a port in turn.
x_graph_of() { # x_graph_of CI_FILES...: the call graph with the ports' calls resolved
cat "$@" | awk '
    function field(k) {
        match($0, k ": \"[^\"]*\"")
        return substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 4)
    }
    /^node:/ && /bytes/ {
        t = field("title"); match($0, /\\n[^"]*:[0-9]+:[0-9]+/)
        file[t] = substr($0, RSTART + 2, RLENGTH - 2)
    }
    /^edge:/ {
        t = field("targetname"); called[t] = 1
        if (t == "__indirect_call") src[NR] = field("sourcename")
    }
    { line[NR] = $0 }
    END {
        for (f in file) if (!(f in called) && f ~ /:/ && f !~ /:agent_task$/)
            cb[file[f] ~ /\/esp_transport\.c:/ ? "transport" : "port", f] = 1
        for (i = 1; i <= NR; i++) {
            if (i in src) {
                s = src[i]
                g = file[s] ~ /\/fota_esp\.c:/ ? "transport" : file[s] ~ /\/agent\/src\// ? "port" : "hook"
                if (!(s in via)) via[s] = "(" g ")#" ++n
                for (k in cb) {
                    split(k, p, SUBSEP)
                    if (p[1] == g) printf "edge: { sourcename: \"%s\" targetname: \"%s\" }\n", via[s], p[2]
                }
                sub(/targetname: "__indirect_call"/, "targetname: \"" via[s] "\"", line[i])
            }
            print line[i]
        }
    }'
}
x_graph=$(x_graph_of "$x"/obj/*/*.ci)
task_report=$(echo "$x_graph" | stack_report "$port/src/fota_esp.c:agent_task")
# (sed reads the whole report: head would close the pipe early, which pipefail takes for an error)
task_stack_nodelta=$(x_graph_of "$x"/nodelta/*.ci |
    stack_report "$port/src/fota_esp.c:agent_task" | sed -n '1s/\t.*//p')
api_report=$(echo "$x_graph" | stack_report "${api[*]}")
task_stack=$(echo "$task_report" | head -1 | cut -f1)
api_stack=$(echo "$api_report" | head -1 | cut -f1)
task_path=$(echo "$task_report" | head -1 | cut -f2 | sed 's/#[0-9]*//g')
api_path=$(echo "$api_report" | head -1 | cut -f2 | sed 's/#[0-9]*//g')
frames=$(echo "$task_path" | tr '>' '\n' | grep -vc '^ *(')

# Buffers: ours from sdkconfig.h and esp_transport.c. esp_https_ota's defaults: esp_http_client's
# rx and tx buffers are DEFAULT_HTTP_BUF_SIZE when buffer_size(_tx) is 0, and esp_https_ota reads
# into its own buffer of MAX(buffer_size, DEFAULT_OTA_BUF_SIZE), DEFAULT_OTA_BUF_SIZE =
# IMAGE_HEADER_SIZE = 1024 (esp_https_ota.c, ESP-IDF v5.x; the bundle has only its header).
rx=$(cfg FOTA_HTTP_BUFFER_SIZE)
tx=$(grep -o 'buffer_size_tx = [0-9]*' "$port/src/esp_transport.c" | awk '{ print $3 }')
idf_http=$(awk '$2 == "DEFAULT_HTTP_BUF_SIZE" { gsub(/[()]/, "", $3); print $3 }' \
    "$x/esp-idf/components/esp_http_client/include/esp_http_client.h")
ota_buf=1024
http_ours=$((rx + ${tx:-0} + rx + url_buf))
http_ota=$((idf_http + idf_http + ota_buf))

row() { printf '%-30s %10s %13s %9s\n' "$@"; }
echo "ESP-IDF component on Xtensa (xtensa-lx106-elf-gcc -Os -mlongcalls), ESP32 defaults + app"
echo "rollback, ESP-IDF v5.5.5 headers, $(date -u +%F). The ESP32 is an Xtensa LX6; lx106 is the"
echo "closest compiler Debian has, so these figures are indicative."
row "figure" "component" "esp_https_ota" "goal"
row "code, agent core (B)" "$x_core" "-" "-"
row "code, ESP-IDF port (B)" "$x_port" "-" "-"
row "code, agent + port (B)" "$((x_core + x_port))" "-" "-"
row "  linked, --gc-sections (B)" "$x_linked" "-" "-"
row "  linked, without delta (B)" "$x_linked_nodelta" "-" "< 24576"
row "  linked, chain-only (B)" "$x_linked_chain" "-" "-"
row "  with error names (B)" "$((x_linked + x_names))" "-" "-"
row "Arduino: FotaClient code (B)" "$x_class" "-" "-"
row "Arduino: linked, names on (B)" "$x_arduino" "-" "-"
row "Arduino: a FotaClient (B)" "$client_size" "-" "-"
row "static RAM, .data+.bss (B)" "$((x_core_ram + x_port_ram))" "-" "~0"
row "handle, struct fota_esp (B)" "$handle" "-" "-"
row "  of which fota_agent_t (B)" "$agent_state" "-" "-"
row "worst stack, agent task (B)" "$task_stack" "-" "-"
row "worst stack, public API (B)" "$api_stack" "-" "-"
row "HTTP receive buffer (B)" "$rx" "$idf_http" "-"
row "HTTP transmit buffer (B)" "${tx:-n/a}" "$idf_http" "-"
row "read piece (B)" "$rx" "$ota_buf" "-"
row "URL buffer (B)" "$url_buf" "-" "-"
row "HTTP buffers, total (B)" "$http_ours" "$http_ota" "-"
row "RAM besides TLS buffers (B)" "$((handle + task_stack + http_ours))" "-" "-"
row "  without delta (B)" "$((handle_nodelta + task_stack_nodelta + http_ours))" "-" "< 8192"
row "TLS receive buffer (B)" "$(cfg MBEDTLS_SSL_IN_CONTENT_LEN)" \
    "$(cfg MBEDTLS_SSL_IN_CONTENT_LEN)" "-"
row "TLS transmit buffer (B)" "$(cfg MBEDTLS_SSL_OUT_CONTENT_LEN)" \
    "$(cfg MBEDTLS_SSL_OUT_CONTENT_LEN)" "-"
echo
echo "RAM besides TLS = handle + worst task stack + HTTP buffers (esp_http_client's own structs"
echo "not counted, for either); the task's stack is reserved at CONFIG_FOTA_TASK_STACK_SIZE ="
echo "$(cfg FOTA_TASK_STACK_SIZE) B and also holds the ESP-IDF calls listed below. Without delta"
echo "updates (CONFIG_FOTA_DELTA=n): handle $handle_nodelta B, worst task stack $task_stack_nodelta B."
echo "code is without the error names (CONFIG_FOTA_ERROR_NAMES=n, the default); with them"
echo "fota_err_name adds $x_names B; the linked rows have delta updates (CONFIG_FOTA_DELTA=y, the"
echo "default) but the one without (CONFIG_FOTA_DELTA=n), the goal's"
echo "Arduino rows: the library's build (arduino/, FotaClient.cpp by xtensa-lx106-elf-g++), the"
echo "error names in, linked from FotaClient's symbols; the component's handle, HTTP buffers and"
echo "stack come on top as above (a FotaClient holds a pointer to the handle)"
echo "agent task path ($frames frames; on the ESP32's register-window ABI each frame has up to 32 B"
echo "more than lx106's call0 frames): $task_path"
echo "public API path: $api_path"
echo "not in the stack figures: the application's hooks (may_download, may_reboot, on_event,"
echo "wall_time) and ESP-IDF, by component:"
printf '%s\n' "$task_report" "$api_report" | awk -F '\t' '$2 ~ /\/components\// {
        c = $2; sub(/.*\/components\//, "", c); sub(/\/.*/, "", c)
        if (!(($1, c) in seen)) { seen[$1, c] = 1; names[c] = names[c] " " $1 } }
    END { for (c in names) printf "  %s:%s\n", c, names[c] }' | sort
xtensa-lx106-elf-gcc --version | head -1
