#!/bin/bash
# test_benchmarks_quick.sh - every benchmark in bench/ still runs: each in its --quick form (small
# images, short runs; nothing is written into docs/BENCHMARKS.md), and its table comes out with
# numbers in every row. Not a timed test: no figure is compared with a goal here (the figures
# are in docs/BENCHMARKS.md, measured by `make bench`). A benchmark whose tools are missing on
# this machine (valgrind, nginx, root for network namespaces) is skipped with the reason.
# Run by ctest as: bash test_benchmarks_quick.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
root="$(cd "$(dirname "$0")/../.." && pwd)"
failed=0
if [ ! -x "$build/bench_device" ]; then
    echo "SKIPPED: the benchmarks are not built here (sanitizer builds leave bench/ out)"
    exit 0
fi

# run NAME: the benchmark's quick output in $out.
run() {
    echo "--- bench/$1.sh --quick"
    if ! out=$(bash "$root/bench/$1.sh" --quick "$build" 2>&1); then
        echo "$out"
        echo "FAIL: bench/$1.sh --quick exited non-zero"
        failed=1
        return 1
    fi
    echo "$out"
}

# rows PATTERN...: each extended regex matches a line of $out.
rows() {
    local p
    for p in "$@"; do
        echo "$out" | grep -Eq "$p" || { echo "FAIL: no row matching /$p/"; failed=1; }
    done
}

skip() {
    echo "SKIP: bench/$1.sh ($2)"
}

N='[0-9]+(\.[0-9]+)?'
if run wire; then
    rows "^seed +1024 +[0-9]+ +[0-9]+ +[0-9]+ +$N +$N +$N +1\.000 " \
        "^chain +1024 +[0-9]+ +[0-9]+ +[0-9]+ +$N +$N +$N +$N " \
        "^chain +4096 +[0-9]+ +[0-9]+ +[0-9]+ +$N +$N +$N +$N "
fi

if ! command -v valgrind >/dev/null; then
    skip cpu_per_byte "no valgrind"
    skip install_ram "no valgrind"
else
    if run cpu_per_byte; then
        rows "^total +$N +$N +$N +$N +$N +$N$" "^read-back SHA-256 .* +$N +$N +$N +$N +$N +$N$" \
            "^data in: .* +$N +$N +$N +$N +$N +$N$" "^other +$N +$N +$N +$N +$N +$N$" \
            "^floor: SHA-256 of the image .* +$N +1\.00$" \
            "^marginal per byte, [0-9]+ -> [0-9]+ bytes +$N \((met|missed)\) +$N \((met|missed)\)$"
    fi
    if run install_ram; then
        rows "^chain +65536 +[0-9]+ +1\.000 +[0-9]+ +[0-9]+ +[0-9]+ +ok$" \
            "^chain +131072 +[0-9]+ +$N +[0-9]+ +[0-9]+ +[0-9]+ +ok$"
    fi
fi

if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null; then
    skip download_time "needs root, /dev/net/tun and iproute2"
elif run download_time; then
    rows "^seed +65536 +[0-9]+ +$N +$N +$N +$N +1\.0 +$N +$N " \
        "^chain +65536 +[0-9]+ +$N +$N +$N +$N +$N +$N +$N " \
        "^chain-iw +65536 +[0-9]+ +$N +$N +$N +$N +$N +$N +$N "
fi

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    skip server_rps "no nginx"
elif run server_rps; then
    rows "^nginx: blob, 1 record/Range +[0-9]+ " "^fotad: blob, 1 record/Range +[0-9]+ " \
        "^fotad: seed JSON chunk +[0-9]+ "
fi

