#!/bin/bash
# cpu_per_byte.sh - CPU per firmware byte on the device path, as instructions counted by
# callgrind, for one whole update of a 1,068,032-byte image in seed and in chain mode, against
# the floor: SHA-256 alone over the same bytes (mbedTLS, the library the agent uses).
#
# bench_cpu runs the update in memory against the scripted server of the unit tests; callgrind
# counts only inside the agent's entry points (--toggle-collect on fota_agent_poll,
# fota_agent_response_begin, fota_agent_feed, fota_agent_response_end), so the server's work is
# out and everything the agent does for the update is in: parsing, the manifest signature, the
# chain hashes or chunk HMACs, flash erase and write (the emulator), the journal, the read-back
# hash, the image check, and signing its requests. The rows below the total split it by stage
# (inclusive costs of the agent functions named in brackets; "other" is the rest).
# Instruction counts do not depend on the machine's load: one run each is enough.
#
# Needs valgrind (scripts/install-deps).
# Usage: bench/cpu_per_byte.sh [--quick] [--no-doc] [BUILD_DIR]    (quick: a 64 KB image)
source "$(dirname "$0")/lib.sh" cpu_per_byte "$@"
bench_need bench_cpu
command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
    bench_fail "valgrind is not installed (scripts/install-deps)"

size=1068032
[ "$QUICK" = 1 ] && size=65536

# grind MODE: run under callgrind; the inclusive cost per function in $W/MODE.fn.
grind() {
    local mode=$1 toggles=()
    if [ "$mode" = sha ]; then
        toggles=(--toggle-collect=bench_sha_floor)
    else
        for f in fota_agent_poll fota_agent_response_begin fota_agent_feed \
            fota_agent_response_end; do
            toggles+=("--toggle-collect=$f")
        done
    fi
    valgrind --tool=callgrind --callgrind-out-file="$W/$mode.cg" "${toggles[@]}" \
        "$BUILD/bench_cpu" "$mode" "$size" >"$W/$mode.out" 2>"$W/$mode.err" ||
        { cat "$W/$mode.err" >&2; bench_fail "bench_cpu $mode failed"; }
    grep -q -E '^(completed yes|sha_matches_manifest yes)$' "$W/$mode.out" ||
        bench_fail "bench_cpu $mode: no complete run"
    awk '/^totals:/ { print "TOTAL", $2 }' "$W/$mode.cg" >"$W/$mode.fn"
    # "  1,234 (5.00%)  path/file.c:function [object]" -> "function 1234" (first = largest)
    callgrind_annotate --inclusive=yes --threshold=100 "$W/$mode.cg" 2>/dev/null |
        grep -v '=>' | sed -nE 's/^ *([0-9,]+) \([ 0-9.]+%\)  [^ ]*:([A-Za-z0-9_.]+) .*/\2 \1/p' |
        tr -d ',' | awk '!seen[$1]++' >>"$W/$mode.fn"
}
for mode in sha chain seed; do
    grind "$mode"
done

fn() { # MODE FUNCTION: its inclusive instructions (0 if it never ran); GCC may have renamed a
    # static function it specialised (check_image.constprop.0)
    local v
    v=$(awk -v f="$2" '$1 == f || index($1, f ".") == 1 { print $2; exit }' "$W/$1.fn")
    echo "${v:-0}"
}
floor=$(fn sha TOTAL)
per_byte() { ratio "$1" "$size" 1; }
# stage MODE: the split of MODE's total, one value per line, in the order of the rows.
stages() {
    local m=$1 total data write verify image manifest req
    total=$(fn "$m" TOTAL)
    write=$(fn "$m" fota_writer_put)
    if [ "$m" = chain ]; then
        data=$(($(fn "$m" fota_records_feed) - write))
    else
        data=$(($(fn "$m" fota_seed_chunk_process) - write))
    fi
    image=$(fn "$m" check_image)
    verify=$(($(fn "$m" fota_verify_step) - image))
    manifest=$(fn "$m" fota_manifest_verify)
    req=$(fn "$m" fota_req_finish)
    echo "$total $data $write $verify $image $manifest $req" \
        "$((total - data - write - verify - image - manifest - req))" \
        "$(fn "$m" mbedtls_internal_sha256_process)"
}
read -r -a seed <<<"$(stages seed)"
read -r -a chain <<<"$(stages chain)"
labels=("total" "data in: parse, verify a chunk [1]" "flash erase/write, journal [2]"
    "read-back SHA-256 [3]" "image check [4]" "manifest signature [5]"
    "signing requests [6]" "other" "all SHA-256 blocks [7]")
{
    echo "instructions per firmware byte (callgrind Ir / $size), and as a multiple of the floor"
    printf '%-36s %8s %7s %8s %7s\n' "" seed x_floor chain x_floor
    for i in "${!labels[@]}"; do
        printf '%-36s %8s %7s %8s %7s\n' "${labels[$i]}" "$(per_byte "${seed[$i]}")" \
            "$(ratio "${seed[$i]}" "$floor" 2)" "$(per_byte "${chain[$i]}")" \
            "$(ratio "${chain[$i]}" "$floor" 2)"
    done
    printf '%-36s %8s %7s\n' "floor: SHA-256 of the image [8]" \
        "$(per_byte "$floor")" "1.00"
    echo
    echo "inclusive costs of: [1] fota_records_feed or fota_seed_chunk_process without [2]," \
        "[2] fota_writer_put, [3] fota_verify_step without [4], [4] check_image," \
        "[5] fota_manifest_verify, [6] fota_req_finish, [7] mbedtls_internal_sha256_process" \
        "(across all stages), [8] bench_sha_floor" | fold -s -w 100 | sed "s/ *$//"
    echo "goal: chain <= 1.3x the floor; chain total $(ratio "${chain[0]}" "$floor" 2)x" \
        "(instructions: chain ${chain[0]}, seed ${seed[0]}, floor $floor;" \
        "mbedTLS $(dpkg-query -W -f='${Version}' libmbedtls-dev 2>/dev/null || echo '?'))"
} >"$W/table"
bench_report "CPU per firmware byte on the device path" "$W/table"
