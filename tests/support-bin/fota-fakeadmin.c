/*
 * fota-fakeadmin.c - test support: a scripted stand-in for fotad's admin API at the port
 * boundary, for fotactl's client tests (tests/tools/test_fotactl_remote.sh). It is a real HTTP
 * server on loopback (libmicrohttpd), so fotactl's libcurl code runs unchanged; it knows nothing
 * of releases or devices. Each route answers a fixed status and body from a file, and every
 * request is written to a log so the test can check exactly what fotactl sent. The behaviour of
 * the real server is tested against the real fotad (tests/integration/test_fotactl_fotad.sh);
 * this fake exists for what fotad never does: a proxy's HTML error page, an answer that is not
 * JSON, a dropped connection, an answer too large.
 *
 *   fota-fakeadmin --port-file F --log LOG [--route "METHOD PATH STATUS FILE"]...
 *
 * STATUS is an HTTP status, or "drop" to close the connection without answering. FILE is the
 * body ("-": empty). A request no route matches gets 404 {"error":"...","code":"not_found"}.
 * Log, one line per request, appended and flushed before the answer is sent:
 *
 *   METHOD PATH auth=<Authorization> type=<Content-Type> len=N sha256=<hex of body> body=<text>
 *
 * (body= only for a printable body up to 1 KiB). Runs until SIGTERM or SIGINT; exit 0.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>
#include <microhttpd.h>

#include "fota/host/file_util.h"

#define MAX_ROUTES 32
#define MAX_BODY (64u * 1024u * 1024u)
#define MAX_ANSWER (80u * 1024u * 1024u)
#define LOGGED_BODY 1024u

typedef struct {
    char method[16];
    char path[256];
    int status; /* 0: drop the connection */
    uint8_t *body;
    size_t body_len;
} route_t;

typedef struct {
    route_t routes[MAX_ROUTES];
    size_t n_routes;
    FILE *log;
} fake_t;

/* A request's body, gathered over the calls of the access handler. */
typedef struct {
    uint8_t *buf;
    size_t len;
    bool too_big;
} upload_t;

static int load_route(route_t *r, const char *spec)
{
    char status[16], file[512], extra;
    if (sscanf(spec, "%15s %255s %15s %511s %c", r->method, r->path, status, file, &extra) != 4) {
        fprintf(stderr, "fota-fakeadmin: bad --route '%s'\n", spec);
        return 2;
    }
    r->status = strcmp(status, "drop") == 0 ? 0 : atoi(status);
    if (strcmp(file, "-") == 0) {
        return 0;
    }
    if (fota_file_read_all(file, MAX_ANSWER, &r->body, &r->body_len) != FOTA_OK) {
        fprintf(stderr, "fota-fakeadmin: cannot read %s\n", file);
        return 2;
    }
    return 0;
}

static const route_t *find_route(const fake_t *f, const char *method, const char *path)
{
    for (size_t i = 0; i < f->n_routes; i++) {
        if (strcmp(f->routes[i].method, method) == 0 && strcmp(f->routes[i].path, path) == 0) {
            return &f->routes[i];
        }
    }
    return NULL;
}

static bool printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] > 0x7E) {
            return false;
        }
    }
    return true;
}

static void log_request(fake_t *f, struct MHD_Connection *conn, const char *method,
                        const char *path, const upload_t *u)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    uint8_t digest[32];
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), u->buf, u->len, digest);
    fprintf(f->log, "%s %s auth=%s type=%s len=%zu sha256=", method, path, auth ? auth : "",
            type ? type : "", u->len);
    for (size_t i = 0; i < sizeof digest; i++) {
        fprintf(f->log, "%02x", digest[i]);
    }
    if (u->len <= LOGGED_BODY && printable(u->buf, u->len)) {
        fprintf(f->log, " body=%.*s", (int)u->len, u->len ? (const char *)u->buf : "");
    }
    fprintf(f->log, "%s\n", u->too_big ? " (body cut)" : "");
    fflush(f->log);
}

