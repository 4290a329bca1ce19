/*
 * request.c - building the agent's HTTP requests: the target, and the headers that name and
 * authenticate the device (auth.h; docs/PROTOCOL.md, "Device authentication"): X-Device-Id,
 * X-Fota-Time (unix seconds), X-Fota-Nonce (16 random hex digits), X-Fota-Auth, and Range for
 * chain-mode blob requests.
 */
#include <string.h>

#include "fota/auth.h"

#include "agent_internal.h"

void fota_req_begin(fota_agent_t *a, fota_req_kind_t kind, const char *what, fota_text_t *target)
{
    memset(&a->req, 0, sizeof a->req);
    a->pending = (uint8_t)kind;
    a->req.method = kind == FOTA_REQ_REPORT ? "POST" : "GET";
    a->hdr_range[0] = '\0';
    fota_text_init(target, a->target, sizeof a->target);
    fota_text_str(target, FOTA_API_PREFIX);
    fota_text_str(target, what);
}

/* The MAC over the request, hex into a->hdr_auth. */
static fota_err_t sign_request(fota_agent_t *a)
{
    fota_auth_msg_t m = {a->req.method, a->target,   a->hdr_time,
                         a->hdr_nonce,  a->req.body, a->req.body_len};
    return fota_auth_mac_md(&a->md, a->auth_key, &m, a->hdr_auth);
}

static void add_header(fota_agent_t *a, const char *name, const char *value)
{
    fota_http_request_t *r = &a->req;
    r->headers[r->header_count].name = name;
    r->headers[r->header_count].value = value;
    r->header_count++;
}

fota_err_t fota_req_finish(fota_agent_t *a, fota_text_t *target)
{
    if (!fota_text_ok(target)) {
        a->pending = FOTA_REQ_NONE;
        return FOTA_ERR_TOO_LARGE;
    }
    a->req.target = a->target;
    fota_text_t t;
    fota_text_init(&t, a->hdr_time, sizeof a->hdr_time);
    fota_text_u64(&t, a->port.clock.unix_time(a->port.clock.ctx));
    uint8_t nonce[8];
    a->port.clock.random(a->port.clock.ctx, nonce, sizeof nonce);
    fota_auth_hex(nonce, sizeof nonce, a->hdr_nonce);
    fota_err_t err = sign_request(a);
    if (err != FOTA_OK) {
        a->pending = FOTA_REQ_NONE;
        return err;
    }
    add_header(a, "X-Device-Id", a->cfg.device_id);
    add_header(a, "X-Fota-Time", a->hdr_time);
    add_header(a, "X-Fota-Nonce", a->hdr_nonce);
    add_header(a, "X-Fota-Auth", a->hdr_auth);
    if (a->hdr_range[0] != '\0') {
        add_header(a, "Range", a->hdr_range);
    }
    return FOTA_OK;
}
