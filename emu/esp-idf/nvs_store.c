/*
 * nvs_store.c - the contents of the double's NVS partitions: namespaces and typed items, kept as
 * plain lists (a device holds a handful of keys), with ESP-IDF's name matching and its entry
 * accounting.
 *
 * Two copies exist per device: what was committed (mirrored in the state file, state.c) and what
 * the running app sees (nvs.c); a commit copies one partition from the second to the first.
 *
 * Accounting (for ESP_ERR_NVS_NOT_ENOUGH_SPACE): ESP-IDF stores 32-byte entries, 126 per 4 KiB
 * page, and keeps one page free for garbage collection. A namespace takes one entry, an integer
 * one, a string one plus its bytes (with the NUL) in 32-byte entries, a blob that plus one index
 * entry and one header per 4000-byte chunk. Page fragmentation is not modelled.
 */
#include "double_internal.h"

#include <stdlib.h>
#include <string.h>

#include "nvs.h"

#define ENTRY_SIZE 32u
#define CHUNK_MAX 4000u

static bool same_name(const char *a, const char *b)
{
    return strncmp(a, b, DBL_NVS_NAME_MAX) == 0;
}

static void copy_name(char dst[DBL_NVS_NAME_MAX + 1], const char *src)
{
    size_t n = strlen(src);
    n = n < DBL_NVS_NAME_MAX ? n : DBL_NVS_NAME_MAX;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

dbl_nvs_part_t *dbl_nvs_part_new(const char *label)
{
    dbl_nvs_part_t *p = calloc(1, sizeof *p);
    if (p != NULL) {
        size_t n = strlen(label);
        n = n < sizeof p->label - 1 ? n : sizeof p->label - 1;
        memcpy(p->label, label, n);
    }
    return p;
}

static void free_items(dbl_nvs_item_t *it)
{
    while (it != NULL) {
        dbl_nvs_item_t *next = it->next;
        free(it->data);
        free(it);
        it = next;
    }
}

void dbl_nvs_part_free(dbl_nvs_part_t *p)
{
    if (p == NULL) {
        return;
    }
    for (dbl_nvs_name_t *n = p->namespaces; n != NULL;) {
        dbl_nvs_name_t *next = n->next;
        free(n);
        n = next;
    }
    free_items(p->items);
    free(p);
}

static void append_item(dbl_nvs_part_t *p, dbl_nvs_item_t *it)
{
    dbl_nvs_item_t **pp = &p->items;
    while (*pp != NULL) {
        pp = &(*pp)->next;
    }
    *pp = it;
}

static dbl_nvs_item_t *new_item(const char *ns, const char *key, uint8_t type, const void *data,
                                size_t len)
{
    dbl_nvs_item_t *it = calloc(1, sizeof *it);
    if (it == NULL) {
        return NULL;
    }
    it->data = malloc(len > 0 ? len : 1);
    if (it->data == NULL) {
        free(it);
        return NULL;
    }
    copy_name(it->ns, ns);
    copy_name(it->key, key);
    it->type = type;
    it->len = len;
    if (len > 0) {
        memcpy(it->data, data, len);
    }
    return it;
}

dbl_nvs_part_t *dbl_nvs_part_clone(const dbl_nvs_part_t *p)
{
    dbl_nvs_part_t *c = dbl_nvs_part_new(p->label);
    bool ok = c != NULL;
    for (const dbl_nvs_name_t *n = ok ? p->namespaces : NULL; n != NULL && ok; n = n->next) {
        ok = dbl_nvs_add_ns(c, n->name);
    }
    for (const dbl_nvs_item_t *it = ok ? p->items : NULL; it != NULL && ok; it = it->next) {
        dbl_nvs_item_t *copy = new_item(it->ns, it->key, it->type, it->data, it->len);
        ok = copy != NULL;
        if (ok) {
            append_item(c, copy);
        }
    }
    if (!ok) {
        dbl_nvs_part_free(c);
        return NULL;
    }
    return c;
}

dbl_nvs_part_t *dbl_nvs_store_find(const dbl_nvs_store_t *s, const char *label)
{
    for (dbl_nvs_part_t *p = s->parts; p != NULL; p = p->next) {
        if (strcmp(p->label, label) == 0) {
            return p;
        }
    }
    return NULL;
}

void dbl_nvs_store_put(dbl_nvs_store_t *s, dbl_nvs_part_t *p)
{
    for (dbl_nvs_part_t **pp = &s->parts; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->label, p->label) == 0) {
            dbl_nvs_part_t *old = *pp;
            p->next = old->next;
            *pp = p;
            dbl_nvs_part_free(old);
            return;
        }
    }
    p->next = NULL;
    dbl_nvs_part_t **pp = &s->parts;
    while (*pp != NULL) {
        pp = &(*pp)->next;
    }
    *pp = p;
}

