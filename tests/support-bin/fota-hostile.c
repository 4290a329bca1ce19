/*
 * fota-hostile.c - a hostile update server on loopback, for tests/faults/test_hostile_http.sh.
 *
 * Serves the device protocol in chain mode (check, manifest, blob with Range, report) from
 * bundles made by `fotactl release create`, one request per connection, each connection in its
 * own process (so a slow-loris answer does not hold up the next request), and misbehaves as the
 * mode file says at the time of the request, so one server plays every attack:
 *
 *   honest       the release of BUNDLE, by the book
 *   redirect     blob: 302 to itself, a redirect loop for a client that follows it
 *   loris        blob: honest headers, then the body at 1 byte per second
 *   loris-head   blob: the status line, then the headers at 1 byte per second
 *   endless      check: 200, no Content-Length, a JSON body that never ends
 *   endless-blob blob: 206, no Content-Length, the honest records and then junk without end
 *   lies-long    blob: Content-Length 1000 bytes more than it sends
 *   lies-short   blob: Content-Length 100 bytes less than it sends
 *   cut          blob: the right Content-Length, half of the body, then the connection closes
 *   bigheaders   blob: 206 with 200 KB of headers (1 KB lines)
 *   bigheader    blob: 206 with one 200 KB header line
 *   statusheaders blob: as bigheaders, with a line "HTTP/x: y" every 10 lines
 *   range200     blob: 200 with the whole blob where a Range was asked for
 *   416          blob: 416 for a valid Range
 *   badrange     blob: 206 whose Content-Range and body start one record later than asked
 *   corrupt      blob: the asked bytes with one bit flipped in the middle of the body
 *   storm        blob: 500, every time
 *   forged       manifest: one bit of the signed part flipped
 *   swap         manifest: the validly signed manifest of the release `other` instead
 *   foreign      blob: the records of the release `other`
 *   NAME         any NAME given as NAME=BUNDLE on the command line (product, downgrade,
 *                toobig, other): that release, served by the book; the device must refuse it
 *
 * It checks no credentials: it is the device that is under test. Each request is logged on
 * stderr as "MODE METHOD TARGET".
 *
 * usage: fota-hostile BUNDLE MODE_FILE PORT_FILE [NAME=BUNDLE ...]
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
#include "fota/host/bundle.h"
#include "fota/host/file_util.h"

#define MAX_RELEASES 8

typedef struct {
    const char *name;
    uint8_t *bundle;
    size_t len;
    fota_manifest_t m;
    char id[FOTA_RELEASE_ID_HEX + 1];
} release_t;

typedef struct {
    release_t rel[MAX_RELEASES]; /* [0]: the honest one */
    int count;
    const char *mode_file;
} srv_t;

/* What one request gets: the release it is answered from and how it is spoiled. */
typedef struct {
    const srv_t *s;
    int fd;
    char mode[32];
    const release_t *honest; /* offer and manifest */
    const release_t *data;   /* blob */
} ctx_t;

static const uint8_t *blob_of(const release_t *r)
{
    return r->bundle + FOTA_MANIFEST_LEN;
}

static size_t blob_len(const release_t *r)
{
    return r->len - FOTA_MANIFEST_LEN;
}

/* ---- writing ------------------------------------------------------------------------------- */

static int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void reply(int fd, int status, const char *extra, const void *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                     len, extra);
    if (send_all(fd, head, (size_t)n) == 0) {
        send_all(fd, body, len);
    }
}

/* One byte per second until done or the client has gone. */
static void trickle(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    for (size_t i = 0; i < len && send_all(fd, p + i, 1) == 0; i++) {
        sleep(1);
    }
}

/* ---- the device's requests ------------------------------------------------------------------ */

