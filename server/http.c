/*
 * http.c - libmicrohttpd glue (http.h). A request goes through three callbacks:
 *
 *   uri_log    MHD has read the request line: keep the raw target exactly as sent (the device
 *              MAC covers it, and MHD hands the access handler only the decoded path) and
 *              start the clock. Its return value becomes the request's context.
 *   on_request first call (headers in): the router's early checks (414, 404, 405, admin
 *              401/403, 413) answer at once, before any body byte is read; then body pieces
 *              are appended up to the route's limit; the last call runs the handler.
 *   completed  count the request in the metrics registry (metrics.h: a few atomic additions, no
 *              lock), log the request line and free the context.
 *
 * Every answer is queued through queue(), which first records an admin action in the audit log
 * (router.h), so that the row exists when the client has the answer.
 *
 * A body over the limit without a Content-Length (chunked) is drained and answered 413 at its
 * end - MHD cannot answer in the middle of an upload - and the connection is dropped if the
 * client keeps sending more than the limit again. in_flight counts requests between uri_log and
 * completed (idle keep-alive connections are not requests), so shutdown can wait for them.
 */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "router.h"
#include "tls.h"

#define CONNECTION_TIMEOUT_S 30u
#define CONNECTION_MEMORY 16384u /* request line + headers must fit (MHD answers 431/414) */

struct fotad_http {
    struct MHD_Daemon *daemon;
    fotad_app_t *app;
    fotad_tls_t *tls; /* HTTPS with this pair, or NULL: plain HTTP */
    atomic_int in_flight;
};

typedef struct {
    fotad_http_t *http;
    char *target;
    char method[8];
    struct timespec t0;
    int started;
    fotad_match_t match;
    uint8_t *body;
    size_t len;
    size_t cap;
    size_t limit;
    int too_large;
    size_t discarded;
    unsigned status;
    uint64_t bytes;
    char device[FOTAD_DEVICE_ID_MAX + 1];
    char error_code[32];
    char error_text[160];
    unsigned accel; /* handed to the proxy in front: the status it answers with (accel.h) */
    char client[INET6_ADDRSTRLEN];
} http_req_t;

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    fotad_http_t *h = cls;
    http_req_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    r->http = h;
    r->target = strdup(uri != NULL ? uri : "");
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    atomic_fetch_add(&h->in_flight, 1);
    return r;
}

