/*
 * crc32.h - the CRC-32 of ESP-IDF's ROM (esp_rom_crc32_le).
 *
 * Reflected polynomial 0xEDB88320. fota_crc32_le(crc, buf, len) inverts `crc` on entry and the
 * result on exit, exactly like esp_rom_crc32_le, so the otadata CRC is
 * fota_crc32_le(UINT32_MAX, &ota_seq_le, 4) (register starts at 0, final XOR 0xFFFFFFFF);
 * this is NOT zlib's crc32 (which would be fota_crc32_le(0, ...)). Chaining works as with the
 * ROM function: fota_crc32_le(fota_crc32_le(c, a, n), b, m) == CRC of a||b.
 */
#ifndef FOTA_CRC32_H
#define FOTA_CRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint32_t fota_crc32_le(uint32_t crc, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* FOTA_CRC32_H */
