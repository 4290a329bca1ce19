/*
 * fota-image - build, inspect and check ESP-IDF app images for the emulated ESP32.
 *
 *   fota-image create --version V --size N [--chip NAME] [...] -o FILE
 *                                                           build a test image (image_build.h)
 *   fota-image info FILE                                    every field, like esptool image_info
 *   fota-image verify FILE [--max-size N]                   the device's check, one line
 *
 * main() is the command table; each subcommand is one function. Conventions (exit codes, --help,
 * one-line errors) come from fota/host/cli.h and are described in docs/TOOLS.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/host/cli.h"
#include "fota/host/file_util.h"
#include "fota/emu/image_build.h"

#include "image_info.h"

#define PROG "fota-image"
#define TEXT_FIELD_MAX 31u /* version and project_name are 32-byte fields, NUL included */

static const char CREATE_USAGE[] =
    "usage: fota-image create --version V --size N [options] -o FILE\n"
    "\n"
    "Build an ESP-IDF app image (header, segments, checksum, appended SHA-256, esp_app_desc_t)\n"
    "for an emulated chip of the ESP32 family. The content is pseudo-random from the seed, so\n"
    "two versions differ.\n"
    "\n"
    "options:\n"
    "  --version V         app version, 1 to 31 characters (esp_app_desc_t.version)\n"
    "  --size N            file size: bytes, 0x hex, or K/M suffix (64K, 1M); >= 1024,\n"
    "                      rounded up to a multiple of 16 (65535 gives 65536 bytes)\n"
    "  --chip NAME         the chip the app is built for (default esp32): esp32, esp32s2,\n"
    "                      esp32s3, esp32c2, esp32c3, esp32c5, esp32c6, esp32c61, esp32h2,\n"
    "                      esp32p4 (or ESP32-S3...): its chip id, load addresses, entry point\n"
    "                      and chip revision fields, as ESP-IDF v5.5 writes them\n"
    "  --project NAME      project name, up to 31 characters (default fota-test)\n"
    "  --secure-version S  anti-rollback security version (default 0)\n"
    "  --seed X            content seed (default: derived from the version)\n"
    "  --fail-selftest     the emulated app fails its self-test, so it never confirms itself\n"
    "                      and the bootloader rolls it back\n"
    "  --chip-id ID        or any chip id in the header (a number; an unknown one gets the\n"
    "                      ESP32's layout)\n"
    "  -o, --output FILE   where to write the image (written atomically)\n";

static const char INFO_USAGE[] =
    "usage: fota-image info FILE\n"
    "\n"
    "Print the image header (with the chip named), each segment (file offset, load address,\n"
    "length, and the memory types esptool names for that address on the image's chip),\n"
    "the checksum and appended SHA-256 (stored and computed, valid or invalid), the app\n"
    "descriptor (version, project, secure version, idf) and the emulator flags.\n"
    "Exit 0 if the image is valid, 1 (with a one-line error) if not.\n";

static const char VERIFY_USAGE[] =
    "usage: fota-image verify FILE [--max-size N]\n"
    "\n"
    "Check the image as the device does (header, segments, checksum, SHA-256, app descriptor)\n"
    "and print \"FILE: valid, version V, N bytes, chip ESP32-S3 (id 9)\", or a one-line error\n"
    "and exit 1. The device also compares the chip id with its own chip.\n"
    "\n"
    "options:\n"
    "  --max-size N        the image must fit in N bytes (a partition size: 0x140000, 1280K)\n";

/* --- create ---------------------------------------------------------------------------------- */

typedef struct {
    const char *version, *size, *project, *secure_version, *seed, *chip, *chip_id, *output;
    bool fail_selftest;
} create_args_t;

/* A numeric option: absent keeps *out, present must parse. */
static int opt_u32(const fota_cli_cmd_t *cmd, const char *name, const char *text, uint32_t max,
                   uint32_t *out)
{
    if (text != NULL && fota_cli_parse_u32(text, max, out) != FOTA_OK) {
        return fota_cli_usage_error(PROG, cmd, "invalid %s '%s': a number up to %u expected", name,
                                    text, (unsigned)max);
    }
    return FOTA_CLI_EXIT_OK;
}

