/*
 * link.h - frames on the serial line to fota-qemu-bridge (link_proto.h), read and written byte
 * by byte through board.h's UART.
 */
#ifndef FOTA_QEMU_LINK_H
#define FOTA_QEMU_LINK_H

#include <stddef.h>
#include <stdint.h>

void link_send_head(uint8_t type, uint32_t len);
void link_send(const void *data, size_t len);
/* The next frame's type and payload length. */
void link_recv_head(uint8_t *type, uint32_t *len);
void link_recv(void *data, size_t len);
void link_skip(size_t len);

uint16_t link_le16(const uint8_t *p);
uint32_t link_le32(const uint8_t *p);
uint64_t link_le64(const uint8_t *p);

#endif /* FOTA_QEMU_LINK_H */
