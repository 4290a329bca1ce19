/*
 * store.h - the persistence interface of fotad: releases, products, devices, reports and
 * assignments as
 * plain records, and the legacy bridge's setting and enrollments, behind a table of functions (a
 * port, like the agent's). The services (releases.c, devices.c) are its only callers; no SQL exists
 * outside its backends (store_sqlite*.c, the default; store_pg*.c, PostgreSQL). It is kept narrow -
 * whole records in, whole records out, one call per business fact - so that a backend is a small,
 * testable file.
 *
 * Contract for every backend:
 *   - a call that returns FOTA_OK for a write has committed it durably enough that a crash of
 *     the process right after loses nothing (a backend documents what it promises beyond);
 *   - a write of several rows (a report and its device) is one transaction;
 *   - every function may be called from any thread at the same time;
 *   - FOTA_ERR_NOT_FOUND for a missing record, FOTA_ERR_IO (logged with its cause) for a
 *     database failure, FOTA_ERR_NO_MEM;
 *   - list functions call `fn` once per record, in the documented order, and stop early (returning
 *     that code) when fn returns something other than FOTA_OK. The record passed to fn is valid
 *     only during the call.
 * Strings in records are NUL-terminated and already validated by the caller.
 */
#ifndef FOTAD_STORE_H
#define FOTAD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"
#include "fota/manifest.h"

#include "ident.h"

#define FOTAD_STATE_MAX 15u

/* A release row written before fotad recorded chips, until fotad has read the chip from its
 * image (releases.c does at start-up). */
#define FOTAD_CHIP_UNKNOWN (-1)

/* A release as uploaded: the manifest's fields, the chip of its image, the object names, and
 * when. */
typedef struct {
    char id[FOTAD_RELEASE_ID_LEN + 1];
    char product[FOTAD_LABEL_MAX + 1];
    char version[FOTAD_LABEL_MAX + 1];
    uint32_t security_version;
    uint32_t image_size;
    uint32_t chunk_size;
    uint32_t chunk_count;
    uint32_t blob_size;
    char image_sha256[FOTAD_SHA256_HEX + 1]; /* object name of the image */
    char blob_sha256[FOTAD_SHA256_HEX + 1];  /* object name of the blob */
    int64_t created;                         /* manifest creation time */
    int64_t uploaded;                        /* server time of the first upload */
    uint8_t manifest[FOTA_MANIFEST_LEN];
    int32_t chip_id; /* the image header's chip id, or FOTAD_CHIP_UNKNOWN */
} fotad_release_rec_t;

/* A delta (docs/MANIFEST.md, "The delta manifest"): a signed patch that turns one image (the
 * source, named by its id: the SHA-256 appended to it) into the image of a stored release. Its
 * 320-byte manifest is in the row (and, like its blob, an object named by its SHA-256); chunk_size
 * and chunk_count are those of the patch's records, blob_size the bytes of their hash chain. */
typedef struct {
    char id[FOTAD_RELEASE_ID_LEN + 1];        /* first 16 bytes of SHA-256(manifest), hex */
    char release[FOTAD_RELEASE_ID_LEN + 1];   /* the release whose image it produces */
    char source_sha256[FOTAD_SHA256_HEX + 1]; /* the source image's id */
    uint32_t source_size;
    uint32_t patch_size; /* bytes of the patch's records */
    uint32_t chunk_size;
    uint32_t chunk_count;
    uint32_t blob_size;
    char blob_sha256[FOTAD_SHA256_HEX + 1]; /* object name of the blob */
    int64_t created;                        /* manifest creation time */
    int64_t uploaded;                       /* server time of the first upload */
    uint8_t manifest[FOTA_DELTA_MANIFEST_LEN];
} fotad_delta_rec_t;

/* A product: the chip every one of its releases must be built for, set when the product was
 * created (by the admin API, or by its first release upload, from that release's image). */
typedef struct {
    char id[FOTAD_LABEL_MAX + 1];
    uint16_t chip_id;
    int64_t created;
} fotad_product_rec_t;

