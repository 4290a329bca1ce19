/*
 * board.h - what the harness (harness.c) needs from each QEMU machine: the serial line, an
 * instruction counter, semihosting, the memory that plays the flash chip, and the stack bounds.
 * riscv32/board.c (virt) and cortex-m4/board.c (mps2-an386) implement it.
 */
#ifndef FOTA_QEMU_BOARD_H
#define FOTA_QEMU_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* The serial line to fota-qemu-bridge: set up (before anything is sent or received); a byte
 * out; a byte in (waits for it). */
void board_uart_start(void);
void board_uart_put(uint8_t c);
uint8_t board_uart_get(void);

/* A counter that QEMU advances with every instruction when it runs with -icount SHIFT: raw
 * units, turned into instructions by board_count_insns(). Read before and after a stretch of
 * code; differences only. */
uint32_t board_count(void);
/* Instructions in `units` counter units at -icount `shift`. */
uint64_t board_count_insns(uint64_t units, unsigned shift);
/* Set the counter going (at start-up). */
void board_count_start(void);

/* One semihosting call (ARM's semihosting interface, which QEMU implements for both
 * architectures): operation number and parameter, returns the host's answer. */
long board_semihost(long op, const void *arg);

/* Memory standing in for the SPI flash chip (NOR rules are the harness's). */
extern uint8_t board_flash[];
#define BOARD_FLASH_SIZE (4u * 1024u * 1024u)

/* The stack, from its lowest address to just past its highest (linker script symbols). */
extern uint8_t __stack_bottom[];
extern uint8_t __stack_top[];

/* The harness's entry, called by the start-up code with a stack and zeroed .bss. */
int harness_main(void);

#endif /* FOTA_QEMU_BOARD_H */