static enum MHD_Result answer(struct MHD_Connection *conn, const route_t *r)
{
    static const char not_found[] = "{\"error\":\"no such route in the fake\",\"code\":"
                                    "\"not_found\"}";
    if (r != NULL && r->status == 0) {
        return MHD_NO; /* drop */
    }
    const void *body = r ? (const void *)r->body : not_found;
    size_t len = r ? r->body_len : sizeof not_found - 1;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, r ? (unsigned)r->status : 404u, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Append a piece of the request body. */
static void gather(upload_t *u, const char *data, size_t len)
{
    if (len > MAX_BODY - u->len) {
        u->too_big = true;
        return;
    }
    uint8_t *p = realloc(u->buf, u->len + len + 1);
    if (p == NULL) {
        u->too_big = true;
        return;
    }
    memcpy(p + u->len, data, len);
    u->buf = p;
    u->len += len;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_len, void **con_cls)
{
    fake_t *f = cls;
    (void)version;
    if (*con_cls == NULL) {
        *con_cls = calloc(1, sizeof(upload_t));
        return *con_cls != NULL ? MHD_YES : MHD_NO;
    }
    upload_t *u = *con_cls;
    if (*data_len > 0) {
        gather(u, data, *data_len);
        *data_len = 0;
        return MHD_YES;
    }
    log_request(f, conn, method, url, u);
    return answer(conn, find_route(f, method, url));
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    upload_t *u = *con_cls;
    if (u != NULL) {
        free(u->buf);
        free(u);
        *con_cls = NULL;
    }
}

static int parse_args(fake_t *f, int argc, char **argv, const char **port_file,
                      const char **log_file)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        int rc = 0;
        if (strcmp(argv[i], "--port-file") == 0) {
            *port_file = argv[i + 1];
        } else if (strcmp(argv[i], "--log") == 0) {
            *log_file = argv[i + 1];
        } else if (strcmp(argv[i], "--route") == 0 && f->n_routes < MAX_ROUTES) {
            rc = load_route(&f->routes[f->n_routes++], argv[i + 1]);
        } else {
            rc = 2;
        }
        if (rc != 0) {
            return rc;
        }
    }
    return argc % 2 == 1 && *port_file && *log_file ? 0 : 2;
}

static struct MHD_Daemon *start(fake_t *f)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            on_request, f, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, f, MHD_OPTION_END);
}

/* Serve until SIGTERM/SIGINT (blocked before the daemon's thread starts, taken by sigwait). */
static int serve(fake_t *f, const char *port_file)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct MHD_Daemon *d = start(f);
    const union MHD_DaemonInfo *info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (info == NULL) {
        fprintf(stderr, "fota-fakeadmin: cannot listen\n");
        if (d != NULL) {
            MHD_stop_daemon(d);
        }
        return 1;
    }
    char text[16];
    int n = snprintf(text, sizeof text, "%u\n", (unsigned)info->port);
    int rc = fota_file_write_all(port_file, text, (size_t)n, 0644) == FOTA_OK ? 0 : 1;
    int sig;
    if (rc == 0) {
        sigwait(&set, &sig);
    }
    MHD_stop_daemon(d);
    return rc;
}

int main(int argc, char **argv)
{
    static fake_t f;
    const char *port_file = NULL, *log_file = NULL;
    int rc = parse_args(&f, argc, argv, &port_file, &log_file);
    if (rc != 0) {
        fprintf(stderr, "usage: fota-fakeadmin --port-file F --log LOG "
                        "[--route \"METHOD PATH STATUS FILE\"]...\n");
    } else if ((f.log = fopen(log_file, "a")) == NULL) {
        fprintf(stderr, "fota-fakeadmin: cannot open %s\n", log_file);
        rc = 1;
    } else {
        rc = serve(&f, port_file);
        fclose(f.log);
    }
    for (size_t i = 0; i < f.n_routes; i++) {
        free(f.routes[i].body);
    }
    return rc;
}
