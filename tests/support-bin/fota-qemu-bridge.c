/*
 * fota-qemu-bridge.c - the host end of the serial link to the agent running bare metal under
 * QEMU (ports/qemu, docs/TARGETS.md). It starts QEMU with its first serial port on a Unix socket,
 * waits for the target's FQ_READY and sends the device's settings (FQ_HELLO), then performs every
 * request the agent makes against a real server over HTTP with libcurl and streams the response
 * back (ports/qemu/link_proto.h), until QEMU exits. What the harness reports at the end (FQ_RESULT)
 * is printed as "result KEY VALUE" lines, the outcome by its error name.
 *
 *   fota-qemu-bridge --server URL --id ID (--key HEX | --master FILE) --release-key FILE
 *       --product P --version V --mode seed|chain [--chip N] [--floor N] [--range-records N]
 *       [--dump FILE] [--measure N] [--icount-shift N] [--timeout S] [--http-timeout MS]
 *       [--verbose] -- QEMU COMMAND...
 *
 * Also printed: "bridge requests N", "bridge body_bytes N" (response body bytes sent to the
 * target). With --verbose, one line per request on stderr.
 * Exit: QEMU's exit code (0: the harness ran to its end); 2 usage; 3 no result from the target;
 * 4 the link failed; 124 --timeout (QEMU is killed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fota/auth.h"
#include "fota/err.h"
#include "fota/host/file_util.h"
#include "fota/posix/transport_curl.h"
#include "link_proto.h"

#define PROG "fota-qemu-bridge"
#define MAX_ARGS 64

typedef struct {
    const char *server, *id, *key_hex, *master, *release_key, *product, *version, *mode, *dump;
    unsigned long chip, floor, range_records, measure, icount_shift, timeout_s, http_timeout_ms;
    bool verbose;
    char **qemu;
} opts_t;

typedef struct {
    int fd;          /* the serial line */
    time_t deadline; /* of the whole run */
    CURL *curl;      /* one connection, kept alive */
    bool begun;      /* FQ_BEGIN sent for the request in flight */
    bool line_start; /* the last header line ended a header block */
    fota_curl_kept_headers_t kept;
    unsigned long requests;
    unsigned long long body_bytes;
    bool link_failed;
    bool got_result;
} bridge_t;

static int usage(const char *why)
{
    fprintf(stderr,
            "%s: %s\nusage: %s --server URL --id ID (--key HEX | --master FILE) "
            "--release-key FILE --product P --version V --mode seed|chain [options] -- "
            "QEMU COMMAND...\n",
            PROG, why, PROG);
    return 2;
}

/* ---- the serial line ----------------------------------------------------------------------- */

static bool wait_fd(bridge_t *b, short events)
{
    for (;;) {
        long left = (long)(b->deadline - time(NULL));
        if (left <= 0) {
            return false;
        }
        struct pollfd p = {b->fd, events, 0};
        int n = poll(&p, 1, (int)(left > 1 ? 1000 : 100));
        if (n > 0) {
            return true;
        }
        if (n < 0 && errno != EINTR) {
            return false;
        }
    }
}

static bool line_write(bridge_t *b, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0 && !b->link_failed) {
        if (!wait_fd(b, POLLOUT)) {
            b->link_failed = true;
            break;
        }
        ssize_t n = send(b->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            b->link_failed = true;
        } else if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    return !b->link_failed;
}