/* Device tags (docs/ROLLOUTS.md: a rollout's target may require tags): 1..32 characters of
 * A-Z a-z 0-9 - _ . :, at most FOTAD_DEVICE_TAGS_MAX per device. */
#define FOTAD_TAG_MAX 32u
#define FOTAD_DEVICE_TAGS_MAX 16u
#define FOTAD_TAGS_TEXT_MAX (FOTAD_DEVICE_TAGS_MAX * (FOTAD_TAG_MAX + 1u))

/* The server's view of a device. */
typedef struct {
    char id[FOTAD_DEVICE_ID_MAX + 1];
    char product[FOTAD_LABEL_MAX + 1];      /* hw of its last check ("" before one) */
    char version[FOTAD_LABEL_MAX + 1];      /* running version: check, or a report's "running" */
    char state[FOTAD_STATE_MAX + 1];        /* last report's state ("" before one) */
    char release[FOTAD_RELEASE_ID_LEN + 1]; /* last report's release */
    char offered[FOTAD_RELEASE_ID_LEN + 1]; /* release of its last check's offer ("" if 204) */
    uint32_t done;
    uint32_t total;
    int32_t last_error;
    int64_t first_seen;
    int64_t last_seen;
    char tags[FOTAD_TAGS_TEXT_MAX + 1]; /* its tags, sorted, joined by ',' ("" for none) */
} fotad_device_rec_t;

/* One report as received (docs/PROTOCOL.md 4.5), with the server time. */
typedef struct {
    int64_t time;
    char state[FOTAD_STATE_MAX + 1];
    char release[FOTAD_RELEASE_ID_LEN + 1];
    char version[FOTAD_LABEL_MAX + 1];
    char running[FOTAD_LABEL_MAX + 1];
    uint32_t done;
    uint32_t total;
    int32_t error;
} fotad_report_rec_t;

typedef enum {
    FOTAD_TARGET_DEVICE = 0,
    FOTAD_TARGET_PRODUCT = 1,
} fotad_target_kind_t;

/* Which release a device, or every device of a product, should run. */
typedef struct {
    fotad_target_kind_t kind;
    char target[FOTAD_DEVICE_ID_MAX + 1]; /* device id or product */
    char release[FOTAD_RELEASE_ID_LEN + 1];
    int64_t updated;
} fotad_assignment_rec_t;

/* The legacy bridge (docs/MIGRATION.md): devices of `product` that still run the original
 * firmware fetch `bridge_release` without authentication, its chunks MAC'd with the fleet key in
 * a field named `mac_field`. At most one per fotad: such a request names no product. */
#define FOTAD_MAC_FIELD_MAX 15u
typedef struct {
    char product[FOTAD_LABEL_MAX + 1];
    char bridge_release[FOTAD_RELEASE_ID_LEN + 1];
    char mac_field[FOTAD_MAC_FIELD_MAX + 1];
    int64_t updated;
} fotad_legacy_rec_t;

/* A bridge device's registration of the key it made (docs/MIGRATION.md, "Enrollment"): the key
 * wrapped with the master secret (enroll.h), never stored as it is. */
#define FOTAD_ENROLL_STATE_MAX 15u
#define FOTAD_ADDRESS_MAX 47u
typedef struct {
    char device_id[FOTAD_DEVICE_ID_MAX + 1];
    char product[FOTAD_LABEL_MAX + 1];
    uint8_t key_wrapped[32];
    char state[FOTAD_ENROLL_STATE_MAX + 1]; /* pending, approved, rejected, conflict */
    char address[FOTAD_ADDRESS_MAX + 1];    /* the client address it registered from */
    int64_t requested;
    int64_t decided; /* 0 until the state last changed */
} fotad_enrollment_rec_t;

/* ---- rollouts (docs/ROLLOUTS.md) ---- */

