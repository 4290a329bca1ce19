#!/usr/bin/env bash
# fleet.sh - a small fleet for the operator console to show, on a fotad of its own (used by
# tests/integration/test_console_browser.sh):
#   - product inv: devices updated 1.0.0 -> 1.1.0 (confirmed), by a delta (1.1.0 is 1.0.0 with 4 KB
#     added)
#   - product inv-b: a release whose self-test fails: every device rolls back
#   - product inv-sec: a release below the devices' security floor: every device ends in error
#     (FOTA_ERR_SECURITY_VERSION or the like, the error names the console shows)
#   - product inv-r: a rollout in stages 3 devices, 100 %, of a release that fails on every
#     device: it pauses itself at stage 1 by its threshold
# fotad runs on loopback with --rollout-tick 1 and stays up; its pid, URL and the admin token are
# written to DIR/fotad.pid, DIR/url, DIR/admin.token.
#   fleet.sh BUILD_DIR DIR [DEVICES_PER_PRODUCT]
set -euo pipefail
bin=$(cd "$1" && pwd)
dir=$2
n=${3:-8}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$dir"
head -c 32 /dev/urandom >master.key
head -c 24 /dev/urandom | base64 | tr -d '/+=' >admin.token
chmod 600 master.key admin.token
"$bin/fotactl" keygen --private release.pem --public release.pub --force >/dev/null
size=64K
"$bin/fota-image" create --version 1.0.0 --size $size --seed 3 -o v1.bin >/dev/null
"$bin/fota-image" create --version 1.1.0 --size 68K --seed 3 -o v2.bin >/dev/null
"$bin/fota-image" create --version 1.2.0-bad --size $size --fail-selftest -o bad.bin >/dev/null
"$bin/fota-image" create --version 1.1.0 --size $size -o sec.bin >/dev/null
"$bin/fota-image" create --version 1.3.0 --size $size -o v3.bin >/dev/null
rel() { # rel IMAGE PRODUCT OUT [args]: sign, print the id
    local image=$1 product=$2 out=$3
    shift 3
    "$bin/fotactl" release create --image "$image" --key release.pem --product "$product" \
        -o "$out" "$@" 2>/dev/null
}
r2=$(rel v2.bin inv v2.bundle)
rb=$(rel bad.bin inv-b bad.bundle)
rs=$(rel sec.bin inv-sec sec.bundle --security-version 1 --chunk-size 2048)
r3=$(rel v3.bin inv-r v3.bundle)
"$bin/fotactl" release delta --from v1.bin --release v2.bundle --key release.pem -o d2.bundle \
    >/dev/null 2>&1

rm -f port
"$bin/fotad" --port 0 --port-file "$dir/port" --data-dir "$dir/data" --release-key release.pub \
    --master-secret-file master.key --admin-token-file admin.token --rollout-tick 1 \
    2>fotad.log &
echo $! >fotad.pid
for _ in $(seq 1 100); do
    [ -s port ] && break
    sleep 0.1
done
[ -s port ] || { echo "fleet.sh: fotad did not start (fotad.log)" >&2; exit 1; }
url="http://127.0.0.1:$(cat port)"
echo "$url" >url
export FOTA_SERVER="$url" FOTA_TOKEN
FOTA_TOKEN=$(cat admin.token)
for b in v2 d2 bad sec v3; do "$bin/fotactl" release upload $b.bundle >/dev/null; done
"$bin/fotactl" assign "$r2" --product inv >/dev/null
"$bin/fotactl" assign "$rb" --product inv-b >/dev/null
"$bin/fotactl" assign "$rs" --product inv-sec >/dev/null
sim=(--image v1.bin --release-key release.pub --master-secret-file master.key --devices "$n"
    --server "$url" --check-interval 500 --no-progress --timeout 120)
"$bin/fota-sim" run "${sim[@]}" --product inv --id-prefix inv- --to 1.1.0 >sim-inv.out
"$bin/fota-sim" run "${sim[@]}" --product inv-b --id-prefix rb- --mode seed \
    --expect rolled_back >sim-rb.out
"$bin/fota-sim" run "${sim[@]}" --product inv-sec --id-prefix sec- --security-floor 2 \
    --attempts 1 --expect none >sim-sec.out || true
# The rollout: the devices check in once, then it starts, then they run against it.
"$bin/fota-sim" run "${sim[@]}" --product inv-r --id-prefix ro- --expect none >/dev/null
"$bin/fotactl" rollout create "$r3" --product inv-r --name canary-1.3.0 --stages 3,100% \
    --stage-max-failures 1 --start >/dev/null
"$bin/fota-sim" run "${sim[@]}" --product inv-r --id-prefix ro- --expect none --linger 3000 \
    --fail-rate 100% --fail-version 1.3.0 >sim-ro.out || true
# Tags, for the console's filters.
"$bin/fotactl" device tag --add eu inv-000001 inv-000002 rb-000001 >/dev/null 2>&1 ||
    curl -fsS -H "Authorization: Bearer $FOTA_TOKEN" -d \
        '{"device_ids":["inv-000001","inv-000002","rb-000001"],"add":["eu"]}' \
        "$url/api/admin/device-tags" >/dev/null
echo "fleet ready at $url"
