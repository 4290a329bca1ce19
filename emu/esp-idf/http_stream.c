/*
 * http_stream.c - the streaming calls of the double's esp_http_client, with ESP-IDF v5.5's
 * semantics (esp_http_client.c): open (connect if needed, send the request head: ON_CONNECTED,
 * HEADERS_SENT), write (body bytes, at most write_len in all), fetch_headers (the response head:
 * ON_HEADER per header; the Content-Length, 0 and "chunked" without one), read (until len bytes
 * or the end: ON_DATA; 0 at the end, -1 when the transfer broke, -ESP_ERR_HTTP_EAGAIN when
 * timeout_ms passed with nothing), flush_response and is_complete_data_received. None follows a
 * redirect, as none does in ESP-IDF (only esp_http_client_perform does).
 */
#include "double_internal.h"

#include <string.h>
#include <strings.h>

#include "esp_log.h"

#define TAG "HTTP_CLIENT"

static bool all_written(esp_http_client_handle_t c)
{
    return c->wpos == c->wlen;
}

static bool head_read(esp_http_client_handle_t c)
{
    return c->head_done;
}

static bool has_body(esp_http_client_handle_t c)
{
    return c->rlen > 0;
}

static bool ended(esp_http_client_handle_t c)
{
    return c->done;
}

/* The handle's device is on and its flash not cut (a handle of no device always is). */
static bool device_up(esp_http_client_handle_t c)
{
    dbl_checkpoint();
    return c->dev == NULL || (atomic_load(&c->dev->powered) && !fota_flash_emu_is_cut(c->dev->emu));
}

static esp_err_t open_checks(esp_http_client_handle_t c, int write_len)
{
    bool https = strncasecmp(c->url, "https://", 8) == 0;
    if (!https && strncasecmp(c->url, "http://", 7) != 0) {
        return ESP_ERR_HTTP_INVALID_TRANSPORT;
    }
    if (c->is_async && !https) {
        esp_double_log(ESP_LOG_ERROR, TAG, "Asynchronous mode doesn't work for HTTP");
        return ESP_ERR_INVALID_ARG;
    }
    if (write_len < 0) {
        esp_double_log(ESP_LOG_ERROR, TAG, "chunked request bodies (write_len < 0): unsupported");
        return ESP_ERR_NOT_SUPPORTED;
    }
    if (https && !c->verify_ok) {
        esp_double_log(ESP_LOG_ERROR, TAG, "No server verification option set (esp-tls)");
        return ESP_ERR_HTTP_CONNECT;
    }
    return ESP_OK;
}

/* A response whose body has all arrived has left ESP-IDF's socket ready for the next request,
 * even if the app never read the final 0: let libcurl finish it too, so that it keeps the
 * connection. Anything else still in flight is dropped with its connection. */
static void finish_previous(esp_http_client_handle_t c)
{
    if (c->attached && !c->done && c->state == DBL_HTTP_HEAD &&
        esp_http_client_is_complete_data_received(c)) {
        c->rstart = c->rlen = 0;
        dbl_http_resume_recv(c);
        (void)dbl_http_drive(c, ended);
    }
    dbl_http_detach(c, false);
}

esp_err_t esp_http_client_open(esp_http_client_handle_t client, int write_len)
{
    if (client == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!device_up(client)) {
        return ESP_FAIL;
    }
    esp_err_t err = open_checks(client, write_len);
    finish_previous(client);
    dbl_http_reset(client, write_len);
    if (err == ESP_OK) {
        err = dbl_http_prepare(client);
    }
    if (err == ESP_OK) {
        err = dbl_http_start(client);
    }
    if (err != ESP_OK) {
        dbl_http_detach(client, false);
        client->state = DBL_HTTP_IDLE;
        dbl_http_dispatch(client, HTTP_EVENT_ERROR, NULL, 0);
        return err;
    }
    long connects = 0;
    curl_easy_getinfo(client->easy, CURLINFO_NUM_CONNECTS, &connects);
    if (connects > 0) {
        dbl_http_dispatch(client, HTTP_EVENT_ON_CONNECTED, NULL, 0);
    }
    client->state = DBL_HTTP_SENT;
    dbl_http_dispatch(client, HTTP_EVENT_HEADERS_SENT, NULL, 0);
    return ESP_OK;
}

