/*
 * start.S - reset entry of the harness on QEMU's riscv32 virt machine (-bios none -kernel: the
 * hart starts here in machine mode at 0x80000000): global pointer, stack, trap vector, .bss
 * zeroed, then harness_main(); what it returns is the exit code. Also board_semihost(), whose
 * instruction sequence is the RISC-V semihosting trap and must not be compressed.
 */
    .section .text.start, "ax"
    .global _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, __stack_top
    la t0, trap_entry
    csrw mtvec, t0
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sw zero, 0(t0)
    addi t0, t0, 4
    j 1b
2:  call harness_main
    call board_exit
3:  j 3b

    .balign 4
trap_entry:
    la sp, __stack_top
    csrr a0, mcause
    csrr a1, mepc
    csrr a2, mtval
    call board_trap
4:  j 4b

/* long board_semihost(long op, const void *arg): a0 = op, a1 = arg, result in a0. */
    .section .text.board_semihost, "ax"
    .global board_semihost
    .balign 16
board_semihost:
    .option push
    .option norvc
    slli zero, zero, 0x1f
    ebreak
    srai zero, zero, 7
    .option pop
    ret
