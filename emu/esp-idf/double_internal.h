/*
 * double_internal.h - what the ESP-IDF API double's modules share: the emulated device, the
 * global scheduler lock, the thread-local current task and device, and each module's entry points
 * for power-on and power-off. Not installed; the public face is esp_double.h and the ESP-IDF
 * headers in include/.
 *
 * Locks. dbl_lock() (one mutex for all devices) guards the scheduler state: tasks, notification
 * counts, semaphores, the restart flag, and every wait (each device has one condition variable,
 * dev->cond, that every blocked thread of that device waits on). dev->io serialises a device's
 * flash, NVS and state-file work, as ESP-IDF's own driver locks do. Order: io may be taken
 * first and the scheduler lock inside it, never the reverse; no thread ever waits while holding io.
 */
#ifndef ESP_DOUBLE_INTERNAL_H
#define ESP_DOUBLE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#include "esp_app_desc.h"
#include "esp_double.h"
#include "esp_err.h"
#include "esp_http_client.h"
#include "esp_partition.h"
#include "fota/emu/partition.h"

#define DBL_TAG "esp_double"
#define DBL_FOREVER INT64_MAX

typedef struct tskTaskControlBlock dbl_task_t;
typedef struct QueueDefinition dbl_sem_t;
typedef struct dbl_nvs_rt dbl_nvs_rt_t;

/* ---- NVS contents (nvs_store.c) -------------------------------------------------------------- */

#define DBL_NVS_NAME_MAX 15 /* characters of a key or namespace name */

typedef struct dbl_nvs_item {
    struct dbl_nvs_item *next;
    char ns[DBL_NVS_NAME_MAX + 1];
    char key[DBL_NVS_NAME_MAX + 1];
    uint8_t type; /* nvs_type_t */
    size_t len;
    uint8_t *data;
} dbl_nvs_item_t;

typedef struct dbl_nvs_name {
    struct dbl_nvs_name *next;
    char name[DBL_NVS_NAME_MAX + 1];
} dbl_nvs_name_t;

/* One NVS partition's contents: its namespaces (in creation order) and items. */
typedef struct dbl_nvs_part {
    struct dbl_nvs_part *next;
    char label[FOTA_PART_LABEL_MAX + 1];
    dbl_nvs_name_t *namespaces;
    dbl_nvs_item_t *items;
} dbl_nvs_part_t;

typedef struct {
    dbl_nvs_part_t *parts;
} dbl_nvs_store_t;

dbl_nvs_part_t *dbl_nvs_part_new(const char *label);
void dbl_nvs_part_free(dbl_nvs_part_t *p);
dbl_nvs_part_t *dbl_nvs_part_clone(const dbl_nvs_part_t *p); /* NULL when out of memory */
dbl_nvs_part_t *dbl_nvs_store_find(const dbl_nvs_store_t *s, const char *label);
/* Put p in s, replacing (and freeing) a partition of the same label. */
void dbl_nvs_store_put(dbl_nvs_store_t *s, dbl_nvs_part_t *p);
void dbl_nvs_store_clear(dbl_nvs_store_t *s);
/* Namespace and item lookups compare the first 15 characters, as ESP-IDF does. */
bool dbl_nvs_has_ns(const dbl_nvs_part_t *p, const char *ns);
bool dbl_nvs_add_ns(dbl_nvs_part_t *p, const char *ns);
dbl_nvs_item_t *dbl_nvs_find(const dbl_nvs_part_t *p, const char *ns, const char *key);
/* Set (replacing any item of that key, whatever its type); false when out of memory. */
bool dbl_nvs_set(dbl_nvs_part_t *p, const char *ns, const char *key, uint8_t type, const void *data,
                 size_t len);
void dbl_nvs_erase(dbl_nvs_part_t *p, dbl_nvs_item_t *item);
/* NVS entries used (ESP-IDF's accounting), with `item` (if not NULL) counted as replaced by an
 * item of type/len under the same key. */
size_t dbl_nvs_entries(const dbl_nvs_part_t *p, const dbl_nvs_item_t *replaced, uint8_t type,
                       size_t len, bool adding);
size_t dbl_nvs_item_entries(uint8_t type, size_t len);

/* ---- the state file (state.c) ---------------------------------------------------------------- */

