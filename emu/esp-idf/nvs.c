/*
 * nvs.c - nvs_flash_init* and nvs_* of the ESP-IDF API double (contract in nvs.h, codes in
 * esp_double.h).
 *
 * Per power-on the device has a runtime (dev->nvs): the partitions initialised so far, each a live
 * copy of what was committed, and the open handles (numbered from 1 after every reset, as
 * ESP-IDF's counter). Sets and erases change the live copy only; nvs_commit copies the handle's
 * partition to the committed store and rewrites the state file atomically, so a power cut before
 * the commit loses them and one after keeps them. Creating a namespace is durable at once, as in
 * ESP-IDF, which writes the namespace entry when the READWRITE open creates it. Every call holds
 * the device's io lock; once the emulated flash is cut, calls fail with ESP_FAIL.
 */
#include "double_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_log.h"
#include "nvs.h"
#include "nvs_flash.h"

#define PAGE_SIZE 4096u
#define ENTRIES_PER_PAGE 126u
#define CHUNK_MAX 4000u
#define STR_MAX 4000u

typedef struct dbl_nvs_handle {
    struct dbl_nvs_handle *next;
    nvs_handle_t id;
    char part[FOTA_PART_LABEL_MAX + 1];
    char ns[DBL_NVS_NAME_MAX + 1];
    bool readonly;
} dbl_nvs_handle_t;

struct dbl_nvs_rt {
    dbl_nvs_store_t live;
    dbl_nvs_handle_t *handles;
    nvs_handle_t last_id;
};

/* ---- runtime --------------------------------------------------------------------------------- */

void dbl_nvs_power_off(esp_double_device_t *dev)
{
    dbl_nvs_rt_t *rt = dev->nvs;
    if (rt == NULL) {
        return;
    }
    dbl_nvs_store_clear(&rt->live);
    while (rt->handles != NULL) {
        dbl_nvs_handle_t *next = rt->handles->next;
        free(rt->handles);
        rt->handles = next;
    }
    free(rt);
    dev->nvs = NULL;
}

static const fota_partition_t *nvs_partition(const esp_double_device_t *dev, const char *label)
{
    const fota_partition_t *p = fota_part_find_label(&dev->table, label);
    if (p == NULL || p->type != FOTA_PART_TYPE_DATA || p->subtype != FOTA_PART_SUBTYPE_DATA_NVS) {
        return NULL;
    }
    return p;
}

/* Entries the partition can hold: every page but one (kept free by ESP-IDF). */
static size_t capacity(const esp_double_device_t *dev, const char *label)
{
    const fota_partition_t *p = nvs_partition(dev, label);
    size_t pages = p != NULL ? p->size / PAGE_SIZE : 0;
    return pages > 1 ? (pages - 1) * ENTRIES_PER_PAGE : 0;
}

/* Storage::writeMultiPageBlob's limit. */
static size_t blob_max(const esp_double_device_t *dev, const char *label)
{
    const fota_partition_t *p = nvs_partition(dev, label);
    size_t pages = p != NULL ? p->size / PAGE_SIZE : 0;
    size_t max_pages = pages > 1 ? pages - 1 : 0;
    max_pages = max_pages > 127 ? 127 : max_pages;
    return max_pages * CHUNK_MAX;
}

esp_err_t nvs_flash_init_partition(const char *partition_label)
{
    if (partition_label == NULL || strlen(partition_label) > NVS_PART_NAME_MAX_SIZE) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = ESP_OK;
    esp_double_device_t *dev = dbl_begin_io("nvs_flash_init_partition", ESP_FAIL, &err);
    if (dev == NULL) {
        return err;
    }
    if (nvs_partition(dev, partition_label) == NULL) {
        return dbl_end_io(dev, ESP_ERR_NOT_FOUND);
    }
    if (dev->nvs == NULL && (dev->nvs = calloc(1, sizeof *dev->nvs)) == NULL) {
        return dbl_end_io(dev, ESP_ERR_NO_MEM);
    }
    if (dbl_nvs_store_find(&dev->nvs->live, partition_label) != NULL) {
        return dbl_end_io(dev, ESP_OK);
    }
    const dbl_nvs_part_t *saved = dbl_nvs_store_find(&dev->committed, partition_label);
    dbl_nvs_part_t *live =
        saved != NULL ? dbl_nvs_part_clone(saved) : dbl_nvs_part_new(partition_label);
    if (live == NULL) {
        return dbl_end_io(dev, ESP_ERR_NO_MEM);
    }
    dbl_nvs_store_put(&dev->nvs->live, live);
    return dbl_end_io(dev, ESP_OK);
}

esp_err_t nvs_flash_init(void)
{
    return nvs_flash_init_partition(NVS_DEFAULT_PART_NAME);
}