static void offer(const ctx_t *c, const char *target)
{
    const release_t *r = c->honest;
    const char *v = strstr(target, "version=");
    size_t vl = strlen(r->m.version);
    if (v != NULL && strncmp(v + 8, r->m.version, vl) == 0 && (v[8 + vl] == '&' || !v[8 + vl])) {
        reply(c->fd, 204, "", "", 0);
        return;
    }
    char sha[65], js[512];
    for (int i = 0; i < 32; i++) {
        sprintf(sha + 2 * i, "%02x", r->m.image_sha256[i]);
    }
    int n = snprintf(
        js, sizeof js,
        "{\"release\":\"%s\",\"version\":\"%s\",\"size\":%u,\"chunk_size\":%u,\"chunk_count\":%u,"
        "\"sha256\":\"%s\",\"security_version\":%u,"
        "\"manifest\":\"/api/inverter/fota/manifest?release=%s\","
        "\"blob\":\"/api/inverter/fota/blob/%s\"}",
        r->id, r->m.version, (unsigned)r->m.image_size, (unsigned)r->m.chunk_size,
        (unsigned)r->m.chunk_count, sha, (unsigned)r->m.security_version, r->id, r->id);
    reply(c->fd, 200, "Content-Type: application/json\r\n", js, (size_t)n);
}

static void endless_offer(int fd)
{
    static const char head[] = "HTTP/1.1 200 X\r\nContent-Type: application/json\r\n"
                               "Connection: close\r\n\r\n{\"release\":\"";
    static char junk[4096];
    memset(junk, 'a', sizeof junk);
    if (send_all(fd, head, sizeof head - 1) != 0) {
        return;
    }
    for (int i = 0; i < 65536 && send_all(fd, junk, sizeof junk) == 0; i++) {
    }
}

static void manifest(const ctx_t *c)
{
    uint8_t m[FOTA_MANIFEST_LEN];
    const release_t *r = strcmp(c->mode, "swap") == 0 ? c->data : c->honest;
    memcpy(m, r->bundle, sizeof m);
    if (strcmp(c->mode, "forged") == 0) {
        m[FOTA_MANIFEST_OFF_CHAIN_HEAD] ^= 0x01;
    }
    reply(c->fd, 200, "Content-Type: application/octet-stream\r\n", m, sizeof m);
}

/* ---- blob attacks --------------------------------------------------------------------------- */

static void endless_blob(int fd, const uint8_t *body, size_t len)
{
    static const char head[] = "HTTP/1.1 206 X\r\nConnection: close\r\n\r\n";
    static uint8_t junk[4096];
    memset(junk, 0x5A, sizeof junk);
    if (send_all(fd, head, sizeof head - 1) != 0 || send_all(fd, body, len) != 0) {
        return;
    }
    int i = 0;
    while (i < 65536 && send_all(fd, junk, sizeof junk) == 0) { /* 256 MB at most */
        i++;
    }
    /* What the client let through before it hung up (socket buffers included). */
    fprintf(stderr, "endless-blob: %s after %d KB of junk\n", i < 65536 ? "hung up" : "read it all",
            i * 4);
}

static void loris_head(int fd, const char *range_hdr)
{
    char head[256];
    int n = snprintf(head, sizeof head, "X-Slow: %s\r\nContent-Length: 0\r\n\r\n", range_hdr);
    if (send_all(fd, "HTTP/1.1 206 X\r\n", 16) == 0) {
        trickle(fd, head, (size_t)n);
    }
}

/* `lines` header lines of line_len bytes; every `status_every` lines (0: never) one that begins
 * like a status line ("HTTP/x: y"), which must not pass for the start of a new header block. */
static void big_headers(int fd, int lines, size_t line_len, int status_every)
{
    static char line[256 * 1024];
    if (send_all(fd, "HTTP/1.1 206 X\r\n", 16) != 0) {
        return;
    }
    memcpy(line, "X-Junk: ", 8);
    memset(line + 8, 'a', line_len - 10);
    memcpy(line + line_len - 2, "\r\n", 2);
    for (int i = 0; i < lines; i++) {
        if (send_all(fd, line, line_len) != 0) {
            return;
        }
        if (status_every > 0 && i % status_every == 0 && send_all(fd, "HTTP/x: y\r\n", 11) != 0) {
            return;
        }
    }
    send_all(fd, "Content-Length: 0\r\n\r\n", 21);
}

/* Content-Length `claimed`, then `sent` bytes of the body, then the connection closes. */
static void lying(int fd, const uint8_t *body, size_t claimed, size_t sent, const char *cr)
{
    char head[256];
    int k =
        snprintf(head, sizeof head, "HTTP/1.1 206 X\r\nContent-Length: %zu\r\n%s\r\n", claimed, cr);
    if (send_all(fd, head, (size_t)k) == 0) {
        send_all(fd, body, sent);
    }
}

