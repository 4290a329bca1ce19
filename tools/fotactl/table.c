/*
 * table.c - aligned text tables and "key: value" blocks from JSON, for people; scripts use
 * --json and get the server's own document.
 */
#include <stdio.h>
#include <string.h>

#include "fotactl.h"

#define CELL_MAX 80

static void cell_text(const cJSON *obj, const char *key, char out[CELL_MAX])
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsString(v)) {
        snprintf(out, CELL_MAX, "%s", v->valuestring[0] != '\0' ? v->valuestring : "-");
    } else if (cJSON_IsNumber(v)) {
        snprintf(out, CELL_MAX, "%.0f", v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        snprintf(out, CELL_MAX, "%s", cJSON_IsTrue(v) ? "yes" : "no");
    } else {
        snprintf(out, CELL_MAX, "-");
    }
}

void fotactl_table(const cJSON *rows, const fotactl_col_t *cols, size_t n_cols)
{
    int width[FOTACTL_TABLE_MAX_COLS];
    char cell[CELL_MAX];
    for (size_t c = 0; c < n_cols; c++) {
        width[c] = (int)strlen(cols[c].title);
    }
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        for (size_t c = 0; c < n_cols; c++) {
            cell_text(row, cols[c].key, cell);
            width[c] = (int)strlen(cell) > width[c] ? (int)strlen(cell) : width[c];
        }
    }
    for (size_t c = 0; c < n_cols; c++) {
        printf("%s%*s", c ? "  " : "", cols[c].number ? width[c] : -width[c], cols[c].title);
    }
    putchar('\n');
    cJSON_ArrayForEach(row, rows)
    {
        for (size_t c = 0; c < n_cols; c++) {
            cell_text(row, cols[c].key, cell);
            printf("%s%*s", c ? "  " : "", cols[c].number ? width[c] : -width[c], cell);
        }
        putchar('\n');
    }
}

void fotactl_fields(const cJSON *obj, const char *const *keys)
{
    char cell[CELL_MAX];
    for (; *keys != NULL; keys++) {
        cell_text(obj, *keys, cell);
        printf("%-18s %s\n", *keys, cell);
    }
}
