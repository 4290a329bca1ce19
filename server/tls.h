/*
 * tls.h - fotad's own HTTPS (--tls-cert, --tls-key): the server's certificate chain and private
 * key, read from two PEM files, checked to belong together, and handed to each TLS handshake by
 * a GnuTLS certificate callback (libmicrohttpd's MHD_OPTION_HTTPS_CERT_CALLBACK2).
 *
 * Reload (SIGHUP, server/main.c) reads both files again: if they make a good pair, every handshake
 * from then on gets it, while connections already open keep the pair they were set up with; if
 * not (unreadable, not PEM, a key of another certificate), the pair in use stays and the reason is
 * logged. The listening socket is not touched either way.
 *
 * Each handshake gets its own copy of the pair (GnuTLS frees it with the session), so a reload
 * can free the pair it replaces at once. GnuTLS's callback carries no user pointer: the pair
 * lives in the one fotad_tls_t a process opens.
 */
#ifndef FOTAD_TLS_H
#define FOTAD_TLS_H

#include <gnutls/abstract.h>

#include "fota/err.h"

/* GnuTLS priorities of every handshake: its defaults, without the versions before TLS 1.2
 * (ESP-IDF's esp_http_client speaks TLS 1.2 and, with mbedTLS 3, 1.3). */
#define FOTAD_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

typedef struct fotad_tls fotad_tls_t;

/* Read and check the pair; logs its subject, serial and expiry, or what is wrong with it
 * (FOTA_ERR_IO unreadable, FOTA_ERR_ARG not a good pair, FOTA_ERR_STATE one is open already).
 * Both paths are kept (copied) for reloads. */
fota_err_t fotad_tls_open(const char *cert_path, const char *key_path, fotad_tls_t **out);

/* Read the files again: FOTA_OK and the new pair in use, or an error logged and the old pair
 * kept. */
fota_err_t fotad_tls_reload(fotad_tls_t *t);

/* The serial number of the certificate in use, hex ("" before open). */
const char *fotad_tls_serial(const fotad_tls_t *t);

/* Free everything; the daemon using the callback must be stopped first. NULL is fine. */
void fotad_tls_close(fotad_tls_t *t);

/* The handshake callback for MHD_OPTION_HTTPS_CERT_CALLBACK2: a copy of the pair in use. */
int fotad_tls_retrieve(gnutls_session_t session, const struct gnutls_cert_retr_st *info,
                       gnutls_pcert_st **certs, unsigned int *n_certs, gnutls_ocsp_data_st **ocsp,
                       unsigned int *n_ocsp, gnutls_privkey_t *key, unsigned int *flags);

#endif /* FOTAD_TLS_H */
