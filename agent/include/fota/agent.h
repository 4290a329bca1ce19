/*
 * agent.h - libfota, the device-side update agent.
 *
 * One update, end to end, in constant RAM whatever the image size: check for an offer, fetch and
 * verify the signed manifest, download chunk by chunk (seed mode: JSON chunks with a per-device
 * HMAC; chain mode: records of a hash chain rooted in the manifest, streamed with HTTP Range),
 * verify each chunk before it touches flash, write it into the inactive OTA partition, read the
 * partition back and check it against the manifest, switch the boot slot, reboot through a
 * policy hook, then confirm (the application's self-test) or notice the rollback.
 *
 * Sans-I/O: the agent never opens a socket. fota_agent_poll() says what to do next (wait, perform
 * an HTTP request, reboot); the application performs requests with its own network stack and
 * feeds the response body back in pieces of any size. fota_agent_run() is a small blocking driver
 * on top for the simple case. Flash, boot control, journal store and clock are synchronous ports.
 *
 * Memory: the caller owns the fota_agent_t (all state, buffers sized at compile time by
 * fota_config.h); the agent allocates nothing and keeps no global state. Fields of the struct
 * are private: use the functions.
 *
 * Power safety: progress is journaled through the store port at every flash sector boundary, so
 * a power cut costs at most one sector of re-download; nothing unverified is ever written, and
 * the boot slot only changes after the whole image has been checked.
 */
#ifndef FOTA_AGENT_H
#define FOTA_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/md.h>

#include "fota/err.h"
#include "fota/flash.h"
#include "fota/fota_config.h"
#include "fota/http.h"
#include "fota/chain.h"
#include "fota/delta.h"
#include "fota/manifest.h"
#include "fota/port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Release ids are the first 16 bytes of SHA-256(manifest) in lowercase hex. */
#define FOTA_RELEASE_ID_LEN 32
#define FOTA_VERSION_MAX 32

typedef enum {
    FOTA_MODE_SEED = 0,  /* GET chunk?chunk_number=N, JSON + base64 + HMAC per chunk */
    FOTA_MODE_CHAIN = 1, /* GET blob/ID with Range, records chunk_i || h_(i+1) */
} fota_mode_t;

/* The agent's state, also what reports and events carry. Values are stable (they travel). */
typedef enum {
    FOTA_STATE_IDLE = 0,
    FOTA_STATE_CHECKING = 1,
    FOTA_STATE_MANIFEST = 2,
    FOTA_STATE_DOWNLOADING = 3,
    FOTA_STATE_VERIFYING = 4,
    FOTA_STATE_INSTALLED = 5, /* boot slot switched, waiting for may_reboot */
    FOTA_STATE_REBOOTING = 6,
    FOTA_STATE_BOOTED = 7, /* new image running, pending its self-test */
    FOTA_STATE_CONFIRMED = 8,
    FOTA_STATE_ROLLED_BACK = 9,
    FOTA_STATE_ERROR = 10,
    FOTA_STATE_DOWNLOADED = 11, /* download_only: the verified image waits for an install offer */
    FOTA_STATE_DELTA_FAILED =
        12, /* reported only: the delta patch failed, the full image follows */
} fota_state_t;

/* What an offer asks of the device (its "action", docs/PROTOCOL.md "check"). */
typedef enum {
    FOTA_OFFER_SOFT = 0,          /* the application's hooks decide (the default) */
    FOTA_OFFER_FORCED = 1,        /* install and reboot once verified: the hooks are not asked */
    FOTA_OFFER_DOWNLOAD_ONLY = 2, /* download and verify, then wait for an offer to install */
} fota_offer_action_t;

typedef enum {
    FOTA_EVENT_STATE = 0,    /* state changed */
    FOTA_EVENT_PROGRESS = 1, /* chunks written: done / total */
    FOTA_EVENT_ERROR = 2,    /* an update attempt failed with err; the device keeps its image */
} fota_event_kind_t;

typedef struct {
    fota_event_kind_t kind;
    fota_state_t state;
    fota_err_t err;
    uint32_t done;  /* chunks */
    uint32_t total; /* chunks */
} fota_event_t;

