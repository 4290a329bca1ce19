/*
 * cli.c - command-line plumbing shared by the host tools: subcommand dispatch, a small option
 * parser (no getopt global state, options anywhere on the line), number parsing, one-line errors
 * and loading an image file. The tools keep only their commands; the conventions (exit codes,
 * --help, "prog: subject: reason (FOTA_ERR_NAME)") live here so that every tool behaves alike.
 */
#include "fota/host/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/bytes.h"
#include "fota/host/file_util.h"

/* --- dispatch -------------------------------------------------------------------------------- */

static bool is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static void print_tool_usage(const fota_cli_tool_t *tool, FILE *out)
{
    fprintf(out, "usage: %s COMMAND [ARGS...]\n%s\n\ncommands:\n", tool->prog, tool->summary);
    for (size_t i = 0; i < tool->n_cmds; i++) {
        fprintf(out, "  %-10s %s\n", tool->cmds[i].name, tool->cmds[i].summary);
    }
    fprintf(out,
            "\nRun '%s COMMAND --help' for the options of a command.\n"
            "Exit codes: 0 ok, 1 invalid input or data, 2 usage error, 3 bricked.\n",
            tool->prog);
}

static const fota_cli_cmd_t *find_cmd(const fota_cli_tool_t *tool, const char *name)
{
    for (size_t i = 0; i < tool->n_cmds; i++) {
        if (strcmp(tool->cmds[i].name, name) == 0) {
            return &tool->cmds[i];
        }
    }
    return NULL;
}

/* "tool help CMD" is "tool CMD --help". */
static int help_for(const fota_cli_tool_t *tool, int argc, char **argv)
{
    const fota_cli_cmd_t *cmd = argc > 2 ? find_cmd(tool, argv[2]) : NULL;
    if (cmd == NULL) {
        print_tool_usage(tool, stdout);
    } else {
        fputs(cmd->usage, stdout);
    }
    return FOTA_CLI_EXIT_OK;
}

int fota_cli_dispatch(const fota_cli_tool_t *tool, int argc, char **argv)
{
    if (argc < 2) {
        print_tool_usage(tool, stderr);
        return FOTA_CLI_EXIT_USAGE;
    }
    if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        return help_for(tool, argc, argv);
    }
    const fota_cli_cmd_t *cmd = find_cmd(tool, argv[1]);
    if (cmd == NULL) {
        fprintf(stderr, "%s: unknown %s '%s' (try '%s --help')\n", tool->prog,
                argv[1][0] == '-' ? "option" : "command", argv[1], tool->prog);
        return FOTA_CLI_EXIT_USAGE;
    }
    return cmd->run(cmd, argc - 1, argv + 1);
}

/* --- option parsing -------------------------------------------------------------------------- */

typedef struct {
    const char *prog;
    const fota_cli_cmd_t *cmd;
    fota_cli_spec_t *spec;
    int argc;
    char **argv;
    int i; /* index of the argument being parsed */
} parser_t;

static const fota_cli_opt_t *find_long(const fota_cli_opt_t *opts, const char *name, size_t len)
{
    for (; opts->name != NULL; opts++) {
        if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0) {
            return opts;
        }
    }
    return NULL;
}

static const fota_cli_opt_t *find_short(const fota_cli_opt_t *opts, char c)
{
    for (; opts->name != NULL; opts++) {
        if (opts->short_name != 0 && opts->short_name == c) {
            return opts;
        }
    }
    return NULL;
}

/* Store the option's value: `inline_value` (after '=' or glued to -o) or the next argument. */
static bool take_value(parser_t *p, const fota_cli_opt_t *opt, const char *inline_value,
                       const char *shown)
{
    if (opt->flag != NULL) {
        if (inline_value != NULL) {
            fota_cli_usage_error(p->prog, p->cmd, "option '%s' takes no value", shown);
            return false;
        }
        *opt->flag = true;
        return true;
    }
    if (inline_value == NULL) {
        if (p->i + 1 >= p->argc) {
            fota_cli_usage_error(p->prog, p->cmd, "option '%s' needs a value", shown);
            return false;
        }
        inline_value = p->argv[++p->i];
    }
    *opt->value = inline_value;
    return true;
}

static bool parse_long(parser_t *p, const char *arg)
{
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    const fota_cli_opt_t *opt = find_long(p->spec->opts, name, len);
    if (opt == NULL) {
        fota_cli_usage_error(p->prog, p->cmd, "unknown option '%.*s'", (int)len + 2, arg);
        return false;
    }
    char shown[64];
    snprintf(shown, sizeof shown, "--%s", opt->name);
    return take_value(p, opt, eq != NULL ? eq + 1 : NULL, shown);
}

static bool parse_short(parser_t *p, const char *arg)
{
    const fota_cli_opt_t *opt = find_short(p->spec->opts, arg[1]);
    if (opt == NULL) {
        fota_cli_usage_error(p->prog, p->cmd, "unknown option '%s'", arg);
        return false;
    }
    char shown[4] = {'-', arg[1], 0, 0};
    const char *glued = arg[2] != 0 ? arg + 2 : NULL;
    return take_value(p, opt, glued, shown);
}

