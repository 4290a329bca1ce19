/*
 * bytes.h - little/big-endian load and store helpers.
 *
 * Every byte from outside is read through these, never by casting a struct over a buffer.
 * The caller checks the buffer length before calling (each helper touches exactly the bytes
 * its name says); the functions are static inline so the agent stays header-light.
 *
 * Where the compiler says that the CPU loads and stores words at any address and is little-endian
 * (a Cortex-M3/M4/M7: __ARM_FEATURE_UNALIGNED), a little-endian number is one memcpy, which it
 * makes one load or store instead of four byte accesses and three shifts; elsewhere (an Xtensa,
 * a RISC-V, and the host, whose tests run the portable form) the bytes are put together by hand.
 */
#ifndef FOTA_BYTES_H
#define FOTA_BYTES_H

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Always inlined: -Os on an Xtensa otherwise keeps a copy of a helper in each file and calls it,
 * and a call there (a literal, a load, the call) costs about what the helper's body does. */
#if defined(__GNUC__)
#define FOTA_BYTES_INLINE static inline __attribute__((always_inline))
#else
#define FOTA_BYTES_INLINE static inline
#endif

#if defined(__ARM_FEATURE_UNALIGNED) && defined(__BYTE_ORDER__) &&                                 \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FOTA_BYTES_NATIVE_LE 1
#else
#define FOTA_BYTES_NATIVE_LE 0
#endif

FOTA_BYTES_INLINE uint16_t fota_get_le16(const uint8_t *p)
{
#if FOTA_BYTES_NATIVE_LE
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return (uint16_t)(p[0] | (p[1] << 8));
#endif
}

FOTA_BYTES_INLINE uint32_t fota_get_le32(const uint8_t *p)
{
#if FOTA_BYTES_NATIVE_LE
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
#endif
}

FOTA_BYTES_INLINE uint64_t fota_get_le64(const uint8_t *p)
{
    return (uint64_t)fota_get_le32(p) | ((uint64_t)fota_get_le32(p + 4) << 32);
}

FOTA_BYTES_INLINE uint32_t fota_get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

FOTA_BYTES_INLINE void fota_put_le16(uint8_t *p, uint16_t v)
{
#if FOTA_BYTES_NATIVE_LE
    memcpy(p, &v, sizeof v);
#else
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
#endif
}

FOTA_BYTES_INLINE void fota_put_le32(uint8_t *p, uint32_t v)
{
#if FOTA_BYTES_NATIVE_LE
    memcpy(p, &v, sizeof v);
#else
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
#endif
}

FOTA_BYTES_INLINE void fota_put_le64(uint8_t *p, uint64_t v)
{
    fota_put_le32(p, (uint32_t)v);
    fota_put_le32(p + 4, (uint32_t)(v >> 32));
}

FOTA_BYTES_INLINE void fota_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#ifdef __cplusplus
}
#endif

#endif /* FOTA_BYTES_H */
