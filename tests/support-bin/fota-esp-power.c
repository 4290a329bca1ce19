/*
 * fota-esp-power.c - test support for tests/faults/test_esp_idf_power.sh: the exhaustive
 * power-cut proof of tests/unit/test_power_exhaustive.c repeated through the ESP-IDF component
 * (ports/esp-idf over the ESP-IDF API double), against a real fotad on loopback.
 *
 * Each run (esp_power_run.c) is one emulated ESP32 running the component on a fresh device id,
 * driven in step mode until the agent settles, with the power cut once: at flash operation K of
 * the update (K counted from the end of the first boot), cleanly (FOTA_CUT_BEFORE) at every
 * operation and torn (FOTA_CUT_TORN) at every write and erase (a torn read is the clean one:
 * flash_emu tears nothing on a read), and before every NVS commit (the journal lives in NVS,
 * which the double keeps beside the flash, durable and atomic at each commit). The device is
 * power-cycled and goes on. Every run must end with the new image running, VALID in otadata,
 * byte for byte in app1, fotad's view of the device "confirmed", no boot finding nothing to boot,
 * and at most one flash sector of chunk or record data fetched again (counted on the wire).
 *
 * The window: from the bootloader's rewrite of the new image's otadata entry NEW ->
 * PENDING_VERIFY (its first boot) to the write of the application's confirm (PENDING_VERIFY ->
 * VALID, fota_esp_confirm). ESP-IDF's rollback rules make a reset in that window a failed first
 * boot: the next boot aborts the pending entry (or finds only the old copy) and falls back to the
 * old image; the agent reports rolled_back and, offered the release again, verifies the image
 * still in its slot and installs it again without downloading it. The clean sweep learns the
 * operation at each K from the cut itself (fota_flash_emu_last_cut), finds the window in that log,
 * and asserts that exactly the cut points in it roll back (a clean cut AT the first erase of the
 * rewrite changes nothing; a torn one does; a cut before a commit as a clean cut at the
 * operation after it), and that they too end confirmed.
 *
 *   fota-esp-power --server URL --token-file F --master F --release-key PUB --product P
 *                  --old IMG --new IMG --partitions CSV --mode seed|chain
 *                  [--sample N --seed S] [--jobs N]
 *
 * Without --sample: exhaustive. With it: every write and erase of the update slot, clean and
 * torn, every NVS commit, and N more flash cut points drawn from the seed, each checked the same
 * way except that the window is known only as the first boot of the new image. --jobs N runs the
 * cut points in N forked processes (results in shared memory). Prints one summary line per cut
 * kind; exit 0 when every run held, 1 with the failing run named.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "esp_power_run.h"
#include "fota/host/cli.h"

#define MAX_JOBS 16u

/* ---- the clean run and the window ------------------------------------------------------------ */

typedef struct {
    clean_trace_t t; /* the run without a cut */
    uint8_t *kind;   /* per operation (fota_flash_op_t), learned from the clean sweep */
    uint32_t *addr;
    uint64_t pending_op; /* the erase that starts the NEW -> PENDING_VERIFY rewrite */
    uint64_t valid_op;   /* the write that ends the PENDING_VERIFY -> VALID rewrite */
    uint64_t writes;     /* writes and erases */
} sweep_t;

/* The run without a cut, twice: the same operations and commits each time, or K would not name
 * one. */
static void clean_runs(sweep_t *w)
{
    static clean_trace_t again;
    power_clean_run(&w->t);
    power_clean_run(&again);
    if (memcmp(&w->t, &again, sizeof again) != 0) {
        die("%s, the run without a cut: not deterministic: %llu operations and %llu commits, "
            "then %llu and %llu",
            g_set.mode_name, (unsigned long long)w->t.total, (unsigned long long)w->t.commits,
            (unsigned long long)again.total, (unsigned long long)again.commits);
    }
}

typedef struct {
    unsigned runs, rollbacks;
    unsigned at_writes; /* cut points at a write or an erase */
    uint64_t first_rollback, last_rollback;
    uint32_t max_refetch;
} tally_t;

static bool in_otadata(uint32_t addr)
{
    const fota_partition_t *p =
        fota_part_find(&g_set.table, FOTA_PART_TYPE_DATA, FOTA_PART_SUBTYPE_DATA_OTA);
    return p != NULL && addr >= p->offset && addr < p->offset + p->size;
}

