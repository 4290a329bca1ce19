/*
 * link.c - framing on the serial line (link_proto.h): a type byte, a little-endian length, the
 * payload. The line is reliable (QEMU holds bytes back while the UART's receive buffer is full),
 * so there is no checksum and no retransmission.
 */
#include "link.h"

#include "board.h"

void link_send_head(uint8_t type, uint32_t len)
{
    board_uart_put(type);
    for (unsigned i = 0; i < 4; i++) {
        board_uart_put((uint8_t)(len >> (8 * i)));
    }
}

void link_send(const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        board_uart_put(p[i]);
    }
}

void link_recv_head(uint8_t *type, uint32_t *len)
{
    uint8_t b[5];
    link_recv(b, sizeof b);
    *type = b[0];
    *len = link_le32(b + 1);
}

void link_recv(void *data, size_t len)
{
    uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        p[i] = board_uart_get();
    }
}

void link_skip(size_t len)
{
    while (len-- > 0) {
        (void)board_uart_get();
    }
}

uint16_t link_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t link_le32(const uint8_t *p)
{
    return (uint32_t)link_le16(p) | ((uint32_t)link_le16(p + 2) << 16);
}

uint64_t link_le64(const uint8_t *p)
{
    return (uint64_t)link_le32(p) | ((uint64_t)link_le32(p + 4) << 32);
}
