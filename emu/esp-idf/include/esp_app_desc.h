/*
 * esp_app_desc.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset),
 * for host builds only.
 *
 * esp_app_desc_t with ESP-IDF v5.5's field layout (256 bytes; it sits at offset 0x20 of an app
 * image). esp_app_get_description() returns the descriptor of the image the emulated bootloader
 * booted at the selected device's last power-on.
 */
#ifndef ESP_DOUBLE_ESP_APP_DESC_H
#define ESP_DOUBLE_ESP_APP_DESC_H

#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ESP_APP_DESC_MAGIC_WORD (0xABCD5432)

typedef struct {
    uint32_t magic_word;
    uint32_t secure_version;
    uint32_t reserv1[2];
    char version[32];
    char project_name[32];
    char time[16];
    char date[16];
    char idf_ver[32];
    uint8_t app_elf_sha256[32];
    uint16_t min_efuse_blk_rev_full;
    uint16_t max_efuse_blk_rev_full;
    uint8_t mmu_page_size;
    uint8_t reserv3[3];
    uint32_t reserv2[18];
} esp_app_desc_t;

#ifdef __cplusplus
#define ESP_DOUBLE_STATIC_ASSERT static_assert
#else
#define ESP_DOUBLE_STATIC_ASSERT _Static_assert
#endif
ESP_DOUBLE_STATIC_ASSERT(sizeof(esp_app_desc_t) == 256, "esp_app_desc_t should be 256 bytes");
ESP_DOUBLE_STATIC_ASSERT(offsetof(esp_app_desc_t, secure_version) == 4,
                         "secure_version at offset 4");

/* The running app's descriptor; valid while the device is open. */
const esp_app_desc_t *esp_app_get_description(void);

#ifdef __cplusplus
}
#endif

#endif /* ESP_DOUBLE_ESP_APP_DESC_H */
