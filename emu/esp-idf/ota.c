/*
 * ota.c - esp_ota_* and esp_app_get_description of the ESP-IDF API double, with app rollback
 * and, per device, anti-rollback.
 *
 * Each function follows ESP-IDF v5.5's esp_ota_ops.c step by step (its checks, in its order,
 * and its return codes) over the emulator's otadata and bootloader code: images are validated
 * with fota_esp_image_check (what esp_image_verify checks), a new boot slot is written by
 * fota_ota_set_boot_slot (ESP-IDF's sequence arithmetic, into the other otadata copy, state NEW),
 * and the confirm/rollback calls rewrite the active otadata entry as esp_ota_ops.c does: the
 * active one, whichever slot it names. The eFuse secure version is raised on confirmation with
 * anti-rollback on, and kept in the device's state file.
 */
#include "double_internal.h"

#include <string.h>

#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_system.h"
#include "fota/bytes.h"
#include "fota/emu/otadata.h"

#define APP_DESC_AT 32u /* sizeof(esp_image_header_t) + sizeof(esp_image_segment_header_t) */

/* ---- app descriptor -------------------------------------------------------------------------- */

void dbl_app_desc_decode(const uint8_t raw[256], esp_app_desc_t *out)
{
    memset(out, 0, sizeof *out);
    out->magic_word = fota_get_le32(raw);
    out->secure_version = fota_get_le32(raw + 4);
    out->reserv1[0] = fota_get_le32(raw + 8);
    out->reserv1[1] = fota_get_le32(raw + 12);
    memcpy(out->version, raw + 16, sizeof out->version);
    memcpy(out->project_name, raw + 48, sizeof out->project_name);
    memcpy(out->time, raw + 80, sizeof out->time);
    memcpy(out->date, raw + 96, sizeof out->date);
    memcpy(out->idf_ver, raw + 112, sizeof out->idf_ver);
    memcpy(out->app_elf_sha256, raw + 144, sizeof out->app_elf_sha256);
    out->min_efuse_blk_rev_full = fota_get_le16(raw + 176);
    out->max_efuse_blk_rev_full = fota_get_le16(raw + 178);
    out->mmu_page_size = raw[180];
    memcpy(out->reserv3, raw + 181, sizeof out->reserv3);
    for (size_t i = 0; i < 18; i++) {
        out->reserv2[i] = fota_get_le32(raw + 184 + 4 * i);
    }
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    memcpy(dst, src, n < cap ? n : cap);
}

void dbl_app_desc_from_image(const fota_esp_app_desc_t *in, esp_app_desc_t *out)
{
    memset(out, 0, sizeof *out);
    out->magic_word = in->magic_word;
    out->secure_version = in->secure_version;
    copy_field(out->version, sizeof out->version, in->version);
    copy_field(out->project_name, sizeof out->project_name, in->project_name);
    copy_field(out->time, sizeof out->time, in->time);
    copy_field(out->date, sizeof out->date, in->date);
    copy_field(out->idf_ver, sizeof out->idf_ver, in->idf_ver);
    memcpy(out->app_elf_sha256, in->app_elf_sha256, sizeof out->app_elf_sha256);
}

const esp_app_desc_t *esp_app_get_description(void)
{
    esp_double_device_t *dev = dbl_dev();
    if (dev == NULL) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "esp_app_get_description: no device selected");
        return NULL;
    }
    return &dev->app_desc;
}

/* ---- helpers --------------------------------------------------------------------------------- */

static const esp_partition_t *find(const esp_double_device_t *d, uint8_t type, uint8_t subtype)
{
    for (size_t i = 0; i < d->nparts; i++) {
        if (d->parts[i].type == type && d->parts[i].subtype == subtype) {
            return &d->parts[i];
        }
    }
    return NULL;
}

static bool is_ota_slot(const esp_partition_t *p)
{
    return p->type == ESP_PARTITION_TYPE_APP && p->subtype >= ESP_PARTITION_SUBTYPE_APP_OTA_0 &&
           p->subtype < ESP_PARTITION_SUBTYPE_APP_OTA_MAX;
}

static unsigned ota_count(const esp_double_device_t *d)
{
    return fota_part_ota_count(&d->table);
}

static const esp_partition_t *ota_slot(const esp_double_device_t *d, unsigned slot)
{
    return find(d, ESP_PARTITION_TYPE_APP, (uint8_t)(ESP_PARTITION_SUBTYPE_APP_OTA_0 + slot));
}

