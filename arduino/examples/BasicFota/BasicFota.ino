/*
 * BasicFota - a sketch that keeps itself up to date with FotaClient.
 *
 * setup() joins Wi-Fi, starts the client (which resumes a download a power cut interrupted) and,
 * when this image is new, runs the sketch's own self-test: markValid() keeps the image,
 * rollback() restarts into the previous one. loop() gives the client one bounded step, then does
 * the sketch's own work. Send 'u' on the serial monitor to check for an update at once.
 *
 * Before the first upload: provision the device key (examples/Provisioning), paste the release
 * public key below, and pick a partition scheme with two OTA slots (Tools > Partition Scheme:
 * "Default 4MB with spiffs"). docs/ARDUINO.md of the fota repository is the guide.
 */
#include <FotaClient.h>
#include <WiFi.h>

static const char WIFI_SSID[] = "your-ssid";
static const char WIFI_PASSWORD[] = "your-password";
static const char SERVER_URL[] = "https://fota.example.com"; /* fotad, no trailing slash */
static const char PRODUCT_ID[] = "inverter";                 /* the releases' --product */

/* This build's version: bump it for every release, and give fotactl release create the same
 * --version (an Arduino build's app descriptor cannot tell two sketches apart). */
#define FIRMWARE_VERSION "1.0.0"

/* The release public key: the public half of `fotactl keygen` (release.pub), pasted whole.
 * Only a device holding it accepts a release; the private key never leaves your machine. */
static const char RELEASE_KEY_PEM[] = R"(-----BEGIN PUBLIC KEY-----
paste the lines of release.pub here
-----END PUBLIC KEY-----
)";

FotaClient fota;

static void printState(FotaState s, void *)
{
    Serial.printf("fota: %s\n", FotaClient::stateName(s));
}

static void printProgress(uint32_t done, uint32_t total, void *)
{
    Serial.printf("fota: chunk %u of %u\n", (unsigned)done, (unsigned)total);
}

static void printError(FotaError err, void *)
{
    Serial.printf("fota: error %s\n", FotaClient::errorName(err));
}

/* The sketch's own self-test, run on a new image before it is kept: whatever proves that this
 * firmware does its job. A new image that can no longer reach the network must not stay. */
static bool selfTest()
{
    return WiFi.status() == WL_CONNECTED;
}

/* The sketch's own work: short, so that loop() comes round often. */
static void doOwnWork()
{
    /* ... read the inverter, drive its display ... */
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

    FotaConfig cfg;
    cfg.serverUrl = SERVER_URL;
    cfg.productId = PRODUCT_ID;
    cfg.releaseKey = RELEASE_KEY_PEM;
    cfg.firmwareVersion = FIRMWARE_VERSION;
    bool started = fota.begin(cfg);
    if (!started) {
        Serial.printf("fota: begin failed: %s\n", fota.errorName());
    }
    if (fota.pendingVerify()) {
        /* A new image stays only if it works and can still update itself. */
        if (started && selfTest()) {
            Serial.printf("fota: self-test passed, keeping this image: %s\n",
                          fota.markValid() ? "ok" : "failed");
        } else {
            Serial.println("fota: self-test failed, going back to the previous image");
            fota.rollback(); /* restarts; returns only if there is nothing to go back to */
        }
    }
}

void loop()
{
    fota.loop(); /* returns at once, or after one request; restarts into a new image */
    if (Serial.available() > 0 && Serial.read() == 'u') {
        fota.checkNow();
    }
    doOwnWork();
}