#define FOTAD_STAGES_MAX 8u
#define FOTAD_ROLLOUT_TAGS_MAX 8u
#define FOTAD_ROLLOUT_NAME_MAX 64u
#define FOTAD_CRON_MAX 95u
#define FOTAD_REASON_MAX 159u
#define FOTAD_ROLLOUT_STATE_MAX 15u

/* The end of the place range: a stage whose boundary is this takes every place. */
#define FOTAD_PLACE_END UINT64_MAX

typedef enum {
    FOTAD_STAGE_PERCENT = 0, /* amount: percent of the place range (1..100) */
    FOTAD_STAGE_COUNT = 1,   /* amount: devices known at the start */
} fotad_stage_kind_t;

/* Failure thresholds of a stage or of a whole rollout; 0 = not set. */
typedef struct {
    uint32_t max_failures;        /* pause when failed >= this */
    uint32_t max_failure_percent; /* pause when failed * 100 >= this * finished ... */
    uint32_t min_finished;        /* ... once at least this many finished (default 1) */
} fotad_thresholds_t;

typedef struct {
    fotad_stage_kind_t kind;
    uint32_t amount;
    uint32_t success_percent; /* share of its members succeeded for the stage to be done */
    uint32_t soak_s;          /* how long that must hold before it advances */
    bool manual;              /* advance: manual (an operator's resume) or auto */
    fotad_thresholds_t thresholds;
    /* Computed: the place boundary (stage k takes places in [boundary k-1, boundary k)), set
     * when the rollout starts; when it opened, and since when its success condition holds. */
    uint64_t boundary;
    int64_t opened;
    int64_t done_since;
} fotad_stage_rec_t;

typedef struct {
    int64_t id; /* given by the store at insert */
    char name[FOTAD_ROLLOUT_NAME_MAX + 1];
    char product[FOTAD_LABEL_MAX + 1];
    char release[FOTAD_RELEASE_ID_LEN + 1];
    char rollback_release[FOTAD_RELEASE_ID_LEN + 1]; /* "" unless on_failure is rollback */
    char tags[FOTAD_ROLLOUT_TAGS_MAX * (FOTAD_TAG_MAX + 1u) + 1]; /* required tags, ',' joined */
    bool explicit_devices; /* the target is an explicit list of devices (members from create) */
    char state[FOTAD_ROLLOUT_STATE_MAX + 1];  /* created scheduled running paused finished
                                                  cancelled */
    char action[FOTAD_ROLLOUT_STATE_MAX + 1]; /* forced soft download_only */
    bool rollback_on_failure;                 /* on_failure: pause_and_rollback */
    int32_t current_stage;                    /* index of the open stage, -1 before start */
    int32_t rollback_stage;                   /* the stage whose members get rollback_release,
                                                 -1 for none */
    char paused_reason[FOTAD_REASON_MAX + 1];
    uint32_t timeout_s;       /* 0: no timeout */
    uint32_t rate_per_minute; /* 0: no limit */
    uint32_t rate_after_successes;
    uint32_t rate_then_per_minute;
    char window_cron[FOTAD_CRON_MAX + 1]; /* "" for no window */
    int32_t window_offset_s;              /* the UTC offset the cron is read in */
    uint32_t window_duration_s;
    bool finish_running;
    fotad_thresholds_t thresholds; /* of the whole rollout */
    int64_t created;
    int64_t start_at; /* scheduled start, 0 for none */
    int64_t started;
    int64_t finished; /* finished or cancelled, 0 before */
    uint32_t n_stages;
    fotad_stage_rec_t stages[FOTAD_STAGES_MAX];
} fotad_rollout_rec_t;

/* A member's status (docs/ROLLOUTS.md, "Counting success and failure"). */
typedef enum {
    FOTAD_MEMBER_PENDING = 0,
    FOTAD_MEMBER_STARTED,
    FOTAD_MEMBER_DOWNLOADING,
    FOTAD_MEMBER_DOWNLOADED,
    FOTAD_MEMBER_INSTALLED,
    FOTAD_MEMBER_SUCCEEDED,
    FOTAD_MEMBER_FAILED,
    FOTAD_MEMBER_STATUS_COUNT
} fotad_member_status_t;

