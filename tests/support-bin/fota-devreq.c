/*
 * fota-devreq.c - test support: send ONE authenticated device request to a fotad and print the
 * answer, so shell tests can drive the device API (docs/PROTOCOL.md) without the agent. The MAC
 * is computed with the agent's own code (fota/auth.h). Faults on demand: a corrupted MAC, a
 * chosen (reused) nonce, a skewed clock, a key derived for another device, a missing header.
 *
 *   fota-devreq --url http://127.0.0.1:PORT --device ID (--master FILE | --key HEX)
 *               --target /api/inverter/fota/check?version=1&hw=x [options]
 *
 * Output on stdout: the status code on the first line; then "Name: value" for each --show
 * header present in the response; then the body (or nothing with --out FILE, which gets the raw
 * body). --check-chunk IMAGE checks a seed-mode chunk response: chunk_number, base64 data equal
 * to the image's bytes, and the MAC with the device key; it prints "chunk N ok" or the reason.
 * --header 'Name: value' adds a request header (If-Range, If-None-Match, ...; up to 8);
 * --dump-headers FILE writes the response's status line and header lines as received; with
 * --method HEAD no body is read (the answer's Content-Length announces the GET's).
 *
 * Exit: 0 request done (any status), 1 --check-chunk failed, 2 usage, 3 transport failure.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <mbedtls/base64.h>
#include <mbedtls/md.h>

#include "fota/auth.h"
#include "fota/host/file_util.h"

#define MAX_SHOW 8
#define MAX_EXTRA 8
#define MAX_FILE (64u * 1024u * 1024u)

typedef struct {
    const char *url;
    const char *device;
    const char *key_device; /* derive the key for this id instead (wrong key) */
    const char *master_file;
    const char *key_hex;
    const char *method;
    const char *target;
    const char *body_file;
    const char *body_text;
    const char *content_type;
    const char *range;
    const char *nonce;
    const char *omit;
    const char *out;
    const char *check_image;
    const char *dump_headers;
    const char *show[MAX_SHOW];
    int n_show;
    const char *extra[MAX_EXTRA]; /* --header lines */
    int n_extra;
    long skew;
    unsigned chunk_size;
    bool bad_mac;
} args_t;

typedef struct {
    char *p;
    size_t len;
} buf_t;

static void usage(void)
{
    fputs("usage: fota-devreq --url URL --device ID (--master FILE | --key HEX) --target T\n"
          "  [--method GET|HEAD|POST] [--body TEXT | --body-file F] [--content-type T]\n"
          "  [--range SPEC] [--nonce HEX] [--skew SECONDS] [--bad-mac] [--key-device ID]\n"
          "  [--omit HEADER] [--header 'NAME: VALUE']... [--show HEADER]... [--out FILE]\n"
          "  [--dump-headers FILE]\n"
          "  [--check-chunk IMAGE [--chunk-size N]]\n",
          stderr);
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    buf_t *b = ctx;
    char *p = realloc(b->p, b->len + size * n + 1);
    if (p == NULL) {
        return 0;
    }
    memcpy(p + b->len, data, size * n);
    b->p = p;
    b->len += size * n;
    b->p[b->len] = '\0';
    return size * n;
}

/* Options with a string value, in the order of the getopt table below (val = index). */
static const char **string_opt(args_t *a, int i)
{
    const char **dst[] = {&a->url,          &a->device, &a->master_file, &a->key_hex,
                          &a->method,       &a->target, &a->body_text,   &a->body_file,
                          &a->content_type, &a->range,  &a->nonce,       &a->key_device,
                          &a->omit,         &a->out,    &a->check_image, &a->dump_headers};
    return i >= 0 && i < (int)(sizeof dst / sizeof dst[0]) ? dst[i] : NULL;
}

enum { OPT_SKEW = 100, OPT_BAD_MAC, OPT_SHOW, OPT_CHUNK_SIZE, OPT_HEADER };

