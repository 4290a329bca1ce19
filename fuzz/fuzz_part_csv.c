/*
 * fuzz_part_csv.c - libFuzzer target: the ESP-IDF partition CSV (emu/partition_csv.c:
 * fota_part_table_from_csv, as `fota-flash create --partitions FILE` reads a user's file), then
 * fota_part_table_validate and the round trips of part_check.h on every table it accepts.
 *
 * Input: the file's text (a NUL is added; an embedded NUL ends the text, as it does for the
 * tool). On an error the line number must point into the text and the message must be a string.
 *
 * Seeds: --make-seed DIR writes the default table as `fota-flash show` prints it
 * (fota_part_table_to_csv) and CSV files in ESP-IDF's styles (comments, blank lines, empty
 * offsets, K/M sizes, numeric types, flags, a byte order mark, CRLF line ends).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "part_check.h"
#include "rig.h"

/* ---- seeds ----------------------------------------------------------------------------------- */

static void seed(const char *dir, const char *name, const char *text)
{
    rig_write_seed(dir, name, text, strlen(text));
}

static void make_seeds(const char *dir)
{
    fota_part_table_t t;
    fota_part_table_default(&t);
    char text[4096];
    fota_part_table_to_csv(&t, text, sizeof text);
    seed(dir, "default", text);
    seed(dir, "docs-example",
         "# Name,   Type, SubType, Offset,  Size,  Flags\n"
         "nvs,      data, nvs,     0x9000,  0x4000,\n"
         "otadata,  data, ota,     0xd000,  0x2000,\n"
         "phy_init, data, phy,     0xf000,  0x1000,\n"
         "ota_0,    app,  ota_0,   0x10000, 1M,\n"
         "ota_1,    app,  ota_1,   ,        1M,\n"
         "storage,  data, spiffs,  ,        512K, readonly\n");
    seed(dir, "factory-flags",
         "\xEF\xBB\xBF# with a BOM and CRLF\r\n\r\nnvs,data,nvs,,24K\r\n"
         "otadata,data,ota,,8K\r\nfactory,app,factory,0x10000,1M\r\nota_0,app,ota_0,,1M\r\n"
         "test,app,test,,64k\r\nfs,data,fat,,1m,encrypted readonly\r\n"
         "custom,0x40,0x3,,0x1000,encrypted:readonly\r\nx,1,0x99,,4096,\r\n");
    seed(dir, "errors", "nvs,data,nvs,0x9000\nbad,app,,0x10000,1M\n,,,,\nq,data,ota,0x,1Q\n");
}

/* ---- the target ------------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = rig_make_seed_dir(*argc, *argv);
    if (dir != NULL) {
        make_seeds(dir);
        exit(0);
    }
    return 0;
}

static size_t count_lines(const char *text)
{
    size_t n = 1;
    for (; *text != '\0'; text++) {
        n += *text == '\n';
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    fota_part_table_t t;
    int line = -1;
    char msg[120];
    fota_err_t err = fota_part_table_from_csv(text, &t, &line, msg, sizeof msg);
    if (err != FOTA_OK) {
        part_check_require(line >= 1 && (size_t)line <= count_lines(text), "error line in text");
        part_check_require(memchr(msg, '\0', sizeof msg) != NULL, "message is a string");
    } else {
        part_check_require(line == 0, "no error line on success");
        part_check_lookups(&t);
        part_check_binary_round_trip(&t);
        if (fota_part_table_validate(&t, PART_FLASH_MAX, msg, sizeof msg) == FOTA_OK) {
            part_check_csv_round_trip(&t);
        }
        part_check_csv_truncation(&t, size % 257u);
    }
    free(text);
    return 0;
}
