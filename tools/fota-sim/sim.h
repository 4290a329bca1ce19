/*
 * sim.h - what the parts of fota-sim share: the configuration from the command line, one
 * simulated device, one HTTP transfer, the fleet with its event loop, and the functions each
 * file offers the others.
 *
 * The shape of a run (docs/FOTA_SIM.md): setup.c loads the keys and the initial image,
 * provisions one flash as a template and opens every device's in-memory flash from it
 * (copy-on-write); loop.c runs one event loop in one thread: a timer
 * heap of devices (sched.c) says which device is due, device.c polls its sans-I/O agent and acts
 * on what it says (wait, perform a request, reboot), xfer.c performs requests on a libcurl multi
 * handle and feeds the response bodies back into the agents, faults.c decides where power cuts
 * and network faults fall, fotad.c starts and restarts the server, progress.c and report.c show
 * what happened.
 *
 * What a device is behind its flash comes in two kinds, each behind sim_hw_ops_t: hw_agent.c
 * (the agent directly on the emulated ESP32: fota_emu_device) and hw_esp.c (--esp-idf: the
 * ESP-IDF component over the ESP-IDF API double: esp_device). The rest of fota-sim only sees the
 * ops: power on and off, the agent to drive, the running version.
 */
#ifndef FOTA_SIM_H
#define FOTA_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>

#include "fota/agent.h"
#include "fota/emu/flash_emu.h"
#include "fota/emu/partition.h"
#include "fota/posix/transport_curl.h"

#define SIM_PROG "fota-sim"
#define SIM_ID_MAX 32
#define SIM_MAX_VERSIONS 8

enum {
    SIM_EXIT_OK = 0,
    SIM_EXIT_SETUP = 1,    /* bad input file, server that does not start */
    SIM_EXIT_USAGE = 2,    /* bad command line */
    SIM_EXIT_UNSAFE = 3,   /* a device bricked or booted a foreign image */
    SIM_EXIT_EXPECTED = 4, /* devices did not end as --expect said */
};

typedef enum {
    SIM_EXPECT_UPDATED = 0,
    SIM_EXPECT_ROLLED_BACK,
    SIM_EXPECT_ANY, /* updated or rolled back */
    SIM_EXPECT_NONE,
} sim_expect_t;

typedef enum {
    SIM_CUT_DOWNLOAD = 0, /* cuts fall on the flash operations of the download */
    SIM_CUT_ANYWHERE,     /* on any flash operation from the first request to the confirm */
} sim_cut_where_t;

/* The faults that fall on a transfer. */
typedef enum {
    SIM_FAULT_DROP = 0, /* the connection breaks mid-body */
    SIM_FAULT_STALL,    /* the body stops for a while */
    SIM_FAULT_FLIP,     /* one bit of a body piece flips */
    SIM_FAULT_KINDS,
} sim_fault_kind_t;

/* A fault is either a count of events over the whole run or a rate per opportunity. */
typedef struct {
    uint32_t count;
    double rate; /* 0..1 */
} sim_fault_spec_t;

typedef struct {
    /* the fleet */
    uint32_t devices;
    uint32_t first_id;
    const char *id_prefix;
    const char *product;
    fota_mode_t mode;
    const char *image_path;
    const char *release_key_path;
    const char *master_path;
    uint32_t slot_size;    /* 0: the initial image's size plus a quarter */
    bool full_flash;       /* Arduino's 4 MB layout instead of the compact one */
    const char *flash_dir; /* NULL: flash in memory */
    bool no_share;         /* every device its whole flash, not the shared template's sectors */
    bool esp_idf;          /* devices run the ESP-IDF component (hw_esp.c), not the agent alone */
    /* the server */
    const char *server_url;
    const char *ca_file; /* https: the CA fotad's certificate is verified with (NULL: system's) */
    const char *fotad_cmd;
    const char *fotad_log;
    const char *on_ready;
    uint32_t server_wait_ms; /* how long to wait for /healthz */
    /* the agents */
    uint32_t check_interval_ms;
    uint32_t retry_ms;
    uint32_t range_records;
    uint32_t progress_every;
    uint32_t security_floor;
    /* the run */
    uint32_t concurrency;
    uint32_t ramp_ms;
    uint32_t timeout_ms;
    uint32_t http_timeout_ms;
    uint32_t attempts;
    uint32_t reboot_ms;
    sim_expect_t expect;
    uint32_t linger_ms; /* --expect none: devices keep checking this long before they count idle */
    const char *target_version;
    uint64_t seed;
    /* faults */
    sim_fault_spec_t power_cuts;
    sim_cut_where_t cut_where;
    int cut_mode;                          /* -1 mixed, else fota_cut_mode_t */
    sim_fault_spec_t net[SIM_FAULT_KINDS]; /* --drops, --stalls, --flips */
    uint32_t stall_ms;
    uint32_t latency_ms;
    uint32_t jitter_ms;
    uint32_t restarts;
    bool restart_kill; /* SIGKILL (a crash) instead of SIGTERM */
    /* a bad release: these devices' self-test fails on fail_version (NULL: any version but
     * the initial one) */
    sim_fault_spec_t fail;
    const char *fail_version;
    /* output */
    const char *json_path;
    const char *rollout_token_path; /* --rollout-token: report the product's rollout by stage */
    bool progress;
    bool verbose;
} sim_config_t;