void dbl_nvs_store_clear(dbl_nvs_store_t *s)
{
    while (s->parts != NULL) {
        dbl_nvs_part_t *next = s->parts->next;
        dbl_nvs_part_free(s->parts);
        s->parts = next;
    }
}

bool dbl_nvs_has_ns(const dbl_nvs_part_t *p, const char *ns)
{
    for (const dbl_nvs_name_t *n = p->namespaces; n != NULL; n = n->next) {
        if (same_name(n->name, ns)) {
            return true;
        }
    }
    return false;
}

bool dbl_nvs_add_ns(dbl_nvs_part_t *p, const char *ns)
{
    if (dbl_nvs_has_ns(p, ns)) {
        return true;
    }
    dbl_nvs_name_t *n = calloc(1, sizeof *n);
    if (n == NULL) {
        return false;
    }
    copy_name(n->name, ns);
    dbl_nvs_name_t **pp = &p->namespaces;
    while (*pp != NULL) {
        pp = &(*pp)->next;
    }
    *pp = n;
    return true;
}

dbl_nvs_item_t *dbl_nvs_find(const dbl_nvs_part_t *p, const char *ns, const char *key)
{
    for (dbl_nvs_item_t *it = p->items; it != NULL; it = it->next) {
        if (same_name(it->ns, ns) && same_name(it->key, key)) {
            return it;
        }
    }
    return NULL;
}

bool dbl_nvs_set(dbl_nvs_part_t *p, const char *ns, const char *key, uint8_t type, const void *data,
                 size_t len)
{
    dbl_nvs_item_t *it = new_item(ns, key, type, data, len);
    if (it == NULL) {
        return false;
    }
    dbl_nvs_item_t *old = dbl_nvs_find(p, ns, key);
    if (old != NULL) {
        dbl_nvs_erase(p, old);
    }
    append_item(p, it);
    return true;
}

void dbl_nvs_erase(dbl_nvs_part_t *p, dbl_nvs_item_t *item)
{
    for (dbl_nvs_item_t **pp = &p->items; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == item) {
            *pp = item->next;
            item->next = NULL;
            free_items(item);
            return;
        }
    }
}

size_t dbl_nvs_item_entries(uint8_t type, size_t len)
{
    size_t data = (len + ENTRY_SIZE - 1) / ENTRY_SIZE;
    if (type == NVS_TYPE_STR) {
        return 1 + data;
    }
    if (type == NVS_TYPE_BLOB) {
        size_t chunks = len == 0 ? 1 : (len + CHUNK_MAX - 1) / CHUNK_MAX;
        return 1 + chunks + data;
    }
    return 1;
}

size_t dbl_nvs_entries(const dbl_nvs_part_t *p, const dbl_nvs_item_t *replaced, uint8_t type,
                       size_t len, bool adding)
{
    size_t n = 0;
    for (const dbl_nvs_name_t *ns = p->namespaces; ns != NULL; ns = ns->next) {
        n++;
    }
    for (const dbl_nvs_item_t *it = p->items; it != NULL; it = it->next) {
        if (it != replaced) {
            n += dbl_nvs_item_entries(it->type, it->len);
        }
    }
    return adding ? n + dbl_nvs_item_entries(type, len) : n;
}
