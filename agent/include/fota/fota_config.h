/*
 * fota_config.h - compile-time sizes of the agent. Override any of them with -D or by defining
 * them before this header is included; the defaults suit an ESP32 with 1 KB chunks.
 */
#ifndef FOTA_CONFIG_H
#define FOTA_CONFIG_H

/* Bytes the image validator reads per step (stack). */
#ifndef FOTA_CONFIG_IMAGE_READ_BUF
#define FOTA_CONFIG_IMAGE_READ_BUF 64
#endif

#endif /* FOTA_CONFIG_H */
