/*
 * esp_double.h - the harness of the ESP-IDF API double: emulated ESP32 devices that code written
 * against ESP-IDF v5.5 (ports/esp-idf) runs on, on a Linux host, unchanged.
 *
 * The double's headers (esp_partition.h, esp_ota_ops.h, nvs.h, esp_http_client.h,
 * freertos/task.h, ...) declare the ESP-IDF functions that code calls, with ESP-IDF's names,
 * types and values; the double implements them over the emulated ESP32 of emu/ (NOR flash with
 * power cuts, partition table, otadata, bootloader) and over libcurl for HTTP. A test or a tool
 * (fota-sim) runs one or many devices in one process with this header.
 *
 * Devices and threads. Every ESP-IDF call acts on the device selected for the calling thread
 * (esp_double_select, thread-local); a task created by xTaskCreate acts on its creator's device.
 * With no device selected, calls that need one fail (ESP_ERR_INVALID_STATE, NULL, or the call's
 * own failure code) and log why.
 *
 * Power. esp_double_power_on() runs the emulated bootloader (rollback rules included): it fixes
 * the running partition, its app descriptor and its otadata state, and leaves NVS uninitialised,
 * as after a reset. esp_double_power_off() is a power cut: the device's RAM is gone. Its tasks
 * stop, its semaphores, NVS handles and HTTP handles are freed (pointers to them are invalid),
 * what was set in NVS and not committed is lost, partition pointers are invalid. What survives
 * is the flash and the device's state file (committed NVS, eFuse). When a planned cut of the
 * emulated flash fires (fota_flash_emu_plan_cut on esp_double_flash(dev)), the call that was cut
 * and every later flash call fails with ESP_ERR_FLASH_OP_FAIL, NVS calls with ESP_FAIL, HTTP
 * calls with ESP_FAIL / -1, until the harness power-cycles the device (esp_double_cut says so).
 *
 * Reset model. esp_restart() never returns.
 *   - Called on a task (a thread of xTaskCreate), it flags the device "restart requested"
 *     (esp_double_restart_requested, esp_double_wait_restart) and parks the task: its thread
 *     ends when the task is deleted (vTaskDelete from another thread) or the device is powered
 *     off. The harness then power-cycles the device and starts the app again.
 *   - Called on any other thread (the harness's own, running app code directly), it flags the
 *     device and longjmps to the restart point that thread armed for that device with
 *     ESP_DOUBLE_RESTART_POINT(dev), which then evaluates nonzero. Without an armed point it
 *     prints a message and aborts. Locals of the arming function that change after arming must
 *     be volatile (setjmp rules); disarm before that function returns.
 *   esp_ota_mark_app_invalid_rollback_and_reboot() restarts the same way once otadata is written.
 * Stopping a thread is cooperative: a task ends inside the double call it is blocked in
 * (ulTaskNotifyTake, xSemaphoreTake, vTaskDelay, esp_restart, an HTTP wait) or at the start of
 * its next double call, after releasing the double's own locks (pthread_exit). vTaskDelete of
 * another task and esp_double_power_off return once those threads have ended (joined). A task
 * spinning in its own code without calling into the double cannot be stopped. Power-off must not
 * be called from one of the device's own tasks, nor while a non-task thread is inside a call on
 * that device.
 *
 * Time. Each device has its own clock: esp_timer_get_time() is microseconds since its power-on,
 * xTaskGetTickCount() the same in 10 ms ticks; vTaskDelay and every timeout in ticks wait on it.
 * With manual_clock the clock moves only with esp_double_advance_ms(); HTTP timeouts are real
 * time always (they are socket timeouts).
 *
 * Return codes of the ESP-IDF calls (ESP-IDF v5.5's own, from its sources):
 *   esp_partition_read/write/erase_range: ESP_OK; ESP_ERR_INVALID_ARG (NULL, offset past the
 *     end, erase offset not sector-aligned); ESP_ERR_INVALID_SIZE (range past the end, erase
 *     size not a multiple of 4096); ESP_ERR_NOT_ALLOWED (write/erase of a read-only partition);
 *     ESP_ERR_FLASH_OP_FAIL (power cut, or a write onto unerased bytes in strict NOR mode).
 *   esp_ota_set_boot_partition: ESP_OK; ESP_ERR_INVALID_ARG (NULL, not an app, not an OTA slot
 *     or factory); ESP_ERR_OTA_VALIDATE_FAILED (the image fails esp_image_verify's checks: this
 *     comes before the type check, as in ESP-IDF); ESP_ERR_OTA_SMALL_SEC_VER (anti-rollback: image
 *     secure_version below the eFuse); ESP_ERR_NOT_FOUND (no otadata); ESP_ERR_FLASH_OP_FAIL.
 *   esp_ota_get_state_partition: ESP_OK; ESP_ERR_INVALID_ARG (NULL); ESP_ERR_NOT_SUPPORTED (not
 *     an OTA app partition); ESP_ERR_NOT_FOUND (no otadata, or no entry with a good CRC for it).
 *   esp_ota_mark_app_valid_cancel_rollback: ESP_OK (also when already valid); ESP_FAIL (no
 *     active otadata entry: the factory app runs); ESP_ERR_NOT_FOUND (no otadata);
 *     ESP_ERR_FLASH_OP_FAIL. Marks the active otadata entry VALID, as ESP-IDF does; with
 *     anti-rollback it then raises the eFuse secure version to the running app's.
 *   esp_ota_mark_app_invalid_rollback_and_reboot: does not return on success;
 *     ESP_ERR_OTA_ROLLBACK_FAILED (no other valid app to go back to); ESP_FAIL (no active entry);
 *     ESP_ERR_NOT_FOUND (no otadata); ESP_ERR_FLASH_OP_FAIL.
 *   esp_ota_get_partition_description: ESP_OK; ESP_ERR_INVALID_ARG; ESP_ERR_NOT_SUPPORTED (not
 *     an app partition); ESP_ERR_NOT_FOUND (magic word wrong); flash errors.
 *   nvs_flash_init[_partition]: ESP_OK; ESP_ERR_NOT_FOUND (no data/nvs partition so labelled);
 *     ESP_ERR_INVALID_ARG (label over 16 characters); ESP_FAIL (power cut).
 *   nvs_open[_from_partition]: ESP_OK; ESP_ERR_NVS_NOT_INITIALIZED (no partition initialised);
 *     ESP_ERR_NVS_PART_NOT_FOUND (that partition not initialised or unknown);
 *     ESP_ERR_NVS_NOT_FOUND (READONLY and no such namespace); ESP_ERR_NVS_KEY_TOO_LONG (creating
 *     a namespace over 15 characters); ESP_ERR_NOT_ALLOWED (READWRITE on a read-only
 *     partition); ESP_ERR_NVS_NOT_ENOUGH_SPACE; ESP_ERR_INVALID_ARG.
 *   nvs_set_*: ESP_ERR_NVS_INVALID_HANDLE; ESP_ERR_NVS_READ_ONLY; ESP_ERR_NVS_KEY_TOO_LONG;
 *     ESP_ERR_NVS_VALUE_TOO_LONG (string over 4000 bytes with its NUL, blob over what the
 *     partition can hold); ESP_ERR_NVS_NOT_ENOUGH_SPACE (ESP-IDF's entry accounting: 126
 *     32-byte entries per 4 KiB page, one page kept free).
 *   nvs_get_*: ESP_ERR_NVS_INVALID_HANDLE; ESP_ERR_NVS_NOT_FOUND (no such key of that type);
 *     ESP_ERR_NVS_INVALID_LENGTH (length NULL, or buffer too small: *length is then set to the
 *     size needed; out_value NULL returns the size with ESP_OK).
 *   nvs_erase_key: ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_NOT_FOUND; nvs_commit: ESP_OK,
 *     ESP_ERR_NVS_INVALID_HANDLE, ESP_FAIL (state file not written; the commit did not happen).
 *   All NVS calls: ESP_FAIL once the emulated power is cut.
 *   esp_http_client_*: see esp_http_client.h. open: ESP_OK, ESP_ERR_HTTP_CONNECT (connect failed
 *     or timed out), ESP_ERR_HTTP_WRITE_DATA, ESP_ERR_INVALID_ARG (is_async over http),
 *     ESP_ERR_HTTP_INVALID_TRANSPORT (scheme not http/https), ESP_FAIL. fetch_headers: length,
 *     0, ESP_FAIL, -ESP_ERR_HTTP_EAGAIN. read: bytes, 0, -1, -ESP_ERR_HTTP_EAGAIN.
 */