/* Exactly len bytes; false at the end of the line (QEMU exited) or on the deadline. */
static bool line_read(bridge_t *b, void *data, size_t len)
{
    uint8_t *p = data;
    while (len > 0) {
        if (!wait_fd(b, POLLIN)) {
            return false;
        }
        ssize_t n = recv(b->fd, p, len, 0);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
            return false;
        }
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    return true;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static bool frame(bridge_t *b, uint8_t type, const void *payload, size_t len)
{
    uint8_t head[FQ_FRAME_HEAD] = {type};
    put_le(head + 1, len, 4);
    return line_write(b, head, sizeof head) && line_write(b, payload, len);
}

/* ---- the settings ---------------------------------------------------------------------------- */

typedef struct {
    uint8_t buf[FQ_MAX_HELLO];
    size_t len;
    bool overflow;
} tlv_t;

static void tlv(tlv_t *t, uint8_t tag, const void *v, size_t n)
{
    if (n > 0xFFFF || t->len + 3 + n > sizeof t->buf) {
        t->overflow = true;
        return;
    }
    t->buf[t->len] = tag;
    put_le(t->buf + t->len + 1, n, 2);
    memcpy(t->buf + t->len + 3, v, n);
    t->len += 3 + n;
}

static void tlv_num(tlv_t *t, uint8_t tag, uint64_t v, unsigned n)
{
    uint8_t le[8];
    put_le(le, v, n);
    tlv(t, tag, le, n);
}

static int device_key(const opts_t *o, uint8_t key[32])
{
    if (o->key_hex != NULL) {
        if (strlen(o->key_hex) != 64) {
            return usage("--key wants 64 hex digits");
        }
        for (size_t i = 0; i < 32; i++) {
            unsigned v;
            if (sscanf(o->key_hex + 2 * i, "%2x", &v) != 1) {
                return usage("--key wants 64 hex digits");
            }
            key[i] = (uint8_t)v;
        }
        return 0;
    }
    uint8_t *master = NULL;
    size_t len = 0;
    if (fota_file_read_all(o->master, 4096, &master, &len) != FOTA_OK) {
        fprintf(stderr, "%s: %s: cannot read the master secret\n", PROG, o->master);
        return 2;
    }
    fota_err_t err = fota_auth_device_key(master, len, o->id, key);
    free(master);
    return err == FOTA_OK ? 0 : usage("cannot derive the device key");
}

/* After the target's FQ_READY: its settings. */
static int send_hello(bridge_t *b, const opts_t *o)
{
    static tlv_t t;
    uint8_t ready[FQ_FRAME_HEAD];
    if (!line_read(b, ready, sizeof ready) || ready[0] != FQ_READY) {
        fprintf(stderr, "%s: the target did not say it was ready\n", PROG);
        return 4;
    }
    uint8_t key[32], seed[32];
    int rc = device_key(o, key);
    if (rc != 0) {
        return rc;
    }
    uint8_t *pub = NULL;
    size_t pub_len = 0;
    if (fota_file_read_all(o->release_key, 4096, &pub, &pub_len) != FOTA_OK) {
        fprintf(stderr, "%s: %s: cannot read the release key\n", PROG, o->release_key);
        return 2;
    }
    if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
        free(pub);
        return 4;
    }
    tlv(&t, FQ_T_DEVICE_ID, o->id, strlen(o->id));
    tlv(&t, FQ_T_DEVICE_KEY, key, 32);
    tlv(&t, FQ_T_PRODUCT, o->product, strlen(o->product));
    tlv(&t, FQ_T_VERSION, o->version, strlen(o->version));
    tlv(&t, FQ_T_RELEASE_KEY, pub, pub_len + 1); /* a PEM key goes with its NUL */
    tlv_num(&t, FQ_T_MODE, strcmp(o->mode, "seed") == 0 ? 0 : 1, 1);
    tlv_num(&t, FQ_T_CHIP, o->chip, 2);
    tlv_num(&t, FQ_T_TIME, (uint64_t)time(NULL), 8);
    tlv(&t, FQ_T_SEED, seed, sizeof seed);
    tlv_num(&t, FQ_T_ICOUNT, o->icount_shift, 1);
    tlv_num(&t, FQ_T_FLOOR, o->floor, 4);
    tlv_num(&t, FQ_T_RANGE, o->range_records, 4);
    if (o->dump != NULL) {
        tlv(&t, FQ_T_DUMP, o->dump, strlen(o->dump));
    }
    tlv_num(&t, FQ_T_MEASURE, o->measure, 4);
    free(pub);
    if (t.overflow) {
        return usage("the settings do not fit the hello frame");
    }
    return frame(b, FQ_HELLO, t.buf, t.len) ? 0 : 4;
}

