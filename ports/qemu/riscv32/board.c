/*
 * board.c - board.h on QEMU's riscv32 virt machine (an RV32IMAC hart, the ESP32-C3/C6
 * instruction set): the NS16550A UART at 0x10000000 is the serial line, the instret counter
 * counts time in nanoseconds of QEMU's instruction-driven clock (-icount), traps end the run.
 */
#include <stdint.h>

#include "board.h"
#include "semihost.h"

#define UART_BASE 0x10000000u
#define UART_RBR 0u       /* receive buffer */
#define UART_THR 0u       /* transmit holding */
#define UART_FCR 2u       /* FIFO control */
#define UART_LSR 5u       /* line status */
#define FCR_FIFO_ON 0x07u /* enable, clear both FIFOs: QEMU then passes 16 bytes at a time */
#define LSR_DATA_READY 0x01u
#define LSR_THR_EMPTY 0x20u

static inline volatile uint8_t *uart(unsigned reg)
{
    return (volatile uint8_t *)(uintptr_t)(UART_BASE + reg);
}

void board_uart_put(uint8_t c)
{
    while ((*uart(UART_LSR) & LSR_THR_EMPTY) == 0) {
    }
    *uart(UART_THR) = c;
}

/* Between polls of an empty UART: a pause without device accesses, so that QEMU's I/O thread,
 * which must take the lock every device access takes, gets to deliver the next bytes. */
static void board_pause(void)
{
    for (volatile int i = 0; i < 200; i++) {
    }
}

void board_uart_start(void)
{
    *uart(UART_FCR) = FCR_FIFO_ON;
}

uint8_t board_uart_get(void)
{
    while ((*uart(UART_LSR) & LSR_DATA_READY) == 0) {
        board_pause();
    }
    return *uart(UART_RBR);
}

void board_count_start(void) {}

/* With -icount, QEMU's instret is its virtual clock in nanoseconds: 2^shift per instruction. */
uint32_t board_count(void)
{
    uint32_t v;
    __asm__ volatile("rdinstret %0" : "=r"(v));
    return v;
}

uint64_t board_count_insns(uint64_t units, unsigned shift)
{
    return units >> shift;
}

void board_trap(uint32_t cause, uint32_t pc, uint32_t tval);
void board_trap(uint32_t cause, uint32_t pc, uint32_t tval)
{
    semihost_trap("trap", cause, pc, tval);
}
