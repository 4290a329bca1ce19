/*
 * fota-hostile.c - a hostile update server on loopback, for tests/faults/test_hostile_http.sh.
 *
 * Serves the device protocol (check, manifest, blob with Range, report) from a bundle made by
 * `fotactl release create`, one request per connection, and misbehaves on the blob requests as
 * the mode file says at the time of the request (so one process plays every attack):
 *   honest | redirect | loris | endless | lies | bigheaders | range200 | badrange | 416 | storm
 * It checks no credentials: it is the device that is under test.
 *
 * usage: fota-hostile BUNDLE MODE_FILE PORT_FILE
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fota/manifest.h"
#include "fota/posix/bundle.h"
#include "fota/posix/file_util.h"

typedef struct {
    uint8_t *bundle;
    size_t len;
    fota_manifest_t m;
    char release[FOTA_RELEASE_ID_HEX + 1];
    const char *mode_file;
} srv_t;

static void send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) {
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

static void reply(int fd, int status, const char *extra, const void *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                     len, extra);
    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

static void mode_of(const srv_t *s, char *out, size_t cap)
{
    snprintf(out, cap, "honest");
    FILE *f = fopen(s->mode_file, "r");
    if (f != NULL) {
        if (fscanf(f, "%31s", out) != 1) {
            snprintf(out, cap, "honest");
        }
        fclose(f);
    }
}

static void offer(const srv_t *s, int fd, const char *target)
{
    const char *v = strstr(target, "version=");
    size_t vl = strlen(s->m.version);
    if (v != NULL && strncmp(v + 8, s->m.version, vl) == 0 && (v[8 + vl] == '&' || !v[8 + vl])) {
        reply(fd, 204, "", "", 0);
        return;
    }
    char sha[65], js[512];
    for (int i = 0; i < 32; i++) {
        sprintf(sha + 2 * i, "%02x", s->m.image_sha256[i]);
    }
    int n =
        snprintf(js, sizeof js,
                 "{\"release\":\"%s\",\"version\":\"%s\",\"size\":%u,\"chunk_size\":%u,"
                 "\"chunk_count\":%u,\"sha256\":\"%s\",\"blob\":\"/api/inverter/fota/blob/%s\"}",
                 s->release, s->m.version, (unsigned)s->m.image_size, (unsigned)s->m.chunk_size,
                 (unsigned)s->m.chunk_count, sha, s->release);
    reply(fd, 200, "Content-Type: application/json\r\n", js, (size_t)n);
}

static void endless(int fd, const uint8_t *body, size_t len)
{
    static const char head[] = "HTTP/1.1 206 X\r\nConnection: close\r\n\r\n";
    static uint8_t junk[4096];
    memset(junk, 0x5A, sizeof junk);
    send_all(fd, head, sizeof head - 1);
    send_all(fd, body, len);
    for (int i = 0; i < 65536; i++) { /* 256 MB at most */
        if (send(fd, junk, sizeof junk, MSG_NOSIGNAL) <= 0) {
            return;
        }
    }
}

static void loris(int fd, const uint8_t *body, size_t len, const char *range_hdr)
{
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 206 X\r\nContent-Length: %zu\r\n%s\r\n", len,
                     range_hdr);
    send_all(fd, head, (size_t)n);
    for (size_t i = 0; i < len; i++) {
        send_all(fd, body + i, 1);
        sleep(1);
    }
}

static void big_headers(int fd)
{
    static char head[300000];
    int n = snprintf(head, sizeof head, "HTTP/1.1 206 X\r\nX-Junk: ");
    memset(head + n, 'a', 250000);
    memcpy(head + n + 250000, "\r\nContent-Length: 0\r\n\r\n", 23);
    send_all(fd, head, (size_t)n + 250000 + 23);
}

