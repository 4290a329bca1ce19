#!/bin/bash
# What the operator console costs fotad at fleet scale (docs/CONSOLE.md, docs/BENCHMARKS.md): a
# fleet of DEVICES emulated devices (fota-sim) checks in with a real fotad - most of them updated
# from 1.0.0 to 1.1.0, the rest offered nothing - and then each admin API request the console
# makes is timed (curl, the median of 20, on loopback) with the size of its answer:
#
#   overview     GET /api/admin/overview, the whole fleet at a glance (aggregate queries)
#   page 1       GET /api/admin/devices?limit=50, the first page of the device list
#   page mid     the page after the fleet's middle device (keyset paging: no offset to skip)
#   filter q     a part of the device id, with the filter's total
#   filter state devices in one state
#   device       one device and its last 100 reports
#   all devices  GET /api/admin/devices without paging (every device: what the console avoids)
#
# Run by hand (not by `make bench`, a 10,000-device fleet takes minutes):
#   bench/console.sh [BUILD_DIR] [DEVICES] [UPDATED]   (defaults: build/, 10000, 2000)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
devices=${2:-10000}
updated=${3:-2000}
work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
for tool in fotad fota-sim fota-image fotactl; do
    [ -x "$build/$tool" ] || { echo "$build/$tool is not built" >&2; exit 1; }
done
cd "$work"
head -c 32 /dev/urandom >master
head -c 24 /dev/urandom | base64 | tr -d '/+=' >token
chmod 600 master token
"$build/fotactl" keygen --private release.pem --public release.pub >/dev/null
"$build/fota-image" create --version 1.0.0 --size 16K -o v1.bin >/dev/null
"$build/fota-image" create --version 1.1.0 --size 16K -o v2.bin >/dev/null
rel=$("$build/fotactl" release create --key release.pem --image v2.bin --product bench \
    -o v2.bundle 2>/dev/null)
"$build/fotad" --port 0 --port-file port --data-dir data --release-key release.pub \
    --master-secret-file master --admin-token-file token --log-level warn 2>fotad.log &
pid=$!
for _ in $(seq 1 100); do [ -s port ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat port)"
export FOTA_SERVER=$url FOTA_TOKEN
FOTA_TOKEN=$(cat token)
"$build/fotactl" release upload v2.bundle >/dev/null
sim=(--image v1.bin --release-key release.pub --master-secret-file master --server "$url"
    --product bench --no-progress --timeout 3600)
t0=$(date +%s)
"$build/fota-sim" run "${sim[@]}" --devices $((devices - updated)) --first-id $((updated + 1)) \
    --expect none >/dev/null
"$build/fotactl" assign "$rel" --product bench >/dev/null
"$build/fota-sim" run "${sim[@]}" --devices "$updated" --to 1.1.0 >/dev/null
echo "fleet: $devices devices ($updated updated) in $(($(date +%s) - t0)) s; fotad on SQLite"

# timed NAME PATH: the median time of 20 requests and the answer's size.
timed() {
    local i times
    times=$(for i in $(seq 1 20); do
        curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $FOTA_TOKEN" "$url$2"
    done | sort -n | sed -n 10p)
    local bytes
    bytes=$(curl -s -H "Authorization: Bearer $FOTA_TOKEN" "$url$2" | wc -c)
    printf '%-13s %9.1f %10s  %s\n' "$1" "$(echo "$times" | awk '{print $1 * 1000}')" "$bytes" "$2"
}
mid=$(printf 'sim-%06d' $((devices / 2)))
printf '%-13s %9s %10s  %s\n' request "ms (med)" bytes path
timed overview /api/admin/overview
timed "page 1" "/api/admin/devices?limit=50"
timed "page mid" "/api/admin/devices?limit=50&after=$mid"
timed "filter q" "/api/admin/devices?limit=50&q=0077"
timed "filter state" "/api/admin/devices?limit=50&state=confirmed"
timed device "/api/admin/devices/sim-000001"
timed "all devices" /api/admin/devices
