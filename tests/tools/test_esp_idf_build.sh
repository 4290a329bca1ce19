#!/bin/bash
# Compile check of the ESP-IDF component (ports/esp-idf), its examples and the agent core against
# ESP-IDF v5.5.5's own headers and Kconfig (../shared/third_party/esp-idf beside the repository;
# no ESP32 toolchain is reachable here). The component's Kconfig and every example's
# Kconfig.projbuild go through kconfiglib with ESP-IDF's, which writes sdkconfig.h for three
# configurations: app rollback on; rollback + anti-rollback; each example's sdkconfig.defaults.
# With each, every .c is compiled to an object with Debian's xtensa-lx106-elf-gcc (-Werror; the
# ESP32 is an LX6, lx106 the closest Xtensa compiler Debian has), with the two definitions
# ports/esp-idf/CMakeLists.txt adds. Then the objects must call the ESP-IDF services the component
# is built on, and nothing in the component may abort (no abort, no ESP_ERROR_CHECK). The error
# names are in the firmware only with CONFIG_FOTA_ERROR_NAMES (a fourth configuration, which also
# turns on CONFIG_FOTA_ENROLL, the bridge firmware's enrollment, compiled only then).
# Skips (exit 0) when ../shared/third_party/esp-idf is absent.
# Usage: tests/tools/test_esp_idf_build.sh BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/lib/esp_idf_bundle.sh" "ESP-IDF compile check"

out="$(cd "$1" && pwd)/esp-idf-check"
idf="$(cd "$1" && pwd)/esp-idf-headers/esp-idf"
port="$root/ports/esp-idf"

# The headers, unpacked once (into a temporary folder first, so an interrupted unpack is redone).
if [ ! -f "$idf/kconfigs.in.upstream" ]; then
    tmp="$1/esp-idf-headers.tmp"
    rm -rf "$1/esp-idf-headers" "$tmp"
    mkdir -p "$tmp"
    tar xzf "$bundle/esp-idf-v5.5.5-headers.tar.gz" -C "$tmp"
    cp "$tmp/esp-idf/kconfigs.in" "$tmp/esp-idf/kconfigs.in.upstream"
    cp "$tmp/esp-idf/projbuild.in" "$tmp/esp-idf/projbuild.in.upstream"
    mv "$tmp" "$1/esp-idf-headers"
