/*
 * main.c - example firmware of an inverter controller with the fota update agent.
 *
 * Boot: NVS, Wi-Fi, SNTP; then the agent (fota_esp_init reads its journal: a download a reset
 * cut short resumes). Then the self-test: if this image was just installed it runs pending
 * verification, and fota_esp_confirm() keeps it while fota_esp_reject() goes back to the
 * previous one (a crash before either makes the bootloader go back by itself); on an image
 * confirmed earlier both do nothing.
 * Then the agent's task checks the server every CONFIG_FOTA_CHECK_INTERVAL_S seconds. A new
 * image is only switched to when the inverter says a restart is harmless (may_reboot): at
 * night, not while it feeds the grid at noon.
 */
#include <stdbool.h>
#include <string.h>

#include "esp_event.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "esp_netif_sntp.h"
#include "esp_wifi.h"
#include "freertos/FreeRTOS.h"
#include "freertos/event_groups.h"
#include "freertos/task.h"
#include "nvs_flash.h"

#include "fota_esp.h"

static const char *TAG = "inverter";

#define WIFI_UP BIT0
static EventGroupHandle_t s_net;

/* ---- the inverter, as far as the example needs it -------------------------------------------- */

/* Output power in watts; a real firmware reads its power stage. */
static unsigned output_watts(void)
{
    return 0;
}

/* A restart interrupts the power stage for a few seconds: only when it delivers little. */
static bool may_reboot(void *ctx)
{
    (void)ctx;
    return output_watts() < 50;
}

/* What this firmware must be able to do before it keeps itself: reach the network (or it
 * could never receive the next update) and find its own settings. */
static bool self_test(void)
{
    EventBits_t bits = xEventGroupWaitBits(s_net, WIFI_UP, pdFALSE, pdTRUE, pdMS_TO_TICKS(30000));
    if ((bits & WIFI_UP) == 0) {
        ESP_LOGE(TAG, "self-test: no network within 30 s");
        return false;
    }
    nvs_handle_t nvs;
    if (nvs_open("inverter", NVS_READWRITE, &nvs) != ESP_OK) {
        ESP_LOGE(TAG, "self-test: settings not readable");
        return false;
    }
    nvs_close(nvs);
    return true;
}

static void on_fota_event(void *ctx, const fota_event_t *ev)
{
    (void)ctx;
    if (ev->kind == FOTA_EVENT_PROGRESS) {
        ESP_LOGI(TAG, "update: %lu/%lu chunks", (unsigned long)ev->done, (unsigned long)ev->total);
    } else if (ev->kind == FOTA_EVENT_ERROR) {
        ESP_LOGW(TAG, "update attempt failed: error %d (%s)", (int)ev->err, fota_err_name(ev->err));
    } else {
        ESP_LOGI(TAG, "update state: %s", fota_state_name(ev->state));
    }
}

/* ---- network ------------------------------------------------------------------------------- */

static void on_net_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    (void)data;
    if (base == WIFI_EVENT && (id == WIFI_EVENT_STA_START || id == WIFI_EVENT_STA_DISCONNECTED)) {
        xEventGroupClearBits(s_net, WIFI_UP);
        esp_wifi_connect();
    } else if (base == IP_EVENT && id == IP_EVENT_STA_GOT_IP) {
        xEventGroupSetBits(s_net, WIFI_UP);
    }
}

static esp_err_t start_network(void)
{
    s_net = xEventGroupCreate();
    esp_err_t err = s_net != NULL ? esp_netif_init() : ESP_ERR_NO_MEM;
    if (err == ESP_OK) {
        err = esp_event_loop_create_default();
    }
    if (err != ESP_OK) {
        return err;
    }
    esp_netif_create_default_wifi_sta();
    wifi_init_config_t init = WIFI_INIT_CONFIG_DEFAULT();
    wifi_config_t sta = {0};
    strncpy((char *)sta.sta.ssid, CONFIG_EXAMPLE_WIFI_SSID, sizeof sta.sta.ssid);
    strncpy((char *)sta.sta.password, CONFIG_EXAMPLE_WIFI_PASSWORD, sizeof sta.sta.password);
    err = esp_wifi_init(&init);
    if (err == ESP_OK) {
        err = esp_event_handler_register(WIFI_EVENT, ESP_EVENT_ANY_ID, on_net_event, NULL);
    }
    if (err == ESP_OK) {
        err = esp_event_handler_register(IP_EVENT, IP_EVENT_STA_GOT_IP, on_net_event, NULL);
    }
    if (err == ESP_OK) {
        err = esp_wifi_set_mode(WIFI_MODE_STA);
    }
    if (err == ESP_OK) {
        err = esp_wifi_set_config(WIFI_IF_STA, &sta);
    }
    if (err == ESP_OK) {
        err = esp_wifi_start();
    }
    if (err == ESP_OK) {
        /* Wall time for request authentication; until it is set the agent uses the server's. */
        esp_sntp_config_t sntp = ESP_NETIF_SNTP_DEFAULT_CONFIG(CONFIG_EXAMPLE_SNTP_SERVER);
        err = esp_netif_sntp_init(&sntp);
    }
    return err;
}

/* ---- boot ---------------------------------------------------------------------------------- */

static esp_err_t start_nvs(void)
{
    esp_err_t err = nvs_flash_init();
    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        /* The default partition only: the device key lives there, so a real product should
         * keep it in a partition of its own too (docs/ESP_IDF.md). */
        ESP_LOGW(TAG, "NVS unreadable (%s): erasing it", esp_err_to_name(err));
        err = nvs_flash_erase();
        if (err == ESP_OK) {
            err = nvs_flash_init();
        }
    }
    return err;
}

void app_main(void)
{
    esp_err_t err = start_nvs();
    if (err == ESP_OK) {
        err = start_network();
    }
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "start: %s", esp_err_to_name(err));
        return;
    }

    fota_esp_config_t cfg = FOTA_ESP_CONFIG_DEFAULT();
    cfg.may_reboot = may_reboot;
    cfg.on_event = on_fota_event;
    fota_esp_handle_t fota;
    err = fota_esp_init(&cfg, &fota);
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "fota: %s", esp_err_to_name(err));
        return;
    }
    /* At every boot: confirm and reject only act on an image pending verification. */
    if (self_test()) {
        err = fota_esp_confirm(fota);
    } else {
        err = fota_esp_reject(fota); /* restarts into the previous image if there is one */
    }
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "self-test outcome not applied: %s", esp_err_to_name(err));
    }
    err = fota_esp_start(fota);
    if (err != ESP_OK) {
        ESP_LOGE(TAG, "fota task: %s", esp_err_to_name(err));
    }
}
