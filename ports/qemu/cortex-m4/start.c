/*
 * start.c - reset entry of the harness on QEMU's mps2-an386 (a Cortex-M4): the vector table
 * QEMU reads at address 0 (initial stack pointer, reset handler, fault handlers), .bss zeroed,
 * then harness_main(); what it returns is the exit code. A fault ends the run with its registers
 * on the console.
 */
#include <stdint.h>

#include "board.h"
#include "semihost.h"

extern uint8_t __bss_start[];
extern uint8_t __bss_end[];

_Noreturn void reset_handler(void);
_Noreturn void fault_handler(void);

_Noreturn void reset_handler(void)
{
    for (uint8_t *p = __bss_start; p < __bss_end; p++) {
        *p = 0;
    }
    board_exit(harness_main());
}

/* Configurable Fault Status, HardFault Status and the faulting address, from the SCB. */
_Noreturn void fault_handler(void)
{
    volatile uint32_t *cfsr = (volatile uint32_t *)0xE000ED28u;
    volatile uint32_t *hfsr = (volatile uint32_t *)0xE000ED2Cu;
    volatile uint32_t *mmfar = (volatile uint32_t *)0xE000ED34u;
    semihost_trap("fault", *cfsr, *hfsr, *mmfar);
}

typedef void (*vector_t)(void);

__attribute__((section(".vectors"), used)) static const vector_t vectors[16] = {
    (vector_t)(uintptr_t)__stack_top, /* initial stack pointer */
    reset_handler,
    fault_handler, /* NMI */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage */
    fault_handler, /* BusFault */
    fault_handler, /* UsageFault */
};
