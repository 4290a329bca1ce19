/*
 * run_log.c - the lines fota-device prints for a run, the same in both modes (run.h): "state S
 * (done/total)" per state change, "error E in S (why)" per failed request or refused update, and
 * the outcome line; and the exit code the outcome gives.
 */
#include <stdio.h>

#include "fota/host/cli.h"
#include "run.h"

/* The outcome is the last attempt's: errors on the way (a broken connection, a server that
 * restarted, a check refused before the device knew the time) that the agent retried past do
 * not make a failed run. */
static void note_outcome(run_log_t *log, const fota_event_t *ev)
{
    if (ev->kind == FOTA_EVENT_STATE && ev->state == FOTA_STATE_CHECKING) {
        log->failure = FOTA_OK; /* a new attempt */
    } else if (ev->kind == FOTA_EVENT_ERROR) {
        log->last_error = ev->err;
        if (ev->state == FOTA_STATE_CHECKING) {
            log->failure = ev->err; /* could not even ask (refused credentials, no server) */
        }
    } else if (ev->kind == FOTA_EVENT_STATE && ev->state == FOTA_STATE_ERROR) {
        log->failure = log->last_error;
    } else if (ev->kind == FOTA_EVENT_STATE && ev->state == FOTA_STATE_ROLLED_BACK) {
        log->failure = FOTA_ERR_AGENT_ROLLED_BACK;
    } else if (ev->kind == FOTA_EVENT_STATE && ev->state == FOTA_STATE_CONFIRMED) {
        log->failure = FOTA_OK;
    }
}

void run_log_event(run_log_t *log, const fota_event_t *ev)
{
    note_outcome(log, ev);
    if (log->quiet || ev->kind == FOTA_EVENT_PROGRESS) {
        return;
    }
    if (ev->kind == FOTA_EVENT_STATE) {
        printf("state %s (%u/%u)\n", fota_state_name(ev->state), (unsigned)ev->done,
               (unsigned)ev->total);
    } else {
        const char *why = log->detail != NULL ? log->detail(log->detail_ctx) : NULL;
        why = why != NULL ? why : "";
        printf("error %s in %s%s%s%s\n", fota_err_name(ev->err), fota_state_name(ev->state),
               why[0] != '\0' ? " (" : "", why, why[0] != '\0' ? ")" : "");
    }
    fflush(stdout);
}

int run_log_outcome(const run_log_t *log, const char *id, const char *version, fota_err_t err,
                    bool bricked)
{
    printf("device %s: running %s, %s%s%s\n", id, version,
           err != FOTA_OK ? "stopped: " : "outcome: ",
           fota_err_name(err != FOTA_OK ? err : log->failure), bricked ? ", BRICKED" : "");
    fflush(stdout);
    if (bricked) {
        return FOTA_CLI_EXIT_BRICKED;
    }
    return err == FOTA_OK && log->failure == FOTA_OK ? FOTA_CLI_EXIT_OK : FOTA_CLI_EXIT_INVALID;
}
