/*
 * image_info.h - `fota-image info`: print every field of an app image, as `esptool image_info`
 * does, going as far as the bytes allow so that a broken image can still be looked at.
 */
#ifndef FOTA_TOOLS_IMAGE_INFO_H
#define FOTA_TOOLS_IMAGE_INFO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Print the header, segments, checksum (stored and computed), appended SHA-256 (stored and
 * computed), app descriptor and emulator flags of the image in data[0..len). Display only: the
 * verdict is fota_esp_image_check's, the same code the device runs. */
void image_info_print(FILE *out, const char *path, const uint8_t *data, size_t len);

#endif /* FOTA_TOOLS_IMAGE_INFO_H */
