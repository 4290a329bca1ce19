/*
 * bench_link.c - a network link between two network namespaces, emulated in user space: each
 * namespace gets a TUN interface, and every IP packet one side sends reaches the other after
 * the time it takes to cross a link of the given rate plus a fixed one-way delay, in order, with
 * a drop-tail queue of `--queue` packets per direction. The model is netem's `delay D rate R
 * limit L`: the kernel here is built without sch_netem (CONFIG_NET_SCH_NETEM is not set), so
 * bench/download_time.sh uses this instead. Both TCP stacks are the kernel's own, end to end;
 * only the wire is emulated.
 *
 *   bench_link --ns-a NS --dev-a IF --ns-b NS --dev-b IF [--delay-ms 25] [--rate-mbit 10]
 *              [--queue 1000] [--ready FILE] [--stats FILE]
 *
 * The interfaces exist while this runs; once both are open it writes FILE given by --ready,
 * and the caller gives them addresses. On SIGTERM/SIGINT it writes per-direction counters to the
 * --stats file: packets, IP bytes (what the rate is applied to), TCP payload bytes, drops;
 * SIGUSR1 writes them without stopping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_PACKET 2048
#define MAX_QUEUE 4096

typedef struct {
    uint64_t due_ns; /* when the last bit has crossed and the delay is over */
    uint16_t len;
    uint8_t data[MAX_PACKET];
} packet_t;

/* One direction: packets read from `from`, written to `to` when due. */
typedef struct {
    int from, to;
    packet_t *q;
    unsigned head, count, limit;
    uint64_t busy_until_ns; /* the link is sending until then */
    uint64_t packets, ip_bytes, tcp_payload, drops;
} dir_t;

typedef struct {
    const char *ns_a, *dev_a, *ns_b, *dev_b, *ready, *stats;
    double delay_ms, rate_mbit;
    unsigned queue;
} opts_t;

static volatile sig_atomic_t stop, dump;

static void on_signal(int sig)
{
    if (sig == SIGUSR1) {
        dump = 1;
    } else {
        stop = 1;
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_link: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Open a TUN interface named dev inside the named network namespace. */
static int open_tun(const char *ns, const char *dev)
{
    char path[256];
    snprintf(path, sizeof path, "/var/run/netns/%s", ns);
    int nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
        die(path);
    }
    close(nsfd);
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        die("/dev/net/tun");
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        die(dev);
    }
    return fd;
}

/* TCP payload of an IPv4 packet (0 for anything else). */
static uint64_t tcp_payload(const uint8_t *p, size_t len)
{
    if (len < 20 || (p[0] >> 4) != 4 || p[9] != 6) {
        return 0;
    }
    size_t ihl = (size_t)(p[0] & 15u) * 4u;
    size_t total = (size_t)p[2] << 8 | p[3];
    if (total > len || ihl + 20 > total) {
        return 0;
    }
    size_t doff = (size_t)(p[ihl + 12] >> 4) * 4u;
    return total >= ihl + doff ? total - ihl - doff : 0;
}

/* Read every packet waiting on d->from and schedule it. */
static void take(dir_t *d, const opts_t *o)
{
    for (;;) {
        uint8_t buf[MAX_PACKET];
        ssize_t n = read(d->from, buf, sizeof buf);
        if (n <= 0) {
            return;
        }
        if (d->count == d->limit) {
            d->drops++;
            continue;
        }
        uint64_t now = now_ns();
        uint64_t start = d->busy_until_ns > now ? d->busy_until_ns : now;
        d->busy_until_ns = start + (uint64_t)((double)n * 8.0 * 1000.0 / o->rate_mbit);
        packet_t *p = &d->q[(d->head + d->count++) % MAX_QUEUE];
        p->due_ns = d->busy_until_ns + (uint64_t)(o->delay_ms * 1e6);
        p->len = (uint16_t)n;
        memcpy(p->data, buf, (size_t)n);
        d->packets++;
        d->ip_bytes += (uint64_t)n;
        d->tcp_payload += tcp_payload(buf, (size_t)n);
    }
}

/* Deliver the packets that are due; returns ns until the next one (or a long time). */
static uint64_t deliver(dir_t *d)
{
    uint64_t now = now_ns();
    while (d->count > 0 && d->q[d->head].due_ns <= now) {
        packet_t *p = &d->q[d->head];
        if (write(d->to, p->data, p->len) < 0 && errno == EAGAIN) {
            return 100000; /* the receiving side is full: try again soon */
        }
        d->head = (d->head + 1) % MAX_QUEUE;
        d->count--;
    }
    return d->count > 0 ? d->q[d->head].due_ns - now : 1000000000u;
}