/* The otadata rewrites that bound the first boot of the new image. */
static void find_window(sweep_t *w)
{
    w->pending_op = w->valid_op = NO_OP;
    for (uint64_t i = w->t.reboot_op; i < w->t.confirm_op; i++) {
        if (w->kind[i] == FOTA_FLASH_OP_ERASE && in_otadata(w->addr[i]) && w->pending_op == NO_OP) {
            w->pending_op = i;
        }
        if (w->kind[i] == FOTA_FLASH_OP_WRITE && in_otadata(w->addr[i])) {
            w->valid_op = i;
        }
    }
    if (w->pending_op == NO_OP || w->valid_op == NO_OP || w->pending_op > w->valid_op) {
        die("%s: no otadata rewrites between operations %llu and %llu", g_set.mode_name,
            (unsigned long long)w->t.reboot_op, (unsigned long long)w->t.confirm_op);
    }
    for (uint64_t i = 0; i < w->t.total; i++) {
        w->writes += w->kind[i] != FOTA_FLASH_OP_READ;
    }
    for (uint64_t i = 0; i < w->t.slot_n; i++) { /* what the sampled sweep relies on */
        if (w->kind[w->t.slot_ops[i]] == FOTA_FLASH_OP_READ) {
            die("%s: the slot write at operation %llu is a read in the log", g_set.mode_name,
                (unsigned long long)w->t.slot_ops[i]);
        }
    }
}

/* A clean cut AT the erase that starts NEW -> PENDING changes nothing (the entry is still NEW);
 * every later operation up to the confirm's write leaves a PENDING_VERIFY entry (aborted at the
 * next boot) or a blank or torn copy (the old copy wins). A torn erase there already destroys
 * the NEW entry. */
static bool must_roll_back(const sweep_t *w, uint64_t k, cut_kind_t how)
{
    if (how == CUT_COMMIT) { /* as a clean cut at the flash operation that follows it */
        return must_roll_back(w, w->t.commit_ops[k], CUT_CLEAN);
    }
    uint64_t first = how == CUT_TORN ? w->pending_op : w->pending_op + 1u;
    return k >= first && k <= w->valid_op;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- cut points, run in parallel ------------------------------------------------------------- */

typedef struct {
    uint64_t k;
    uint64_t seed;
    uint8_t how; /* cut_kind_t */
    /* what the run found */
    uint8_t op; /* fota_flash_op_t */
    bool rolled;
    uint32_t addr;
    uint32_t refetched;
} job_t;

static unsigned g_jobs = 1;

/* Jobs in memory shared with the processes that run them. */
static job_t *jobs_new(size_t n)
{
    void *p = mmap(NULL, (n > 0 ? n : 1) * sizeof(job_t), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        die("mmap: out of memory");
    }
    return p;
}

static void jobs_free(job_t *jobs, size_t n)
{
    munmap(jobs, (n > 0 ? n : 1) * sizeof(job_t));
}

_Noreturn static void worker(job_t *jobs, size_t n, unsigned j)
{
    for (size_t i = j; i < n; i += g_jobs) {
        cut_result_t res = power_cut_once(jobs[i].k, (cut_kind_t)jobs[i].how, jobs[i].seed, i);
        jobs[i].op = (uint8_t)res.op;
        jobs[i].rolled = res.rolled;
        jobs[i].addr = res.addr;
        jobs[i].refetched = res.refetched;
    }
    exit(0);
}

static void stop_others(const pid_t *pids, pid_t failed)
{
    for (unsigned j = 0; j < g_jobs; j++) {
        if (pids[j] != failed) {
            kill(pids[j], SIGTERM);
        }
    }
}

/* Every job, spread over g_jobs forked processes (each run has its own device, flash and
 * connection; nothing is shared but the results). A failing run names itself on stderr and ends
 * its process; the others are stopped then. */
static void run_jobs(job_t *jobs, size_t n)
{
    pid_t pids[MAX_JOBS];
    fflush(NULL);
    for (unsigned j = 0; j < g_jobs; j++) {
        if ((pids[j] = fork()) < 0) {
            die("fork failed");
        }
        if (pids[j] == 0) {
            worker(jobs, n, j);
        }
    }
    bool ok = true;
    for (unsigned left = g_jobs; left > 0; left--) {
        int st = 0;
        pid_t pid = wait(&st);
        if (pid > 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0) && ok) {
            ok = false;
            stop_others(pids, pid);
        }
    }
    if (!ok) {
        die("%s: a run failed (above)", g_set.mode_name);
    }
}

/* ---- the sweeps ------------------------------------------------------------------------------ */

static void tally(tally_t *t, const job_t *job)
{
    t->runs++;
    t->at_writes += job->op != FOTA_FLASH_OP_READ;
    if (job->rolled) {
        t->first_rollback =
            t->rollbacks == 0 || job->k < t->first_rollback ? job->k : t->first_rollback;
        t->last_rollback = job->k > t->last_rollback ? job->k : t->last_rollback;
        t->rollbacks++;
    }
    t->max_refetch = job->refetched > t->max_refetch ? job->refetched : t->max_refetch;
}

