/*
 * fotad.c - the server the fleet talks to. With --server only, fota-sim waits until its
 * /healthz answers. With --fotad CMD, fota-sim starts the server itself: CMD runs under
 * /bin/sh (exec'd, so the shell's pid is the server's), '{port}' in it becomes the port of
 * --server or a free loopback port, its output goes to --fotad-log; fota-sim waits for /healthz,
 * then runs --on-ready (upload a release, assign it: fotactl or curl) with FOTA_SIM_URL and
 * FOTA_SIM_PORT in its environment. --restart-server stops the server (SIGTERM, SIGKILL after
 * 5 s) and starts the same command again without waiting for it: the devices see refused and
 * broken connections and must retry on their own. At the end the server is stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fota/host/cli.h"

#include "sim.h"

#define STOP_WAIT_MS 5000u

extern char **environ;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A port nobody listens on now (the server binds it a moment later). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* The port of "http://host:PORT[/...]", or -1. */
static int url_port(const char *url)
{
    const char *host = strstr(url, "://");
    host = host != NULL ? host + 3 : url;
    const char *colon = strrchr(host, ':');
    if (colon == NULL || strchr(colon, ']') != NULL) {
        return -1;
    }
    return atoi(colon + 1);
}

/* CMD with every "{port}" replaced. */
static char *with_port(const char *cmd, int port)
{
    char num[16];
    snprintf(num, sizeof num, "%d", port);
    size_t cap = strlen(cmd) * 2u + 64u;
    char *out = malloc(cap);
    size_t n = 0;
    for (const char *p = cmd; out != NULL && *p != '\0';) {
        bool hit = strncmp(p, "{port}", 6) == 0;
        const char *piece = hit ? num : p;
        size_t len = hit ? strlen(num) : 1u;
        if (n + len + 1u > cap) {
            break;
        }
        memcpy(out + n, piece, len);
        n += len;
        p += hit ? 6 : 1;
    }
    if (out != NULL) {
        out[n] = '\0';
    }
    return out;
}

/* Run `sh -c "exec CMD"` with its output to `log` (NULL: /dev/null). */
static pid_t spawn_shell(const char *cmd, const char *log, bool exec)
{
    size_t len = strlen(cmd) + 8u;
    char *line = malloc(len);
    if (line == NULL) {
        return -1;
    }
    snprintf(line, len, "%s%s", exec ? "exec " : "", cmd);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (log != NULL || exec) {
        const char *out = log != NULL ? log : "/dev/null";
        posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    char *argv[] = {(char *)"sh", (char *)"-c", line, NULL};
    pid_t pid = -1;
    if (posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ) != 0) {
        pid = -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    free(line);
    return pid;
}

static bool healthy(const char *base_url, const char *ca_file)
{
    char url[512];
    snprintf(url, sizeof url, "%s/healthz", base_url);
    CURL *c = curl_easy_init();
    if (c == NULL) {
        return false;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    fota_curl_verify_with(c, ca_file);
    curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, NULL);
    FILE *devnull = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
    long status = 0;
    bool ok = curl_easy_perform(c) == CURLE_OK &&
              curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200;
    curl_easy_cleanup(c);
    if (devnull != NULL) {
        fclose(devnull);
    }
    return ok;
}

/* Wait for /healthz; false if the server process died or time ran out. */
static bool wait_healthy(sim_t *s)
{
    for (unsigned waited = 0; waited <= s->cfg.server_wait_ms; waited += 50u) {
        if (healthy(s->base_url, s->cfg.ca_file)) {
            return true;
        }
        int status = 0;
        if (s->fotad.pid > 0 && waitpid(s->fotad.pid, &status, WNOHANG) == s->fotad.pid) {
            s->fotad.pid = -1;
            fprintf(stderr, "%s: the server exited (status %d) before it answered%s%s\n", SIM_PROG,
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1, s->cfg.fotad_log ? "; see " : "",
                    s->cfg.fotad_log ? s->cfg.fotad_log : "");
            return false;
        }
        sleep_ms(50);
    }
    fprintf(stderr, "%s: %s/healthz did not answer within %u s\n", SIM_PROG, s->base_url,
            (unsigned)(s->cfg.server_wait_ms / 1000u));
    return false;
}

static int on_ready(sim_t *s)
{
    char port[16];
    snprintf(port, sizeof port, "%d", url_port(s->base_url));
    setenv("FOTA_SIM_URL", s->base_url, 1);
    setenv("FOTA_SIM_PORT", port, 1);
    if (s->cfg.on_ready == NULL) {
        return SIM_EXIT_OK;
    }
    pid_t pid = spawn_shell(s->cfg.on_ready, NULL, false);
    int status = -1;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s: --on-ready command failed (status %d)\n", SIM_PROG,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return SIM_EXIT_SETUP;
    }
    return SIM_EXIT_OK;
}