/* Load the state file (absent: empty store and *efuse left as it is). */
fota_err_t dbl_state_load(const char *path, dbl_nvs_store_t *store, uint32_t *efuse);
/* Write the state atomically; a no-op without a path. */
fota_err_t dbl_state_save(const char *path, const dbl_nvs_store_t *store, uint32_t efuse);

/* ---- the device (device.c) ------------------------------------------------------------------- */

struct esp_double_device {
    char name[32];
    char *state_path; /* NULL: in memory */
    bool anti_rollback;
    bool manual_clock;
    uint8_t mac[6];
    fota_flash_emu_t *emu;
    bool own_emu;
    fota_flash_t flash;
    pthread_mutex_t io;

    /* power: `powered` is read without locks by every call */
    atomic_bool powered;
    bool bricked;
    bool restart_requested; /* scheduler lock */
    unsigned boots;
    fota_boot_info_t boot;
    fota_part_table_t table;
    esp_partition_t *parts; /* table order; valid while powered */
    size_t nparts;
    const esp_partition_t *running;
    esp_app_desc_t app_desc;

    /* clock: device time = host monotonic - boot_mono_us, or manual_us */
    int64_t boot_mono_us;
    _Atomic int64_t manual_us;
    _Atomic uint64_t rng;
    bool rng_seeded;

    /* eFuse secure version (io lock), persisted in the state file */
    uint32_t secure_version;

    /* scheduler (scheduler lock) */
    pthread_cond_t cond;
    dbl_task_t *tasks;
    dbl_sem_t *sems;

    /* NVS (io lock): committed = the state file; rt = this power-on's live state */
    dbl_nvs_store_t committed;
    dbl_nvs_rt_t *nvs;

    /* HTTP handles created on this device (scheduler lock for the list) */
    struct esp_http_client *clients;
};

void dbl_lock(void);
void dbl_unlock(void);

/* The calling thread's device (NULL: none) and task (NULL: not a task). */
esp_double_device_t *dbl_dev(void);
void dbl_set_dev(esp_double_device_t *dev);
dbl_task_t *dbl_task(void);

/* The device, if it is selected, powered and its flash not cut; else NULL (and a log line says
 * why when `what` is not NULL). Begins with a checkpoint. */
esp_double_device_t *dbl_running(const char *what);

/* dbl_running, then the device's io lock taken: NULL with *err set when no device is selected
 * (ESP_ERR_INVALID_STATE), or it is off or its flash is cut (`off_err`: what the calling family
 * of ESP-IDF calls returns then). dbl_end_io releases the lock and returns err. */
esp_double_device_t *dbl_begin_io(const char *what, esp_err_t off_err, esp_err_t *err);
esp_err_t dbl_end_io(esp_double_device_t *dev, esp_err_t err);

/* Device time in microseconds; host time since the first call with dev NULL. */
int64_t dbl_now_us(esp_double_device_t *dev);
int64_t dbl_mono_us(void);

/* Map a flash error of the emulator to ESP-IDF's. */
esp_err_t dbl_flash_err(fota_err_t err);

/* ---- scheduler (freertos.c) ------------------------------------------------------------------ */

/* If the calling task was deleted or its device powered off, end its thread (no return). Call
 * with no lock held. */
void dbl_checkpoint(void);
/* Scheduler lock held: the calling task must stop (deleted or its device off). */
bool dbl_must_stop_locked(void);
/* Scheduler lock held: end the calling task's thread. */
_Noreturn void dbl_task_exit_locked(dbl_task_t *t);
/* Scheduler lock held: wait on dev's condition until woken or the device time `deadline_us`
 * (DBL_FOREVER: no limit). */
void dbl_wait_locked(esp_double_device_t *dev, int64_t deadline_us);
/* Scheduler lock held: wait on c until woken or the CLOCK_MONOTONIC time abs. */
void dbl_timedwait_locked(pthread_cond_t *c, const struct timespec *abs);
/* Stop and join every task of dev, free its semaphores (power-off). */
void dbl_tasks_stop(esp_double_device_t *dev);
/* Scheduler lock held: the calling thread is one of dev's tasks. */
bool dbl_is_task_of(esp_double_device_t *dev);

/* ---- NVS runtime (nvs.c) ----------------------------------------------------------------------
 */

void dbl_nvs_power_off(esp_double_device_t *dev); /* io lock held */

