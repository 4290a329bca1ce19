/*
 * http.h - what the agent asks the application's network stack to fetch, and the transport port
 * of the blocking driver.
 *
 * The agent is sans-I/O: fota_agent_poll() hands out a fota_http_request_t (method, origin-form
 * target "/api/inverter/fota/...?...", headers including authentication and Range, optional body).
 * The application performs it with any HTTP client (libcurl, esp_http_client, a proxy over MQTT)
 * against its server's base URL and reports back through fota_agent_response_begin(),
 * fota_agent_feed() (body bytes, in pieces of any size) and fota_agent_response_end().
 * All strings point into the agent struct and stay valid until the next agent call.
 */
#ifndef FOTA_HTTP_H
#define FOTA_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"

#define FOTA_HTTP_MAX_HEADERS 6

typedef struct {
    const char *name;
    const char *value;
} fota_http_header_t;

typedef struct {
    const char *method; /* "GET" or "POST" */
    const char *target; /* path and query, e.g. "/api/inverter/fota/check?version=1.0.0&hw=inv" */
    fota_http_header_t headers[FOTA_HTTP_MAX_HEADERS];
    size_t header_count;
    const uint8_t *body; /* POST only */
    size_t body_len;
    const char *content_type; /* of the body, or NULL */
} fota_http_request_t;

struct fota_agent;

/* Transport port for the blocking driver fota_agent_run(): perform one request, calling
 * fota_agent_response_begin/feed/end on `agent` as the response arrives, and return when it is
 * over. A transport error (connect, timeout, broken connection) is reported through
 * fota_agent_response_end() and also returned. */
typedef struct fota_transport {
    void *ctx;
    fota_err_t (*perform)(void *ctx, const fota_http_request_t *req, struct fota_agent *agent);
} fota_transport_t;

#endif /* FOTA_HTTP_H */
