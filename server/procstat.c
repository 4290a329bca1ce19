/*
 * procstat.c - this process's facts from /proc/self/stat, /proc/self/statm, /proc/self/fd and
 * /proc/stat's btime (procstat.h). /proc/self/stat's second field is the command name in
 * parentheses, which may itself hold spaces and parentheses: the fields are counted from its last
 * ')'.
 */
#include "procstat.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* utime, stime and starttime (clock ticks) from /proc/self/stat. */
static fota_err_t read_stat(uint64_t *utime, uint64_t *stime, uint64_t *start)
{
    char text[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f != NULL ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    text[n] = '\0';
    const char *p = strrchr(text, ')');
    /* after ")": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15) cutime cstime priority nice num_threads itrealvalue starttime(22) */
    unsigned long long u, s, st;
    if (p == NULL || sscanf(p + 1,
                            " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d"
                            " %*d %*d %llu",
                            &u, &s, &st) != 3) {
        return FOTA_ERR_IO;
    }
    *utime = u;
    *stime = s;
    *start = st;
    return FOTA_OK;
}

/* The boot time (unix seconds) from /proc/stat's btime line. */
static fota_err_t read_btime(uint64_t *btime)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL) {
        return FOTA_ERR_IO;
    }
    char line[256];
    fota_err_t err = FOTA_ERR_IO;
    unsigned long long b;
    while (err != FOTA_OK && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "btime %llu", &b) == 1) {
            *btime = b;
            err = FOTA_OK;
        }
    }
    fclose(f);
    return err;
}

static fota_err_t read_statm(uint64_t *vsize, uint64_t *rss)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long v, r;
    int got = f != NULL ? fscanf(f, "%llu %llu", &v, &r) : 0;
    if (f != NULL) {
        fclose(f);
    }
    if (got != 2) {
        return FOTA_ERR_IO;
    }
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    *vsize = v * page;
    *rss = r * page;
    return FOTA_OK;
}

static fota_err_t count_fds(uint64_t *n)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        return FOTA_ERR_IO;
    }
    uint64_t k = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        k += e->d_name[0] != '.';
    }
    closedir(d);
    *n = k > 0 ? k - 1 : 0; /* the directory stream's own descriptor */
    return FOTA_OK;
}

fota_err_t fotad_procstat_read(fotad_procstat_t *out)
{
    memset(out, 0, sizeof *out);
    double tick = (double)sysconf(_SC_CLK_TCK);
    uint64_t utime = 0, stime = 0, start = 0, btime = 0;
    fota_err_t err = read_stat(&utime, &stime, &start);
    if (err == FOTA_OK && tick > 0) {
        out->cpu_seconds = (double)(utime + stime) / tick;
        err = read_btime(&btime);
        out->start_time = err == FOTA_OK ? (double)btime + (double)start / tick : 0;
    }
    fota_err_t e2 = read_statm(&out->virtual_bytes, &out->resident_bytes);
    fota_err_t e3 = count_fds(&out->open_fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        out->max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    }
    return err != FOTA_OK ? err : e2 != FOTA_OK ? e2 : e3;
}
