/*
 * fake_server.h - a scripted update server at the agent's transport port, for unit tests.
 *
 * It holds one real release (an ESP32 image built by image_build, a manifest signed with a real
 * ECDSA key, the hash-chained blob) and answers the agent's requests in-process, with real
 * request authentication, feeding response bodies in pieces of a chosen size. Faults can be
 * switched on to play a hostile or broken server. The real server (fotad) is tested against the
 * real agent over HTTP in tests/integration.
 */
#ifndef FOTA_TEST_FAKE_SERVER_H
#define FOTA_TEST_FAKE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/agent.h"
#include "fota/http.h"
#include "fota/manifest.h"

typedef enum {
    FAKE_OK = 0,
    FAKE_CHUNK_WRONG_NUMBER, /* chunk_number of another chunk */
    FAKE_CHUNK_BAD_BASE64,   /* a '*' in the base64 */
    FAKE_CHUNK_BAD_MAC,      /* one bit of the MAC flipped */
    FAKE_CHUNK_FLIP_DATA,    /* one bit of the data flipped (MAC of the original) */
    FAKE_CHUNK_SHORT,        /* one byte less data, MAC over it */
    FAKE_CHUNK_OVERSIZED,    /* JSON padded past the agent's buffer */
    FAKE_CHUNK_BAD_JSON,     /* a brace missing */
    FAKE_RECORD_FLIP,        /* one bit of a chain record flipped */
    FAKE_RECORD_SWAP,        /* two records in swapped order */
    FAKE_BLOB_200,           /* ignore Range: 200 with the whole blob */
    FAKE_BREAK,              /* close the connection after fault_param body bytes */
    FAKE_LENGTH_LIES,        /* Content-Length larger than the body */
    FAKE_STATUS_500,         /* 500 for the data request */
    FAKE_MANIFEST_FLIP,      /* one bit of the served manifest flipped */
    FAKE_WRONG_DEVICE_KEY,   /* MAC chunks with another device's key */
} fake_fault_t;

typedef struct {
    const char *version;     /* image version */
    uint32_t size;           /* image size */
    uint32_t secure_version; /* in the image and the manifest */
    uint32_t chunk_size;
    const char *product_id; /* in the manifest; NULL: the device's */
    uint32_t emu_flags;     /* FOTA_EMU_FLAG_SELFTEST_FAIL */
    bool corrupt_header;    /* image with a broken ESP32 header (signed all the same) */
    bool wrong_sha;         /* manifest carries a wrong image SHA-256 */
    uint32_t claim_size;    /* manifest claims this image size (0: the real one) */
    uint16_t chip_id;       /* the image's chip (FOTA_ESP_CHIP_ID_ESP32 when 0) */
    uint32_t seed;          /* the image's content (image_build.h; 0: from the version) */
} fake_release_spec_t;

/* A delta patch to the published release (fake_server_delta). */
typedef struct {
    const uint8_t *old; /* the source image (a delta is offered to a device that runs it) */
    size_t old_len;
    uint32_t segment_records; /* 0: the maker's default */
    const uint8_t *claim_old; /* the manifest names this source instead (NULL: old) */
    size_t claim_old_len;
    bool offer_always;       /* offered whatever image the device says it runs */
    const uint8_t *patch_to; /* the patch makes this image, signed as the release's (NULL: the
                                release's image) */
    size_t patch_to_len;
} fake_delta_spec_t;

typedef struct {
    /* the release */
    uint8_t *image;
    size_t image_len;
    uint8_t manifest[256];
    fota_manifest_t m;
    char release[FOTA_RELEASE_ID_LEN + 1];
    uint8_t *blob;
    size_t blob_len;
    bool offer;                /* check answers with the offer, else 204 */
    bool no_embedded_manifest; /* an older server: the offer never carries the manifest */
    const char *action;        /* the offer's "action" (NULL: none, the agent takes soft) */
    uint32_t retry_after;      /* a 204 check answer says Retry-After: this (0: no header) */
    uint32_t checks;           /* check requests answered */
    /* who may ask */
    char device_id[64];
    uint8_t device_key[32];
    /* how it answers */
    size_t piece; /* body bytes per fota_agent_feed call; 0: all at once */
    /* Called with true before and false after each call into the agent (benchmarks use it to
     * tell the agent's work from the server's). NULL: not called. */
    void (*agent_call)(bool entering);
    fake_fault_t fault;
    uint32_t fault_chunk; /* chunk or record the fault hits */
    int64_t fault_param;
    int fault_times; /* how many responses the fault hits; -1: always */
    /* what happened */
    unsigned requests;
    unsigned data_requests;
    unsigned auth_failures;
    uint64_t body_bytes; /* response body bytes sent */
    uint64_t data_bytes; /* chunk/blob body bytes sent */
    uint32_t high_chunk; /* chunks (seed) or records (chain) delivered whole, highest index + 1 */
    uint32_t refetched;  /* chunks or records asked for again below high_chunk */
    /* a delta to the release (fake_server_delta): its manifest, id and blob */
    bool delta;
    uint8_t delta_source[32]; /* offered when the check's image= is this */
    bool delta_offer_always;
    uint8_t delta_manifest[320];
    fota_delta_manifest_t dm;
    char delta_id[FOTA_RELEASE_ID_LEN + 1];
    uint8_t *delta_blob;
    size_t delta_blob_len;
    char image_seen[65];      /* the last check's image= ("" without one) */
    unsigned delta_manifests; /* delta manifest requests answered */
    unsigned delta_requests;  /* Range requests on the delta's blob */
    uint64_t delta_bytes;     /* delta blob bytes sent */
    char reports[64][24];     /* report states, in order */
    int report_errors[64];
    unsigned report_count;
} fake_server_t;

/* Key material for signing test releases (made once per test process). */
void fake_keys(const uint8_t **pub_der, size_t *pub_len);

/* Set up a server for one device. */
void fake_server_init(fake_server_t *s, const char *device_id, const uint8_t device_key[32]);
/* Build and publish a release (replaces the previous one). */
void fake_server_release(fake_server_t *s, const fake_release_spec_t *spec);
void fake_server_free(fake_server_t *s);
/* Make a delta (host/delta_create.c) from spec->old to the published release, sign its
 * manifest, build its blob and offer it to devices that run spec->old. */
void fake_server_delta(fake_server_t *s, const fake_delta_spec_t *spec);

fota_transport_t fake_server_transport(fake_server_t *s);

/* The image of a version as built by fake_server_release (for provisioning devices). */
uint8_t *fake_image(const char *version, uint32_t size, uint32_t emu_flags, size_t *len);
/* The same with the content of `seed` (0: from the version). */
uint8_t *fake_image_seed(const char *version, uint32_t size, uint32_t seed, size_t *len);

/* Whether a report with this state was received. */
bool fake_server_got_report(const fake_server_t *s, const char *state);

#endif /* FOTA_TEST_FAKE_SERVER_H */
