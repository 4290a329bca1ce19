/*
 * http.h - fotad's HTTP server on libmicrohttpd: a listening socket served by MHD's internal
 * thread pool (epoll where available), each request taken through router.h and answered from
 * the fotad_resp_t its handler filled. Also the per-request log line (log.h):
 *
 *   request method=GET path="/api/..." status=200 bytes=1433 ms=0.4 device=inv-1
 *
 * with error=CODE cause="..." appended for error responses (4xx at warn level, 5xx at error).
 */
#ifndef FOTAD_HTTP_H
#define FOTAD_HTTP_H

#include <stdint.h>

#include "app.h"
#include "tls.h"

typedef struct fotad_http fotad_http_t;

/* Listen on cfg->listen:cfg->port and serve, HTTPS with tls's pair (tls.h; it must outlive the
 * server) or plain HTTP when tls is NULL. *port: the port bound (useful with port 0). */
fota_err_t fotad_http_start(fotad_app_t *app, fotad_tls_t *tls, fotad_http_t **out, uint16_t *port);

/* Stop accepting, let requests in flight finish (at most drain_ms), close everything. */
void fotad_http_stop(fotad_http_t *h, unsigned drain_ms);

#endif /* FOTAD_HTTP_H */
