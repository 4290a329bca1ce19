/*
 * log.h - fotad's log: one line per event on stderr, "TIME LEVEL message", written with a single
 * write(2) so that lines from the server's threads never interleave.
 *
 * Levels: error (a request or the server failed, with its cause), warn (a client error: the
 * request line of every 4xx, a suspicious configuration), info (one line per request, startup
 * and shutdown), debug (details). The level is set once at startup, before any thread starts.
 */
#ifndef FOTAD_LOG_H
#define FOTAD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "fota/err.h"

typedef enum {
    FOTAD_LOG_ERROR = 0,
    FOTAD_LOG_WARN = 1,
    FOTAD_LOG_INFO = 2,
    FOTAD_LOG_DEBUG = 3,
} fotad_log_level_t;

/* Set the most verbose level that is written (default info). Call before starting threads. */
void fotad_log_set_level(fotad_log_level_t level);

/* True if a message at `level` would be written. */
bool fotad_log_enabled(fotad_log_level_t level);

/* "error", "warn", "info", "debug" -> level; FOTA_ERR_ARG for anything else. */
fota_err_t fotad_log_parse_level(const char *text, fotad_log_level_t *out);

/* Write one line (a trailing newline in fmt is dropped; long messages are cut at 2 KiB). */
void fotad_log(fotad_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fotad_vlog(fotad_log_level_t level, const char *fmt, va_list ap);

/* Copy text that came from a client into out (cap bytes, NUL-terminated) for a log line: bytes
 * outside printable ASCII become '?', and a text longer than out is cut, ending in "...". */
void fotad_log_clean(const char *text, char *out, size_t cap);

#define FOTAD_ERROR(...) fotad_log(FOTAD_LOG_ERROR, __VA_ARGS__)
#define FOTAD_WARN(...) fotad_log(FOTAD_LOG_WARN, __VA_ARGS__)
#define FOTAD_INFO(...) fotad_log(FOTAD_LOG_INFO, __VA_ARGS__)
#define FOTAD_DEBUG(...) fotad_log(FOTAD_LOG_DEBUG, __VA_ARGS__)

#endif /* FOTAD_LOG_H */
