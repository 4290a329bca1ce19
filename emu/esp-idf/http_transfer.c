/*
 * http_transfer.c - the libcurl side of the double's esp_http_client: one easy handle per client,
 * driven by a multi handle on the calling thread; the request options that make libcurl send
 * what ESP-IDF sends; and the bounded, pausable flow of body bytes in both directions. The
 * ESP-IDF streaming calls built on it are in http_stream.c.
 *
 * dbl_http_drive runs curl_multi_perform/curl_multi_poll until what the caller waits for has
 * happened, the transfer has ended, or timeout_ms has passed without progress (ESP-IDF's socket
 * timeout). Upload bytes come from the caller's buffer only while esp_http_client_write runs (the
 * read callback pauses otherwise); body bytes go into a buffer of CURL_MAX_WRITE_SIZE bytes (the
 * most libcurl delivers at once), and the write callback pauses the transfer when it is full, so
 * a body is never held whole. Between waits the thread checks whether its task was deleted or its
 * device powered off, and ends if so. The multi handle keeps the connection after a response read
 * to its end, so the next request on the handle reuses it; close drops it with the multi handle.
 */
#include "double_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esp_log.h"

#define TAG "HTTP_CLIENT"
#define POLL_SLICE_MS 50

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void progress(esp_http_client_handle_t c)
{
    c->last_progress_us = dbl_mono_us();
}

/* ---- libcurl callbacks ----------------------------------------------------------------------- */

static void new_response(esp_http_client_handle_t c, const char *line)
{
    dbl_http_headers_free(&c->resp_headers);
    c->resp_status = 0;
    c->has_length = false;
    c->chunked_te = false;
    const char *sp = strchr(line, ' ');
    if (sp != NULL) {
        c->resp_status = (int)strtol(sp + 1, NULL, 10);
    }
}

static void add_response_header(esp_http_client_handle_t c, const char *line)
{
    const char *colon = strchr(line, ':');
    if (colon == NULL) {
        return;
    }
    dbl_http_header_t *h = calloc(1, sizeof *h);
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    if (h == NULL || (h->key = strndup(line, (size_t)(colon - line))) == NULL ||
        (h->value = strdup(v)) == NULL) {
        dbl_http_headers_free(&h);
        return;
    }
    if (strcasecmp(h->key, "Content-Length") == 0) {
        c->has_length = true;
        c->length_hdr = strtoll(h->value, NULL, 10);
    } else if (strcasecmp(h->key, "Transfer-Encoding") == 0 && strstr(h->value, "chunked")) {
        c->chunked_te = true;
    }
    dbl_http_header_t **pp = &c->resp_headers;
    while (*pp != NULL) {
        pp = &(*pp)->next;
    }
    *pp = h;
}

static size_t on_header(char *ptr, size_t size, size_t nitems, void *ud)
{
    esp_http_client_handle_t c = ud;
    size_t n = size * nitems;
    progress(c);
    char *line = strndup(ptr, n);
    if (line == NULL) {
        return 0;
    }
    line[strcspn(line, "\r\n")] = '\0';
    if (strncmp(line, "HTTP/", 5) == 0) {
        new_response(c, line);
    } else if (line[0] == '\0') {
        c->head_done = c->resp_status >= 200 || c->resp_status < 100; /* skip 1xx heads */
    } else {
        add_response_header(c, line);
    }
    free(line);
    return n;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    esp_http_client_handle_t c = ud;
    size_t n = size * nmemb;
    if (n > c->rcap - c->rlen) {
        c->recv_paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (c->rstart + c->rlen + n > c->rcap) {
        memmove(c->rbuf, c->rbuf + c->rstart, c->rlen);
        c->rstart = 0;
    }
    memcpy(c->rbuf + c->rstart + c->rlen, ptr, n);
    c->rlen += n;
    c->received += (int64_t)n;
    progress(c);
    return n;
}

static size_t on_send(char *buf, size_t size, size_t nitems, void *ud)
{
    esp_http_client_handle_t c = ud;
    size_t cap = size * nitems;
    if (c->wpos < c->wlen) {
        size_t n = c->wlen - c->wpos < cap ? c->wlen - c->wpos : cap;
        memcpy(buf, c->wbuf + c->wpos, n);
        c->wpos += n;
        c->written += (int64_t)n;
        progress(c);
        return n;
    }
    if (c->written >= c->write_len) {
        return 0;
    }
    c->send_paused = true;
    return CURL_READFUNC_PAUSE;
}

static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)easy;
    (void)data;
    (void)size;
    esp_http_client_handle_t c = ud;
    if (type == CURLINFO_HEADER_OUT) {
        c->headers_out = true;
        progress(c);
    }
    return 0;
}

