/*
 * report.c - the device's reports to the server (docs/PROTOCOL.md, "report"): a small queue of
 * state changes and progress, sent in order before any other request. A JSON body:
 *
 *   {"state":"downloading","release":"<id>","version":"<target>","running":"<current>",
 *    "done":12,"total":1043,"error":0}
 *
 * Progress is a count that only grows, so one waiting progress report is enough: a newer one
 * takes its place (in chain mode a Range streams many chunks while the connection is busy, and
 * stale counts queued behind it would each cost a round trip once it ends). When the download
 * ends, a progress report still waiting is dropped: the install and the reboot follow, and the
 * new image's report says how it went. State changes and errors are never dropped for progress;
 * when the queue (FOTA_CONFIG_REPORT_QUEUE entries) is full, a progress report makes room first,
 * else the oldest. A "booted" still waiting when the application confirms gives way to
 * "confirmed". The server learns of a download's start from its first data request, so no
 * report precedes the data (docs/PROTOCOL.md 6.1).
 */
#include <string.h>

#include "agent_internal.h"

#if FOTA_CONFIG_REPORT_QUEUE < 2
#error "FOTA_CONFIG_REPORT_QUEUE must be at least 2: one report in flight, one to queue"
#endif

static bool is_progress(uint8_t state, uint16_t err)
{
    return state == FOTA_STATE_DOWNLOADING && err == FOTA_OK;
}

static void drop(fota_agent_t *a, size_t i)
{
    memmove(&a->reports[i], &a->reports[i + 1], (a->report_count - i - 1) * sizeof a->reports[0]);
    a->report_count--;
}

/* The first report that may be replaced or dropped: the oldest is left alone while it is being
 * sent, fota_report_sent() drops it when its answer comes. */
static size_t first_free(const fota_agent_t *a)
{
    return a->pending == FOTA_REQ_REPORT ? 1u : 0u;
}

/* The queued progress report (not a download's start), or -1. */
static int queued_progress(const fota_agent_t *a)
{
    for (size_t i = first_free(a); i < a->report_count; i++) {
        if (is_progress(a->reports[i].state, a->reports[i].err)) {
            return (int)i;
        }
    }
    return -1;
}

/* Called with no progress report waiting (fota_report_queue has taken its place or dropped it):
 * a full queue makes room by dropping the oldest report not being sent. */
static void append(fota_agent_t *a, uint8_t state, uint16_t err)
{
    if (a->report_count == FOTA_CONFIG_REPORT_QUEUE) {
        drop(a, first_free(a));
    }
    fota_report_entry_t *e = &a->reports[a->report_count++];
    e->state = state;
    e->err = err;
    e->done = a->next_chunk;
    e->total = a->manifest.chunk_count;
}

void fota_report_drop_progress(fota_agent_t *a)
{
    int i = queued_progress(a);
    if (i >= 0) {
        drop(a, (size_t)i);
    }
}

void fota_report_queue(fota_agent_t *a, fota_state_t state, fota_err_t err)
{
    int i = queued_progress(a);
    if (i >= 0 && is_progress((uint8_t)state, (uint16_t)err)) {
        a->reports[i].done = a->next_chunk; /* the newer count replaces the waiting one */
        a->reports[i].total = a->manifest.chunk_count;
        return;
    }
    if (i >= 0) {
        drop(a, (size_t)i); /* a state change or an error says as much, and more */
    }
    size_t last = a->report_count;
    if (state == FOTA_STATE_CONFIRMED && last > first_free(a) &&
        a->reports[last - 1].state == FOTA_STATE_BOOTED) {
        drop(a, last - 1); /* not sent yet: "confirmed" says it too */
    }
    append(a, (uint8_t)state, (uint16_t)err);
}

fota_err_t fota_report_request(fota_agent_t *a)
{
    /* the seven keys one after the other, each ended by its NUL: no table of pointers */
    static const char names[] = "{\"state\":\0,\"release\":\0,\"version\":\0,\"running\":\0"
                                ",\"done\":\0,\"total\":\0,\"error\":";
    const fota_report_entry_t *e = &a->reports[0];
    const char *strings[] = {fota_state_name((fota_state_t)e->state), a->offer.release,
                             a->manifest.version, a->cfg.current_version};
    const uint32_t numbers[] = {e->done, e->total, e->err};
    fota_text_t body;
    fota_text_init(&body, a->body, sizeof a->body);
    const char *name = names;
    for (size_t i = 0; i < 7; i++, name += strlen(name) + 1) {
        fota_text_str(&body, name);
        if (i < 4) {
            fota_text_json(&body, strings[i]);
        } else {
            fota_text_u64(&body, numbers[i - 4]);
        }
    }
    fota_text_str(&body, "}");
    if (!fota_text_ok(&body)) {
        drop(a, 0);
        return FOTA_ERR_TOO_LARGE;
    }
    fota_text_t target;
    fota_req_begin(a, FOTA_REQ_REPORT, "report", &target);
    a->req.body = (const uint8_t *)a->body;
    a->req.body_len = body.len;
    a->req.content_type = "application/json";
    return fota_req_finish(a, &target);
}

/* The oldest report was accepted (or refused for good): forget it. A delivered final report
 * also ends the journal of the update it closes. */
void fota_report_sent(fota_agent_t *a)
{
    if (a->report_count == 0) {
        return;
    }
    uint8_t state = a->reports[0].state;
    drop(a, 0);
    bool final = state == FOTA_STATE_CONFIRMED || state == FOTA_STATE_ROLLED_BACK;
    if (final && a->journaled && a->state == FOTA_STATE_IDLE) {
        a->port.store.clear(a->port.store.ctx);
        a->journaled = 0;
    }
}
