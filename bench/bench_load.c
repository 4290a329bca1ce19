/*
 * bench_load.c - an HTTP/1.1 load generator for device requests: N keep-alive connections on one
 * epoll loop, one request in flight per connection (no pipelining), each request signed as a
 * device signs it (docs/PROTOCOL.md section 2: X-Device-Id, X-Fota-Time, a fresh X-Fota-Nonce and
 * the X-Fota-Auth HMAC, agent/include/fota/auth.h), so fotad does all its per-request work. wrk
 * cannot sign requests; this does, and it runs unchanged against nginx serving the same blob as
 * a static file (nginx ignores the auth headers), so both servers see the same client.
 *
 *   bench_load --url http://HOST:PORT --kind seed|blob|check --release ID --chunks N
 *              [--record-size 1056] [--master FILE] [--connections 64] [--seconds 10]
 *              [--warmup 2] [--path PATH] [--hw P --version V]
 *
 *   seed  GET /api/inverter/fota/chunk?chunk_number=K&release=ID     (base64 JSON chunk)
 *   blob  GET PATH (default /api/inverter/fota/blob/ID) with Range: bytes of record K
 *   check GET /api/inverter/fota/check?version=V&hw=P                 (an offer, or 204)
 *
 * Connection i is device "load-NNNN" (its key derived from the master secret as fotad derives
 * it); K walks over the chunks. Requests completed during the warm-up are not counted. Prints
 * "key value" lines: requests, rps, body and wire MB/s, latency percentiles, non-2xx answers,
 * reconnects, and the generator's own CPU use (if it is near 100 % the client is the limit).
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fota/auth.h"
#include "fota/host/file_util.h"

#define MAX_CONNS 1024
#define HDR_MAX 8192

typedef struct {
    const char *url, *kind, *release, *master, *path, *hw, *version;
    unsigned chunks, record_size, connections;
    double seconds, warmup;
} opts_t;

typedef struct {
    int fd;
    unsigned idx;
    uint64_t seq;
    char device_id[16];
    uint8_t auth_key[32];
    mbedtls_md_context_t hmac;
    char out[1024];
    size_t out_len, out_off;
    char hdr[HDR_MAX];
    size_t hdr_len;
    bool in_body;
    uint64_t body_left;
    int status;
    uint64_t sent_ns;
} conn_t;

typedef struct {
    uint64_t requests, non2xx, reconnects, body_bytes, wire_bytes;
    uint32_t *lat_us;
    size_t lat_len, lat_cap;
} stats_t;

static opts_t o = {.record_size = 1056, .connections = 64, .seconds = 10, .warmup = 2};
static struct sockaddr_in server;
static char host_hdr[128];
static conn_t conns[MAX_CONNS];
static stats_t st;
static int ep;
static uint64_t nonce_state, measure_from_ns;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_load: %s: %s\n", what, errno != 0 ? strerror(errno) : "failed");
    exit(1);
}

/* splitmix64: nonces that never repeat within a run (a fresh random start per process). */
static uint64_t next_nonce(void)
{
    uint64_t z = (nonce_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* ---- requests ------------------------------------------------------------------------------ */

static void build_target(conn_t *c, char *target, size_t cap, char *range, size_t range_cap)
{
    unsigned k = (unsigned)((c->idx * 7919u + c->seq) % o.chunks);
    range[0] = '\0';
    if (strcmp(o.kind, "check") == 0) {
        snprintf(target, cap, "/api/inverter/fota/check?version=%s&hw=%s", o.version, o.hw);
        return;
    }
    if (strcmp(o.kind, "seed") == 0) {
        snprintf(target, cap, "/api/inverter/fota/chunk?chunk_number=%u&release=%s", k, o.release);
        return;
    }
    if (o.path != NULL) {
        snprintf(target, cap, "%s", o.path);
    } else {
        snprintf(target, cap, "/api/inverter/fota/blob/%s", o.release);
    }
    uint64_t first = (uint64_t)k * o.record_size;
    snprintf(range, range_cap, "Range: bytes=%llu-%llu\r\n", (unsigned long long)first,
             (unsigned long long)(first + o.record_size - 1));
}

static void build_request(conn_t *c)
{
    char target[256], range[64], time_s[24], nonce[20], mac[FOTA_AUTH_HEX_LEN + 1];
    build_target(c, target, sizeof target, range, sizeof range);
    snprintf(time_s, sizeof time_s, "%lld", (long long)time(NULL));
    snprintf(nonce, sizeof nonce, "%016llx", (unsigned long long)next_nonce());
    fota_auth_msg_t m = {"GET", target, time_s, nonce, NULL, 0};
    if (fota_auth_mac(&c->hmac, c->auth_key, &m, mac) != FOTA_OK) {
        die("fota_auth_mac");
    }
    int n = snprintf(c->out, sizeof c->out,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nX-Device-Id: %s\r\nX-Fota-Time: %s\r\n"
                     "X-Fota-Nonce: %s\r\nX-Fota-Auth: %s\r\n%s\r\n",
                     target, host_hdr, c->device_id, time_s, nonce, mac, range);
    c->out_len = (size_t)n;
    c->out_off = 0;
    c->seq++;
}

/* ---- connections --------------------------------------------------------------------------- */

static void arm(conn_t *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        die("epoll_ctl");
    }
}

static void send_some(conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            arm(c, EPOLLOUT); /* EAGAIN (or an error, seen by the next read) */
            return;
        }
        c->out_off += (size_t)n;
    }
    arm(c, EPOLLIN);
}