static void print_tally(const sweep_t *w, cut_kind_t how, const tally_t *t, double secs)
{
    char points[160];
    if (how == CUT_COMMIT) {
        snprintf(points, sizeof points, "%u cut points of %llu NVS commits", t->runs,
                 (unsigned long long)w->t.commits);
    } else if (g_set.sample == 0) {
        snprintf(points, sizeof points,
                 "%u cut points of %llu flash operations (%llu writes and erases)", t->runs,
                 (unsigned long long)w->t.total, (unsigned long long)w->writes);
    } else {
        snprintf(points, sizeof points,
                 "%u cut points (%u at writes and erases) drawn from %llu flash operations",
                 t->runs, t->at_writes, (unsigned long long)w->t.total);
    }
    char rolled[160] = "none rolled back";
    if (t->rollbacks > 0) {
        snprintf(rolled, sizeof rolled,
                 "rolled back, then reinstalled from the slot, at %s %llu..%llu (%u: first boot "
                 "of the new image before its confirm)",
                 how == CUT_COMMIT ? "commits" : "operations",
                 (unsigned long long)t->first_rollback, (unsigned long long)t->last_rollback,
                 t->rollbacks);
    }
    printf("# %s, %s cuts: %s, all confirmed, none bricked; %s; at most %u %s fetched again; "
           "%.1f s\n",
           g_set.mode_name, cut_name(how), points, rolled, (unsigned)t->max_refetch,
           g_set.mode == FOTA_MODE_SEED ? "chunks" : "records", secs);
    fflush(stdout);
}

/* Sampled, the operation log is not known: a rollback must come from a cut in the first boot of
 * the new image, between the reboot and the power-on that confirmed it. */
static void check_rollback_sampled(const sweep_t *w, const job_t *job)
{
    cut_kind_t how = (cut_kind_t)job->how;
    uint64_t at = how == CUT_COMMIT ? w->t.commit_ops[job->k] : job->k;
    if (job->rolled && (at < w->t.reboot_op || at >= w->t.confirm_op)) {
        die("%s, %s cut at %s %llu: rolled back outside the first boot of the new image "
            "(%llu..%llu)",
            g_set.mode_name, cut_name(how), how == CUT_COMMIT ? "NVS commit" : "flash operation",
            (unsigned long long)job->k, (unsigned long long)w->t.reboot_op,
            (unsigned long long)w->t.confirm_op - 1u);
    }
}

static void check_rollback(const sweep_t *w, const job_t *job)
{
    cut_kind_t how = (cut_kind_t)job->how;
    if (g_set.sample != 0) {
        check_rollback_sampled(w, job);
    } else if (job->rolled != must_roll_back(w, job->k, how)) {
        die("%s, %s cut at %s %llu: %s, expected %s (window %llu..%llu)", g_set.mode_name,
            cut_name(how), how == CUT_COMMIT ? "NVS commit" : "flash operation",
            (unsigned long long)job->k, job->rolled ? "rolled back" : "did not roll back",
            job->rolled ? "no rollback" : "a rollback", (unsigned long long)w->pending_op,
            (unsigned long long)w->valid_op);
    }
}

/* Clean: every operation; the cut names each one, which gives the log the window is found in. */
static void sweep_clean(sweep_t *w)
{
    double t0 = now_s();
    size_t n = w->t.total;
    job_t *jobs = jobs_new(n);
    w->kind = calloc(n, 1);
    w->addr = calloc(n, sizeof *w->addr);
    if (w->kind == NULL || w->addr == NULL) {
        die("out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        jobs[i] = (job_t){.k = i, .seed = i * 2654435761u, .how = CUT_CLEAN};
    }
    run_jobs(jobs, n);
    for (size_t i = 0; i < n; i++) {
        w->kind[i] = jobs[i].op;
        w->addr[i] = jobs[i].addr;
    }
    find_window(w);
    tally_t t = {0};
    for (size_t i = 0; i < n; i++) {
        check_rollback(w, &jobs[i]);
        tally(&t, &jobs[i]);
    }
    jobs_free(jobs, n);
    print_tally(w, CUT_CLEAN, &t, now_s() - t0);
}

/* Torn: every write and erase (a torn read is the clean one). */
static void sweep_torn(const sweep_t *w)
{
    double t0 = now_s();
    job_t *jobs = jobs_new(w->writes);
    size_t n = 0;
    for (uint64_t k = 0; k < w->t.total; k++) {
        if (w->kind[k] != FOTA_FLASH_OP_READ) {
            jobs[n++] = (job_t){.k = k, .seed = k * 2654435761u + 1u, .how = CUT_TORN};
        }
    }
    run_jobs(jobs, n);
    tally_t t = {0};
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].op != w->kind[jobs[i].k] || jobs[i].addr != w->addr[jobs[i].k]) {
            die("%s, torn cut at flash operation %llu: not the operation the clean sweep cut",
                g_set.mode_name, (unsigned long long)jobs[i].k);
        }
        check_rollback(w, &jobs[i]);
        tally(&t, &jobs[i]);
    }
    jobs_free(jobs, w->writes);
    print_tally(w, CUT_TORN, &t, now_s() - t0);
}

