/*
 * httpmsg.h - the request and response as the API handlers see them, free of libmicrohttpd:
 * http.c fills a fotad_req_t from the connection and turns the fotad_resp_t a handler filled
 * into a libmicrohttpd response. Handlers can therefore be driven by unit tests, and the HTTP
 * library could be swapped without touching them.
 *
 * Ownership: the request's strings and body belong to http.c and live until the handler
 * returns. The response owns its body (malloc'd) and its file descriptor; fotad_resp_free
 * releases both (http.c hands them to libmicrohttpd, which then owns them). A borrowed body
 * (fotad_resp_borrow) is owned by nobody here: it lives as long as the app.
 *
 * Every error is JSON: {"error":"human text","code":"machine_code"} (docs/PROTOCOL.md 4.6).
 */
#ifndef FOTAD_HTTPMSG_H
#define FOTAD_HTTPMSG_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "admin_auth.h"
#include "device_auth.h"
#include "query.h"

typedef const char *(*fotad_header_fn)(void *ctx, const char *name);

typedef struct {
    const char *method;         /* "GET", "POST", "HEAD" */
    const char *target;         /* the raw request target: path and query, as sent */
    const char *path;           /* the path, percent-decoded */
    const fotad_query_t *query; /* parsed from the raw target */
    const char *param;          /* the route's {id} segment, or NULL */
    const uint8_t *body;        /* the whole request body (never NULL; "" when empty) */
    size_t body_len;
    fotad_header_fn header; /* a request header by name (case-insensitive), or NULL */
    void *header_ctx;
    const fotad_device_cred_t *device; /* set for device routes, after authentication */
    const char *client;                /* the peer's address ("192.0.2.7", "2001:db8::1") */
    const fotad_principal_t *admin;    /* set for admin routes: who sent it */
} fotad_req_t;

#define FOTAD_RESP_MAX_HEADERS 4u

typedef struct {
    char name[32];
    char value[192]; /* X-Accel-Redirect: a prefix of up to 62 characters and an object name;
                        the console's Content-Security-Policy */
} fotad_resp_header_t;

typedef struct {
    unsigned status;          /* 0 until a handler responds */
    const char *content_type; /* a static string, or NULL (no body) */
    uint8_t *body;            /* malloc'd, or NULL */
    const uint8_t *borrowed;  /* or a body that outlives the response (not freed), or NULL */
    size_t body_len;          /* of body or borrowed */
    int fd;                   /* >= 0: the body is fd_len bytes of this file from fd_offset */
    uint64_t fd_offset;
    uint64_t fd_len;
    fotad_resp_header_t headers[FOTAD_RESP_MAX_HEADERS];
    size_t n_headers;
    char device[FOTAD_DEVICE_ID_MAX + 1]; /* for the log: the authenticated device, or "" */
    char error_code[32];                  /* for the log: the error's machine code and text */
    char error_text[160];
    unsigned accel; /* for the log: the status the proxy in front answers with, having been
                       handed the blob with X-Accel-Redirect (accel.h); 0: fotad answers */
    char audit_target[FOTAD_AUDIT_TARGET_MAX + 1]; /* for the audit log: the id an admin request
                                                made ("" for the route's {id}) */
} fotad_resp_t;

void fotad_resp_init(fotad_resp_t *r);

/* Release the body and close the file descriptor; the response can be filled again. */
void fotad_resp_free(fotad_resp_t *r);

/* A JSON error. code is the machine code ("not_found"); the text is printf-style. */
void fotad_resp_error(fotad_resp_t *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A JSON body from a cJSON tree, which this takes over and deletes (NULL or an unprintable tree:
 * 500). */
void fotad_resp_json(fotad_resp_t *r, unsigned status, cJSON *json);

/* A body taken over from the caller (malloc'd). */
void fotad_resp_take(fotad_resp_t *r, unsigned status, const char *content_type, char *body,
                     size_t len);

/* A body copied from p. */
void fotad_resp_copy(fotad_resp_t *r, unsigned status, const char *content_type, const void *p,
                     size_t len);

/* A body sent from p without a copy: p must stay valid and unchanged until fotad stops (the
 * mapped objects of a loaded release do). */
void fotad_resp_borrow(fotad_resp_t *r, unsigned status, const char *content_type, const void *p,
                       size_t len);

/* No body (204). */
void fotad_resp_empty(fotad_resp_t *r, unsigned status);

/* fd_len bytes of an open file from offset; the response takes over fd. */
void fotad_resp_file(fotad_resp_t *r, unsigned status, const char *content_type, int fd,
                     uint64_t offset, uint64_t len);

/* An extra header (Allow, Content-Range, ...); at most FOTAD_RESP_MAX_HEADERS, longer values are
 * cut (never happens with fotad's own headers). */
void fotad_resp_header(fotad_resp_t *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The Retry-After of a 503 store_unavailable, in seconds. */
#define FOTAD_STORE_RETRY_AFTER_S 5u

/* The answer every handler gives when a service fails, after logging the cause: 503
 * "store_unavailable" with Retry-After for FOTA_ERR_IO (the store or a file could not be reached:
 * worth a retry), else 500 "internal". */
void fotad_resp_internal(fotad_resp_t *r, const char *what, fota_err_t err);

/* A request header, or NULL. */
const char *fotad_req_header(const fotad_req_t *req, const char *name);

#endif /* FOTAD_HTTPMSG_H */