static esp_err_t read_otadata(esp_double_device_t *d, const esp_partition_t **part,
                              fota_ota_entry_t e[2])
{
    *part = find(d, ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_OTA);
    if (*part == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    return dbl_flash_err(fota_otadata_read(&d->flash, (*part)->address, e));
}

typedef struct {
    esp_double_device_t *dev;
    const esp_partition_t *part;
} part_reader_t;

static fota_err_t read_part(void *ctx, uint32_t offset, void *buf, size_t len)
{
    const part_reader_t *r = ctx;
    if (offset > r->part->size || len > r->part->size - offset) {
        return FOTA_ERR_IMAGE_TOO_BIG;
    }
    return fota_flash_read(&r->dev->flash, r->part->address + offset, buf, len);
}

/* esp_image_verify of the image in p: ESP_OK, ESP_ERR_OTA_VALIDATE_FAILED, or a flash error. */
static esp_err_t verify_image(esp_double_device_t *d, const esp_partition_t *p)
{
    part_reader_t r = {d, p};
    fota_err_t err = fota_esp_image_check(read_part, &r, p->size, NULL);
    if (err == FOTA_ERR_FLASH_POWER_CUT || err == FOTA_ERR_FLASH_FILE || err == FOTA_ERR_IO) {
        return ESP_ERR_FLASH_OP_FAIL;
    }
    return err == FOTA_OK ? ESP_OK : ESP_ERR_OTA_VALIDATE_FAILED;
}

static esp_err_t read_desc(esp_double_device_t *d, const esp_partition_t *p, esp_app_desc_t *out)
{
    uint8_t raw[256];
    if (APP_DESC_AT > p->size) {
        return ESP_ERR_INVALID_ARG;
    }
    if (sizeof raw > p->size - APP_DESC_AT) {
        return ESP_ERR_INVALID_SIZE;
    }
    esp_err_t err = dbl_flash_err(fota_flash_read(&d->flash, p->address + APP_DESC_AT, raw, 256));
    if (err != ESP_OK) {
        return err;
    }
    dbl_app_desc_decode(raw, out);
    return out->magic_word == ESP_APP_DESC_MAGIC_WORD ? ESP_OK : ESP_ERR_NOT_FOUND;
}

/* ---- partitions ------------------------------------------------------------------------------ */

const esp_partition_t *esp_ota_get_running_partition(void)
{
    esp_double_device_t *dev = dbl_running("esp_ota_get_running_partition");
    return dev != NULL ? dev->running : NULL;
}

/* find_default_boot_partition: factory, else the first OTA slot, else the test app. */
static const esp_partition_t *default_boot(const esp_double_device_t *d)
{
    const esp_partition_t *p = find(d, ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_FACTORY);
    for (unsigned n = 0; p == NULL && n < 16; n++) {
        p = ota_slot(d, n);
    }
    return p != NULL ? p : find(d, ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_TEST);
}

/* bootloader_common_ota_select_invalid: no CRC check, as in ESP-IDF. */
static bool unselectable(const fota_ota_entry_t *e)
{
    return e->ota_seq == UINT32_MAX || e->ota_state == FOTA_OTA_IMG_INVALID ||
           e->ota_state == FOTA_OTA_IMG_ABORTED;
}

const esp_partition_t *esp_ota_get_boot_partition(void)
{
    esp_err_t err = ESP_OK;
    esp_double_device_t *d =
        dbl_begin_io("esp_ota_get_boot_partition", ESP_ERR_FLASH_OP_FAIL, &err);
    if (d == NULL) {
        return NULL;
    }
    const esp_partition_t *otadata = NULL;
    fota_ota_entry_t e[2];
    const esp_partition_t *p = NULL;
    if (read_otadata(d, &otadata, e) == ESP_OK) {
        unsigned count = ota_count(d);
        int a = fota_otadata_active(e);
        if ((unselectable(&e[0]) && unselectable(&e[1])) || count == 0 || a < 0) {
            p = default_boot(d);
        } else {
            p = ota_slot(d, fota_otadata_slot(&e[a], count));
        }
    }
    dbl_end_io(d, ESP_OK);
    return p;
}

/* esp_partition_verify: the device's own entry describing the same partition. */
static const esp_partition_t *verify(const esp_double_device_t *d, const esp_partition_t *p)
{
    for (size_t i = 0; i < d->nparts; i++) {
        const esp_partition_t *q = &d->parts[i];
        if (q->type == p->type && q->subtype == p->subtype && q->address == p->address &&
            q->size == p->size && strncmp(q->label, p->label, sizeof q->label) == 0) {
            return q;
        }
    }
    return NULL;
}

const esp_partition_t *esp_ota_get_next_update_partition(const esp_partition_t *start_from)
{
    esp_double_device_t *d = dbl_running("esp_ota_get_next_update_partition");
    if (d == NULL) {
        return NULL;
    }
    const esp_partition_t *start = start_from == NULL ? d->running : verify(d, start_from);
    if (start == NULL) {
        return NULL;
    }
    const esp_partition_t *first = NULL;
    bool next_is_result = false;
    for (unsigned n = 0; n < 16; n++) {
        const esp_partition_t *p = ota_slot(d, n);
        if (p == NULL) {
            continue;
        }
        first = first != NULL ? first : p;
        if (p == start) {
            next_is_result = true;
        } else if (next_is_result) {
            return p;
        }
    }
    return first;
}

esp_err_t esp_ota_get_partition_description(const esp_partition_t *partition,
                                            esp_app_desc_t *app_desc)
{
    if (partition == NULL || app_desc == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (partition->type != ESP_PARTITION_TYPE_APP) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    esp_err_t err = ESP_OK;
    esp_double_device_t *d =
        dbl_begin_io("esp_ota_get_partition_description", ESP_ERR_FLASH_OP_FAIL, &err);
    if (d == NULL) {
        return err;
    }
    return dbl_end_io(d, read_desc(d, partition, app_desc));
}

/* ---- boot selection -------------------------------------------------------------------------- */

static esp_err_t set_factory(esp_double_device_t *d)
{
    const esp_partition_t *otadata =
        find(d, ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_OTA);
    if (otadata == NULL) {
        return ESP_ERR_NOT_FOUND;
    }
    return dbl_flash_err(fota_flash_erase(&d->flash, otadata->address, otadata->size));
}

static esp_err_t check_secure_version(esp_double_device_t *d, const esp_partition_t *p)
{
    esp_app_desc_t desc;
    esp_err_t err = read_desc(d, p, &desc);
    if (err == ESP_OK && desc.secure_version < d->secure_version) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "secure_version %u below the eFuse's %u",
                       (unsigned)desc.secure_version, (unsigned)d->secure_version);
        err = ESP_ERR_OTA_SMALL_SEC_VER;
    }
    return err;
}

