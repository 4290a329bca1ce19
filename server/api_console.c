/*
 * api_console.c - GET / and GET /console/NAME: the operator console's files, from the table that
 * the build embedded in fotad (console.h). No authentication: the files hold no data; the page
 * asks the operator for an admin token and sends it with every API call (docs/CONSOLE.md).
 *
 * Every answer carries an ETag (If-None-Match gets 304) and Cache-Control: no-cache, so a browser
 * revalidates and a new fotad's files are used at once. The page gets a strict
 * Content-Security-Policy: scripts, styles and connections only from fotad itself, no inline
 * script, no frames; nothing leaves the operator's network.
 */
#include <string.h>

#include "api.h"
#include "console.h"

#define CONSOLE_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const fotad_console_file_t *find(const char *name)
{
    for (size_t i = 0; i < fotad_console_file_count; i++) {
        if (strcmp(fotad_console_files[i].name, name) == 0) {
            return &fotad_console_files[i];
        }
    }
    return NULL;
}

void fotad_api_console(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp)
{
    (void)app;
    const fotad_console_file_t *f = find(req->param != NULL ? req->param : "index.html");
    if (f == NULL) {
        fotad_resp_error(resp, 404, "not_found", "no such console file");
        return;
    }
    const char *match = fotad_req_header(req, "If-None-Match");
    if (match != NULL && strstr(match, f->etag) != NULL) {
        fotad_resp_empty(resp, 304);
    } else {
        fotad_resp_borrow(resp, 200, f->content_type, f->data, f->len);
    }
    fotad_resp_header(resp, "ETag", "%s", f->etag);
    fotad_resp_header(resp, "Cache-Control", "no-cache");
    fotad_resp_header(resp, "X-Content-Type-Options", "nosniff");
    if (strcmp(f->name, "index.html") == 0) {
        fotad_resp_header(resp, "Content-Security-Policy", "%s", CONSOLE_CSP);
    }
}