/* The asked bytes rotated by one record: the body (and what Content-Range says) starts one
 * record later, and the skipped record comes last, so the length is right. */
static void shifted(const ctx_t *c, size_t a, size_t n)
{
    const release_t *r = c->data;
    size_t rec = r->m.chunk_size + 32u;
    if (rec > n) {
        rec = n;
    }
    uint8_t *body = malloc(n);
    if (body == NULL) {
        return;
    }
    memcpy(body, blob_of(r) + a + rec, n - rec);
    memcpy(body + n - rec, blob_of(r) + a, rec);
    char cr[128];
    snprintf(cr, sizeof cr, "Content-Range: bytes %zu-%zu/%zu\r\n", a + rec, a + rec + n - 1,
             blob_len(r));
    reply(c->fd, 206, cr, body, n);
    free(body);
}

/* The asked bytes, right length and Content-Range, one bit flipped half-way through. */
static void corrupted(const ctx_t *c, size_t a, size_t n, const char *cr)
{
    uint8_t *body = malloc(n);
    if (body == NULL) {
        return;
    }
    memcpy(body, blob_of(c->data) + a, n);
    body[n / 2] ^= 0x10u;
    reply(c->fd, 206, cr, body, n);
    free(body);
}

/* The blob request in mode `mode`: bytes [a, a + n) were asked for. */
static void spoil_blob(const ctx_t *c, size_t a, size_t n, const char *cr)
{
    const uint8_t *b = blob_of(c->data);
    const char *mode = c->mode;
    if (strcmp(mode, "redirect") == 0) {
        reply(c->fd, 302, "Location: /api/inverter/fota/blob/x\r\n", "", 0);
    } else if (strcmp(mode, "loris") == 0) {
        lying(c->fd, b + a, n, 0, cr);
        trickle(c->fd, b + a, n);
    } else if (strcmp(mode, "loris-head") == 0) {
        loris_head(c->fd, cr);
    } else if (strcmp(mode, "endless-blob") == 0) {
        endless_blob(c->fd, b + a, n);
    } else if (strcmp(mode, "lies-long") == 0) {
        lying(c->fd, b + a, n + 1000, n, cr);
    } else if (strcmp(mode, "lies-short") == 0) {
        lying(c->fd, b + a, n - 100, n, cr);
    } else if (strcmp(mode, "cut") == 0) {
        lying(c->fd, b + a, n, n / 2, cr);
    } else if (strcmp(mode, "bigheaders") == 0) {
        big_headers(c->fd, 200, 1024, 0);
    } else if (strcmp(mode, "statusheaders") == 0) {
        big_headers(c->fd, 200, 1024, 10);
    } else if (strcmp(mode, "bigheader") == 0) {
        big_headers(c->fd, 1, 200 * 1024, 0);
    } else if (strcmp(mode, "range200") == 0) {
        reply(c->fd, 200, "", b, blob_len(c->data));
    } else if (strcmp(mode, "416") == 0) {
        reply(c->fd, 416, "", "", 0);
    } else if (strcmp(mode, "badrange") == 0) {
        shifted(c, a, n);
    } else if (strcmp(mode, "corrupt") == 0) {
        corrupted(c, a, n, cr);
    } else if (strcmp(mode, "storm") == 0) {
        reply(c->fd, 500, "", "{}", 2);
    } else {
        reply(c->fd, 206, cr, b + a, n);
    }
}

static void blob(const ctx_t *c, const char *range)
{
    size_t blen = blob_len(c->data);
    unsigned long a = 0, z = blen - 1;
    if (range == NULL || sscanf(range, "bytes=%lu-%lu", &a, &z) < 1 || a >= blen) {
        reply(c->fd, 416, "", "", 0);
        return;
    }
    z = z >= blen ? blen - 1 : z;
    char cr[128];
    snprintf(cr, sizeof cr, "Content-Range: bytes %lu-%lu/%zu\r\n", a, z, blen);
    spoil_blob(c, a, z - a + 1, cr);
}

/* ---- one connection ------------------------------------------------------------------------- */

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

/* The release a mode name serves, or NULL. */
static const release_t *release_named(const srv_t *s, const char *name)
{
    for (int i = 1; i < s->count; i++) {
        if (strcmp(s->rel[i].name, name) == 0) {
            return &s->rel[i];
        }
    }
    return NULL;
}

