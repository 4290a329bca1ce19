/*
 * board.c - board.h on QEMU's mps2-an386 (Cortex-M4): UART0, a CMSDK APB UART at 0x40004000,
 * is the serial line; the CMSDK APB timer 0 at 0x40000000, counting down at the board's 25 MHz
 * on QEMU's instruction-driven clock (-icount), is the instruction counter; semihosting through
 * BKPT 0xAB.
 */
#include <stdint.h>

#include "board.h"

#define UART0 0x40004000u
#define UART_DATA 0x00u
#define UART_STATE 0x04u
#define UART_CTRL 0x08u
#define UART_BAUDDIV 0x10u
#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_RX_ENABLE 0x3u

#define TIMER0 0x40000000u
#define TIMER_CTRL 0x00u
#define TIMER_VALUE 0x04u
#define TIMER_RELOAD 0x08u
#define TIMER_ENABLE 0x1u
#define NS_PER_TICK 40u /* 25 MHz */

static inline volatile uint32_t *reg(uint32_t base, uint32_t off)
{
    return (volatile uint32_t *)(uintptr_t)(base + off);
}

void board_uart_start(void)
{
    *reg(UART0, UART_BAUDDIV) = 16; /* the smallest divider the UART accepts */
    *reg(UART0, UART_CTRL) = CTRL_TX_RX_ENABLE;
}

void board_uart_put(uint8_t c)
{
    while ((*reg(UART0, UART_STATE) & STATE_TX_FULL) != 0) {
    }
    *reg(UART0, UART_DATA) = c;
}

uint8_t board_uart_get(void)
{
    while ((*reg(UART0, UART_STATE) & STATE_RX_FULL) == 0) {
    }
    return (uint8_t)*reg(UART0, UART_DATA);
}

void board_count_start(void)
{
    *reg(TIMER0, TIMER_RELOAD) = 0xFFFFFFFFu;
    *reg(TIMER0, TIMER_VALUE) = 0xFFFFFFFFu;
    *reg(TIMER0, TIMER_CTRL) = TIMER_ENABLE;
}

/* The timer counts down: its complement counts up. */
uint32_t board_count(void)
{
    return ~*reg(TIMER0, TIMER_VALUE);
}

/* A tick is 40 ns of QEMU's clock, an instruction 2^shift ns. */
uint64_t board_count_insns(uint64_t units, unsigned shift)
{
    return (units * NS_PER_TICK) >> shift;
}

long board_semihost(long op, const void *arg)
{
    register long r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