/* ---- open and close -------------------------------------------------------------------------- */

/* A namespace is created durably: in the live copy and in the committed store. */
static esp_err_t create_ns(esp_double_device_t *dev, dbl_nvs_part_t *live, const char *ns)
{
    if (strlen(ns) > DBL_NVS_NAME_MAX) {
        return ESP_ERR_NVS_KEY_TOO_LONG;
    }
    if (dbl_nvs_entries(live, NULL, 0, 0, false) + 1 > capacity(dev, live->label)) {
        return ESP_ERR_NVS_NOT_ENOUGH_SPACE;
    }
    dbl_nvs_part_t *saved = dbl_nvs_store_find(&dev->committed, live->label);
    if (saved == NULL) {
        saved = dbl_nvs_part_new(live->label);
        if (saved == NULL) {
            return ESP_ERR_NO_MEM;
        }
        dbl_nvs_store_put(&dev->committed, saved);
    }
    if (!dbl_nvs_add_ns(saved, ns) || !dbl_nvs_add_ns(live, ns)) {
        return ESP_ERR_NO_MEM;
    }
    if (dbl_state_save(dev->state_path, &dev->committed, dev->secure_version) != FOTA_OK) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "NVS: state file not written");
        return ESP_FAIL;
    }
    return ESP_OK;
}

static esp_err_t open_locked(esp_double_device_t *dev, const char *part, const char *ns,
                             nvs_open_mode_t mode, nvs_handle_t *out)
{
    if (dev->nvs == NULL || dev->nvs->live.parts == NULL) {
        return ESP_ERR_NVS_NOT_INITIALIZED;
    }
    dbl_nvs_part_t *live = dbl_nvs_store_find(&dev->nvs->live, part);
    if (live == NULL) {
        return ESP_ERR_NVS_PART_NOT_FOUND;
    }
    const fota_partition_t *p = nvs_partition(dev, part);
    if (mode == NVS_READWRITE && p != NULL && (p->flags & FOTA_PART_FLAG_READONLY) != 0) {
        return ESP_ERR_NOT_ALLOWED;
    }
    if (!dbl_nvs_has_ns(live, ns)) {
        esp_err_t err = mode == NVS_READWRITE ? create_ns(dev, live, ns) : ESP_ERR_NVS_NOT_FOUND;
        if (err != ESP_OK) {
            return err;
        }
    }
    dbl_nvs_handle_t *h = calloc(1, sizeof *h);
    if (h == NULL) {
        return ESP_ERR_NO_MEM;
    }
    h->id = ++dev->nvs->last_id;
    snprintf(h->part, sizeof h->part, "%.*s", (int)(sizeof h->part - 1), part);
    snprintf(h->ns, sizeof h->ns, "%.*s", DBL_NVS_NAME_MAX, ns);
    h->readonly = mode == NVS_READONLY;
    h->next = dev->nvs->handles;
    dev->nvs->handles = h;
    *out = h->id;
    return ESP_OK;
}

esp_err_t nvs_open_from_partition(const char *part_name, const char *namespace_name,
                                  nvs_open_mode_t open_mode, nvs_handle_t *out_handle)
{
    if (part_name == NULL || namespace_name == NULL || out_handle == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = ESP_OK;
    esp_double_device_t *dev = dbl_begin_io("nvs_open", ESP_FAIL, &err);
    if (dev == NULL) {
        return err;
    }
    return dbl_end_io(dev, open_locked(dev, part_name, namespace_name, open_mode, out_handle));
}

esp_err_t nvs_open(const char *namespace_name, nvs_open_mode_t open_mode, nvs_handle_t *out_handle)
{
    return nvs_open_from_partition(NVS_DEFAULT_PART_NAME, namespace_name, open_mode, out_handle);
}

static dbl_nvs_handle_t *find_handle(esp_double_device_t *dev, nvs_handle_t id)
{
    for (dbl_nvs_handle_t *h = dev->nvs != NULL ? dev->nvs->handles : NULL; h != NULL;
         h = h->next) {
        if (h->id == id) {
            return h;
        }
    }
    return NULL;
}

void nvs_close(nvs_handle_t handle)
{
    esp_err_t err = ESP_OK;
    esp_double_device_t *dev = dbl_begin_io(NULL, ESP_FAIL, &err);
    if (dev == NULL) {
        return;
    }
    for (dbl_nvs_handle_t **pp = dev->nvs != NULL ? &dev->nvs->handles : NULL;
         pp != NULL && *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->id == handle) {
            dbl_nvs_handle_t *h = *pp;
            *pp = h->next;
            free(h);
            break;
        }
    }
    dbl_end_io(dev, ESP_OK);
}

/* ---- values ---------------------------------------------------------------------------------- */

