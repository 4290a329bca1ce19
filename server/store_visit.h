/*
 * store_visit.h - the visitor of a store listing, the same in both backends (store_sqlite*.c,
 * store_pg*.c): a record that each row is read into, and the caller's typed function of store.h
 * that the record is then handed to. The record comes first, as sq_walk_t and pg_walk_t expect of
 * their visitor. Not a public header.
 */
#ifndef FOTAD_STORE_VISIT_H
#define FOTAD_STORE_VISIT_H

#include "store.h"

/* STORE_VISITOR(name, rec_t, fn_t): the type name_visit_t {rec, fn, arg} and name_emit(visitor),
 * which calls fn(arg, &rec). */
#define STORE_VISITOR(name, rec_t, fn_t)                                                           \
    typedef struct {                                                                               \
        rec_t rec;                                                                                 \
        fn_t fn;                                                                                   \
        void *arg;                                                                                 \
    } name##_visit_t;                                                                              \
    static fota_err_t name##_emit(void *v)                                                         \
    {                                                                                              \
        name##_visit_t *x = v;                                                                     \
        return x->fn(x->arg, &x->rec);                                                             \
    }

#endif /* FOTAD_STORE_VISIT_H */
