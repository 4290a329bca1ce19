/*
 * store_pg.c - the PostgreSQL backend of store.h: opening the store, the pool of connections
 * (store_pg_int.h explains it, and what happens when the server restarts), prepared statements,
 * parameters, results and transactions. The schema is in store_pg_schema.c, the operations in
 * store_pg_ops.c and store_pg_rollouts.c.
 *
 * Results come back in text format (numbers in decimal, bytea as "\x" and hex) and parameters go
 * in text format except bytes, which go in binary: nothing is escaped or quoted by hand.
 */
#include "store_pg_int.h"

#include <assert.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Connection parameters fotad sets unless the URI sets them itself: a connect attempt to a host
 * that does not answer gives up after this many seconds, and the server shows who is connected. */
#define PG_CONNECT_TIMEOUT_S "5"
#define PG_APPLICATION_NAME "fotad"

/* SQLSTATE of "out of memory" on the server. */
#define PG_STATE_OUT_OF_MEMORY "53200"

/* ---- messages -------------------------------------------------------------------------------- */

/* PostgreSQL's messages end with a newline and may hold several lines (DETAIL, HINT): one log
 * line of them, each run of white space one space. */
static void one_line(const char *msg, char *out, size_t cap)
{
    size_t n = 0;
    for (; msg != NULL && *msg != '\0' && n + 1 < cap; msg++) {
        bool space = *msg == ' ' || *msg == '\n' || *msg == '\r' || *msg == '\t';
        if (!space || (n > 0 && out[n - 1] != ' ')) {
            out[n++] = space ? ' ' : *msg;
        }
    }
    while (n > 0 && out[n - 1] == ' ') {
        n--;
    }
    out[n] = '\0';
}

fota_err_t pg_fail(pg_conn_t *c, const PGresult *res, const char *what)
{
    const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;
    if ((msg == NULL || *msg == '\0') && c != NULL && c->pq != NULL) {
        msg = PQerrorMessage(c->pq);
    }
    char line[512];
    one_line(msg != NULL && *msg != '\0' ? msg : "unknown error", line, sizeof line);
    FOTAD_ERROR("store: %s: %s", what, line);
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state != NULL && strcmp(state, PG_STATE_OUT_OF_MEMORY) == 0 ? FOTA_ERR_NO_MEM
                                                                       : FOTA_ERR_IO;
}

/* Notices (a migration's "already exists, skipping") go to the debug log instead of libpq's
 * default, stderr. A FATAL that arrives as a notice, outside any statement, is the server saying
 * goodbye (it is shutting down, or an administrator ended the session): the connection is about
 * to close, so it is marked unusable at once, before the server has even closed it. */
static void notice(void *arg, const PGresult *res)
{
    pg_conn_t *c = arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (severity != NULL && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0)) {
        c->closing = true;
    }
    char line[512];
    one_line(PQresultErrorMessage(res), line, sizeof line);
    FOTAD_DEBUG("store: PostgreSQL says: %s", line);
}

/* ---- connections ------------------------------------------------------------------------------
 */

static void conn_close(pg_conn_t *c)
{
    if (c != NULL) {
        PQfinish(c->pq);
        free(c);
    }
}

static pg_conn_t *conn_open(pg_store_t *s)
{
    static const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *values[] = {PG_CONNECT_TIMEOUT_S, PG_APPLICATION_NAME, s->conninfo, NULL};
    pg_conn_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        FOTAD_ERROR("store: out of memory for a PostgreSQL connection");
        return NULL;
    }
    /* expand_dbname: the URI in dbname is parsed, and its own parameters override ours. */
    c->pq = PQconnectdbParams(keys, values, 1);
    if (c->pq == NULL || PQstatus(c->pq) != CONNECTION_OK) {
        pg_fail(c->pq != NULL ? c : NULL, NULL, "cannot connect to PostgreSQL");
        conn_close(c);
        return NULL;
    }
    PQsetNoticeReceiver(c->pq, notice, c);
    return c;
}

/* Whether an idle connection still works: read what the server left on it (a restarting server
 * sends a FATAL message and closes), until nothing more is waiting. */
static bool conn_alive(pg_conn_t *c)
{
    for (int i = 0; i < 4 && !c->closing && PQstatus(c->pq) == CONNECTION_OK; i++) {
        struct pollfd pfd = {.fd = PQsocket(c->pq), .events = POLLIN};
        if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0) {
            break;
        }
        if (!PQconsumeInput(c->pq)) {
            return false; /* end of file or a socket error */
        }
    }
    return !c->closing && PQstatus(c->pq) == CONNECTION_OK &&
           PQtransactionStatus(c->pq) == PQTRANS_IDLE;
}

