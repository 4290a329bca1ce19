/*
 * esp_crt_bundle.h - the ESP-IDF API double's declaration of the ESP-IDF API of that name (subset),
 * for host builds only.
 *
 * esp_crt_bundle_attach() returns ESP_OK; an esp_http_client configured with it verifies HTTPS
 * servers against the host's CA store (tests use plain http:// on loopback).
 */
#ifndef ESP_DOUBLE_ESP_CRT_BUNDLE_H
#define ESP_DOUBLE_ESP_CRT_BUNDLE_H

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

esp_err_t esp_crt_bundle_attach(void *conf);

#ifdef __cplusplus
}
#endif

#endif /* ESP_DOUBLE_ESP_CRT_BUNDLE_H */
