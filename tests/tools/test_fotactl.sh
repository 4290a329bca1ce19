#!/usr/bin/env bash
# test_fotactl.sh - fotactl's offline commands: keygen (0600, never overwrites), release create
# (version and security version from the image's app descriptor, overrides, invalid images
# refused), release inspect (signature with the right key only, a flipped byte anywhere in the
# blob found), device key (deterministic, per device, needs a real secret).
# Run by ctest as: bash test_fotactl.sh BUILD_DIR
set -euo pipefail
B=$(cd "$1" && pwd)
W=$(mktemp -d "$B/tmp/fotactl.XXXXXX")
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$W"

"$B/fotactl" --help >/dev/null
"$B/fotactl" keygen --private r.pem --public r.pub >/dev/null
[ "$(stat -c %a r.pem)" = 600 ] || fail "private key mode $(stat -c %a r.pem)"
before=$(sha256sum r.pem)
"$B/fotactl" keygen --private r.pem --public r.pub 2>err && fail "keygen replaced a key"
grep -q FOTA_ERR_KEY_EXISTS err || fail "keygen: no clear error"
[ "$(sha256sum r.pem)" = "$before" ] || fail "the key changed"
"$B/fotactl" keygen --private r.pem --public r.pub --force >/dev/null
[ "$(sha256sum r.pem)" != "$before" ] || fail "--force did not replace the key"
"$B/fotactl" keygen --private other.pem --public other.pub >/dev/null

"$B/fota-image" create --version 4.2.0 --size 50K --secure-version 3 -o img.bin >/dev/null
id=$("$B/fotactl" release create --image img.bin --key r.pem --product inv-5k -o b.bundle 2>/dev/null)
[[ "$id" =~ ^[0-9a-f]{32}$ ]] || fail "release id '$id'"
"$B/fotactl" release inspect b.bundle --public r.pub >out || fail "inspect of a good bundle"
grep -q "^version  *4.2.0$" out || fail "version not from the descriptor"
grep -q "^security version  *3$" out || fail "security version not from the descriptor"
grep -q "^release  *$id$" out || fail "inspect shows another id"
grep -q "signature  *valid" out || fail "signature not checked"
[ "$(stat -c %s b.bundle)" = $((256 + 51200 + 32 * 50)) ] || fail "bundle size"

"$B/fotactl" release create --image img.bin --key r.pem --product inv-5k --version 4.2.1 \
    --security-version 7 --chunk-size 4096 -o o.bundle 2>/dev/null >/dev/null
"$B/fotactl" release inspect o.bundle >out
grep -q "^version  *4.2.1$" out && grep -q "^security version  *7$" out &&
    grep -q "of 4096 bytes" out || fail "overrides not applied"

# Another key's public half does not verify it.
"$B/fotactl" release inspect b.bundle --public other.pub 2>err && fail "wrong key accepted"
grep -q FOTA_ERR_MANIFEST_SIGNATURE err || fail "wrong key: $(cat err)"
# A byte flipped in the blob (record 20) is found.
cp b.bundle bad.bundle
off=$((256 + 20 * 1056 + 100))
printf '\x55' | dd of=bad.bundle bs=1 seek=$off conv=notrunc status=none
"$B/fotactl" release inspect bad.bundle --public r.pub 2>err && fail "tampered blob accepted"
grep -q "record 20 fails the hash chain" err || fail "tampered blob: $(cat err)"
# Truncated.
head -c 10000 b.bundle >short.bundle || true
"$B/fotactl" release inspect short.bundle 2>err && fail "truncated bundle accepted"
# Not an image.
head -c 4096 /dev/urandom >junk.bin
"$B/fotactl" release create --image junk.bin --key r.pem --product p -o j.bundle 2>err &&
    fail "junk image accepted"
grep -q "FOTA_ERR_IMAGE" err || fail "junk image: $(cat err)"
[ ! -e j.bundle ] || fail "a bundle was written for junk"
"$B/fotactl" release create --image img.bin --key r.pub --product p -o j.bundle 2>/dev/null &&
    fail "signed with a public key"

head -c 32 /dev/urandom >master
k1=$("$B/fotactl" device key dev-1 --master master)
k1b=$("$B/fotactl" device key dev-1 --master master)
k2=$("$B/fotactl" device key dev-2 --master master)
[[ "$k1" =~ ^[0-9a-f]{64}$ ]] || fail "device key '$k1'"
[ "$k1" = "$k1b" ] || fail "device key not deterministic"
[ "$k1" != "$k2" ] || fail "two devices share a key"
head -c 8 /dev/urandom >short
"$B/fotactl" device key dev-1 --master short 2>/dev/null && fail "short master secret accepted"
"$B/fotactl" release list --token t --server http://127.0.0.1:1 2>err && fail "no server, success"
grep -q "release list" err || fail "connection error unclear"
echo "PASS: fotactl"
