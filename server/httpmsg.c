/*
 * httpmsg.c - response builders and JSON errors for the API handlers (httpmsg.h).
 */
#include "httpmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char json_type[] = "application/json";

void fotad_resp_init(fotad_resp_t *r)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

void fotad_resp_free(fotad_resp_t *r)
{
    free(r->body);
    if (r->fd >= 0) {
        close(r->fd);
    }
    r->body = NULL;
    r->borrowed = NULL;
    r->body_len = 0;
    r->fd = -1;
}

/* Start a response over whatever a handler put there before. */
static void reset(fotad_resp_t *r, unsigned status, const char *content_type)
{
    fotad_resp_free(r);
    r->status = status;
    r->content_type = content_type;
}

/* The last-resort error body, when even the JSON of an error cannot be built. */
static void set_static_500(fotad_resp_t *r)
{
    static const char body[] = "{\"error\":\"out of memory\",\"code\":\"internal\"}";
    reset(r, 500, json_type);
    r->body = malloc(sizeof body - 1);
    if (r->body != NULL) {
        memcpy(r->body, body, sizeof body - 1);
        r->body_len = sizeof body - 1;
    }
    snprintf(r->error_code, sizeof r->error_code, "internal");
    snprintf(r->error_text, sizeof r->error_text, "out of memory");
}

void fotad_resp_error(fotad_resp_t *r, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error_text, sizeof r->error_text, fmt, ap);
    va_end(ap);
    snprintf(r->error_code, sizeof r->error_code, "%s", code);
    cJSON *json = cJSON_CreateObject();
    if (json == NULL || cJSON_AddStringToObject(json, "error", r->error_text) == NULL ||
        cJSON_AddStringToObject(json, "code", code) == NULL) {
        cJSON_Delete(json);
        set_static_500(r);
        return;
    }
    fotad_resp_json(r, status, json);
}

void fotad_resp_json(fotad_resp_t *r, unsigned status, cJSON *json)
{
    char *text = json != NULL ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (text == NULL) {
        set_static_500(r);
        return;
    }
    fotad_resp_take(r, status, json_type, text, strlen(text));
}

void fotad_resp_take(fotad_resp_t *r, unsigned status, const char *content_type, char *body,
                     size_t len)
{
    reset(r, status, content_type);
    r->body = (uint8_t *)body;
    r->body_len = len;
}

void fotad_resp_copy(fotad_resp_t *r, unsigned status, const char *content_type, const void *p,
                     size_t len)
{
    char *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) {
        set_static_500(r);
        return;
    }
    memcpy(copy, p, len);
    fotad_resp_take(r, status, content_type, copy, len);
}

void fotad_resp_borrow(fotad_resp_t *r, unsigned status, const char *content_type, const void *p,
                       size_t len)
{
    reset(r, status, content_type);
    r->borrowed = p;
    r->body_len = len;
}

void fotad_resp_empty(fotad_resp_t *r, unsigned status)
{
    reset(r, status, NULL);
}

void fotad_resp_file(fotad_resp_t *r, unsigned status, const char *content_type, int fd,
                     uint64_t offset, uint64_t len)
{
    reset(r, status, content_type);
    r->fd = fd;
    r->fd_offset = offset;
    r->fd_len = len;
}

void fotad_resp_header(fotad_resp_t *r, const char *name, const char *fmt, ...)
{
    if (r->n_headers == FOTAD_RESP_MAX_HEADERS) {
        FOTAD_ERROR("response: too many headers, %s dropped", name);
        return;
    }
    fotad_resp_header_t *h = &r->headers[r->n_headers++];
    snprintf(h->name, sizeof h->name, "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->value, sizeof h->value, fmt, ap);
    va_end(ap);
}

void fotad_resp_internal(fotad_resp_t *r, const char *what, fota_err_t err)
{
    FOTAD_ERROR("%s failed: %s (%s)", what, fota_err_text(err), fota_err_name(err));
    if (err == FOTA_ERR_IO) {
        /* The database (or a file) could not be reached, e.g. PostgreSQL is restarting: the
         * request may well succeed in a moment, so say when to try again. */
        fotad_resp_error(r, 503, "store_unavailable", "%s failed: store unavailable", what);
        fotad_resp_header(r, "Retry-After", "%u", FOTAD_STORE_RETRY_AFTER_S);
        return;
    }
    fotad_resp_error(r, 500, "internal", "%s failed (%s)", what, fota_err_name(err));
}

const char *fotad_req_header(const fotad_req_t *req, const char *name)
{
    return req->header != NULL ? req->header(req->header_ctx, name) : NULL;
}
