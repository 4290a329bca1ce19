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

/* base_url like "http://127.0.0.1:8080" (no trailing slash). Keeps one connection alive. */
fota_err_t fota_curl_transport_open(const char *base_url, long timeout_ms,
                                    fota_curl_transport_t **out);
void fota_curl_transport_close(fota_curl_transport_t *t);
fota_transport_t fota_curl_transport_port(fota_curl_transport_t *t);
/* For other libcurl drivers of the agent (fota-sim's multi loop): the agent's request headers
 * as a curl list (with "Expect:" off; free with curl_slist_free_all), and what a curl result
 * code means to the agent. */
struct curl_slist;
struct curl_slist *fota_curl_headers(const fota_http_request_t *req);
fota_err_t fota_curl_error(int curl_code);

/* Bytes sent and received on the wire by the last and by all requests (headers included). */
void fota_curl_transport_bytes(const fota_curl_transport_t *t, uint64_t *sent, uint64_t *received);

#endif /* FOTA_POSIX_TRANSPORT_CURL_H */
