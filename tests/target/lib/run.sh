# run.sh - what each bare-metal target test checks (sourced by tests/target/test_qemu_*.sh after
# lib/qemu.sh has set the target up).
#
# - scripts/build-qemu builds the firmware (agent core, Mbed TLS 3.6, harness) for the target;
# - a real fotad (SQLite) serves a 64 KB release for the target's chip; one device per mode runs
#   on the target through fota-qemu-bridge: the update ends confirmed (fotad says so too), the
#   harness booted the new image from the other slot, the slot holds exactly the release's image
#   and erased flash after it, the agent went through every state from checking to confirmed,
#   and the measurements are there (painted stack, Mbed TLS pool, instruction counts); the
#   same with the firmware built with link-time optimization (-flto);
# - fota-hostile (tests/support-bin/fota-hostile.c) serves the same release honestly, then a
#   record with a bit flipped, a forged manifest and bodies cut short: each attempt fails with the
#   error the host's agent gives (tests/faults/test_hostile_http.sh), the device keeps 1.0.0, and
#   its update slot holds only bytes of the honest image or erased flash.
PRODUCT=inverter
IMAGE_SIZE=$((64 * 1024))
start=$SECONDS
q_build
echo "built the $Q_TARGET firmware in $((SECONDS - start)) s"
operator_keys
q_image 2.0.0 "$W/v2.bin" "$IMAGE_SIZE"
R2=$(fotactl_release "$W/v2.bin" "$W/v2.bundle")
fotad_start
fotactl_ok release upload "$W/v2.bundle"
fotactl_ok assign "$R2" --product "$PRODUCT"

# ---- full updates from fotad -----------------------------------------------------------------
ALL_STATES=511 # bits 0-8: idle, checking, manifest, downloading, verifying, installed,
# rebooting, booted, confirmed (fota_state_t)
# expect_updated ID: the run of ID (q_run) ended confirmed on 2.0.0 through every state, booted
# from the other slot, which holds the release's image, and fotad saw it confirmed.
expect_updated() {
    local id=$1
    [ "$RC" = 0 ] || { cat "$W/$id.out" "$W/$id.err" >&2; fail "$id: bridge exit $RC"; }
    q_expect "$id" outcome FOTA_OK
    q_expect "$id" version 2.0.0
    q_expect "$id" slot 1
    q_expect "$id" states "$ALL_STATES"
    q_slot_is "$id" "$W/v2.bin"
    device_seen "$id" confirmed 2.0.0
}
for mode in chain seed; do
    id="$Q_TARGET-$mode"
    q_run "$id" "$URL" "$mode" --master "$W/master" --measure "$IMAGE_SIZE"
    expect_updated "$id"
    stack=$(q_result "$id" stack_used)
    heap=$(q_result "$id" heap_peak)
    insns=$(q_result "$id" agent_insns)
    sha=$(q_result "$id" sha256_insns)
    [ "$stack" -gt 256 ] && [ "$stack" -lt "$(q_result "$id" stack_size)" ] ||
        fail "$mode: stack high-water mark $stack is not a measurement"
    [ "$heap" -gt 1024 ] && [ "$heap" -lt "$(q_result "$id" heap_size)" ] ||
        fail "$mode: Mbed TLS pool peak $heap is not a measurement"
    # SHA-256 takes more than one instruction per byte on any CPU; the agent hashes every byte
    # at least once and checks a signature besides.
    [ "$sha" -gt "$IMAGE_SIZE" ] && [ "$insns" -gt "$sha" ] ||
        fail "$mode: instruction counts (agent $insns, SHA-256 $sha) are not counts"
    echo "ok: $Q_TARGET $mode: 2.0.0 confirmed, stack $stack B, Mbed TLS pool $heap B," \
        "agent $insns instructions for $IMAGE_SIZE bytes (SHA-256 alone: $sha)," \
        "$(sed -n 's/^bridge requests //p' "$W/$id.out") requests"
done

# ---- the same firmware built with link-time optimization ---------------------------------------
# GCC sees the agent and the harness whole at the link (bench/agent_ram.sh measures the agent's
# code so): the updates must come out the same.
q_build_lto
for mode in chain seed; do
    id="$Q_TARGET-lto-$mode"
    q_run "$id" "$URL" "$mode" --master "$W/master"
    expect_updated "$id"
    echo "ok: $Q_TARGET $mode, built with -flto: 2.0.0 confirmed"
done
q_kernel "$BUILD/qemu/$Q_TARGET/fota-qemu.elf"
fotad_stop

# ---- attacks from fota-hostile (chain mode) ----------------------------------------------------
KEY=$(printf 'a5%.0s' $(seq 32)) # fota-hostile checks no credentials
echo honest >"$W/mode"
"$BUILD/fota-hostile" "$W/v2.bundle" "$W/mode" "$W/hport" >/dev/null 2>"$W/hostile.log" &
HOSTILE=$!
trap 'kill -- "-$HOSTILE" 2>/dev/null || kill "$HOSTILE" 2>/dev/null; t_cleanup' EXIT
for _ in $(seq 50); do [ -s "$W/hport" ] && break; sleep 0.1; done
[ -s "$W/hport" ] || fail "fota-hostile did not start"
HURL="http://127.0.0.1:$(cat "$W/hport")"

q_run hostile-honest "$HURL" chain --key "$KEY"
[ "$RC" = 0 ] || { cat "$W/hostile-honest.err" >&2; fail "honest fota-hostile: exit $RC"; }
q_expect hostile-honest outcome FOTA_OK
q_slot_is hostile-honest "$W/v2.bin"
# The check itself: a slot holding another image of the same size is caught.
q_image 2.0.0 "$W/other.bin" "$IMAGE_SIZE" --seed 77
[ -n "$(q_slot_bad hostile-honest "$W/other.bin")" ] || fail "the slot check misses a foreign image"
for attack in corrupt:FOTA_ERR_CHAIN_MISMATCH forged:FOTA_ERR_MANIFEST_SIGNATURE \
    cut:FOTA_ERR_HTTP_TRUNCATED; do
    mode=${attack%%:*} want=${attack#*:} id="attack-${attack%%:*}"
    echo "$mode" >"$W/mode"
    q_run "$id" "$HURL" chain --key "$KEY"
    [ "$RC" = 0 ] || { cat "$W/$id.err" >&2; fail "$mode: bridge exit $RC"; }
    q_expect "$id" outcome "$want"
    q_expect "$id" version 1.0.0
    q_expect "$id" slot 0
    grep -q "^$mode " "$W/hostile.log" || fail "$mode: fota-hostile never played it"
    q_slot_honest "$id" "$W/v2.bin"
    echo "ok: $Q_TARGET attack $mode -> $want, still 1.0.0, the slot honest or erased"
done
pass
