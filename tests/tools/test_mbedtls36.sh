#!/bin/bash
# The agent core, the host library and the unit tests build and pass against Mbed TLS 3.6 (the
# line ESP-IDF v5 ships), not only against Debian's 2.28: unpack ../shared's 3.6.4 source into
# the build dir, configure a second build tree of this project with FOTA_MBEDTLS_SRC pointing at
# it (cmake/mbedtls.cmake), build the unit tests and run them with ctest, and check that what
# they linked really is 3.6.4. The second tree is a plain RelWithDebInfo build whatever the outer
# one is (no sanitizers: the outer sanitizer build covers memory safety; this covers the API).
# Skipped, and passing, where ../shared is not there.
set -euo pipefail
build="$(cd "$1" && pwd)"
root="$(cd "$(dirname "$0")/../.." && pwd)"
version=3.6.4
third_party="$root/../shared/third_party/mbedtls"
tarball="$third_party/mbedtls-$version-src.tar.gz"
src="$build/mbedtls-$version"
sub="$build/mbedtls36"

if [ ! -d "$third_party" ]; then
    echo "SKIPPED: ../shared/third_party/mbedtls not found: Mbed TLS 3.6 check not run"
    exit 0
fi
[ -f "$tarball" ] || { echo "missing $tarball"; exit 1; }

# Unpack once, atomically (an interrupted run leaves no half tree behind).
if [ ! -f "$src/include/mbedtls/build_info.h" ]; then
    tmp=$(mktemp -d "$build/mbedtls-unpack.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    tar -xzf "$tarball" -C "$tmp"
    rm -rf "$src"
    mv "$tmp/mbedtls-$version" "$src"
fi

start=$SECONDS
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
cmake -S "$root" -B "$sub" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOTA_SANITIZE=OFF \
    ${cc:+-DCMAKE_C_COMPILER="$cc"} -DFOTA_MBEDTLS_SRC="$src" >/dev/null

targets=()
for t in "$root"/tests/unit/test_*.c; do
    case "$t" in
    */test_agent_one_mode.c) targets+=(test_agent_seed_only test_agent_chain_only) ;; # built twice
    *) targets+=("$(basename "$t" .c)") ;;
    esac
done
cmake --build "$sub" -j2 --target "${targets[@]}" >/dev/null
echo "built Mbed TLS $version and ${#targets[@]} unit tests in $((SECONDS - start)) s"

# Nothing may come from the system's shared mbedTLS.
for t in "${targets[@]}"; do
    if readelf -d "$sub/$t" | grep -q 'NEEDED.*libmbed'; then
        echo "$t links the system's mbedTLS:"
        readelf -d "$sub/$t" | grep NEEDED
        exit 1
    fi
done

# test_manifest asserts that its headers and library are both $version (it does so in the ctest
# run below as well; here its own line shows which mbedTLS it ran against).
out=$(FOTA_EXPECT_MBEDTLS=$version "$sub/test_manifest" 2>&1) || { echo "$out"; exit 1; }
echo "$out" | grep -F "mbedTLS: headers $version, library $version" ||
    { echo "$out"; echo "test_manifest did not run against Mbed TLS $version"; exit 1; }

(cd "$sub" && FOTA_EXPECT_MBEDTLS=$version ctest -R '^unit\.' -j2 --output-on-failure)
echo "Mbed TLS $version: built and tested in $((SECONDS - start)) s"