static int check_text(const fota_cli_cmd_t *cmd, const char *name, const char *text)
{
    if (text != NULL && (text[0] == 0 || strlen(text) > TEXT_FIELD_MAX)) {
        return fota_cli_usage_error(PROG, cmd, "%s must be 1 to %u characters", name,
                                    TEXT_FIELD_MAX);
    }
    return FOTA_CLI_EXIT_OK;
}

static int check_required(const fota_cli_cmd_t *cmd, const create_args_t *a)
{
    const char *missing = a->version == NULL  ? "--version"
                          : a->size == NULL   ? "--size"
                          : a->output == NULL ? "-o FILE"
                                              : NULL;
    if (missing != NULL) {
        return fota_cli_usage_error(PROG, cmd, "missing %s", missing);
    }
    return FOTA_CLI_EXIT_OK;
}

/* --chip NAME or --chip-id ID (not both); the ESP32 without either. */
static int chip_option(const fota_cli_cmd_t *cmd, const create_args_t *a, uint16_t *out)
{
    uint32_t id = FOTA_ESP_CHIP_ID_ESP32;
    if (a->chip != NULL && a->chip_id != NULL) {
        return fota_cli_usage_error(PROG, cmd, "--chip and --chip-id exclude each other");
    }
    if (a->chip != NULL) {
        const fota_esp_chip_t *chip = fota_esp_chip_by_name(a->chip);
        char names[FOTA_CLI_CHIP_NAMES];
        if (chip == NULL) {
            return fota_cli_usage_error(PROG, cmd, "unknown --chip '%s': one of %s", a->chip,
                                        fota_cli_chip_names(names, sizeof names));
        }
        id = chip->id;
    }
    int rc = opt_u32(cmd, "--chip-id", a->chip_id, UINT16_MAX, &id);
    *out = (uint16_t)id;
    return rc;
}

static int create_spec(const fota_cli_cmd_t *cmd, const create_args_t *a, fota_image_spec_t *s)
{
    int rc = check_required(cmd, a);
    rc = rc ? rc : check_text(cmd, "--version", a->version);
    rc = rc ? rc : check_text(cmd, "--project", a->project);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    memset(s, 0, sizeof *s);
    s->version = a->version;
    s->project_name = a->project;
    s->emu_flags = a->fail_selftest ? FOTA_EMU_FLAG_SELFTEST_FAIL : 0;
    if (fota_cli_parse_size(a->size, &s->size) != FOTA_OK || s->size < FOTA_IMAGE_MIN_SIZE) {
        return fota_cli_usage_error(PROG, cmd, "invalid --size '%s': %u bytes or more expected",
                                    a->size, FOTA_IMAGE_MIN_SIZE);
    }
    rc = opt_u32(cmd, "--secure-version", a->secure_version, UINT32_MAX, &s->secure_version);
    rc = rc ? rc : opt_u32(cmd, "--seed", a->seed, UINT32_MAX, &s->seed);
    return rc ? rc : chip_option(cmd, a, &s->chip_id);
}

static int build_and_write(const fota_image_spec_t *s, const char *path)
{
    uint8_t *image = NULL;
    size_t len = 0;
    fota_err_t err = fota_image_build(s, &image, &len);
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, path, err, NULL);
    }
    err = fota_file_write_all(path, image, len, 0644);
    free(image);
    if (err != FOTA_OK) {
        return fota_cli_fail(PROG, path, err, "cannot write the image");
    }
    char chip[FOTA_CLI_CHIP_TEXT];
    printf("%s: created, version %s, %zu bytes, chip %s%s\n", path, s->version, len,
           fota_cli_chip_text(s->chip_id, chip, sizeof chip),
           s->emu_flags & FOTA_EMU_FLAG_SELFTEST_FAIL ? ", self-test fails" : "");
    return FOTA_CLI_EXIT_OK;
}