/* ---- driving --------------------------------------------------------------------------------- */

static void resume(esp_http_client_handle_t c)
{
    int mask = (c->recv_paused ? CURLPAUSE_RECV : 0) | (c->send_paused ? CURLPAUSE_SEND : 0);
    curl_easy_pause(c->easy, mask);
}

void dbl_http_resume_recv(esp_http_client_handle_t c)
{
    if (c->recv_paused && c->rlen == 0) {
        c->recv_paused = false;
        resume(c);
    }
}

void dbl_http_resume_send(esp_http_client_handle_t c)
{
    if (c->send_paused) {
        c->send_paused = false;
        resume(c);
    }
}

static void collect(esp_http_client_handle_t c)
{
    int left = 0;
    CURLMsg *m;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE && m->easy_handle == c->easy) {
            c->done = true;
            c->result = m->data.result;
        }
    }
}

/* Run the transfer until met(c), its end, or timeout_ms without progress. */
dbl_drive_t dbl_http_drive(esp_http_client_handle_t c, bool (*met)(esp_http_client_handle_t))
{
    int64_t limit = (int64_t)(c->timeout_ms > 0 ? c->timeout_ms : 1) * 1000;
    progress(c);
    for (;;) {
        int running = 0;
        curl_multi_perform(c->multi, &running);
        collect(c);
        if (met(c)) {
            return DBL_DRIVE_MET;
        }
        if (c->done) {
            return DBL_DRIVE_DONE;
        }
        dbl_checkpoint();
        int64_t idle = dbl_mono_us() - c->last_progress_us;
        if (idle >= limit) {
            return DBL_DRIVE_TIMEOUT;
        }
        int64_t left_ms = (limit - idle) / 1000 + 1;
        curl_multi_poll(c->multi, NULL, 0, left_ms < POLL_SLICE_MS ? (int)left_ms : POLL_SLICE_MS,
                        NULL);
    }
}

static bool head_sent(esp_http_client_handle_t c)
{
    return c->headers_out;
}

/* ---- the transfer ---------------------------------------------------------------------------- */

void dbl_http_detach(esp_http_client_handle_t c, bool drop_conn)
{
    if (c->attached) {
        curl_multi_remove_handle(c->multi, c->easy);
        c->attached = false;
    }
    if (drop_conn && c->multi != NULL) {
        curl_multi_cleanup(c->multi);
        c->multi = NULL;
    }
}

void dbl_http_transfer_free(esp_http_client_handle_t c)
{
    dbl_http_detach(c, true);
    if (c->easy != NULL) {
        curl_easy_cleanup(c->easy);
        c->easy = NULL;
    }
    curl_slist_free_all(c->slist);
    c->slist = NULL;
}

static bool body_method(esp_http_client_handle_t c)
{
    return c->write_len > 0 || (c->method != HTTP_METHOD_GET && c->method != HTTP_METHOD_HEAD &&
                                c->method != HTTP_METHOD_DELETE);
}

static bool add_line(struct curl_slist **list, const char *key, const char *value)
{
    size_t n = strlen(key) + strlen(value) + 4;
    char *line = malloc(n);
    if (line == NULL) {
        return false;
    }
    snprintf(line, n, value[0] != '\0' ? "%s: %s" : "%s;", key, value);
    struct curl_slist *next = curl_slist_append(*list, line);
    free(line);
    if (next == NULL) {
        return false;
    }
    *list = next;
    return true;
}

/* The request headers: the handle's, without the ones the transfer sets itself, and with
 * libcurl's own additions (Accept, Expect, a form Content-Type) removed: ESP-IDF sends none. */