static void choose(ctx_t *c)
{
    c->honest = &c->s->rel[0];
    c->data = &c->s->rel[0];
    snprintf(c->mode, sizeof c->mode, "honest");
    FILE *f = fopen(c->s->mode_file, "r");
    if (f != NULL) {
        if (fscanf(f, "%31s", c->mode) != 1) {
            snprintf(c->mode, sizeof c->mode, "honest");
        }
        fclose(f);
    }
    const release_t *named = release_named(c->s, c->mode);
    if (named != NULL) {
        c->honest = named; /* a release that is signed and served honestly, but must be refused */
        c->data = named;
    } else if (strcmp(c->mode, "foreign") == 0 || strcmp(c->mode, "swap") == 0) {
        const release_t *other = release_named(c->s, "other");
        c->data = other != NULL ? other : c->data;
    }
}

static void route(ctx_t *c, char *req, const char *target)
{
    if (strstr(target, "/api/inverter/fota/check?") == target) {
        if (strcmp(c->mode, "endless") == 0) {
            endless_offer(c->fd);
        } else {
            offer(c, target);
        }
    } else if (strstr(target, "/api/inverter/fota/manifest?") == target) {
        manifest(c);
    } else if (strstr(target, "/api/inverter/fota/blob/") == target) {
        blob(c, header_value(req, "\r\nRange: "));
    } else if (strcmp(target, "/api/inverter/fota/report") == 0) {
        reply(c->fd, 204, "", "", 0);
    } else {
        reply(c->fd, 404, "Content-Type: application/json\r\n", "{}", 2);
    }
}

static void serve(const srv_t *s, int fd)
{
    static char req[65536];
    size_t got = 0;
    req[0] = '\0';
    while (got < sizeof req - 1 && strstr(req, "\r\n\r\n") == NULL) {
        ssize_t n = recv(fd, req + got, sizeof req - 1 - got, 0);
        if (n <= 0) {
            return;
        }
        got += (size_t)n;
        req[got] = '\0';
    }
    char method[8], target[1024];
    if (sscanf(req, "%7s %1023s", method, target) != 2) {
        return;
    }
    drain_body(fd, req, got);
    ctx_t c = {s, fd, "", NULL, NULL};
    choose(&c);
    fprintf(stderr, "%s %s %s\n", c.mode, method, target);
    route(&c, req, target);
}

/* ---- start ---------------------------------------------------------------------------------- */

static int listen_any(const char *port_file)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        return -1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "%d\n", ntohs(a.sin_port));
    fclose(f);
    return rename(tmp, port_file) == 0 ? fd : -1; /* a reader never sees half a number */
}

static int load(release_t *r, const char *name, const char *path)
{
    r->name = name;
    if (fota_file_read_all(path, 64u << 20, &r->bundle, &r->len) != FOTA_OK ||
        r->len <= FOTA_MANIFEST_LEN ||
        fota_manifest_parse(r->bundle, FOTA_MANIFEST_LEN, &r->m) != FOTA_OK) {
        fprintf(stderr, "fota-hostile: %s: not a bundle\n", path);
        return -1;
    }
    fota_bundle_release_id(r->bundle, r->id);
    return 0;
}

static int load_all(srv_t *s, int argc, char **argv)
{
    if (argc < 4 || argc - 3 > MAX_RELEASES || load(&s->rel[0], "honest", argv[1]) != 0) {
        return -1;
    }
    s->count = 1;
    for (int i = 4; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            return -1;
        }
        *eq = '\0';
        if (load(&s->rel[s->count++], argv[i], eq + 1) != 0) {
            return -1;
        }
    }
    s->mode_file = argv[2];
    return 0;
}

int main(int argc, char **argv)
{
    static srv_t s;
    if (load_all(&s, argc, argv) != 0) {
        fprintf(stderr, "usage: fota-hostile BUNDLE MODE_FILE PORT_FILE [NAME=BUNDLE ...]\n");
        return 2;
    }
    setpgid(0, 0); /* one process group: the test ends the server and its children at once */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
    int lfd = listen_any(argv[3]);
    if (lfd < 0) {
        perror("fota-hostile");
        return 1;
    }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        if (fork() == 0) {
            close(lfd);
            serve(&s, fd);
            shutdown(fd, SHUT_WR);
            close(fd);
            _exit(0);
        }
        close(fd);
    }
}
