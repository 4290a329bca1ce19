/*
 * crc32.c - reflected CRC-32 with ESP-IDF ROM semantics (see crc32.h).
 *
 * Four bits at a time through a 16-entry table (64 bytes of constant data): the journal is saved
 * at every sector boundary of a download and its record is CRC'd on every save and load, so a
 * bit-by-bit loop showed up in the device's CPU per firmware byte, while the usual 256-entry
 * table (1 KB) would cost more flash than the few small records here are worth.
 */
#include "fota/crc32.h"

/* The CRC of each 4-bit value: entry n = n shifted through four steps of 0xEDB88320. */
static const uint32_t nibble_crc[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t fota_crc32_le(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ nibble_crc[crc & 0x0Fu];
        crc = (crc >> 4) ^ nibble_crc[crc & 0x0Fu];
    }
    return ~crc;
}
