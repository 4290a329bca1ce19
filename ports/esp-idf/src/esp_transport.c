/*
 * esp_transport.c - the agent's HTTP transport on ESP-IDF: esp_http_client's streaming calls
 * (open, write, fetch_headers, read), one client kept across requests.
 *
 * Each request: the URL is the server's followed by the agent's target, the method and the
 * agent's headers are set (those of the previous request that this one lacks, such as Range,
 * are deleted), the body is written, the status and Content-Length go to the agent, and the body
 * is read in pieces of http_buffer_size bytes and fed to the agent as it arrives: no buffer the
 * size of an image, however large the Range. A connection is kept for the next request only when
 * the response was read to its end; otherwise (an error, the agent stopped the transfer) it is
 * closed. A kept connection that the server has closed meanwhile (its idle timeout) fails at
 * once; the request is then sent again once on a new connection. Redirects are never followed (the
 * agent sees the 3xx and refuses it). Every read waits at most request_timeout_ms, and the whole
 * request must be over within CONFIG_FOTA_REQUEST_DEADLINE_S, so a server that drips bytes cannot
 * hold the device. The Date header of every answer feeds the clock (esp_clock.c); Retry-After
 * goes to the agent (a check's "not now").
 */
#include "fota_esp_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esp_crt_bundle.h"
#include "esp_log.h"
#include "esp_timer.h"

static esp_err_t on_http_event(esp_http_client_event_t *ev)
{
    fota_esp_t *h = ev->user_data;
    if (ev->event_id == HTTP_EVENT_ON_HEADER && ev->header_key != NULL &&
        strcasecmp(ev->header_key, "Date") == 0) {
        fota_esp_clock_on_date(h, ev->header_value);
    } else if (ev->event_id == HTTP_EVENT_ON_HEADER && ev->header_key != NULL &&
               ev->header_value != NULL && strcasecmp(ev->header_key, "Retry-After") == 0 &&
               strlen(ev->header_value) < sizeof h->retry_after) {
        strcpy(h->retry_after, ev->header_value); /* for the agent, once the status is known */
    }
    return ESP_OK;
}

esp_err_t fota_esp_transport_open(fota_esp_t *h)
{
    h->url_cap = strlen(h->cfg.server_url) + FOTA_CONFIG_TARGET_MAX + 1;
    h->url = calloc(1, h->url_cap);
    h->buf = malloc((size_t)h->cfg.http_buffer_size);
    if (h->url == NULL || h->buf == NULL) {
        return ESP_ERR_NO_MEM;
    }
    esp_http_client_config_t c = {
        .url = h->cfg.server_url,
        .timeout_ms = h->cfg.request_timeout_ms,
        .buffer_size = h->cfg.http_buffer_size,
        .buffer_size_tx = 1024, /* request line and the agent's headers */
        .disable_auto_redirect = true,
        .keep_alive_enable = true,
        .event_handler = on_http_event,
        .user_data = h,
        .cert_pem = h->cfg.ca_pem,
    };
#ifdef CONFIG_FOTA_TLS_CRT_BUNDLE
    if (h->cfg.ca_pem == NULL) {
        c.crt_bundle_attach = esp_crt_bundle_attach;
    }
#endif
    h->http = esp_http_client_init(&c);
    return h->http != NULL ? ESP_OK : ESP_ERR_NO_MEM;
}

void fota_esp_transport_close(fota_esp_t *h)
{
    if (h->http != NULL) {
        esp_http_client_cleanup(h->http);
        h->http = NULL;
    }
    free(h->url);
    free(h->buf);
    h->url = NULL;
    h->buf = NULL;
}

