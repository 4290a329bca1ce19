/*
 * cli.h - the command-line plumbing shared by the host tools (fota-image, fota-flash, ...).
 *
 * A tool is a table of subcommands; fota_cli_dispatch() picks one from argv[1] and handles the
 * tool-level --help. Each subcommand declares its options in a small table and calls
 * fota_cli_parse(), which handles --help, "--name value", "--name=value", "-o value", "--",
 * options before or after the positional arguments, and prints a one-line usage error.
 *
 * Conventions every tool follows (docs/TOOLS.md):
 *   exit 0 ok, 1 invalid input or data, 2 usage error, 3 bricked (no bootable app);
 *   --help prints the usage to stdout and exits 0;
 *   errors are ONE line on stderr: "prog: subject: reason (FOTA_ERR_NAME)".
 */
#ifndef FOTA_HOST_CLI_H
#define FOTA_HOST_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/err.h"
#include "fota/esp_image.h"

enum {
    FOTA_CLI_EXIT_OK = 0,
    FOTA_CLI_EXIT_INVALID = 1, /* bad input file or data */
    FOTA_CLI_EXIT_USAGE = 2,   /* bad command line */
    FOTA_CLI_EXIT_BRICKED = 3, /* the emulated device has no bootable app */
};

/* Largest file the tools read whole (images, CSV): the largest ESP32 flash. */
#define FOTA_CLI_MAX_FILE (16u * 1024u * 1024u)

struct fota_cli_cmd;
typedef int (*fota_cli_run_fn)(const struct fota_cli_cmd *cmd, int argc, char **argv);

typedef struct fota_cli_cmd {
    const char *name;    /* "create" */
    const char *summary; /* one line for the tool's --help */
    const char *usage;   /* the whole text printed by "<tool> <name> --help" */
    fota_cli_run_fn run; /* gets argv[0] = the subcommand name */
} fota_cli_cmd_t;

typedef struct {
    const char *prog;    /* "fota-image": prefix of every message */
    const char *summary; /* first line(s) of the tool's --help */
    const fota_cli_cmd_t *cmds;
    size_t n_cmds;
} fota_cli_tool_t;

/* One option of a subcommand. Exactly one of value / flag is set. */
typedef struct {
    const char *name;   /* long name without dashes ("version" for --version); NULL ends a table */
    char short_name;    /* 'o' for -o, or 0 */
    const char **value; /* an option with an argument: the argument is stored here */
    bool *flag;         /* an option without one: set to true */
} fota_cli_opt_t;

typedef struct {
    const fota_cli_opt_t *opts; /* table ended by an entry whose name is NULL */
    const char **pos;           /* receives the positional arguments */
    const char *pos_name;       /* "FILE": named in "missing FILE" */
    size_t pos_min;
    size_t pos_max; /* capacity of pos */
    size_t n_pos;   /* out: how many were given */
} fota_cli_spec_t;

/* Run the subcommand named by argv[1]; returns the process exit code. */
int fota_cli_dispatch(const fota_cli_tool_t *tool, int argc, char **argv);

/* Parse a subcommand's arguments (argv[0] is its name). Returns true to go on; false when the
 * command is done, with *exit_code set: 0 after --help, FOTA_CLI_EXIT_USAGE after an error. */
bool fota_cli_parse(const char *prog, const fota_cli_cmd_t *cmd, fota_cli_spec_t *spec, int argc,
                    char **argv, int *exit_code);

/* "prog cmd: message (try 'prog cmd --help')" on stderr; returns FOTA_CLI_EXIT_USAGE. */
int fota_cli_usage_error(const char *prog, const fota_cli_cmd_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "prog: subject: detail (FOTA_ERR_NAME)" on stderr, detail defaulting to fota_err_text(err)
 * when fmt is NULL; subject may be NULL. Returns FOTA_CLI_EXIT_BRICKED for FOTA_ERR_BOOT_NO_APP,
 * else FOTA_CLI_EXIT_INVALID. */
int fota_cli_fail(const char *prog, const char *subject, fota_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sizes: decimal, 0x hex, or with a K (x1024) or M (x1048576) suffix: "1068032", "64K", "1M".
 * FOTA_ERR_ARG if it is not one, FOTA_ERR_RANGE above UINT32_MAX. */
fota_err_t fota_cli_parse_size(const char *text, uint32_t *out);

/* An unsigned number (decimal or 0x hex) no larger than max. */
fota_err_t fota_cli_parse_u32(const char *text, uint32_t max, uint32_t *out);

/* Read a whole file (at most FOTA_CLI_MAX_FILE bytes, NUL-terminated for text). On failure prints
 * "prog: path: cannot read: <strerror> (FOTA_ERR_IO)" and returns the exit code, else 0. */
int fota_cli_read_file(const char *prog, const char *path, uint8_t **buf, size_t *len);

/* Validate an image held in memory (fota_esp_image_check): reading past the end of the buffer is
 * FOTA_ERR_IMAGE_TRUNCATED, an image longer than max_len is FOTA_ERR_IMAGE_TOO_BIG. */
fota_err_t fota_cli_image_check(const uint8_t *data, size_t len, uint32_t max_len,
                                fota_esp_image_info_t *info);

/* fota_cli_read_file + fota_cli_image_check; on failure prints the one-line error, frees the
 * buffer and returns the exit code; on success returns 0 and the caller frees *buf. */
int fota_cli_load_image(const char *prog, const char *path, uint32_t max_len, uint8_t **buf,
                        size_t *len, fota_esp_image_info_t *info);

/* A chip for people: "ESP32-S3 (id 9)", or "unknown chip (id 4660)" for an id
 * fota_esp_chip_by_id does not know; into out (at least FOTA_CLI_CHIP_TEXT bytes). Returns out. */
#define FOTA_CLI_CHIP_TEXT 40u
char *fota_cli_chip_text(uint16_t chip_id, char *out, size_t cap);

/* The target names of every known chip, ", "-separated ("esp32, esp32s2, ..."), for errors;
 * into out (FOTA_CLI_CHIP_NAMES bytes hold them all). Returns out. */
#define FOTA_CLI_CHIP_NAMES 160u
char *fota_cli_chip_names(char *out, size_t cap);

/* Lower-case hex of n bytes into out (2n + 1 bytes). Returns out. */
char *fota_cli_hex(const uint8_t *p, size_t n, char *out);

#endif /* FOTA_HOST_CLI_H */
