/*
 * xfer.c - the devices' HTTP requests on one libcurl multi handle.
 *
 * A fixed pool of --concurrency transfers, each with its own easy handle reused from request to
 * request; the multi handle keeps the connections (CURLMOPT_MAX_TOTAL_CONNECTIONS caps them) and
 * reuses them across devices, as a NAT'd fleet behind one gateway would. A request is the
 * agent's fota_http_request_t against the server's base URL; the header callback hands the
 * status and Content-Length to the agent at the blank line that ends the headers, the write
 * callback feeds each body piece to the agent as it arrives (transport_curl.c does the same for
 * one device with the easy interface). When curl says the transfer is over, the agent hears
 * fota_agent_response_end() with the outcome.
 *
 * Faults happen here, at the body byte faults.c chose: a stall pauses the transfer
 * (CURL_WRITEFUNC_PAUSE; the device's timer resumes it), a drop feeds the bytes before it and
 * then aborts the transfer as a broken connection (FOTA_ERR_HTTP_TRUNCATED), a flip feeds the
 * piece with one bit changed. A power cut during a feed aborts the transfer without a word to
 * the agent: the device is off.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/posix/transport_curl.h"

#include "sim.h"

/* ---- responses ------------------------------------------------------------------------------ */

static void begin_response(sim_xfer_t *x)
{
    if (x->begun) {
        return;
    }
    long status;
    int64_t clen;
    fota_curl_response_head(x->easy, &status, &clen);
    fota_agent_response_begin(sim_agent(x->dev), (int)status, clen);
    fota_curl_pass_headers(&x->kept, sim_agent(x->dev));
    x->begun = true;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    sim_xfer_t *x = ctx;
    size_t len = size * n;
    if (x->power_lost) {
        return 0;
    }
    if (len == 2 && data[0] == '\r' && data[1] == '\n') {
        begin_response(x);
    } else if (len > 5 && memcmp(data, "HTTP/", 5) == 0) {
        x->begun = false; /* a new status line (after a 100 Continue) */
        x->kept.retry_after[0] = '\0';
    } else {
        fota_curl_keep_header(&x->kept, data, len);
    }
    return len;
}

/* Data bytes received again: chain records below the highest blob offset already received. */
static void count_chain_data(sim_t *s, sim_dev_t *d, const sim_xfer_t *x, size_t len)
{
    uint64_t from = (uint64_t)x->unit + x->received;
    uint64_t to = from + len;
    uint64_t again = d->high_pos > from ? (d->high_pos < to ? d->high_pos : to) - from : 0u;
    d->redownload += again;
    s->redownload += again;
    d->high_pos = to > d->high_pos ? to : d->high_pos;
}

/* The fault of this kind falls in the next len body bytes: its offset into them, or -1. */
static int64_t fault_here(sim_xfer_t *x, sim_fault_kind_t k, size_t len)
{
    sim_xfault_t *f = &x->fault[k];
    if (f->at < 0 || f->fired || (uint64_t)f->at >= x->received + len) {
        return -1;
    }
    f->fired = true;
    x->dev->sim->n.net[k]++;
    return f->at > (int64_t)x->received ? f->at - (int64_t)x->received : 0;
}