fi
# ESP-IDF's lists of Kconfig files, with ours added (as its build system would add them).
{ cat "$idf/kconfigs.in.upstream"; echo "source \"$port/Kconfig\""; } >"$idf/kconfigs.in"
{
    cat "$idf/projbuild.in.upstream"
    for k in "$port"/examples/*/main/Kconfig.projbuild; do echo "source \"$k\""; done
} >"$idf/projbuild.in"

rm -rf "$out"
mkdir -p "$out/include"

# sdkconfig.defaults as NAME=VALUE overrides: CONFIG_ stripped, quotes of strings removed,
# "# CONFIG_X is not set" as X=n.
defaults_of() {
    sed -n -e 's/^CONFIG_\([A-Za-z0-9_]*\)="\(.*\)"$/\1=\2/p' \
        -e 's/^CONFIG_\([A-Za-z0-9_]*=[^"].*\)$/\1/p' \
        -e 's/^# CONFIG_\([A-Za-z0-9_]*\) is not set$/\1=n/p' "$1"
}

define_of() { awk -v n="$1" '$1 == "#define" && $2 == n { print $3 }' "$2"; }

# Every override took (kconfiglib ignores a value whose dependencies are not met).
check_overrides() {
    local h=$1 pair name value ok
    shift
    for pair in "$@"; do
        name=${pair%%=*} value=${pair#*=} ok=1
        case "$value" in
        y) grep -qxF "#define CONFIG_$name 1" "$h" || ok=0 ;;
        n) ! grep -q "^#define CONFIG_$name " "$h" || ok=0 ;;
        *) grep -qxF -e "#define CONFIG_$name $value" -e "#define CONFIG_$name \"$value\"" "$h" ||
            ok=0 ;;
        esac
        [ "$ok" = 1 ] || { echo "$(basename "$(dirname "$h")"): $pair did not take"; exit 1; }
    done
}

# compile NAME OVERRIDE...: generate sdkconfig.h, compile every file, check the objects.
compile() {
    local name=$1 dir="$out/$1"
    shift
    mkdir -p "$dir/agent" "$dir/port"
    /usr/bin/python3 "$bundle/gen-sdkconfig.py" "$idf" "$dir/sdkconfig.h" esp32 "$@" >/dev/null ||
        { echo "FAILED ($name): kconfiglib could not write sdkconfig.h"; exit 1; }
    check_overrides "$dir/sdkconfig.h" "$@"
    grep -q '^#define CONFIG_FOTA_SERVER_URL ' "$dir/sdkconfig.h" ||
        { echo "$name: the component's Kconfig is not in sdkconfig.h"; exit 1; }
    local chunk names
    chunk=$(define_of CONFIG_FOTA_MAX_CHUNK_SIZE "$dir/sdkconfig.h")
    names=$(define_of CONFIG_FOTA_ERROR_NAMES "$dir/sdkconfig.h")
    # The modes built in, as the component's CMakeLists.txt maps them.
    local modes=""
    [ -z "$(define_of CONFIG_FOTA_BUILD_CHAIN_ONLY "$dir/sdkconfig.h")" ] ||
        modes=-DFOTA_CONFIG_MODE_SEED=0
    [ -z "$(define_of CONFIG_FOTA_BUILD_SEED_ONLY "$dir/sdkconfig.h")" ] ||
        modes=-DFOTA_CONFIG_MODE_CHAIN=0
    [ -n "$(define_of CONFIG_FOTA_DELTA "$dir/sdkconfig.h")" ] ||
        modes="$modes -DFOTA_CONFIG_DELTA=0"
    local -a flags
    read -r -a flags <<<"$(sh "$bundle/idf-cflags" "$idf" "$dir")"
    flags=(-mlongcalls -std=gnu17 -Wall -Wextra -Werror -Os -DFOTA_CONFIG_MAX_CHUNK_SIZE="$chunk"
           -DFOTA_CONFIG_ERR_NAMES="${names:-0}" $modes
           -I"$port/include" -I"$port/src"
           -I"$root/agent/include" -I"$out/include" "${flags[@]}")
    local n=0 src obj ex
    for src in "$port"/src/*.c "$port"/examples/*/main/*.c "$root"/agent/src/*.c; do
        case "$src" in
        "$port"/src/*) obj="$dir/port/$(basename "${src%.c}").o" ;;
        "$port"/examples/*)
            ex=${src#"$port"/examples/}
            obj="$dir/example-${ex%%/*}-$(basename "${src%.c}").o"
            ;;
        *) obj="$dir/agent/$(basename "${src%.c}").o" ;;
        esac
        xtensa-lx106-elf-gcc "${flags[@]}" -c "$src" -o "$obj" ||
            { echo "FAILED ($name): $src"; exit 1; }
        n=$((n + 1))
    done
    local calls
    calls=$(xtensa-lx106-elf-nm -u "$dir"/port/*.o | awk '{ print $2 }' | sort -u)
    for sym in esp_partition_write esp_ota_set_boot_partition nvs_set_blob esp_http_client_read; do
        grep -qx "$sym" <<<"$calls" || { echo "$name: the component never calls $sym"; exit 1; }
    done
    local bad
    bad=$(xtensa-lx106-elf-nm -u "$dir"/port/*.o "$dir"/agent/*.o |
        grep -E ' U (abort|_esp_error_check_failed)$' || true)
    [ -z "$bad" ] || { echo "$name: the component can abort:"; echo "$bad"; exit 1; }
    local macros
    macros=$(grep -c '^#define CONFIG_' "$dir/sdkconfig.h")
    echo "$name: $n files compiled ($macros CONFIG_ macros in sdkconfig.h)"
}

start=$(date +%s)
compile rollback BOOTLOADER_APP_ROLLBACK_ENABLE=y
# fota_esp_defaults.h (builds without our Kconfig: Arduino) holds the Kconfig defaults, the
# "rollback" configuration's values, for every option but the two it leaves to ESP-IDF's build.
defaults="$port/include/fota_esp_defaults.h"
want=$(grep '^#define CONFIG_FOTA_' "$out/rollback/sdkconfig.h" |
    grep -v -e ' CONFIG_FOTA_EMBED_RELEASE_KEY ' -e ' CONFIG_FOTA_RELEASE_KEY_FILE ' | sort)
have=$(grep -o '^#define CONFIG_FOTA_.*' "$defaults" | sort)
[ "$want" = "$have" ] || { echo "$defaults differs from the Kconfig defaults:";
    diff <(echo "$want") <(echo "$have"); exit 1; }
# The host build of the component takes them too (emu/esp-idf/component/sdkconfig_project.h
# holds only what it changes, and must not stop fota_esp_defaults.h from applying).
host_cfg="$root/emu/esp-idf/component/sdkconfig_project.h"
! grep -q '^#define CONFIG_FOTA_SERVER_URL ' "$host_cfg" ||
    { echo "$host_cfg defines CONFIG_FOTA_SERVER_URL: fota_esp_defaults.h would not apply"; exit 1; }
compile anti-rollback BOOTLOADER_APP_ROLLBACK_ENABLE=y BOOTLOADER_APP_ANTI_ROLLBACK=y
compile names BOOTLOADER_APP_ROLLBACK_ENABLE=y FOTA_ERROR_NAMES=y FOTA_ENROLL=y
# Enrollment (the bridge firmware's) is compiled only with FOTA_ENROLL.
xtensa-lx106-elf-nm "$out/names/port/esp_enroll.o" | grep -q ' T fota_esp_enroll_step$' ||
    { echo "names: FOTA_ENROLL=y but esp_enroll.o has no enrollment"; exit 1; }
! xtensa-lx106-elf-nm "$out/rollback/port/esp_enroll.o" | grep -q 'fota_esp_enroll_step' ||
    { echo "rollback: enrollment compiled in without FOTA_ENROLL"; exit 1; }
# The option really decides: the names are in err.o with it, and not without.
grep -q FOTA_ERR_IMAGE_MAGIC "$out/names/agent/err.o" ||
    { echo "names: FOTA_ERROR_NAMES=y but err.o has no names"; exit 1; }
! grep -q FOTA_ERR_IMAGE_MAGIC "$out/rollback/agent/err.o" ||
    { echo "rollback: the error names are in err.o without FOTA_ERROR_NAMES"; exit 1; }
# One mode built in: the other one's code is left out, and its run-time choice is not offered.
# Delta updates: on by default, and left out of the agent with FOTA_DELTA=n.
compile no-delta BOOTLOADER_APP_ROLLBACK_ENABLE=y FOTA_DELTA=n
xtensa-lx106-elf-nm "$out/rollback/agent/patch.o" | grep -q ' T fota_patch_record$' ||
    { echo "rollback: no delta updates in patch.o"; exit 1; }
! xtensa-lx106-elf-nm "$out/no-delta/agent/patch.o" | grep -q 'fota_patch_record' ||
    { echo "no-delta: delta updates compiled in with FOTA_DELTA=n"; exit 1; }
# The boot port offers the running partition (a delta's source) only where delta updates are in.
xtensa-lx106-elf-nm "$out/rollback/port/esp_boot.o" | grep -q ' U esp_ota_get_running_partition$' ||
    { echo "rollback: the boot port offers no running partition"; exit 1; }
! xtensa-lx106-elf-nm "$out/no-delta/port/esp_boot.o" | grep -q 'esp_ota_get_running_partition' ||
    { echo "no-delta: the boot port offers the running partition with FOTA_DELTA=n"; exit 1; }
compile chain-only BOOTLOADER_APP_ROLLBACK_ENABLE=y FOTA_BUILD_CHAIN_ONLY=y
compile seed-only BOOTLOADER_APP_ROLLBACK_ENABLE=y FOTA_BUILD_SEED_ONLY=y
# What a link keeps from the public calls (--gc-sections, as ESP-IDF links): "T name" lines.
kept() {
    local -a roots=()
    for f in $(grep -o 'fota_esp_[a-z_]*(' "$port/include/fota_esp.h" | tr -d '(' | sort -u); do
        roots+=(-u "$f")
    done
    xtensa-lx106-elf-ld -r --gc-sections "${roots[@]}" -o "$out/$1/linked.o" \
        "$out/$1"/agent/*.o "$out/$1"/port/*.o
    xtensa-lx106-elf-nm "$out/$1/linked.o" | awk '{ print $2, $3 }'
}
both=$(kept rollback); chain_only=$(kept chain-only); seed_only=$(kept seed-only)
grep -qx 'T fota_seed_chunk_process' <<<"$both" && grep -qx 'T fota_records_feed' <<<"$both" ||
    { echo "rollback: both modes should be linked"; exit 1; }
! grep -qx 'T fota_seed_chunk_process' <<<"$chain_only" ||
    { echo "chain-only: seed mode linked in"; exit 1; }
! grep -qx 'T fota_records_feed' <<<"$seed_only" || { echo "seed-only: chain mode linked in"; exit 1; }
grep -q '^#define CONFIG_FOTA_MODE_CHAIN 1$' "$out/chain-only/sdkconfig.h" &&
    grep -q '^#define CONFIG_FOTA_MODE_SEED 1$' "$out/seed-only/sdkconfig.h" ||
    { echo "one-mode builds: the download mode is not the one built"; exit 1; }
grep -q '^#define CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK 1$' "$out/anti-rollback/sdkconfig.h" ||
    { echo "anti-rollback: CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK not set"; exit 1; }
for d in "$port"/examples/*/; do
    [ -f "$d/sdkconfig.defaults" ] || continue
    mapfile -t overrides < <(defaults_of "$d/sdkconfig.defaults")
    compile "example-$(basename "$d")" "${overrides[@]}"
done
echo "ESP-IDF compile check passed in $(($(date +%s) - start)) s"
