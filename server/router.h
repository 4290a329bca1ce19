/*
 * router.h - the route table of fotad and the steps every request goes through before its
 * handler: match the path (404) and the method (405 with Allow), check the admin bearer token
 * and its role (401/403) and the body size against the route's limit (413) before the body is read,
 * then, with the whole body, authenticate a device (its MAC covers the body) and call the handler.
 * Free of libmicrohttpd: http.c feeds it, unit tests can too.
 */
#ifndef FOTAD_ROUTER_H
#define FOTAD_ROUTER_H

#include <stddef.h>

#include "admin_auth.h"
#include "app.h"
#include "httpmsg.h"
#include "metrics.h"

#define FOTAD_DEVICE_PREFIX "/api/inverter/fota/"
#define FOTAD_ADMIN_PREFIX "/api/admin/"
#define FOTAD_REPORT_MAX 1024u             /* device reports (docs/PROTOCOL.md 4.5) */
#define FOTAD_ADMIN_JSON_MAX (64u * 1024u) /* admin JSON bodies */
#define FOTAD_TARGET_MAX 1024u             /* request target; longer: 414 */
#define FOTAD_UPLOAD_LIMIT ((size_t)-1)    /* route limit meaning "the configured max_upload" */

typedef enum {
    FOTAD_AUTH_NONE,
    FOTAD_AUTH_DEVICE,
    FOTAD_AUTH_ADMIN,
    FOTAD_AUTH_METRICS, /* the admin token, or none with metrics_open (docs/SERVER.md) */
} fotad_auth_kind_t;

typedef void (*fotad_handler_fn)(fotad_app_t *app, const fotad_req_t *req, fotad_resp_t *resp);

/* A route's path is exact, or holds one parameter segment written FOTAD_PARAM anywhere in it
 * ("/api/admin/rollouts/{id}/start"): any one non-empty segment there matches, and becomes
 * req->param (at most FOTAD_PARAM_MAX bytes; a longer one matches nothing). */
#define FOTAD_PARAM "{id}"
#define FOTAD_PARAM_MAX 127u

typedef struct {
    const char *method; /* "GET" (HEAD is served as GET) or "POST" */
    const char *path;   /* exact path, or a pattern with FOTAD_PARAM */
    fotad_auth_kind_t auth;
    fotad_role_t role; /* an admin route's least role; FOTAD_ROLE_NONE for the others */
    size_t max_body;   /* bytes; FOTAD_UPLOAD_LIMIT for the configured upload limit */
    fotad_handler_fn fn;
    /* A device route's handler for a request that carries none of the device authentication
     * headers (the legacy bridge's original firmware), or NULL: such a request gets 401. */
    fotad_handler_fn anonymous;
} fotad_route_t;

/* The outcome of matching a method and path. */
typedef struct {
    const fotad_route_t *route;      /* NULL: see status */
    char param[FOTAD_PARAM_MAX + 1]; /* the parameter segment, "" for an exact route */
    unsigned status;                 /* 404 or 405 when route is NULL */
    char allow[32];                  /* for 405: "GET, HEAD" / "POST" / "GET, HEAD, POST" */
    fotad_principal_t who; /* an admin route's sender, once authenticated (role NONE before) */
} fotad_match_t;

void fotad_router_match(const char *method, const char *path, fotad_match_t *m);

/* The route table: *n routes. */
const fotad_route_t *fotad_router_routes(size_t *n);

/* The route's body limit in bytes. */
size_t fotad_router_body_limit(const fotad_app_t *app, const fotad_route_t *route);

/*
 * Checks that can be made when the headers are in, before any body byte is read, in this
 * order: the target length (414), an encoded NUL (%00) in the path (400), the route (404/405),
 * the admin token (401/403, 503 when the store cannot be read) and its role (403, naming the role
 * needed), a declared Content-Length over the route's limit (413).
 * content_length: the header's value or NULL. Returns 0 and fills *m to go on, or fills resp
 * with the error.
 */
unsigned fotad_router_begin(fotad_app_t *app, const char *method, const char *path,
                            const char *target, const char *content_length,
                            const char *authorization, fotad_match_t *m, fotad_resp_t *resp);

/* With the whole request: parse the query (400), authenticate a device (401), run the handler.
 * req->param and req->query are set here. */
void fotad_router_finish(fotad_app_t *app, const fotad_match_t *m, fotad_req_t *req,
                         fotad_resp_t *resp);

/* The route table's size, and the index of a route in it (metrics.h counts by index). */
size_t fotad_router_count(void);
size_t fotad_router_index(const fotad_route_t *route);

/* The metrics registry's description of every route (fotad_router_count() of them, at most cap):
 * method, pattern, and whether its answers count as blob or chunk bytes served. */
size_t fotad_router_metrics_routes(fotad_metrics_route_t *out, size_t cap);

/*
 * The audit log (docs/ADMIN_API.md, "Audit log"): a request to an admin route that is not a GET
 * or HEAD, from an authenticated token, is recorded with its answer - done, refused for its role,
 * or failed. fotad_router_audited says whether the request is one; fotad_router_audit records it
 * (with resp's status and audit_target, else the route's {id}) before the answer is sent, so
 * that a client that has the answer finds the row. A request whose token is not known is not
 * recorded (anyone could fill the log).
 */
bool fotad_router_audited(const fotad_match_t *m, const char *method);
void fotad_router_audit(fotad_app_t *app, const fotad_match_t *m, const char *method,
                        const char *client, const fotad_resp_t *resp);

/* What fotad_device_auth_check needs of a request: method, raw target, the four authentication
 * headers (NULL when absent) and the body. */
fotad_device_auth_in_t fotad_router_auth_in(const fotad_req_t *req);

#endif /* FOTAD_ROUTER_H */
