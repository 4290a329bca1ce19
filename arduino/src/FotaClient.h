/*
 * FotaClient.h - firmware updates for Arduino-ESP32 sketches: the fota ESP-IDF component
 * (fota_esp.h) behind one class that a sketch drives from its loop().
 *
 *     #include <FotaClient.h>
 *
 *     FotaClient fota;
 *
 *     void setup() {
 *         // ... Wi-Fi ...
 *         FotaConfig cfg;
 *         cfg.serverUrl = "https://fota.example.com";
 *         cfg.productId = "inverter";
 *         cfg.releaseKey = RELEASE_KEY_PEM;    // fotactl keygen --public
 *         cfg.firmwareVersion = "1.4.0";       // as fotactl release create --version names it
 *         fota.begin(cfg);                     // resumes an interrupted download
 *         if (selfTest()) fota.markValid();    // a new image keeps running
 *         else fota.rollback();                // back to the previous one (restarts)
 *     }
 *     void loop() {
 *         fota.loop();                         // returns at once, or after one request
 *         // ... the inverter's work ...
 *     }
 *
 * What it does: checks the server, downloads the release in bounded steps straight into the
 * inactive OTA partition (every chunk authenticated before it touches flash), resumes after a
 * power cut from a journal in NVS, reads the image back and checks it against the signed
 * manifest, switches the boot partition and restarts; after the restart the sketch's self-test
 * decides: markValid() or rollback(). No restart confirmed means the bootloader goes back.
 *
 * Self-test and the Arduino core: the core confirms a new image by itself at start-up unless
 * the sketch defines verifyRollbackLater() returning true. This library defines it (returning
 * true), so the image stays pending until the sketch calls markValid(); a sketch using this
 * library must not define verifyRollbackLater() itself.
 *
 * Memory: the component's state (3.3 KB) and the HTTP client with its buffers (3 x 1 KB and the
 * URL) are allocated once by begin() and freed by end(). This code allocates nothing after
 * begin() and uses no Arduino String; the image never passes through a buffer larger than one
 * chunk (esp_http_client itself reallocates its URL and header strings for each request).
 * Strings and keys given in FotaConfig are used in place, not copied: keep them alive (string
 * literals and globals are).
 *
 * Threads: one task drives the client, the loop task: call every method from setup() and
 * loop() only. The callbacks run inside begin() and loop(): they must return quickly and must
 * not call the client.
 */
#ifndef FOTA_CLIENT_H
#define FOTA_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "fota_esp.h"

/* Which server protocol the device speaks (docs/PROTOCOL.md). */
enum class FotaMode : uint8_t {
    Chain = FOTA_MODE_CHAIN, /* fotad: one signed manifest, a hash chain over the chunks */
    Seed = FOTA_MODE_SEED,   /* the chunk API: JSON chunks, base64, HMAC per chunk */
};

/* The client's state: FOTA_STATE_IDLE, _CHECKING, _MANIFEST, _DOWNLOADING, _VERIFYING,
 * _INSTALLED, _REBOOTING, _BOOTED (new image, self-test pending), _CONFIRMED, _ROLLED_BACK,
 * _ERROR (fota/agent.h). FotaClient::stateName() names one. */
typedef fota_state_t FotaState;

/* An error: FOTA_OK or a FOTA_ERR_* code (fota/err.h); FotaClient::errorName() names one. */
typedef fota_err_t FotaError;

typedef void (*FotaStateCallback)(FotaState state, void *ctx);
typedef void (*FotaProgressCallback)(uint32_t done, uint32_t total, void *ctx); /* chunks */
typedef void (*FotaErrorCallback)(FotaError err, void *ctx);
typedef bool (*FotaRebootHook)(void *ctx);

struct FotaConfig {
    /* Server and trust (required) */
    const char *serverUrl = nullptr;  /* "https://fota.example.com", no trailing slash */
    const char *productId = nullptr;  /* must match the releases' product */
    const char *releaseKey = nullptr; /* release public key, PEM text (fotactl keygen --public) */
    /* This firmware's version, as its release names it (fotactl release create --version),
     * <= 32 characters. Required: the app descriptor of an Arduino build carries the core's
     * version, the same for every sketch, so it cannot tell two firmware builds apart. */
    const char *firmwareVersion = nullptr;
    FotaMode mode = FotaMode::Chain;

    /* Identity. nullptr: read from NVS (keyPartition, keyNamespace: string "device_id", blob
     * "device_key"; examples/Provisioning writes them); without a stored id,
     * "<chip>-<base MAC in hex>". */
    const char *deviceId = nullptr;
    const uint8_t *deviceKey = nullptr;                   /* 32 bytes */
    const char *keyPartition = CONFIG_FOTA_KEY_PARTITION; /* where they are stored */
    const char *keyNamespace = CONFIG_FOTA_KEY_NAMESPACE;
    /* A bridge firmware's (docs/MIGRATION.md): the original firmware's fleet key. A device
     * without a key in NVS makes one and enrolls it with fotad before it checks for updates.
     * Needs the library compiled with CONFIG_FOTA_ENROLL=1 (a build flag); without it, begin()
     * refuses a fleet key. nullptr: no enrollment. */
    const uint8_t *fleetKey = nullptr;
    size_t fleetKeyLen = 0;

