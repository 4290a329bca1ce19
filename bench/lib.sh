# lib.sh - shared helpers of the benchmark scripts in bench/ (sourced, not run). A benchmark does:
#
#   source "$(dirname "$0")/lib.sh" NAME "$@"     # parses [--quick] [--no-doc] [BUILD_DIR]
#   bench_need fotad fota-image ...               # the tools it runs, from the build dir
#   ...measure, print a table into $W/table...
#   bench_report "Title" "$W/table" "notes"       # prints it; in full mode, also into the docs
#
# Full mode (the default, and `make bench`) writes the table with the machine, the date and the
# command into docs/BENCHMARKS.md, between the markers <!-- bench:NAME --> and <!-- /bench:NAME -->
# (a new section at the end the first time). --quick runs a smaller version (CI checks that every
# benchmark still runs) and never touches the docs. Temporary files live in $W under
# BUILD/tmp and are removed on exit (kept with BENCH_KEEP=1), and every process the benchmark
# started through bench_bg is stopped.

set -euo pipefail

BENCH_NAME=$1
shift
BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0
WRITE_DOC=1
BUILD=""
for arg in "$@"; do
    case "$arg" in
    --quick) QUICK=1 ;;
    --no-doc) WRITE_DOC=0 ;;
    -h | --help)
        sed -n '2,/^source /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "$BENCH_NAME: unknown option $arg" >&2
        exit 2
        ;;
    *) BUILD=$arg ;;
    esac
done
[ "$QUICK" = 1 ] && WRITE_DOC=0
BUILD="$(cd "${BUILD:-$BENCH_ROOT/build}" && pwd)"
mkdir -p "$BUILD/tmp"
W=$(mktemp -d "$BUILD/tmp/bench-$BENCH_NAME.XXXXXX")
BENCH_PIDS=()
BENCH_CLEANUP=()
BENCH_CURL_PREFIX=() # e.g. (ip netns exec NS) when fotad listens inside a namespace

bench_exit() {
    local pid c
    for pid in "${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    for c in "${BENCH_CLEANUP[@]+"${BENCH_CLEANUP[@]}"}"; do
        eval "$c" || true
    done
    if [ -n "${BENCH_KEEP:-}" ]; then
        echo "(files kept in $W)" >&2
    else
        rm -rf "$W"
    fi
}
trap bench_exit EXIT

bench_fail() {
    echo "$BENCH_NAME: $*" >&2
    exit 1
}

# bench_need TOOL...: each is built in $BUILD.
bench_need() {
    local t
    for t in "$@"; do
        [ -x "$BUILD/$t" ] || bench_fail "$BUILD/$t is not built (run make first)"
    done
}

# bench_bg CMD...: start CMD in the background, killed at exit; its pid in $BG_PID.
bench_bg() {
    "$@" &
    BG_PID=$!
    BENCH_PIDS+=("$BG_PID")
}

# bench_on_exit "shell code": run at exit (after the background processes are stopped).
bench_on_exit() {
    BENCH_CLEANUP+=("$1")
}

bench_machine() {
    local cpu os
    cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    os=$(. /etc/os-release && echo "$PRETTY_NAME")
    local gcc mbed
    gcc=$(gcc -dumpfullversion 2>/dev/null || echo '?')
    mbed=$(dpkg-query -W -f='${Version}' libmbedtls-dev 2>/dev/null | sed 's/-.*//' || true)
    echo "$(uname -m), $(nproc) cores (${cpu:-unknown CPU}), $os, Linux $(uname -r)," \
        "gcc $gcc, mbedTLS ${mbed:-?}"
}