/* The counters so far, into --stats (written beside it and renamed: a reader never sees half). */
static void write_stats(const opts_t *o, const dir_t dirs[2])
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", o->stats != NULL ? o->stats : "");
    FILE *f = o->stats != NULL ? fopen(tmp, "w") : stdout;
    if (f == NULL) {
        die(tmp);
    }
    static const char *const names[2] = {"a_to_b", "b_to_a"};
    for (int i = 0; i < 2; i++) {
        fprintf(f, "%s_packets %llu\n%s_ip_bytes %llu\n%s_tcp_payload %llu\n%s_drops %llu\n",
                names[i], (unsigned long long)dirs[i].packets, names[i],
                (unsigned long long)dirs[i].ip_bytes, names[i],
                (unsigned long long)dirs[i].tcp_payload, names[i],
                (unsigned long long)dirs[i].drops);
    }
    if (f != stdout && (fclose(f) != 0 || rename(tmp, o->stats) != 0)) {
        die(o->stats);
    }
}

/* Until SIGTERM or SIGINT; SIGUSR1 writes the counters so far. */
static void run(const opts_t *o, dir_t dirs[2])
{
    struct pollfd pfd[2] = {{dirs[0].from, POLLIN, 0}, {dirs[1].from, POLLIN, 0}};
    while (!stop) {
        uint64_t wait0 = deliver(&dirs[0]), wait1 = deliver(&dirs[1]);
        uint64_t wait = wait0 < wait1 ? wait0 : wait1;
        struct timespec ts = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
        if (ppoll(pfd, 2, &ts, NULL) < 0 && errno != EINTR) {
            die("ppoll");
        }
        take(&dirs[0], o);
        take(&dirs[1], o);
        if (dump) {
            dump = 0;
            write_stats(o, dirs);
        }
    }
}

static int parse(int argc, char **argv, opts_t *o)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        const char **s = strcmp(k, "--ns-a") == 0    ? &o->ns_a
                         : strcmp(k, "--dev-a") == 0 ? &o->dev_a
                         : strcmp(k, "--ns-b") == 0  ? &o->ns_b
                         : strcmp(k, "--dev-b") == 0 ? &o->dev_b
                         : strcmp(k, "--ready") == 0 ? &o->ready
                         : strcmp(k, "--stats") == 0 ? &o->stats
                                                     : NULL;
        if (s != NULL) {
            *s = v;
        } else if (strcmp(k, "--delay-ms") == 0 || strcmp(k, "--rate-mbit") == 0) {
            *(k[2] == 'd' ? &o->delay_ms : &o->rate_mbit) = atof(v);
        } else if (strcmp(k, "--queue") == 0) {
            o->queue = (unsigned)atoi(v);
        } else {
            return -1;
        }
    }
    return o->ns_a && o->dev_a && o->ns_b && o->dev_b && o->rate_mbit > 0 && o->queue > 0 &&
                   o->queue <= MAX_QUEUE && (argc % 2) == 1
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    opts_t o = {.delay_ms = 25, .rate_mbit = 10, .queue = 1000};
    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: bench_link --ns-a NS --dev-a IF --ns-b NS --dev-b IF "
                        "[--delay-ms 25] [--rate-mbit 10] [--queue 1000] [--ready FILE] "
                        "[--stats FILE]\n");
        return 2;
    }
    static dir_t dirs[2];
    int a = open_tun(o.ns_a, o.dev_a), b = open_tun(o.ns_b, o.dev_b);
    dirs[0] = (dir_t){.from = a, .to = b, .limit = o.queue};
    dirs[1] = (dir_t){.from = b, .to = a, .limit = o.queue};
    dirs[0].q = malloc(MAX_QUEUE * sizeof(packet_t));
    dirs[1].q = malloc(MAX_QUEUE * sizeof(packet_t));
    if (dirs[0].q == NULL || dirs[1].q == NULL) {
        die("malloc");
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGUSR1, on_signal);
    FILE *r = o.ready != NULL ? fopen(o.ready, "w") : NULL;
    if (r != NULL) {
        fputs("ready\n", r);
        fclose(r);
    }
    run(&o, dirs);
    write_stats(&o, dirs);
    free(dirs[0].q);
    free(dirs[1].q);
    return 0;
}
