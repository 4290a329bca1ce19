/*
 * err.h - the one error type of fota.
 *
 * Every function that can fail returns fota_err_t: FOTA_OK (0) or a distinct named code per
 * failure, grouped by module in ranges of 100. fota_err_name() gives the code's name as text
 * (like esp_err_to_name). The list is an X-macro so that the enum and the names cannot drift.
 * Codes are stable: they travel in device reports, so never renumber one.
 */
#ifndef FOTA_ERR_H
#define FOTA_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

#define FOTA_ERR_LIST_GENERIC(X)                                                                   \
    X(FOTA_OK, 0, "ok")                                                                            \
    X(FOTA_ERR_ARG, 1, "invalid argument")                                                         \
    X(FOTA_ERR_NO_MEM, 2, "out of memory")                                                         \
    X(FOTA_ERR_IO, 3, "I/O error")                                                                 \
    X(FOTA_ERR_RANGE, 4, "value out of range")                                                     \
    X(FOTA_ERR_TRUNCATED, 5, "input truncated")                                                    \
    X(FOTA_ERR_TOO_LARGE, 6, "input too large")                                                    \
    X(FOTA_ERR_STATE, 7, "operation not valid in this state")                                      \
    X(FOTA_ERR_NOT_FOUND, 8, "not found")                                                          \
    X(FOTA_ERR_UNSUPPORTED, 9, "unsupported")                                                      \
    X(FOTA_ERR_CRYPTO, 10, "crypto library failure")

/* Flash (emulated or real) */
#define FOTA_ERR_LIST_FLASH(X)                                                                     \
    X(FOTA_ERR_FLASH_BOUNDS, 100, "flash address out of bounds")                                   \
    X(FOTA_ERR_FLASH_ALIGN, 101, "flash erase not sector aligned")                                 \
    X(FOTA_ERR_FLASH_NOT_ERASED, 102, "flash write to unerased byte")                              \
    X(FOTA_ERR_FLASH_POWER_CUT, 103, "power cut: flash stopped")                                   \
    X(FOTA_ERR_FLASH_FILE, 104, "flash file error")                                                \
    X(FOTA_ERR_FLASH_SIZE, 105, "flash size invalid")                                              \
    X(FOTA_ERR_FLASH_VERIFY, 106, "flash read back differs from what was written")

/* Partition table */
#define FOTA_ERR_LIST_PART(X)                                                                      \
    X(FOTA_ERR_PART_MAGIC, 200, "partition entry has bad magic")                                   \
    X(FOTA_ERR_PART_MD5, 201, "partition table MD5 mismatch")                                      \
    X(FOTA_ERR_PART_NO_END, 202, "partition table has no end marker")                              \
    X(FOTA_ERR_PART_OVERLAP, 203, "partitions overlap")                                            \
    X(FOTA_ERR_PART_ALIGN, 204, "partition misaligned")                                            \
    X(FOTA_ERR_PART_BOUNDS, 205, "partition outside flash")                                        \
    X(FOTA_ERR_PART_TOO_MANY, 206, "too many partitions")                                          \
    X(FOTA_ERR_PART_LABEL, 207, "partition label invalid")                                         \
    X(FOTA_ERR_PART_DUPLICATE, 208, "duplicate partition")                                         \
    X(FOTA_ERR_PART_CSV, 209, "partition CSV syntax error")                                        \
    X(FOTA_ERR_PART_SIZE, 210, "partition size invalid")                                           \
    X(FOTA_ERR_PART_TYPE, 211, "partition type invalid")

/* otadata */
#define FOTA_ERR_LIST_OTADATA(X)                                                                   \
    X(FOTA_ERR_OTADATA_CRC, 300, "otadata entry CRC mismatch")                                     \
    X(FOTA_ERR_OTADATA_NONE, 301, "no usable otadata entry")                                       \
    X(FOTA_ERR_OTADATA_SLOT, 302, "otadata slot invalid")                                          \
    X(FOTA_ERR_OTADATA_PART, 303, "otadata partition missing or wrong size")

