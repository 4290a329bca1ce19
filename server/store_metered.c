/*
 * store_metered.c - the timing store in front of the real one (store_metered.h). Each operation
 * is the same few lines, written once in METERED; STORE_OPS lists the operations of store.h in
 * one place for the enum of indices and the table of names.
 */
#include "store_metered.h"

#include <stdlib.h>

#define STORE_OPS(X)                                                                               \
    X(release_insert)                                                                              \
    X(release_get)                                                                                 \
    X(release_list)                                                                                \
    X(release_set_chip)                                                                            \
    X(delta_insert)                                                                                \
    X(delta_get)                                                                                   \
    X(delta_find)                                                                                  \
    X(delta_list)                                                                                  \
    X(product_insert)                                                                              \
    X(product_get)                                                                                 \
    X(product_list)                                                                                \
    X(device_touch)                                                                                \
    X(device_check)                                                                                \
    X(device_report)                                                                               \
    X(device_get)                                                                                  \
    X(device_list)                                                                                 \
    X(device_census)                                                                               \
    X(device_page)                                                                                 \
    X(device_groups)                                                                               \
    X(report_outcomes)                                                                             \
    X(device_errors)                                                                               \
    X(report_list)                                                                                 \
    X(assignment_set)                                                                              \
    X(assignment_get)                                                                              \
    X(assignment_list)                                                                             \
    X(legacy_get)                                                                                  \
    X(legacy_set)                                                                                  \
    X(enrollment_insert)                                                                           \
    X(enrollment_get)                                                                              \
    X(enrollment_move)                                                                             \
    X(enrollment_delete)                                                                           \
    X(enrollment_list)                                                                             \
    X(enrollment_count)                                                                            \
    X(device_tags_change)                                                                          \
    X(device_list_tagged)                                                                          \
    X(rollout_insert)                                                                              \
    X(rollout_get)                                                                                 \
    X(rollout_list)                                                                                \
    X(rollout_update)                                                                              \
    X(member_get)                                                                                  \
    X(member_put)                                                                                  \
    X(member_list)                                                                                 \
    X(member_counts)                                                                               \
    X(member_start)                                                                                \
    X(member_time_out)                                                                             \
    X(event_list)                                                                                  \
    X(token_insert)                                                                                \
    X(token_get)                                                                                   \
    X(token_list)                                                                                  \
    X(token_revoke)                                                                                \
    X(audit_insert)                                                                                \
    X(audit_list)                                                                                  \
    X(nonce_claim)                                                                                 \
    X(nonce_purge)                                                                                 \
    X(lease_take)                                                                                  \
    X(object_put)                                                                                  \
    X(object_fetch)

typedef enum {
#define OP_INDEX(n) OP_##n,
    STORE_OPS(OP_INDEX)
#undef OP_INDEX
        OP_COUNT
} op_t;

_Static_assert(OP_COUNT == FOTAD_STORE_OPS, "FOTAD_STORE_OPS is the number of store operations");

const char *const fotad_store_op_names[FOTAD_STORE_OPS] = {
#define OP_NAME(n) #n,
    STORE_OPS(OP_NAME)
#undef OP_NAME
};

typedef struct {
    fotad_store_ops_t ops; /* this store's table: the metered operations the inner one has */
    fotad_store_t inner;
    fotad_metrics_t *metrics;
} metered_t;