/* Before every NVS commit (a torn commit does not exist: NVS writes the new value whole before
 * it erases the old one). The rollback window in flash operations decides these too. */
static void sweep_commits(const sweep_t *w)
{
    double t0 = now_s();
    size_t n = w->t.commits;
    job_t *jobs = jobs_new(n);
    for (size_t i = 0; i < n; i++) {
        jobs[i] = (job_t){.k = i, .how = CUT_COMMIT};
    }
    run_jobs(jobs, n);
    tally_t t = {0};
    for (size_t i = 0; i < n; i++) {
        check_rollback(w, &jobs[i]);
        tally(&t, &jobs[i]);
    }
    jobs_free(jobs, n);
    print_tally(w, CUT_COMMIT, &t, now_s() - t0);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Every write and erase of the update slot, clean and torn, then N flash cut points drawn from
 * the seed (the NVS commits, few, are all swept anyway). Without the whole log the window is
 * known only as the first boot of the new image, and otadata's writes are only drawn. */
static void sample(const sweep_t *w)
{
    double t0 = now_s();
    uint64_t seed = g_set.seed;
    size_t n = 2u * w->t.slot_n + g_set.sample;
    job_t *jobs = jobs_new(n);
    for (size_t i = 0; i < w->t.slot_n; i++) {
        uint64_t k = w->t.slot_ops[i];
        jobs[2 * i] = (job_t){.k = k, .seed = k * 2654435761u, .how = CUT_CLEAN};
        jobs[2 * i + 1] = (job_t){.k = k, .seed = k * 2654435761u + 1u, .how = CUT_TORN};
    }
    for (size_t i = 2u * w->t.slot_n; i < n; i++) {
        jobs[i].k = splitmix(&seed) % w->t.total;
        jobs[i].how = (splitmix(&seed) & 1u) ? CUT_TORN : CUT_CLEAN;
        jobs[i].seed = splitmix(&seed);
    }
    run_jobs(jobs, n);
    tally_t t[2] = {{0}, {0}};
    for (size_t i = 0; i < n; i++) {
        if (i < 2u * w->t.slot_n && jobs[i].op == FOTA_FLASH_OP_READ) {
            die("%s: the slot write at operation %llu was cut as a read", g_set.mode_name,
                (unsigned long long)jobs[i].k);
        }
        check_rollback(w, &jobs[i]);
        tally(&t[jobs[i].how], &jobs[i]);
    }
    jobs_free(jobs, n);
    double secs = now_s() - t0;
    printf("# %s: SAMPLED, not exhaustive: the %llu writes and erases of the update slot, clean "
           "and torn, and %u more flash cut points drawn from seed %llu\n",
           g_set.mode_name, (unsigned long long)w->t.slot_n, g_set.sample,
           (unsigned long long)g_set.seed);
    print_tally(w, CUT_CLEAN, &t[0], secs);
    print_tally(w, CUT_TORN, &t[1], secs);
}

/* ---- setup ----------------------------------------------------------------------------------- */

static void load(const char *path, uint8_t **buf, size_t *len)
{
    if (path == NULL || fota_cli_read_file("fota-esp-power", path, buf, len) != 0) {
        exit(2);
    }
}

static void image_version(const uint8_t *img, size_t len, char *out, size_t cap)
{
    fota_esp_image_info_t info;
    if (fota_cli_image_check(img, len, (uint32_t)len, &info) != FOTA_OK) {
        die("the new image is not valid");
    }
    snprintf(out, cap, "%s", info.app_desc.version);
}

static void load_table(const char *path)
{
    uint8_t *csv;
    size_t len;
    char msg[128] = "";
    int line = 0;
    load(path, &csv, &len);
    if (fota_part_table_from_csv((const char *)csv, &g_set.table, &line, msg, sizeof msg) !=
        FOTA_OK) {
        die("%s:%d: %s", path, line, msg);
    }
    free(csv);
    g_set.slot1 = fota_part_find(&g_set.table, FOTA_PART_TYPE_APP, FOTA_PART_SUBTYPE_OTA_0 + 1u);
    if (g_set.slot1 == NULL || fota_part_find_label(&g_set.table, "fota_nvs") == NULL) {
        die("%s: no ota_1 or no fota_nvs partition", path);
    }
}

static void load_token(const char *path)
{
    uint8_t *tok;
    size_t len;
    load(path, &tok, &len);
    tok[strcspn((char *)tok, "\r\n")] = '\0';
    snprintf(g_set.auth, sizeof g_set.auth, "Authorization: Bearer %s", (char *)tok);
    free(tok);
}

static const char USAGE[] =
    "usage: fota-esp-power --server URL --token-file F --master F --release-key PUB --product P\n"
    "                      --old IMG --new IMG --partitions CSV --mode seed|chain\n"
    "                      [--sample N --seed S] [--jobs N]\n";

/* The options, by getopt_long's index. */
enum {
    O_SERVER,
    O_TOKEN,
    O_MASTER,
    O_KEY,
    O_PRODUCT,
    O_OLD,
    O_NEW,
    O_PARTS,
    O_MODE,
    O_SAMPLE,
    O_SEED,
    O_JOBS,
    O_COUNT
};

static void usage_exit(void)
{
    fputs(USAGE, stderr);
    exit(2);
}

static void collect_options(int argc, char **argv, const char *val[O_COUNT])
{
    static const struct option opts[] = {
        {"server", 1, NULL, 0},      {"token-file", 1, NULL, 0}, {"master", 1, NULL, 0},
        {"release-key", 1, NULL, 0}, {"product", 1, NULL, 0},    {"old", 1, NULL, 0},
        {"new", 1, NULL, 0},         {"partitions", 1, NULL, 0}, {"mode", 1, NULL, 0},
        {"sample", 1, NULL, 0},      {"seed", 1, NULL, 0},       {"jobs", 1, NULL, 0},
        {NULL, 0, NULL, 0},
    };
    int index = 0;
    while (getopt_long(argc, argv, "", opts, &index) == 0) {
        val[index] = optarg;
    }
    if (optind != argc) {
        usage_exit();
    }
    for (int i = 0; i < O_SAMPLE; i++) { /* all but the last three are required */
        if (val[i] == NULL) {
            usage_exit();
        }
    }
}

static void parse(int argc, char **argv)
{
    const char *val[O_COUNT] = {0};
    collect_options(argc, argv, val);
    g_set.server = val[O_SERVER];
    g_set.product = val[O_PRODUCT];
    g_set.mode_name = val[O_MODE];
    load_token(val[O_TOKEN]);
    load(val[O_MASTER], &g_set.master, &g_set.master_len);
    load(val[O_KEY], &g_set.pub, &g_set.pub_len);
    g_set.pub_len++; /* PEM with its NUL */
    load(val[O_OLD], &g_set.old_img, &g_set.old_len);
    load(val[O_NEW], &g_set.new_img, &g_set.new_len);
    load_table(val[O_PARTS]);
    g_set.sample = val[O_SAMPLE] != NULL ? (unsigned)strtoul(val[O_SAMPLE], NULL, 0) : 0;
    g_set.seed = val[O_SEED] != NULL ? strtoull(val[O_SEED], NULL, 0) : 20260101u;
    g_jobs = val[O_JOBS] != NULL ? (unsigned)strtoul(val[O_JOBS], NULL, 0) : 1;
    if ((strcmp(g_set.mode_name, "seed") != 0 && strcmp(g_set.mode_name, "chain") != 0) ||
        g_jobs == 0 || g_jobs > MAX_JOBS) {
        usage_exit();
    }
    g_set.mode = strcmp(g_set.mode_name, "seed") == 0 ? FOTA_MODE_SEED : FOTA_MODE_CHAIN;
    image_version(g_set.new_img, g_set.new_len, g_set.new_version, sizeof g_set.new_version);
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    double t0 = now_s();
    static sweep_t w;
    clean_runs(&w);
    if (g_set.sample > 0) {
        sample(&w);
    } else {
        sweep_clean(&w);
        sweep_torn(&w);
    }
    sweep_commits(&w);
    printf("# %s: %s in %.1f s\n", g_set.mode_name, g_set.sample > 0 ? "sampled" : "exhaustive",
           now_s() - t0);
    free(w.kind);
    free(w.addr);
    free(g_set.master);
    free(g_set.pub);
    free(g_set.old_img);
    free(g_set.new_img);
    curl_global_cleanup();
    return 0;
}