static bool in_request(const fota_http_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++) {
        if (strcmp(req->headers[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* Method, URL and headers of this request; the header names point into the agent, which keeps
 * them (they are string literals of the agent) across requests. */
static esp_err_t set_request(fota_esp_t *h, const fota_http_request_t *req)
{
    for (size_t i = 0; i < h->set_header_count; i++) {
        if (!in_request(req, h->set_headers[i])) {
            esp_http_client_delete_header(h->http, h->set_headers[i]);
        }
    }
    h->set_header_count = 0;
    size_t base = strlen(h->cfg.server_url), tlen = strlen(req->target);
    if (base + tlen >= h->url_cap) {
        return ESP_ERR_INVALID_SIZE;
    }
    memcpy(h->url, h->cfg.server_url, base);
    memcpy(h->url + base, req->target, tlen + 1);
    bool post = strcmp(req->method, "POST") == 0;
    esp_err_t err = esp_http_client_set_url(h->http, h->url);
    if (err == ESP_OK) {
        err = esp_http_client_set_method(h->http, post ? HTTP_METHOD_POST : HTTP_METHOD_GET);
    }
    for (size_t i = 0; i < req->header_count && err == ESP_OK; i++) {
        err = esp_http_client_set_header(h->http, req->headers[i].name, req->headers[i].value);
        h->set_headers[h->set_header_count++] = req->headers[i].name;
    }
    if (err == ESP_OK && req->content_type != NULL) {
        err = esp_http_client_set_header(h->http, "Content-Type", req->content_type);
        h->set_headers[h->set_header_count++] = "Content-Type";
    }
    return err;
}

static esp_err_t send_request(fota_esp_t *h, const fota_http_request_t *req)
{
    esp_err_t err = set_request(h, req);
    if (err == ESP_OK) {
        err = esp_http_client_open(h->http, (int)req->body_len);
    }
    if (err == ESP_OK && req->body_len > 0) {
        int n = esp_http_client_write(h->http, (const char *)req->body, (int)req->body_len);
        err = n == (int)req->body_len ? ESP_OK : ESP_ERR_HTTP_WRITE_DATA;
    }
    return err;
}

/* A negative return of fetch_headers or read as an esp_err_t (ESP_FAIL, or -ESP_ERR_HTTP_*). */
static esp_err_t negative_to_err(int64_t n)
{
    return n == ESP_FAIL ? ESP_FAIL : (esp_err_t)-n;
}

/* Read the body into the agent. ESP_OK when it was read to its end, or when the agent stopped
 * the transfer (it has its own error then: *stopped). */
static esp_err_t stream_body(fota_esp_t *h, fota_agent_t *agent, int64_t deadline_us, bool *stopped)
{
    for (;;) {
        if (esp_timer_get_time() > deadline_us) {
            return ESP_ERR_TIMEOUT;
        }
        int n = esp_http_client_read(h->http, h->buf, h->cfg.http_buffer_size);
        if (n < 0) {
            return negative_to_err(n);
        }
        if (n == 0) {
            return esp_http_client_is_complete_data_received(h->http)
                       ? ESP_OK
                       : ESP_ERR_HTTP_INCOMPLETE_DATA;
        }
        if (fota_agent_feed(agent, (const uint8_t *)h->buf, (size_t)n) != FOTA_OK) {
            *stopped = true;
            return ESP_OK;
        }
    }
}

/* Request sent and the response's headers read. */
static esp_err_t exchange(fota_esp_t *h, const fota_http_request_t *req)
{
    esp_err_t err = send_request(h, req);
    if (err == ESP_OK) {
        int64_t n = esp_http_client_fetch_headers(h->http);
        err = n < 0 ? negative_to_err(n) : ESP_OK;
    }
    return err;
}

/* The request went out before the device knew the time (no wall clock, no Date heard yet), so
 * it carried time 0 and was refused; that answer's Date has set the clock. Not the server's
 * verdict on the request: the agent hears a failed transfer and sends it again, now with the
 * time (a report stays queued instead of being dropped as refused; a check is asked again at
 * once, even with no check interval). */
static fota_err_t refused_untimed(fota_esp_t *h, const fota_http_request_t *req,
                                  fota_agent_t *agent)
{
    ESP_LOGI(FOTA_ESP_TAG, "%s: refused before the time was known: again", req->target);
    esp_http_client_close(h->http);
    bool checking = fota_agent_state(agent) == FOTA_STATE_CHECKING;
    fota_err_t err = fota_agent_response_end(agent, FOTA_ERR_HTTP_AUTH);
    if (checking) {
        fota_agent_check_now(agent);
    }
    return err;
}

static fota_err_t perform(void *ctx, const fota_http_request_t *req, fota_agent_t *agent)
{
    fota_esp_t *h = ctx;
    int64_t deadline = esp_timer_get_time() + (int64_t)CONFIG_FOTA_REQUEST_DEADLINE_S * 1000000;
    bool stopped = false;
    bool timed = fota_esp_clock_known(h); /* the request carries a time the server can check */
    h->retry_after[0] = '\0';
    esp_err_t err = exchange(h, req);
    if (err != ESP_OK && h->reused) {
        esp_http_client_close(h->http); /* the kept connection had gone stale: a new one */
        err = exchange(h, req);
    }
    h->reused = false;
    if (err == ESP_OK && !timed && esp_http_client_get_status_code(h->http) == 401 &&
        fota_esp_clock_known(h)) {
        return refused_untimed(h, req, agent);
    }
    if (err == ESP_OK) {
        int64_t len = esp_http_client_is_chunked_response(h->http)
                          ? -1
                          : esp_http_client_get_content_length(h->http);
        fota_agent_response_begin(agent, esp_http_client_get_status_code(h->http), len);
        if (h->retry_after[0] != '\0') {
            fota_agent_response_header(agent, "Retry-After", h->retry_after);
        }
        err = stream_body(h, agent, deadline, &stopped);
    }
    if (err != ESP_OK || stopped) {
        if (err != ESP_OK) {
            ESP_LOGW(FOTA_ESP_TAG, "%s %s: %s", req->method, req->target, esp_err_to_name(err));
        }
        esp_http_client_close(h->http); /* the rest of this response cannot be reused */
    } else {
        h->reused = true; /* read to its end: the next request may use this connection */
    }
    return fota_agent_response_end(agent, fota_esp_err_from_esp(err));
}

esp_err_t fota_esp_transport_simple(fota_esp_t *h, const fota_http_request_t *req, int *status)
{
    int64_t deadline = esp_timer_get_time() + (int64_t)CONFIG_FOTA_REQUEST_DEADLINE_S * 1000000;
    esp_err_t err = exchange(h, req);
    if (err != ESP_OK && h->reused) {
        esp_http_client_close(h->http);
        err = exchange(h, req);
    }
    h->reused = false;
    *status = err == ESP_OK ? esp_http_client_get_status_code(h->http) : 0;
    while (err == ESP_OK) {
        int n = esp_http_client_read(h->http, h->buf, h->cfg.http_buffer_size);
        if (n <= 0 || esp_timer_get_time() > deadline) {
            err = n < 0 ? negative_to_err(n) : n > 0 ? ESP_ERR_TIMEOUT : ESP_OK;
            h->reused = err == ESP_OK && esp_http_client_is_complete_data_received(h->http);
            break;
        }
    }
    if (!h->reused) {
        esp_http_client_close(h->http);
    }
    return err;
}

fota_transport_t fota_esp_transport_port(fota_esp_t *h)
{
    fota_transport_t t = {h, perform};
    return t;
}