#ifndef ESP_DOUBLE_H
#define ESP_DOUBLE_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"
#include "fota/emu/bootloader.h"
#include "fota/emu/flash_emu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct esp_double_device esp_double_device_t;

typedef struct {
    const char *name; /* in log lines; NULL: "esp32" */
    /* The flash: an open emulated flash provisioned by fota_device_provision (the caller keeps
     * it and closes it after esp_double_device_close), or else the path of a provisioned flash
     * file, which the device opens and closes itself. */
    fota_flash_emu_t *flash;
    const char *flash_path;
    /* The device's state file: committed NVS contents of every NVS partition and the eFuse
     * secure version, rewritten atomically (temporary file, fsync, rename) at every NVS commit
     * and eFuse change, read at open. NULL: the state lives in memory only (it survives power
     * cycles, not the process). */
    const char *state_path;
    uint8_t mac[6];                /* base MAC, esp_efuse_mac_get_default */
    uint32_t efuse_secure_version; /* the eFuse's value when the state file has none yet */
    bool anti_rollback;            /* CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK behaviour */
    bool strict_nor;      /* set on the flash (a passed-in one too): refuse writes onto unerased
                             bytes; off (default): real NOR, where a write ANDs */
    bool manual_clock;    /* time moves only with esp_double_advance_ms */
    uint64_t random_seed; /* esp_random: 0 = the host's entropy; else reproducible per device */
} esp_double_config_t;

