/*
 * resp_body.c - a string in a fotad response's body (resp_body.h).
 */
#include "resp_body.h"

#include <string.h>

bool test_resp_has(const fotad_resp_t *r, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= r->body_len; i++) {
        if (memcmp(r->body + i, s, n) == 0) {
            return true;
        }
    }
    return false;
}