static bool other_opt(args_t *a, int c, const char *arg)
{
    if (c == OPT_SKEW) {
        a->skew = strtol(arg, NULL, 10);
    } else if (c == OPT_BAD_MAC) {
        a->bad_mac = true;
    } else if (c == OPT_SHOW && a->n_show < MAX_SHOW) {
        a->show[a->n_show++] = arg;
    } else if (c == OPT_HEADER && a->n_extra < MAX_EXTRA && strchr(arg, ':') != NULL) {
        a->extra[a->n_extra++] = arg;
    } else if (c == OPT_CHUNK_SIZE) {
        a->chunk_size = (unsigned)strtoul(arg, NULL, 10);
    } else {
        return false;
    }
    return true;
}

static bool args_complete(const args_t *a)
{
    bool one_key = (a->master_file != NULL) != (a->key_hex != NULL);
    return a->url != NULL && a->device != NULL && a->target != NULL && one_key && a->chunk_size > 0;
}

/* Long options: a string option's val is its index in string_opt. */
static const struct option opts[] = {
    {"url", 1, 0, 0},
    {"device", 1, 0, 1},
    {"master", 1, 0, 2},
    {"key", 1, 0, 3},
    {"method", 1, 0, 4},
    {"target", 1, 0, 5},
    {"body", 1, 0, 6},
    {"body-file", 1, 0, 7},
    {"content-type", 1, 0, 8},
    {"range", 1, 0, 9},
    {"nonce", 1, 0, 10},
    {"key-device", 1, 0, 11},
    {"omit", 1, 0, 12},
    {"out", 1, 0, 13},
    {"check-chunk", 1, 0, 14},
    {"dump-headers", 1, 0, 15},
    {"header", 1, 0, OPT_HEADER},
    {"skew", 1, 0, OPT_SKEW},
    {"bad-mac", 0, 0, OPT_BAD_MAC},
    {"show", 1, 0, OPT_SHOW},
    {"chunk-size", 1, 0, OPT_CHUNK_SIZE},
    {0, 0, 0, 0},
};

static bool parse_args(int argc, char **argv, args_t *a)
{
    memset(a, 0, sizeof *a);
    a->method = "GET";
    a->chunk_size = 1024;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char **dst = string_opt(a, c);
        if (dst != NULL) {
            *dst = optarg;
        } else if (!other_opt(a, c, optarg)) {
            return false;
        }
    }
    return optind == argc && args_complete(a);
}

static bool unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return false;
        }
        out[i] = (uint8_t)v;
    }
    return true;
}

static bool device_key(const args_t *a, uint8_t key[32])
{
    if (a->key_hex != NULL) {
        return unhex(a->key_hex, key, 32);
    }
    uint8_t *master;
    size_t len;
    if (fota_file_read_all(a->master_file, 4096, &master, &len) != FOTA_OK) {
        fprintf(stderr, "fota-devreq: cannot read %s\n", a->master_file);
        return false;
    }
    const char *id = a->key_device != NULL ? a->key_device : a->device;
    fota_err_t err = fota_auth_device_key(master, len, id, key);
    free(master);
    return err == FOTA_OK;
}

static bool load_body(const args_t *a, buf_t *body)
{
    memset(body, 0, sizeof *body);
    if (a->body_file != NULL) {
        uint8_t *p;
        if (fota_file_read_all(a->body_file, MAX_FILE, &p, &body->len) != FOTA_OK) {
            fprintf(stderr, "fota-devreq: cannot read %s\n", a->body_file);
            return false;
        }
        body->p = (char *)p;
    } else if (a->body_text != NULL) {
        body->p = strdup(a->body_text);
        body->len = strlen(a->body_text);
    }
    return true;
}

typedef struct {
    const args_t *a;
    char lines[MAX_SHOW][256];
    FILE *dump; /* --dump-headers, or NULL */
} shown_t;