static void start_request(conn_t *c)
{
    build_request(c);
    c->hdr_len = 0;
    c->in_body = false;
    c->sent_ns = now_ns();
    send_some(c);
}

static void open_conn(conn_t *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (c->fd < 0 || setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        die("socket");
    }
    if (connect(c->fd, (struct sockaddr *)&server, sizeof server) != 0 && errno != EINPROGRESS) {
        die("connect");
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        die("epoll_ctl");
    }
    build_request(c);
    c->hdr_len = 0;
    c->in_body = false;
    c->sent_ns = now_ns();
}

static void reconnect(conn_t *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    st.reconnects++;
    c->seq--; /* ask for the same thing again, freshly signed */
    open_conn(c);
}

/* ---- responses ----------------------------------------------------------------------------- */

static void record(conn_t *c)
{
    uint64_t t = now_ns();
    if (c->sent_ns < measure_from_ns) {
        return;
    }
    st.requests++;
    st.non2xx += c->status < 200 || c->status > 299;
    if (st.lat_len == st.lat_cap) {
        st.lat_cap = st.lat_cap ? st.lat_cap * 2 : 65536;
        st.lat_us = realloc(st.lat_us, st.lat_cap * sizeof *st.lat_us);
        if (st.lat_us == NULL) {
            die("realloc");
        }
    }
    st.lat_us[st.lat_len++] = (uint32_t)((t - c->sent_ns) / 1000u);
}

/* The header block is whole: status and Content-Length. */
static bool parse_header(conn_t *c, size_t hdr_end)
{
    c->hdr[hdr_end] = '\0';
    if (sscanf(c->hdr, "HTTP/1.%*d %d", &c->status) != 1) {
        return false;
    }
    const char *cl = strcasestr(c->hdr, "\r\ncontent-length:");
    bool no_body = c->status == 204 || c->status == 304;
    if ((cl == NULL && !no_body) || strcasestr(c->hdr, "\r\ntransfer-encoding:") != NULL) {
        return false; /* fotad and nginx both send a length for these answers */
    }
    c->body_left = no_body ? 0 : strtoull(cl + 17, NULL, 10);
    c->in_body = true;
    if (c->sent_ns >= measure_from_ns) {
        st.body_bytes += c->body_left;
        st.wire_bytes += hdr_end + c->body_left + c->out_len;
    }
    return true;
}

/* Header bytes of the response; returns how many of `len` were taken (-1: malformed). */
static ssize_t take_header(conn_t *c, const char *p, size_t len)
{
    size_t room = HDR_MAX - 1 - c->hdr_len, n = len < room ? len : room;
    memcpy(c->hdr + c->hdr_len, p, n);
    size_t from = c->hdr_len > 3 ? c->hdr_len - 3 : 0;
    c->hdr_len += n;
    for (size_t i = from; i + 3 < c->hdr_len; i++) {
        if (memcmp(c->hdr + i, "\r\n\r\n", 4) == 0) {
            size_t end = i + 4;
            return parse_header(c, end) ? (ssize_t)(n - (c->hdr_len - end)) : -1;
        }
    }
    return c->hdr_len == HDR_MAX - 1 ? -1 : (ssize_t)n;
}

static bool consume(conn_t *c, const char *p, size_t len)
{
    while (len > 0) {
        if (!c->in_body) {
            ssize_t used = take_header(c, p, len);
            if (used < 0) {
                return false;
            }
            p += used;
            len -= (size_t)used;
        }
        size_t n = c->in_body ? (len < c->body_left ? len : (size_t)c->body_left) : 0;
        c->body_left -= n;
        p += n;
        len -= n;
        if (c->in_body && c->body_left == 0) {
            record(c);
            start_request(c);
        }
    }
    return true;
}

static void on_readable(conn_t *c)
{
    static char buf[65536];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n > 0 && !consume(c, buf, (size_t)n)) {
            fprintf(stderr, "bench_load: malformed or unsupported response\n%s\n", c->hdr);
            exit(1);
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            reconnect(c); /* the server closed the connection (or refused it) */
            return;
        }
        if (n < 0 && errno == EAGAIN) {
            return;
        }
    }
}

static void on_event(conn_t *c, uint32_t events)
{
    if (events & EPOLLOUT) {
        send_some(c);
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        on_readable(c);
    }
}

/* ---- setup and report ------------------------------------------------------------------------ */

