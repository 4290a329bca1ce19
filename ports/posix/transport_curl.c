/*
 * transport_curl.c - the agent's HTTP transport on the host, with libcurl's easy interface: one
 * handle kept across requests (keep-alive), headers and body from the agent's request, the
 * status line and Content-Length handed to the agent before the first body byte, the body fed
 * as it arrives. Bytes on the wire are counted from what curl reports.
 *
 * https: the server's certificate and name are always verified, against the system's CA store or
 * the CA file given (fota_curl_verify_with, shared with the other host tools' curl handles).
 *
 * Against a hostile server (limits in transport_curl.h): redirects are not followed (the agent
 * sees the 3xx), each request has a deadline and a minimum speed (slow-loris, endless bodies),
 * and response headers are capped. When the status line has arrived, the agent hears it before
 * the transport's error, so a cut response is reported as what cut it, not as "no connection".
 */
#include "fota/posix/transport_curl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

struct fota_curl_transport {
    CURL *curl;
    char *base_url;
    long timeout_ms;
    long request_ms;
    fota_agent_t *agent;
    bool begun;
    bool aborted;
    bool headers_too_large;
    size_t header_bytes;
    bool block_start; /* the next header line starts a block: it may be a status line */
    fota_curl_kept_headers_t kept;
    char detail[CURL_ERROR_SIZE + 64];
    char curl_error[CURL_ERROR_SIZE];
    uint64_t sent;
    uint64_t received;
};

void fota_curl_keep_header(fota_curl_kept_headers_t *k, const char *line, size_t len)
{
    static const char name[] = "retry-after:";
    size_t n = sizeof name - 1;
    if (len <= n || strncasecmp(line, name, n) != 0) {
        return;
    }
    size_t v = n;
    while (v < len && (line[v] == ' ' || line[v] == '\t')) {
        v++;
    }
    size_t end = len;
    while (end > v && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' ')) {
        end--;
    }
    if (end - v < sizeof k->retry_after) {
        memcpy(k->retry_after, line + v, end - v);
        k->retry_after[end - v] = '\0';
    }
}

void fota_curl_pass_headers(fota_curl_kept_headers_t *k, struct fota_agent *agent)
{
    if (k->retry_after[0] != '\0') {
        fota_agent_response_header(agent, "Retry-After", k->retry_after);
    }
    k->retry_after[0] = '\0';
}

void fota_curl_response_head(void *curl, long *status, int64_t *content_length)
{
    curl_off_t clen = -1;
    *status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
    *content_length = (int64_t)clen;
}

static void begin_response(fota_curl_transport_t *t)
{
    if (t->begun) {
        return;
    }
    long status;
    int64_t clen;
    fota_curl_response_head(t->curl, &status, &clen);
    if (status >= 300 && status < 400) {
        snprintf(t->detail, sizeof t->detail, "redirect (HTTP %ld) not followed", status);
    }
    fota_agent_response_begin(t->agent, (int)status, clen);
    fota_curl_pass_headers(&t->kept, t->agent);
    t->begun = true;
}

/* The blank line that ends the headers: the status and length are known now. Headers past the
 * cap stop the transfer (a server that never ends its headers is one more slow-loris). */
static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    fota_curl_transport_t *t = ctx;
    size_t len = size * n;
    if (t->block_start && len > 5 && memcmp(data, "HTTP/", 5) == 0) {
        t->begun = false; /* a new status line (e.g. after 100 Continue) */
        t->kept.retry_after[0] = '\0';
    }
    fota_curl_keep_header(&t->kept, data, len);
    t->block_start = len == 2 && data[0] == '\r' && data[1] == '\n';
    t->header_bytes += len; /* all header blocks of the response together: never reset */
    if (t->header_bytes > FOTA_CURL_MAX_HEADER_BYTES) {
        snprintf(t->detail, sizeof t->detail, "response headers over %u bytes",
                 (unsigned)FOTA_CURL_MAX_HEADER_BYTES);
        t->headers_too_large = true;
        begin_response(t);
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (len == 2 && data[0] == '\r' && data[1] == '\n') {
        begin_response(t);
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    fota_curl_transport_t *t = ctx;
    size_t len = size * n;
    begin_response(t);
    if (fota_agent_feed(t->agent, (const uint8_t *)data, len) != FOTA_OK) {
        t->aborted = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return len;
}

fota_err_t fota_curl_error(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_OK:
        return FOTA_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return FOTA_ERR_HTTP_TIMEOUT;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return FOTA_ERR_HTTP_TRUNCATED;
    default:
        return FOTA_ERR_HTTP_CONNECT;
    }
}

struct curl_slist *fota_curl_headers(const fota_http_request_t *req)
{
    struct curl_slist *list = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; i < req->header_count && list != NULL; i++) {
        char line[512];
        snprintf(line, sizeof line, "%s: %s", req->headers[i].name, req->headers[i].value);
        list = curl_slist_append(list, line);
    }
    if (req->content_type != NULL && list != NULL) {
        char line[128];
        snprintf(line, sizeof line, "Content-Type: %s", req->content_type);
        list = curl_slist_append(list, line);
    }
    return list;
}

fota_err_t fota_curl_verify_with(void *curl, const char *ca_file)
{
    if (ca_file != NULL && access(ca_file, R_OK) != 0) {
        return FOTA_ERR_IO;
    }
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file != NULL) { /* else libcurl's default bundle, the system's store */
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
    }
    return FOTA_OK;
}

static void setup_request(fota_curl_transport_t *t, const fota_http_request_t *req,
                          struct curl_slist *headers, char *url)
{
    CURL *c = t->curl;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    bool post = strcmp(req->method, "POST") == 0;
    curl_easy_setopt(c, CURLOPT_POST, post ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_HTTPGET, post ? 0L : 1L);
    if (post) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
    }
}

