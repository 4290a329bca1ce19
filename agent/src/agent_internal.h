/*
 * agent_internal.h - what the agent's source files share and nobody else sees: request kinds,
 * the no-printf text builder, the JSON scanner, and the functions each part of the
 * agent (request, offer, seed, records, writer, journal, report, verify, wipe) offers the state
 * machine in agent.c.
 */
#ifndef FOTA_AGENT_INTERNAL_H
#define FOTA_AGENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/agent.h"

typedef enum {
    FOTA_REQ_NONE = 0,
    FOTA_REQ_CHECK,
    FOTA_REQ_MANIFEST,
    FOTA_REQ_CHUNK,
    FOTA_REQ_BLOB,
    FOTA_REQ_REPORT,
} fota_req_kind_t;

#define FOTA_API_PREFIX "/api/inverter/fota/"

/* An offer with the signed manifest in it (base64) takes at most this many bytes: the agent asks
 * for it (check ...&manifest=1) when its buffer holds that much. */
#define FOTA_OFFER_WITH_MANIFEST_MAX 1024u

/* The agent runs seed mode: a constant in a one-mode build (fota_config.h), so that the other
 * mode's code is left out. */
#define FOTA_IS_SEED(a)                                                                            \
    (FOTA_CONFIG_MODE_SEED && (!FOTA_CONFIG_MODE_CHAIN || (a)->cfg.mode == FOTA_MODE_SEED))

/* The download in progress applies a delta patch (patch.c): a constant 0 in a build without. */
#if FOTA_CONFIG_DELTA
#define FOTA_DELTA_ON(a) ((a)->delta.on != 0)
#else
#define FOTA_DELTA_ON(a) 0
#endif

/* A build with one mode only checks the image's bounds once its bytes are proved to be the signed
 * ones (verify.c): the checksum and the appended hash are the boot port's. */
#define FOTA_ONE_MODE (!FOTA_CONFIG_MODE_SEED || !FOTA_CONFIG_MODE_CHAIN)

/* Keeps a function with a large frame out of its caller, so the frame is gone before the caller
 * goes deeper (the worst stack depth is what a device must reserve). */
#if defined(__GNUC__)
#define FOTA_NOINLINE __attribute__((noinline))
#else
#define FOTA_NOINLINE
#endif

/* ---- text.c: bounded string building without printf ------------------------------------- */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
} fota_text_t;

void fota_text_init(fota_text_t *t, char *buf, size_t cap);
void fota_text_str(fota_text_t *t, const char *s);
void fota_text_mem(fota_text_t *t, const char *s, size_t n);
void fota_text_u64(fota_text_t *t, uint64_t v);
/* Appends s percent-encoded for a query value (unreserved characters kept). */
void fota_text_query(fota_text_t *t, const char *s);
/* Appends s as a JSON string with quotes; control characters, quote and backslash escaped. */
void fota_text_json(fota_text_t *t, const char *s);
/* NUL-terminated and nothing was cut. */
static inline bool fota_text_ok(const fota_text_t *t)
{
    return !t->overflow;
}
/* Decode exactly 2*n hex digits (either case) into out. */
bool fota_hex_decode(const char *s, size_t slen, uint8_t *out, size_t n);
size_t fota_strnlen(const char *s, size_t max);

/* ---- json.c: the values of a few keys of one flat JSON object ---------------------------- */
/* Where the value of a key lies once the document is scanned. */
typedef struct {
    char kind; /* the value's first byte ('"' a string, a digit or '-' a number, 't', 'f', 'n'),
                  0 if the key is absent */
    size_t at; /* js[at, at + len) is the value as written, a string's quotes included */
    size_t len;
} fota_json_field_t;

/* Check that js[0, len) is one flat JSON object (RFC 8259; values strings, numbers, true, false
 * or null; white space around it only) and locate the value of each of the `count` keys[k]
 * (compared with their escapes decoded) in fields[k]. FOTA_ERR_ARG if it is not, or if one of
 * these keys occurs twice. */
fota_err_t fota_json_scan(const char *js, size_t len, const char *const *keys,
                          fota_json_field_t *fields, size_t count);
/* A number written as 1..10 digits (no sign, fraction or exponent) up to UINT32_MAX. */
bool fota_json_u32(const char *js, const fota_json_field_t *f, uint32_t *out);
/* A string value: *text and *len give its bytes between the quotes, escapes as written. */
bool fota_json_text(const char *js, const fota_json_field_t *f, const char **text, size_t *len);
/* Copy a string value without escapes into out (NUL-terminated); false if it does not fit. */
bool fota_json_str(const char *js, const fota_json_field_t *f, char *out, size_t cap);

