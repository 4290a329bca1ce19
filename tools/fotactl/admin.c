/*
 * admin.c - fotactl's client for fotad's admin API (docs/ADMIN_API.md): where the server is and
 * which token to send (options, then $FOTA_SERVER / $FOTA_TOKEN, then the default), which CA
 * verifies an https server ($FOTA_CA, else the system's store), one request over libcurl with
 * "Authorization: Bearer", the answer parsed with cJSON, and every failure as one line: the
 * server's {"error","code"} with the HTTP status, or why fotad could not be reached. Uploads show a
 * progress bar when stderr is a terminal.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fota/posix/transport_curl.h"

#include "fotactl.h"

#define MAX_ANSWER (64u * 1024u * 1024u) /* ~200000 devices in one device list */
#define MAX_TOKEN 512u
#define CONNECT_TIMEOUT_S 10L
#define STALL_TIMEOUT_S 60L /* no byte moved for this long: give up */

/* ---- server and token ---------------------------------------------------------------------- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int set_server(fotactl_conn_t *c, const char *url)
{
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
        fprintf(stderr, "%s: server '%s': not an http:// or https:// URL\n", FOTACTL, url);
        return FOTA_CLI_EXIT_USAGE;
    }
    c->server = strdup(url);
    if (c->server == NULL) {
        return fota_cli_fail(FOTACTL, NULL, FOTA_ERR_NO_MEM, NULL);
    }
    size_t n = strlen(c->server);
    while (n > 0 && c->server[n - 1] == '/') {
        c->server[--n] = '\0'; /* paths start with '/' */
    }
    return 0;
}

/* The token file's first line, as fotad reads its --admin-token-file. */
static int read_token_file(const char *path, char **out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = fota_cli_read_file(FOTACTL, path, &buf, &len);
    if (rc != 0) {
        return rc;
    }
    buf[strcspn((char *)buf, "\r\n")] = '\0';
    *out = (char *)buf;
    return 0;
}

/* A token goes into a header line: no control characters, a sane length. */
static bool token_ok(const char *t)
{
    size_t n = strlen(t);
    for (size_t i = 0; i < n; i++) {
        if (iscntrl((unsigned char)t[i])) {
            return false;
        }
    }
    return n > 0 && n <= MAX_TOKEN;
}

static int set_token(fotactl_conn_t *c, const fotactl_conn_opts_t *o)
{
    if (o->token != NULL && o->token_file != NULL) {
        fprintf(stderr, "%s: give --token or --token-file, not both\n", FOTACTL);
        return FOTA_CLI_EXIT_USAGE;
    }
    const char *t = o->token != NULL ? o->token : o->token_file ? NULL : env("FOTA_TOKEN");
    if (o->token_file != NULL) {
        int rc = read_token_file(o->token_file, &c->token);
        if (rc != 0) {
            return rc;
        }
    } else if (t != NULL && (c->token = strdup(t)) == NULL) {
        return fota_cli_fail(FOTACTL, NULL, FOTA_ERR_NO_MEM, NULL);
    }
    if (c->token == NULL) {
        fprintf(stderr, "%s: no admin token: give --token, --token-file or $FOTA_TOKEN\n", FOTACTL);
        return FOTA_CLI_EXIT_USAGE;
    }
    if (!token_ok(c->token)) {
        fprintf(stderr, "%s: admin token: empty, longer than %u or with control characters\n",
                FOTACTL, MAX_TOKEN);
        return FOTA_CLI_EXIT_USAGE;
    }
    return 0;
}

/* The CA file fotad's certificate is verified with: --ca, else $FOTA_CA, else none (the
 * system's store). It must be readable now, not at the first request. */
static int set_ca(fotactl_conn_t *c, const fotactl_conn_opts_t *o)
{
    const char *ca = o->ca != NULL ? o->ca : env("FOTA_CA");
    if (ca == NULL) {
        return 0;
    }
    if (access(ca, R_OK) != 0) {
        fprintf(stderr, "%s: CA file '%s': cannot read it\n", FOTACTL, ca);
        return FOTA_CLI_EXIT_USAGE;
    }
    c->ca = strdup(ca);
    return c->ca != NULL ? 0 : fota_cli_fail(FOTACTL, NULL, FOTA_ERR_NO_MEM, NULL);
}