static bool add_positional(parser_t *p, const char *arg)
{
    fota_cli_spec_t *s = p->spec;
    if (s->n_pos >= s->pos_max) {
        fota_cli_usage_error(p->prog, p->cmd, "unexpected argument '%s'", arg);
        return false;
    }
    s->pos[s->n_pos++] = arg;
    return true;
}

/* One argument; *only_pos turns true after "--". */
static bool parse_one(parser_t *p, bool *only_pos)
{
    const char *arg = p->argv[p->i];
    if (*only_pos || arg[0] != '-' || arg[1] == 0) {
        return add_positional(p, arg);
    }
    if (strcmp(arg, "--") == 0) {
        *only_pos = true;
        return true;
    }
    if (arg[1] == '-') {
        return parse_long(p, arg);
    }
    return parse_short(p, arg);
}

static bool has_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (is_help(argv[i])) {
            return true;
        }
    }
    return false;
}

bool fota_cli_parse(const char *prog, const fota_cli_cmd_t *cmd, fota_cli_spec_t *spec, int argc,
                    char **argv, int *exit_code)
{
    *exit_code = FOTA_CLI_EXIT_USAGE;
    if (has_help(argc, argv)) {
        fputs(cmd->usage, stdout);
        *exit_code = FOTA_CLI_EXIT_OK;
        return false;
    }
    parser_t p = {prog, cmd, spec, argc, argv, 1};
    bool only_pos = false;
    spec->n_pos = 0;
    for (; p.i < argc; p.i++) {
        if (!parse_one(&p, &only_pos)) {
            return false;
        }
    }
    if (spec->n_pos < spec->pos_min) {
        fota_cli_usage_error(prog, cmd, "missing %s", spec->pos_name ? spec->pos_name : "argument");
        return false;
    }
    *exit_code = FOTA_CLI_EXIT_OK;
    return true;
}

/* --- messages -------------------------------------------------------------------------------- */

/* Messages are one line: a newline inside a detail (from a file name or a lower layer) would
 * split it, so it becomes a space. */
static void one_line(char *s)
{
    for (; *s != 0; s++) {
        if (*s == '\n' || *s == '\r') {
            *s = ' ';
        }
    }
}

int fota_cli_usage_error(const char *prog, const fota_cli_cmd_t *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    one_line(msg);
    fflush(stdout); /* what was printed before the error comes before it */
    fprintf(stderr, "%s %s: %s (try '%s %s --help')\n", prog, cmd->name, msg, prog, cmd->name);
    return FOTA_CLI_EXIT_USAGE;
}

int fota_cli_fail(const char *prog, const char *subject, fota_err_t err, const char *fmt, ...)
{
    char msg[512];
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    } else {
        snprintf(msg, sizeof msg, "%s", fota_err_text(err));
    }
    one_line(msg);
    fflush(stdout);
    if (subject != NULL) {
        fprintf(stderr, "%s: %s: %s (%s)\n", prog, subject, msg, fota_err_name(err));
    } else {
        fprintf(stderr, "%s: %s (%s)\n", prog, msg, fota_err_name(err));
    }
    return err == FOTA_ERR_BOOT_NO_APP ? FOTA_CLI_EXIT_BRICKED : FOTA_CLI_EXIT_INVALID;
}

/* --- numbers --------------------------------------------------------------------------------- */

/* Decimal or 0x hex, no sign, no leading blanks (strtoull would accept both). */
static fota_err_t parse_number(const char *text, unsigned long long *out, const char **end)
{
    if (text[0] < '0' || text[0] > '9') {
        return FOTA_ERR_ARG;
    }
    bool hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    char *stop;
    errno = 0;
    *out = strtoull(hex ? text + 2 : text, &stop, hex ? 16 : 10);
    if (stop == text + (hex ? 2 : 0)) {
        return FOTA_ERR_ARG;
    }
    if (errno == ERANGE || *out > UINT32_MAX) {
        return FOTA_ERR_RANGE;
    }
    *end = stop;
    return FOTA_OK;
}

static uint32_t suffix_multiplier(const char *s)
{
    if (*s == 0) {
        return 1;
    }
    if (s[1] != 0) {
        return 0;
    }
    if (*s == 'K' || *s == 'k') {
        return 1024u;
    }
    if (*s == 'M' || *s == 'm') {
        return 1024u * 1024u;
    }
    return 0;
}

fota_err_t fota_cli_parse_size(const char *text, uint32_t *out)
{
    unsigned long long v;
    const char *end;
    fota_err_t err = parse_number(text, &v, &end);
    if (err != FOTA_OK) {
        return err;
    }
    uint32_t mul = suffix_multiplier(end);
    if (mul == 0) {
        return FOTA_ERR_ARG;
    }
    if (v > UINT32_MAX / mul) {
        return FOTA_ERR_RANGE;
    }
    *out = (uint32_t)(v * mul);
    return FOTA_OK;
}