static bool spawn_fotad(sim_t *s)
{
    s->fotad.pid = spawn_shell(s->fotad.cmd, s->cfg.fotad_log, true);
    if (s->fotad.pid < 0) {
        fprintf(stderr, "%s: cannot start the server: %s\n", SIM_PROG, strerror(errno));
        return false;
    }
    return true;
}

int sim_fotad_start(sim_t *s)
{
    s->fotad.pid = -1;
    const char *url = s->cfg.server_url;
    if (s->cfg.fotad_cmd != NULL) {
        int port = url != NULL ? url_port(url) : free_port();
        if (port <= 0) {
            fprintf(stderr, "%s: no port for the server (give --server with one)\n", SIM_PROG);
            return SIM_EXIT_SETUP;
        }
        s->fotad.cmd = with_port(s->cfg.fotad_cmd, port);
        if (url == NULL) {
            snprintf(s->base_url, sizeof s->base_url, "http://127.0.0.1:%d", port);
        }
        if (s->fotad.cmd == NULL || !spawn_fotad(s)) {
            return SIM_EXIT_SETUP;
        }
    }
    if (url != NULL) {
        snprintf(s->base_url, sizeof s->base_url, "%s", url);
        size_t n = strlen(s->base_url);
        if (n > 0 && s->base_url[n - 1] == '/') {
            s->base_url[n - 1] = '\0';
        }
    }
    return wait_healthy(s) ? on_ready(s) : SIM_EXIT_SETUP;
}

static void stop_pid(pid_t pid)
{
    if (pid <= 0) {
        return;
    }
    kill(pid, SIGTERM);
    for (unsigned waited = 0; waited < STOP_WAIT_MS; waited += 10u) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            return;
        }
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

void sim_fotad_restart(sim_t *s)
{
    if (s->fotad.cmd == NULL || s->fotad.stopping) {
        return;
    }
    s->n.restarts++;
    sim_log(s, NULL, "server %s (restart %u of %u)", s->cfg.restart_kill ? "killed" : "stopped",
            (unsigned)s->n.restarts, (unsigned)s->cfg.restarts);
    s->fotad.stopping = true;
    s->fotad.stop_ms = sim_now_ms();
    if (s->fotad.pid > 0) {
        kill(s->fotad.pid, s->cfg.restart_kill ? SIGKILL : SIGTERM);
    }
}

/* The old server has exited (or been killed after STOP_WAIT_MS): start the new one. */
void sim_fotad_tick(sim_t *s)
{
    if (!s->fotad.stopping) {
        return;
    }
    pid_t pid = s->fotad.pid;
    if (pid > 0 && waitpid(pid, NULL, WNOHANG) != pid) {
        if ((uint32_t)(sim_now_ms() - s->fotad.stop_ms) >= STOP_WAIT_MS) {
            kill(pid, SIGKILL);
        }
        return;
    }
    s->fotad.stopping = false;
    sim_log(s, NULL, "server started again");
    if (!spawn_fotad(s)) {
        s->fotad.pid = -1;
    }
}

void sim_fotad_stop(sim_t *s)
{
    stop_pid(s->fotad.pid);
    s->fotad.pid = -1;
}