static void blob(const srv_t *s, int fd, const char *range)
{
    const uint8_t *b = s->bundle + FOTA_MANIFEST_LEN;
    size_t blen = s->len - FOTA_MANIFEST_LEN;
    unsigned long a = 0, z = blen - 1;
    if (range == NULL || sscanf(range, "bytes=%lu-%lu", &a, &z) < 1 || a >= blen) {
        reply(fd, 416, "", "", 0);
        return;
    }
    z = z >= blen ? blen - 1 : z;
    char mode[32], cr[128], bad[128];
    mode_of(s, mode, sizeof mode);
    snprintf(cr, sizeof cr, "Content-Range: bytes %lu-%lu/%zu\r\n", a, z, blen);
    snprintf(bad, sizeof bad, "Content-Range: bytes 0-%lu/%zu\r\n", z - a, blen);
    size_t n = z - a + 1;
    if (strcmp(mode, "redirect") == 0) {
        reply(fd, 302, "Location: /api/inverter/fota/blob/x\r\n", "", 0);
    } else if (strcmp(mode, "loris") == 0) {
        loris(fd, b + a, n, cr);
    } else if (strcmp(mode, "endless") == 0) {
        endless(fd, b + a, n);
    } else if (strcmp(mode, "lies") == 0) {
        char head[256];
        int k = snprintf(head, sizeof head, "HTTP/1.1 206 X\r\nContent-Length: %zu\r\n%s\r\n",
                         n + 1000, cr);
        send_all(fd, head, (size_t)k);
        send_all(fd, b + a, n);
    } else if (strcmp(mode, "bigheaders") == 0) {
        big_headers(fd);
    } else if (strcmp(mode, "range200") == 0) {
        reply(fd, 200, "", b, blen);
    } else if (strcmp(mode, "badrange") == 0) {
        reply(fd, 206, bad, b, n); /* bytes from 0, whatever was asked */
    } else if (strcmp(mode, "416") == 0) {
        reply(fd, 416, "", "", 0);
    } else if (strcmp(mode, "storm") == 0) {
        reply(fd, 500, "", "{}", 2);
    } else {
        reply(fd, 206, cr, b + a, n);
    }
}

static char *header_value(char *req, const char *name)
{
    char *p = strcasestr(req, name);
    return p != NULL ? p + strlen(name) : NULL;
}

/* Read what is left of a request body, so that closing does not reset the connection. */
static void drain_body(int fd, const char *req, size_t got)
{
    const char *cl = strcasestr(req, "\r\nContent-Length: ");
    const char *end = strstr(req, "\r\n\r\n");
    if (cl == NULL || end == NULL) {
        return;
    }
    size_t want = strtoul(cl + 18, NULL, 10);
    size_t have = got - (size_t)(end + 4 - req);
    char buf[4096];
    while (have < want) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            return;
        }
        have += (size_t)n;
    }
}

static void serve(const srv_t *s, int fd)
{
    static char req[65536];
    size_t got = 0;
    while (got < sizeof req - 1 && strstr(req, "\r\n\r\n") == NULL) {
        ssize_t n = recv(fd, req + got, sizeof req - 1 - got, 0);
        if (n <= 0) {
            return;
        }
        got += (size_t)n;
        req[got] = 0;
    }
    char method[8], target[1024];
    if (sscanf(req, "%7s %1023s", method, target) != 2) {
        return;
    }
    drain_body(fd, req, got);
    fprintf(stderr, "%s %s\n", method, target);
    char *range = header_value(req, "\r\nRange: ");
    if (strstr(target, "/check?") != NULL) {
        offer(s, fd, target);
    } else if (strstr(target, "/manifest?") != NULL) {
        reply(fd, 200, "", s->bundle, FOTA_MANIFEST_LEN);
    } else if (strstr(target, "/blob/") != NULL) {
        blob(s, fd, range);
    } else if (strstr(target, "/report") != NULL) {
        reply(fd, 204, "", "", 0);
    } else {
        reply(fd, 404, "", "{}", 2);
    }
}

static int listen_any(const char *port_file)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        return -1;
    }
    FILE *f = fopen(port_file, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "%d\n", ntohs(a.sin_port));
    fclose(f);
    return fd;
}

int main(int argc, char **argv)
{
    srv_t s = {0};
    if (argc != 4 || fota_file_read_all(argv[1], 64u << 20, &s.bundle, &s.len) != FOTA_OK ||
        s.len <= FOTA_MANIFEST_LEN ||
        fota_manifest_parse(s.bundle, FOTA_MANIFEST_LEN, &s.m) != FOTA_OK) {
        fprintf(stderr, "usage: fota-hostile BUNDLE MODE_FILE PORT_FILE\n");
        return 2;
    }
    fota_bundle_release_id(s.bundle, s.release);
    s.mode_file = argv[2];
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_any(argv[3]);
    if (lfd < 0) {
        perror("fota-hostile");
        return 1;
    }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd >= 0) {
            serve(&s, fd);
            shutdown(fd, SHUT_WR);
            close(fd);
        }
    }
}