pg_conn_t *pg_conn_get(pg_store_t *s)
{
    for (;;) {
        pthread_mutex_lock(&s->pool_lock);
        pg_conn_t *c = s->idle;
        if (c != NULL) {
            s->idle = c->next;
        }
        pthread_mutex_unlock(&s->pool_lock);
        if (c == NULL) {
            return conn_open(s);
        }
        if (conn_alive(c)) {
            return c;
        }
        char line[512];
        one_line(PQerrorMessage(c->pq), line, sizeof line);
        FOTAD_WARN("store: a PostgreSQL connection was lost (%s); connecting again",
                   *line != '\0' ? line : "closed by the server");
        conn_close(c);
    }
}

void pg_conn_put(pg_store_t *s, pg_conn_t *c)
{
    if (c == NULL) {
        return;
    }
    if (c->closing || PQstatus(c->pq) != CONNECTION_OK ||
        PQtransactionStatus(c->pq) != PQTRANS_IDLE) {
        conn_close(c); /* broken, or left in a transaction: the next call gets a new one */
        return;
    }
    pthread_mutex_lock(&s->pool_lock);
    c->next = s->idle;
    s->idle = c;
    pthread_mutex_unlock(&s->pool_lock);
}

/* ---- parameters -------------------------------------------------------------------------------
 */

static int param_slot(pg_params_t *p)
{
    assert(p->n < PG_PARAMS_MAX);
    return p->n++;
}

void pg_param_text(pg_params_t *p, const char *s)
{
    int i = param_slot(p);
    p->is_num[i] = false;
    p->values[i] = s;
    p->lengths[i] = 0;
    p->formats[i] = 0;
}

void pg_param_int(pg_params_t *p, int64_t v)
{
    int i = param_slot(p);
    snprintf(p->nums[i], sizeof p->nums[i], "%lld", (long long)v);
    p->is_num[i] = true;
    p->values[i] = NULL;
    p->lengths[i] = 0;
    p->formats[i] = 0;
}

void pg_param_bool(pg_params_t *p, bool v)
{
    pg_param_text(p, v ? "t" : "f");
}

void pg_param_bytes(pg_params_t *p, const void *b, size_t len)
{
    int i = param_slot(p);
    p->is_num[i] = false;
    p->values[i] = b;
    p->lengths[i] = (int)len;
    p->formats[i] = 1;
}

void pg_param_null(pg_params_t *p)
{
    pg_param_text(p, NULL);
}

/* The values as libpq takes them: numbers pointed to where they are now. */
static void param_values(const pg_params_t *p, const char **out)
{
    for (int i = 0; i < p->n; i++) {
        out[i] = p->is_num[i] ? p->nums[i] : p->values[i];
    }
}

/* ---- statements -------------------------------------------------------------------------------
 */

static void stmt_name(pg_stmt_id_t id, char *out, size_t cap)
{
    snprintf(out, cap, "fotad_%d", (int)id);
}

/* Prepare statement id on c once (a prepared statement lives as long as its connection). */
static fota_err_t prepare(pg_conn_t *c, pg_stmt_id_t id)
{
    if (c->prepared[id]) {
        return FOTA_OK;
    }
    char name[24];
    stmt_name(id, name, sizeof name);
    PGresult *res = PQprepare(c->pq, name, pg_sql[id], 0, NULL);
    fota_err_t err = PQresultStatus(res) == PGRES_COMMAND_OK ? FOTA_OK : pg_fail(c, res, "prepare");
    PQclear(res);
    c->prepared[id] = err == FOTA_OK;
    return err;
}

fota_err_t pg_query(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p, const char *what,
                    PGresult **out)
{
    fota_err_t err = prepare(c, id);
    if (err != FOTA_OK) {
        return err;
    }
    char name[24];
    stmt_name(id, name, sizeof name);
    const char *values[PG_PARAMS_MAX];
    param_values(p, values);
    PGresult *res = PQexecPrepared(c->pq, name, p->n, values, p->lengths, p->formats, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        err = pg_fail(c, res, what);
        PQclear(res);
        return err;
    }
    *out = res;
    return FOTA_OK;
}

fota_err_t pg_cmd(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p, const char *what,
                  uint64_t *changed)
{
    PGresult *res = NULL;
    fota_err_t err = pg_query(c, id, p, what, &res);
    if (err == FOTA_OK && changed != NULL) {
        *changed = strtoull(PQcmdTuples(res), NULL, 10);
    }
    PQclear(res);
    return err;
}