/* ---- one request --------------------------------------------------------------------------- */

static void begin(bridge_t *b)
{
    if (b->begun) {
        return;
    }
    long status;
    int64_t clen;
    fota_curl_response_head(b->curl, &status, &clen);
    uint8_t p[12];
    put_le(p, (uint64_t)(int64_t)status, 4);
    put_le(p + 4, (uint64_t)clen, 8);
    frame(b, FQ_BEGIN, p, sizeof p);
    if (b->kept.retry_after[0] != '\0') {
        char h[64];
        int n = snprintf(h, sizeof h, "Retry-After%c%s", '\0', b->kept.retry_after);
        frame(b, FQ_HEADER, h, (size_t)n);
    }
    b->begun = true;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    bridge_t *b = ctx;
    size_t len = size * n;
    if (b->line_start && len > 5 && memcmp(data, "HTTP/", 5) == 0) {
        b->kept.retry_after[0] = '\0'; /* a new status line (after an interim 1xx) */
    }
    fota_curl_keep_header(&b->kept, data, len);
    b->line_start = len == 2 && data[0] == '\r' && data[1] == '\n';
    if (b->line_start) {
        long status = 0;
        curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200) {
            begin(b);
        }
    }
    return b->link_failed ? 0 : len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    bridge_t *b = ctx;
    size_t len = size * n;
    begin(b);
    for (size_t at = 0; at < len && !b->link_failed; at += FQ_MAX_DATA) {
        size_t piece = len - at < FQ_MAX_DATA ? len - at : FQ_MAX_DATA;
        frame(b, FQ_DATA, data + at, piece);
    }
    b->body_bytes += len;
    return b->link_failed ? 0 : len;
}

/* FQ_REQUEST's payload -> a request; false if it is malformed. */
static bool parse_request(char *p, size_t len, fota_http_request_t *req)
{
    char *end = p + len, *s = p;
    const char **fields[2] = {&req->method, &req->target};
    for (int i = 0; i < 2; i++) {
        char *z = memchr(s, '\0', (size_t)(end - s));
        if (z == NULL) {
            return false;
        }
        *fields[i] = s;
        s = z + 1;
    }
    if (s >= end || (size_t)(uint8_t)*s > FOTA_HTTP_MAX_HEADERS) {
        return false;
    }
    req->header_count = (uint8_t)*s++;
    for (size_t i = 0; i < req->header_count * 2 + 1; i++) {
        char *z = memchr(s, '\0', (size_t)(end - s));
        if (z == NULL) {
            return false;
        }
        if (i == req->header_count * 2) {
            req->content_type = *s != '\0' ? s : NULL;
        } else if (i % 2 == 0) {
            req->headers[i / 2].name = s;
        } else {
            req->headers[i / 2].value = s;
        }
        s = z + 1;
    }
    req->body = (const uint8_t *)s;
    req->body_len = (size_t)(end - s);
    return true;
}

static void perform(bridge_t *b, const opts_t *o, char *payload, size_t len)
{
    fota_http_request_t req = {0};
    int32_t err = FOTA_ERR_HTTP_CONNECT;
    b->begun = false;
    b->line_start = true;
    b->kept.retry_after[0] = '\0';
    if (parse_request(payload, len, &req)) {
        char url[1024];
        snprintf(url, sizeof url, "%s%s", o->server, req.target);
        struct curl_slist *headers = fota_curl_headers(&req);
        CURL *c = b->curl;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(req.method, "HEAD") == 0 ? 1L : 0L);
        if (strcmp(req.method, "POST") == 0) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)req.body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req.body_len);
        } else if (strcmp(req.method, "HEAD") != 0) {
            curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        }
        CURLcode code = curl_easy_perform(c);
        curl_slist_free_all(headers);
        err = (int32_t)fota_curl_error((int)code);
        if (code == CURLE_OK) {
            begin(b); /* a response without a body */
        }
        if (o->verbose) {
            long status = 0;
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
            fprintf(stderr, "%s: %s %s -> %ld (%s)\n", PROG, req.method, req.target, status,
                    fota_err_name((fota_err_t)err));
        }
    }
    uint8_t e[4];
    put_le(e, (uint64_t)(int64_t)err, 4);
    frame(b, FQ_END, e, sizeof e);
    b->requests++;
}

