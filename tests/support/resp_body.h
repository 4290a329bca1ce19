/*
 * resp_body.h - test support for the fotad unit tests that call handlers: whether a response's
 * body (server/httpmsg.h) holds a string.
 */
#ifndef FOTA_TEST_RESP_BODY_H
#define FOTA_TEST_RESP_BODY_H

#include <stdbool.h>

#include "httpmsg.h"

/* Whether the body_len bytes of r's body hold s somewhere. */
bool test_resp_has(const fotad_resp_t *r, const char *s);

#endif /* FOTA_TEST_RESP_BODY_H */
