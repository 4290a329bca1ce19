/*
 * sched.c - when each device runs next: a binary min-heap of devices keyed by their wake time
 * (milliseconds of the monotonic clock, compared modulo 2^32 as the agent compares its own),
 * and a FIFO of devices whose request waits for a free transfer slot.
 *
 * A device is in the heap at most once (heap_pos says where); scheduling it again moves it.
 * The loop pops every due device, so 10,000 idle devices cost nothing between their wakes.
 */
#include <stdlib.h>
#include <time.h>

#include "sim.h"

uint32_t sim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

bool sim_due(uint32_t wake, uint32_t now)
{
    return (int32_t)(wake - now) <= 0;
}

static bool earlier(const sim_dev_t *a, const sim_dev_t *b)
{
    return (int32_t)(a->wake_ms - b->wake_ms) < 0;
}

fota_err_t sim_sched_init(sim_t *s)
{
    s->heap = calloc(s->n_devs, sizeof *s->heap);
    s->heap_len = 0;
    return s->heap != NULL ? FOTA_OK : FOTA_ERR_NO_MEM;
}

void sim_sched_free(sim_t *s)
{
    free(s->heap);
    s->heap = NULL;
}

static void place(sim_t *s, uint32_t i, sim_dev_t *d)
{
    s->heap[i] = d;
    d->heap_pos = (int32_t)i;
}

static void sift_up(sim_t *s, uint32_t i)
{
    sim_dev_t *d = s->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1u) / 2u;
        if (!earlier(d, s->heap[parent])) {
            break;
        }
        place(s, i, s->heap[parent]);
        i = parent;
    }
    place(s, i, d);
}

static void sift_down(sim_t *s, uint32_t i)
{
    sim_dev_t *d = s->heap[i];
    for (;;) {
        uint32_t child = 2u * i + 1u;
        if (child >= s->heap_len) {
            break;
        }
        if (child + 1u < s->heap_len && earlier(s->heap[child + 1u], s->heap[child])) {
            child++;
        }
        if (!earlier(s->heap[child], d)) {
            break;
        }
        place(s, i, s->heap[child]);
        i = child;
    }
    place(s, i, d);
}

void sim_unschedule(sim_t *s, sim_dev_t *d)
{
    if (d->heap_pos < 0) {
        return;
    }
    uint32_t i = (uint32_t)d->heap_pos;
    d->heap_pos = -1;
    s->heap_len--;
    if (i == s->heap_len) {
        return;
    }
    place(s, i, s->heap[s->heap_len]);
    sift_down(s, i);
    sift_up(s, (uint32_t)s->heap[i]->heap_pos);
}

void sim_schedule(sim_t *s, sim_dev_t *d, uint32_t at)
{
    sim_unschedule(s, d);
    d->wake_ms = at;
    place(s, s->heap_len++, d);
    sift_up(s, s->heap_len - 1u);
}

sim_dev_t *sim_pop_due(sim_t *s, uint32_t now)
{
    if (s->heap_len == 0 || !sim_due(s->heap[0]->wake_ms, now)) {
        return NULL;
    }
    sim_dev_t *d = s->heap[0];
    sim_unschedule(s, d);
    return d;
}

uint32_t sim_next_wake(const sim_t *s, uint32_t now)
{
    if (s->heap_len == 0) {
        return UINT32_MAX;
    }
    int32_t left = (int32_t)(s->heap[0]->wake_ms - now);
    return left > 0 ? (uint32_t)left : 0u;
}

void sim_queue_push(sim_t *s, sim_dev_t *d)
{
    d->queue_next = NULL;
    if (s->queue_tail != NULL) {
        s->queue_tail->queue_next = d;
    } else {
        s->queue_head = d;
    }
    s->queue_tail = d;
}

sim_dev_t *sim_queue_pop(sim_t *s)
{
    sim_dev_t *d = s->queue_head;
    if (d != NULL) {
        s->queue_head = d->queue_next;
        if (s->queue_head == NULL) {
            s->queue_tail = NULL;
        }
        d->queue_next = NULL;
    }
    return d;
}