/* Keep the response headers asked for with --show. */
static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    shown_t *s = ctx;
    size_t len = size * n;
    if (s->dump != NULL) {
        fwrite(data, 1, len, s->dump);
    }
    for (int i = 0; i < s->a->n_show; i++) {
        size_t name_len = strlen(s->a->show[i]);
        if (len > name_len + 1 && strncasecmp(data, s->a->show[i], name_len) == 0 &&
            data[name_len] == ':') {
            size_t copy = len < sizeof s->lines[i] - 1 ? len : sizeof s->lines[i] - 1;
            memcpy(s->lines[i], data, copy);
            while (copy > 0 && (s->lines[i][copy - 1] == '\n' || s->lines[i][copy - 1] == '\r')) {
                copy--;
            }
            s->lines[i][copy] = '\0';
        }
    }
    return len;
}

static struct curl_slist *add(struct curl_slist *h, const args_t *a, const char *name,
                              const char *value)
{
    if (a->omit != NULL && strcasecmp(a->omit, name) == 0) {
        return h;
    }
    char line[512];
    snprintf(line, sizeof line, "%s: %s", name, value);
    return curl_slist_append(h, line);
}

/* The four authentication headers (and Range, Content-Type) for the request. */
static struct curl_slist *auth_headers(const args_t *a, const uint8_t key[32], const buf_t *body)
{
    char time_text[24];
    char nonce[17];
    char mac[FOTA_AUTH_HEX_LEN + 1];
    uint8_t auth_key[32];
    snprintf(time_text, sizeof time_text, "%lld", (long long)time(NULL) + a->skew);
    if (a->nonce != NULL) {
        snprintf(nonce, sizeof nonce, "%s", a->nonce);
    } else {
        uint8_t r[8];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
            return NULL;
        }
        for (int i = 0; i < 8; i++) {
            snprintf(nonce + 2 * i, 3, "%02x", r[i]);
        }
    }
    fota_auth_msg_t m = {a->method, a->target, time_text, nonce, (const uint8_t *)body->p,
                         body->len};
    if (fota_auth_key(key, auth_key) != FOTA_OK ||
        fota_auth_mac(NULL, auth_key, &m, mac) != FOTA_OK) {
        return NULL;
    }
    if (a->bad_mac) {
        mac[0] = mac[0] == '0' ? '1' : '0';
    }
    struct curl_slist *h = add(NULL, a, "X-Device-Id", a->device);
    h = add(h, a, "X-Fota-Time", time_text);
    h = add(h, a, "X-Fota-Nonce", nonce);
    h = add(h, a, "X-Fota-Auth", mac);
    h = add(h, a, "Expect", ""); /* no 100-continue round trip */
    if (a->range != NULL) {
        h = add(h, a, "Range", a->range);
    }
    if (a->content_type != NULL) {
        h = add(h, a, "Content-Type", a->content_type);
    }
    for (int i = 0; i < a->n_extra; i++) {
        h = curl_slist_append(h, a->extra[i]);
    }
    return h;
}