/* ---- one device ------------------------------------------------------------------------ */

typedef enum {
    DEV_RUN = 0, /* in the timer heap: poll the agent when due */
    DEV_DELAY,   /* a request waits out its added latency */
    DEV_QUEUED,  /* a request waits for a transfer slot */
    DEV_HTTP,    /* a transfer in flight */
    DEV_OFF,     /* powered off: power on when due */
    DEV_DONE,
} sim_phase_t;

typedef enum {
    OUT_NONE = 0,
    OUT_UPDATED,
    OUT_ROLLED_BACK,
    OUT_FAILED,
    OUT_IDLE, /* never offered anything (--expect none) */
    OUT_BRICKED,
    OUT_FOREIGN, /* booted a version that is neither the old nor a released one */
} sim_outcome_t;

/* Network faults planned by count: how many are left for this device and the chunk at which
 * the next one falls. */
typedef struct {
    uint32_t left;
    uint32_t at_chunk;
} sim_plan_t;

/* A fault placed on one transfer: the body byte it falls on. */
typedef struct {
    int64_t at;   /* -1: none */
    bool planned; /* taken from the device's plan (given back if it never fell) */
    bool fired;
} sim_xfault_t;

struct sim;
struct sim_xfer;

typedef struct sim_dev {
    struct sim *sim;
    uint32_t index;
    char id[SIM_ID_MAX];
    uint8_t key[32];
    fota_flash_emu_t *emu; /* the device's flash, whatever its kind */
    void *hw;              /* the kind's own state (sim_hw_ops_t) */
    sim_phase_t phase;
    uint32_t wake_ms;
    int32_t heap_pos; /* -1: not in the heap */
    struct sim_xfer *xfer;
    struct sim_dev *queue_next;
    const fota_http_request_t *req; /* the agent's request, while it is being performed */
    bool started;
    /* the update being installed, as the agent's verified manifest says */
    bool updating;
    uint64_t update_ops0;
    uint32_t image_size;  /* the new image's bytes (a delta's too: not its patch's) */
    uint32_t chunk_count; /* records of the download: the image's, or the patch's */
    uint32_t chunk_size;
    bool by_delta;  /* the download is a delta patch (docs/DELTA.md), not the full image */
    bool saw_delta; /* it downloaded a delta patch at least once */
    uint32_t delta_fallbacks; /* a delta given up (delta_failed), the full image downloaded */
    char release[FOTA_RELEASE_ID_LEN + 1];
    uint64_t high_pos; /* data received once: blob offset (chain) or chunks (seed) */
    /* faults planned for this device */
    uint32_t cuts_left;
    uint64_t cut_at; /* absolute flash op, UINT64_MAX: none armed */
    sim_plan_t plan[SIM_FAULT_KINDS];
    /* what happened */
    sim_outcome_t outcome;
    char reason[48];
    bool saw_offer;
    bool rolled_back;
    unsigned rollbacks; /* rollbacks seen; the agent retries until MAX_INSTALL_ATTEMPTS */
    unsigned checks_after_rollback; /* checks since the last rollback that offered nothing */
    bool installed;                 /* the boot slot switched to the new image */
    bool cut_in_first_boot;         /* a cut fell after that: it may roll the device back */
    bool selftest_failed;
    bool fails_selftest; /* planned: its self-test fails on the bad release (--fail-rate) */
    uint32_t attempts_failed;
    fota_err_t last_err;
    uint32_t cuts;
    uint32_t reboots;
    uint64_t rx;
    uint64_t tx;
    uint64_t data_rx;
    uint64_t redownload;
    uint32_t done_chunks; /* progress of the current download */
    double progress;      /* this device's share of the fleet's progress, 0..1 */
} sim_dev_t;

