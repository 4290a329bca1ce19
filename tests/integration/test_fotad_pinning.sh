#!/usr/bin/env bash
# test_fotad_pinning.sh - a download keeps its release (docs/PROTOCOL.md 4.3): a seed-mode
# client that asks for chunks without release= keeps getting the release it was offered at its
# last check even when a newer release is uploaded and assigned in the middle of the download;
# release= pins explicitly; the next check moves the device on. Also: a device's own assignment
# wins over its product's, and chunks without an offer follow the current assignment.
# Run by ctest as: bash test_fotad_pinning.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotad-pinning

D=/api/inverter/fota
make_keys
make_image 2.0.0 "$W/v2.bin" 12K
make_image 3.0.0 "$W/v3.bin" 12K
R2=$(make_bundle "$W/v2.bin" inv-5k 2.0.0 "$W/v2.bundle")
R3=$(make_bundle "$W/v3.bin" inv-5k 3.0.0 "$W/v3.bundle")
fotad_start

admin POST /api/admin/releases --data-binary @"$W/v2.bundle"
expect 201 "upload 2.0.0"
admin POST /api/admin/assignments -d "{\"release\":\"$R2\",\"product\":\"inv-5k\"}"
expect 201 "assign 2.0.0 to the product"

# chunk_of DEVICE N IMAGE [extra]: chunk N (no release=) must be chunk N of IMAGE.
chunk_of() {
    dev "$1" "$D/chunk?chunk_number=$2${4:-}" --check-chunk "$3"
    expect 200 "chunk $2 for $1"
    body_has "chunk $2 ok"
}

dev inv-1 "$D/check?version=1.0.0&hw=inv-5k"
expect 200 "offer 2.0.0"
body_has "\"release\":\"$R2\""
chunk_of inv-1 0 "$W/v2.bin"

# 3.0.0 arrives and is assigned (to the product and to the device itself) mid-download.
admin POST /api/admin/releases --data-binary @"$W/v3.bundle"
expect 201 "upload 3.0.0"
admin POST /api/admin/assignments -d "{\"release\":\"$R3\",\"product\":\"inv-5k\"}"
expect 201 "assign 3.0.0 to the product"
admin POST /api/admin/assignments -d "{\"release\":\"$R3\",\"device\":\"inv-1\"}"
expect 201 "assign 3.0.0 to the device"
chunk_of inv-1 1 "$W/v2.bin"
chunk_of inv-1 11 "$W/v2.bin"
chunk_of inv-1 2 "$W/v2.bin" "&release=$R2"
chunk_of inv-1 2 "$W/v3.bin" "&release=$R3"
dev inv-1 "$D/blob/$R2" --range "bytes=0-1055" --out "$W/rec0"
expect 206 "the old release's blob"
dd if="$W/v2.bundle" of="$W/want0" bs=1 skip=256 count=1056 status=none
cmp -s "$W/rec0" "$W/want0" || fail "old blob record 0"
admin GET /api/admin/devices/inv-1
body_has "\"offered\":\"$R2\""

# The next check offers 3.0.0, and chunks follow.
dev inv-1 "$D/check?version=1.0.0&hw=inv-5k"
expect 200 "offer 3.0.0"
body_has "\"release\":\"$R3\""
chunk_of inv-1 3 "$W/v3.bin"

# A device's own assignment wins over its product's.
admin POST /api/admin/assignments -d "{\"release\":\"$R2\",\"device\":\"inv-2\"}"
expect 201 "assign 2.0.0 to inv-2"
dev inv-2 "$D/check?version=1.0.0&hw=inv-5k"
expect 200 "inv-2's own assignment"
body_has "\"release\":\"$R2\""
dev inv-3 "$D/check?version=1.0.0&hw=inv-5k"
expect 200 "inv-3 follows its product"
body_has "\"release\":\"$R3\""

# Running the assigned version: nothing offered; without an offer chunks follow the assignment.
dev inv-3 "$D/check?version=3.0.0&hw=inv-5k"
expect 204 "inv-3 runs 3.0.0"
chunk_of inv-3 4 "$W/v3.bin"
# A device that never checked but has its own assignment.
admin POST /api/admin/assignments -d "{\"release\":\"$R2\",\"device\":\"inv-4\"}"
chunk_of inv-4 5 "$W/v2.bin"

fotad_stop
pass
