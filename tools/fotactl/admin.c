/*
 * admin.c - fotactl's client for fotad's admin API (docs/ADMIN_API.md): libcurl, a bearer
 * token, JSON in and out with cJSON, one-line errors that carry the server's code, and a
 * progress bar on uploads when stderr is a terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fota/posix/file_util.h"

#include "fotactl.h"

#define MAX_ANSWER (8u * 1024u * 1024u)

int fotactl_conn_init(fotactl_conn_t *c, const char *server, const char *token,
                      const char *token_file, bool json)
{
    memset(c, 0, sizeof *c);
    c->json = json;
    c->server = server                  ? server
                : getenv("FOTA_SERVER") ? getenv("FOTA_SERVER")
                                        : FOTACTL_DEFAULT_SERVER;
    if (token_file != NULL) {
        uint8_t *buf;
        size_t len;
        int rc = fota_cli_read_file(FOTACTL, token_file, &buf, &len);
        if (rc != 0) {
            return rc;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
            buf[--len] = '\0'; /* a token file ends with a newline that is not the token's */
        }
        c->token = (char *)buf;
    } else {
        const char *t = token ? token : getenv("FOTA_TOKEN");
        c->token = t ? strdup(t) : NULL;
    }
    if (c->token == NULL || c->token[0] == '\0') {
        fprintf(stderr, "%s: no admin token: give --token, --token-file or FOTA_TOKEN\n", FOTACTL);
        return FOTA_CLI_EXIT_USAGE;
    }
    return 0;
}

void fotactl_conn_free(fotactl_conn_t *c)
{
    free(c->token);
    c->token = NULL;
}

typedef struct {
    char *buf;
    size_t len;
    bool too_big;
} answer_t;

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    answer_t *a = ctx;
    size_t len = size * n;
    if (a->len + len > MAX_ANSWER) {
        a->too_big = true;
        return 0;
    }
    char *p = realloc(a->buf, a->len + len + 1);
    if (p == NULL) {
        return 0;
    }
    memcpy(p + a->len, data, len);
    a->buf = p;
    a->len += len;
    a->buf[a->len] = '\0';
    return len;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)ctx;
    (void)dltotal;
    (void)dlnow;
    if (ultotal > 0) {
        int width = 40, done = (int)(ulnow * width / ultotal);
        fprintf(stderr, "\rupload [%.*s%*s] %3d%% %lld/%lld bytes", done,
                "########################################", width - done, "",
                (int)(ulnow * 100 / ultotal), (long long)ulnow, (long long)ultotal);
    }
    return 0;
}

static struct curl_slist *headers(const fotactl_conn_t *c, const char *content_type)
{
    char line[1024];
    snprintf(line, sizeof line, "Authorization: Bearer %s", c->token);
    struct curl_slist *h = curl_slist_append(NULL, line);
    if (h != NULL && content_type != NULL) {
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        h = curl_slist_append(h, line);
    }
    return h != NULL ? curl_slist_append(h, "Expect:") : NULL;
}

/* The server's JSON error as one line, else the status alone. */
static int report_error(const char *what, long status, const answer_t *a)
{
    cJSON *js = a->buf ? cJSON_Parse(a->buf) : NULL;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(js, "code");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(js, "error");
    if (cJSON_IsString(code) && cJSON_IsString(err)) {
        fprintf(stderr, "%s: %s: status %ld %s: %s\n", FOTACTL, what, status, code->valuestring,
                err->valuestring);
    } else {
        fprintf(stderr, "%s: %s: status %ld\n", FOTACTL, what, status);
    }
    cJSON_Delete(js);
    return FOTA_CLI_EXIT_INVALID;
}

static CURLcode perform(const fotactl_conn_t *c, const char *method, const char *path,
                        struct curl_slist *h, const void *body, size_t body_len, bool progress,
                        answer_t *a, long *status)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        return CURLE_FAILED_INIT;
    }
    size_t n = strlen(c->server) + strlen(path) + 1;
    char *url = malloc(n);
    if (url == NULL) {
        curl_easy_cleanup(curl);
        return CURLE_OUT_OF_MEMORY;
    }
    snprintf(url, n, "%s%s", c->server, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    if (progress && isatty(STDERR_FILENO)) {
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    }
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    if (progress && isatty(STDERR_FILENO)) {
        fputc('\n', stderr);
    }
    free(url);
    curl_easy_cleanup(curl);
    return rc;
}

int fotactl_request(const fotactl_conn_t *c, const char *method, const char *path,
                    const char *content_type, const void *body, size_t body_len, bool progress,
                    const char *what, long *status, cJSON **out)
{
    *out = NULL;
    *status = 0;
    answer_t a = {NULL, 0, false};
    struct curl_slist *h = headers(c, content_type);
    CURLcode rc =
        h ? perform(c, method, path, h, body, body_len, progress, &a, status) : CURLE_OUT_OF_MEMORY;
    curl_slist_free_all(h);
    int ret = 0;
    if (rc != CURLE_OK) {
        fprintf(stderr, "%s: %s: %s: %s\n", FOTACTL, what, c->server,
                a.too_big ? "answer too large" : curl_easy_strerror(rc));
        ret = FOTA_CLI_EXIT_INVALID;
    } else if (*status < 200 || *status > 299) {
        ret = report_error(what, *status, &a);
    } else if (a.len > 0 && (*out = cJSON_Parse(a.buf)) == NULL) {
        fprintf(stderr, "%s: %s: the server's answer is not JSON\n", FOTACTL, what);
        ret = FOTA_CLI_EXIT_INVALID;
    }
    free(a.buf);
    return ret;
}