static const char *header_of(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

static struct MHD_Response *make_response(fotad_resp_t *resp)
{
    struct MHD_Response *m;
    if (resp->fd >= 0) {
        m = MHD_create_response_from_fd_at_offset64(resp->fd_len, resp->fd, resp->fd_offset);
        if (m != NULL) {
            resp->fd = -1; /* MHD closes it */
        }
    } else if (resp->borrowed != NULL) {
        /* Headers and body then leave in one sendmsg (a file body takes a send and a sendfile). */
        m = MHD_create_response_from_buffer(resp->body_len, (void *)resp->borrowed,
                                            MHD_RESPMEM_PERSISTENT);
    } else {
        m = MHD_create_response_from_buffer(resp->body_len, resp->body,
                                            resp->body != NULL ? MHD_RESPMEM_MUST_FREE
                                                               : MHD_RESPMEM_PERSISTENT);
        if (m != NULL) {
            resp->body = NULL; /* MHD frees it */
        }
    }
    if (m == NULL) {
        return NULL;
    }
    if (resp->content_type != NULL) {
        MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    }
    for (size_t i = 0; i < resp->n_headers; i++) {
        MHD_add_response_header(m, resp->headers[i].name, resp->headers[i].value);
    }
    return m;
}

static enum MHD_Result queue(struct MHD_Connection *c, http_req_t *r, fotad_resp_t *resp)
{
    unsigned status = resp->status;
    r->status = status;
    r->bytes = resp->fd >= 0 ? resp->fd_len : resp->body_len;
    memcpy(r->device, resp->device, sizeof r->device);
    memcpy(r->error_code, resp->error_code, sizeof r->error_code);
    memcpy(r->error_text, resp->error_text, sizeof r->error_text);
    r->accel = resp->accel;
    fotad_router_audit(r->http->app, &r->match, r->method, r->client, resp);
    struct MHD_Response *m = make_response(resp);
    fotad_resp_free(resp);
    if (m == NULL) {
        FOTAD_ERROR("http: cannot create a response (out of memory)");
        return MHD_NO;
    }
    enum MHD_Result ret = MHD_queue_response(c, status, m);
    MHD_destroy_response(m);
    return ret;
}

/* The peer's address as text ("?" when libmicrohttpd does not say). */
static void client_address(struct MHD_Connection *c, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
    const void *addr = NULL;
    if (sa != NULL && sa->sa_family == AF_INET) {
        addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    }
    if (addr == NULL || inet_ntop(sa->sa_family, addr, out, (socklen_t)cap) == NULL) {
        snprintf(out, cap, "?");
    }
}

/* Headers are in: early checks, or get ready for the body. */
static enum MHD_Result begin(struct MHD_Connection *c, http_req_t *r, const char *url,
                             const char *method)
{
    r->started = 1;
    snprintf(r->method, sizeof r->method, "%s", method);
    client_address(c, r->client, sizeof r->client);
    fotad_resp_t resp;
    fotad_resp_init(&resp);
    fotad_app_t *app = r->http->app;
    unsigned status = fotad_router_begin(
        app, method, url, r->target,
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length"),
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"), &r->match, &resp);
    if (status != 0) {
        return queue(c, r, &resp);
    }
    r->limit = fotad_router_body_limit(app, r->match.route);
    return MHD_YES;
}

/* A piece of the body: keep it, or count it once over the limit. */
static enum MHD_Result take(http_req_t *r, const char *data, size_t n)
{
    if (r->too_large || n > r->limit - r->len) {
        r->too_large = 1;
        r->discarded += n;
        return r->discarded > r->limit + CONNECTION_MEMORY ? MHD_NO : MHD_YES;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap == 0 ? 4096 : r->cap;
        while (cap < r->len + n) {
            cap *= 2;
        }
        cap = cap > r->limit ? r->limit : cap;
        uint8_t *p = realloc(r->body, cap);
        if (p == NULL) {
            FOTAD_ERROR("http: out of memory for a %zu-byte body", r->len + n);
            return MHD_NO;
        }
        r->body = p;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    return MHD_YES;
}

/* The whole request is in: run it. */
static enum MHD_Result finish(struct MHD_Connection *c, http_req_t *r, const char *url)
{
    fotad_resp_t resp;
    fotad_resp_init(&resp);
    if (r->too_large) {
        fotad_resp_error(&resp, 413, "too_large", "body over the limit of %zu bytes", r->limit);
        return queue(c, r, &resp);
    }
    fotad_req_t req = {
        .client = r->client,
        .method = r->method,
        .target = r->target,
        .path = url,
        .body = r->body != NULL ? r->body : (const uint8_t *)"",
        .body_len = r->len,
        .header = header_of,
        .header_ctx = c,
    };
    fotad_router_finish(r->http->app, &r->match, &req, &resp);
    if (resp.status == 0) {
        fotad_resp_internal(&resp, "handler", FOTA_ERR_STATE);
    }
    return queue(c, r, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **ctx)
{
    (void)cls;
    (void)version;
    http_req_t *r = *ctx;
    if (r == NULL || r->target == NULL) {
        return MHD_NO; /* out of memory in uri_log */
    }
    if (!r->started) {
        return begin(c, r, url, method);
    }
    if (*upload_size != 0) {
        enum MHD_Result res = take(r, upload_data, *upload_size);
        *upload_size = 0;
        return res;
    }
    return finish(c, r, url);
}

static const char *termination_text(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return NULL;
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client_abort";
    default:
        return "connection_error";
    }
}

static fotad_log_level_t request_level(const http_req_t *r, enum MHD_RequestTerminationCode toe)
{
    if (r->status >= 500 || (r->status == 0 && toe != MHD_REQUEST_TERMINATED_CLIENT_ABORT)) {
        return FOTAD_LOG_ERROR;
    }
    return r->status >= 400 || r->status == 0 ? FOTAD_LOG_WARN : FOTAD_LOG_INFO;
}

static void log_request(const http_req_t *r, enum MHD_RequestTerminationCode toe)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms =
        (double)(t1.tv_sec - r->t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - r->t0.tv_nsec) / 1e6;
    char path[256];
    char cause[sizeof r->error_text];
    char extra[sizeof cause + 96] = "";
    fotad_log_clean(r->target != NULL ? r->target : "", path, sizeof path);
    if (r->error_code[0] != '\0') {
        fotad_log_clean(r->error_text, cause, sizeof cause);
        snprintf(extra, sizeof extra, " error=%s cause=\"%s\"", r->error_code, cause);
    }
    size_t used = strlen(extra);
    if (r->accel != 0) {
        snprintf(extra + used, sizeof extra - used, " accel=%u", r->accel);
        used = strlen(extra);
    }
    const char *aborted = termination_text(toe);
    if (aborted != NULL) {
        snprintf(extra + used, sizeof extra - used, " ended=%s", aborted);
    }
    fotad_log(request_level(r, toe),
              "request method=%s path=\"%s\" status=%u bytes=%llu ms=%.1f device=%s%s",
              r->method[0] != '\0' ? r->method : "-", path, r->status, (unsigned long long)r->bytes,
              ms, r->device[0] != '\0' ? r->device : "-", extra);
}

/* The request in the registry: its route (or none), status, duration, and the body bytes when
 * they were all sent (a HEAD sends none). */
static void count_request(const http_req_t *r, enum MHD_RequestTerminationCode toe)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ns = (int64_t)(t1.tv_sec - r->t0.tv_sec) * 1000000000 + (t1.tv_nsec - r->t0.tv_nsec);
    bool sent = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && strcmp(r->method, "HEAD") != 0;
    fotad_metrics_request(r->http->app->metrics, fotad_router_index(r->match.route), r->status,
                          ns > 0 ? (uint64_t)ns : 0, sent ? r->bytes : 0);
}

static void completed(void *cls, struct MHD_Connection *c, void **ctx,
                      enum MHD_RequestTerminationCode toe)
{
    (void)c;
    fotad_http_t *h = cls;
    http_req_t *r = *ctx;
    if (r == NULL) {
        return;
    }
    count_request(r, toe);
    log_request(r, toe);
    free(r->target);
    free(r->body);
    free(r);
    *ctx = NULL;
    atomic_fetch_sub(&h->in_flight, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    FOTAD_WARN("libmicrohttpd: %s", text);
}

/* The listening address; *flags gets MHD_USE_IPv6 for an IPv6 literal. */
static fota_err_t listen_addr(const fotad_config_t *cfg, struct sockaddr_storage *ss,
                              unsigned *flags)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, cfg->listen, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(cfg->port);
        return FOTA_OK;
    }
    if (inet_pton(AF_INET6, cfg->listen, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(cfg->port);
        *flags |= MHD_USE_IPv6;
        return FOTA_OK;
    }
    FOTAD_ERROR("listen address '%s' is not an IPv4 or IPv6 address", cfg->listen);
    return FOTA_ERR_ARG;
}

/* Descriptors kept for everything but connections: the listening socket, the database and its
 * WAL, uploads being written, the log; and per worker thread its epoll and wake-up pair. */
#define FDS_RESERVED 64u
#define FDS_PER_THREAD 3u

/* How many connections may be open at once: the configured number, within the open-file limit,
 * which is first raised to its hard maximum (a connection is a descriptor; past the limit every
 * new connection, honest or not, would wait in the listen backlog). A connection may hold two:
 * its socket and, while it sends a long blob Range, the blob file. */
static unsigned connection_limit(const fotad_config_t *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return cfg->max_connections;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            getrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    unsigned want = cfg->max_connections != 0 ? cfg->max_connections : FOTAD_MAX_AUTO_CONNECTIONS;
    if (rl.rlim_cur == RLIM_INFINITY) {
        return want;
    }
    rlim_t kept = FDS_RESERVED + (rlim_t)FDS_PER_THREAD * cfg->threads;
    rlim_t room = rl.rlim_cur > kept + 2u ? (rl.rlim_cur - kept) / 2u : 1u;
    if (room >= want) {
        return want;
    }
    if (cfg->max_connections != 0) { /* the default is what the limit allows: no warning */
        FOTAD_WARN("max_connections %u lowered to %u: the open-file limit is %llu (ulimit -n)",
                   cfg->max_connections, (unsigned)room, (unsigned long long)rl.rlim_cur);
    }
    return (unsigned)room;
}

static struct MHD_Daemon *start_daemon(fotad_http_t *h, unsigned flags,
                                       const struct sockaddr_storage *ss)
{
    const fotad_config_t *cfg = h->app->cfg;
    unsigned threads = cfg->threads;
    unsigned conns = connection_limit(cfg);
    if (conns < threads) {
        conns = threads; /* libmicrohttpd shares the limit out among its threads */
    }
    FOTAD_INFO("up to %u connections at once%s", conns,
               cfg->max_connections_per_ip != 0 ? ", limited per address" : "");
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_SOCK_ADDR, 0, (void *)ss},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_log, h},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, h},
        {MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, conns, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_ip, NULL},
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    /* The logger goes first, or MHD reports option errors on its own stderr format. With TLS,
     * the versions allowed and the certificate of each handshake, from tls.h (variadic options:
     * MHD_OPTION_ARRAY takes only options of plain types); without, the list ends before them. */
    enum MHD_OPTION tls_opts = h->tls != NULL ? MHD_OPTION_HTTPS_PRIORITIES : MHD_OPTION_END;
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_logger, NULL, MHD_OPTION_ARRAY, opts, tls_opts,
                            FOTAD_TLS_PRIORITIES, MHD_OPTION_HTTPS_CERT_CALLBACK2,
                            fotad_tls_retrieve, MHD_OPTION_END);
}