/* Check a seed-mode chunk response against the image and the device key. */
static int check_chunk(const args_t *a, const uint8_t key[32], const buf_t *resp)
{
    uint8_t *image = NULL;
    size_t image_len = 0;
    cJSON *json = cJSON_Parse(resp->p != NULL ? resp->p : "");
    const cJSON *num = cJSON_GetObjectItemCaseSensitive(json, "chunk_number");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(json, "data");
    const cJSON *mac = cJSON_GetObjectItemCaseSensitive(json, "mac");
    const char *why = NULL;
    uint8_t *chunk = NULL;
    size_t len = 0;
    uint8_t want_mac[32];
    uint8_t got_mac[32];
    if (!cJSON_IsNumber(num) || !cJSON_IsString(data) || !cJSON_IsString(mac)) {
        why = "JSON shape";
    } else if (fota_file_read_all(a->check_image, MAX_FILE, &image, &image_len) != FOTA_OK) {
        why = "cannot read the image";
    } else {
        size_t b64 = strlen(data->valuestring);
        chunk = malloc(b64 + 1);
        size_t off = (size_t)num->valuedouble * a->chunk_size;
        size_t expect = off < image_len ? image_len - off : 0;
        expect = expect > a->chunk_size ? a->chunk_size : expect;
        if (chunk == NULL || mbedtls_base64_decode(chunk, b64 + 1, &len,
                                                   (const uint8_t *)data->valuestring, b64) != 0) {
            why = "base64";
        } else if (len != expect || memcmp(chunk, image + off, len) != 0) {
            why = "data differs from the image";
        } else if (!unhex(mac->valuestring, got_mac, 32) ||
                   mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32, chunk,
                                   len, want_mac) != 0 ||
                   memcmp(got_mac, want_mac, 32) != 0) {
            why = "MAC";
        }
    }
    if (why == NULL) {
        printf("chunk %u ok (%zu bytes)\n", (unsigned)num->valuedouble, len);
    } else {
        printf("chunk BAD: %s\n", why);
    }
    free(chunk);
    free(image);
    cJSON_Delete(json);
    return why == NULL ? 0 : 1;
}

static int write_out(const args_t *a, const buf_t *resp)
{
    if (a->out != NULL) {
        return fota_file_write_all(a->out, resp->p != NULL ? resp->p : "", resp->len, 0644) ==
                       FOTA_OK
                   ? 0
                   : 3;
    }
    if (resp->len > 0) {
        fwrite(resp->p, 1, resp->len, stdout);
        if (resp->p[resp->len - 1] != '\n') {
            putchar('\n');
        }
    }
    return 0;
}

/* The method: a POST sends the body; a HEAD reads none (curl would wait for the GET's). */
static void set_method(CURL *curl, const args_t *a, const buf_t *body)
{
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, a->method);
    if (strcmp(a->method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->p != NULL ? body->p : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    } else if (strcmp(a->method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    }
}

static int perform(const args_t *a, const uint8_t key[32], const buf_t *body)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", a->url, a->target);
    struct curl_slist *headers = auth_headers(a, key, body);
    CURL *curl = curl_easy_init();
    buf_t resp = {NULL, 0};
    shown_t shown;
    memset(&shown, 0, sizeof shown);
    shown.a = a;
    if (a->dump_headers != NULL && (shown.dump = fopen(a->dump_headers, "wb")) == NULL) {
        fprintf(stderr, "fota-devreq: cannot write %s\n", a->dump_headers);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    set_method(curl, a, body);
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &shown);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    CURLcode rc =
        a->dump_headers != NULL && shown.dump == NULL ? CURLE_WRITE_ERROR : curl_easy_perform(curl);
    if (shown.dump != NULL && fclose(shown.dump) != 0) {
        rc = CURLE_WRITE_ERROR;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    int exit_code = 3;
    if (rc != CURLE_OK) {
        fprintf(stderr, "fota-devreq: %s: %s\n", url, curl_easy_strerror(rc));
    } else {
        printf("%ld\n", status);
        for (int i = 0; i < a->n_show; i++) {
            if (shown.lines[i][0] != '\0') {
                printf("%s\n", shown.lines[i]);
            }
        }
        exit_code = a->check_image != NULL && status == 200 ? check_chunk(a, key, &resp)
                                                            : write_out(a, &resp);
    }
    free(resp.p);
    return exit_code;
}

int main(int argc, char **argv)
{
    args_t a;
    if (!parse_args(argc, argv, &a)) {
        usage();
        return 2;
    }
    uint8_t key[32];
    buf_t body;
    if (!device_key(&a, key) || !load_body(&a, &body)) {
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = perform(&a, key, &body);
    curl_global_cleanup();
    free(body.p);
    return rc;
}
