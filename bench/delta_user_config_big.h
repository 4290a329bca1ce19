/*
 * delta_user_config_big.h - the larger firmware of bench/delta.sh (the seed firmware's size):
 * delta_user_config.h, plus options of Mbed TLS 3.6 a product may turn on that need no
 * operating system (TLS 1.3 early data, DTLS-SRTP, record size limit, EC J-PAKE, LMS signing,
 * the static heap, PSA for the TLS stack, AES tables in flash, ...).
 */
#include "delta_user_config.h"

#define MBEDTLS_SSL_EARLY_DATA
#define MBEDTLS_SSL_DTLS_SRTP
#define MBEDTLS_SSL_RECORD_SIZE_LIMIT
#define MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH
#define MBEDTLS_SSL_ASYNC_PRIVATE
#define MBEDTLS_SSL_DEBUG_ALL
#define MBEDTLS_KEY_EXCHANGE_ECJPAKE_ENABLED
#define MBEDTLS_CIPHER_NULL_CIPHER
#define MBEDTLS_LMS_PRIVATE
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
#define MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK
#define MBEDTLS_USE_PSA_CRYPTO
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_GCM_LARGE_TABLE
