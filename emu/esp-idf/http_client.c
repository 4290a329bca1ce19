/*
 * http_client.c - esp_http_client handles of the ESP-IDF API double: creation from
 * esp_http_client_config_t with ESP-IDF's defaults, URL, method, timeout and request headers,
 * events, close and cleanup, and the response getters. The transfer itself (open, write,
 * fetch_headers, read, flush) is in http_transfer.c.
 *
 * A handle created on a device belongs to it: the device's power-off frees it (its RAM is gone)
 * without events. ESP-IDF's defaults: timeout 5000 ms, buffers of 512 bytes, User-Agent
 * "ESP32 HTTP Client/1.0"; close fires HTTP_EVENT_DISCONNECTED every time, as ESP-IDF does.
 */
#include "double_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esp_log.h"

#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_USER_AGENT "ESP32 HTTP Client/1.0"

static const char *const k_methods[HTTP_METHOD_MAX] = {
    "GET",    "POST",      "PUT",         "PATCH",     "DELETE", "HEAD",
    "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "OPTIONS",   "COPY",   "MOVE",
    "LOCK",   "UNLOCK",    "PROPFIND",    "PROPPATCH", "MKCOL",  "REPORT",
};

const char *dbl_http_method_name(esp_http_client_method_t m)
{
    return (unsigned)m < HTTP_METHOD_MAX ? k_methods[m] : "GET";
}

void dbl_http_dispatch(esp_http_client_handle_t c, esp_http_client_event_id_t id, void *data,
                       int len)
{
    if (c->handler == NULL) {
        return;
    }
    c->event.event_id = id;
    c->event.client = c;
    c->event.user_data = c->user_data;
    c->event.data = data;
    c->event.data_len = len;
    c->handler(&c->event);
}

/* ---- headers --------------------------------------------------------------------------------- */

void dbl_http_headers_free(dbl_http_header_t **list)
{
    while (*list != NULL) {
        dbl_http_header_t *next = (*list)->next;
        free((*list)->key);
        free((*list)->value);
        free(*list);
        *list = next;
    }
}

static dbl_http_header_t **find_header(dbl_http_header_t **list, const char *key)
{
    for (; *list != NULL; list = &(*list)->next) {
        if (strcasecmp((*list)->key, key) == 0) {
            return list;
        }
    }
    return NULL;
}

static esp_err_t put_header(dbl_http_header_t **list, const char *key, const char *value)
{
    char *v = strdup(value);
    if (v == NULL) {
        return ESP_ERR_NO_MEM;
    }
    dbl_http_header_t **found = find_header(list, key);
    if (found != NULL) {
        free((*found)->value);
        (*found)->value = v;
        return ESP_OK;
    }
    dbl_http_header_t *h = calloc(1, sizeof *h);
    char *k = strdup(key);
    if (h == NULL || k == NULL) {
        free(h);
        free(k);
        free(v);
        return ESP_ERR_NO_MEM;
    }
    h->key = k;
    h->value = v;
    while (*list != NULL) {
        list = &(*list)->next;
    }
    *list = h;
    return ESP_OK;
}

