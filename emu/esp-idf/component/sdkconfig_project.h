/*
 * sdkconfig_project.h - the fota component's menuconfig values (ports/esp-idf/Kconfig, its
 * defaults) for host builds of the component over the ESP-IDF API double, which ESP-IDF's
 * generated sdkconfig.h would carry on a device. tests/tools/test_esp_idf_build.sh checks that
 * every CONFIG_FOTA_ symbol of the Kconfig is here. Anti-rollback is compiled in (the eFuse
 * floor path); the double applies it per device (esp_double_config_t.anti_rollback).
 */
#ifndef FOTA_SDKCONFIG_PROJECT_H
#define FOTA_SDKCONFIG_PROJECT_H

#define CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK 1

#define CONFIG_FOTA_SERVER_URL "http://127.0.0.1:8080"
#define CONFIG_FOTA_PRODUCT_ID "inverter"
#define CONFIG_FOTA_MODE_CHAIN 1
#define CONFIG_FOTA_CHECK_INTERVAL_S 3600
#define CONFIG_FOTA_CHUNK_INTERVAL_MS 0
#define CONFIG_FOTA_RETRY_MS 2000
#define CONFIG_FOTA_RANGE_RECORDS 0
#define CONFIG_FOTA_PROGRESS_EVERY 128
#define CONFIG_FOTA_REQUEST_TIMEOUT_MS 10000
#define CONFIG_FOTA_REQUEST_DEADLINE_S 300
#define CONFIG_FOTA_HTTP_BUFFER_SIZE 1024
#define CONFIG_FOTA_MAX_CHUNK_SIZE 1024
#define CONFIG_FOTA_ERROR_NAMES 1
#define CONFIG_FOTA_TLS_CRT_BUNDLE 1
#define CONFIG_FOTA_RELEASE_KEY_FILE "release_key.pub.pem"
#define CONFIG_FOTA_SECURITY_FLOOR 0
#define CONFIG_FOTA_JOURNAL_PARTITION "nvs"
#define CONFIG_FOTA_JOURNAL_NAMESPACE "fota"
#define CONFIG_FOTA_KEY_PARTITION "nvs"
#define CONFIG_FOTA_KEY_NAMESPACE "fota"
#define CONFIG_FOTA_TASK_STACK_SIZE 6144
#define CONFIG_FOTA_TASK_PRIORITY 3

#endif /* FOTA_SDKCONFIG_PROJECT_H */