/* The handle's live partition, with the io lock held; NULL with *err set. */
static dbl_nvs_part_t *begin_handle(nvs_handle_t id, bool write, esp_double_device_t **devp,
                                    dbl_nvs_handle_t **hp, esp_err_t *err)
{
    esp_double_device_t *dev = dbl_begin_io("nvs", ESP_FAIL, err);
    if (dev == NULL) {
        return NULL;
    }
    dbl_nvs_handle_t *h = find_handle(dev, id);
    *err = h == NULL                ? ESP_ERR_NVS_INVALID_HANDLE
           : (write && h->readonly) ? ESP_ERR_NVS_READ_ONLY
                                    : ESP_OK;
    dbl_nvs_part_t *part = h != NULL ? dbl_nvs_store_find(&dev->nvs->live, h->part) : NULL;
    if (*err == ESP_OK && part == NULL) {
        *err = ESP_ERR_NVS_INVALID_HANDLE;
    }
    if (*err != ESP_OK) {
        dbl_end_io(dev, ESP_OK);
        return NULL;
    }
    *devp = dev;
    *hp = h;
    return part;
}

static esp_err_t check_value(esp_double_device_t *dev, const dbl_nvs_part_t *part, const char *key,
                             uint8_t type, size_t len)
{
    if (key == NULL) {
        return ESP_ERR_NVS_INVALID_NAME;
    }
    if (strlen(key) > DBL_NVS_NAME_MAX) {
        return ESP_ERR_NVS_KEY_TOO_LONG;
    }
    if ((type == NVS_TYPE_STR && len > STR_MAX) ||
        (type == NVS_TYPE_BLOB && len > blob_max(dev, part->label))) {
        return ESP_ERR_NVS_VALUE_TOO_LONG;
    }
    return ESP_OK;
}

static esp_err_t set_value(nvs_handle_t handle, const char *key, uint8_t type, const void *data,
                           size_t len)
{
    esp_double_device_t *dev = NULL;
    dbl_nvs_handle_t *h = NULL;
    esp_err_t err = ESP_OK;
    dbl_nvs_part_t *part = begin_handle(handle, true, &dev, &h, &err);
    if (part == NULL) {
        return err;
    }
    err = check_value(dev, part, key, type, len);
    if (err != ESP_OK) {
        return dbl_end_io(dev, err);
    }
    const dbl_nvs_item_t *old = dbl_nvs_find(part, h->ns, key);
    if (dbl_nvs_entries(part, old, type, len, true) > capacity(dev, part->label)) {
        return dbl_end_io(dev, ESP_ERR_NVS_NOT_ENOUGH_SPACE);
    }
    return dbl_end_io(dev,
                      dbl_nvs_set(part, h->ns, key, type, data, len) ? ESP_OK : ESP_ERR_NO_MEM);
}

/* The item of key with that type, or NULL (ESP-IDF finds nothing under another type). */
static const dbl_nvs_item_t *get_item(const dbl_nvs_part_t *part, const dbl_nvs_handle_t *h,
                                      const char *key, uint8_t type)
{
    const dbl_nvs_item_t *it = key != NULL ? dbl_nvs_find(part, h->ns, key) : NULL;
    return it != NULL && it->type == type ? it : NULL;
}

static esp_err_t get_fixed(nvs_handle_t handle, const char *key, uint8_t type, void *out,
                           size_t size)
{
    esp_double_device_t *dev = NULL;
    dbl_nvs_handle_t *h = NULL;
    esp_err_t err = ESP_OK;
    dbl_nvs_part_t *part = begin_handle(handle, false, &dev, &h, &err);
    if (part == NULL) {
        return err;
    }
    const dbl_nvs_item_t *it = get_item(part, h, key, type);
    if (it == NULL || it->len != size) {
        return dbl_end_io(dev, ESP_ERR_NVS_NOT_FOUND);
    }
    if (out == NULL) {
        return dbl_end_io(dev, ESP_ERR_INVALID_ARG);
    }
    memcpy(out, it->data, size);
    return dbl_end_io(dev, ESP_OK);
}

static esp_err_t get_sized(nvs_handle_t handle, const char *key, uint8_t type, void *out,
                           size_t *length)
{
    esp_double_device_t *dev = NULL;
    dbl_nvs_handle_t *h = NULL;
    esp_err_t err = ESP_OK;
    dbl_nvs_part_t *part = begin_handle(handle, false, &dev, &h, &err);
    if (part == NULL) {
        return err;
    }
    const dbl_nvs_item_t *it = get_item(part, h, key, type);
    if (it == NULL) {
        return dbl_end_io(dev, ESP_ERR_NVS_NOT_FOUND);
    }
    if (length == NULL) {
        return dbl_end_io(dev, ESP_ERR_NVS_INVALID_LENGTH);
    }
    if (out != NULL && *length < it->len) {
        err = ESP_ERR_NVS_INVALID_LENGTH;
    } else if (out != NULL) {
        memcpy(out, it->data, it->len);
    }
    *length = it->len;
    return dbl_end_io(dev, err);
}