typedef struct {
    int64_t rollout;
    char device[FOTAD_DEVICE_ID_MAX + 1];
    uint32_t stage;
    fotad_member_status_t status;
    int64_t started;                   /* when it was first offered the release, 0 before */
    int64_t last_activity;             /* its last check, report or data request while started */
    char reason[FOTAD_REASON_MAX + 1]; /* why it failed ("timed_out", "rolled_back", ...) */
} fotad_member_rec_t;

/* An entry of a rollout's history. */
typedef struct {
    int64_t rollout;
    int64_t time;
    char kind[FOTAD_ROLLOUT_STATE_MAX + 1]; /* created started paused resumed advanced ... */
    char text[FOTAD_REASON_MAX + 1];
} fotad_event_rec_t;

/* Member counts of a rollout by stage and status, taken from the member rows. */
typedef struct {
    uint32_t n[FOTAD_STAGES_MAX][FOTAD_MEMBER_STATUS_COUNT];
} fotad_member_counts_t;

/* A group of the device census: how many devices share a state, a running version and the
 * release of their last report (each "" where the device has none yet). */
typedef struct {
    char state[FOTAD_STATE_MAX + 1];
    char version[FOTAD_LABEL_MAX + 1];
    char release[FOTAD_RELEASE_ID_LEN + 1];
    uint64_t n;
} fotad_census_rec_t;

typedef fota_err_t (*fotad_census_fn)(void *arg, const fotad_census_rec_t *c);

/* ---- admin tokens and the audit log (docs/ADMIN_API.md, "Roles and tokens") ---- */

#define FOTAD_TOKEN_ID_LEN 12u   /* hex characters of a token's id */
#define FOTAD_TOKEN_NAME_MAX 64u /* its label */
#define FOTAD_ROLE_NAME_MAX 15u  /* "viewer", "operator", "admin" */
#define FOTAD_WHO_MAX 15u        /* a token id, or "bootstrap" for the configured token */

/* An admin token: never its secret, only the SHA-256 of the whole token text. */
typedef struct {
    char id[FOTAD_TOKEN_ID_LEN + 1];
    char name[FOTAD_TOKEN_NAME_MAX + 1];
    char role[FOTAD_ROLE_NAME_MAX + 1];
    uint8_t sha256[32];
    int64_t created;
    char created_by[FOTAD_WHO_MAX + 1];
    int64_t revoked; /* 0 while the token is valid */
} fotad_token_rec_t;

/* One admin request that changes something, or was refused for its role. */
#define FOTAD_ACTION_MAX 95u        /* "POST /api/admin/rollouts/{id}/pause" */
#define FOTAD_AUDIT_TARGET_MAX 127u /* the id it acted on, "" for none */
typedef struct {
    int64_t seq; /* given by the store at insert, increasing */
    int64_t time;
    char token[FOTAD_WHO_MAX + 1];
    char role[FOTAD_ROLE_NAME_MAX + 1];
    char action[FOTAD_ACTION_MAX + 1];
    char target[FOTAD_AUDIT_TARGET_MAX + 1];
    char client[FOTAD_ADDRESS_MAX + 1];
    uint32_t status; /* the HTTP status answered */
} fotad_audit_rec_t;

/* Which audit rows a listing wants: seq in (after, before), the filters that are not empty or 0,
 * at most limit rows; newest first, or oldest first when after > 0 (paging forward). */
typedef struct {
    int64_t before;     /* 0: no upper bound */
    int64_t after;      /* 0: no lower bound */
    const char *token;  /* "" or NULL: any */
    const char *action; /* "" or NULL: any */
    int64_t since;      /* time >= since; 0: any */
    uint32_t limit;
} fotad_audit_query_t;
/* ---- the fleet at a glance (the operator console, docs/CONSOLE.md) ---- */