/* ---- one transfer ------------------------------------------------------------------------- */

typedef struct sim_xfer {
    CURL *easy;
    struct curl_slist *headers;
    sim_dev_t *dev;
    struct sim_xfer *next_free;
    bool begun;
    bool refused;    /* the agent stopped the transfer */
    bool dropped;    /* a dropped-connection fault stopped it */
    bool power_lost; /* the device lost power while it ran */
    bool paused;
    bool is_data;
    bool seed;
    uint32_t unit;     /* seed: chunk number; chain: first blob byte */
    uint32_t length;   /* chain: bytes asked for by the Range */
    uint64_t received; /* body bytes */
    sim_xfault_t fault[SIM_FAULT_KINDS];
    fota_curl_kept_headers_t kept; /* Retry-After, given to the agent with the status */
} sim_xfer_t;

/* ---- what a device is: its kind (hw_agent.c, hw_esp.c) ------------------------------------- */

/* What one power-on did. */
typedef struct {
    fota_err_t err;       /* FOTA_OK; FOTA_ERR_BOOT_NO_APP (bricked); a flash error (a cut) ... */
    bool selftest_failed; /* a new image failed its self-test during this power-on */
    bool reset;           /* ... and hangs until its watchdog resets it: power-cycle it. false:
                             it restarted into the old image by itself, inside the power-on */
} sim_boot_t;

typedef struct {
    const char *name;      /* "agent" or "esp-idf" (JSON, --verbose) */
    const char *title;     /* the summary's words for it */
    bool journal_on_flash; /* journal saves are flash operations (where power cuts can fall) */
    /* d->emu is open and provisioned: make the device, powered off. */
    fota_err_t (*open)(struct sim *s, sim_dev_t *d);
    void (*close)(sim_dev_t *d);
    /* Boot: bootloader, the application's start (the agent resumes from its journal), the
     * self-test of a new image. */
    void (*power_on)(sim_dev_t *d, sim_boot_t *out);
    /* The device's RAM is gone (a reboot or a cut; the flash keeps what it has). */
    void (*power_off)(sim_dev_t *d);
    /* The device's agent, with the device selected for the calls that follow; NULL when the
     * device has no running agent (off). */
    fota_agent_t *(*agent)(sim_dev_t *d);
    /* The running image's version ("" when off), and whether it still waits for its confirm. */
    const char *(*version)(const sim_dev_t *d);
    bool (*pending)(const sim_dev_t *d);
} sim_hw_ops_t;

extern const sim_hw_ops_t sim_hw_agent;
extern const sim_hw_ops_t sim_hw_esp_idf;

/* ---- the whole fleet ------------------------------------------------------------------------ */

typedef struct {
    uint64_t planned_cuts;
    uint64_t cuts;
    uint64_t net[SIM_FAULT_KINDS]; /* network faults that fell */
    uint64_t restarts;
    uint64_t requests;
    uint64_t http_errors;
    uint64_t reboots;
    uint64_t selftest_failures;
    uint64_t planned_selftest_failures; /* devices --fail-rate made fail the bad release */
    uint64_t delta_fallbacks;           /* delta downloads given up for the full image */
} sim_counters_t;

typedef struct {
    pid_t pid;
    char *cmd;     /* with {port} replaced */
    bool stopping; /* a restart sent the signal; start it again once it has exited */
    uint32_t stop_ms;
} sim_fotad_t;

/* Memory (and CPU) at one point of the run. */
typedef struct {
    uint64_t peak_rss;  /* the process's peak resident set so far (getrusage), bytes */
    uint64_t flash;     /* what the devices' flashes hold (fota_flash_emu_memory), bytes */
    double cpu_seconds; /* the process's user + system time so far */
} sim_memory_t;