int esp_http_client_write(esp_http_client_handle_t client, const char *buffer, int len)
{
    if (client == NULL || client->state < DBL_HTTP_SENT || !device_up(client)) {
        return -1;
    }
    int64_t room = client->write_len - client->written;
    if (len > room) {
        esp_double_log(ESP_LOG_WARN, TAG, "write of %d bytes past write_len: %lld sent", len,
                       (long long)room);
        len = (int)room;
    }
    if (len <= 0 || buffer == NULL) {
        return 0;
    }
    client->wbuf = buffer;
    client->wlen = (size_t)len;
    client->wpos = 0;
    dbl_http_resume_send(client);
    dbl_drive_t r = dbl_http_drive(client, all_written);
    int n = (int)client->wpos;
    client->wbuf = NULL;
    client->wlen = client->wpos = 0;
    return n == 0 && r != DBL_DRIVE_MET ? -1 : n;
}

int64_t esp_http_client_fetch_headers(esp_http_client_handle_t client)
{
    if (client == NULL || client->state < DBL_HTTP_SENT || !device_up(client)) {
        return ESP_FAIL;
    }
    client->status = -1;
    if (!client->head_done) {
        dbl_drive_t r = dbl_http_drive(client, head_read);
        if (r == DBL_DRIVE_TIMEOUT) {
            esp_double_log(ESP_LOG_WARN, TAG, "Connection timed out before data was ready!");
            return -ESP_ERR_HTTP_EAGAIN;
        }
        if (r == DBL_DRIVE_DONE && !client->head_done) {
            return ESP_FAIL;
        }
    }
    client->state = DBL_HTTP_HEAD;
    client->status = client->resp_status;
    for (dbl_http_header_t *h = client->resp_headers; h != NULL; h = h->next) {
        client->event.header_key = h->key;
        client->event.header_value = h->value;
        dbl_http_dispatch(client, HTTP_EVENT_ON_HEADER, NULL, 0);
    }
    client->is_chunked = client->chunked_te;
    client->content_length = client->has_length && !client->chunked_te ? client->length_hdr : -1;
    if (client->content_length <= 0) {
        client->is_chunked = true; /* as ESP-IDF: no length reads as chunked */
        return 0;
    }
    return client->content_length;
}

bool esp_http_client_is_complete_data_received(esp_http_client_handle_t client)
{
    if (client == NULL) {
        return false;
    }
    if (client->is_chunked || client->method == HTTP_METHOD_HEAD) {
        return client->done && client->result == CURLE_OK;
    }
    return client->received == client->content_length;
}

/* Move buffered body bytes to the caller; let libcurl deliver more once the buffer is empty. */
static size_t take(esp_http_client_handle_t c, char *out, size_t want)
{
    size_t n = c->rlen < want ? c->rlen : want;
    if (out != NULL) {
        memcpy(out, c->rbuf + c->rstart, n);
    }
    c->rstart += n;
    c->rlen -= n;
    if (c->rlen == 0) {
        c->rstart = 0;
        dbl_http_resume_recv(c);
    }
    return n;
}

/* Fill out with up to len bytes: 0 at the end, -1 on a broken transfer, -EAGAIN on a timeout. */
static int read_body(esp_http_client_handle_t c, char *out, int len)
{
    int got = 0;
    for (;;) {
        got += (int)take(c, out != NULL ? out + got : NULL, (size_t)(len - got));
        if (got == len || (c->done && c->rlen == 0)) {
            break;
        }
        dbl_drive_t r = dbl_http_drive(c, has_body);
        if (r == DBL_DRIVE_TIMEOUT) {
            return got > 0 ? got : -ESP_ERR_HTTP_EAGAIN;
        }
    }
    if (got == 0 && c->result != CURLE_OK && !esp_http_client_is_complete_data_received(c)) {
        esp_double_log(ESP_LOG_WARN, TAG, "transfer failed: %s", curl_easy_strerror(c->result));
        dbl_http_dispatch(c, HTTP_EVENT_ERROR, NULL, 0);
        return -1;
    }
    return got;
}

int esp_http_client_read(esp_http_client_handle_t client, char *buffer, int len)
{
    if (client == NULL || buffer == NULL || client->state < DBL_HTTP_HEAD || !device_up(client)) {
        return -1;
    }
    if (len <= 0) {
        return 0;
    }
    int n = read_body(client, buffer, len);
    if (n > 0) {
        dbl_http_dispatch(client, HTTP_EVENT_ON_DATA, buffer, n);
    }
    return n;
}

esp_err_t esp_http_client_flush_response(esp_http_client_handle_t client, int *len)
{
    if (client == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (client->state < DBL_HTTP_HEAD || !device_up(client)) {
        return ESP_FAIL;
    }
    int total = 0;
    while (!esp_http_client_is_complete_data_received(client)) {
        int n = client->rlen > 0 || !client->done ? read_body(client, NULL, 1 << 30) : -1;
        if (n <= 0) {
            return ESP_FAIL;
        }
        total += n;
    }
    total += (int)take(client, NULL, client->rlen);
    if (len != NULL) {
        *len = total;
    }
    return ESP_OK;
}
