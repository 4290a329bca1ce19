/*
 * sdkconfig.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset), for
 * host builds only.
 *
 * ESP-IDF generates this file from Kconfig. The double's copy holds the few options that code
 * written against ESP-IDF v5.5 tests for, set as the ESP32 defaults, except app rollback, which
 * the emulated bootloader implements and the fota component needs (ESP-IDF's
 * CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE=y). Anti-rollback is a per-device option of the double
 * (esp_double_config_t.anti_rollback); a build that wants the compile-time symbol as well can
 * pass -DCONFIG_BOOTLOADER_APP_ANTI_ROLLBACK=1.
 */
#ifndef ESP_DOUBLE_SDKCONFIG_H
#define ESP_DOUBLE_SDKCONFIG_H

#define CONFIG_IDF_TARGET "esp32"
#define CONFIG_IDF_TARGET_ESP32 1
#define CONFIG_IDF_TARGET_ARCH_XTENSA 1
#define CONFIG_IDF_FIRMWARE_CHIP_ID 0x0000
#define CONFIG_PARTITION_TABLE_OFFSET 0x8000
#define CONFIG_FREERTOS_HZ 100
#define CONFIG_LOG_DEFAULT_LEVEL 3
#define CONFIG_LOG_MAXIMUM_LEVEL 3
#define CONFIG_ESP_HTTP_CLIENT_ENABLE_HTTPS 1
#define CONFIG_MBEDTLS_CERTIFICATE_BUNDLE 1
#define CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE 1

/* A project's own Kconfig symbols (a component's CONFIG_*), which ESP-IDF's generated file would
 * carry: a host build may put a header of this name on its include path. */
#if defined(__has_include)
#if __has_include("sdkconfig_project.h")
#include "sdkconfig_project.h"
#endif
#endif

#endif /* ESP_DOUBLE_SDKCONFIG_H */