#define METERED(op, params, ...)                                                                   \
    static fota_err_t m_##op params                                                                \
    {                                                                                              \
        metered_t *w = ctx;                                                                        \
        uint64_t t0 = fotad_metrics_now_ns();                                                      \
        fota_err_t err = w->inner.ops->op(w->inner.ctx, __VA_ARGS__);                              \
        fotad_metrics_store_call(w->metrics, OP_##op, fotad_metrics_now_ns() - t0);                \
        return err;                                                                                \
    }

METERED(release_insert, (void *ctx, const fotad_release_rec_t *r, bool *inserted), r, inserted)
METERED(release_get, (void *ctx, const char *id, fotad_release_rec_t *out), id, out)
METERED(release_list, (void *ctx, fotad_release_fn fn, void *arg), fn, arg)
METERED(release_set_chip, (void *ctx, const char *id, uint16_t chip_id), id, chip_id)
METERED(delta_insert, (void *ctx, const fotad_delta_rec_t *d, bool *inserted), d, inserted)
METERED(delta_get, (void *ctx, const char *id, fotad_delta_rec_t *out), id, out)
METERED(delta_find,
        (void *ctx, const char *release, const char *source_sha256, fotad_delta_rec_t *out),
        release, source_sha256, out)
METERED(delta_list, (void *ctx, const char *release, fotad_delta_fn fn, void *arg), release, fn,
        arg)
METERED(product_insert, (void *ctx, const fotad_product_rec_t *p, bool *inserted), p, inserted)
METERED(product_get, (void *ctx, const char *id, fotad_product_rec_t *out), id, out)
METERED(product_list, (void *ctx, fotad_product_fn fn, void *arg), fn, arg)
METERED(device_touch, (void *ctx, const char *id, int64_t now), id, now)
METERED(device_check,
        (void *ctx, const char *id, const char *product, const char *version, const char *offered,
         int64_t now),
        id, product, version, offered, now)
METERED(device_report, (void *ctx, const char *id, const fotad_report_rec_t *r), id, r)
METERED(device_get, (void *ctx, const char *id, fotad_device_rec_t *out), id, out)
METERED(device_list, (void *ctx, fotad_device_fn fn, void *arg), fn, arg)
METERED(device_census, (void *ctx, fotad_census_fn fn, void *arg), fn, arg)
METERED(device_page,
        (void *ctx, const fotad_device_filter_t *f, uint64_t *total, fotad_device_fn fn, void *arg),
        f, total, fn, arg)
METERED(device_groups, (void *ctx, int64_t online_since, fotad_device_group_fn fn, void *arg),
        online_since, fn, arg)
METERED(report_outcomes,
        (void *ctx, int64_t since, uint32_t bucket_s, fotad_outcome_fn fn, void *arg), since,
        bucket_s, fn, arg)
METERED(device_errors, (void *ctx, uint32_t limit, fotad_device_fn fn, void *arg), limit, fn, arg)
METERED(report_list, (void *ctx, const char *id, uint32_t limit, fotad_report_fn fn, void *arg), id,
        limit, fn, arg)
METERED(assignment_set, (void *ctx, const fotad_assignment_rec_t *a), a)
METERED(assignment_get,
        (void *ctx, fotad_target_kind_t kind, const char *target, fotad_assignment_rec_t *out),
        kind, target, out)
METERED(assignment_list, (void *ctx, fotad_assignment_fn fn, void *arg), fn, arg)
METERED(legacy_get, (void *ctx, fotad_legacy_rec_t *out), out)
METERED(legacy_set, (void *ctx, const fotad_legacy_rec_t *rec), rec)
METERED(enrollment_insert, (void *ctx, const fotad_enrollment_rec_t *e, bool *inserted), e,
        inserted)
METERED(enrollment_get, (void *ctx, const char *device_id, fotad_enrollment_rec_t *out), device_id,
        out)
METERED(enrollment_move,
        (void *ctx, const char *device_id, const char *from, const char *to, int64_t now,
         uint64_t *changed),
        device_id, from, to, now, changed)
METERED(enrollment_delete, (void *ctx, const char *device_id), device_id)
METERED(enrollment_list, (void *ctx, const char *state, fotad_enrollment_fn fn, void *arg), state,
        fn, arg)
METERED(enrollment_count, (void *ctx, const char *state, uint64_t *n), state, n)
METERED(device_tags_change,
        (void *ctx, const char *const *ids, size_t n_ids, const char *const *add, size_t n_add,
         const char *const *remove, size_t n_remove),
        ids, n_ids, add, n_add, remove, n_remove)
METERED(device_list_tagged, (void *ctx, const char *tag, fotad_device_fn fn, void *arg), tag, fn,
        arg)
METERED(rollout_insert,
        (void *ctx, fotad_rollout_rec_t *r, const char *const *devices, size_t n_devices,
         fotad_event_rec_t *ev),
        r, devices, n_devices, ev)
METERED(rollout_get, (void *ctx, int64_t id, fotad_rollout_rec_t *out), id, out)
METERED(rollout_list, (void *ctx, fotad_rollout_fn fn, void *arg), fn, arg)
METERED(rollout_update,
        (void *ctx, const fotad_rollout_rec_t *r, const fotad_member_rec_t *members,
         size_t n_members, const fotad_event_rec_t *ev),
        r, members, n_members, ev)
METERED(member_get, (void *ctx, int64_t rollout, const char *device, fotad_member_rec_t *out),
        rollout, device, out)
METERED(member_put, (void *ctx, const fotad_member_rec_t *m, const fotad_event_rec_t *ev), m, ev)
METERED(member_list, (void *ctx, int64_t rollout, fotad_member_fn fn, void *arg), rollout, fn, arg)
METERED(member_counts, (void *ctx, int64_t rollout, fotad_member_counts_t *out), rollout, out)
METERED(member_start,
        (void *ctx, const fotad_member_rec_t *m, int64_t since, uint32_t limit, bool *admitted,
         int64_t *earliest),
        m, since, limit, admitted, earliest)
METERED(member_time_out, (void *ctx, int64_t rollout, int64_t before, uint32_t *n), rollout, before,
        n)
METERED(event_list, (void *ctx, int64_t rollout, fotad_event_fn fn, void *arg), rollout, fn, arg)
METERED(token_insert, (void *ctx, const fotad_token_rec_t *t), t)
METERED(token_get, (void *ctx, const char *id, fotad_token_rec_t *out), id, out)
METERED(token_list, (void *ctx, fotad_token_fn fn, void *arg), fn, arg)
METERED(token_revoke, (void *ctx, const char *id, int64_t now, bool *changed), id, now, changed)
METERED(audit_insert, (void *ctx, const fotad_audit_rec_t *a), a)
METERED(audit_list, (void *ctx, const fotad_audit_query_t *q, fotad_audit_fn fn, void *arg), q, fn,
        arg)
METERED(nonce_claim,
        (void *ctx, const char *device, const char *nonce, int64_t now, int64_t expires,
         bool *fresh),
        device, nonce, now, expires, fresh)
METERED(nonce_purge, (void *ctx, int64_t now, uint64_t *removed), now, removed)
METERED(lease_take,
        (void *ctx, const char *name, const char *holder, int64_t now, uint32_t ttl_s, bool *held),
        name, holder, now, ttl_s, held)
METERED(object_put, (void *ctx, const char *hex, const uint8_t *data, size_t len), hex, data, len)
METERED(object_fetch, (void *ctx, const char *hex, uint8_t **data, size_t *len), hex, data, len)

static void m_close(void *ctx)
{
    metered_t *w = ctx;
    fotad_store_close(&w->inner);
    free(w);
}

fota_err_t fotad_store_metered_wrap(fotad_store_t *store, fotad_metrics_t *metrics)
{
    metered_t *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return FOTA_ERR_NO_MEM;
    }
    const fotad_store_ops_t *in = store->ops;
    w->ops.close = m_close;
#define OP_SET(n) w->ops.n = in->n != NULL ? m_##n : NULL;
    STORE_OPS(OP_SET)
#undef OP_SET
    w->inner = *store;
    w->metrics = metrics;
    store->ops = &w->ops;
    store->ctx = w;
    return FOTA_OK;
}
