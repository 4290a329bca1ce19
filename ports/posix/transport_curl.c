/*
 * transport_curl.c - the agent's HTTP transport on the host, with libcurl's easy interface: one
 * handle kept across requests (keep-alive), headers and body from the agent's request, the
 * status line and Content-Length handed to the agent before the first body byte, the body fed
 * as it arrives. Redirects are not followed; a transfer slower than 1 byte/s for the timeout is
 * cut (slow-loris). Bytes on the wire are counted from what curl reports.
 */
#include "fota/posix/transport_curl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct fota_curl_transport {
    CURL *curl;
    char *base_url;
    long timeout_ms;
    fota_agent_t *agent;
    bool begun;
    bool aborted;
    uint64_t sent;
    uint64_t received;
};

static void begin_response(fota_curl_transport_t *t)
{
    if (t->begun) {
        return;
    }
    long status = 0;
    curl_off_t clen = -1;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
    fota_agent_response_begin(t->agent, (int)status, (int64_t)clen);
    t->begun = true;
}

/* The blank line that ends the headers: the status and length are known now. */
static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    fota_curl_transport_t *t = ctx;
    size_t len = size * n;
    if (len == 2 && data[0] == '\r' && data[1] == '\n') {
        begin_response(t);
    } else if (len > 5 && memcmp(data, "HTTP/", 5) == 0) {
        t->begun = false; /* a new status line (e.g. after 100 Continue) */
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

static void count_bytes(fota_curl_transport_t *t)
{
    curl_off_t up = 0, down = 0;
    long hdr = 0, req = 0;
    curl_easy_getinfo(t->curl, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_easy_getinfo(t->curl, CURLINFO_SIZE_DOWNLOAD_T, &down);
    curl_easy_getinfo(t->curl, CURLINFO_HEADER_SIZE, &hdr);
    curl_easy_getinfo(t->curl, CURLINFO_REQUEST_SIZE, &req);
    t->sent += (uint64_t)up + (uint64_t)req;
    t->received += (uint64_t)down + (uint64_t)hdr;
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
    setup_request(t, req, headers, url);
    CURLcode rc = curl_easy_perform(t->curl);
    count_bytes(t);
    if (rc == CURLE_OK) {
        begin_response(t); /* a response without a body */
    }
    fota_err_t err = t->aborted ? FOTA_OK : fota_curl_error(rc);
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
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, t->timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (t->timeout_ms + 999) / 1000);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)64 * 1024 * 1024);
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