/* A page of devices: the filters (each "" or false for any) and where the page starts. */
typedef struct {
    const char *search;  /* part of the device id, in any case */
    const char *product; /* exact */
    const char *version; /* exact running version */
    const char *state;   /* exact state of the last report */
    const char *tag;     /* carries this tag */
    bool errors;         /* only devices whose last report carried an error */
    const char *after;   /* the page starts after this device id ("" from the first) */
    uint32_t limit;      /* at most this many devices (1..) */
} fotad_device_filter_t;

/* How many devices share a product, running version, state and last error, and how many of
 * them were seen at or after the `online_since` of the query. */
typedef struct {
    char product[FOTAD_LABEL_MAX + 1];
    char version[FOTAD_LABEL_MAX + 1];
    char state[FOTAD_STATE_MAX + 1];
    int32_t last_error;
    uint64_t devices;
    uint64_t online;
} fotad_device_group_t;

/* The reports of one final state (confirmed, rolled_back, error) received in one time bucket. */
typedef struct {
    uint32_t bucket; /* (time - since) / bucket_s */
    char state[FOTAD_STATE_MAX + 1];
    uint64_t count;
} fotad_outcome_rec_t;

typedef fota_err_t (*fotad_release_fn)(void *arg, const fotad_release_rec_t *r);
typedef fota_err_t (*fotad_product_fn)(void *arg, const fotad_product_rec_t *p);
typedef fota_err_t (*fotad_delta_fn)(void *arg, const fotad_delta_rec_t *d);
typedef fota_err_t (*fotad_device_fn)(void *arg, const fotad_device_rec_t *d);
typedef fota_err_t (*fotad_report_fn)(void *arg, const fotad_report_rec_t *r);
typedef fota_err_t (*fotad_assignment_fn)(void *arg, const fotad_assignment_rec_t *a);
typedef fota_err_t (*fotad_enrollment_fn)(void *arg, const fotad_enrollment_rec_t *e);
typedef fota_err_t (*fotad_rollout_fn)(void *arg, const fotad_rollout_rec_t *r);
typedef fota_err_t (*fotad_member_fn)(void *arg, const fotad_member_rec_t *m);
typedef fota_err_t (*fotad_event_fn)(void *arg, const fotad_event_rec_t *e);
typedef fota_err_t (*fotad_token_fn)(void *arg, const fotad_token_rec_t *t);
typedef fota_err_t (*fotad_audit_fn)(void *arg, const fotad_audit_rec_t *a);
typedef fota_err_t (*fotad_device_group_fn)(void *arg, const fotad_device_group_t *g);
typedef fota_err_t (*fotad_outcome_fn)(void *arg, const fotad_outcome_rec_t *o);

