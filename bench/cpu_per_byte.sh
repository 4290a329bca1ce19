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
# hash (seed mode), the image check, and signing its requests. The rows below the total split it
# by stage (inclusive costs of the agent functions named in brackets; "other" is the rest).
#
# Chain mode runs again with 4 KB chunks (bench_cpu_4k: the agent built for them), and both chunk
# sizes again with an image half as big: the difference between the two sizes is the marginal
# cost per firmware byte, without the once-per-update costs (the manifest's ECDSA signature).
# Instruction counts do not depend on the machine's load: one run each is enough.
#
# Needs valgrind (scripts/install-deps).
# Usage: bench/cpu_per_byte.sh [--quick] [--no-doc] [BUILD_DIR]    (quick: a 64 KB image)
source "$(dirname "$0")/lib.sh" cpu_per_byte "$@"
bench_need bench_cpu
command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
    bench_fail "valgrind is not installed (scripts/install-deps)"

bench_need bench_cpu_4k
size=1068032
[ "$QUICK" = 1 ] && size=65536
half=$((size / 2))

# grind MODE [SIZE [CHUNK [TAG]]]: run under callgrind; the inclusive cost per function in
# $W/TAG.fn (TAG defaults to MODE).
grind() {
    local mode=$1 sz=${2:-$size} chunk=${3:-1024} tag=${4:-$1} toggles=() bin=bench_cpu
    [ "$chunk" -gt 1024 ] && bin=bench_cpu_4k
    if [ "$mode" = sha ]; then
        toggles=(--toggle-collect=bench_sha_floor)
    else
        for f in fota_agent_poll fota_agent_response_begin fota_agent_feed \
            fota_agent_response_end; do
            toggles+=("--toggle-collect=$f")
        done
    fi
    valgrind --tool=callgrind --callgrind-out-file="$W/$tag.cg" "${toggles[@]}" \
        "$BUILD/$bin" "$mode" "$sz" "$chunk" >"$W/$tag.out" 2>"$W/$tag.err" ||
        { cat "$W/$tag.err" >&2; bench_fail "$bin $mode $sz $chunk failed"; }
    grep -q -E '^(completed yes|sha_matches_manifest yes)$' "$W/$tag.out" ||
        bench_fail "$bin $mode $sz $chunk: no complete run"
    awk '/^totals:/ { print "TOTAL", $2 }' "$W/$tag.cg" >"$W/$tag.fn"
    # "  1,234 (5.00%)  path/file.c:function [object]" -> "function 1234" (first = largest)
    callgrind_annotate --inclusive=yes --threshold=100 "$W/$tag.cg" 2>/dev/null |
        grep -v '=>' | sed -nE 's/^ *([0-9,]+) \([ 0-9.]+%\)  [^ ]*:([A-Za-z0-9_.]+) .*/\2 \1/p' |
        tr -d ',' | awk '!seen[$1]++' >>"$W/$tag.fn"
}
for mode in sha chain seed; do
    grind "$mode"
done
grind sha "$half" 1024 sha_half
grind chain "$half" 1024 chain_half
grind chain "$size" 4096 chain4k
grind chain "$half" 4096 chain4k_half

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
    if [ "${m#chain}" != "$m" ]; then # chain, chain4k
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
read -r -a chain4k <<<"$(stages chain4k)"
labels=("total" "data in: parse, verify a chunk [1]" "flash write, compare, journal [2]"
    "read-back SHA-256 [3]" "image check [4]" "manifest signature [5]"
    "signing requests [6]" "other" "all SHA-256 blocks [7]")
# marginal TAG: (TAG at size - TAG at half) / (floor at size - floor at half), as x the floor
floor_half=$(fn sha_half TOTAL)
marginal() { ratio $(($(fn "$1" TOTAL) - $(fn "$1_half" TOTAL))) $((floor - floor_half)) 2; }
verdict() { awk -v x="$1" 'BEGIN { print (x <= 1.3 ? "met" : "missed") }'; }
{
    echo "instructions per firmware byte (callgrind Ir / $size), and as a multiple of the floor"
    printf '%-34s %7s %6s %7s %6s %7s %6s\n' "" seed x_flr "chain" x_flr "chain" x_flr
    printf '%-34s %14s %14s %14s\n' "chunk size" "1 KB" "1 KB" "4 KB"
    for i in "${!labels[@]}"; do
        printf '%-34s %7s %6s %7s %6s %7s %6s\n' "${labels[$i]}" "$(per_byte "${seed[$i]}")" \
            "$(ratio "${seed[$i]}" "$floor" 2)" "$(per_byte "${chain[$i]}")" \
            "$(ratio "${chain[$i]}" "$floor" 2)" "$(per_byte "${chain4k[$i]}")" \
            "$(ratio "${chain4k[$i]}" "$floor" 2)"
    done
    printf '%-34s %7s %6s\n' "floor: SHA-256 of the image [8]" "$(per_byte "$floor")" "1.00"
    echo
    echo "inclusive costs of: [1] fota_records_feed or fota_seed_chunk_process without [2]," \
        "[2] fota_writer_put, [3] fota_verify_step without [4], [4] check_image," \
        "[5] fota_manifest_verify, [6] fota_req_finish, [7] mbedtls_internal_sha256_process" \
        "(across all stages), [8] bench_sha_floor" | fold -s -w 100 | sed "s/ *$//"
    echo
    echo "chain mode against the goal (<= 1.3x the floor)         1 KB chunks      4 KB chunks"
    t1=$(ratio "${chain[0]}" "$floor" 2)
    t4=$(ratio "${chain4k[0]}" "$floor" 2)
    m1=$(marginal chain)
    m4=$(marginal chain4k)
    printf '%-54s %5s %-10s %5s %s\n' "total, $size-byte image (signature included)" \
        "$t1" "($(verdict "$t1"))" "$t4" "($(verdict "$t4"))"
    printf '%-54s %5s %-10s %5s %s\n' "marginal per byte, $half -> $size bytes" \
        "$m1" "($(verdict "$m1"))" "$m4" "($(verdict "$m4"))"
    echo "(instructions: chain ${chain[0]} / $(fn chain_half TOTAL) (1 KB)," \
        "${chain4k[0]} / $(fn chain4k_half TOTAL) (4 KB), seed ${seed[0]}," \
        "floor $floor / $floor_half; mbedTLS" \
        "$(dpkg-query -W -f='${Version}' libmbedtls-dev 2>/dev/null || echo '?'))" |
        fold -s -w 100 | sed "s/ *$//"
} >"$W/table"
bench_report "CPU per firmware byte on the device path" "$W/table"