/* ESP32 app image */
#define FOTA_ERR_LIST_IMAGE(X)                                                                     \
    X(FOTA_ERR_IMAGE_MAGIC, 400, "image header magic is not 0xE9")                                 \
    X(FOTA_ERR_IMAGE_SEGMENTS, 401, "image segment count invalid")                                 \
    X(FOTA_ERR_IMAGE_SEGMENT_LEN, 402, "image segment length invalid")                             \
    X(FOTA_ERR_IMAGE_CHECKSUM, 403, "image checksum mismatch")                                     \
    X(FOTA_ERR_IMAGE_HASH, 404, "image appended SHA-256 mismatch")                                 \
    X(FOTA_ERR_IMAGE_TRUNCATED, 405, "image truncated")                                            \
    X(FOTA_ERR_IMAGE_TOO_BIG, 406, "image larger than its partition")                              \
    X(FOTA_ERR_IMAGE_APP_DESC, 407, "image app descriptor missing or invalid")                     \
    X(FOTA_ERR_IMAGE_CHIP, 408, "image built for another chip")                                    \
    X(FOTA_ERR_IMAGE_SPEC, 409, "image build parameters invalid")

/* Emulated bootloader and boot control */
#define FOTA_ERR_LIST_BOOT(X)                                                                      \
    X(FOTA_ERR_BOOT_NO_APP, 500, "no bootable app: device bricked")                                \
    X(FOTA_ERR_BOOT_NO_PART, 501, "no app partition to update")                                    \
    X(FOTA_ERR_BOOT_NOT_PENDING, 502, "running image is not pending verify")                       \
    X(FOTA_ERR_BOOT_SELFTEST, 503, "image failed its self-test")

/* Journal (resume record) */
#define FOTA_ERR_LIST_JOURNAL(X)                                                                   \
    X(FOTA_ERR_JOURNAL_EMPTY, 600, "no journal record")                                            \
    X(FOTA_ERR_JOURNAL_CORRUPT, 601, "journal record corrupt")

/* Transport and HTTP */
#define FOTA_ERR_LIST_HTTP(X)                                                                      \
    X(FOTA_ERR_HTTP_STATUS, 700, "unexpected HTTP status")                                         \
    X(FOTA_ERR_HTTP_CONNECT, 701, "connection failed")                                             \
    X(FOTA_ERR_HTTP_TIMEOUT, 702, "transfer timed out")                                            \
    X(FOTA_ERR_HTTP_BODY_TOO_LARGE, 703, "response body larger than the buffer")                   \
    X(FOTA_ERR_HTTP_TRUNCATED, 704, "response body truncated")                                     \
    X(FOTA_ERR_HTTP_AUTH, 705, "request refused: authentication")                                  \
    X(FOTA_ERR_HTTP_RANGE, 706, "server ignored or broke the Range request")                       \
    X(FOTA_ERR_HTTP_LENGTH, 707, "Content-Length does not match")                                 \
    X(FOTA_ERR_HTTP_REDIRECT, 708, "redirect not followed")                                        \
    X(FOTA_ERR_HTTP_HEADERS_TOO_LARGE, 709, "response headers too large")

/* Seed mode (JSON chunks with HMAC) */
#define FOTA_ERR_LIST_SEED(X)                                                                      \
    X(FOTA_ERR_SEED_JSON, 800, "chunk JSON malformed")                                             \
    X(FOTA_ERR_SEED_CHUNK_NUMBER, 801, "wrong chunk number")                                       \
    X(FOTA_ERR_SEED_BASE64, 802, "chunk data is not valid base64")                                 \
    X(FOTA_ERR_SEED_MAC, 803, "chunk MAC mismatch")                                                \
    X(FOTA_ERR_SEED_CHUNK_SIZE, 804, "chunk has the wrong size")                                   \
    X(FOTA_ERR_OFFER_JSON, 805, "offer JSON malformed")

/* Manifest and hash chain */
#define FOTA_ERR_LIST_TRUST(X)                                                                     \
    X(FOTA_ERR_MANIFEST_FORMAT, 900, "manifest malformed")                                         \
    X(FOTA_ERR_MANIFEST_SIGNATURE, 901, "manifest signature invalid")                              \
    X(FOTA_ERR_MANIFEST_PRODUCT, 902, "manifest is for another product")                           \
    X(FOTA_ERR_MANIFEST_VERSION, 903, "manifest format version unsupported")                       \
    X(FOTA_ERR_MANIFEST_CHANGED, 904, "manifest changed during download")                          \
    X(FOTA_ERR_SECURITY_VERSION, 905, "security version below the device floor")                   \
    X(FOTA_ERR_CHAIN_MISMATCH, 906, "record fails the hash chain")                                 \
    X(FOTA_ERR_IMAGE_SHA256, 907, "image SHA-256 does not match the manifest")                     \
    X(FOTA_ERR_KEY, 908, "key invalid")                                                            \
    X(FOTA_ERR_MANIFEST_GEOMETRY, 909, "manifest sizes inconsistent")                              \
    X(FOTA_ERR_KEY_EXISTS, 910, "key file already exists")