static esp_err_t set_slot(esp_double_device_t *d, const esp_partition_t *p)
{
    unsigned slot = (unsigned)p->subtype - ESP_PARTITION_SUBTYPE_APP_OTA_0;
    if (d->anti_rollback) {
        esp_err_t err = check_secure_version(d, p);
        if (err != ESP_OK) {
            return err;
        }
    }
    fota_err_t ferr = fota_ota_set_boot_slot(&d->flash, slot);
    if (ferr == FOTA_ERR_OTADATA_PART) {
        return ESP_ERR_NOT_FOUND;
    }
    if (ferr == FOTA_ERR_OTADATA_SLOT || ferr == FOTA_ERR_BOOT_NO_PART) {
        return ESP_ERR_INVALID_ARG;
    }
    return dbl_flash_err(ferr);
}

esp_err_t esp_ota_set_boot_partition(const esp_partition_t *partition)
{
    if (partition == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = ESP_OK;
    esp_double_device_t *d =
        dbl_begin_io("esp_ota_set_boot_partition", ESP_ERR_FLASH_OP_FAIL, &err);
    if (d == NULL) {
        return err;
    }
    err = verify_image(d, partition);
    if (err != ESP_OK) {
        return dbl_end_io(d, err);
    }
    if (partition->type == ESP_PARTITION_TYPE_APP &&
        partition->subtype == ESP_PARTITION_SUBTYPE_APP_FACTORY) {
        return dbl_end_io(d, set_factory(d));
    }
    if (!is_ota_slot(partition)) {
        return dbl_end_io(d, ESP_ERR_INVALID_ARG);
    }
    return dbl_end_io(d, set_slot(d, partition));
}

esp_err_t esp_ota_get_state_partition(const esp_partition_t *partition,
                                      esp_ota_img_states_t *ota_state)
{
    if (partition == NULL || ota_state == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (!is_ota_slot(partition)) {
        return ESP_ERR_NOT_SUPPORTED;
    }
    esp_err_t err = ESP_OK;
    esp_double_device_t *d =
        dbl_begin_io("esp_ota_get_state_partition", ESP_ERR_FLASH_OP_FAIL, &err);
    if (d == NULL) {
        return err;
    }
    const esp_partition_t *otadata;
    fota_ota_entry_t e[2];
    unsigned count = ota_count(d);
    err = read_otadata(d, &otadata, e);
    if (err != ESP_OK || count == 0) {
        return dbl_end_io(d, err == ESP_ERR_FLASH_OP_FAIL ? err : ESP_ERR_NOT_FOUND);
    }
    uint32_t wanted = (uint32_t)partition->subtype - ESP_PARTITION_SUBTYPE_APP_OTA_0;
    for (int i = 0; i < 2; i++) {
        if ((e[i].ota_seq - 1u) % count == wanted && fota_ota_entry_crc_ok(&e[i])) {
            *ota_state = (esp_ota_img_states_t)e[i].ota_state;
            return dbl_end_io(d, ESP_OK);
        }
    }
    return dbl_end_io(d, ESP_ERR_NOT_FOUND);
}

/* ---- confirm and roll back ------------------------------------------------------------------- */

/* esp_efuse_update_secure_version: the eFuse only rises; the state file keeps it. */
static esp_err_t raise_efuse(esp_double_device_t *d)
{
    esp_app_desc_t desc;
    esp_err_t err = read_desc(d, d->running, &desc);
    if (err != ESP_OK || desc.secure_version <= d->secure_version) {
        return err;
    }
    if (dbl_state_save(d->state_path, &d->committed, desc.secure_version) != FOTA_OK) {
        return ESP_FAIL;
    }
    d->secure_version = desc.secure_version;
    return ESP_OK;
}

esp_err_t esp_ota_mark_app_valid_cancel_rollback(void)
{
    esp_err_t err = ESP_OK;
    esp_double_device_t *d =
        dbl_begin_io("esp_ota_mark_app_valid_cancel_rollback", ESP_ERR_FLASH_OP_FAIL, &err);
    if (d == NULL) {
        return err;
    }
    const esp_partition_t *otadata;
    fota_ota_entry_t e[2];
    err = read_otadata(d, &otadata, e);
    if (err != ESP_OK) {
        return dbl_end_io(d, err);
    }
    int a = fota_otadata_active(e);
    if (a < 0 || ota_count(d) == 0) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "running firmware is factory");
        return dbl_end_io(d, ESP_FAIL);
    }
    if (e[a].ota_state == FOTA_OTA_IMG_VALID) {
        return dbl_end_io(d, ESP_OK);
    }
    e[a].ota_state = FOTA_OTA_IMG_VALID;
    err = dbl_flash_err(fota_otadata_write(&d->flash, otadata->address, a, &e[a]));
    if (err == ESP_OK && (int)fota_otadata_slot(&e[a], ota_count(d)) == d->boot.slot) {
        d->boot.ota_state = FOTA_OTA_IMG_VALID;
    }
    if (err == ESP_OK && d->anti_rollback) {
        err = raise_efuse(d);
    }
    return dbl_end_io(d, err);
}

