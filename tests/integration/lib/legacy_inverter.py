#!/usr/bin/python3
"""legacy_inverter.py - the original inverter firmware's download, as its FOTAManager::loop()
does it, for the legacy bridge tests (docs/MIGRATION.md): no device id, no request signing,

    GET /api/inverter/fota/chunk?chunk_number=N   ->   {"chunk_number": N, "data": "<base64>",
                                                         "<mac field>": "<hex HMAC-SHA256>"}

one chunk after the other from 0, each checked with the fleet-wide key (HMAC-SHA256 over the
decoded bytes) before it is kept, until the server answers past the last one (416). A 429 is
waited out (Retry-After) and the same chunk asked again; any other answer, a chunk whose number,
base64 or MAC is wrong, ends the download with exit code 1 and nothing written, as
Update.abort() would. The image is written to OUT only when every chunk checked (what
Update.write() then Update.end() do; the caller then switches the boot partition).

usage: legacy_inverter.py URL FLEET_KEY_FILE OUT [--mac-field NAME] [--interval-ms MS]
Prints one line: "downloaded N chunks, B bytes, W waits".
"""
import base64
import binascii
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request


def fetch(url, n):
    req = urllib.request.Request(f"{url}/api/inverter/fota/chunk?chunk_number={n}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        sys.exit(__doc__)
    url, key_file, out = args[0].rstrip("/"), args[1], args[2]
    mac_field, interval = "mac", 0.0
    rest = args[3:]
    while rest:
        if rest[0] == "--mac-field":
            mac_field = rest[1]
        elif rest[0] == "--interval-ms":
            interval = int(rest[1]) / 1000.0
        else:
            sys.exit(f"unknown option {rest[0]}")
        rest = rest[2:]
    with open(key_file, "rb") as f:
        fleet_key = f.read()
    image = bytearray()
    n = waits = 0
    while True:
        status, body, headers = fetch(url, n)
        if status == 429:
            waits += 1
            time.sleep(float(headers.get("Retry-After", "1")))
            continue
        if status == 416 and n > 0:
            break
        if status != 200:
            print(f"chunk {n}: HTTP {status}: {body[:200]!r}", file=sys.stderr)
            return 1
        try:
            msg = json.loads(body)
            data = base64.b64decode(msg["data"], validate=True)
            mac = binascii.unhexlify(msg[mac_field])
        except (ValueError, KeyError, TypeError) as e:
            print(f"chunk {n}: malformed answer ({e})", file=sys.stderr)
            return 1
        if msg.get("chunk_number") != n:
            print(f"chunk {n}: answer for chunk {msg.get('chunk_number')}", file=sys.stderr)
            return 1
        if not hmac.compare_digest(hmac.new(fleet_key, data, hashlib.sha256).digest(), mac):
            print(f"chunk {n}: MAC mismatch", file=sys.stderr)
            return 1
        image += data
        n += 1
        if interval:
            time.sleep(interval)
    with open(out, "wb") as f:
        f.write(image)
    print(f"downloaded {n} chunks, {len(image)} bytes, {waits} waits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
