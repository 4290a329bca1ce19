/*
 * console.h - the operator console's files (server/console/: the page, its script and styles,
 * the chart library), embedded in fotad at build time by cmake/fotad_embed.c, which generates the
 * table below. api_console.c serves them at / and /console/NAME (docs/CONSOLE.md).
 */
#ifndef FOTAD_CONSOLE_H
#define FOTAD_CONSOLE_H

#include <stddef.h>

typedef struct {
    const char *name;         /* "index.html", "app.js", ... */
    const char *content_type; /* from the name's extension */
    const unsigned char *data;
    size_t len;
    const char *etag; /* a quoted hash of the bytes */
} fotad_console_file_t;

extern const fotad_console_file_t fotad_console_files[];
extern const size_t fotad_console_file_count;

#endif /* FOTAD_CONSOLE_H */