/* ---- HTTP (http_client.c: handles; http_transfer.c: the transfer over libcurl) ----------------
 */

typedef struct dbl_http_header {
    struct dbl_http_header *next;
    char *key;
    char *value;
} dbl_http_header_t;

typedef enum {
    DBL_HTTP_IDLE = 0, /* no request, or closed */
    DBL_HTTP_SENT,     /* open: request line and headers sent */
    DBL_HTTP_HEAD,     /* fetch_headers: response head read, body next */
} dbl_http_state_t;

struct esp_http_client {
    struct esp_http_client *next; /* in dev->clients */
    esp_double_device_t *dev;     /* NULL: created with no device selected */

    /* configuration */
    char *url;
    esp_http_client_method_t method;
    int timeout_ms;
    int buffer_size;
    http_event_handle_cb handler;
    void *user_data;
    esp_http_client_event_t event;
    bool is_async;
    bool verify_ok; /* https has a CA (cert_pem) or the bundle */
    char *ca_pem;
    size_t ca_len;
    bool skip_cn;
    char *username;
    char *password;
    bool basic_auth;
    bool keep_alive;
    long keep_idle;
    long keep_intvl;
    dbl_http_header_t *req_headers;

    /* libcurl: the multi handle holds the connection between requests */
    CURLM *multi;
    CURL *easy;
    bool attached;
    struct curl_slist *slist;

    /* the request */
    dbl_http_state_t state;
    int64_t write_len;
    int64_t written;
    const char *wbuf;
    size_t wlen;
    size_t wpos;
    bool send_paused;
    bool recv_paused;
    bool headers_out;
    bool done;
    CURLcode result;
    int64_t last_progress_us;

    /* the response */
    int status;      /* what get_status_code says */
    int resp_status; /* parsed from the status line */
    bool head_done;
    bool has_length;
    bool chunked_te;
    bool is_chunked;
    int64_t length_hdr;
    int64_t content_length;
    dbl_http_header_t *resp_headers;
    uint8_t *rbuf; /* bounded body buffer */
    size_t rcap;
    size_t rstart;
    size_t rlen;
    int64_t received; /* body bytes taken from libcurl */
};

void dbl_http_power_off(esp_double_device_t *dev);
void dbl_http_dispatch(esp_http_client_handle_t c, esp_http_client_event_id_t id, void *data,
                       int len);
void dbl_http_headers_free(dbl_http_header_t **list);
const char *dbl_http_method_name(esp_http_client_method_t m);
/* The transfer (http_transfer.c). */
typedef enum { DBL_DRIVE_MET, DBL_DRIVE_DONE, DBL_DRIVE_TIMEOUT } dbl_drive_t;
/* Forget the request and response of the last transfer; write_len for the next. */
void dbl_http_reset(esp_http_client_handle_t c, int write_len);
/* libcurl handles, the body buffer and the request headers; ESP_ERR_NO_MEM. */
esp_err_t dbl_http_prepare(esp_http_client_handle_t c);
/* Start the request: ESP_OK once its head is sent; ESP_ERR_HTTP_CONNECT, _WRITE_DATA, ESP_FAIL. */
esp_err_t dbl_http_start(esp_http_client_handle_t c);
/* Run the transfer until met(c), its end, or timeout_ms without progress. */
dbl_drive_t dbl_http_drive(esp_http_client_handle_t c, bool (*met)(esp_http_client_handle_t));
/* Let libcurl take upload bytes again / deliver body bytes again (once the buffer is empty). */
void dbl_http_resume_send(esp_http_client_handle_t c);
void dbl_http_resume_recv(esp_http_client_handle_t c);
/* Drop the transfer, and with drop_conn the connection too; free all of it. */
void dbl_http_detach(esp_http_client_handle_t c, bool drop_conn);
void dbl_http_transfer_free(esp_http_client_handle_t c);

/* ---- OTA (ota.c) ----------------------------------------------------------------------------- */

/* Decode the 256-byte descriptor (field by field, little-endian). */
void dbl_app_desc_decode(const uint8_t raw[256], esp_app_desc_t *out);
/* The descriptor the bootloader parsed (reserved fields zero). */
void dbl_app_desc_from_image(const fota_esp_app_desc_t *in, esp_app_desc_t *out);

#endif /* ESP_DOUBLE_INTERNAL_H */