static int cmd_create(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    create_args_t a = {0};
    const fota_cli_opt_t opts[] = {
        {"version", 0, &a.version, NULL}, {"size", 0, &a.size, NULL},
        {"project", 0, &a.project, NULL}, {"secure-version", 0, &a.secure_version, NULL},
        {"seed", 0, &a.seed, NULL},       {"chip", 0, &a.chip, NULL},
        {"chip-id", 0, &a.chip_id, NULL}, {"fail-selftest", 0, NULL, &a.fail_selftest},
        {"output", 'o', &a.output, NULL}, {NULL, 0, NULL, NULL},
    };
    fota_cli_spec_t spec = {opts, NULL, NULL, 0, 0, 0};
    int rc;
    if (!fota_cli_parse(PROG, cmd, &spec, argc, argv, &rc)) {
        return rc;
    }
    fota_image_spec_t s;
    rc = create_spec(cmd, &a, &s);
    return rc != FOTA_CLI_EXIT_OK ? rc : build_and_write(&s, a.output);
}

/* --- info and verify ------------------------------------------------------------------------- */

static void print_valid(const char *path, const fota_esp_image_info_t *info)
{
    char chip[FOTA_CLI_CHIP_TEXT];
    printf("%s: valid, version %s, %u bytes, chip %s\n", path, info->app_desc.version,
           (unsigned)info->image_len, fota_cli_chip_text(info->header.chip_id, chip, sizeof chip));
}

static int cmd_info(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *file = NULL;
    const fota_cli_opt_t opts[] = {{NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, &file, "FILE", 1, 1, 0};
    int rc;
    if (!fota_cli_parse(PROG, cmd, &spec, argc, argv, &rc)) {
        return rc;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    rc = fota_cli_read_file(PROG, file, &data, &len);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    image_info_print(stdout, file, data, len);
    fota_esp_image_info_t info;
    fota_err_t err = fota_cli_image_check(data, len, UINT32_MAX, &info);
    free(data);
    if (err != FOTA_OK) {
        printf("Result:           invalid: %s (%s)\n", fota_err_text(err), fota_err_name(err));
        return fota_cli_fail(PROG, file, err, NULL);
    }
    printf("Result:           ");
    print_valid(file, &info);
    return FOTA_CLI_EXIT_OK;
}

static int cmd_verify(const fota_cli_cmd_t *cmd, int argc, char **argv)
{
    const char *file = NULL, *max_text = NULL;
    const fota_cli_opt_t opts[] = {{"max-size", 0, &max_text, NULL}, {NULL, 0, NULL, NULL}};
    fota_cli_spec_t spec = {opts, &file, "FILE", 1, 1, 0};
    int rc;
    if (!fota_cli_parse(PROG, cmd, &spec, argc, argv, &rc)) {
        return rc;
    }
    uint32_t max = UINT32_MAX;
    if (max_text != NULL && fota_cli_parse_size(max_text, &max) != FOTA_OK) {
        return fota_cli_usage_error(PROG, cmd, "invalid --max-size '%s'", max_text);
    }
    uint8_t *data = NULL;
    size_t len = 0;
    fota_esp_image_info_t info;
    rc = fota_cli_load_image(PROG, file, max, &data, &len, &info);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    free(data);
    print_valid(file, &info);
    return FOTA_CLI_EXIT_OK;
}

/* --- main ------------------------------------------------------------------------------------ */

static const fota_cli_cmd_t COMMANDS[] = {
    {"create", "build an app image for an emulated chip of the ESP32 family", CREATE_USAGE,
     cmd_create},
    {"info", "show an image's header, segments, checksum, hash and app descriptor", INFO_USAGE,
     cmd_info},
    {"verify", "check an image as the device does", VERIFY_USAGE, cmd_verify},
};

int main(int argc, char **argv)
{
    const fota_cli_tool_t tool = {PROG, "Build, inspect and check ESP-IDF app images.", COMMANDS,
                                  sizeof COMMANDS / sizeof COMMANDS[0]};
    return fota_cli_dispatch(&tool, argc, argv);
}
