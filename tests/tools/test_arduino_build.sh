#!/bin/bash
# Compile check of the Arduino-ESP32 library as users install it (scripts/arduino-lib), the way
# the Arduino IDE builds it: every .c and .cpp under the library's src/, recursively, with only
# -I <library>/src, the ESP-IDF include path and no definition of ours. The sdkconfig.h comes from
# ESP-IDF v5.5.5's Kconfig alone (../shared/third_party/esp-idf, kconfiglib), as Arduino-ESP32
# ships it: none of the component's options (fota_esp_defaults.h supplies them), rollback on and
# a 1000 Hz tick as Arduino-ESP32's library builder sets them. Compilers: Debian's
# xtensa-lx106-elf-gcc and -g++ (-Werror; the ESP32 is an LX6, lx106 the closest Xtensa compiler
# Debian has), which come with no C++ standard library: FotaClient needs none. The .zip must hold
# the tree and come out the same bytes twice.
# Then the objects: FotaClient allocates nothing and uses no Arduino String, it defines
# verifyRollbackLater() (C linkage) that keeps a new image pending; together they call the ESP-IDF
# services the component is built on, abort nowhere, leave no symbol of ours undefined, define
# only globals named as ours, each once (the sketch links the core and ESP-IDF beside them), and
# carry the error names (on by default outside ESP-IDF's build). Last the library's metadata: the
# fields of library.properties, library.json, examples/X/X.ino, keywords.txt.
# Skips (exit 0) when ../shared/third_party/esp-idf is absent.
# Usage: tests/tools/test_arduino_build.sh BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/lib/esp_idf_bundle.sh" "Arduino library compile check" \
    xtensa-lx106-elf-g++

start=$(date +%s)
out="$(cd "$1" && pwd)/arduino-check"
fail() { echo "FAILED: $*"; exit 1; }
words() { tr '\n' ' ' <<<"$1" | sed 's/ $//'; } # a list of symbols on one line

# --- ESP-IDF as Arduino-ESP32 builds it -----------------------------------------------------
# Our own copy of the headers: test_esp_idf_build.sh adds our Kconfig to its copy's kconfigs.in.
rm -rf "$out"
mkdir -p "$out/esp-idf-headers" "$out/include" "$out/obj"
tar xzf "$bundle/esp-idf-v5.5.5-headers.tar.gz" -C "$out/esp-idf-headers"
idf="$out/esp-idf-headers/esp-idf"
cfg="$out/sdkconfig.h"
overrides=(BOOTLOADER_APP_ROLLBACK_ENABLE=y FREERTOS_HZ=1000)
/usr/bin/python3 "$bundle/gen-sdkconfig.py" "$idf" "$cfg" esp32 "${overrides[@]}" >/dev/null ||
    fail "kconfiglib could not write sdkconfig.h"
grep -qxF '#define CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE 1' "$cfg" ||
    fail "BOOTLOADER_APP_ROLLBACK_ENABLE=y did not take"
grep -qxF '#define CONFIG_FREERTOS_HZ 1000' "$cfg" || fail "FREERTOS_HZ=1000 did not take"
! grep -q '^#define CONFIG_FOTA_' "$cfg" ||
    fail "sdkconfig.h has the component's options (CONFIG_FOTA_*); Arduino's has none"
echo "sdkconfig.h: ESP-IDF's Kconfig only, $(grep -c '^#define CONFIG_' "$cfg") CONFIG_ macros" \
    "(rollback on, FREERTOS_HZ 1000, no CONFIG_FOTA_*)"

# --- the library ----------------------------------------------------------------------------
"$root/scripts/arduino-lib" "$out/lib" >"$out/arduino-lib.log" 2>&1 ||
    { cat "$out/arduino-lib.log"; fail "scripts/arduino-lib"; }
lib="$out/lib/fota"
version=$(sed -n 's/^version=//p' "$lib/library.properties")
[ -f "$out/lib/fota-$version.zip" ] || fail "scripts/arduino-lib wrote no fota-$version.zip"
/usr/bin/python3 - "$out/lib/fota-$version.zip" "$lib" <<'EOF' || fail "the zip is not the tree"
import os, sys, zipfile
zipped = set(n for n in zipfile.ZipFile(sys.argv[1]).namelist() if not n.endswith("/"))
base = os.path.dirname(sys.argv[2])
tree = set(os.path.relpath(os.path.join(d, f), base)
           for d, _, fs in os.walk(sys.argv[2]) for f in fs)