if run metrics; then
    rows "^fotad: blob, 1 record/Range +[0-9]+ +[0-9]+ +$N +[0-9]+ +$N +$N +$N +$N +$N +$N +$N$" \
        "^fotad: check \(a store write\) +[0-9]+ +[0-9]+ +$N +[0-9]+ +$N " \
        "^GET /metrics every second: [1-9][0-9]* answers of about [0-9]+ bytes, median $N ms" \
        "^GET /api/admin/overview\?bucket_s=60&buckets=60 every 5 s: [1-9][0-9]* answers of about [0-9]+ bytes" \
        "^GET /api/admin/rollouts every 5 s: [1-9][0-9]* answers of about [0-9]+ bytes" \
        "^the console opened at each watched run: [1-9][0-9]* times, [1-9][0-9]* bytes each" \
        "^fotad CPU per answer, alone: /metrics $N ms \([0-9]+ in a row\), the console's overview poll \(overview \+ rollouts\) $N ms"
fi

if [ ! -x "$build/fota-sim" ]; then
    skip fleet "fota-sim is not built"
elif run fleet; then
    rows "^ +100 +64 +100 +0 +$N +[0-9]+ +[0-9]+ +0 +[0-9]+ +$N +[0-9]+ +$N +pass$" \
        "^ +100 +100 +100 +0 +$N +[0-9]+ +[0-9]+ +0 +[0-9]+ +$N +[0-9]+ +$N +pass$"
fi

if [ ! -x "$build/fota-sim" ]; then
    skip rollouts "fota-sim is not built"
elif run rollouts; then
    rows "^ +200 +10 +([1-9]|10) +paused +stage 1: 3 failed >= 3 +met$" \
        "^a product assignment +[0-9]+ " "^a rollout +[0-9]+ " "^a rollout among 50 active ones +[0-9]+ "
fi

if [ ! -x /usr/lib/postgresql/15/bin/postgres ] || ! command -v nginx >/dev/null; then
    skip cluster "no PostgreSQL 15 or nginx"
elif run cluster; then
    rows "^one fotad, SQLite +[0-9]+ +$N +$N +[0-9]+ +1\.00$" \
        "^three fotad \+ nginx, PostgreSQL +[0-9]+ +$N +$N +[0-9]+ +$N$" \
        "^whole blob, nginx \(X-Accel\) +[0-9]+ +$N +$N +[0-9]+$" \
        "^  transactions per device $N, rows written per device $N, WAL bytes per device $N$"
fi

if [ ! -d "$root/../shared/third_party/mbedtls" ]; then
    skip targets "../shared/third_party/mbedtls not found"
elif run targets; then
    rows "^riscv32 +chain +65536 +$N +$N +$N +$N +- +- +$N +$N +$N$" \
        "^cortex-m4 +chain +65536 +$N +$N +$N +$N +- +- +$N +$N +$N$" \
        "^riscv32 +$N +$N +$N +$N +0 +$N +$N$" "^cortex-m4 +$N +$N +$N +$N +0 +$N +$N$"
fi

if [ ! -d "$root/../shared/third_party/mbedtls" ]; then
    skip delta "../shared/third_party/mbedtls not found"
elif ! command -v bsdiff >/dev/null || ! command -v xdelta3 >/dev/null || ! command -v valgrind >/dev/null; then
    skip delta "no bsdiff, xdelta3 or valgrind"
elif run delta; then
    rows "^quick-3\.6\.3-3\.6\.4 +[0-9]+ +[0-9]+ +$N +[0-9]+ +[0-9]+ +- +- +[0-9]+ +[0-9]+ +$N +($N|-)$" \
        "^quick-3\.6\.3-3\.6\.4 +[0-9]+ +[0-9]+ +[0-9]+ +$N$" \
        "^RAM: sizeof\(fota_delta_t\), of detools' state +[0-9]+ +([0-9]+|-)$" \
        "^code: text \+ rodata of the applier's objects +[0-9]+ +([0-9]+|-)$" \
        "^code linked \(--gc-sections, with its libc\) +[0-9]+ +-$" \
        "^host Ir per new byte \(quick-3\.6\.3-3\.6\.4\) +$N +($N|-)$"
fi

[ "$failed" = 0 ] || exit 1
echo "PASS: test_benchmarks_quick"