/* HTTPS needs libmicrohttpd built with GnuTLS and its certificate callback (Debian's is). */
static fota_err_t tls_flags(const fotad_http_t *h, unsigned *flags)
{
    if (h->tls == NULL) {
        return FOTA_OK;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
        MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK2) != MHD_YES) {
        FOTAD_ERROR("this libmicrohttpd has no HTTPS with a certificate callback: use nginx in "
                    "front for TLS (docs/SERVER.md)");
        return FOTA_ERR_UNSUPPORTED;
    }
    *flags |= MHD_USE_TLS;
    return FOTA_OK;
}

fota_err_t fotad_http_start(fotad_app_t *app, fotad_tls_t *tls, fotad_http_t **out, uint16_t *port)
{
    fotad_http_t *h = calloc(1, sizeof *h);
    if (h == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    h->app = app;
    h->tls = tls;
    atomic_init(&h->in_flight, 0);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL;
    struct sockaddr_storage ss;
    fota_err_t err = tls_flags(h, &flags);
    if (err == FOTA_OK) {
        err = listen_addr(app->cfg, &ss, &flags);
    }
    if (err == FOTA_OK) {
        h->daemon = start_daemon(h, flags, &ss);
        if (h->daemon == NULL) {
            FOTAD_ERROR("cannot listen on %s port %u (in use? bad address?)", app->cfg->listen,
                        app->cfg->port);
            err = FOTA_ERR_IO;
        }
    }
    if (err != FOTA_OK) {
        free(h);
        return err;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *port = info != NULL ? info->port : app->cfg->port;
    *out = h;
    return FOTA_OK;
}

void fotad_http_stop(fotad_http_t *h, unsigned drain_ms)
{
    if (h == NULL) {
        return;
    }
    /* The listening socket MHD hands back is closed only after MHD_stop_daemon: its polling
     * thread may still be taking it out of its epoll set, and a socket closed under it makes
     * MHD abort ("Failed to remove listen FD from epoll set"), as libmicrohttpd's manual warns. */
    MHD_socket s = MHD_quiesce_daemon(h->daemon);
    for (unsigned waited = 0; atomic_load(&h->in_flight) > 0 && waited < drain_ms; waited += 10) {
        usleep(10000);
    }
    MHD_stop_daemon(h->daemon);
    if (s != MHD_INVALID_SOCKET) {
        close(s);
    }
    free(h);
}
