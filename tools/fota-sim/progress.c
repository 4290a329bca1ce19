/*
 * progress.c - the live progress line on stderr (when it is a terminal, or with --progress):
 * a bar of the fleet's download, devices done and how, bytes received and the rate, elapsed
 * time. Redrawn in place every 200 ms; the last draw ends the line.
 */
#include <stdio.h>

#include "sim.h"

#define BAR 24

static void human(double bytes, char *out, size_t cap)
{
    const char *unit[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        u++;
    }
    snprintf(out, cap, u == 0 ? "%.0f %s" : "%.1f %s", bytes, unit[u]);
}

void sim_progress_draw(sim_t *s, bool final)
{
    double frac = sim_fleet_progress(s);
    char bar[BAR + 1];
    int fill = (int)(frac * BAR + 0.5);
    for (int i = 0; i < BAR; i++) {
        bar[i] = i < fill ? '#' : '.';
    }
    bar[BAR] = '\0';
    double secs = (double)(uint32_t)(sim_now_ms() - s->start_ms) / 1000.0;
    char rx[32], rate[32];
    human((double)s->rx, rx, sizeof rx);
    human(secs > 0.0 ? (double)s->rx / secs : 0.0, rate, sizeof rate);
    fprintf(stderr,
            "\r[%s] %3.0f%%  %u/%u done (%u updated, %u rolled back, %u failed)  %s  %s/s  "
            "%u:%02u\033[K%s",
            bar, frac * 100.0, (unsigned)s->n_done, (unsigned)s->n_devs, (unsigned)s->n_updated,
            (unsigned)s->n_rolled_back, (unsigned)s->n_failed, rx, rate, (unsigned)secs / 60u,
            (unsigned)secs % 60u, final ? "\n" : "");
    fflush(stderr);
}