/* ---- results ------------------------------------------------------------------------------- */

static void print_result(bridge_t *b, char *text, size_t len)
{
    text[len] = '\0';
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        unsigned long v;
        if (sscanf(line, "outcome %lu", &v) == 1) {
            printf("result outcome %s\n", fota_err_name((fota_err_t)v));
        } else {
            printf("result %s\n", line);
        }
    }
    fflush(stdout);
    b->got_result = true;
}

/* Serve the target until QEMU closes the line. */
static void serve(bridge_t *b, const opts_t *o)
{
    static char payload[1u << 16];
    for (;;) {
        uint8_t head[FQ_FRAME_HEAD];
        if (!line_read(b, head, sizeof head)) {
            return;
        }
        uint32_t len = (uint32_t)head[1] | (uint32_t)head[2] << 8 | (uint32_t)head[3] << 16 |
                       (uint32_t)head[4] << 24;
        if (len >= sizeof payload || !line_read(b, payload, len)) {
            fprintf(stderr, "%s: bad frame from the target (type 0x%02x, %u bytes)\n", PROG,
                    head[0], len);
            b->link_failed = true;
            return;
        }
        if (head[0] == FQ_REQUEST) {
            perform(b, o, payload, len);
        } else if (head[0] == FQ_RESULT) {
            print_result(b, payload, len);
        } else {
            fprintf(stderr, "%s: unknown frame 0x%02x from the target\n", PROG, head[0]);
        }
        if (b->link_failed) {
            return;
        }
    }
}

/* ---- QEMU ---------------------------------------------------------------------------------- */