int fotactl_conn_init(fotactl_conn_t *c, const fotactl_conn_opts_t *o)
{
    memset(c, 0, sizeof *c);
    c->json = o->json;
    const char *url = o->server ? o->server : env("FOTA_SERVER");
    int rc = set_server(c, url ? url : FOTACTL_DEFAULT_SERVER);
    if (rc == 0) {
        rc = set_token(c, o);
    }
    if (rc == 0) {
        rc = set_ca(c, o);
    }
    if (rc == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: libcurl cannot start\n", FOTACTL);
        rc = FOTA_CLI_EXIT_INVALID;
    }
    if (rc != 0) {
        free(c->server);
        free(c->token);
        free(c->ca);
        memset(c, 0, sizeof *c);
    }
    return rc;
}

void fotactl_conn_free(fotactl_conn_t *c)
{
    if (c->server != NULL) {
        curl_global_cleanup(); /* init succeeded when server is set */
    }
    free(c->server);
    if (c->token != NULL) {
        memset(c->token, 0, strlen(c->token));
    }
    free(c->token);
    free(c->ca);
    memset(c, 0, sizeof *c);
}

/* ---- one request --------------------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap; /* cap: bytes allocated, one more than len can reach */
    bool too_big;
    char error[CURL_ERROR_SIZE]; /* curl's own words when the request failed ("" if none) */
} answer_t;

/* Room for `more` bytes and a NUL, doubling (a list of a big fleet arrives in many pieces). */
static bool reserve(answer_t *a, size_t more)
{
    size_t need = a->len + more + 1;
    if (need <= a->cap) {
        return true;
    }
    size_t cap = a->cap ? a->cap : 4096;
    while (cap < need) {
        cap *= 2;
    }
    char *p = realloc(a->buf, cap);
    if (p == NULL) {
        return false;
    }
    a->buf = p;
    a->cap = cap;
    return true;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    answer_t *a = ctx;
    size_t len = size * n;
    if (len > MAX_ANSWER - a->len) {
        a->too_big = true;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    if (!reserve(a, len)) {
        return 0;
    }
    memcpy(a->buf + a->len, data, len);
    a->len += len;
    a->buf[a->len] = '\0';
    return len;
}

/* The bar is redrawn only when its percentage changes. */
typedef struct {
    int shown; /* last percentage drawn, -1 before the first */
} bar_t;

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    bar_t *bar = ctx;
    enum { WIDTH = 40 };
    (void)dltotal;
    (void)dlnow;
    int pct = ultotal > 0 ? (int)(ulnow * 100 / ultotal) : -1;
    if (pct >= 0 && pct != bar->shown) {
        int done = pct * WIDTH / 100;
        fprintf(stderr, "\rupload [%.*s%*s] %3d%% %lld/%lld bytes", done,
                "########################################", WIDTH - done, "", pct, (long long)ulnow,
                (long long)ultotal);
        bar->shown = pct;
    }
    return 0;
}

static struct curl_slist *make_headers(const fotactl_conn_t *c, const char *content_type)
{
    char line[MAX_TOKEN + 64];
    snprintf(line, sizeof line, "Authorization: Bearer %s", c->token);
    struct curl_slist *h = curl_slist_append(NULL, line);
    struct curl_slist *more = h;
    if (more != NULL && content_type != NULL) {
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        more = curl_slist_append(h, line);
    }
    if (more != NULL) {
        more = curl_slist_append(h, "Accept: application/json");
    }
    if (more != NULL) {
        more = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    }
    memset(line, 0, sizeof line);
    if (more == NULL) {
        curl_slist_free_all(h);
    }
    return more != NULL ? h : NULL;
}

static void set_body(CURL *curl, const fotactl_req_t *r)
{
    if (r->body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    }
}

static CURLcode perform(const fotactl_conn_t *c, CURL *curl, const char *url, struct curl_slist *h,
                        const fotactl_req_t *r, answer_t *a, long *status)
{
    bar_t bar = {-1};
    bool show_bar = r->progress && isatty(STDERR_FILENO);
    fota_curl_verify_with(curl, c->ca); /* readable: checked by fotactl_conn_init */
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, a->error);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r->method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "fotactl");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, STALL_TIMEOUT_S);
    set_body(curl, r);
    if (show_bar) {
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &bar);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    }
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    if (bar.shown >= 0) {
        fputc('\n', stderr);
    }
    return rc;
}

