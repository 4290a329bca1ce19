/*
 * esp_random.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset), for
 * host builds only.
 *
 * Random numbers from the host's entropy, or, when the selected device was opened with a
 * random_seed, a reproducible sequence per device (fleet runs that replay).
 */
#ifndef ESP_DOUBLE_ESP_RANDOM_H
#define ESP_DOUBLE_ESP_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint32_t esp_random(void);
void esp_fill_random(void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* ESP_DOUBLE_ESP_RANDOM_H */