static bool build_headers(esp_http_client_handle_t c)
{
    curl_slist_free_all(c->slist);
    c->slist = NULL;
    bool ok = true, has_type = false;
    for (const dbl_http_header_t *h = c->req_headers; h != NULL && ok; h = h->next) {
        if (strcasecmp(h->key, "Content-Length") == 0 ||
            strcasecmp(h->key, "Transfer-Encoding") == 0) {
            continue;
        }
        has_type = has_type || strcasecmp(h->key, "Content-Type") == 0;
        ok = add_line(&c->slist, h->key, h->value);
    }
    struct curl_slist *s = ok ? curl_slist_append(c->slist, "Accept:") : NULL;
    s = s != NULL ? curl_slist_append(s, "Expect:") : NULL;
    if (s != NULL && body_method(c) && !has_type) {
        s = curl_slist_append(s, "Content-Type:");
    }
    c->slist = s != NULL ? s : c->slist;
    return s != NULL;
}

static void set_method(esp_http_client_handle_t c)
{
    CURL *e = c->easy;
    const char *name = dbl_http_method_name(c->method);
    if (c->method == HTTP_METHOD_HEAD) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (body_method(c)) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->write_len);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_send);
        curl_easy_setopt(e, CURLOPT_READDATA, c);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (c->method != HTTP_METHOD_GET && c->method != HTTP_METHOD_POST &&
        c->method != HTTP_METHOD_HEAD) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, name);
    }
}

static void set_tls_and_auth(esp_http_client_handle_t c)
{
    CURL *e = c->easy;
    if (c->ca_pem != NULL) {
        struct curl_blob blob = {c->ca_pem, c->ca_len, CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (c->skip_cn) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->basic_auth && c->username != NULL) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, c->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, c->password != NULL ? c->password : "");
    }
    if (c->keep_alive) {
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, c->keep_idle);
        curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, c->keep_intvl);
    }
}

static void set_options(esp_http_client_handle_t c)
{
    CURL *e = c->easy;
    long bufsize = c->buffer_size < 1024 ? 1024 : c->buffer_size;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, bufsize < CURL_MAX_WRITE_SIZE ? bufsize : 16384L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(e, CURLOPT_DEBUGDATA, c);
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->slist);
    set_method(c);
    set_tls_and_auth(c);
}

void dbl_http_reset(esp_http_client_handle_t c, int write_len)
{
    c->write_len = write_len;
    c->written = 0;
    c->wbuf = NULL;
    c->wlen = c->wpos = 0;
    c->send_paused = c->recv_paused = false;
    c->headers_out = c->done = false;
    c->result = CURLE_OK;
    c->resp_status = 0;
    c->head_done = c->has_length = c->chunked_te = c->is_chunked = false;
    c->length_hdr = 0;
    c->content_length = 0;
    dbl_http_headers_free(&c->resp_headers);
    c->rstart = c->rlen = 0;
    c->received = 0;
}

/* libcurl handles and the body buffer, created on the first open. */
esp_err_t dbl_http_prepare(esp_http_client_handle_t c)
{
    pthread_once(&g_curl_once, curl_init_once);
    if (c->easy == NULL) {
        c->easy = curl_easy_init();
    }
    if (c->multi == NULL) {
        c->multi = curl_multi_init();
    }
    if (c->rbuf == NULL) {
        c->rcap = CURL_MAX_WRITE_SIZE;
        c->rbuf = malloc(c->rcap);
    }
    return c->easy != NULL && c->multi != NULL && c->rbuf != NULL && build_headers(c)
               ? ESP_OK
               : ESP_ERR_NO_MEM;
}

esp_err_t dbl_http_start(esp_http_client_handle_t c)
{
    set_options(c);
    if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK) {
        return ESP_FAIL;
    }
    c->attached = true;
    dbl_drive_t r = dbl_http_drive(c, head_sent);
    if (r == DBL_DRIVE_MET) {
        return ESP_OK;
    }
    if (r == DBL_DRIVE_TIMEOUT || c->result == CURLE_COULDNT_CONNECT ||
        c->result == CURLE_COULDNT_RESOLVE_HOST || c->result == CURLE_OPERATION_TIMEDOUT ||
        c->result == CURLE_SSL_CONNECT_ERROR || c->result == CURLE_PEER_FAILED_VERIFICATION) {
        esp_double_log(ESP_LOG_ERROR, TAG, "Connection failed: %s",
                       r == DBL_DRIVE_TIMEOUT ? "timeout" : curl_easy_strerror(c->result));
        return ESP_ERR_HTTP_CONNECT;
    }
    esp_double_log(ESP_LOG_ERROR, TAG, "Error write request: %s", curl_easy_strerror(c->result));
    return ESP_ERR_HTTP_WRITE_DATA;
}
