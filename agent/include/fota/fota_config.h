/*
 * fota_config.h - compile-time sizes of the agent. Override any of them with -D or by defining
 * them before this header is included; the defaults suit an ESP32 with 1 KB chunks.
 */
#ifndef FOTA_CONFIG_H
#define FOTA_CONFIG_H

/* Largest chunk the agent accepts (manifest chunk_size). Decides the I/O buffer. */
#ifndef FOTA_CONFIG_MAX_CHUNK_SIZE
#define FOTA_CONFIG_MAX_CHUNK_SIZE 1024
#endif

/* The modes built in (1 or 0 each, at least one). A one-mode build leaves the other mode's code
 * out, and a chain-only build's I/O buffer holds a record, not a seed chunk's JSON;
 * fota_agent_init refuses a mode not built (FOTA_ERR_UNSUPPORTED). */
#ifndef FOTA_CONFIG_MODE_SEED
#define FOTA_CONFIG_MODE_SEED 1
#endif
#ifndef FOTA_CONFIG_MODE_CHAIN
#define FOTA_CONFIG_MODE_CHAIN 1
#endif
#if !FOTA_CONFIG_MODE_SEED && !FOTA_CONFIG_MODE_CHAIN
#error "fota: build at least one mode (FOTA_CONFIG_MODE_SEED, FOTA_CONFIG_MODE_CHAIN)"
#endif

/* Delta updates (docs/AGENT.md, "Delta updates"): an offer that names a delta patch from the
 * running image is applied in place of the full download, with the full image as the fallback.
 * Chain mode only; 0 leaves every piece of delta code and state out of the agent. */
#ifndef FOTA_CONFIG_DELTA
#define FOTA_CONFIG_DELTA FOTA_CONFIG_MODE_CHAIN
#endif
#if FOTA_CONFIG_DELTA && !FOTA_CONFIG_MODE_CHAIN
#error "fota: FOTA_CONFIG_DELTA needs FOTA_CONFIG_MODE_CHAIN"
#endif

/* Seed-mode chunk JSON for a chunk of c bytes: base64 text plus keys, number, MAC and slack. */
#define FOTA_SEED_JSON_MAX(c) (4 * (((c) + 2) / 3) + 192)
#define FOTA_CONFIG_MAX_(a, b) ((a) > (b) ? (a) : (b))

/* The one buffer for bodies held whole: offer JSON, manifest, seed chunk JSON, chain record. */
#ifndef FOTA_CONFIG_IO_BUF
#define FOTA_CONFIG_IO_BUF                                                                         \
    FOTA_CONFIG_MAX_(FOTA_CONFIG_MODE_SEED ? FOTA_SEED_JSON_MAX(FOTA_CONFIG_MAX_CHUNK_SIZE) : 0,   \
                     FOTA_CONFIG_MAX_(FOTA_CONFIG_MAX_CHUNK_SIZE + 32, 512))
#endif

/* How many times one release may be installed (switched to and booted) on a device. A second
 * attempt only re-verifies the image still in the update slot: it covers a power cut during the
 * new image's first boot, which ESP-IDF's bootloader rolls back exactly like a failed self-test.
 * After the last attempt the release is refused until another one is offered. */
#ifndef FOTA_CONFIG_MAX_INSTALL_ATTEMPTS
#define FOTA_CONFIG_MAX_INSTALL_ATTEMPTS 2
#endif

/* Request target (path and query); a delta build's check carries the running image's id too
 * ("&image=" and 64 hex digits). */
#ifndef FOTA_CONFIG_TARGET_MAX
#define FOTA_CONFIG_TARGET_MAX (192 + (FOTA_CONFIG_DELTA ? 72 : 0))
#endif

/* Report body (JSON). */
#ifndef FOTA_CONFIG_REPORT_MAX
#define FOTA_CONFIG_REPORT_MAX 320
#endif

/* Reports waiting to be sent; when full, the oldest progress report makes room. */
#ifndef FOTA_CONFIG_REPORT_QUEUE
#define FOTA_CONFIG_REPORT_QUEUE 4
#endif

/* Longest device id. */
#ifndef FOTA_CONFIG_DEVICE_ID_MAX
#define FOTA_CONFIG_DEVICE_ID_MAX 48
#endif

/* Bytes of flash hashed per poll while verifying the written image. */
#ifndef FOTA_CONFIG_VERIFY_STEP
#define FOTA_CONFIG_VERIFY_STEP 16384
#endif

/* Consecutive failures of one download (bad data, broken connections) before it is given up. */
#ifndef FOTA_CONFIG_MAX_FAILURES
#define FOTA_CONFIG_MAX_FAILURES 8
#endif

/* Longest back-off between retries. */
#ifndef FOTA_CONFIG_MAX_BACKOFF_MS
#define FOTA_CONFIG_MAX_BACKOFF_MS 60000
#endif

/* Names and descriptions of the error codes in the firmware (fota_err_name, fota_err_text): about
 * 6.5 KB of strings on a Cortex-M4 or an ESP32. Without them both return a placeholder and the
 * numbers still travel in reports; fotad and the host tools keep the names and show them. */
#ifndef FOTA_CONFIG_ERR_NAMES
#define FOTA_CONFIG_ERR_NAMES 1
#endif

/* Bytes the image validator reads per step (stack). */
#ifndef FOTA_CONFIG_IMAGE_READ_BUF
#define FOTA_CONFIG_IMAGE_READ_BUF 64
#endif

#endif /* FOTA_CONFIG_H */
