/*
 * procstat.h - what Linux says of this process (/proc/self), for the process_* metrics that
 * Prometheus client libraries export under the same names: CPU seconds, resident and virtual
 * memory, open and maximum file descriptors, start time.
 */
#ifndef FOTAD_PROCSTAT_H
#define FOTAD_PROCSTAT_H

#include <stdint.h>

#include "fota/err.h"

typedef struct {
    double cpu_seconds;      /* user + system */
    uint64_t resident_bytes; /* RSS */
    uint64_t virtual_bytes;
    uint64_t open_fds;
    uint64_t max_fds;  /* RLIMIT_NOFILE's soft limit */
    double start_time; /* unix seconds */
} fotad_procstat_t;

/* Read them; FOTA_ERR_IO when /proc cannot be read (then *out holds what could be). */
fota_err_t fotad_procstat_read(fotad_procstat_t *out);

#endif /* FOTAD_PROCSTAT_H */
