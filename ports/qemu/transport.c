/*
 * transport.c - the agent's HTTP requests over the serial line: the request goes out as one
 * FQ_REQUEST frame, fota-qemu-bridge performs it against the server and streams the response
 * back as FQ_BEGIN, FQ_HEADER, FQ_DATA and FQ_END frames, which are handed to the agent as they
 * come. Only the agent's calls are counted (HARNESS_COUNTED), not the UART.
 */
#include <string.h>

#include "board.h"
#include "harness.h"
#include "link.h"
#include "link_proto.h"
#include "semihost.h"

/* Body bytes handed to the agent at a time: as the ESP-IDF component does with its default
 * receive buffer (CONFIG_FOTA_HTTP_BUFFER_SIZE). Static, as that buffer is the transport's, not
 * part of the agent's stack. */
#define PIECE 1024u

static void send_request(const fota_http_request_t *req)
{
    const char *ct = req->content_type != NULL ? req->content_type : "";
    uint32_t len = (uint32_t)(strlen(req->method) + 1 + strlen(req->target) + 1 + 1 + strlen(ct) +
                              1 + req->body_len);
    for (size_t i = 0; i < req->header_count; i++) {
        len += (uint32_t)(strlen(req->headers[i].name) + 1 + strlen(req->headers[i].value) + 1);
    }
    link_send_head(FQ_REQUEST, len);
    link_send(req->method, strlen(req->method) + 1);
    link_send(req->target, strlen(req->target) + 1);
    uint8_t count = (uint8_t)req->header_count;
    link_send(&count, 1);
    for (size_t i = 0; i < req->header_count; i++) {
        link_send(req->headers[i].name, strlen(req->headers[i].name) + 1);
        link_send(req->headers[i].value, strlen(req->headers[i].value) + 1);
    }
    link_send(ct, strlen(ct) + 1);
    link_send(req->body, req->body_len);
}

/* FQ_HEADER: "name NUL value" in a small buffer; longer ones are not for the agent. */
static void recv_header(fota_agent_t *a, uint32_t len)
{
    char buf[96];
    if (len >= sizeof buf) {
        link_skip(len);
        return;
    }
    link_recv(buf, len);
    buf[len] = '\0';
    size_t name_len = strlen(buf);
    if (name_len < len) {
        HARNESS_COUNTED(fota_agent_response_header(a, buf, buf + name_len + 1));
    }
}

/* FQ_DATA: fed to the agent in pieces; after the agent refuses a piece the rest is drained. */
static void recv_data(fota_agent_t *a, uint32_t len, bool *stopped)
{
    static uint8_t piece[PIECE];
    while (len > 0) {
        uint32_t n = len < PIECE ? len : PIECE;
        link_recv(piece, n);
        len -= n;
        if (!*stopped) {
            fota_err_t err;
            HARNESS_COUNTED(err = fota_agent_feed(a, piece, n));
            *stopped = err != FOTA_OK;
        }
    }
}

void harness_perform(fota_agent_t *a, const fota_http_request_t *req)
{
    send_request(req);
    bool stopped = false;
    for (;;) {
        uint8_t type, num[12];
        uint32_t len;
        link_recv_head(&type, &len);
        if (type == FQ_BEGIN && len == 12) {
            link_recv(num, 12);
            HARNESS_COUNTED(fota_agent_response_begin(a, (int)(int32_t)link_le32(num),
                                                      (int64_t)link_le64(num + 4)));
        } else if (type == FQ_HEADER) {
            recv_header(a, len);
        } else if (type == FQ_DATA) {
            recv_data(a, len, &stopped);
        } else if (type == FQ_END && len == 4) {
            link_recv(num, 4);
            HARNESS_COUNTED(fota_agent_response_end(a, (fota_err_t)(int32_t)link_le32(num)));
            return;
        } else {
            semihost_trap("bad frame from the bridge", type, len, 0);
        }
    }
}
