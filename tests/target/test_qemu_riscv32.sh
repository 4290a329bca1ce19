#!/usr/bin/env bash
# test_qemu_riscv32.sh - the agent core bare metal on RV32IMAC (the ESP32-C3/C6 cores'
# instruction set) under qemu-system-riscv32 -machine virt, with picolibc and Mbed TLS 3.6: full
# updates in chain and seed mode from a real fotad, and fota-hostile's corrupted record, forged
# manifest and truncated body refused with the host's errors. The checks: tests/target/lib/run.sh.
# Run by ctest as: bash test_qemu_riscv32.sh BUILD_DIR
source "$(dirname "$0")/lib/qemu.sh" "$1" riscv32 esp32c3
Q_CHIP_ID=5
source "$(dirname "$0")/lib/run.sh"