fota_err_t pg_walk(pg_conn_t *c, pg_stmt_id_t id, const pg_params_t *p, const char *what,
                   pg_row_fn row, void *arg)
{
    fota_err_t err = prepare(c, id);
    if (err != FOTA_OK) {
        return err;
    }
    char name[24];
    stmt_name(id, name, sizeof name);
    const char *values[PG_PARAMS_MAX];
    param_values(p, values);
    if (!PQsendQueryPrepared(c->pq, name, p->n, values, p->lengths, p->formats, 0) ||
        !PQsetSingleRowMode(c->pq)) {
        err = pg_fail(c, NULL, what);
    }
    fota_err_t stopped = FOTA_OK;
    PGresult *res;
    while ((res = PQgetResult(c->pq)) != NULL) { /* every result is read, even after a stop */
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE && err == FOTA_OK && stopped == FOTA_OK) {
            stopped = row(res, arg);
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && err == FOTA_OK) {
            err = pg_fail(c, res, what);
        }
        PQclear(res);
    }
    return stopped != FOTA_OK ? stopped : err;
}

fota_err_t pg_exec(pg_conn_t *c, const char *sql, const char *what)
{
    PGresult *res = PQexec(c->pq, sql);
    ExecStatusType st = PQresultStatus(res);
    fota_err_t err =
        st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? FOTA_OK : pg_fail(c, res, what);
    PQclear(res);
    return err;
}

fota_err_t pg_txn_begin(pg_conn_t *c)
{
    return pg_exec(c, "BEGIN", "begin");
}

/* COMMIT of a transaction that failed answers "ROLLBACK" without an error: check the tag. */
static fota_err_t commit(pg_conn_t *c)
{
    PGresult *res = PQexec(c->pq, "COMMIT");
    fota_err_t err = FOTA_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        err = pg_fail(c, res, "commit");
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        FOTAD_ERROR("store: commit: the transaction was rolled back");
        err = FOTA_ERR_IO;
    }
    PQclear(res);
    return err;
}

fota_err_t pg_txn_end(pg_conn_t *c, fota_err_t err)
{
    if (err == FOTA_OK) {
        err = commit(c);
    }
    if (err != FOTA_OK && PQtransactionStatus(c->pq) != PQTRANS_IDLE &&
        PQstatus(c->pq) == CONNECTION_OK) {
        PQclear(PQexec(c->pq, "ROLLBACK"));
    }
    return err;
}

/* ---- columns ----------------------------------------------------------------------------------
 */

void pg_col_text(const PGresult *r, int row, int col, char *out, size_t cap)
{
    snprintf(out, cap, "%s", PQgetvalue(r, row, col));
}

int64_t pg_col_int(const PGresult *r, int row, int col)
{
    return (int64_t)strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool pg_col_bool(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col)[0] == 't';
}

bool pg_col_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

static int hex_digit(char h)
{
    return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
}

/* "\x" and 2 x len hex digits (bytea in text format) decoded into out; false when the text is
 * not exactly that. */
static bool unhex_bytea(const char *v, size_t text_len, uint8_t *out, size_t len)
{
    if (text_len != 2 + 2 * len || v[0] != '\\' || v[1] != 'x') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        int hi = hex_digit(v[2 + 2 * i]), lo = hex_digit(v[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

bool pg_col_bytes(const PGresult *r, int row, int col, uint8_t *out, size_t len)
{
    return unhex_bytea(PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col), out, len);
}

fota_err_t pg_col_bytes_copy(const PGresult *r, int row, int col, uint8_t **out, size_t *len)
{
    size_t text_len = (size_t)PQgetlength(r, row, col);
    size_t n = text_len >= 2 ? (text_len - 2) / 2 : 0;
    uint8_t *buf = malloc(n > 0 ? n : 1);
    if (buf == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    if (!unhex_bytea(PQgetvalue(r, row, col), text_len, buf, n)) {
        free(buf);
        return FOTA_ERR_IO;
    }
    *out = buf;
    *len = n;
    return FOTA_OK;
}

/* ---- the store --------------------------------------------------------------------------------
 */

void pg_close(void *ctx)
{
    pg_store_t *s = ctx;
    while (s->idle != NULL) {
        pg_conn_t *c = s->idle;
        s->idle = c->next;
        conn_close(c);
    }
    pthread_mutex_destroy(&s->pool_lock);
    free(s->conninfo);
    free(s);
}

fota_err_t fotad_store_pg_open(const char *conninfo, fotad_store_t *out)
{
    pg_store_t *s = calloc(1, sizeof *s);
    char *copy = strdup(conninfo);
    if (s == NULL || copy == NULL) {
        free(s);
        free(copy);
        return FOTA_ERR_NO_MEM;
    }
    s->conninfo = copy;
    pthread_mutex_init(&s->pool_lock, NULL);
    pg_conn_t *c = conn_open(s);
    fota_err_t err = c != NULL ? pg_schema_init(c) : FOTA_ERR_IO;
    if (err != FOTA_OK) {
        conn_close(c);
        pg_close(s);
        return err;
    }
    FOTAD_INFO("store: PostgreSQL database %s on %s", PQdb(c->pq), PQhost(c->pq));
    pg_conn_put(s, c);
    out->ops = &pg_ops;
    out->ctx = s;
    return FOTA_OK;
}
