#!/usr/bin/env bash
# test_fotactl.sh - fotactl's offline commands: keygen (0600, never overwrites either file,
# --force), release create (version and security version from the image's app descriptor,
# overrides, created = now, bad options refused before any work and never truncated, invalid
# images refused with nothing written), release inspect (signature with the right key only, PEM
# or DER, a flipped byte anywhere in the blob found, wrong length, a signed bundle of a non-ESP32
# image, a wrong image SHA-256), device key (a known answer, deterministic, per device, the
# master file's raw bytes, device ids checked), --help everywhere, usage errors exit 2.
# Exit codes are checked exactly, so a leak report under the sanitizer build fails the test too.
# Run by ctest as: bash test_fotactl.sh BUILD_DIR
set -euo pipefail
B=$(cd "$1" && pwd)
mkdir -p "$B/tmp"
W=$(mktemp -d "$B/tmp/fotactl.XXXXXX")
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$W"

# expect RC CMD...: run CMD (stdout to out, stderr to err) and insist on exit code RC.
expect() {
    local want=$1 rc=0
    shift
    "$@" >out 2>err || rc=$?
    [ "$rc" = "$want" ] || { cat out err >&2; fail "exit $rc, wanted $want: $*"; }
}
# error_has TEXT: stderr is one line containing TEXT.
error_has() {
    [ "$(wc -l <err)" = 1 ] || { cat err >&2; fail "error is not one line"; }
    grep -qF -- "$1" err || fail "error lacks '$1': $(cat err)"
}

# ---- --help everywhere, usage errors ---------------------------------------------------------
expect 0 "$B/fotactl" --help
for c in keygen "release create" "release delta" "release inspect" "release upload" "release list" \
    "release show" "device list" "device show" "device key" assign "assignment list" \
    release device assignment; do
    # shellcheck disable=SC2086
    expect 0 "$B/fotactl" $c --help
    grep -q "^usage: fotactl" out || fail "$c --help: $(cat out)"
done
expect 2 "$B/fotactl"
expect 2 "$B/fotactl" frobnicate
expect 2 "$B/fotactl" release frobnicate
expect 2 "$B/fotactl" release create --image x
error_has "fotactl release create: --image, --key, --product and -o are required"
expect 2 "$B/fotactl" release delta --from x
error_has "fotactl release delta: --from, --release, --key and -o are required"
expect 2 "$B/fotactl" release delta --from a --release b --key k -o out --segment-records 0
error_has "fotactl release delta: --segment-records: a number 1..65536"
expect 2 "$B/fotactl" release delta --from a --release b --key k -o a
error_has "fotactl release delta: -o would overwrite an input file"
expect 2 "$B/fotactl" release inspect
error_has "fotactl release inspect: missing BUNDLE"
expect 2 "$B/fotactl" keygen --private a.pem --public a.pem
expect 2 "$B/fotactl" device key dev-1
error_has "--master is required"

# ---- keygen ----------------------------------------------------------------------------------
expect 0 "$B/fotactl" keygen --private r.pem --public r.pub
[ "$(stat -c %a r.pem)" = 600 ] || fail "private key mode $(stat -c %a r.pem)"
grep -q "BEGIN EC PRIVATE KEY" r.pem && grep -q "BEGIN PUBLIC KEY" r.pub || fail "not PEM"
before=$(cat r.pem r.pub | sha256sum)
expect 1 "$B/fotactl" keygen --private r.pem --public r.pub
error_has "r.pem: exists"
grep -q FOTA_ERR_KEY_EXISTS err || fail "keygen: no error name"
# Either file existing stops it, and the other one is not written.
expect 1 "$B/fotactl" keygen --private new.pem --public r.pub
error_has "r.pub: exists"
[ ! -e new.pem ] || fail "keygen wrote a private key beside an existing public one"
[ "$(cat r.pem r.pub | sha256sum)" = "$before" ] || fail "the key changed"
expect 0 "$B/fotactl" keygen --private r.pem --public r.pub --force
[ "$(cat r.pem r.pub | sha256sum)" != "$before" ] || fail "--force did not replace the key"
[ "$(stat -c %a r.pem)" = 600 ] || fail "private key mode after --force"
expect 0 "$B/fotactl" keygen --private other.pem --public other.pub
expect 1 "$B/fotactl" keygen --private nodir/x.pem --public nodir/x.pub

# ---- release create --------------------------------------------------------------------------
"$B/fota-image" create --version 4.2.0 --size 50K --secure-version 3 -o img.bin >/dev/null
t0=$(date +%s)
expect 0 "$B/fotactl" release create --image img.bin --key r.pem --product inv-5k -o b.bundle
t1=$(date +%s)
id=$(cat out)
[[ "$id" =~ ^[0-9a-f]{32}$ ]] || fail "release id '$id'"
[ "$id" = "$(head -c 256 b.bundle | sha256sum | cut -c1-32)" ] || fail "id is not SHA-256(manifest)"
grep -qF "release $id: product inv-5k, chip ESP32 (id 0), version 4.2.0, security version 3" err ||
    fail "summary: $(cat err)"