/* curl writes a POST body under 64 KB together with the request headers and counts it in
 * CURLINFO_REQUEST_SIZE as well as in CURLINFO_SIZE_UPLOAD_T (curl 7.88: a 190-byte body gives a
 * request size of 316 and an upload size of 190, and 316 bytes reach the server), so the body is
 * counted once, from the request size. A larger body goes out after the headers and is only in
 * the upload size. */
void fota_curl_wire_bytes(void *curl, uint64_t *sent, uint64_t *received)
{
    curl_off_t up = 0, down = 0;
    long hdr = 0, req = 0;
    curl_easy_getinfo(curl, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_easy_getinfo(curl, CURLINFO_SIZE_DOWNLOAD_T, &down);
    curl_easy_getinfo(curl, CURLINFO_HEADER_SIZE, &hdr);
    curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &req);
    *sent = (uint64_t)req + (up >= 65536 ? (uint64_t)up : 0u);
    *received = (uint64_t)down + (uint64_t)hdr;
}

static void count_bytes(fota_curl_transport_t *t)
{
    uint64_t sent, received;
    fota_curl_wire_bytes(t->curl, &sent, &received);
    t->sent += sent;
    t->received += received;
}

/* Headers refused: by the cap of on_header, or by curl itself, which refuses one header line
 * over CURL_MAX_HTTP_HEADER (100 KB) as "out of memory" before the line reaches on_header. */
static bool headers_refused(fota_curl_transport_t *t, CURLcode rc, long status)
{
    if (!t->headers_too_large && rc == CURLE_OUT_OF_MEMORY && status != 0 && !t->begun) {
        snprintf(t->detail, sizeof t->detail, "a response header line over curl's limit");
        t->headers_too_large = true;
    }
    return t->headers_too_large;
}

/* What ended the transfer, for the agent: FOTA_OK when it completed or the agent itself stopped
 * it (the agent has its own error), else the header limits or curl's error, its text in detail.
 * When the status line had arrived, the agent hears it first (a no-op once begun). */
static fota_err_t transfer_error(fota_curl_transport_t *t, CURLcode rc)
{
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    bool refused = rc != CURLE_OK && headers_refused(t, rc, status);
    if (rc == CURLE_OK || status != 0) {
        begin_response(t);
    }
    if (rc == CURLE_OK || t->aborted) {
        return FOTA_OK;
    }
    if (refused) {
        return FOTA_ERR_HTTP_HEADERS_TOO_LARGE;
    }
    snprintf(t->detail, sizeof t->detail, "%s",
             t->curl_error[0] != '\0' ? t->curl_error : curl_easy_strerror(rc));
    return fota_curl_error(rc);
}

static fota_err_t perform(void *ctx, const fota_http_request_t *req, fota_agent_t *agent)
{
    fota_curl_transport_t *t = ctx;
    size_t url_len = strlen(t->base_url) + strlen(req->target) + 1;
    char *url = malloc(url_len);
    struct curl_slist *headers = fota_curl_headers(req);
    if (url == NULL || headers == NULL) {
        free(url);
        curl_slist_free_all(headers);
        fota_agent_response_end(agent, FOTA_ERR_NO_MEM);
        return FOTA_ERR_NO_MEM;
    }
    snprintf(url, url_len, "%s%s", t->base_url, req->target);
    t->agent = agent;
    t->begun = false;
    t->aborted = false;
    t->headers_too_large = false;
    t->header_bytes = 0;
    t->block_start = true;
    t->detail[0] = '\0';
    t->curl_error[0] = '\0';
    setup_request(t, req, headers, url);
    CURLcode rc = curl_easy_perform(t->curl);
    count_bytes(t);
    fota_err_t err = transfer_error(t, rc);
    fota_err_t result = fota_agent_response_end(agent, err);
    curl_slist_free_all(headers);
    free(url);
    return result;
}

fota_err_t fota_curl_transport_open(const char *base_url, long timeout_ms,
                                    fota_curl_transport_t **out)
{
    fota_curl_transport_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    t->curl = curl_easy_init();
    t->base_url = strdup(base_url);
    if (t->curl == NULL || t->base_url == NULL) {
        fota_curl_transport_close(t);
        return FOTA_ERR_NO_MEM;
    }
    t->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
    CURL *c = t->curl;
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->curl_error);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, t->timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, FOTA_CURL_LOW_SPEED_BPS);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (t->timeout_ms + 999) / 1000);
    fota_curl_transport_set_timeout(t, FOTA_CURL_REQUEST_MS);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)64 * 1024 * 1024);
    fota_curl_verify_with(c, NULL);
    *out = t;
    return FOTA_OK;
}

void fota_curl_transport_close(fota_curl_transport_t *t)
{
    if (t == NULL) {
        return;
    }
    if (t->curl != NULL) {
        curl_easy_cleanup(t->curl);
    }
    free(t->base_url);
    free(t);
}

fota_err_t fota_curl_transport_set_ca(fota_curl_transport_t *t, const char *ca_file)
{
    return fota_curl_verify_with(t->curl, ca_file);
}

void fota_curl_transport_set_timeout(fota_curl_transport_t *t, long request_ms)
{
    t->request_ms = request_ms > 0 ? request_ms : FOTA_CURL_REQUEST_MS;
    curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, t->request_ms);
}

const char *fota_curl_transport_detail(const fota_curl_transport_t *t)
{
    return t->detail;
}

fota_transport_t fota_curl_transport_port(fota_curl_transport_t *t)
{
    fota_transport_t p = {t, perform};
    return p;
}

void fota_curl_transport_bytes(const fota_curl_transport_t *t, uint64_t *sent, uint64_t *received)
{
    *sent = t->sent;
    *received = t->received;
}
