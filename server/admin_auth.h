/*
 * admin_auth.h - the admin API's bearer token (docs/ADMIN_API.md): "Authorization: Bearer TOKEN".
 * No header or another scheme: 401; a wrong token: 403. fotad keeps only the SHA-256 of the
 * token and compares digests in constant time, so neither the token's content nor its length
 * leaks through timing.
 */
#ifndef FOTAD_ADMIN_AUTH_H
#define FOTAD_ADMIN_AUTH_H

#include <stdint.h>

#define FOTAD_AUTHORIZATION_MAX 1024u

/* 0 if authorized, else the HTTP status (401 or 403). authorization may be NULL. */
unsigned fotad_admin_auth(const uint8_t token_sha256[32], const char *authorization);

#endif /* FOTAD_ADMIN_AUTH_H */