# bench_quiet: how busy the machine is with other work (1 s of /proc/stat), for timing
# benchmarks: sets BENCH_BACKGROUND (percent of all CPUs), reported with the figures; warns when
# it is over 20 % (the timing figures of that run are not worth much).
bench_quiet() {
    local a b
    [ "$QUICK" = 1 ] && return 0
    a=$(awk '/^cpu / { t = 0; for (i = 2; i <= 11; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { t = 0; for (i = 2; i <= 11; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
    BENCH_BACKGROUND=$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
        printf "%.0f", (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0 }')
    if [ "$BENCH_BACKGROUND" -gt 20 ]; then
        echo "$BENCH_NAME: warning: other work takes $BENCH_BACKGROUND % of the CPUs; timing" \
            "figures will be low" >&2
    fi
}

# Keys, master secret and admin token for a fotad in $W.
bench_keys() {
    "$BUILD/fota-mkbundle" genkey "$W/release.pem" "$W/release.pub" 2>/dev/null ||
        bench_fail "fota-mkbundle genkey"
    head -c 32 /dev/urandom >"$W/master"
    head -c 24 /dev/urandom | base64 >"$W/token"
    chmod 600 "$W/master" "$W/token"
}

# bench_image VERSION SIZE FILE
bench_image() {
    "$BUILD/fota-image" create --version "$1" --size "$2" -o "$3" >/dev/null ||
        bench_fail "fota-image create $1"
}

# bench_bundle IMAGE PRODUCT VERSION OUT [fota-mkbundle args]: prints the release id.
bench_bundle() {
    local image=$1 product=$2 version=$3 out=$4
    shift 4
    "$BUILD/fota-mkbundle" create --key "$W/release.pem" --image "$image" --product "$product" \
        --version "$version" -o "$out" "$@" 2>/dev/null || bench_fail "fota-mkbundle create"
}

# bench_fotad [PREFIX...] -- [fotad args]: start fotad (under PREFIX, e.g. `ip netns exec NS` or
# `taskset -c 1`) on a free port; sets FOTAD_PID, PORT. Log in $W/fotad.log.
bench_fotad() {
    local prefix=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        prefix+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    rm -f "$W/port"
    bench_bg "${prefix[@]+"${prefix[@]}"}" "$BUILD/fotad" --port 0 --port-file "$W/port" \
        --data-dir "$W/data" --release-key "$W/release.pub" --master-secret-file "$W/master" \
        --admin-token-file "$W/token" "$@" 2>>"$W/fotad.log"
    FOTAD_PID=$BG_PID
    local i
    for i in $(seq 1 200); do
        [ -s "$W/port" ] && break
        kill -0 "$FOTAD_PID" 2>/dev/null || { tail "$W/fotad.log" >&2; bench_fail "fotad exited"; }
        sleep 0.05
    done
    [ -s "$W/port" ] || bench_fail "fotad did not start"
    PORT=$(cat "$W/port")
}

# bench_admin URL PATH [curl args]: an admin API call that must succeed.
bench_admin() {
    local url=$1 path=$2
    shift 2
    "${BENCH_CURL_PREFIX[@]+"${BENCH_CURL_PREFIX[@]}"}" curl -sf -o /dev/null \
        -H "Authorization: Bearer $(cat "$W/token")" "$@" "$url$path" ||
        bench_fail "admin call $path failed"
}

# bench_release URL BUNDLE RELEASE PRODUCT: upload and assign to the product.
bench_release() {
    bench_admin "$1" /api/admin/releases -H 'Content-Type: application/octet-stream' \
        --data-binary @"$2"
    bench_admin "$1" /api/admin/assignments -d "{\"release\":\"$3\",\"product\":\"$4\"}"
}

# kv FILE KEY: the value of a "key value" line.
kv() {
    awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# ratio A B [DIGITS]: A / B.
ratio() {
    awk -v a="$1" -v b="$2" -v d="${3:-3}" \
        'BEGIN { if (b == 0) print "-"; else printf "%.*f\n", d, a / b }'
}

# bench_report TITLE TABLE_FILE [NOTES_FILE]: print the table; in full mode write the section.
bench_report() {
    local title=$1 table=$2 notes=${3:-}
    echo "$title"
    cat "$table"
    [ -n "$notes" ] && [ -s "$notes" ] && cat "$notes"
    [ "$WRITE_DOC" = 1 ] || return 0
    local block="$W/doc-block"
    {
        echo "<!-- bench:$BENCH_NAME -->"
        {
            local cmd="${BENCH_COMMAND:-bench/$(basename "$0") [BUILD_DIR]}"
            echo "Command: \`$cmd\` (\`make bench\` runs every benchmark)."
            local load=""
            [ -n "${BENCH_BACKGROUND:-}" ] &&
                load="; other load when it started: $BENCH_BACKGROUND % of the CPU time"
            echo "Machine: $(bench_machine)$load."
            echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')."
        } | fold -s -w 100 | sed 's/ *$//'
        echo
        echo '```'
        cat "$table"
        echo '```'
        if [ -n "$notes" ] && [ -s "$notes" ]; then
            echo
            cat "$notes"
        fi
        echo "<!-- /bench:$BENCH_NAME -->"
    } >"$block"
    bench_doc_write "$title" "$block"
}

# Replace the marked block in docs/BENCHMARKS.md, or append a new section with it.
bench_doc_write() {
    local title=$1 block=$2 doc="$BENCH_ROOT/docs/BENCHMARKS.md"
    if grep -qF "<!-- bench:$BENCH_NAME -->" "$doc"; then
        awk -v name="$BENCH_NAME" -v blockfile="$block" '
            $0 == "<!-- bench:" name " -->" {
                while ((getline line < blockfile) > 0) print line
                skip = 1; next
            }
            skip && $0 == "<!-- /bench:" name " -->" { skip = 0; next }
            !skip { print }' "$doc" >"$W/doc.new"
    else
        { cat "$doc"; printf '\n## %s\n\n' "$title"; cat "$block"; } >"$W/doc.new"
    fi
    cat "$W/doc.new" >"$doc"
    echo "(written into docs/BENCHMARKS.md)"
}
