#!/bin/bash
# Fleet figures for docs/FOTA_SIM.md and docs/BENCHMARKS.md: memory per simulated device, run
# time and bytes on the wire per firmware byte, measured with the real fotad and fota-sim on this
# machine. The same fleet runs twice, side by side: first with --no-share (each device holds its
# whole flash, as before the sharing), then with the devices' flashes shared copy-on-write from
# one template (fota-sim's default).
#
#   devices     fleet size
#   image       initial and new image size (the compact flash layout is sized to it)
#   sharing     template (copy-on-write, the default) or own (--no-share)
#   seconds     fota-sim's run time, first check to last device done
#   cpu         fota-sim's CPU time (user + system) over the run (wall time depends on what else
#               the machine runs; the CPU time shows what the sharing costs)
#   flash/dev   each device's emulated flash (compact layout, in memory)
#   held@start  what the flashes hold in memory per device once every device has booted, before
#               the update (fota_flash_emu_memory, the template's share included)
#   held@end    the same when every device has written the new image into its other slot
#   RSS@start   fota-sim's peak resident memory per device when every device has booted
#   RSS@end     fota-sim's peak resident memory per device over the whole run
#   wire/fw     bytes on the wire (both ways, headers included) per firmware byte installed
#
# Usage: bench/sim_fleet.sh [BUILD_DIR] [DEVICES] [IMAGE_SIZE] [MODE] [SHARING]
#        (defaults: build/, 1000, 64K, chain, both; SHARING is both, share or no-share;
#        bench/sim_fleet.sh build 10000 64K chain is the 10,000-device figure)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
devices=${2:-1000}
size=${3:-64K}
mode=${4:-chain}
sharing=${5:-both}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

case "$sharing" in
both) runs="no-share share" ;;
share | no-share) runs=$sharing ;;
*) echo "sharing: both, share or no-share, not $sharing" >&2; exit 2 ;;
esac
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
cat >"$work/ready.sh" <<EOS
set -eu
auth="Authorization: Bearer \$(cat $work/token)"
curl -sf -o /dev/null -H "\$auth" -H 'Content-Type: application/octet-stream' \
    --data-binary @$work/v2.bundle "\$FOTA_SIM_URL/api/admin/releases"
curl -sf -o /dev/null -H "\$auth" -d '{"release":"$rel","product":"bench"}' \
    "\$FOTA_SIM_URL/api/admin/assignments"
EOS

# fleet share|no-share: one run against a fresh fotad; its summary in $work/<how>.json.
fleet() {
    local how=$1 opt=()
    [ "$how" = no-share ] && opt=(--no-share)
    rm -rf "$work/data"
    "$build/fota-sim" run --devices "$devices" --mode "$mode" --product bench \
        --image "$work/v1.bin" --release-key "$work/release.pub" \
        --master-secret-file "$work/master" "${opt[@]+"${opt[@]}"}" \
        --fotad "$build/fotad --port {port} --data-dir $work/data --release-key \
$work/release.pub --master-secret-file $work/master --admin-token-file $work/token \
--log-level warn" \
        --fotad-log "$work/fotad.log" --on-ready "bash $work/ready.sh" --no-progress \
        --timeout 3600 --json "$work/$how.json" >"$work/$how.txt" || true
    [ -s "$work/$how.json" ] || { cat "$work/$how.txt" >&2; echo "fota-sim: no summary" >&2; exit 1; }
}

num() { grep -oE "^\"$2\":[0-9.]+" "$work/$1.json" | cut -d: -f2; }
str() { grep -oE "^\"$2\":\"[^\"]*\"" "$work/$1.json" | cut -d'"' -f4; }
kb() { echo "$(($(num "$1" "$2") / devices / 1024))K"; }

printf '%-8s %-6s %-6s %-9s %8s %7s %9s %11s %9s %10s %9s %8s  %s\n' devices image mode \
    sharing seconds cpu flash/dev held@start held@end RSS@start RSS@end wire/fw result
for how in $runs; do
    fleet "$how"
    printf '%-8s %-6s %-6s %-9s %8s %7.1f %8sK %11s %9s %10s %9s %8s  %s\n' "$devices" "$size" \
        "$mode" "$(str "$how" flash_sharing)" "$(num "$how" seconds)" "$(num "$how" cpu_seconds)" \
        $(($(num "$how" flash_bytes_per_device) / 1024)) "$(kb "$how" flash_held_start_bytes)" \
        "$(kb "$how" flash_held_end_bytes)" "$(kb "$how" peak_rss_start_bytes)" \
        "$(kb "$how" peak_rss_bytes)" "$(num "$how" wire_per_firmware_byte)" \
        "$(grep '^result:' "$work/$how.txt" | cut -d' ' -f2-)"
done
