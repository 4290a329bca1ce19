/*
 * table.c - fotactl's output for people: aligned tables and "label value" blocks made from the
 * server's JSON, times in UTC, anything non-printable from the server shown as '?' (a device's
 * reported version must not be able to drive the operator's terminal). Scripts use --json and
 * get the server's own document on one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fotactl.h"

#define CELL_MAX 96 /* the longest value shown whole: an admin token (82 characters) */

static void copy_printable(const char *s, char out[CELL_MAX])
{
    size_t n = 0;
    for (; s[n] != '\0' && n < CELL_MAX - 1; n++) {
        unsigned char ch = (unsigned char)s[n];
        out[n] = ch >= 0x20 && ch < 0x7F ? (char)ch : '?';
    }
    out[n] = '\0';
}

static void time_text(double t, char out[CELL_MAX])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
        strftime(out, CELL_MAX, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
        snprintf(out, CELL_MAX, "-");
    }
}

static void cell_text(const cJSON *obj, const fotactl_col_t *col, char out[CELL_MAX])
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, col->key);
    if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
        copy_printable(v->valuestring, out);
    } else if (cJSON_IsNumber(v) && col->kind == FOTACTL_TIME) {
        time_text(v->valuedouble, out);
    } else if (cJSON_IsNumber(v)) {
        snprintf(out, CELL_MAX, "%.0f", v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        snprintf(out, CELL_MAX, "%s", cJSON_IsTrue(v) ? "yes" : "no");
    } else {
        snprintf(out, CELL_MAX, "-");
    }
}

static void print_row(const char cells[][CELL_MAX], const int *width, const fotactl_col_t *cols,
                      size_t n_cols)
{
    for (size_t c = 0; c < n_cols; c++) {
        bool last = c + 1 == n_cols;
        int w = cols[c].kind == FOTACTL_NUMBER ? width[c] : last ? 0 : -width[c];
        printf("%s%*s", c ? "  " : "", w, cells[c]);
    }
    putchar('\n');
}

/* Widest cell of each column, titles included. */
static void measure(const cJSON *rows, const fotactl_col_t *cols, size_t n_cols, int *width)
{
    char cell[CELL_MAX];
    const cJSON *row;
    for (size_t c = 0; c < n_cols; c++) {
        width[c] = (int)strlen(cols[c].title);
    }
    cJSON_ArrayForEach(row, rows)
    {
        for (size_t c = 0; c < n_cols; c++) {
            cell_text(row, &cols[c], cell);
            int n = (int)strlen(cell);
            width[c] = n > width[c] ? n : width[c];
        }
    }
}

void fotactl_table(const cJSON *rows, const fotactl_col_t *cols, size_t n_cols, const char *empty)
{
    int width[FOTACTL_TABLE_MAX_COLS] = {0};
    char cells[FOTACTL_TABLE_MAX_COLS][CELL_MAX];
    if (n_cols > FOTACTL_TABLE_MAX_COLS) {
        n_cols = FOTACTL_TABLE_MAX_COLS;
    }
    if (cJSON_GetArraySize(rows) == 0) {
        printf("%s\n", empty);
        return;
    }
    measure(rows, cols, n_cols, width);
    for (size_t c = 0; c < n_cols; c++) {
        snprintf(cells[c], CELL_MAX, "%s", cols[c].title);
    }
    print_row((const char(*)[CELL_MAX])cells, width, cols, n_cols);
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        for (size_t c = 0; c < n_cols; c++) {
            cell_text(row, &cols[c], cells[c]);
        }
        print_row((const char(*)[CELL_MAX])cells, width, cols, n_cols);
    }
}

void fotactl_fields(const cJSON *obj, const fotactl_col_t *fields, size_t n_fields)
{
    char cell[CELL_MAX];
    for (size_t i = 0; i < n_fields; i++) {
        cell_text(obj, &fields[i], cell);
        printf("%-17s %s%s\n", fields[i].title, cell,
               fields[i].kind == FOTACTL_TIME && strcmp(cell, "-") != 0 ? " UTC" : "");
    }
}

void fotactl_print_json(const cJSON *js)
{
    char *text = js != NULL ? cJSON_PrintUnformatted(js) : NULL;
    printf("%s\n", text != NULL ? text : "null");
    free(text);
}