typedef struct {
    /* Identity and trust */
    const char *device_id;       /* sent as X-Device-Id; <= FOTA_CONFIG_DEVICE_ID_MAX */
    const uint8_t *device_key;   /* 32 bytes: HMAC-SHA256(master, device_id) */
    const char *product_id;      /* hardware/product id, must match the manifest */
    const char *current_version; /* version of the running image */
    uint32_t security_floor;     /* refuse images with a lower security version */
    const uint8_t *release_key;  /* release public key, DER or PEM (with its NUL) */
    size_t release_key_len;
    uint16_t chip_id; /* the chip images must be built for: their header's chip id (ESP-IDF's
                         esp_chip_id_t: ESP32 0, S2 2, C3 5, S3 9, C2 12, C6 13, H2 16, P4 18,
                         C61 20, C5 23) */
    /* Behaviour (intervals below 2^31 ms, about 24 days) */
    fota_mode_t mode;
    uint32_t check_interval_ms; /* between checks when idle; 0: only on fota_agent_check_now */
    uint32_t chunk_interval_ms; /* pacing: at most one data request (seed chunk, chain Range)
                                   per interval (0: none) */
    uint32_t retry_ms;          /* first back-off after a failed request (doubles, capped) */
    uint32_t range_records;     /* chain mode: records per Range request, 0: to the end */
    uint32_t progress_every;    /* a progress report every N chunks (docs/AGENT.md), 0: never */
    /* Hooks (may be NULL = allow). Return true to allow. */
    bool (*may_download)(void *ctx, const fota_manifest_t *m);
    bool (*may_reboot)(void *ctx);
    void (*on_event)(void *ctx, const fota_event_t *ev);
    void *hook_ctx;
} fota_agent_config_t;

typedef struct {
    fota_flash_t flash;
    fota_boot_t boot;
    fota_store_t store;
    fota_clock_t clock;
} fota_ports_t;

typedef enum {
    FOTA_ACTION_WAIT = 0,   /* nothing to do now: call poll again after wait_ms */
    FOTA_ACTION_HTTP = 1,   /* perform *http and feed the response */
    FOTA_ACTION_REBOOT = 2, /* the agent asked the boot port to reboot (emulator: do it now) */
} fota_action_kind_t;

typedef struct {
    fota_action_kind_t kind;
    uint32_t wait_ms;
    const fota_http_request_t *http;
} fota_action_t;

/* ---- private state (sized by fota_config.h) ---------------------------------------------- */

typedef struct {
    uint8_t state; /* fota_state_t */
    uint16_t err;  /* fota_err_t */
    uint32_t done;
    uint32_t total;
} fota_report_entry_t;

/* What the agent takes from an offer; the rest of it is a preview of the signed manifest. */
typedef struct {
    char release[FOTA_RELEASE_ID_LEN + 1]; /* hex id */
    char version[FOTA_VERSION_MAX + 1];
    uint8_t action; /* fota_offer_action_t */
#if FOTA_CONFIG_DELTA
    char delta[FOTA_RELEASE_ID_LEN + 1]; /* the offer's "delta" (hex id), "" without one */
#endif
} fota_offer_t;

#if FOTA_CONFIG_DELTA
/* A place in a delta download to resume from: a segment start (docs/AGENT.md, "Delta updates"). */
typedef struct {
    uint32_t record;                       /* its record index */
    uint32_t pos;                          /* where it starts in the new image */
    uint8_t expected[FOTA_CHAIN_HASH_LEN]; /* the chain hash that record must have */
} fota_delta_mark_t;

/* What a delta update adds to the agent's state. */
typedef struct {
    uint8_t on;            /* the download in progress is the delta's */
    uint8_t running_known; /* the running image's id: 0 not looked for yet, 1 known, 2 none */
    uint8_t pending_valid; /* pending holds a segment start not yet journaled */
    uint8_t running_id[32];
    uint32_t running_offset;   /* the running partition */
    uint32_t running_len;      /* the running image's length, its appended hash included */
    uint32_t keep;             /* bytes of the new image in flash when the applier restarted */
    uint32_t written;          /* bytes of the new image written and read back */
    uint32_t extent;           /* the journaled extent: a sector boundary (or the image's end) */
    fota_delta_mark_t resume;  /* the segment start the journal names */
    fota_delta_mark_t pending; /* the last segment start, journaled once `extent` reaches it */
    fota_delta_t applier;
} fota_agent_delta_t;
#endif