typedef struct sim {
    sim_config_t cfg;
    const sim_hw_ops_t *hw; /* the devices' kind */
    char base_url[256];
    char *rollout_json; /* the rollout as fotad answered (--rollout-token), or NULL */
    /* trust and identity, shared by every device */
    uint8_t *master;
    size_t master_len;
    uint8_t release_der[128];
    size_t release_der_len;
    uint8_t *image;
    size_t image_len;
    char initial_version[FOTA_VERSION_MAX + 1];
    char versions[SIM_MAX_VERSIONS][FOTA_VERSION_MAX + 1]; /* released, from verified manifests */
    unsigned n_versions;
    fota_part_table_t table;
    uint32_t flash_size;
    fota_flash_template_t *tmpl; /* the provisioned flash every device starts from; NULL:
                                    --no-share or --flash-dir (each provisions its own) */
    /* the fleet */
    sim_dev_t *devs;
    uint32_t n_devs;
    uint32_t n_done;
    uint32_t n_updated;
    uint32_t n_rolled_back;
    uint32_t n_failed;
    double progress_sum; /* of the devices' progress */
    sim_dev_t **heap;
    uint32_t heap_len;
    sim_dev_t *queue_head;
    sim_dev_t *queue_tail;
    /* transfers */
    CURLM *multi;
    sim_xfer_t *xfers;
    sim_xfer_t *free_xfers;
    uint32_t in_flight;
    /* time and chance */
    uint32_t start_ms;
    uint64_t rng;
    uint64_t ops_per_update; /* measured from a clean update, 0 until one is seen */
    /* the server */
    sim_fotad_t fotad;
    uint32_t restarts_done;
    /* what happened */
    sim_counters_t n;
    uint64_t rx;
    uint64_t tx;
    uint64_t data_rx;
    uint64_t redownload;
    uint64_t firmware_bytes;
    double seconds;
    sim_memory_t mem_start; /* every device powered on, before the first request */
    sim_memory_t mem_end;   /* the run over, every device checked */
    int exit_code;
} sim_t;

/* ---- options.c ------------------------------------------------------------------------------ */
/* Parse the run command's arguments (argv[0] is "run"). Returns true to go on; false with
 * *exit_code set after --help (0) or a usage error (2). */
bool sim_options_parse(sim_config_t *cfg, int argc, char **argv, int *exit_code);
extern const char sim_run_usage[];

/* ---- setup.c -------------------------------------------------------------------------------- */
/* Load keys and the image, lay out and provision every device, power them on. Prints the error
 * and returns SIM_EXIT_SETUP on failure. */
int sim_setup(sim_t *s);
void sim_teardown(sim_t *s);
/* Power every device on for the first time (once the server's URL is known). Prints the error
 * and returns SIM_EXIT_SETUP if one does not start. */
int sim_setup_power_on(sim_t *s);
/* The device key of a device id, from the master secret. */
fota_err_t sim_device_key(const sim_t *s, const char *id, uint8_t out[32]);
/* The process's peak RSS so far and what the flashes hold now (the template's share included). */
void sim_measure_memory(const sim_t *s, sim_memory_t *out);

/* ---- sched.c: the timer heap and the slot queue --------------------------------------------- */
uint32_t sim_now_ms(void);
bool sim_due(uint32_t wake, uint32_t now);
fota_err_t sim_sched_init(sim_t *s);
void sim_sched_free(sim_t *s);
/* Put d in the heap (or move it) to wake at `at`. */
void sim_schedule(sim_t *s, sim_dev_t *d, uint32_t at);
void sim_unschedule(sim_t *s, sim_dev_t *d);
/* The device due first, or NULL if none is due at `now`. Removes it from the heap. */
sim_dev_t *sim_pop_due(sim_t *s, uint32_t now);
/* Milliseconds until the first wake (0 if due, UINT32_MAX if the heap is empty). */
uint32_t sim_next_wake(const sim_t *s, uint32_t now);
void sim_queue_push(sim_t *s, sim_dev_t *d);
sim_dev_t *sim_queue_pop(sim_t *s);

