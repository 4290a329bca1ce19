/*
 * hostile.h - a hostile update server at the agent's transport port, for unit tests.
 *
 * It wraps the honest scripted server of fake_server.h (real image, real signed manifest, real
 * hash chain) and, for the requests it is told to spoil (data, or the offer), answers itself
 * with a response built from the honest one and then broken on purpose: forged JSON, duplicate
 * keys, odd base64, records of another release, extra or missing bytes, wrong statuses, endless
 * bodies. Every other request goes to the honest server untouched.
 */
#ifndef FOTA_TEST_HOSTILE_H
#define FOTA_TEST_HOSTILE_H

#include <stdint.h>

#include "fake_server.h"

typedef enum {
    HOSTILE_NONE = 0,
    HOSTILE_CHUNK_MAC_SHORT,     /* seed: MAC hex of 31 bytes */
    HOSTILE_CHUNK_DUP_KEYS,      /* seed: "chunk_number" twice, the second one wrong */
    HOSTILE_CHUNK_ESCAPED_DUP,   /* seed: "mac" and "m\u0061c", the second one wrong */
    HOSTILE_CHUNK_HUGE_NUMBER,   /* seed: chunk_number of 30 digits */
    HOSTILE_CHUNK_NESTED,        /* seed: "data" is an object */
    HOSTILE_CHUNK_PAD_MIDDLE,    /* seed: "==" in the middle of the base64 */
    HOSTILE_CHUNK_PAD_GROUP,     /* seed: "==" ending the first 64 characters, length kept */
    HOSTILE_CHUNK_REPLAY,        /* seed: an honest earlier chunk, MAC and all, renumbered */
    HOSTILE_CHUNK_OTHER_RELEASE, /* seed: the chunk of another release, MACed with our key */
    HOSTILE_BLOB_OTHER_RELEASE,  /* chain: records of another release */
    HOSTILE_BLOB_416,            /* chain: 416 for a valid Range */
    HOSTILE_BLOB_EMPTY_206,      /* chain: 206 with an empty body */
    HOSTILE_BLOB_EMPTY_200,      /* chain: 200 with an empty body */
    HOSTILE_BLOB_EXTRA,          /* chain: bytes after the last record */
    HOSTILE_BLOB_TRUNC_RECORD,   /* chain: last record cut short, the response ends cleanly */
    HOSTILE_BLOB_ENDLESS,        /* chain: no length, body goes on past the blob */
    HOSTILE_500_STORM,           /* every data request: 500 */
    HOSTILE_REDIRECT,            /* every data request: 302 back to the same target */
    HOSTILE_OFFER_DUP_KEYS,  /* check: offer with "release" twice, the second of another image */
    HOSTILE_OFFER_PREVIEW,   /* check: the offer's preview of field `at` (size, chunk size, chunk
                                count, SHA-256, version) is not the signed manifest's */
    HOSTILE_OFFER_PAD_GROUP, /* check: the offer's manifest_data with "==" ending its first 64
                                characters (each 64-character group decodes on its own) */
} hostile_attack_t;

typedef struct {
    fake_server_t *honest; /* answers everything not spoiled */
    fake_server_t other;   /* another release of the same product, for mixing */
    hostile_attack_t attack;
    uint32_t at; /* chunk number (seed) the attack hits; chain attacks hit every blob request */
    unsigned hits;
    unsigned junk_taken; /* endless body: junk pieces the agent accepted past the blob */
} hostile_t;

/* Wrap `honest` (already initialised and released). Builds the other release. */
void hostile_init(hostile_t *h, fake_server_t *honest);
void hostile_free(hostile_t *h);
fota_transport_t hostile_transport(hostile_t *h);

#endif /* FOTA_TEST_HOSTILE_H */