    /* TLS: the server's CA certificate (PEM); nullptr: Arduino-ESP32's certificate bundle. */
    const char *caCert = nullptr;

    /* Pacing; each interval below 2^31 ms (about 24 days), else begin() refuses it */
    uint32_t checkIntervalMs = CONFIG_FOTA_CHECK_INTERVAL_S * 1000u; /* 0: only checkNow() */
    uint32_t requestIntervalMs = 0; /* at most one data request (a chunk, a Range) per interval,
                                       as the old FOTAManager's CHUNK_DOWNLOAD_INTERVAL paced
                                       its chunks; 0: no pause */
    uint32_t chunksPerRequest = 16; /* chain mode: chunks per Range request, which bounds the
                                       time one loop() takes; 0: the rest of the image at once */
    uint32_t retryMs = CONFIG_FOTA_RETRY_MS;             /* first back-off after a failed request */
    uint32_t progressEvery = CONFIG_FOTA_PROGRESS_EVERY; /* a progress report to the server
                                                             every N chunks (onProgress hears
                                                             each chunk) */
    int requestTimeoutMs = CONFIG_FOTA_REQUEST_TIMEOUT_MS; /* connect, and each read */

    /* Images with a lower security version are refused. */
    uint32_t securityFloor = CONFIG_FOTA_SECURITY_FLOOR;

    /* Where the resume journal lives: an NVS partition and namespace. */
    const char *journalPartition = CONFIG_FOTA_JOURNAL_PARTITION;
    const char *journalNamespace = CONFIG_FOTA_JOURNAL_NAMESPACE;

    /* Called when an installed image waits for its restart: false postpones it (asked again
     * every retryMs, from loop()). nullptr: restart at once. */
    FotaRebootHook mayReboot = nullptr;
    void *rebootCtx = nullptr;
};

class FotaClient
{
  public:
    FotaClient() = default;
    ~FotaClient();
    FotaClient(const FotaClient &) = delete;
    FotaClient &operator=(const FotaClient &) = delete;

    /* Start: read the identity and the journal (an interrupted download resumes; an image that
     * was installed and now runs waits for markValid()). Call after nvs_flash_init() (the
     * Arduino core has called it) and before loop(); set the callbacks first to hear what the
     * journal says. false: lastError() says why (FOTA_ERR_ESP_NOT_FOUND: no device key in NVS;
     * FOTA_ERR_ESP_INVALID_ARG: a required setting missing or too long;
     * FOTA_ERR_ESP_INVALID_STATE: no OTA partition to update). */
    bool begin(const FotaConfig &cfg);

    /* Stop and free the component's state; begin() may be called again. */
    void end();

    /* One bounded step when one is due (at most one request, or a slice of the image check),
     * else nothing: call it from the sketch's loop(). After an image is installed and
     * mayReboot allows it, this restarts the device and does not return. */
    void loop();

    /* Check for an update at the next loop() instead of at the next interval. */
    void checkNow();

    /* The sketch's self-test passed: the running image stays (the bootloader will not roll it
     * back) and the server hears "confirmed". Harmless when nothing is pending. */
    bool markValid();

    /* The self-test failed (or begin() did: an image that cannot update itself must not stay):
     * mark the running image invalid and restart into the previous one. Returns (false) only
     * when that cannot be done: nothing pending, or nothing to go back to. */
    bool rollback();

    /* The running image is new and waits for markValid() or rollback(). */
    bool pendingVerify() const;

    /* Nothing in flight and nothing left to tell the server: until the next check, loop() has
     * no work (a moment for deep sleep). */
    bool idle() const;

    void onState(FotaStateCallback cb, void *ctx = nullptr);
    void onProgress(FotaProgressCallback cb, void *ctx = nullptr);
    void onError(FotaErrorCallback cb, void *ctx = nullptr);

    FotaState state() const;
    FotaError lastError() const;
    const char *errorName() const; /* of lastError() */
    uint32_t chunksDone() const;   /* of the download in progress (or the last one); 0 after
                                      begin() resumes a download, until its manifest is back */
    uint32_t chunksTotal() const;
    const char *deviceId() const; /* "" before begin() */

    static const char *stateName(FotaState s);
    static const char *errorName(FotaError err);

    /* The component's handle (fota_esp.h), for what this class does not wrap; nullptr before
     * begin(). */
    fota_esp_handle_t handle() const
    {
        return handle_;
    }

  private:
    static void event_(void *ctx, const fota_event_t *ev);
    static bool mayReboot_(void *ctx);

    fota_esp_handle_t handle_ = nullptr;
    FotaError beginError_ = FOTA_OK;
    int64_t nextStepUs_ = 0;
    FotaRebootHook rebootHook_ = nullptr;
    void *rebootCtx_ = nullptr;
    FotaStateCallback stateCb_ = nullptr;
    void *stateCtx_ = nullptr;
    FotaProgressCallback progressCb_ = nullptr;
    void *progressCtx_ = nullptr;
    FotaErrorCallback errorCb_ = nullptr;
    void *errorCtx_ = nullptr;
};

#endif /* FOTA_CLIENT_H */