[ "$(stat -c %s b.bundle)" = $((256 + 51200 + 32 * 50)) ] || fail "bundle size"
expect 0 "$B/fotactl" release inspect b.bundle --public r.pub
grep -q "^version  *4.2.0$" out || fail "version not from the descriptor"
grep -q "^security version  *3$" out || fail "security version not from the descriptor"
grep -q "^product  *inv-5k$" out || fail "product"
grep -q "^chunks  *50 of 1024 bytes$" out || fail "default chunk size"
grep -q "^release  *$id$" out || fail "inspect shows another id"
grep -q "^signature  *valid" out || fail "signature not checked"
grep -q "^chain  *50 records valid, image sha256 matches, ESP32 image valid$" out || fail "chain"
grep -q "^chip  *ESP32 (id 0) (the image header's)$" out || fail "inspect: chip"
created=$(sed -n 's/^created .*(\([0-9]*\))$/\1/p' out)
[ "$created" -ge "$t0" ] && [ "$created" -le "$t1" ] || fail "created $created not now ($t0)"
# The image inside is the image given.
sha=$(sha256sum img.bin | cut -d' ' -f1)
grep -q "sha256 $sha$" out || fail "image sha256"

# --chip: the image must be built for it; the chip is the image header's either way.
expect 1 "$B/fotactl" release create --image img.bin --key r.pem --product inv-5k --chip esp32s3 \
    -o s3.bundle
error_has "img.bin: the image is built for ESP32 (id 0), not ESP32-S3 (FOTA_ERR_IMAGE_CHIP)"
[ ! -e s3.bundle ] || fail "a refused release create wrote a bundle"
expect 2 "$B/fotactl" release create --image img.bin --key r.pem --product inv-5k --chip esp8266 \
    -o s3.bundle
error_has "--chip: one of esp32, esp32s2, "
"$B/fota-image" create --version 4.2.0 --size 50K --chip esp32s3 -o s3.bin >/dev/null
expect 0 "$B/fotactl" release create --image s3.bin --key r.pem --product inv-s3 --chip ESP32-S3 \
    -o s3.bundle
grep -qF "product inv-s3, chip ESP32-S3 (id 9), version 4.2.0" err || fail "S3 summary: $(cat err)"
expect 0 "$B/fotactl" release inspect s3.bundle
grep -q "^chip  *ESP32-S3 (id 9) (the image header's)$" out || fail "inspect: S3 chip"

expect 0 "$B/fotactl" release create --image img.bin --key r.pem --product inv-5k \
    --version 4.2.1 --security-version 7 --chunk-size 4K -o o.bundle
expect 0 "$B/fotactl" release inspect o.bundle
grep -q "^version  *4.2.1$" out && grep -q "^security version  *7$" out &&
    grep -q "^chunks  *13 of 4096 bytes$" out || fail "overrides not applied: $(cat out)"
grep -q "^signature  *not checked" out || fail "inspect without --public claims a signature"
# A 32-character version is the most a manifest holds; one more is refused, not cut.
v32=$(printf 'v%.0s' {1..32})
expect 0 "$B/fotactl" release create --image img.bin --key r.pem --product p --version "$v32" \
    -o v.bundle
for bad in "--version ${v32}x" "--product ${v32}x" "--chunk-size 1000" "--chunk-size 128" \
    "--chunk-size 128K" "--security-version -1" "--security-version 4294967296"; do
    # shellcheck disable=SC2086
    expect 2 "$B/fotactl" release create --image img.bin --key r.pem --product p -o bad.bundle $bad
    [ ! -e bad.bundle ] || fail "a bundle was written with $bad"
done
expect 2 "$B/fotactl" release create --image img.bin --key r.pem --product "" -o bad.bundle
expect 2 "$B/fotactl" release create --image img.bin --key r.pem --product "$(printf 'a\tb')" \
    -o bad.bundle
# -o naming an input would replace it.
expect 2 "$B/fotactl" release create --image img.bin --key r.pem --product p -o img.bin
[ "$(sha256sum img.bin | cut -d' ' -f1)" = "$sha" ] || fail "the image was overwritten"

# Not an image; a truncated image; no key; a public key to sign with.
head -c 4096 /dev/urandom >junk.bin
expect 1 "$B/fotactl" release create --image junk.bin --key r.pem --product p -o j.bundle
error_has "FOTA_ERR_IMAGE"
head -c 30000 img.bin >short.bin
expect 1 "$B/fotactl" release create --image short.bin --key r.pem --product p -o j.bundle
error_has "short.bin"
expect 1 "$B/fotactl" release create --image img.bin --key r.pub --product p -o j.bundle
error_has "r.pub: not an EC P-256 private key"
expect 1 "$B/fotactl" release create --image img.bin --key none.pem --product p -o j.bundle
error_has "none.pem: cannot read the release private key"
[ ! -e j.bundle ] || fail "a bundle was written after an error"
ls -a | grep -q '\.tmp\|~' && fail "temporary files left behind: $(ls -a)"