static pid_t start_qemu(const opts_t *o, const char *sock)
{
    char *argv[MAX_ARGS + 8];
    char chardev[200];
    int n = 0;
    while (o->qemu[n] != NULL && n < MAX_ARGS) {
        argv[n] = o->qemu[n];
        n++;
    }
    snprintf(chardev, sizeof chardev, "socket,id=fqlink,path=%s", sock);
    argv[n++] = "-chardev";
    argv[n++] = chardev;
    argv[n++] = "-serial";
    argv[n++] = "chardev:fqlink";
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "%s: %s: %s\n", PROG, argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Wait for QEMU to connect to the socket; -1 if it exited or the deadline passed. */
static int accept_qemu(int ls, pid_t pid, time_t deadline)
{
    while (time(NULL) < deadline) {
        struct pollfd p = {ls, POLLIN, 0};
        if (poll(&p, 1, 200) > 0) {
            return accept(ls, NULL, NULL);
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            return -1;
        }
    }
    return -1;
}

static int run(const opts_t *o)
{
    char dir[] = "/tmp/fota-qemu.XXXXXX", sock[64];
    if (mkdtemp(dir) == NULL) {
        return 4;
    }
    snprintf(sock, sizeof sock, "%s/serial", dir);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(ls, 1) != 0) {
        fprintf(stderr, "%s: %s: %s\n", PROG, sock, strerror(errno));
        return 4;
    }
    bridge_t b = {.fd = -1, .deadline = time(NULL) + (time_t)o->timeout_s};
    pid_t pid = start_qemu(o, sock);
    int rc = 4;
    if (pid > 0 && (b.fd = accept_qemu(ls, pid, b.deadline)) >= 0) {
        unlink(sock);
        b.curl = curl_easy_init();
        curl_easy_setopt(b.curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(b.curl, CURLOPT_HEADERDATA, &b);
        curl_easy_setopt(b.curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(b.curl, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(b.curl, CURLOPT_TIMEOUT_MS, (long)o->http_timeout_ms);
        curl_easy_setopt(b.curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
        curl_easy_setopt(b.curl, CURLOPT_NOSIGNAL, 1L);
        rc = send_hello(&b, o);
        if (rc == 0) {
            serve(&b, o);
        }
        curl_easy_cleanup(b.curl);
        close(b.fd);
    }
    close(ls);
    unlink(sock);
    rmdir(dir);
    if (pid <= 0) {
        return 4;
    }
    if (time(NULL) >= b.deadline) {
        kill(pid, SIGKILL);
        fprintf(stderr, "%s: no end within %lu s: QEMU killed\n", PROG, o->timeout_s);
        rc = 124;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("bridge requests %lu\nbridge body_bytes %llu\n", b.requests, b.body_bytes);
    if (rc != 0) {
        return rc;
    }
    if (!WIFEXITED(status)) {
        fprintf(stderr, "%s: QEMU ended by signal %d\n", PROG, WTERMSIG(status));
        return 4;
    }
    if (!b.got_result) {
        fprintf(stderr, "%s: no result from the target (QEMU exit %d)\n", PROG,
                WEXITSTATUS(status));
        return WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 3;
    }
    return b.link_failed ? 4 : WEXITSTATUS(status);
}

/* ---- the command line ------------------------------------------------------------------------ */

static bool number(const char *text, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 0);
    if (errno != 0 || *end != '\0' || end == text || v > max) {
        return false;
    }
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    opts_t o = {.timeout_s = 300, .http_timeout_ms = 60000};
    static const struct option long_opts[] = {
        {"server", 1, 0, 's'},        {"id", 1, 0, 'i'},
        {"key", 1, 0, 'k'},           {"master", 1, 0, 'M'},
        {"release-key", 1, 0, 'r'},   {"product", 1, 0, 'p'},
        {"version", 1, 0, 'v'},       {"mode", 1, 0, 'm'},
        {"chip", 1, 0, 'c'},          {"floor", 1, 0, 'f'},
        {"range-records", 1, 0, 'R'}, {"dump", 1, 0, 'd'},
        {"measure", 1, 0, 'S'},       {"icount-shift", 1, 0, 'I'},
        {"timeout", 1, 0, 't'},       {"http-timeout", 1, 0, 'h'},
        {"verbose", 0, 0, 'V'},       {0, 0, 0, 0},
    };
    struct {
        int c;
        unsigned long max;
        unsigned long *dst;
    } nums[] = {{'c', 0xFFFF, &o.chip},
                {'f', 0xFFFFFFFF, &o.floor},
                {'R', 0xFFFFFFFF, &o.range_records},
                {'S', 0xFFFFFFFF, &o.measure},
                {'I', 10, &o.icount_shift},
                {'t', 86400, &o.timeout_s},
                {'h', 3600000, &o.http_timeout_ms}};
    int c;
    while ((c = getopt_long(argc, argv, "+", long_opts, NULL)) != -1) {
        const char **strs[] = {&o.server,  &o.id,      &o.key_hex, &o.master, &o.release_key,
                               &o.product, &o.version, &o.mode,    &o.dump};
        const char *letters = "sikMrpvmd";
        const char *at = strchr(letters, c);
        bool done = false;
        if (at != NULL) {
            *strs[at - letters] = optarg;
            done = true;
        }
        for (size_t i = 0; i < sizeof nums / sizeof nums[0] && !done; i++) {
            if (nums[i].c == c) {
                if (!number(optarg, nums[i].max, nums[i].dst)) {
                    return usage("a number option wants a number in range");
                }
                done = true;
            }
        }
        if (c == 'V') {
            o.verbose = done = true;
        }
        if (!done) {
            return usage("unknown option");
        }
    }
    if (o.server == NULL || o.id == NULL || (o.key_hex == NULL) == (o.master == NULL) ||
        o.release_key == NULL || o.product == NULL || o.version == NULL || o.mode == NULL) {
        return usage("--server, --id, --key or --master, --release-key, --product, --version "
                     "and --mode are needed");
    }
    if (strcmp(o.mode, "seed") != 0 && strcmp(o.mode, "chain") != 0) {
        return usage("--mode is seed or chain");
    }
    if (optind >= argc) {
        return usage("no QEMU command after --");
    }
    o.qemu = argv + optind;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = run(&o);
    curl_global_cleanup();
    return rc;
}