typedef struct {
    fota_err_t err;        /* FOTA_OK, FOTA_ERR_BOOT_NO_APP (bricked), a flash error */
    fota_boot_info_t boot; /* what the bootloader did (valid when err is FOTA_OK) */
    unsigned boots;        /* power-ons of this device so far, this one included */
} esp_double_boot_t;

/* Open a device (powered off). FOTA_ERR_ARG without a flash; the flash file's or the state
 * file's error (FOTA_ERR_FLASH_FILE, FOTA_ERR_IO, FOTA_ERR_TRUNCATED for a damaged state file).
 * The device is allocated; esp_double_device_close powers it off and frees it. */
fota_err_t esp_double_device_open(const esp_double_config_t *cfg, esp_double_device_t **out);
void esp_double_device_close(esp_double_device_t *dev);

/* The device ESP-IDF calls from this thread act on (NULL: none). */
void esp_double_select(esp_double_device_t *dev);
esp_double_device_t *esp_double_selected(void);

/* Power on (a reset if it is on): bootloader, then the app may run. FOTA_ERR_BOOT_NO_APP when
 * nothing can boot (the device stays off, bricked); a flash error when the power is cut during
 * the boot. info may be NULL. */
fota_err_t esp_double_power_on(esp_double_device_t *dev, esp_double_boot_t *info);
void esp_double_power_off(esp_double_device_t *dev);
bool esp_double_is_powered(esp_double_device_t *dev);

/* esp_restart() was called since the last power-on. wait: until then or timeout_ms (real time);
 * true if it was. */
bool esp_double_restart_requested(esp_double_device_t *dev);
bool esp_double_wait_restart(esp_double_device_t *dev, uint32_t timeout_ms);

/* The emulated flash has been cut (the device must be power-cycled). */
bool esp_double_cut(esp_double_device_t *dev);
/* The device's emulated flash (for cut plans, stats, inspection). */
fota_flash_emu_t *esp_double_flash(esp_double_device_t *dev);
/* What the last power-on booted. */
const fota_boot_info_t *esp_double_boot_info(esp_double_device_t *dev);

/* The running image's self-test decision, as the emulated app makes it (image_build.h): false
 * when the image carries FOTA_EMU_FLAG_SELFTEST_FAIL, or the device is off. */
bool esp_double_selftest_passes(esp_double_device_t *dev);

/* Manual clock: move the device's time forward (wakes delays and timeouts that are due). */
void esp_double_advance_ms(esp_double_device_t *dev, uint32_t ms);

/* The eFuse secure version (what esp_efuse_read_secure_version returns on the device). */
uint32_t esp_double_efuse_secure_version(esp_double_device_t *dev);

/*
 * Factory NVS: replace the contents of the device's NVS partition `label` (NULL: "nvs") with a
 * CSV in the format of ESP-IDF's nvs_partition_gen.py: header "key,type,encoding,value", then
 * "name,namespace,," rows and "key,data,<encoding>,<value>" rows with encodings u8, i8, u16, i16,
 * u32, i32, u64, i64, string, hex2bin, base64 (binary: the value's bytes as a blob). "file" rows
 * are refused (FOTA_ERR_UNSUPPORTED). '#' lines and blank lines are skipped; fields may be
 * double-quoted. The device must be off (FOTA_ERR_STATE); the label must name a data/nvs
 * partition of its table (FOTA_ERR_NOT_FOUND). On a syntax error (FOTA_ERR_ARG, a name too long,
 * a value out of range) *err_line is the 1-based line and msg says why; nothing changes.
 */
fota_err_t esp_double_nvs_load_csv(esp_double_device_t *dev, const char *label, const char *csv,
                                   int *err_line, char *msg, size_t msg_len);

/* Restart point of this thread for dev (see the reset model). Use as
 *     if (ESP_DOUBLE_RESTART_POINT(dev)) { ...esp_restart() came back here... }
 * and call esp_double_restart_disarm() before the arming function returns. */
jmp_buf *esp_double_restart_arm_(esp_double_device_t *dev);
void esp_double_restart_disarm(void);
#define ESP_DOUBLE_RESTART_POINT(dev) (setjmp(*esp_double_restart_arm_(dev)) != 0)

#ifdef __cplusplus
}
#endif

#endif /* ESP_DOUBLE_H */