/* ---- request.c: building requests --------------------------------------------------------- */
/* Start a request of this kind (a report is a POST, anything else a GET) and the target's prefix
 * after FOTA_API_PREFIX; the caller appends the rest of the target with fota_text_* on the
 * returned builder, then calls fota_req_finish(). A request begun is what fota_agent_poll hands
 * out (a->pending); one that fails to finish is not. */
void fota_req_begin(fota_agent_t *a, fota_req_kind_t kind, const char *what, fota_text_t *target);
fota_err_t fota_req_finish(fota_agent_t *a, fota_text_t *target);

/* ---- base64.c ----------------------------------------------------------------------------- */
/* Decode io[start, start+n) into io[0, *out_len); false unless it is strict RFC 4648 base64: its
 * alphabet only, length a multiple of 4, '=' only as the last one or two characters, the bits
 * the padding leaves over zero. */
bool fota_b64_decode_in_place(uint8_t *io, size_t start, size_t n, size_t *out_len);

/* ---- offer.c ------------------------------------------------------------------------------ */
/* Parse an offer; *manifest_at and *manifest_len locate its "manifest_data" (the signed manifest
 * in strict base64) in js, 0 and 0 without one. */
fota_err_t fota_offer_parse(const char *js, size_t len, fota_offer_t *out, size_t *manifest_at,
                            size_t *manifest_len);

/* ---- seed.c: one seed-mode chunk response held in a->io ---------------------------------- */
fota_err_t fota_seed_chunk_process(fota_agent_t *a);

/* ---- records.c: chain-mode record stream --------------------------------------------------- */
fota_err_t fota_records_feed(fota_agent_t *a, const uint8_t *data, size_t len);

/* ---- writer.c: verified chunks to flash, journal at sector boundaries ---------------------- */
fota_err_t fota_writer_put(fota_agent_t *a, const uint8_t *chunk, size_t len);
/* Write len bytes at rel in the update partition, the next bytes of the image: each sector that
 * starts in [rel, rel + len) erased first, the bytes read back and compared. */
fota_err_t fota_writer_flash(fota_agent_t *a, uint32_t rel, const uint8_t *data, size_t len);
/* A chunk or record was taken: the progress event, and a report every progress_every. */
void fota_writer_progress(fota_agent_t *a);

/* ---- patch.c: a delta update (FOTA_CONFIG_DELTA) --------------------------------------------- */
#if FOTA_CONFIG_DELTA
/* The running image's id and length, looked for once (running_known). */
void fota_patch_find_running(fota_agent_t *a);
/* Whether the offer's delta is to be tried: it names one and the running image has an id. */
bool fota_patch_wanted(fota_agent_t *a);
/* The delta manifest in a->io: verified against the offer and the running image, and the
 * download set up (FOTA_OK), or the fallback to the full image taken (FOTA_OK as well). */
fota_err_t fota_patch_on_manifest(fota_agent_t *a);
/* One record of the patch (its chunk of len bytes, then its next hash): accepted by the chain,
 * applied, journaled at sector boundaries. */
fota_err_t fota_patch_record(fota_agent_t *a, const uint8_t *rec, uint32_t len);
/* Where choose_start() resumes: a journal record of this delta (mode byte 2) or none. */
void fota_patch_start(fota_agent_t *a, const uint8_t *journal);
/* An error the full image is the answer to (contract: delta_failed, then the full image): taken
 * and true, else false. */
bool fota_patch_fallback(fota_agent_t *a, fota_req_kind_t kind, fota_err_t err);
#endif
/* The size of the image being installed (a delta's manifest holds the patch's in a->manifest). */
static inline uint32_t fota_image_size(const fota_agent_t *a)
{
#if FOTA_CONFIG_DELTA
    if (a->delta.on) {
        return a->delta.applier.new_size;
    }
#endif
    return a->manifest.image_size;
}

/* ---- journal.c ---------------------------------------------------------------------------- */
typedef enum {
    FOTA_JOURNAL_DOWNLOADING = 1,
    FOTA_JOURNAL_INSTALLING = 2,  /* image verified, boot slot about to switch */
    FOTA_JOURNAL_INSTALLED = 3,   /* boot slot switched */
    FOTA_JOURNAL_ROLLED_BACK = 4, /* the bootloader fell back; the image is still in the slot */
    FOTA_JOURNAL_WIPING = 5,      /* seed mode: the slot is being erased, then the error reported */
    FOTA_JOURNAL_DOWNLOADED = 6,  /* download_only: the verified image waits in the slot */
} fota_journal_state_t;

