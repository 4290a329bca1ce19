#!/bin/bash
# Fleet figures for docs/FOTA_SIM.md: memory per simulated device, run time and bytes on the
# wire per firmware byte, measured with the real fotad and fota-sim on this machine.
#
#   devices     fleet size
#   image       initial and new image size (the compact flash layout is sized to it)
#   seconds     fota-sim's run time, first check to last device done
#   flash/dev   each device's emulated flash (compact layout, in memory)
#   RSS/dev     fota-sim's peak resident memory divided by the devices
#   wire/fw     bytes on the wire (both ways, headers included) per firmware byte installed
#
# Usage: bench/sim_fleet.sh [BUILD_DIR] [DEVICES] [IMAGE_SIZE] [MODE]
#        (defaults: build/, 1000, 64K, chain; bench/sim_fleet.sh build 10000 64K chain is the
#        10,000-device figure)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
devices=${2:-1000}
size=${3:-64K}
mode=${4:-chain}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for tool in fotad fota-sim fota-image fotactl; do
    [ -x "$build/$tool" ] || { echo "$build/$tool is not built" >&2; exit 1; }
done
head -c 32 /dev/urandom >"$work/master"
head -c 24 /dev/urandom | base64 >"$work/token"
chmod 600 "$work/master" "$work/token"
"$build/fotactl" keygen --private "$work/release.pem" --public "$work/release.pub" >/dev/null
"$build/fota-image" create --version 1.0.0 --size "$size" -o "$work/v1.bin" >/dev/null
"$build/fota-image" create --version 2.0.0 --size "$size" -o "$work/v2.bin" >/dev/null
rel=$("$build/fotactl" release create --key "$work/release.pem" --image "$work/v2.bin" \
    --product bench -o "$work/v2.bundle" 2>/dev/null | grep -oE '[0-9a-f]{32}' | head -n 1)
cat >"$work/ready.sh" <<EOF
set -eu
auth="Authorization: Bearer \$(cat $work/token)"
curl -sf -o /dev/null -H "\$auth" -H 'Content-Type: application/octet-stream' \
    --data-binary @$work/v2.bundle "\$FOTA_SIM_URL/api/admin/releases"
curl -sf -o /dev/null -H "\$auth" -d '{"release":"$rel","product":"bench"}' \
    "\$FOTA_SIM_URL/api/admin/assignments"
EOF

"$build/fota-sim" run --devices "$devices" --mode "$mode" --product bench \
    --image "$work/v1.bin" --release-key "$work/release.pub" --master-secret-file "$work/master" \
    --fotad "$build/fotad --port {port} --data-dir $work/data --release-key $work/release.pub \
--master-secret-file $work/master --admin-token-file $work/token --log-level warn" \
    --fotad-log "$work/fotad.log" --on-ready "bash $work/ready.sh" --no-progress \
    --timeout 3600 --json "$work/sum.json" >"$work/sum.txt"

num() { grep -oE "^\"$1\":[0-9.]+" "$work/sum.json" | cut -d: -f2; }
rss=$(num peak_rss_bytes)
printf '%-8s %-6s %-6s %9s %10s %10s %8s  %s\n' devices image mode seconds flash/dev RSS/dev \
    wire/fw result
printf '%-8s %-6s %-6s %9s %9sK %9sK %8s  %s\n' "$devices" "$size" "$mode" "$(num seconds)" \
    $(($(num flash_bytes_per_device) / 1024)) $((rss / devices / 1024)) \
    "$(num wire_per_firmware_byte)" "$(grep '^result:' "$work/sum.txt" | cut -d' ' -f2-)"