/* esp_ota_check_rollback_is_possible, given the active entry a. */
static esp_err_t rollback_possible(esp_double_device_t *d, const fota_ota_entry_t e[2], int a,
                                   bool *possible)
{
    int last = 1 - a;
    bool last_valid = fota_ota_entry_usable(&e[last]);
    *possible = false;
    const esp_partition_t *factory =
        find(d, ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_APP_FACTORY);
    if (!d->anti_rollback && !last_valid && factory != NULL) {
        esp_err_t err = verify_image(d, factory);
        *possible = err == ESP_OK;
        return err == ESP_ERR_FLASH_OP_FAIL ? err : ESP_OK;
    }
    const esp_partition_t *p =
        last_valid ? ota_slot(d, fota_otadata_slot(&e[last], ota_count(d))) : NULL;
    if (p == NULL) {
        return ESP_OK;
    }
    esp_err_t err = verify_image(d, p);
    if (err == ESP_OK && d->anti_rollback) {
        err = check_secure_version(d, p);
    }
    *possible = err == ESP_OK;
    return err == ESP_ERR_FLASH_OP_FAIL ? err : ESP_OK;
}

static esp_err_t mark_invalid(esp_double_device_t *d)
{
    const esp_partition_t *otadata;
    fota_ota_entry_t e[2];
    esp_err_t err = read_otadata(d, &otadata, e);
    if (err != ESP_OK) {
        return err;
    }
    int a = fota_otadata_active(e);
    if (a < 0 || ota_count(d) == 0) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "running firmware is factory");
        return ESP_FAIL;
    }
    bool possible = false;
    err = rollback_possible(d, e, a, &possible);
    if (err != ESP_OK) {
        return err;
    }
    if (!possible) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "rollback is not possible: no other valid app");
        return ESP_ERR_OTA_ROLLBACK_FAILED;
    }
    e[a].ota_state = FOTA_OTA_IMG_INVALID;
    return dbl_flash_err(fota_otadata_write(&d->flash, otadata->address, a, &e[a]));
}

esp_err_t esp_ota_mark_app_invalid_rollback_and_reboot(void)
{
    esp_err_t err = ESP_OK;
    esp_double_device_t *d =
        dbl_begin_io("esp_ota_mark_app_invalid_rollback_and_reboot", ESP_ERR_FLASH_OP_FAIL, &err);
    if (d == NULL) {
        return err;
    }
    err = dbl_end_io(d, mark_invalid(d));
    if (err == ESP_OK) {
        esp_restart();
    }
    return err;
}