/* ---- faults.c ------------------------------------------------------------------------------- */
uint64_t sim_rand(sim_t *s);
double sim_rand_unit(sim_t *s);
uint64_t sim_rand_below(sim_t *s, uint64_t n);
/* Give devices their power cuts and (count-mode) network faults, from the seed. */
void sim_faults_assign(sim_t *s);
/* The device's update began (its manifest is verified): place the faults it carries. */
void sim_faults_update_begins(sim_t *s, sim_dev_t *d);
/* After a cut: arm the next one, if the device has more. */
void sim_faults_after_cut(sim_t *s, sim_dev_t *d);
/* A new transfer: decide which faults fall on it and at which body byte. */
void sim_faults_for_xfer(sim_t *s, sim_dev_t *d, sim_xfer_t *x);
/* The transfer is over: planned faults that never fell go back to the device's plan. */
void sim_faults_xfer_over(sim_t *s, sim_dev_t *d, sim_xfer_t *x);
/* Added latency before a request, in ms. */
uint32_t sim_faults_latency(sim_t *s);

/* ---- device.c ------------------------------------------------------------------------------- */
fota_err_t sim_device_open(sim_t *s, sim_dev_t *d, uint32_t index);
void sim_device_close(sim_dev_t *d);
/* The first power-on (setup): FOTA_OK or why the device does not start. */
fota_err_t sim_device_first_boot(sim_t *s, sim_dev_t *d);
/* The device's agent with the device selected (sim_hw_ops_t.agent); NULL when it is off. */
fota_agent_t *sim_agent(sim_dev_t *d);
/* The device is due: poll its agent, power it on, start its delayed request. */
void sim_device_due(sim_t *s, sim_dev_t *d);
/* Its transfer is over (the agent has been told); poll again now. */
void sim_device_after_http(sim_t *s, sim_dev_t *d);
/* The emulated flash was cut during an agent call: the device is off. */
void sim_device_power_lost(sim_t *s, sim_dev_t *d);
/* The run is over: classify what each device that is not done is doing. */
void sim_device_finish(sim_t *s, sim_dev_t *d, bool timed_out);
bool sim_device_cut(const sim_dev_t *d);
/* After the run: reboot once more and check what boots. */
void sim_device_final_check(sim_t *s, sim_dev_t *d);
/* The agent's event hook. */
/* The self-test hook of the emulated devices: true when d's self-test fails on `version`
 * (--fail-rate, --fail-version). */
bool sim_device_selftest_fails(void *ctx, const char *version);
void sim_device_on_event(void *ctx, const fota_event_t *ev);

/* ---- xfer.c --------------------------------------------------------------------------------- */
fota_err_t sim_xfer_init(sim_t *s);
void sim_xfer_free(sim_t *s);
/* Start the device's pending request (from fota_agent_poll) on a free transfer. */
void sim_xfer_start(sim_t *s, sim_dev_t *d, const fota_http_request_t *req);
bool sim_xfer_slot_free(const sim_t *s);
/* Collect the transfers curl has finished and tell their agents. */
void sim_xfer_collect(sim_t *s);
/* A stalled transfer's pause is over. */
void sim_xfer_resume(sim_t *s, sim_xfer_t *x);
/* Drop the transfer of a device that lost power (the agent is not told: it is off). */
void sim_xfer_abandon(sim_t *s, sim_xfer_t *x);

/* ---- loop.c --------------------------------------------------------------------------------- */
int sim_run(sim_t *s);
/* Fraction of the fleet's download done, 0..1, and a device's share of it. */
double sim_fleet_progress(const sim_t *s);
void sim_set_progress(sim_t *s, sim_dev_t *d, double p);

/* ---- fotad.c -------------------------------------------------------------------------------- */
/* Start the server command (if any) and wait for /healthz; run the --on-ready command. */
int sim_fotad_start(sim_t *s);
/* Stop it and start it again (the devices notice on their own); the new one starts from
 * sim_fotad_tick() once the old one has exited, without blocking the loop. */
void sim_fotad_restart(sim_t *s);
void sim_fotad_tick(sim_t *s);
void sim_fotad_stop(sim_t *s);

/* ---- progress.c and report.c ---------------------------------------------------------------- */
void sim_progress_draw(sim_t *s, bool final);
/* With --rollout-token: the newest rollout of the product, per stage, from fotad's admin API:
 * printed, and kept in s->rollout_json for the JSON summary. */
void sim_rollout_report(sim_t *s);

/* Compute the verdict (exit code), print the summary table, write --json. */
int sim_report(sim_t *s);
void sim_log(const sim_t *s, const sim_dev_t *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* FOTA_SIM_H */
