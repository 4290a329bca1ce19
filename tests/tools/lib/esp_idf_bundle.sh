# esp_idf_bundle.sh - what the Xtensa compile checks share (sourced, not run by ctest: only
# tests/tools/*.sh are tests): the repository root, the ESP-IDF bundle beside it, and the tools.
#
#   source "$(dirname "$0")/lib/esp_idf_bundle.sh" "WHAT" [more tools...]
#
# sets $root and $bundle (../shared/third_party/esp-idf); without the bundle it prints
# "SKIPPED: ...: WHAT not run" and exits 0, and it fails when a tool it needs is missing
# (xtensa-lx106-elf-gcc and -nm, kconfiglib, and the ones named).
root="$(cd "$(dirname "$0")/../.." && pwd)"
bundle="$(cd "$root/.." && pwd)/shared/third_party/esp-idf"
if [ ! -d "$bundle" ]; then
    echo "SKIPPED: ../shared/third_party/esp-idf not found: $1 not run"
    exit 0
fi
for tool in xtensa-lx106-elf-gcc xtensa-lx106-elf-nm /usr/bin/python3 "${@:2}"; do
    command -v "$tool" >/dev/null || { echo "$tool not found: run scripts/install-deps"; exit 1; }
done
/usr/bin/python3 -c 'import kconfiglib' 2>/dev/null ||
    { echo "python3-kconfiglib not found: run scripts/install-deps"; exit 1; }
