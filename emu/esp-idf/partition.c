/*
 * partition.c - esp_partition_* of the ESP-IDF API double over the emulated NOR flash.
 *
 * The partitions are the device's partition table as read at power-on. Argument checks and their
 * codes are those of ESP-IDF's partition_target.c (in its order: read-only first, then offset,
 * then range, then, for erases, size and offset alignment); each accepted call is exactly one
 * emulator operation, so planned power cuts (clean or torn) land on the call the plan names.
 * Once the flash is cut, every call fails with ESP_ERR_FLASH_OP_FAIL: the CPU of a real device
 * would have stopped, and the harness must power-cycle this one.
 */
#include "double_internal.h"

#include <string.h>

#include "esp_log.h"

static bool matches(const esp_partition_t *p, esp_partition_type_t type,
                    esp_partition_subtype_t subtype, const char *label)
{
    if (type != ESP_PARTITION_TYPE_ANY && p->type != type) {
        return false;
    }
    if (subtype != ESP_PARTITION_SUBTYPE_ANY && p->subtype != subtype) {
        return false;
    }
    return label == NULL || strcmp(p->label, label) == 0;
}

const esp_partition_t *esp_partition_find_first(esp_partition_type_t type,
                                                esp_partition_subtype_t subtype, const char *label)
{
    esp_double_device_t *dev = dbl_running("esp_partition_find_first");
    if (dev == NULL || (type == ESP_PARTITION_TYPE_ANY && subtype != ESP_PARTITION_SUBTYPE_ANY)) {
        return NULL;
    }
    for (size_t i = 0; i < dev->nparts; i++) {
        if (matches(&dev->parts[i], type, subtype, label)) {
            return &dev->parts[i];
        }
    }
    return NULL;
}

static esp_err_t range_check(const esp_partition_t *p, size_t offset, size_t size)
{
    if (offset > p->size) {
        return ESP_ERR_INVALID_ARG;
    }
    if (size > p->size - offset) {
        return ESP_ERR_INVALID_SIZE;
    }
    return ESP_OK;
}

static esp_err_t finish(esp_double_device_t *dev, fota_err_t ferr)
{
    if (ferr == FOTA_ERR_FLASH_NOT_ERASED) {
        esp_double_log(ESP_LOG_ERROR, DBL_TAG, "strict NOR: %s",
                       fota_flash_emu_last_error(dev->emu));
    }
    pthread_mutex_unlock(&dev->io);
    return dbl_flash_err(ferr);
}

esp_err_t esp_partition_read(const esp_partition_t *partition, size_t src_offset, void *dst,
                             size_t size)
{
    esp_err_t err = ESP_OK;
    esp_double_device_t *dev = dbl_begin_io("esp_partition_read", ESP_ERR_FLASH_OP_FAIL, &err);
    if (dev == NULL) {
        return err;
    }
    err = partition == NULL || dst == NULL ? ESP_ERR_INVALID_ARG
                                           : range_check(partition, src_offset, size);
    if (err != ESP_OK || size == 0) {
        pthread_mutex_unlock(&dev->io);
        return err;
    }
    return finish(
        dev, fota_flash_emu_read(dev->emu, partition->address + (uint32_t)src_offset, dst, size));
}

esp_err_t esp_partition_write(const esp_partition_t *partition, size_t dst_offset, const void *src,
                              size_t size)
{
    esp_err_t err = ESP_OK;
    esp_double_device_t *dev = dbl_begin_io("esp_partition_write", ESP_ERR_FLASH_OP_FAIL, &err);
    if (dev == NULL) {
        return err;
    }
    if (partition == NULL || src == NULL) {
        err = ESP_ERR_INVALID_ARG;
    } else if (partition->readonly) {
        err = ESP_ERR_NOT_ALLOWED;
    } else {
        err = range_check(partition, dst_offset, size);
    }
    if (err != ESP_OK || size == 0) {
        pthread_mutex_unlock(&dev->io);
        return err;
    }
    return finish(
        dev, fota_flash_emu_write(dev->emu, partition->address + (uint32_t)dst_offset, src, size));
}

static esp_err_t erase_check(const esp_partition_t *p, size_t offset, size_t size)
{
    if (p == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (p->readonly) {
        return ESP_ERR_NOT_ALLOWED;
    }
    esp_err_t err = range_check(p, offset, size);
    if (err != ESP_OK) {
        return err;
    }
    if (size % FOTA_FLASH_SECTOR_SIZE != 0) {
        return ESP_ERR_INVALID_SIZE;
    }
    return offset % FOTA_FLASH_SECTOR_SIZE != 0 ? ESP_ERR_INVALID_ARG : ESP_OK;
}

esp_err_t esp_partition_erase_range(const esp_partition_t *partition, size_t offset, size_t size)
{
    esp_err_t err = ESP_OK;
    esp_double_device_t *dev =
        dbl_begin_io("esp_partition_erase_range", ESP_ERR_FLASH_OP_FAIL, &err);
    if (dev == NULL) {
        return err;
    }
    err = erase_check(partition, offset, size);
    if (err != ESP_OK || size == 0) {
        pthread_mutex_unlock(&dev->io);
        return err;
    }
    return finish(
        dev, fota_flash_emu_erase(dev->emu, partition->address + (uint32_t)offset, (uint32_t)size));
}