fota_err_t fota_cli_parse_u32(const char *text, uint32_t max, uint32_t *out)
{
    unsigned long long v;
    const char *end;
    fota_err_t err = parse_number(text, &v, &end);
    if (err != FOTA_OK) {
        return err;
    }
    if (*end != 0) {
        return FOTA_ERR_ARG;
    }
    if (v > max) {
        return FOTA_ERR_RANGE;
    }
    *out = (uint32_t)v;
    return FOTA_OK;
}

/* --- files and images ------------------------------------------------------------------------ */

int fota_cli_read_file(const char *prog, const char *path, uint8_t **buf, size_t *len)
{
    errno = 0;
    fota_err_t err = fota_file_read_all(path, FOTA_CLI_MAX_FILE, buf, len);
    if (err == FOTA_ERR_TOO_LARGE) {
        return fota_cli_fail(prog, path, err, "larger than %u bytes", FOTA_CLI_MAX_FILE);
    }
    if (err != FOTA_OK) {
        return fota_cli_fail(prog, path, err, "cannot read: %s",
                             errno != 0 ? strerror(errno) : "not a regular file");
    }
    return FOTA_CLI_EXIT_OK;
}

/* The image reader: the end of the buffer is the end of the file, so running past it is a
 * truncated image rather than a generic read error. */
static fota_err_t image_read(void *ctx, uint32_t offset, void *buf, size_t len)
{
    fota_err_t err = fota_mem_read(ctx, offset, buf, len);
    return err == FOTA_ERR_TRUNCATED ? FOTA_ERR_IMAGE_TRUNCATED : err;
}

/* Whether the file ends before the image does, by the segment lengths: then any failure of the
 * check is best reported as a truncated image (`head -c`, an interrupted copy). A length that
 * is not a multiple of 4 is a corrupt header, not a short file. */
static bool ends_inside(const uint8_t *data, size_t len)
{
    if (len < FOTA_ESP_IMAGE_HEADER_LEN) {
        return true;
    }
    size_t off = FOTA_ESP_IMAGE_HEADER_LEN;
    for (unsigned i = 0; i < data[1]; i++) {
        if (len - off < FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN) {
            return true;
        }
        uint32_t seg_len = fota_get_le32(data + off + 4);
        off += FOTA_ESP_IMAGE_SEGMENT_HEADER_LEN;
        if (seg_len % 4 != 0) {
            return false;
        }
        if (seg_len > len - off) {
            return true;
        }
        off += seg_len;
    }
    size_t end = off + (15 - off % 16) + 1 + (data[23] == 1 ? 32 : 0);
    return end > len;
}

fota_err_t fota_cli_image_check(const uint8_t *data, size_t len, uint32_t max_len,
                                fota_esp_image_info_t *info)
{
    fota_mem_reader_t reader = {data, len};
    /* The file bounds the image; max_len is the caller's limit on the result. */
    uint32_t bound = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    fota_err_t err = fota_esp_image_check(image_read, &reader, bound, info);
    if (err != FOTA_OK && err != FOTA_ERR_IMAGE_MAGIC && ends_inside(data, len)) {
        return FOTA_ERR_IMAGE_TRUNCATED;
    }
    if (err == FOTA_OK && info->image_len > max_len) {
        return FOTA_ERR_IMAGE_TOO_BIG;
    }
    return err;
}

int fota_cli_load_image(const char *prog, const char *path, uint32_t max_len, uint8_t **buf,
                        size_t *len, fota_esp_image_info_t *info)
{
    int rc = fota_cli_read_file(prog, path, buf, len);
    if (rc != FOTA_CLI_EXIT_OK) {
        return rc;
    }
    fota_err_t err = fota_cli_image_check(*buf, *len, max_len, info);
    if (err == FOTA_OK) {
        return FOTA_CLI_EXIT_OK;
    }
    free(*buf);
    *buf = NULL;
    if (err == FOTA_ERR_IMAGE_TOO_BIG) {
        return fota_cli_fail(prog, path, err, "image is %u bytes, more than the %u available",
                             (unsigned)info->image_len, (unsigned)max_len);
    }
    return fota_cli_fail(prog, path, err, NULL);
}

char *fota_cli_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xF];
    }
    out[2 * n] = 0;
    return out;
}

/* --- chips ----------------------------------------------------------------------------------- */

char *fota_cli_chip_text(uint16_t chip_id, char *out, size_t cap)
{
    const fota_esp_chip_t *chip = fota_esp_chip_by_id(chip_id);
    snprintf(out, cap, "%s (id %u)", chip != NULL ? chip->name : "unknown chip", (unsigned)chip_id);
    return out;
}

char *fota_cli_chip_names(char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; fota_esp_chip_at(i) != NULL && used < cap; i++) {
        int n = snprintf(out + used, cap - used, "%s%s", i > 0 ? ", " : "",
                         fota_esp_chip_at(i)->target);
        used += n > 0 ? (size_t)n : 0;
    }
    return out;
}