if zipped != tree or any(not n.startswith("fota/") for n in zipped):
    print("zip and tree differ:", sorted(zipped ^ tree))
    sys.exit(1)
EOF
# The same bytes again, from another folder at another time.
"$root/scripts/arduino-lib" "$out/lib-again" >/dev/null 2>&1 || fail "scripts/arduino-lib, again"
cmp -s "$out/lib/fota-$version.zip" "$out/lib-again/fota-$version.zip" ||
    fail "fota-$version.zip differs between two runs: not reproducible"
echo "library: $(find "$lib" -type f | wc -l) files in fota/, fota-$version.zip (reproducible)"

# --- compile as the Arduino IDE does --------------------------------------------------------
# C++ as Arduino-ESP32 3.x compiles sketches and libraries: C++20 (gnu++2a), exceptions on, RTTI
# off; each .cpp once more as C++17 without exceptions, which a stricter project may use.
read -r -a idf_flags <<<"$(sh "$bundle/idf-cflags" "$idf" "$out")"
common=(-mlongcalls -Os -Wall -Wextra -Werror -I"$lib/src" -I"$out/include" "${idf_flags[@]}")
n=0
while IFS= read -r src; do
    rel=${src#"$lib/src/"}
    obj="$out/obj/${rel%.*}.o"
    mkdir -p "$(dirname "$obj")"
    case "$src" in
    *.c) xtensa-lx106-elf-gcc -std=gnu17 "${common[@]}" -c "$src" -o "$obj" ;;
    *.cpp) xtensa-lx106-elf-g++ -std=gnu++2a -fexceptions -fno-rtti "${common[@]}" \
        -c "$src" -o "$obj" &&
        xtensa-lx106-elf-g++ -std=gnu++17 -fno-exceptions -fno-rtti "${common[@]}" \
            -c "$src" -o "$out/cxx17.o" ;;
    esac || fail "$rel does not compile"
    n=$((n + 1))
done < <(find "$lib/src" -type f \( -name '*.c' -o -name '*.cpp' \) | sort)
mapfile -t objs < <(find "$out/obj" -name '*.o' | sort)
[ "${#objs[@]}" = "$n" ] || fail "$n sources but ${#objs[@]} objects"
echo "compiled: $n files (C as gnu17, C++ as gnu++2a and gnu++17), only -I src, no -D"

# --- the objects ----------------------------------------------------------------------------
client="$out/obj/FotaClient.o"
[ -f "$client" ] || fail "no FotaClient.o"
# operator new and delete, every form: _Znwj, _Znaj, _ZnwjRKSt9nothrow_t, _ZdlPv, _ZdaPvj...
alloc='malloc|calloc|realloc|free|strdup|strndup|heap_caps_[a-z_]*alloc[a-z_]*|_Zn[wa].*|_Zd[la].*'
heap=$(xtensa-lx106-elf-nm -u "$client" | awk '{ print $2 }' | grep -E "^($alloc)\$" || true)
[ -z "$heap" ] || fail "FotaClient allocates:" "$(words "$heap")"
string=$(xtensa-lx106-elf-nm "$client" | awk '{ print $NF }' | grep '6String' || true)
[ -z "$string" ] || fail "FotaClient uses Arduino's String:" "$(words "$string")"
xtensa-lx106-elf-nm --defined-only "$client" | grep -qx '[0-9a-f]* T verifyRollbackLater' ||
    fail "FotaClient.o does not define verifyRollbackLater (text, C linkage): the Arduino core" \
        "would confirm every new image at start-up"
undef=$(xtensa-lx106-elf-nm -u "${objs[@]}" | awk 'NF == 2 { print $2 }' | sort -u)
defined=$(xtensa-lx106-elf-nm --defined-only -g "${objs[@]}" | awk 'NF == 3 { print $3 }' | sort -u)
for sym in esp_partition_write esp_ota_set_boot_partition nvs_set_blob esp_http_client_read; do
    grep -qx "$sym" <<<"$undef" || fail "the library never calls $sym"
