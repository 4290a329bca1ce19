/*
 * sdkconfig_project.h - the fota component's menuconfig values for host builds of the component
 * over the ESP-IDF API double, where ESP-IDF's generated sdkconfig.h would carry them on a
 * device. The double's sdkconfig.h includes this file. Only what differs from the Kconfig's
 * defaults is here; the rest comes from the component's fota_esp_defaults.h, as in an Arduino
 * build (no CONFIG_FOTA_SERVER_URL here, so that header applies).
 *
 * Anti-rollback is compiled in (the eFuse floor path); the double applies it per device
 * (esp_double_config_t.anti_rollback). The error names are in, for the host's logs and tests, and
 * enrollment (the bridge firmware's, fota-device --fleet-key).
 */
#ifndef FOTA_SDKCONFIG_PROJECT_H
#define FOTA_SDKCONFIG_PROJECT_H

#define CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK 1
#define CONFIG_FOTA_ERROR_NAMES 1
#define CONFIG_FOTA_ENROLL 1

#endif /* FOTA_SDKCONFIG_PROJECT_H */