/* A journal record is read where it lies, once fota_journal_load has checked it (magic, format,
 * CRC, state and mode in range, release and version not empty): its fields at these offsets,
 * numbers little-endian (fota_get_le32), the release and version NUL-padded in 32 bytes. */
#define FOTA_JOURNAL_LEN 160
enum {
    FOTA_J_STATE = 5,
    FOTA_J_MODE = 6,
    FOTA_J_ATTEMPTS = 7,
    FOTA_J_RELEASE = 8,  /* 32 */
    FOTA_J_VERSION = 40, /* 32 */
    FOTA_J_DIGEST = 72,  /* 32: SHA-256 of the manifest */
    FOTA_J_NEXT_CHUNK = 104,
    FOTA_J_EXPECTED = 108, /* 32: chain, the hash the next record must have */
    FOTA_J_PART_OFFSET = 140,
    FOTA_J_EXTENT = 144, /* downloading: bytes the download may have written; wiping: to erase */
    FOTA_J_ERROR = 148,  /* wiping: the error to report once the slot is erased */
};
/* The journal's mode byte: fota_mode_t, or this for a delta download. */
#define FOTA_JOURNAL_MODE_DELTA 2u

/* Save the agent's current position with the given state. */
fota_err_t fota_journal_save(fota_agent_t *a, fota_journal_state_t state);
/* Load the record into rec and check it; FOTA_ERR_JOURNAL_CORRUPT if it fails a check. */
fota_err_t fota_journal_load(fota_agent_t *a, uint8_t rec[FOTA_JOURNAL_LEN]);

/* ---- wipe.c: erasing an unauthenticated seed-mode image ------------------------------------ */
/* Bytes from the slot start the current download may have written by its next journal save
 * (whole sectors, at most the image's). */
uint32_t fota_wipe_reach(const fota_agent_t *a);
/* Journal the erase of `extent` bytes of the slot and the error to report when it is done. */
fota_err_t fota_wipe_begin(fota_agent_t *a, uint32_t extent, fota_err_t err);
/* One bounded step; *done set when the extent is erased. */
fota_err_t fota_wipe_step(fota_agent_t *a, bool *done);

/* ---- report.c ------------------------------------------------------------------------------ */
/* Queue a report; a progress report (downloading, no error) replaces one still waiting, and any
 * other report drops it. */
void fota_report_queue(fota_agent_t *a, fota_state_t state, fota_err_t err);
/* download_only: the verified image stays in the slot (journaled), "downloaded" is reported and
 * the agent goes idle; an offer of the same release with another action installs it. */
fota_err_t fota_agent_hold(fota_agent_t *a);
/* The download is complete: a progress report still waiting says less than the next report. */
void fota_report_drop_progress(fota_agent_t *a);
/* Build the request for the oldest queued report. */
fota_err_t fota_report_request(fota_agent_t *a);
void fota_report_sent(fota_agent_t *a);

/* ---- verify.c: read back and check the written image --------------------------------------- */
/* One bounded step; *done set when the image is fully verified. */
fota_err_t fota_verify_step(fota_agent_t *a, bool *done);

/* ---- agent.c helpers used by the parts ----------------------------------------------------- */
void fota_agent_emit(fota_agent_t *a, fota_event_kind_t kind, fota_err_t err);
uint32_t fota_agent_now(const fota_agent_t *a);
void fota_agent_set_state(fota_agent_t *a, fota_state_t s);
void fota_agent_wait(fota_agent_t *a, uint32_t ms);
void fota_agent_go_idle(fota_agent_t *a);
/* A request failed or its answer was refused: retry with back-off or end the attempt. */
void fota_agent_on_failure(fota_agent_t *a, fota_req_kind_t kind, fota_err_t err);
/* An abandoned seed-mode attempt: one bounded step of erasing the slot; when it is erased, the
 * journal is cleared, the error reported and the agent goes idle. */
void fota_agent_wipe_poll(fota_agent_t *a);
/* The image is verified: journal, switch the boot slot, journal again. */
fota_err_t fota_agent_install(fota_agent_t *a);

/* ---- response.c: what a completed response means ----------------------------------------- */
fota_err_t fota_on_offer(fota_agent_t *a);
fota_err_t fota_on_manifest(fota_agent_t *a);
/* a->manifest, its digest and the partition are set: where to start (the journal), then
 * downloading, journaled. */
fota_err_t fota_download_start(fota_agent_t *a);
/* A release's (or a delta's) hex id names this manifest digest. */
bool fota_id_matches(const char *id, const uint8_t digest[32]);

#endif /* FOTA_AGENT_INTERNAL_H */
