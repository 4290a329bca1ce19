/*
 * fota_esp_defaults.h - the component's menuconfig defaults (ports/esp-idf/Kconfig) for a build
 * whose sdkconfig.h was generated without the component's Kconfig.
 *
 * That is an Arduino-ESP32 sketch: the Arduino core ships ESP-IDF prebuilt, so the sdkconfig.h a
 * sketch sees carries ESP-IDF's options but none of ours, and the Arduino library (arduino/)
 * compiles the component's sources there. When sdkconfig.h has the component's options
 * (CONFIG_FOTA_SERVER_URL, a string, is always defined then), this header defines nothing.
 * Otherwise every option gets the Kconfig default, except the two that need ESP-IDF's build
 * system: CONFIG_FOTA_EMBED_RELEASE_KEY (a sketch hands its release key to FotaClient) and
 * CONFIG_FOTA_ERROR_NAMES (which only sets FOTA_CONFIG_ERR_NAMES from CMake; without it the
 * agent's own default applies: names on). tests/tools/test_esp_idf_build.sh checks these values
 * against the Kconfig's.
 */
#ifndef FOTA_ESP_DEFAULTS_H
#define FOTA_ESP_DEFAULTS_H

#include "sdkconfig.h"

#ifndef CONFIG_FOTA_SERVER_URL
#define CONFIG_FOTA_SERVER_URL "https://fota.example.com"
#define CONFIG_FOTA_PRODUCT_ID "inverter"
#define CONFIG_FOTA_MODE_CHAIN 1
#define CONFIG_FOTA_BUILD_BOTH_MODES 1
#define CONFIG_FOTA_DELTA 1
#define CONFIG_FOTA_CHECK_INTERVAL_S 3600
#define CONFIG_FOTA_CHUNK_INTERVAL_MS 0
#define CONFIG_FOTA_RETRY_MS 2000
#define CONFIG_FOTA_RANGE_RECORDS 0
#define CONFIG_FOTA_PROGRESS_EVERY 128
#define CONFIG_FOTA_REQUEST_TIMEOUT_MS 10000
#define CONFIG_FOTA_REQUEST_DEADLINE_S 300
#define CONFIG_FOTA_HTTP_BUFFER_SIZE 1024
#define CONFIG_FOTA_MAX_CHUNK_SIZE 1024
#ifdef CONFIG_MBEDTLS_CERTIFICATE_BUNDLE
#define CONFIG_FOTA_TLS_CRT_BUNDLE 1
#endif
#define CONFIG_FOTA_SECURITY_FLOOR 0
#define CONFIG_FOTA_JOURNAL_PARTITION "nvs"
#define CONFIG_FOTA_JOURNAL_NAMESPACE "fota"
#define CONFIG_FOTA_KEY_PARTITION "nvs"
#define CONFIG_FOTA_KEY_NAMESPACE "fota"
#define CONFIG_FOTA_TASK_STACK_SIZE 6144
#define CONFIG_FOTA_TASK_PRIORITY 3
#endif

#endif /* FOTA_ESP_DEFAULTS_H */