/* Feed len bytes, one bit flipped at `flip` if it is not -1. */
static fota_err_t feed(sim_t *s, sim_xfer_t *x, const char *data, size_t len, int64_t flip)
{
    if (len == 0) {
        return FOTA_OK;
    }
    const uint8_t *p = (const uint8_t *)data;
    uint8_t *copy = NULL;
    if (flip >= 0 && (size_t)flip < len && (copy = malloc(len)) != NULL) {
        memcpy(copy, data, len);
        copy[flip] ^= (uint8_t)(1u << sim_rand_below(s, 8));
        p = copy;
    }
    fota_err_t err = fota_agent_feed(sim_agent(x->dev), p, len);
    free(copy);
    return err;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    sim_xfer_t *x = ctx;
    sim_dev_t *d = x->dev;
    sim_t *s = d->sim;
    size_t len = size * n;
    if (x->power_lost || x->refused || x->dropped) {
        return 0;
    }
    begin_response(x);
    if (fault_here(x, SIM_FAULT_STALL, len) >= 0) {
        x->paused = true; /* the same bytes come again when the device's timer resumes it */
        uint32_t ms =
            s->cfg.stall_ms < s->cfg.http_timeout_ms ? s->cfg.stall_ms : s->cfg.http_timeout_ms;
        sim_schedule(s, d, sim_now_ms() + ms);
        sim_log(s, d, "transfer stalls for %u ms", (unsigned)s->cfg.stall_ms);
        return CURL_WRITEFUNC_PAUSE;
    }
    int64_t drop = fault_here(x, SIM_FAULT_DROP, len);
    size_t take = drop >= 0 ? (size_t)drop : len;
    fota_err_t err = feed(s, x, data, take, fault_here(x, SIM_FAULT_FLIP, take));
    if (x->is_data && !x->seed) {
        count_chain_data(s, d, x, take);
    }
    x->received += take;
    d->data_rx += x->is_data ? take : 0u;
    s->data_rx += x->is_data ? take : 0u;
    x->power_lost = sim_device_cut(d);
    x->refused = !x->power_lost && err != FOTA_OK;
    x->dropped = !x->power_lost && !x->refused && drop >= 0;
    if (drop >= 0 && !x->dropped) { /* the transfer ended before the drop: it did not fall */
        x->fault[SIM_FAULT_DROP].fired = false;
        s->n.net[SIM_FAULT_DROP]--;
    }
    return x->power_lost || x->refused || x->dropped ? 0 : len;
}

/* ---- requests ------------------------------------------------------------------------------- */

/* What the request asks for: a seed chunk (its number), a chain Range (first byte, length). */
static void classify_request(sim_xfer_t *x, const fota_http_request_t *req)
{
    x->is_data = x->seed = false;
    x->unit = x->length = 0;
    const char *n = strstr(req->target, "/chunk?chunk_number=");
    if (n != NULL) {
        x->is_data = x->seed = true;
        x->unit = (uint32_t)strtoul(n + 20, NULL, 10);
        return;
    }
    for (size_t i = 0; strstr(req->target, "/blob/") != NULL && i < req->header_count; i++) {
        unsigned long first = 0, last = 0;
        if (strcmp(req->headers[i].name, "Range") == 0 &&
            sscanf(req->headers[i].value, "bytes=%lu-%lu", &first, &last) == 2 && last >= first) {
            x->is_data = true;
            x->unit = (uint32_t)first;
            x->length = (uint32_t)(last - first + 1u);
        }
    }
}

static void set_request(sim_t *s, sim_xfer_t *x, const fota_http_request_t *req)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", s->base_url, req->target);
    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
        curl_easy_setopt(x->easy, CURLOPT_COPYPOSTFIELDS, (const char *)req->body);
    } else {
        curl_easy_setopt(x->easy, CURLOPT_HTTPGET, 1L);
    }
}

static void release(sim_t *s, sim_xfer_t *x)
{
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    if (x->dev != NULL) {
        x->dev->xfer = NULL;
    }
    x->dev = NULL;
    x->next_free = s->free_xfers;
    s->free_xfers = x;
    s->in_flight--;
}

bool sim_xfer_slot_free(const sim_t *s)
{
    return s->free_xfers != NULL;
}

void sim_xfer_start(sim_t *s, sim_dev_t *d, const fota_http_request_t *req)
{
    sim_xfer_t *x = s->free_xfers;
    s->free_xfers = x->next_free;
    s->in_flight++;
    memset(&x->begun, 0, sizeof *x - offsetof(sim_xfer_t, begun));
    x->dev = d;
    d->xfer = x;
    x->headers = fota_curl_headers(req);
    classify_request(x, req);
    sim_faults_for_xfer(s, d, x);
    if (x->headers != NULL) {
        set_request(s, x, req);
    }
    if (x->headers == NULL || curl_multi_add_handle(s->multi, x->easy) != CURLM_OK) {
        release(s, x);
        fota_agent_response_end(sim_agent(d), FOTA_ERR_NO_MEM);
        sim_device_after_http(s, d);
    }
}

static void done(sim_t *s, sim_xfer_t *x, CURLcode rc);

/* A stall as long as --http-timeout is what curl's low-speed limit would cut (a paused transfer
 * is exempt from it): the transfer ends as timed out. A shorter one goes on. */