esp_err_t esp_http_client_set_header(esp_http_client_handle_t client, const char *key,
                                     const char *value)
{
    if (client == NULL || key == NULL || value == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    return put_header(&client->req_headers, key, value);
}

esp_err_t esp_http_client_delete_header(esp_http_client_handle_t client, const char *key)
{
    if (client == NULL || key == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    dbl_http_header_t **found = find_header(&client->req_headers, key);
    if (found == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    dbl_http_header_t *h = *found;
    *found = h->next;
    h->next = NULL;
    dbl_http_headers_free(&h);
    return ESP_OK;
}

/* ---- configuration --------------------------------------------------------------------------- */

static char *dup_or_null(const char *s, bool *ok)
{
    char *d = s != NULL ? strdup(s) : NULL;
    *ok = *ok && (s == NULL || d != NULL);
    return d;
}

/* The URL from host, port, path and query when the configuration has no url. */
static char *url_from_parts(const esp_http_client_config_t *cfg)
{
    bool tls = cfg->transport_type == HTTP_TRANSPORT_OVER_SSL;
    int port = cfg->port != 0 ? cfg->port : (tls ? 443 : 80);
    const char *path = cfg->path != NULL ? cfg->path : "/";
    const char *query = cfg->query != NULL ? cfg->query : "";
    size_t n = strlen(cfg->host) + strlen(path) + strlen(query) + 32;
    char *url = malloc(n);
    if (url != NULL) {
        snprintf(url, n, "%s://%s:%d%s%s%s", tls ? "https" : "http", cfg->host, port, path,
                 query[0] != '\0' ? "?" : "", query);
    }
    return url;
}

static bool copy_tls(esp_http_client_handle_t c, const esp_http_client_config_t *cfg)
{
    c->verify_ok =
        cfg->cert_pem != NULL || cfg->crt_bundle_attach != NULL || cfg->use_global_ca_store;
    c->skip_cn = cfg->skip_cert_common_name_check;
    if (cfg->cert_pem == NULL) {
        return true;
    }
    c->ca_len = cfg->cert_len != 0 ? cfg->cert_len : strlen(cfg->cert_pem) + 1;
    c->ca_pem = malloc(c->ca_len);
    if (c->ca_pem != NULL) {
        memcpy(c->ca_pem, cfg->cert_pem, c->ca_len);
    }
    return c->ca_pem != NULL;
}

static bool configure(esp_http_client_handle_t c, const esp_http_client_config_t *cfg)
{
    bool ok = true;
    c->url = cfg->url != NULL ? dup_or_null(cfg->url, &ok) : url_from_parts(cfg);
    ok = ok && c->url != NULL;
    c->method = cfg->method;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->buffer_size = cfg->buffer_size > 0 ? cfg->buffer_size : DEFAULT_HTTP_BUF_SIZE;
    c->handler = cfg->event_handler;
    c->user_data = cfg->user_data;
    c->is_async = cfg->is_async;
    c->username = dup_or_null(cfg->username, &ok);
    c->password = dup_or_null(cfg->password, &ok);
    c->basic_auth = cfg->auth_type == HTTP_AUTH_TYPE_BASIC;
    c->keep_alive = cfg->keep_alive_enable;
    c->keep_idle = cfg->keep_alive_idle > 0 ? cfg->keep_alive_idle : 5;
    c->keep_intvl = cfg->keep_alive_interval > 0 ? cfg->keep_alive_interval : 5;
    c->status = 0;
    ok = ok && copy_tls(c, cfg);
    const char *agent = cfg->user_agent != NULL ? cfg->user_agent : DEFAULT_USER_AGENT;
    return ok && put_header(&c->req_headers, "User-Agent", agent) == ESP_OK;
}

static void free_client(esp_http_client_handle_t c)
{
    dbl_http_transfer_free(c);
    dbl_http_headers_free(&c->req_headers);
    dbl_http_headers_free(&c->resp_headers);
    free(c->url);
    free(c->ca_pem);
    free(c->username);
    free(c->password);
    free(c->rbuf);
    free(c);
}

esp_http_client_handle_t esp_http_client_init(const esp_http_client_config_t *config)
{
    if (config == NULL || (config->url == NULL && config->host == NULL)) {
        esp_double_log(ESP_LOG_ERROR, "HTTP_CLIENT",
                       "config should have either URL or host & path");
        return NULL;
    }
    esp_double_device_t *dev = dbl_dev();
    if (dev != NULL && dbl_running("esp_http_client_init") == NULL) {
        return NULL;
    }
    esp_http_client_handle_t c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    if (!configure(c, config)) {
        free_client(c);
        return NULL;
    }
    c->dev = dev;
    if (dev != NULL) {
        dbl_lock();
        c->next = dev->clients;
        dev->clients = c;
        dbl_unlock();
    }
    return c;
}

/* Host and port of the URL in u (port from the scheme when absent). */
static bool origin(CURLU *u, char **host, long *port)
{
    char *p = NULL;
    bool ok = curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK;
    *port = p != NULL ? strtol(p, NULL, 10) : 0;
    curl_free(p);
    return ok;
}

/* url resolved against the handle's current one (ESP-IDF takes a bare path and keeps the host);
 * *moved when the host or port differs. NULL if it does not parse. */
static char *resolve(const char *current, const char *url, bool *moved)
{
    CURLU *u = curl_url();
    char *old_host = NULL, *new_host = NULL, *full = NULL;
    long old_port = 0, new_port = 0;
    bool ok =
        u != NULL && curl_url_set(u, CURLUPART_URL, current, 0) == CURLUE_OK &&
        origin(u, &old_host, &old_port) && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        origin(u, &new_host, &new_port) && curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK;
    *moved = ok && (strcasecmp(old_host, new_host) != 0 || old_port != new_port);
    char *copy = ok ? strdup(full) : NULL;
    curl_free(old_host);
    curl_free(new_host);
    curl_free(full);
    curl_url_cleanup(u);
    return copy;
}

esp_err_t esp_http_client_set_url(esp_http_client_handle_t client, const char *url)
{
    if (client == NULL || url == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    bool moved = false;
    char *full = resolve(client->url, url, &moved);
    if (full == NULL) {
        esp_double_log(ESP_LOG_ERROR, "HTTP_CLIENT", "Error parse url %s", url);
        return ESP_ERR_INVALID_ARG;
    }
    if (moved) {
        esp_http_client_close(client); /* ESP-IDF closes when the host or port changes */
    }
    free(client->url);
    client->url = full;
    return ESP_OK;
}

esp_err_t esp_http_client_set_method(esp_http_client_handle_t client,
                                     esp_http_client_method_t method)
{
    if (client == NULL || (unsigned)method >= HTTP_METHOD_MAX) {
        return ESP_ERR_INVALID_ARG;
    }
    client->method = method;
    return ESP_OK;
}

esp_err_t esp_http_client_set_timeout_ms(esp_http_client_handle_t client, int timeout_ms)
{
    if (client == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    client->timeout_ms = timeout_ms;
    return ESP_OK;
}

/* ---- response -------------------------------------------------------------------------------- */

int esp_http_client_get_status_code(esp_http_client_handle_t client)
{
    return client != NULL ? client->status : -1;
}

int64_t esp_http_client_get_content_length(esp_http_client_handle_t client)
{
    return client != NULL ? client->content_length : -1;
}

bool esp_http_client_is_chunked_response(esp_http_client_handle_t client)
{
    return client != NULL && client->is_chunked;
}

/* ---- close and cleanup ----------------------------------------------------------------------- */

esp_err_t esp_http_client_close(esp_http_client_handle_t client)
{
    if (client == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    dbl_http_dispatch(client, HTTP_EVENT_DISCONNECTED, NULL, 0);
    dbl_http_detach(client, true);
    client->state = DBL_HTTP_IDLE;
    return ESP_OK;
}

static void unlink_client(esp_http_client_handle_t c)
{
    if (c->dev == NULL) {
        return;
    }
    dbl_lock();
    for (esp_http_client_handle_t *pp = &c->dev->clients; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    dbl_unlock();
}

esp_err_t esp_http_client_cleanup(esp_http_client_handle_t client)
{
    if (client == NULL) {
        return ESP_FAIL;
    }
    esp_http_client_close(client);
    unlink_client(client);
    free_client(client);
    return ESP_OK;
}

void dbl_http_power_off(esp_double_device_t *dev)
{
    dbl_lock();
    esp_http_client_handle_t list = dev->clients;
    dev->clients = NULL;
    dbl_unlock();
    while (list != NULL) {
        esp_http_client_handle_t next = list->next;
        free_client(list);
        list = next;
    }
}
