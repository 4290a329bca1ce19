/*
 * tls.c - the server's certificate and key for fotad's own HTTPS (tls.h). A pair is the
 * certificate chain of the PEM file (the server's certificate first, intermediates after it) and
 * the private key of the other file, parsed once and checked: the key must be the one of the
 * first certificate. The pair in use sits behind a mutex; the handshake callback copies it into
 * structures GnuTLS owns and frees with the session (GNUTLS_CERT_RETR_DEINIT_ALL), so a reload
 * swaps the pointer and frees the old pair without waiting for the connections that used it.
 */
#include "tls.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <gnutls/x509.h>

#include "fota/host/file_util.h"

#include "log.h"

#define TLS_FILE_MAX (1024u * 1024u)
#define SERIAL_HEX_MAX 41u /* 20 bytes, the longest serial RFC 5280 allows, and a NUL */

typedef struct {
    gnutls_x509_crt_t *crts; /* the chain, gnutls_malloc'd by gnutls_x509_crt_list_import2 */
    unsigned n_crts;
    gnutls_x509_privkey_t key;
    char serial[SERIAL_HEX_MAX];
} tls_pair_t;

struct fotad_tls {
    char *cert_path;
    char *key_path;
    pthread_mutex_t lock;
    tls_pair_t *pair; /* never NULL once open */
};

/* The one the handshake callback serves (GnuTLS passes it no pointer of ours). */
static fotad_tls_t *active;

static void pair_free(tls_pair_t *p)
{
    if (p == NULL) {
        return;
    }
    for (unsigned i = 0; i < p->n_crts; i++) {
        gnutls_x509_crt_deinit(p->crts[i]);
    }
    gnutls_free(p->crts);
    if (p->key != NULL) {
        gnutls_x509_privkey_deinit(p->key);
    }
    free(p);
}

/* A whole file as a GnuTLS datum (free the data with free()). */
static fota_err_t read_datum(const char *path, const char *what, gnutls_datum_t *d)
{
    uint8_t *buf;
    size_t len;
    if (fota_file_read_all(path, TLS_FILE_MAX, &buf, &len) != FOTA_OK) {
        FOTAD_ERROR("TLS %s %s: cannot read it (missing, unreadable or over %u bytes)", what, path,
                    TLS_FILE_MAX);
        return FOTA_ERR_IO;
    }
    d->data = buf;
    d->size = (unsigned)len;
    return FOTA_OK;
}

