#!/usr/bin/env bash
# test_qemu_cortex_m4.sh - the agent core bare metal on a Cortex-M4 under qemu-system-arm
# -machine mps2-an386, with newlib-nano and Mbed TLS 3.6: full updates in chain and seed mode
# from a real fotad, and fota-hostile's corrupted record, forged manifest and truncated body
# refused with the host's errors. The checks: tests/target/lib/run.sh.
# Run by ctest as: bash test_qemu_cortex_m4.sh BUILD_DIR
source "$(dirname "$0")/lib/qemu.sh" "$1" cortex-m4 esp32
Q_CHIP_ID=0
source "$(dirname "$0")/lib/run.sh"