/* Agent */
#define FOTA_ERR_LIST_AGENT(X)                                                                     \
    X(FOTA_ERR_AGENT_BUSY, 1000, "agent busy")                                                     \
    X(FOTA_ERR_AGENT_POLICY, 1001, "refused by policy hook")                                       \
    X(FOTA_ERR_AGENT_ROLLED_BACK, 1002, "new image rolled back")

/* Delta patches (delta.h, docs/DELTA.md) */
#define FOTA_ERR_LIST_DELTA(X)                                                                     \
    X(FOTA_ERR_DELTA_FORMAT, 1200, "delta patch header malformed")                                 \
    X(FOTA_ERR_DELTA_SOURCE, 1201, "delta patch is for another source image")                      \
    X(FOTA_ERR_DELTA_CORRUPT, 1202, "delta patch record malformed")                                \
    X(FOTA_ERR_DELTA_LENGTH, 1203, "delta operation longer than the new image")                    \
    X(FOTA_ERR_DELTA_OLD_RANGE, 1204, "delta operation reads outside the source image")            \
    X(FOTA_ERR_DELTA_ORDER, 1205, "delta patch record out of order")

/* ESP-IDF (ports/esp-idf): each esp_err_t the component's ESP-IDF calls can return has its own
 * code, so a device report names the IDF error exactly. Generic codes are 1100 + (code - 0x100),
 * spi_flash 1120 + n, NVS 1130 + n, OTA 1160 + n, HTTP client 1170 + n (n = code - the IDF
 * module's base); any other esp_err_t is FOTA_ERR_ESP_OTHER (the component logs its number). */
