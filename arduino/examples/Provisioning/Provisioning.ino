/*
 * Provisioning - writes this device's fota key (and, if given, its id) into NVS, once.
 *
 * FotaClient reads them from the default NVS partition ("nvs"), namespace "fota": the blob
 * "device_key" (32 bytes) and the optional string "device_id". This sketch writes exactly those
 * with ESP-IDF's NVS API (nvs.h): the calls, types and names the library reads them with.
 *
 * Per device:
 *   1. Pick its id: your serial number (put it in DEVICE_ID), or leave DEVICE_ID empty for the
 *      default "<chip>-<base MAC>", which this sketch prints (e.g. esp32-24a1600a1b2c).
 *   2. Derive its key on the operator's machine, for that id:
 *          fotactl device key esp32-24a1600a1b2c --master master.key
 *      and paste the 64 hex digits into DEVICE_KEY_HEX.
 *   3. Upload this sketch, read the serial monitor, then upload the application.
 * A key already stored is left alone unless OVERWRITE is true.
 *
 * The key is a secret of this device: do not keep a filled-in copy of this sketch. For a
 * production line, an NVS image made with nvs_partition_gen.py does the same without a sketch
 * (docs/ESP_IDF.md, "Provisioning the device key").
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "esp_mac.h"
#include "nvs.h"
#include "nvs_flash.h"
#include "sdkconfig.h"

static const char DEVICE_ID[] = "";      /* "" : the default id, "<chip>-<base MAC>" */
static const char DEVICE_KEY_HEX[] = ""; /* 64 hex digits from `fotactl device key` */
static const bool OVERWRITE = false;     /* true: replace a key already stored */

static const char NAMESPACE[] = "fota"; /* FotaClient's defaults (fota_esp_defaults.h) */
static const char KEY_NAME[] = "device_key";
static const char ID_NAME[] = "device_id";

/* A device id as the server takes it: 1..48 of A-Z a-z 0-9 - _ . : */
static bool validId(const char *id)
{
    size_t n = strlen(id);
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)id[i]) && strchr("-_.:", id[i]) == nullptr) {
            return false;
        }
    }
    return n >= 1 && n <= 48;
}

/* 64 hex digits into 32 bytes; false if DEVICE_KEY_HEX is anything else. */
static bool parseKey(const char *hex, uint8_t key[32])
{
    if (strlen(hex) != 64) {
        return false;
    }
    for (int i = 0; i < 64; i++) {
        if (!isxdigit((unsigned char)hex[i])) {
            return false;
        }
    }
    for (int i = 0; i < 32; i++) {
        char byte[3] = {hex[2 * i], hex[2 * i + 1], '\0'};
        key[i] = (uint8_t)strtoul(byte, nullptr, 16);
    }
    return true;
}

/* What FotaClient calls this device when NVS holds no id. */
static void printDefaultId()
{
    uint8_t mac[6];
    if (esp_efuse_mac_get_default(mac) == ESP_OK) {
        Serial.printf("default device id: %s-%02x%02x%02x%02x%02x%02x\n", CONFIG_IDF_TARGET, mac[0],
                      mac[1], mac[2], mac[3], mac[4], mac[5]);
    }
}

static bool check(esp_err_t err, const char *what)
{
    if (err != ESP_OK) {
        Serial.printf("%s: %s\n", what, esp_err_to_name(err));
    }
    return err == ESP_OK;
}

/* The id the device will go by: the one stored, or its default. */
static void printStoredId(nvs_handle_t nvs)
{
    char id[49];
    size_t n = sizeof id;
    if (nvs_get_str(nvs, ID_NAME, id, &n) == ESP_OK) {
        Serial.printf("device id stored in NVS: %s (the device goes by this id)\n", id);
    } else {
        Serial.println("no device id in NVS: the device goes by its default id (above)");
    }
}

/* Writes the id (if given) and the key; nothing is kept unless nvs_commit succeeds. */
static bool provision(nvs_handle_t nvs, const uint8_t key[32])
{
    size_t stored = 0;
    esp_err_t err = nvs_get_blob(nvs, KEY_NAME, nullptr, &stored);
    if (err == ESP_OK && !OVERWRITE) {
        Serial.printf("a device key (%u bytes) is stored already: left alone "
                      "(set OVERWRITE to replace it)\n",
                      (unsigned)stored);
        return false;
    }
    if (err != ESP_OK && err != ESP_ERR_NVS_NOT_FOUND) {
        return check(err, "reading the stored key");
    }
    if (DEVICE_ID[0] != '\0' && !check(nvs_set_str(nvs, ID_NAME, DEVICE_ID), "device_id")) {
        return false;
    }
    return check(nvs_set_blob(nvs, KEY_NAME, key, 32), "device_key") &&
           check(nvs_commit(nvs), "nvs_commit");
}

void setup()
{
    Serial.begin(115200);
    delay(1000);
    printDefaultId();

    uint8_t key[32];
    if (!parseKey(DEVICE_KEY_HEX, key)) {
        Serial.println("DEVICE_KEY_HEX must be the 64 hex digits of `fotactl device key`");
        return;
    }
    if (DEVICE_ID[0] != '\0' && !validId(DEVICE_ID)) {
        Serial.println("DEVICE_ID must be 1..48 of A-Z a-z 0-9 - _ . :");
        return;
    }
    nvs_handle_t nvs;
    if (!check(nvs_open(NAMESPACE, NVS_READWRITE, &nvs), "nvs_open")) { /* "nvs" partition */
        return;
    }
    bool done = provision(nvs, key);
    if (done) {
        Serial.printf("stored in NVS namespace \"%s\": %s (32 bytes)%s%s\n", NAMESPACE, KEY_NAME,
                      DEVICE_ID[0] != '\0' ? ", device_id " : "", DEVICE_ID);
    }
    printStoredId(nvs); /* the key must have been derived for this id */
    nvs_close(nvs);
    if (done) {
        Serial.println("done: upload the application now");
    }
}

void loop()
{
    delay(1000);
}