static fota_err_t parse_chain(tls_pair_t *p, const char *path)
{
    gnutls_datum_t d;
    fota_err_t err = read_datum(path, "certificate", &d);
    if (err != FOTA_OK) {
        return err;
    }
    int rc = gnutls_x509_crt_list_import2(&p->crts, &p->n_crts, &d, GNUTLS_X509_FMT_PEM,
                                          GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
    free(d.data);
    if (rc < 0 || p->n_crts == 0) {
        FOTAD_ERROR("TLS certificate %s: not a PEM certificate chain (server certificate first): "
                    "%s",
                    path, rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
        return FOTA_ERR_ARG;
    }
    return FOTA_OK;
}

static fota_err_t parse_key(tls_pair_t *p, const char *path)
{
    gnutls_datum_t d;
    fota_err_t err = read_datum(path, "key", &d);
    if (err != FOTA_OK) {
        return err;
    }
    int rc = gnutls_x509_privkey_init(&p->key);
    if (rc >= 0) {
        rc = gnutls_x509_privkey_import2(p->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
    }
    gnutls_memset(d.data, 0, d.size);
    free(d.data);
    if (rc < 0) {
        FOTAD_ERROR("TLS key %s: not an unencrypted PEM private key: %s", path,
                    gnutls_strerror(rc));
        return FOTA_ERR_ARG;
    }
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
        FOTAD_WARN("TLS key %s is readable by group or others (chmod 600 it)", path);
    }
    return FOTA_OK;
}

/* The key must be the first certificate's: compare the digests of their public keys. */
static fota_err_t check_match(const tls_pair_t *p, const char *cert_path, const char *key_path)
{
    unsigned char a[64], b[64];
    size_t la = sizeof a, lb = sizeof b;
    int ra = gnutls_x509_crt_get_key_id(p->crts[0], GNUTLS_KEYID_USE_SHA256, a, &la);
    int rb = gnutls_x509_privkey_get_key_id(p->key, GNUTLS_KEYID_USE_SHA256, b, &lb);
    if (ra < 0 || rb < 0 || la != lb || memcmp(a, b, la) != 0) {
        FOTAD_ERROR("TLS key %s does not belong to the certificate %s%s%s", key_path, cert_path,
                    ra < 0 || rb < 0 ? ": " : "",
                    ra < 0   ? gnutls_strerror(ra)
                    : rb < 0 ? gnutls_strerror(rb)
                             : "");
        return FOTA_ERR_ARG;
    }
    return FOTA_OK;
}

static void hex(const unsigned char *b, size_t n, char *out, size_t cap)
{
    size_t w = 0;
    for (size_t i = 0; i < n && w + 3 <= cap; i++) {
        w += (size_t)snprintf(out + w, cap - w, "%02x", b[i]);
    }
    out[w] = '\0';
}

/* Log what was loaded: subject, serial, validity; warn when it is not valid now. */
static void describe(tls_pair_t *p, const char *path)
{
    unsigned char serial[32];
    size_t n = sizeof serial;
    if (gnutls_x509_crt_get_serial(p->crts[0], serial, &n) < 0) {
        n = 0;
    }
    hex(serial, n, p->serial, sizeof p->serial);
    gnutls_datum_t dn = {NULL, 0};
    gnutls_x509_crt_get_dn3(p->crts[0], &dn, 0);
    time_t until = gnutls_x509_crt_get_expiration_time(p->crts[0]);
    time_t from = gnutls_x509_crt_get_activation_time(p->crts[0]);
    char until_text[32] = "?";
    struct tm tm;
    if (until != (time_t)-1 && gmtime_r(&until, &tm) != NULL) {
        strftime(until_text, sizeof until_text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    FOTAD_INFO("TLS certificate %s: subject \"%s\", serial %s, %u in the chain, valid until %s",
               path, dn.data != NULL ? (const char *)dn.data : "?", p->serial, p->n_crts,
               until_text);
    gnutls_free(dn.data);
    time_t now = time(NULL);
    if (until != (time_t)-1 && until < now) {
        FOTAD_WARN("TLS certificate %s expired at %s: clients will refuse it", path, until_text);
    } else if (from != (time_t)-1 && from > now) {
        FOTAD_WARN("TLS certificate %s is not valid yet: clients will refuse it", path);
    }
}

static fota_err_t pair_load(const char *cert_path, const char *key_path, tls_pair_t **out)
{
    tls_pair_t *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    fota_err_t err = parse_chain(p, cert_path);
    if (err == FOTA_OK) {
        err = parse_key(p, key_path);
    }
    if (err == FOTA_OK) {
        err = check_match(p, cert_path, key_path);
    }
    if (err != FOTA_OK) {
        pair_free(p);
        return err;
    }
    describe(p, cert_path);
    *out = p;
    return FOTA_OK;
}

fota_err_t fotad_tls_open(const char *cert_path, const char *key_path, fotad_tls_t **out)
{
    if (active != NULL) {
        return FOTA_ERR_STATE;
    }
    fotad_tls_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    t->cert_path = strdup(cert_path);
    t->key_path = strdup(key_path);
    fota_err_t err = t->cert_path != NULL && t->key_path != NULL ? FOTA_OK : FOTA_ERR_NO_MEM;
    if (err == FOTA_OK) {
        err = pair_load(cert_path, key_path, &t->pair);
    }
    if (err != FOTA_OK) {
        free(t->cert_path);
        free(t->key_path);
        free(t);
        return err;
    }
    pthread_mutex_init(&t->lock, NULL);
    active = t;
    *out = t;
    return FOTA_OK;
}

fota_err_t fotad_tls_reload(fotad_tls_t *t)
{
    tls_pair_t *p = NULL;
    fota_err_t err = pair_load(t->cert_path, t->key_path, &p);
    if (err != FOTA_OK) {
        pthread_mutex_lock(&t->lock);
        FOTAD_ERROR("TLS reload failed: still serving the certificate with serial %s",
                    t->pair->serial);
        pthread_mutex_unlock(&t->lock);
        return err;
    }
    pthread_mutex_lock(&t->lock);
    tls_pair_t *old = t->pair;
    t->pair = p;
    pthread_mutex_unlock(&t->lock);
    FOTAD_INFO("TLS reloaded: new connections get the certificate with serial %s (was %s)",
               p->serial, old->serial);
    pair_free(old);
    return FOTA_OK;
}

const char *fotad_tls_serial(const fotad_tls_t *t)
{
    return t != NULL && t->pair != NULL ? t->pair->serial : "";
}

void fotad_tls_close(fotad_tls_t *t)
{
    if (t == NULL) {
        return;
    }
    if (active == t) {
        active = NULL;
    }
    pair_free(t->pair);
    pthread_mutex_destroy(&t->lock);
    free(t->cert_path);
    free(t->key_path);
    free(t);
}

/* Copies of the chain and the key, owned by the caller (GnuTLS, with DEINIT_ALL). */
static int copy_pair(const tls_pair_t *p, gnutls_pcert_st **certs, unsigned *n_certs,
                     gnutls_privkey_t *key)
{
    unsigned n = p->n_crts;
    gnutls_pcert_st *pc = gnutls_calloc(n, sizeof *pc);
    gnutls_privkey_t k = NULL;
    if (pc == NULL || gnutls_pcert_import_x509_list(pc, p->crts, &n, 0) < 0) {
        gnutls_free(pc);
        return -1;
    }
    if (gnutls_privkey_init(&k) < 0 ||
        gnutls_privkey_import_x509(k, p->key, GNUTLS_PRIVKEY_IMPORT_COPY) < 0) {
        gnutls_privkey_deinit(k);
        for (unsigned i = 0; i < n; i++) {
            gnutls_pcert_deinit(&pc[i]);
        }
        gnutls_free(pc);
        return -1;
    }
    *certs = pc;
    *n_certs = n;
    *key = k;
    return 0;
}

int fotad_tls_retrieve(gnutls_session_t session, const struct gnutls_cert_retr_st *info,
                       gnutls_pcert_st **certs, unsigned int *n_certs, gnutls_ocsp_data_st **ocsp,
                       unsigned int *n_ocsp, gnutls_privkey_t *key, unsigned int *flags)
{
    (void)session;
    (void)info;
    *ocsp = NULL;
    *n_ocsp = 0;
    *n_certs = 0;
    *flags = GNUTLS_CERT_RETR_DEINIT_ALL;
    fotad_tls_t *t = active;
    if (t == NULL) {
        return -1;
    }
    pthread_mutex_lock(&t->lock);
    int rc = copy_pair(t->pair, certs, n_certs, key);
    pthread_mutex_unlock(&t->lock);
    if (rc != 0) {
        FOTAD_ERROR("TLS handshake: cannot copy the certificate and key (out of memory)");
    }
    return rc;
}
