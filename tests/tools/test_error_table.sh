#!/usr/bin/env bash
# test_error_table.sh - docs/PROTOCOL.md's table of error codes (section 4.7, between the
# error-table markers) is exactly what scripts/gen-error-table prints from
# agent/include/fota/err.h, so a code added, renumbered or reworded in err.h fails here until
# the table is regenerated (scripts/gen-error-table --write docs/PROTOCOL.md). Also checks that
# the script itself lists every code of err.h and that a stale table is caught, so this test
# cannot pass by comparing nothing.
# Run by ctest as: bash test_error_table.sh BUILD_DIR (the build directory is not used)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
gen="$root/scripts/gen-error-table"
doc="$root/docs/PROTOCOL.md"
err_h="$root/agent/include/fota/err.h"
W=$(mktemp -d "${TMPDIR:-/tmp}/error-table-test.XXXXXX")
trap 'rm -rf "$W"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# doc_table FILE: the lines between the markers.
doc_table() {
    awk '/^<!-- error-table:end -->$/ { on = 0 } on { print } /^<!-- error-table:begin -->$/ { on = 1 }' "$1"
}

"$gen" >"$W/want" || fail "gen-error-table failed"
doc_table "$doc" >"$W/got"
[ -s "$W/got" ] || fail "docs/PROTOCOL.md has no table between <!-- error-table:begin --> and <!-- error-table:end -->"
if ! diff -u "$W/got" "$W/want" >"$W/diff"; then
    cat "$W/diff" >&2
    fail "docs/PROTOCOL.md's error table differs from err.h: run scripts/gen-error-table --write docs/PROTOCOL.md"
fi

# Every code of err.h is in the table: by name outside the ESP-IDF family, by its ESP-IDF name
# and number inside it.
n=0
while read -r name num text; do
    n=$((n + 1))
    if [[ "$name" == FOTA_ERR_ESP_* ]] && [ "$name" != FOTA_ERR_ESP_OTHER ]; then
        grep -qF "$num \`$text\`" "$W/want" || fail "$name ($num $text) missing from the table"
    else
        grep -qF "| $num | \`$name\` |" "$W/want" || fail "$name ($num) missing from the table"
    fi
done < <(sed -n 's/^ *X(\(FOTA_[A-Z0-9_]*\), *\([0-9]*\), *"\([^"]*\)").*/\1 \2 \3/p' "$err_h")
[ "$n" -gt 100 ] || fail "only $n codes read from err.h"

# A stale table is caught: one code reworded in a copy of err.h, and --write puts it right.
sed 's/"record fails the hash chain"/"record fails the chain"/' "$err_h" >"$W/err.h"
"$gen" "$W/err.h" >"$W/changed"
cmp -s "$W/changed" "$W/want" && fail "a reworded code did not change the table"
cp "$doc" "$W/PROTOCOL.md"
"$gen" --write "$W/PROTOCOL.md" "$W/err.h"
doc_table "$W/PROTOCOL.md" | cmp -s - "$W/changed" || fail "--write did not put the new table in"
diff <(grep -v '^|' "$doc") <(grep -v '^|' "$W/PROTOCOL.md") >/dev/null ||
    fail "--write changed more than the table"
grep -q "record fails the chain " "$W/PROTOCOL.md" || fail "--write: the reworded code is not there"
echo "PASS: error table ($n codes)"
