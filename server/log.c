/*
 * log.c - fotad's stderr log (log.h). Each line is formatted into a stack buffer and written
 * with one write(2): POSIX keeps such writes whole on pipes up to PIPE_BUF and in practice on
 * files and terminals, so the thread pool never produces interleaved lines and no lock is held.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static fotad_log_level_t g_level = FOTAD_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void fotad_log_set_level(fotad_log_level_t level)
{
    g_level = level;
}

bool fotad_log_enabled(fotad_log_level_t level)
{
    return level <= g_level;
}

fota_err_t fotad_log_parse_level(const char *text, fotad_log_level_t *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (fotad_log_level_t)i;
            return FOTA_OK;
        }
    }
    return FOTA_ERR_ARG;
}

/* "2025-11-22T10:00:00.123Z" into out (at least 32 bytes); returns its length. */
static size_t format_time(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000L);
    return n + (m > 0 ? (size_t)m : 0);
}

static void write_all(const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

void fotad_vlog(fotad_log_level_t level, const char *fmt, va_list ap)
{
    if (!fotad_log_enabled(level)) {
        return;
    }
    char line[LOG_LINE_MAX];
    size_t n = format_time(line, sizeof line);
    n += (size_t)snprintf(line + n, sizeof line - n, " %-5s ", level_names[level]);
    int m = vsnprintf(line + n, sizeof line - n, fmt, ap);
    if (m > 0) {
        n += (size_t)m < sizeof line - n ? (size_t)m : sizeof line - n - 1;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        n--;
    }
    if (n >= sizeof line - 1) {
        n = sizeof line - 2;
    }
    line[n++] = '\n';
    write_all(line, n);
}

void fotad_log(fotad_log_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fotad_vlog(level, fmt, ap);
    va_end(ap);
}

void fotad_log_clean(const char *text, char *out, size_t cap)
{
    if (cap == 0) {
        return;
    }
    size_t i = 0;
    for (; text[i] != '\0' && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)text[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[i] = '\0';
    if (text[i] != '\0' && cap >= 4) {
        memcpy(out + cap - 4, "...", 4);
    }
}
