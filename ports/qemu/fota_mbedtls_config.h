/*
 * fota_mbedtls_config.h - the Mbed TLS 3.6 configuration of the bare-metal harness: what the agent
 * uses (SHA-256 and HMAC through the md layer, base64, the release key's PEM/DER parsing and an
 * ECDSA P-256 verification) and nothing else. No operating system: no file system, time or
 * entropy source, and the heap is a static pool (memory_buffer_alloc), as on an MCU without
 * malloc. The harness finds the pool's peak by painting it (MBEDTLS_MEMORY_DEBUG would pull
 * stdio in).
 */
#ifndef FOTA_QEMU_MBEDTLS_CONFIG_H
#define FOTA_QEMU_MBEDTLS_CONFIG_H

#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
#define MBEDTLS_NO_PLATFORM_ENTROPY
/* No C library heap or exit(): until memory_buffer_alloc takes over, an allocation fails
 * (harness.c); a corrupted pool ends the run. */
#include <stddef.h>
void *fota_qemu_no_calloc(size_t n, size_t size);
void fota_qemu_no_free(void *p);
void fota_qemu_mbedtls_exit(int status);
#define MBEDTLS_PLATFORM_STD_CALLOC fota_qemu_no_calloc
#define MBEDTLS_PLATFORM_STD_FREE fota_qemu_no_free
#define MBEDTLS_PLATFORM_EXIT_MACRO fota_qemu_mbedtls_exit
#define MBEDTLS_HAVE_ASM

#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDSA_C

#endif /* FOTA_QEMU_MBEDTLS_CONFIG_H */