typedef struct fota_agent {
    /* The fields the state machine uses most come first: small offsets, which the short load,
     * store and address forms reach (Thumb: bytes up to 31, words up to 124, an address at +0
     * without an add); the order is the one that measured smallest. */
    mbedtls_md_context_t md; /* HMAC (auth, seed MAC) and SHA-256 (read-back) */
    uint32_t part_offset;
    uint8_t pending;   /* request in flight (agent_internal.h fota_req_kind_t) */
    uint8_t journaled; /* a journal record exists for the current update */
    uint8_t failures;  /* failed requests in a row during an update */
    uint8_t attempts;  /* times the current release was installed (boot slot switched) */
    uint8_t report_count;
    uint8_t state;      /* fota_state_t */
    bool check_at_wake; /* a check is due when the wait ends, whatever the check interval */
    bool check_requested;
    bool have_offer; /* the manifest must agree with a->offer */
    bool resp_started;
    bool reboot_deferred; /* may_reboot said no for this install: "installed" was queued */
    bool image_verified;  /* the read-back passed: only the slot switch is left */
    uint16_t refused;     /* seed mode, the slot being erased: the error to report (fota_err_t) */
    fota_err_t last_err;
    fota_err_t resp_err;
    uint32_t wake_ms; /* now_ms when the next action is due */
    uint32_t backoff_ms;
    uint32_t retry_after_s; /* the check answer's Retry-After: when to ask again (0: none) */
    /* the response in flight */
    int status;
    uint32_t resp_len;  /* body bytes received */
    uint32_t io_len;    /* bytes gathered in io */
    uint32_t batch_end; /* chain: first record not asked for in this Range */
    /* download position */
    uint32_t next_chunk;    /* first chunk not yet written */
    uint32_t verify_offset; /* verifying: bytes hashed so far; erasing: bytes erased */
    uint32_t wipe_end;      /* seed mode: bytes from the slot start to erase if abandoned */
    uint32_t part_size;
    fota_ports_t port;
    fota_agent_config_t cfg;
    /* the release being installed */
    fota_offer_t offer;
    fota_manifest_t manifest;
    uint8_t manifest_digest[32]; /* a delta download: the delta manifest's */
    fota_chain_t chain;          /* chain mode: the hash the next record must have */
    /* requests and reports */
    fota_http_request_t req;
    char target[FOTA_CONFIG_TARGET_MAX];
    char hdr_time[24];
    char hdr_nonce[20];
    char hdr_auth[68];
    char hdr_range[40];
    char body[FOTA_CONFIG_REPORT_MAX];
    fota_report_entry_t reports[FOTA_CONFIG_REPORT_QUEUE];
    uint8_t auth_key[32];
#if FOTA_CONFIG_DELTA
    fota_agent_delta_t delta; /* a->manifest holds the patch's chain while `delta.on` */
#endif
    /* one buffer for every body held whole: offer JSON, manifest, seed chunk JSON (decoded in
     * place), a chain record split across pieces */
    uint8_t io[FOTA_CONFIG_IO_BUF];
} fota_agent_t;

/* ---- API --------------------------------------------------------------------------------- */

/*
 * Set up the agent. Copies cfg and ports (the strings and keys they point to must outlive the
 * agent). Reads the journal: an interrupted download resumes; an installed image that is now
 * running waits for fota_agent_confirm(); one that is not running was rolled back and is
 * reported. FOTA_ERR_ARG on a missing port or field, or an interval of 2^31 ms or more;
 * FOTA_ERR_KEY when the release key is not an EC P-256 public key (PEM or DER);
 * FOTA_ERR_UNSUPPORTED for a mode the build leaves out (FOTA_CONFIG_MODE_SEED/_CHAIN).
 */
fota_err_t fota_agent_init(fota_agent_t *a, const fota_agent_config_t *cfg,
                           const fota_ports_t *ports);

/* Release what init took from mbedTLS (hosts that create and drop many agents). */
void fota_agent_deinit(fota_agent_t *a);

/* One bounded step: says what to do next in *act. Never blocks. */
fota_err_t fota_agent_poll(fota_agent_t *a, fota_action_t *act);

/* The response to the last FOTA_ACTION_HTTP: status line and Content-Length (-1 if unknown). */
void fota_agent_response_begin(fota_agent_t *a, int status, int64_t content_length);

/* A response header (after begin, before end), as the transport has it; optional: a transport
 * that passes none loses only what the headers say. The agent reads Retry-After (delta seconds)
 * of a check's answer: a server that says "not now" gives the time of the next check. */
void fota_agent_response_header(fota_agent_t *a, const char *name, const char *value);

/* Body bytes, in pieces of any size. An error means: stop this transfer (the agent has recorded
 * it and will say what to do at the next poll). */
fota_err_t fota_agent_feed(fota_agent_t *a, const uint8_t *data, size_t len);

/* The response is over: FOTA_OK if it completed, else the transport's error (a broken
 * connection, a timeout). Returns the outcome of the request as the agent sees it. */
fota_err_t fota_agent_response_end(fota_agent_t *a, fota_err_t transport_err);

/* The application's self-test passed: mark the running image valid and report it. */
fota_err_t fota_agent_confirm(fota_agent_t *a);

/* Check for an update at the next poll instead of waiting for the interval. */
void fota_agent_check_now(fota_agent_t *a);

fota_state_t fota_agent_state(const fota_agent_t *a);

/* True when the agent has nothing to do until its next check: idle, no update in progress (not
 * even one a reboot interrupted), no report waiting to be sent. */
bool fota_agent_settled(const fota_agent_t *a);
fota_err_t fota_agent_last_error(const fota_agent_t *a);
const char *fota_state_name(fota_state_t s);

/* Progress of the current download in chunks. */
void fota_agent_progress(const fota_agent_t *a, uint32_t *done, uint32_t *total);

/*
 * Blocking driver: poll and perform requests through the transport until the agent has nothing
 * to do (WAIT with nothing pending, returns FOTA_OK), asks for a reboot (returns FOTA_OK with
 * *rebooted = true) or `max_steps` actions have run. Waits are not slept: the driver returns so
 * the caller's main loop keeps running.
 */
fota_err_t fota_agent_run(fota_agent_t *a, const fota_transport_t *t, unsigned max_steps,
                          bool *rebooted);

#ifdef __cplusplus
}
#endif

#endif /* FOTA_AGENT_H */