typedef struct {
    void (*close)(void *ctx);

    /* Insert unless a release with this id exists (*inserted false then; nothing changes). */
    fota_err_t (*release_insert)(void *ctx, const fotad_release_rec_t *r, bool *inserted);
    fota_err_t (*release_get)(void *ctx, const char *id, fotad_release_rec_t *out);
    /* Newest upload first. */
    fota_err_t (*release_list)(void *ctx, fotad_release_fn fn, void *arg);
    /* Record the chip of a release whose row has none (FOTAD_CHIP_UNKNOWN); a known chip is
     * never changed. FOTA_ERR_NOT_FOUND if there is no such release. */
    fota_err_t (*release_set_chip)(void *ctx, const char *id, uint16_t chip_id);

    /* Insert unless a delta with this id exists (*inserted false then; nothing changes). Its
     * release must exist. */
    fota_err_t (*delta_insert)(void *ctx, const fotad_delta_rec_t *d, bool *inserted);
    fota_err_t (*delta_get)(void *ctx, const char *id, fotad_delta_rec_t *out);
    /* The newest upload of a delta of `release` from source image `source_sha256` (64 lowercase
     * hex digits), or FOTA_ERR_NOT_FOUND. */
    fota_err_t (*delta_find)(void *ctx, const char *release, const char *source_sha256,
                             fotad_delta_rec_t *out);
    /* The deltas of `release`, newest upload first. */
    fota_err_t (*delta_list)(void *ctx, const char *release, fotad_delta_fn fn, void *arg);

    /* Insert unless a product with this id exists (*inserted false then; nothing changes): the
     * first writer of a product decides its chip, however many race. */
    fota_err_t (*product_insert)(void *ctx, const fotad_product_rec_t *p, bool *inserted);
    fota_err_t (*product_get)(void *ctx, const char *id, fotad_product_rec_t *out);
    /* Sorted by id. */
    fota_err_t (*product_list)(void *ctx, fotad_product_fn fn, void *arg);

    /* The device exists (created with first_seen = now if new) and was seen now. */
    fota_err_t (*device_touch)(void *ctx, const char *id, int64_t now);
    /* A check: record product, running version and the offer made ("" for none). */
    fota_err_t (*device_check)(void *ctx, const char *id, const char *product, const char *version,
                               const char *offered, int64_t now);
    /* Store a report and update the device from it, in one transaction. */
    fota_err_t (*device_report)(void *ctx, const char *id, const fotad_report_rec_t *r);
    fota_err_t (*device_get)(void *ctx, const char *id, fotad_device_rec_t *out);
    /* Sorted by id. */
    fota_err_t (*device_list)(void *ctx, fotad_device_fn fn, void *arg);
    /* The devices counted by (state, version, release) in one aggregate query (the metrics'
     * gauges, docs/SERVER.md "Metrics"), groups in no particular order. */
    fota_err_t (*device_census)(void *ctx, fotad_census_fn fn, void *arg);
    /* A device's reports, newest first, at most `limit`. */
    fota_err_t (*report_list)(void *ctx, const char *id, uint32_t limit, fotad_report_fn fn,
                              void *arg);

    /* Insert or replace the assignment of (kind, target). */
    fota_err_t (*assignment_set)(void *ctx, const fotad_assignment_rec_t *a);
    /* The assignment of (kind, target), or FOTA_ERR_NOT_FOUND. */
    fota_err_t (*assignment_get)(void *ctx, fotad_target_kind_t kind, const char *target,
                                 fotad_assignment_rec_t *out);
    /* Devices first, then products, each sorted by target. */
    fota_err_t (*assignment_list)(void *ctx, fotad_assignment_fn fn, void *arg);

    /* The legacy bridge setting, FOTA_ERR_NOT_FOUND when there is none (legacy mode off). */
    fota_err_t (*legacy_get)(void *ctx, fotad_legacy_rec_t *out);
    /* Replace the setting with rec, or remove it (rec NULL). */
    fota_err_t (*legacy_set)(void *ctx, const fotad_legacy_rec_t *rec);

    /* Insert unless the device has an enrollment (*inserted false then; nothing changes). */
    fota_err_t (*enrollment_insert)(void *ctx, const fotad_enrollment_rec_t *e, bool *inserted);
    fota_err_t (*enrollment_get)(void *ctx, const char *device_id, fotad_enrollment_rec_t *out);
    /* Move the device's enrollment (device_id), or every one (device_id NULL), that is in state
     * `from` to `to`, decided at now; *changed says how many moved. */
    fota_err_t (*enrollment_move)(void *ctx, const char *device_id, const char *from,
                                  const char *to, int64_t now, uint64_t *changed);
    /* Remove the device's enrollment (FOTA_ERR_NOT_FOUND if none). */
    fota_err_t (*enrollment_delete)(void *ctx, const char *device_id);
    /* Those in `state` (all when NULL), sorted by device id. */
    fota_err_t (*enrollment_list)(void *ctx, const char *state, fotad_enrollment_fn fn, void *arg);
    /* How many are in `state`. */
    fota_err_t (*enrollment_count)(void *ctx, const char *state, uint64_t *n);

    /* Add tags to and remove tags from each of the devices (known to the store or not), in one
     * transaction; FOTA_ERR_TOO_LARGE (nothing changed) when a device would carry more than
     * FOTAD_DEVICE_TAGS_MAX. */
    fota_err_t (*device_tags_change)(void *ctx, const char *const *ids, size_t n_ids,
                                     const char *const *add, size_t n_add,
                                     const char *const *remove, size_t n_remove);
    /* The devices carrying `tag`, sorted by id. */
    fota_err_t (*device_list_tagged)(void *ctx, const char *tag, fotad_device_fn fn, void *arg);

    /* Insert a rollout (r->id is set), its stages, the explicit members (stage 0, pending) and
     * the event ev (its rollout set here), in one transaction. */
    fota_err_t (*rollout_insert)(void *ctx, fotad_rollout_rec_t *r, const char *const *devices,
                                 size_t n_devices, fotad_event_rec_t *ev);
    fota_err_t (*rollout_get)(void *ctx, int64_t id, fotad_rollout_rec_t *out);
    /* Newest first. */
    fota_err_t (*rollout_list)(void *ctx, fotad_rollout_fn fn, void *arg);
    /* Rewrite the rollout's row and stages from r, with members (their rows inserted or
     * replaced; NULL for none) and the event (NULL for none), in one transaction. */
    fota_err_t (*rollout_update)(void *ctx, const fotad_rollout_rec_t *r,
                                 const fotad_member_rec_t *members, size_t n_members,
                                 const fotad_event_rec_t *ev);
    fota_err_t (*member_get)(void *ctx, int64_t rollout, const char *device,
                             fotad_member_rec_t *out);
    /* Insert or replace one member row, with an event (NULL for none), in one transaction. */
    fota_err_t (*member_put)(void *ctx, const fotad_member_rec_t *m, const fotad_event_rec_t *ev);
    /* A rollout's members, sorted by device. */
    fota_err_t (*member_list)(void *ctx, int64_t rollout, fotad_member_fn fn, void *arg);
    fota_err_t (*member_counts)(void *ctx, int64_t rollout, fotad_member_counts_t *out);
    /* Write member m (a start: its status, started and last activity set by the caller) only if
     * fewer than `limit` members of its rollout were started at or after `since`; *admitted says
     * whether it was, *earliest is the earliest of the starts counted (0 if none). The count and
     * the write are one step for every process on the store (the rate limit of several fotad on one
     * database). */
    fota_err_t (*member_start)(void *ctx, const fotad_member_rec_t *m, int64_t since,
                               uint32_t limit, bool *admitted, int64_t *earliest);
    /* Members started but not finished (started .. installed) whose last activity is at or
     * before `before` become failed with the reason "timed_out"; *n says how many. One transaction.
     */
    fota_err_t (*member_time_out)(void *ctx, int64_t rollout, int64_t before, uint32_t *n);
    /* A rollout's history, oldest first. */
    fota_err_t (*event_list)(void *ctx, int64_t rollout, fotad_event_fn fn, void *arg);

    /* Insert a token (FOTA_ERR_STATE, nothing written, when its id is taken). */
    fota_err_t (*token_insert)(void *ctx, const fotad_token_rec_t *t);
    fota_err_t (*token_get)(void *ctx, const char *id, fotad_token_rec_t *out);
    /* Oldest first. */
    fota_err_t (*token_list)(void *ctx, fotad_token_fn fn, void *arg);
    /* Mark the token revoked at now unless it already is (*changed false then: the first
     * revocation's time stays). FOTA_ERR_NOT_FOUND if there is no such token. */
    fota_err_t (*token_revoke)(void *ctx, const char *id, int64_t now, bool *changed);
    /* Append an audit row (a->seq is ignored; the store numbers rows). */
    fota_err_t (*audit_insert)(void *ctx, const fotad_audit_rec_t *a);
    /* The rows q selects, in its order. */
    fota_err_t (*audit_list)(void *ctx, const fotad_audit_query_t *q, fotad_audit_fn fn, void *arg);
    /* ---- the fleet at a glance: aggregates computed by the database, each one statement ---- */
    /* The devices that pass f's filters with an id after f->after, sorted by id, at most
     * f->limit; *total (when not NULL) gets how many pass the filters in all, from any id. */
    fota_err_t (*device_page)(void *ctx, const fotad_device_filter_t *f, uint64_t *total,
                              fotad_device_fn fn, void *arg);
    /* The devices grouped by product, running version, state and last error (no order). */
    fota_err_t (*device_groups)(void *ctx, int64_t online_since, fotad_device_group_fn fn,
                                void *arg);
    /* The reports of the final states confirmed, rolled_back and error received at or after
     * `since`, counted by bucket of bucket_s seconds and state (no order). */
    fota_err_t (*report_outcomes)(void *ctx, int64_t since, uint32_t bucket_s, fotad_outcome_fn fn,
                                  void *arg);
    /* The devices whose last report carried an error, last seen first, at most limit. */
    fota_err_t (*device_errors)(void *ctx, uint32_t limit, fotad_device_fn fn, void *arg);

    /* ---- several fotad on one store (docs/SCALING.md). NULL in a backend that one fotad owns
     * alone (SQLite): that fotad keeps these in memory and on its disk. ---- */
    /* Replay protection shared by every node: record (device, nonce) until `expires` (UNIX
     * seconds); *fresh false when the pair is recorded and not expired at now (a replay). */
    fota_err_t (*nonce_claim)(void *ctx, const char *device, const char *nonce, int64_t now,
                              int64_t expires, bool *fresh);
    /* Forget the pairs expired at now; *removed says how many. */
    fota_err_t (*nonce_purge)(void *ctx, int64_t now, uint64_t *removed);
    /* The lease on periodic job `name` (one node runs it): `holder` takes it, or keeps it, until
     * now + ttl_s unless another holder's lease is unexpired at now; *held says whether holder
     * has it afterwards. */
    fota_err_t (*lease_take)(void *ctx, const char *name, const char *holder, int64_t now,
                             uint32_t ttl_s, bool *held);
    /* The database's copy of every object (objstore.h's source): store bytes under their hex
     * SHA-256 (a no-op when present); fetch them (malloc'd) or FOTA_ERR_NOT_FOUND. */
    fota_err_t (*object_put)(void *ctx, const char *hex, const uint8_t *data, size_t len);
    fota_err_t (*object_fetch)(void *ctx, const char *hex, uint8_t **data, size_t *len);
} fotad_store_ops_t;