#define FOTA_ERR_LIST_ESP(X)                                                                       \
    X(FOTA_ERR_ESP_FAIL, 1100, "ESP_FAIL")                                                         \
    X(FOTA_ERR_ESP_NO_MEM, 1101, "ESP_ERR_NO_MEM")                                                 \
    X(FOTA_ERR_ESP_INVALID_ARG, 1102, "ESP_ERR_INVALID_ARG")                                       \
    X(FOTA_ERR_ESP_INVALID_STATE, 1103, "ESP_ERR_INVALID_STATE")                                   \
    X(FOTA_ERR_ESP_INVALID_SIZE, 1104, "ESP_ERR_INVALID_SIZE")                                     \
    X(FOTA_ERR_ESP_NOT_FOUND, 1105, "ESP_ERR_NOT_FOUND")                                           \
    X(FOTA_ERR_ESP_NOT_SUPPORTED, 1106, "ESP_ERR_NOT_SUPPORTED")                                   \
    X(FOTA_ERR_ESP_TIMEOUT, 1107, "ESP_ERR_TIMEOUT")                                               \
    X(FOTA_ERR_ESP_INVALID_RESPONSE, 1108, "ESP_ERR_INVALID_RESPONSE")                             \
    X(FOTA_ERR_ESP_INVALID_CRC, 1109, "ESP_ERR_INVALID_CRC")                                       \
    X(FOTA_ERR_ESP_INVALID_VERSION, 1110, "ESP_ERR_INVALID_VERSION")                               \
    X(FOTA_ERR_ESP_INVALID_MAC, 1111, "ESP_ERR_INVALID_MAC")                                       \
    X(FOTA_ERR_ESP_NOT_FINISHED, 1112, "ESP_ERR_NOT_FINISHED")                                     \
    X(FOTA_ERR_ESP_NOT_ALLOWED, 1113, "ESP_ERR_NOT_ALLOWED")                                       \
    X(FOTA_ERR_ESP_FLASH_OP_FAIL, 1121, "ESP_ERR_FLASH_OP_FAIL")                                   \
    X(FOTA_ERR_ESP_FLASH_OP_TIMEOUT, 1122, "ESP_ERR_FLASH_OP_TIMEOUT")                             \
    X(FOTA_ERR_ESP_FLASH_NOT_INITIALISED, 1123, "ESP_ERR_FLASH_NOT_INITIALISED")                   \
    X(FOTA_ERR_ESP_FLASH_UNSUPPORTED_HOST, 1124, "ESP_ERR_FLASH_UNSUPPORTED_HOST")                 \
    X(FOTA_ERR_ESP_FLASH_UNSUPPORTED_CHIP, 1125, "ESP_ERR_FLASH_UNSUPPORTED_CHIP")                 \
    X(FOTA_ERR_ESP_FLASH_PROTECTED, 1126, "ESP_ERR_FLASH_PROTECTED")                               \
    X(FOTA_ERR_ESP_NVS_NOT_INITIALIZED, 1131, "ESP_ERR_NVS_NOT_INITIALIZED")                       \
    X(FOTA_ERR_ESP_NVS_NOT_FOUND, 1132, "ESP_ERR_NVS_NOT_FOUND")                                   \
    X(FOTA_ERR_ESP_NVS_TYPE_MISMATCH, 1133, "ESP_ERR_NVS_TYPE_MISMATCH")                           \
    X(FOTA_ERR_ESP_NVS_READ_ONLY, 1134, "ESP_ERR_NVS_READ_ONLY")                                   \
    X(FOTA_ERR_ESP_NVS_NOT_ENOUGH_SPACE, 1135, "ESP_ERR_NVS_NOT_ENOUGH_SPACE")                     \
    X(FOTA_ERR_ESP_NVS_INVALID_NAME, 1136, "ESP_ERR_NVS_INVALID_NAME")                             \
    X(FOTA_ERR_ESP_NVS_INVALID_HANDLE, 1137, "ESP_ERR_NVS_INVALID_HANDLE")                         \
    X(FOTA_ERR_ESP_NVS_REMOVE_FAILED, 1138, "ESP_ERR_NVS_REMOVE_FAILED")                           \
    X(FOTA_ERR_ESP_NVS_KEY_TOO_LONG, 1139, "ESP_ERR_NVS_KEY_TOO_LONG")                             \
    X(FOTA_ERR_ESP_NVS_PAGE_FULL, 1140, "ESP_ERR_NVS_PAGE_FULL")                                   \
    X(FOTA_ERR_ESP_NVS_INVALID_STATE, 1141, "ESP_ERR_NVS_INVALID_STATE")                           \
    X(FOTA_ERR_ESP_NVS_INVALID_LENGTH, 1142, "ESP_ERR_NVS_INVALID_LENGTH")                         \
    X(FOTA_ERR_ESP_NVS_NO_FREE_PAGES, 1143, "ESP_ERR_NVS_NO_FREE_PAGES")                           \
    X(FOTA_ERR_ESP_NVS_VALUE_TOO_LONG, 1144, "ESP_ERR_NVS_VALUE_TOO_LONG")                         \
    X(FOTA_ERR_ESP_NVS_PART_NOT_FOUND, 1145, "ESP_ERR_NVS_PART_NOT_FOUND")                         \
    X(FOTA_ERR_ESP_NVS_NEW_VERSION_FOUND, 1146, "ESP_ERR_NVS_NEW_VERSION_FOUND")                   \
    X(FOTA_ERR_ESP_NVS_XTS_ENCR_FAILED, 1147, "ESP_ERR_NVS_XTS_ENCR_FAILED")                       \
    X(FOTA_ERR_ESP_NVS_XTS_DECR_FAILED, 1148, "ESP_ERR_NVS_XTS_DECR_FAILED")                       \
    X(FOTA_ERR_ESP_NVS_XTS_CFG_FAILED, 1149, "ESP_ERR_NVS_XTS_CFG_FAILED")                         \
    X(FOTA_ERR_ESP_NVS_XTS_CFG_NOT_FOUND, 1150, "ESP_ERR_NVS_XTS_CFG_NOT_FOUND")                   \
    X(FOTA_ERR_ESP_NVS_ENCR_NOT_SUPPORTED, 1151, "ESP_ERR_NVS_ENCR_NOT_SUPPORTED")                 \
    X(FOTA_ERR_ESP_NVS_KEYS_NOT_INITIALIZED, 1152, "ESP_ERR_NVS_KEYS_NOT_INITIALIZED")             \
    X(FOTA_ERR_ESP_NVS_CORRUPT_KEY_PART, 1153, "ESP_ERR_NVS_CORRUPT_KEY_PART")                     \
    X(FOTA_ERR_ESP_NVS_CONTENT_DIFFERS, 1154, "ESP_ERR_NVS_CONTENT_DIFFERS")                       \
    X(FOTA_ERR_ESP_NVS_WRONG_ENCRYPTION, 1155, "ESP_ERR_NVS_WRONG_ENCRYPTION")                     \
    X(FOTA_ERR_ESP_OTA_PARTITION_CONFLICT, 1161, "ESP_ERR_OTA_PARTITION_CONFLICT")                 \
    X(FOTA_ERR_ESP_OTA_SELECT_INFO_INVALID, 1162, "ESP_ERR_OTA_SELECT_INFO_INVALID")               \
    X(FOTA_ERR_ESP_OTA_VALIDATE_FAILED, 1163, "ESP_ERR_OTA_VALIDATE_FAILED")                       \
    X(FOTA_ERR_ESP_OTA_SMALL_SEC_VER, 1164, "ESP_ERR_OTA_SMALL_SEC_VER")                           \
    X(FOTA_ERR_ESP_OTA_ROLLBACK_FAILED, 1165, "ESP_ERR_OTA_ROLLBACK_FAILED")                       \
    X(FOTA_ERR_ESP_OTA_ROLLBACK_INVALID_STATE, 1166, "ESP_ERR_OTA_ROLLBACK_INVALID_STATE")         \
    X(FOTA_ERR_ESP_HTTP_MAX_REDIRECT, 1171, "ESP_ERR_HTTP_MAX_REDIRECT")                           \
    X(FOTA_ERR_ESP_HTTP_CONNECT, 1172, "ESP_ERR_HTTP_CONNECT")                                     \
    X(FOTA_ERR_ESP_HTTP_WRITE_DATA, 1173, "ESP_ERR_HTTP_WRITE_DATA")                               \
    X(FOTA_ERR_ESP_HTTP_FETCH_HEADER, 1174, "ESP_ERR_HTTP_FETCH_HEADER")                           \
    X(FOTA_ERR_ESP_HTTP_INVALID_TRANSPORT, 1175, "ESP_ERR_HTTP_INVALID_TRANSPORT")                 \
    X(FOTA_ERR_ESP_HTTP_CONNECTING, 1176, "ESP_ERR_HTTP_CONNECTING")                               \
    X(FOTA_ERR_ESP_HTTP_EAGAIN, 1177, "ESP_ERR_HTTP_EAGAIN")                                       \
    X(FOTA_ERR_ESP_HTTP_CONNECTION_CLOSED, 1178, "ESP_ERR_HTTP_CONNECTION_CLOSED")                 \
    X(FOTA_ERR_ESP_HTTP_NOT_MODIFIED, 1179, "ESP_ERR_HTTP_NOT_MODIFIED")                           \
    X(FOTA_ERR_ESP_HTTP_RANGE_NOT_SATISFIABLE, 1180, "ESP_ERR_HTTP_RANGE_NOT_SATISFIABLE")         \
    X(FOTA_ERR_ESP_HTTP_READ_TIMEOUT, 1181, "ESP_ERR_HTTP_READ_TIMEOUT")                           \
    X(FOTA_ERR_ESP_HTTP_INCOMPLETE_DATA, 1182, "ESP_ERR_HTTP_INCOMPLETE_DATA")                     \
    X(FOTA_ERR_ESP_HTTP_REDIRECT_DOWNGRADE, 1183, "ESP_ERR_HTTP_REDIRECT_DOWNGRADE")               \
    X(FOTA_ERR_ESP_OTHER, 1199, "another ESP-IDF error (logged with its number)")