#define NVS_FIXED(suffix, ctype, tcode)                                                            \
    esp_err_t nvs_set_##suffix(nvs_handle_t handle, const char *key, ctype value)                  \
    {                                                                                              \
        return set_value(handle, key, tcode, &value, sizeof value);                                \
    }                                                                                              \
    esp_err_t nvs_get_##suffix(nvs_handle_t handle, const char *key, ctype *out_value)             \
    {                                                                                              \
        return get_fixed(handle, key, tcode, out_value, sizeof *out_value);                        \
    }

NVS_FIXED(i8, int8_t, NVS_TYPE_I8)
NVS_FIXED(u8, uint8_t, NVS_TYPE_U8)
NVS_FIXED(i16, int16_t, NVS_TYPE_I16)
NVS_FIXED(u16, uint16_t, NVS_TYPE_U16)
NVS_FIXED(i32, int32_t, NVS_TYPE_I32)
NVS_FIXED(u32, uint32_t, NVS_TYPE_U32)
NVS_FIXED(i64, int64_t, NVS_TYPE_I64)
NVS_FIXED(u64, uint64_t, NVS_TYPE_U64)

esp_err_t nvs_set_str(nvs_handle_t handle, const char *key, const char *value)
{
    if (value == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    return set_value(handle, key, NVS_TYPE_STR, value, strlen(value) + 1);
}

esp_err_t nvs_set_blob(nvs_handle_t handle, const char *key, const void *value, size_t length)
{
    if (value == NULL && length > 0) {
        return ESP_ERR_INVALID_ARG;
    }
    return set_value(handle, key, NVS_TYPE_BLOB, value, length);
}

esp_err_t nvs_get_str(nvs_handle_t handle, const char *key, char *out_value, size_t *length)
{
    return get_sized(handle, key, NVS_TYPE_STR, out_value, length);
}

esp_err_t nvs_get_blob(nvs_handle_t handle, const char *key, void *out_value, size_t *length)
{
    return get_sized(handle, key, NVS_TYPE_BLOB, out_value, length);
}

esp_err_t nvs_erase_key(nvs_handle_t handle, const char *key)
{
    esp_double_device_t *dev = NULL;
    dbl_nvs_handle_t *h = NULL;
    esp_err_t err = ESP_OK;
    dbl_nvs_part_t *part = begin_handle(handle, true, &dev, &h, &err);
    if (part == NULL) {
        return err;
    }
    dbl_nvs_item_t *it = key != NULL ? dbl_nvs_find(part, h->ns, key) : NULL;
    if (it == NULL) {
        return dbl_end_io(dev, ESP_ERR_NVS_NOT_FOUND);
    }
    dbl_nvs_erase(part, it);
    return dbl_end_io(dev, ESP_OK);
}

/* ---- commit ---------------------------------------------------------------------------------- */

/* Replace the committed copy of part, then write the state file; if that fails, the committed
 * store goes back to what it was (an absent partition reads as an empty one). */
static esp_err_t commit_part(esp_double_device_t *dev, const dbl_nvs_part_t *part)
{
    dbl_nvs_part_t *copy = dbl_nvs_part_clone(part);
    const dbl_nvs_part_t *old = dbl_nvs_store_find(&dev->committed, part->label);
    dbl_nvs_part_t *backup = old != NULL ? dbl_nvs_part_clone(old) : dbl_nvs_part_new(part->label);
    if (copy == NULL || backup == NULL) {
        dbl_nvs_part_free(copy);
        dbl_nvs_part_free(backup);
        return ESP_ERR_NO_MEM;
    }
    dbl_nvs_store_put(&dev->committed, copy);
    if (dbl_state_save(dev->state_path, &dev->committed, dev->secure_version) != FOTA_OK) {
        dbl_nvs_store_put(&dev->committed, backup);
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "nvs_commit: state file not written");
        return ESP_FAIL;
    }
    dbl_nvs_part_free(backup);
    return ESP_OK;
}

esp_err_t nvs_commit(nvs_handle_t handle)
{
    esp_double_device_t *dev = NULL;
    dbl_nvs_handle_t *h = NULL;
    esp_err_t err = ESP_OK;
    dbl_nvs_part_t *part = begin_handle(handle, false, &dev, &h, &err);
    if (part == NULL) {
        return err;
    }
    return dbl_end_io(dev, commit_part(dev, part));
}