typedef struct {
    const fotad_store_ops_t *ops;
    void *ctx;
} fotad_store_t;

/* Close the backend and free everything it holds. */
static inline void fotad_store_close(fotad_store_t *s)
{
    if (s != NULL && s->ops != NULL) {
        s->ops->close(s->ctx);
        s->ops = NULL;
    }
}

/* Durability of a write acknowledged by the SQLite backend (docs/SERVER.md). */
typedef enum {
    FOTAD_SYNC_NORMAL, /* survives a crash or kill of fotad; the last commits may be lost when
                          the machine loses power (WAL, synchronous=NORMAL) */
    FOTAD_SYNC_FULL,   /* also survives a power cut (WAL, synchronous=FULL: fsync per commit) */
} fotad_sync_t;

/* Open (creating if needed) the SQLite database at path. */
fota_err_t fotad_store_sqlite_open(const char *path, fotad_sync_t sync, fotad_store_t *out);

/* Connect to the PostgreSQL database named by conninfo (a libpq connection URI,
 * postgresql://user@host/db?..., or a "key=value" string) and bring its schema to this fotad's
 * version (store_pg_schema.c). FOTA_ERR_IO (logged) if it cannot be reached or migrated,
 * FOTA_ERR_UNSUPPORTED for a schema newer than this fotad knows. A write acknowledged with
 * FOTA_OK is committed by the server (durable as its fsync and synchronous_commit settings say).
 * A lost connection fails the call it happens in (FOTA_ERR_IO, logged) and is replaced by a new
 * one on the next call. */
fota_err_t fotad_store_pg_open(const char *conninfo, fotad_store_t *out);

#endif /* FOTAD_STORE_H */