done
aborts=$(grep -xE 'abort|_esp_error_check_failed' <<<"$undef" || true)
[ -z "$aborts" ] || fail "the library can abort:" "$(words "$aborts")"
# Ours must all be inside: an Arduino link has nothing else of ours (no embedded release key).
ours=$(comm -23 <(grep -E '^(fota_|_binary_fota_)' <<<"$undef") <(echo "$defined") || true)
[ -z "$ours" ] || fail "referenced but not in the library:" "$(words "$ours")"
# The sketch links the core and ESP-IDF too: every global the library defines is named as ours.
foreign=$(grep -vE '^(fota_|_ZN[A-Z]*10FotaClient|verifyRollbackLater$)' <<<"$defined" || true)
[ -z "$foreign" ] ||
    fail "the library defines globals not named as ours:" "$(words "$foreign")"
twice=$(xtensa-lx106-elf-nm --defined-only -g "${objs[@]}" | awk 'NF == 3 { print $3 }' | sort |
    uniq -d)
[ -z "$twice" ] || fail "defined twice in the library:" "$(words "$twice")"
grep -q FOTA_ERR_IMAGE_MAGIC "$out/obj/fota_core/err.o" ||
    fail "fota_core/err.o has no error names (FOTA_CONFIG_ERR_NAMES defaults to 1)"
echo "objects: FotaClient allocates nothing, no String, defines verifyRollbackLater;" \
    "ESP-IDF services called, no abort, every global ours and defined once, error names in"

# --- the metadata ---------------------------------------------------------------------------
props="$lib/library.properties"
prop() { sed -n "s/^$1=//p" "$props" | tr -d '\r'; }
for key in name version author maintainer sentence paragraph category url architectures; do
    [ -n "$(prop "$key")" ] || fail "library.properties has no $key="
done
[ "$(prop architectures)" = esp32 ] ||
    fail "library.properties: architectures=$(prop architectures), not esp32"
[ -z "$(prop depends)" ] || fail "library.properties: depends=$(prop depends) (the core has" \
    "all the library needs)"
case "$(prop category)" in
Display | Communication | "Signal Input/Output" | Sensors | "Device Control" | Timing | \
    "Data Storage" | "Data Processing" | Other) ;;
*) fail "library.properties: category=$(prop category) is not one of Arduino's" ;;
esac
grep -qE '^[0-9]+\.[0-9]+\.[0-9]+$' <<<"$(prop version)" ||
    fail "library.properties: version=$(prop version) is not MAJOR.MINOR.PATCH"
/usr/bin/python3 -m json.tool "$lib/library.json" >/dev/null || fail "library.json is not JSON"
/usr/bin/python3 - "$lib/library.json" "$(prop name)" "$(prop version)" <<'EOF' ||
import json, sys
d = json.load(open(sys.argv[1]))
def has(key, want):
    v = d.get(key)
    items = v if isinstance(v, list) else [s.strip() for s in str(v or "").split(",")]
    if want not in items:
        sys.exit(f"library.json: {key} does not contain {want!r}")
has("frameworks", "arduino")
has("platforms", "espressif32")
for key, want in (("name", sys.argv[2]), ("version", sys.argv[3])):
    if d.get(key) != want:
        sys.exit(f"library.json: {key} {d.get(key)!r}, library.properties {want!r}")
EOF
    fail "library.json"
ex=0
for d in "$lib"/examples/*/; do
    x=$(basename "$d")
    [ -f "$d/$x.ino" ] || fail "examples/$x has no $x.ino (Arduino opens a sketch by its folder)"
    ex=$((ex + 1))
done
[ "$ex" -gt 0 ] || fail "no examples"
tab=$'\t'
bad=$(grep -nvE -e "^[A-Za-z_][A-Za-z0-9_]*$tab(KEYWORD[123]|LITERAL[12])\$" -e '^#' -e '^$' \
    "$lib/keywords.txt" || true)
[ -z "$bad" ] ||
    { echo "$bad"; fail "keywords.txt: lines not word<TAB>KEYWORDn or LITERALn"; }
echo "metadata: library.properties and library.json agree ($(prop name) $(prop version))," \
    "$ex examples, $(grep -c "$tab" "$lib/keywords.txt") keywords"
echo "Arduino library compile check passed in $(($(date +%s) - start)) s"