/* Printable start of a body that is not fotad's JSON (a proxy's error page, say). */
static void snippet(const answer_t *a, char out[81])
{
    size_t n = 0;
    for (size_t i = 0; i < a->len && n < 80; i++) {
        unsigned char ch = (unsigned char)a->buf[i];
        out[n++] = isprint(ch) ? (char)ch : ' ';
    }
    out[n] = '\0';
}

/* The server's JSON error as one line, else the status and what the body starts with. */
static int report_status(const char *what, long status, const answer_t *a)
{
    cJSON *js = a->buf ? cJSON_Parse(a->buf) : NULL;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(js, "code");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(js, "error");
    fflush(stdout);
    if (cJSON_IsString(code) && cJSON_IsString(err)) {
        fprintf(stderr, "%s: %s: status %ld %s: %s\n", FOTACTL, what, status, code->valuestring,
                err->valuestring);
    } else {
        char text[81];
        snippet(a, text);
        fprintf(stderr, "%s: %s: status %ld, not a fotad error%s%s\n", FOTACTL, what, status,
                text[0] ? ": " : "", text);
    }
    cJSON_Delete(js);
    return FOTA_CLI_EXIT_INVALID;
}

static int report_curl(const fotactl_conn_t *c, const char *what, CURLcode rc, const answer_t *a)
{
    fflush(stdout);
    if (a->too_big) {
        fprintf(stderr, "%s: %s: the answer from %s is larger than %u bytes\n", FOTACTL, what,
                c->server, MAX_ANSWER);
    } else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
               rc == CURLE_OPERATION_TIMEDOUT) {
        fprintf(stderr, "%s: %s: cannot reach fotad at %s: %s\n", FOTACTL, what, c->server,
                curl_easy_strerror(rc));
    } else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
               rc == CURLE_SSL_CACERT_BADFILE) {
        fprintf(stderr, "%s: %s: TLS with %s failed (%s): %s\n", FOTACTL, what, c->server,
                c->ca != NULL ? "is --ca the CA that signed fotad's certificate?"
                              : "fotad's certificate is not signed by a CA of the system's store; "
                                "--ca names another",
                a->error[0] != '\0' ? a->error : curl_easy_strerror(rc));
    } else {
        fprintf(stderr, "%s: %s: request to %s failed: %s\n", FOTACTL, what, c->server,
                a->error[0] != '\0' ? a->error : curl_easy_strerror(rc));
    }
    return FOTA_CLI_EXIT_INVALID;
}

static int finish(const fotactl_conn_t *c, const fotactl_req_t *r, CURLcode rc, long status,
                  const answer_t *a, cJSON **out)
{
    if (rc != CURLE_OK) {
        return report_curl(c, r->what, rc, a);
    }
    if (status < 200 || status > 299) {
        return report_status(r->what, status, a);
    }
    if (a->len > 0 && (*out = cJSON_Parse(a->buf)) == NULL) {
        fprintf(stderr, "%s: %s: status %ld but the answer is not JSON\n", FOTACTL, r->what,
                status);
        return FOTA_CLI_EXIT_INVALID;
    }
    return 0;
}

int fotactl_request(const fotactl_conn_t *c, const fotactl_req_t *r, long *status, cJSON **out)
{
    *out = NULL;
    *status = 0;
    answer_t a = {NULL, 0, 0, false, ""};
    size_t n = strlen(c->server) + strlen(r->path) + 1;
    char *url = malloc(n);
    struct curl_slist *h = make_headers(c, r->content_type);
    CURL *curl = curl_easy_init();
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (url != NULL && h != NULL && curl != NULL) {
        snprintf(url, n, "%s%s", c->server, r->path);
        rc = perform(c, curl, url, h, r, &a, status);
    }
    int ret = finish(c, r, rc, *status, &a, out);
    curl_easy_cleanup(curl);
    curl_slist_free_all(h);
    free(url);
    free(a.buf);
    return ret;
}