# ---- release inspect -------------------------------------------------------------------------
# Another key's public half does not verify it.
expect 1 "$B/fotactl" release inspect b.bundle --public other.pub
error_has FOTA_ERR_MANIFEST_SIGNATURE
# DER public keys work as fotad and devices take them.
if command -v openssl >/dev/null; then
    openssl pkey -pubin -in r.pub -outform DER -out r.der
    expect 0 "$B/fotactl" release inspect b.bundle --public r.der
fi
expect 1 "$B/fotactl" release inspect b.bundle --public img.bin
error_has "img.bin: not an EC P-256 public key"
# A byte flipped in the blob (record 20) is found; so is one in the last record's hash.
cp b.bundle bad.bundle
printf '\x55' | dd of=bad.bundle bs=1 seek=$((256 + 20 * 1056 + 100)) conv=notrunc status=none
expect 1 "$B/fotactl" release inspect bad.bundle --public r.pub
error_has "record 20 fails the hash chain"
cp b.bundle bad2.bundle
printf '\x01' | dd of=bad2.bundle bs=1 seek=$(($(stat -c %s b.bundle) - 1)) conv=notrunc status=none
expect 1 "$B/fotactl" release inspect bad2.bundle
error_has "record 49 fails the hash chain"
# A flipped byte in the manifest breaks its signature.
cp b.bundle bad3.bundle
printf '\x01' | dd of=bad3.bundle bs=1 seek=40 conv=notrunc status=none
expect 1 "$B/fotactl" release inspect bad3.bundle --public r.pub
# Wrong lengths.
head -c 10000 b.bundle >short.bundle
expect 1 "$B/fotactl" release inspect short.bundle
error_has "10000 bytes, the manifest wants $(stat -c %s b.bundle)"
cat b.bundle img.bin >long.bundle
expect 1 "$B/fotactl" release inspect long.bundle
head -c 100 b.bundle >tiny.bundle
expect 1 "$B/fotactl" release inspect tiny.bundle
error_has "not a bundle"
expect 1 "$B/fotactl" release inspect missing.bundle
error_has "missing.bundle: cannot read"
# Properly signed and chained, but what fotad would refuse: not an ESP32 image, a wrong SHA-256.
"$B/fota-mkbundle" create --key r.pem --image junk.bin --product p --version 1 -o junk.bundle \
    >/dev/null 2>&1
expect 1 "$B/fotactl" release inspect junk.bundle --public r.pub
error_has "the image: "
"$B/fota-mkbundle" create --key r.pem --image img.bin --product p --version 1 --bad-sha256 \
    -o sha.bundle >/dev/null 2>&1
expect 1 "$B/fotactl" release inspect sha.bundle --public r.pub
error_has FOTA_ERR_IMAGE_SHA256

# ---- device key ------------------------------------------------------------------------------
# Known answer: HMAC-SHA256(bytes 00..1f, "inv-000123").
printf "$(printf '\\%03o' $(seq 0 31))" >master
[ "$(stat -c %s master)" = 32 ] || fail "test master secret"
expect 0 "$B/fotactl" device key inv-000123 --master master
[ "$(cat out)" = 29e5fb6720a762337e4e81d2389934080871215d35c0cedfc520532224e57ede ] ||
    fail "device key is not HMAC-SHA256(master, id): $(cat out)"
# The whole file is the secret, a trailing newline included (as fotad reads it).
cp master master-nl
printf '\n' >>master-nl
expect 0 "$B/fotactl" device key inv-000123 --master master-nl
[ "$(cat out)" = 256a48ac179ffabe6b9a09555ea8a16a297abf2fada535b95d8a1bef0858f6ba ] ||
    fail "master file not used as raw bytes: $(cat out)"
head -c 32 /dev/urandom >rmaster
k1=$("$B/fotactl" device key dev-1 --master rmaster)
k1b=$("$B/fotactl" device key dev-1 --master rmaster)
k2=$("$B/fotactl" device key dev-2 --master rmaster)
[[ "$k1" =~ ^[0-9a-f]{64}$ ]] || fail "device key '$k1'"
[ "$k1" = "$k1b" ] || fail "device key not deterministic"
[ "$k1" != "$k2" ] || fail "two devices share a key"
head -c 31 /dev/urandom >short
expect 1 "$B/fotactl" device key dev-1 --master short
error_has "at least 32 bytes"
expect 1 "$B/fotactl" device key dev-1 --master nothere
expect 2 "$B/fotactl" device key "dev 1" --master rmaster
error_has "not a device id"
expect 2 "$B/fotactl" device key "$(printf 'd%.0s' {1..49})" --master rmaster
expect 0 "$B/fotactl" device key "$(printf 'd%.0s' {1..48})" --master rmaster
expect 0 "$B/fotactl" device key "A-z_0.9:x" --master rmaster
echo "PASS: fotactl"