static void setup_conn(conn_t *c, unsigned i, const uint8_t *master, size_t master_len)
{
    uint8_t device_key[32];
    c->idx = i;
    snprintf(c->device_id, sizeof c->device_id, "load-%04u", i);
    if (fota_auth_device_key(master, master_len, c->device_id, device_key) != FOTA_OK ||
        fota_auth_key(device_key, c->auth_key) != FOTA_OK) {
        die("device key");
    }
    mbedtls_md_init(&c->hmac);
    if (mbedtls_md_setup(&c->hmac, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) != 0) {
        die("mbedtls_md_setup");
    }
}

static void parse_url(void)
{
    char host[64];
    unsigned port;
    if (sscanf(o.url, "http://%63[0-9.]:%u", host, &port) != 2 ||
        inet_pton(AF_INET, host, &server.sin_addr) != 1) {
        errno = 0;
        die("--url wants http://IPv4:PORT");
    }
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)port);
    snprintf(host_hdr, sizeof host_hdr, "%s:%u", host, port);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void report(double seconds, double cpu)
{
    qsort(st.lat_us, st.lat_len, sizeof *st.lat_us, cmp_u32);
    double p50 = st.lat_len ? st.lat_us[st.lat_len / 2] / 1000.0 : 0;
    double p99 = st.lat_len ? st.lat_us[st.lat_len * 99 / 100] / 1000.0 : 0;
    printf("requests %llu\nseconds %.3f\nrps %.0f\nbody_mb_s %.2f\nwire_mb_s %.2f\n"
           "p50_ms %.3f\np99_ms %.3f\nnon2xx %llu\nreconnects %llu\nclient_cpu %.2f\n",
           (unsigned long long)st.requests, seconds, st.requests / seconds,
           st.body_bytes / seconds / 1e6, st.wire_bytes / seconds / 1e6, p50, p99,
           (unsigned long long)st.non2xx, (unsigned long long)st.reconnects, cpu / seconds);
}

static void run(void)
{
    uint64_t start = now_ns();
    measure_from_ns = start + (uint64_t)(o.warmup * 1e9);
    uint64_t end = measure_from_ns + (uint64_t)(o.seconds * 1e9);
    double cpu0 = 0;
    bool measuring = false;
    struct epoll_event evs[256];
    for (uint64_t t = start; t < end; t = now_ns()) {
        if (!measuring && t >= measure_from_ns) {
            measuring = true;
            cpu0 = cpu_seconds();
        }
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            on_event(evs[i].data.ptr, evs[i].events);
        }
    }
    report((double)(now_ns() - measure_from_ns) / 1e9, cpu_seconds() - cpu0);
}

static bool parse_args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i] + 2, *v = argv[i + 1];
        if (strncmp(argv[i], "--", 2) != 0) {
            return false;
        }
        const char **s = !strcmp(k, "url")       ? &o.url
                         : !strcmp(k, "kind")    ? &o.kind
                         : !strcmp(k, "release") ? &o.release
                         : !strcmp(k, "master")  ? &o.master
                         : !strcmp(k, "path")    ? &o.path
                         : !strcmp(k, "hw")      ? &o.hw
                         : !strcmp(k, "version") ? &o.version
                                                 : NULL;
        unsigned *u = !strcmp(k, "chunks")        ? &o.chunks
                      : !strcmp(k, "record-size") ? &o.record_size
                      : !strcmp(k, "connections") ? &o.connections
                                                  : NULL;
        double *d = !strcmp(k, "seconds") ? &o.seconds : !strcmp(k, "warmup") ? &o.warmup : NULL;
        if (s == NULL && u == NULL && d == NULL) {
            return false;
        }
        s ? (void)(*s = v) : u ? (void)(*u = (unsigned)strtoul(v, NULL, 10)) : (void)(*d = atof(v));
    }
    return argc % 2 == 1 && o.url && o.kind && o.release && o.chunks > 0 && o.connections > 0 &&
           o.connections <= MAX_CONNS &&
           (strcmp(o.kind, "seed") == 0 || strcmp(o.kind, "blob") == 0 ||
            (strcmp(o.kind, "check") == 0 && o.hw != NULL && o.version != NULL));
}

int main(int argc, char **argv)
{
    if (!parse_args(argc, argv)) {
        fprintf(stderr,
                "usage: bench_load --url http://IP:PORT --kind seed|blob|check --release ID "
                "--chunks N [--record-size 1056] [--master FILE] [--connections 64] "
                "[--seconds 10] [--warmup 2] [--path PATH] [--hw P --version V]\n");
        return 2;
    }
    parse_url();
    uint8_t *master = NULL;
    size_t master_len = 0;
    if (o.master != NULL && fota_file_read_all(o.master, 4096, &master, &master_len) != FOTA_OK) {
        die(o.master);
    }
    FILE *r = fopen("/dev/urandom", "rb");
    if (r == NULL || fread(&nonce_state, sizeof nonce_state, 1, r) != 1) {
        die("/dev/urandom");
    }
    fclose(r);
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        die("epoll_create1");
    }
    for (unsigned i = 0; i < o.connections; i++) {
        setup_conn(&conns[i], i, master != NULL ? master : (const uint8_t *)"", master_len);
        open_conn(&conns[i]);
    }
    free(master);
    run();
    return 0;
}