#define FOTA_ERR_LIST(X)                                                                           \
    FOTA_ERR_LIST_GENERIC(X)                                                                       \
    FOTA_ERR_LIST_FLASH(X)                                                                         \
    FOTA_ERR_LIST_PART(X)                                                                          \
    FOTA_ERR_LIST_OTADATA(X)                                                                       \
    FOTA_ERR_LIST_IMAGE(X)                                                                         \
    FOTA_ERR_LIST_BOOT(X)                                                                          \
    FOTA_ERR_LIST_JOURNAL(X)                                                                       \
    FOTA_ERR_LIST_HTTP(X)                                                                          \
    FOTA_ERR_LIST_SEED(X)                                                                          \
    FOTA_ERR_LIST_TRUST(X)                                                                         \
    FOTA_ERR_LIST_AGENT(X)                                                                         \
    FOTA_ERR_LIST_DELTA(X)                                                                         \
    FOTA_ERR_LIST_ESP(X)

#define FOTA_ERR_ENUM_ENTRY_(name, value, text) name = value,
typedef enum { FOTA_ERR_LIST(FOTA_ERR_ENUM_ENTRY_) } fota_err_t;
#undef FOTA_ERR_ENUM_ENTRY_

/* The code's name ("FOTA_ERR_IMAGE_MAGIC"), or "FOTA_ERR_UNKNOWN" for a number not in the list;
 * "FOTA_ERR_UNNAMED" in a build without names (FOTA_CONFIG_ERR_NAMES 0, fota_config.h). */
const char *fota_err_name(fota_err_t err);

/* A short human description ("image header magic is not 0xE9"). */
const char *fota_err_text(fota_err_t err);

#ifdef __cplusplus
}
#endif

#endif /* FOTA_ERR_H */
