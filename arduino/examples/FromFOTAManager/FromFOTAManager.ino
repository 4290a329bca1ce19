/*
 * FromFOTAManager - the FOTAManager sketch's structure with FotaClient in its place.
 *
 * The old sketch's FOTAManager fetched one chunk per CHUNK_DOWNLOAD_INTERVAL from
 * GET /api/inverter/fota/chunk?chunk_number=N, base64-decoded it, checked its HMAC with the fleet
 * key and wrote it with Arduino's Update. This sketch keeps the same shape (the interval, the
 * server, setup() and loop()) and hands all of that to FotaClient in seed mode, which asks for
 * the same chunks and reads the same JSON ({"chunk_number":N,"data":"<base64>","mac":"<hex>"}).
 * Each "Was:" comment says what stood there and why it changed; docs/ARDUINO.md has the table.
 *
 * The server: seed mode is fotad's seed API (docs/PROTOCOL.md of the fota repository). Besides
 * the chunks, the client asks for a check and the signed manifest first, reports what it did,
 * and signs every request with the device's key: the server must be fotad, which answers all of
 * it, the chunks in the JSON above. Chain mode (FotaMode::Chain, one line) comes later, once the
 * fleet runs FotaClient.
 */
#include <FotaClient.h>
#include <WiFi.h>

/* Was: the pause between two chunk requests, checked against millis() in FOTAManager::loop().
 * Now: the client's own pacing (cfg.requestIntervalMs below); keep the value the fleet had. */
#define CHUNK_DOWNLOAD_INTERVAL 1000 /* ms */

static const char WIFI_SSID[] = "your-ssid";
static const char WIFI_PASSWORD[] = "your-password";

/* Was: the server the chunks came from. The same base: the client puts /api/inverter/fota/...
 * after it, as FOTAManager did. No trailing slash. */
static const char SERVER_URL[] = "https://fota.example.com";
static const char PRODUCT_ID[] = "inverter"; /* the releases' --product (fotactl) */

/* New: this build's version, the one its release names (fotactl release create --version). The
 * client offers it in every check and knows from it, after a restart, that the new image runs. */
#define FIRMWARE_VERSION "2.0.0"

/* Was: FLEET_KEY, one HMAC key in every device's firmware: one device read out opened the whole
 * fleet. Now: each device holds its own key, HMAC-SHA256(master secret, device id), written
 * once into NVS (examples/Provisioning); the master secret stays with the server.
 *
 * New: the release public key (fotactl keygen --public). Every release carries a manifest
 * signed offline; the client checks it before the first byte is written and checks the whole
 * image against it before the boot partition changes. The server cannot sign one. */
static const char RELEASE_KEY_PEM[] = R"(-----BEGIN PUBLIC KEY-----
paste the lines of release.pub here
-----END PUBLIC KEY-----
)";

/* Was: FOTAManager fotaManager(...). */
FotaClient fota;

static void printState(FotaState s, void *)
{
    Serial.printf("fota: %s\n", FotaClient::stateName(s));
}

static void printProgress(uint32_t done, uint32_t total, void *)
{
    Serial.printf("fota: chunk %u of %u\n", (unsigned)done, (unsigned)total);
}

/* Was: Update.hasError() / Update.errorString(). Now: a named code for every failure. */
static void printError(FotaError err, void *)
{
    Serial.printf("fota: error %s\n", FotaClient::errorName(err));
}

/* New: the sketch's own proof that a new image works (here: it joined the network again). */
static bool selfTest()
{
    return WiFi.status() == WL_CONNECTED;
}

void setup()
{
    Serial.begin(115200);
    WiFi.begin(WIFI_SSID, WIFI_PASSWORD);
    for (int i = 0; i < 60 && WiFi.status() != WL_CONNECTED; i++) {
        delay(500);
    }

    fota.onState(printState);
    fota.onProgress(printProgress);
    fota.onError(printError);

    /* Was: fotaManager.begin(), after which a reset always meant starting the download again
     * from chunk 0 (Update.begin() erases the slot and cannot resume). Now: begin() reads the
     * client's journal in NVS and the download goes on where a power cut stopped it, at most
     * one 4 KB flash sector back. */
    FotaConfig cfg;
    cfg.serverUrl = SERVER_URL;
    cfg.productId = PRODUCT_ID;
    cfg.releaseKey = RELEASE_KEY_PEM;
    cfg.firmwareVersion = FIRMWARE_VERSION;
    cfg.mode = FotaMode::Seed;                       /* the chunk API, as before */
    cfg.requestIntervalMs = CHUNK_DOWNLOAD_INTERVAL; /* one chunk per interval, as before */
    bool started = fota.begin(cfg);
    if (!started) {
        /* FOTA_ERR_ESP_NOT_FOUND: no device key in NVS yet (examples/Provisioning). */
        Serial.printf("fota: begin failed: %s\n", fota.errorName());
    }

    /* New: after an update the image runs on trial. Was: Update.end(true) and ESP.restart(),
     * and whatever came up stayed. Now: the bootloader goes back to the previous image unless
     * the new one confirms itself; an image that cannot confirm, or cannot update itself any
     * more, is rolled back. */
    if (fota.pendingVerify()) {
        if (started && selfTest()) {
            fota.markValid();
        } else {
            fota.rollback(); /* restarts into the previous image */
        }
    }
}

void loop()
{
    /* Was: fotaManager.loop(): if CHUNK_DOWNLOAD_INTERVAL had passed, HTTPClient GET of chunk N,
     * base64 decode, HMAC check with the fleet key, Update.write(); after the last chunk
     * Update.end(true) and ESP.restart(). Now all of it happens in here: the chunk is decoded
     * in place, checked with this device's key, written straight into the inactive OTA slot
     * (each sector erased just before its first write, never the whole slot up front), and the
     * journal saved at every sector; after the last chunk the slot is read back and checked
     * against the signed manifest, the boot partition switched, and the device restarted. */
    fota.loop();

    /* ... the inverter's own work, as before ... */
}
