# cli.sh - what the tests of the command-line tools share (test_fota_image.sh, test_fota_flash.sh,
# test_fota_delta.sh): a private directory W (removed at exit), checks of a command's exit code,
# its output and its one-line errors, and flip_byte. Source it with the test's name: `. lib/cli.sh NAME`.
W=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
trap 'rm -rf "$W"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# run WANT_EXIT CMD...: run CMD, keep stdout/stderr in $W/out and $W/err, check the exit code.
run() {
    local want=$1 got=0
    shift
    "$@" >"$W/out" 2>"$W/err" || got=$?
    if [ "$got" -ne "$want" ]; then
        echo "--- stdout:" >&2; cat "$W/out" >&2
        echo "--- stderr:" >&2; cat "$W/err" >&2
        fail "exit $got instead of $want: $*"
    fi
    # Under -DFOTA_SANITIZE=ON a sanitizer report must fail the test whatever the exit code.
    if grep -qE 'Sanitizer|runtime error:' "$W/err"; then
        cat "$W/err" >&2
        fail "sanitizer report: $*"
    fi
}

# has out|err TEXT, has_re out|err REGEX, lacks out|err TEXT
has() {
    grep -qF -- "$2" "$W/$1" || { cat "$W/$1" >&2; fail "std$1 lacks '$2'"; }
}

has_re() {
    grep -qE -- "$2" "$W/$1" || { cat "$W/$1" >&2; fail "std$1 does not match /$2/"; }
}

lacks() {
    if grep -qF -- "$2" "$W/$1"; then cat "$W/$1" >&2; fail "std$1 has '$2'"; fi
}

# one_line_error TEXT, one_line_error_re REGEX: stderr is one line, with it.
one_line_error() {
    [ "$(wc -l <"$W/err")" -eq 1 ] || { cat "$W/err" >&2; fail "stderr is not one line"; }
    has err "$1"
}

one_line_error_re() {
    [ "$(wc -l <"$W/err")" -eq 1 ] || { cat "$W/err" >&2; fail "stderr is not one line"; }
    has_re err "$1"
}

# flip_byte FILE OFFSET: invert every bit of one byte in place.
flip_byte() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    # shellcheck disable=SC2059
    printf "$(printf '\\%03o' $((b ^ 0xFF)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
