/*
 * transport_curl.h - the agent's HTTP transport on the host, with libcurl.
 */
#ifndef FOTA_POSIX_TRANSPORT_CURL_H
#define FOTA_POSIX_TRANSPORT_CURL_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/agent.h"
#include "fota/flash.h"
#include "fota/http.h"
#include "fota/port.h"

/* ---- libcurl transport ------------------------------------------------------------------------
 */
typedef struct fota_curl_transport fota_curl_transport_t;

/*
 * Limits on every request, so that a hostile or broken server cannot hold the device:
 * - the whole request, connecting to the last body byte, within request_ms
 *   (fota_curl_transport_set_timeout, FOTA_CURL_REQUEST_MS by default) → FOTA_ERR_HTTP_TIMEOUT;
 *   a chain-mode request cut this way keeps the records it verified, the next one resumes;
 * - slower than FOTA_CURL_LOW_SPEED_BPS bytes/s for the open's timeout_ms → FOTA_ERR_HTTP_TIMEOUT;
 * - response headers over FOTA_CURL_MAX_HEADER_BYTES in all (interim 1xx blocks included)
 *   → FOTA_ERR_HTTP_HEADERS_TOO_LARGE;
 * - redirects are not followed: the agent gets the 3xx itself (FOTA_ERR_HTTP_REDIRECT);
 * - connecting within timeout_ms.
 */
#define FOTA_CURL_REQUEST_MS 300000L
#define FOTA_CURL_LOW_SPEED_BPS 64L
#define FOTA_CURL_MAX_HEADER_BYTES 16384u

/* base_url like "http://127.0.0.1:8080" or "https://fota.example.com" (no trailing slash). Keeps
 * one connection alive. timeout_ms: for connecting, and the window of the low-speed limit. An
 * https server's certificate is verified against the system's CA store until
 * fota_curl_transport_set_ca names another. */
fota_err_t fota_curl_transport_open(const char *base_url, long timeout_ms,
                                    fota_curl_transport_t **out);
void fota_curl_transport_close(fota_curl_transport_t *t);
fota_transport_t fota_curl_transport_port(fota_curl_transport_t *t);
/* Verify an https server's certificate against the CA certificates of ca_file (PEM) instead of
 * the system's store (NULL changes nothing). FOTA_ERR_IO if ca_file cannot be read. */
fota_err_t fota_curl_transport_set_ca(fota_curl_transport_t *t, const char *ca_file);
/* Deadline of each whole request from now on; request_ms <= 0 restores FOTA_CURL_REQUEST_MS. */
void fota_curl_transport_set_timeout(fota_curl_transport_t *t, long request_ms);
/* Why the transport ended the last request, in words ("redirect (HTTP 302) not followed",
 * curl's error text), or "" when it did not: for logs next to the agent's fota_err_t. Valid
 * until the next request. */
const char *fota_curl_transport_detail(const fota_curl_transport_t *t);
/* For other libcurl drivers of the agent (fota-sim's multi loop): the agent's request headers
 * as a curl list (with "Expect:" off; free with curl_slist_free_all), what a curl result code
 * means to the agent, and the bytes a transfer put on the wire. */
struct curl_slist;
struct curl_slist *fota_curl_headers(const fota_http_request_t *req);
/* TLS on the easy handle `curl` (libcurl's CURL, a void) as every host tool sets it: the server's
 * certificate chain and host name are verified, against ca_file (PEM) or, when NULL, the system's
 * CA store. Verification cannot be turned off here. FOTA_ERR_IO if ca_file cannot be read. */
fota_err_t fota_curl_verify_with(void *curl, const char *ca_file);
fota_err_t fota_curl_error(int curl_code);

/* The headers the agent reads (fota_agent_response_header), kept while curl hands over the
 * header lines and given to the agent once the response has begun. */
typedef struct {
    char retry_after[16]; /* "" when absent */
} fota_curl_kept_headers_t;
/* One header line as curl gives it ("Name: value\r\n"): kept if the agent reads it. */
void fota_curl_keep_header(fota_curl_kept_headers_t *k, const char *line, size_t len);
/* Give what was kept to the agent (after fota_agent_response_begin) and forget it. */
void fota_curl_pass_headers(fota_curl_kept_headers_t *k, struct fota_agent *agent);
/* The status and Content-Length (-1 when unknown) of the response on the easy handle `curl`
 * (libcurl's CURL, a void), once its headers are in: what fota_agent_response_begin takes. */
void fota_curl_response_head(void *curl, long *status, int64_t *content_length);
/* Bytes that crossed the socket for the transfer just done on the easy handle `curl` (libcurl's
 * CURL, a void), headers included, each request body counted once. */
void fota_curl_wire_bytes(void *curl, uint64_t *sent, uint64_t *received);

/* Bytes sent and received on the wire by the last and by all requests (headers included). */
void fota_curl_transport_bytes(const fota_curl_transport_t *t, uint64_t *sent, uint64_t *received);

#endif /* FOTA_POSIX_TRANSPORT_CURL_H */
