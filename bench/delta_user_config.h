/*
 * delta_user_config.h - Mbed TLS's default configuration for a bare Cortex-M4 (bench/delta.sh):
 * less what needs an operating system (sockets, timing, files, time of day, PSA storage on
 * files, the platform's entropy source).
 */
#undef MBEDTLS_NET_C
#undef MBEDTLS_TIMING_C
#undef MBEDTLS_FS_IO
#undef MBEDTLS_HAVE_TIME
#undef MBEDTLS_HAVE_TIME_DATE
#undef MBEDTLS_PSA_ITS_FILE_C
#undef MBEDTLS_PSA_CRYPTO_STORAGE_C
#define MBEDTLS_NO_PLATFORM_ENTROPY
