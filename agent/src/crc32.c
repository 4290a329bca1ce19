/*
 * crc32.c - bitwise reflected CRC-32 with ESP-IDF ROM semantics (see crc32.h).
 *
 * A table-free loop: the agent computes CRCs only over small records (otadata entries,
 * journal records), so 1 KB of table would cost more RAM/flash than it saves in time.
 */
#include "fota/crc32.h"

uint32_t fota_crc32_le(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}