void sim_xfer_resume(sim_t *s, sim_xfer_t *x)
{
    x->paused = false;
    if (s->cfg.stall_ms >= s->cfg.http_timeout_ms) {
        done(s, x, CURLE_OPERATION_TIMEDOUT);
        return;
    }
    curl_easy_pause(x->easy, CURLPAUSE_CONT);
}

/* ---- completion ----------------------------------------------------------------------------- */

static void count_wire(sim_t *s, sim_xfer_t *x)
{
    uint64_t tx, rx;
    fota_curl_wire_bytes(x->easy, &tx, &rx);
    x->dev->tx += tx;
    x->dev->rx += rx;
    s->tx += tx;
    s->rx += rx;
}

/* Seed chunks: a chunk asked for again after it arrived whole is all re-download. */
static void count_seed_data(sim_t *s, sim_dev_t *d, const sim_xfer_t *x, bool whole)
{
    if (!x->is_data || !x->seed) {
        return;
    }
    if (x->unit < d->high_pos) {
        d->redownload += x->received;
        s->redownload += x->received;
    } else if (whole) {
        d->high_pos = (uint64_t)x->unit + 1u;
    }
}

static void done(sim_t *s, sim_xfer_t *x, CURLcode rc)
{
    sim_dev_t *d = x->dev;
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    count_wire(s, x);
    curl_multi_remove_handle(s->multi, x->easy);
    bool ok = rc == CURLE_OK && !x->refused && !x->dropped && !x->power_lost;
    count_seed_data(s, d, x, ok && status == 200);
    sim_faults_xfer_over(s, d, x);
    /* A transfer stopped by the write callback while curl_easy_pause() delivered the bytes it
     * held can still end CURLE_OK: the flags, not rc, say what happened. */
    bool broken = (rc != CURLE_OK || x->dropped) && !x->refused && !x->power_lost;
    s->n.http_errors += broken || status >= 400;
    if (x->power_lost) {
        release(s, x);
        sim_device_power_lost(s, d);
        return;
    }
    if (rc == CURLE_OK) {
        begin_response(x); /* a response without a body */
    }
    fota_err_t err = x->refused   ? FOTA_OK
                     : x->dropped ? FOTA_ERR_HTTP_TRUNCATED
                                  : fota_curl_error(rc);
    release(s, x);
    fota_agent_response_end(sim_agent(d), err);
    sim_device_after_http(s, d);
}

void sim_xfer_collect(sim_t *s)
{
    CURLMsg *msg;
    int left = 0;
    while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE) {
            sim_xfer_t *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            done(s, x, msg->data.result);
        }
    }
}

void sim_xfer_abandon(sim_t *s, sim_xfer_t *x)
{
    count_wire(s, x);
    curl_multi_remove_handle(s->multi, x->easy);
    release(s, x);
}

/* ---- the pool ---------------------------------------------------------------------------- */

static void setup_easy(const sim_t *s, sim_xfer_t *x)
{
    CURL *c = x->easy;
    long idle_s = (long)((s->cfg.http_timeout_ms + 999u) / 1000u);
    curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->cfg.http_timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, idle_s);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)64 * 1024 * 1024);
    fota_curl_verify_with(c, s->cfg.ca_file); /* readable: checked with the options */
}

fota_err_t sim_xfer_init(sim_t *s)
{
    uint32_t n = s->cfg.concurrency;
    s->multi = curl_multi_init();
    s->xfers = calloc(n, sizeof *s->xfers);
    if (s->multi == NULL || s->xfers == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)n);
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)n);
    s->in_flight = n; /* each release() below counts one down */
    for (uint32_t i = 0; i < n; i++) {
        sim_xfer_t *x = &s->xfers[i];
        x->easy = curl_easy_init();
        if (x->easy == NULL) {
            return FOTA_ERR_NO_MEM;
        }
        setup_easy(s, x);
        release(s, x);
    }
    return FOTA_OK;
}

void sim_xfer_free(sim_t *s)
{
    for (uint32_t i = 0; s->xfers != NULL && i < s->cfg.concurrency; i++) {
        sim_xfer_t *x = &s->xfers[i];
        if (x->dev != NULL) {
            sim_xfer_abandon(s, x);
        }
        if (x->easy != NULL) {
            curl_easy_cleanup(x->easy);
        }
    }
    free(s->xfers);
    s->xfers = NULL;
    if (s->multi != NULL) {
        curl_multi_cleanup(s->multi);
        s->multi = NULL;
    }
}
