/*
 * test_fotad_fleet.c - the fleet at a glance (server/fleet.h and the store's device_page,
 * device_groups, report_outcomes and device_errors), on both backends: ctest runs it on SQLite and
 * a second time on PostgreSQL (tests/support/store_backend.h). A fleet of 250 devices of two
 * products, three versions, several states, errors and tags is made through the store's ordinary
 * writes; then pages walked with their cursor cover every filtered device once, in id order,
 * with the right total; every filter (id part in any case, product, version, state, tag, errors)
 * narrows as it says; the groups add up to the fleet with the online ones counted by last_seen;
 * report outcomes fall in their time buckets (reports before the window and other states left
 * out); the newest devices in error come last seen first, at most the limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fleet.h"
#include "store.h"
#include "store_backend.h"

#define N_DEVICES 250
#define T0 1800000000

typedef struct {
    test_store_t db;
    fotad_store_t st;
} fixture_t;

/* Device i: product inv-5k for even i, inv-10k for odd; version 1.0 / 2.0 / 3.0 by i % 3; last
 * seen T0 + i; tag "eu" for i % 5 == 0; state from i % 4: confirmed, downloading, error (error
 * code 907), none (no report). */
static void make_fleet(fotad_store_t *s)
{
    static const char *const versions[] = {"1.0", "2.0", "3.0"};
    for (int i = 0; i < N_DEVICES; i++) {
        char id[16];
        snprintf(id, sizeof id, "Inv-%04d", i);
        const char *product = i % 2 == 0 ? "inv-5k" : "inv-10k";
        assert_int_equal(s->ops->device_check(s->ctx, id, product, versions[i % 3], "", T0 + i),
                         FOTA_OK);
        fotad_report_rec_t r = {.time = T0 + i, .done = 1, .total = 2};
        if (i % 4 == 0) {
            snprintf(r.state, sizeof r.state, "confirmed");
        } else if (i % 4 == 1) {
            snprintf(r.state, sizeof r.state, "downloading");
        } else if (i % 4 == 2) {
            snprintf(r.state, sizeof r.state, "error");
            r.error = 907;
        }
        if (r.state[0] != '\0') {
            assert_int_equal(s->ops->device_report(s->ctx, id, &r), FOTA_OK);
        }
        if (i % 5 == 0) {
            const char *ids[] = {id};
            const char *add[] = {"eu"};
            assert_int_equal(s->ops->device_tags_change(s->ctx, ids, 1, add, 1, NULL, 0), FOTA_OK);
        }
    }
}

static int setup(void **state)
{
    static fixture_t f;
    test_store_begin(&f.db, "test_fotad_fleet", &f.st);
    make_fleet(&f.st);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    test_store_end(&f->db, &f->st);
    return 0;
}

typedef struct {
    char ids[N_DEVICES][FOTAD_DEVICE_ID_MAX + 1];
    size_t n;
} seen_t;

static fota_err_t see(void *arg, const fotad_device_rec_t *d)
{
    seen_t *s = arg;
    assert_true(s->n < N_DEVICES);
    snprintf(s->ids[s->n++], sizeof s->ids[0], "%s", d->id);
    return FOTA_OK;
}

/* Walk every page of f (limit as given) with the cursor; *total from the first page. */
static void walk_pages(fotad_store_t *s, fotad_device_filter_t f, seen_t *out, uint64_t *total)
{
    char after[FOTAD_DEVICE_ID_MAX + 1] = "";
    out->n = 0;
    for (int pages = 0; pages < N_DEVICES + 1; pages++) {
        f.after = after;
        size_t before = out->n;
        uint64_t t = 0;
        assert_int_equal(fotad_fleet_page(s, &f, &t, see, out), FOTA_OK);
        if (pages == 0) {
            *total = t;
        }
        assert_int_equal(t, *total); /* the total does not depend on the page */
        assert_true(out->n - before <= f.limit);
        if (out->n - before < f.limit) {
            return;
        }
        snprintf(after, sizeof after, "%s", out->ids[out->n - 1]);
    }
    fail_msg("pages never ended");
}

/* How many devices i pass pred. */
static size_t expected(bool (*pred)(int i))
{
    size_t n = 0;
    for (int i = 0; i < N_DEVICES; i++) {
        n += pred(i);
    }
    return n;
}

static bool any(int i)
{
    (void)i;
    return true;
}

static void test_pages_cover_the_fleet_in_order(void **state)
{
    fixture_t *f = *state;
    seen_t seen;
    uint64_t total = 0;
    fotad_device_filter_t filter = {.limit = 7};
    walk_pages(&f->st, filter, &seen, &total);
    assert_int_equal(total, N_DEVICES);
    assert_int_equal(seen.n, N_DEVICES);
    for (size_t i = 0; i < seen.n; i++) {
        char id[32];
        snprintf(id, sizeof id, "Inv-%04u", (unsigned)i);
        assert_string_equal(seen.ids[i], id);
    }
    assert_int_equal(expected(any), N_DEVICES);
}

static bool is_10k(int i)
{
    return i % 2 == 1;
}
static bool is_v2_error(int i)
{
    return i % 3 == 1 && i % 4 == 2;
}
static bool is_eu(int i)
{
    return i % 5 == 0;
}
static bool is_eu_confirmed(int i)
{
    return i % 5 == 0 && i % 4 == 0;
}
static bool id_starts_inv_01(int i)
{
    return i >= 100 && i < 200;
}
static bool id_has_01(int i)
{
    char id[16];
    snprintf(id, sizeof id, "inv-%04d", i);
    return strstr(id, "01") != NULL;
}

/* Every device the filter passes, as pred says, and the total. */
static void check_filter(fotad_store_t *s, fotad_device_filter_t filter, bool (*pred)(int i))
{
    seen_t seen;
    uint64_t total = 0;
    filter.limit = 10;
    walk_pages(s, filter, &seen, &total);
    assert_int_equal(total, expected(pred));
    assert_int_equal(seen.n, expected(pred));
    for (size_t k = 0; k < seen.n; k++) {
        assert_true(pred(atoi(seen.ids[k] + 4)));
    }
}

static void test_filters_narrow(void **state)
{
    fixture_t *f = *state;
    check_filter(&f->st, (fotad_device_filter_t){.product = "inv-10k"}, is_10k);
    check_filter(&f->st, (fotad_device_filter_t){.version = "2.0", .errors = true}, is_v2_error);
    check_filter(&f->st, (fotad_device_filter_t){.version = "2.0", .state = "error"}, is_v2_error);
    check_filter(&f->st, (fotad_device_filter_t){.tag = "eu"}, is_eu);
    check_filter(&f->st, (fotad_device_filter_t){.tag = "eu", .state = "confirmed"},
                 is_eu_confirmed);
    check_filter(&f->st, (fotad_device_filter_t){.search = "INV-01"}, id_starts_inv_01);
    check_filter(&f->st, (fotad_device_filter_t){.search = "01"}, id_has_01);
    seen_t seen;
    uint64_t total = 99;
    fotad_device_filter_t none = {.state = "nothing", .limit = 5};
    assert_int_equal(fotad_fleet_page(&f->st, &none, &total, see, &seen), FOTA_OK);
    assert_int_equal(total, 0);
}

static void test_overview(void **state)
{
    fixture_t *f = *state;
    /* Reports before the window, and one far in it. */
    fotad_report_rec_t old = {.time = T0 - 3600, .state = "confirmed"};
    assert_int_equal(f->st.ops->device_report(f->st.ctx, "old-1", &old), FOTA_OK);
    fotad_report_rec_t late = {.time = T0 + 1000, .state = "rolled_back", .error = 0};
    assert_int_equal(f->st.ops->device_report(f->st.ctx, "late-1", &late), FOTA_OK);
    fotad_overview_req_t q = {
        .now = T0 + 1000, .online_s = 900, .bucket_s = 100, .buckets = 12, .recent = 5};
    fotad_overview_t o;
    assert_int_equal(fotad_fleet_overview(&f->st, &q, &o), FOTA_OK);
    uint64_t devices = 0, online = 0, in_error = 0, v3_10k = 0;
    for (size_t i = 0; i < o.n_groups; i++) {
        devices += o.groups[i].devices;
        online += o.groups[i].online;
        in_error += o.groups[i].last_error == 907 ? o.groups[i].devices : 0;
        if (strcmp(o.groups[i].version, "3.0") == 0 &&
            strcmp(o.groups[i].product, "inv-10k") == 0) {
            v3_10k += o.groups[i].devices;
        }
    }
    assert_int_equal(devices, N_DEVICES + 2);
    /* seen at or after T0 + 100: devices 100..249 of the fleet (the old one is not, the late
     * one is) */
    assert_int_equal(online, 150 + 1);
    assert_int_equal(in_error, N_DEVICES / 4 + (N_DEVICES % 4 > 2));
    size_t want_v3_10k = 0;
    for (int i = 0; i < N_DEVICES; i++) {
        want_v3_10k += i % 3 == 2 && i % 2 == 1;
    }
    assert_int_equal(v3_10k, want_v3_10k);
    /* Buckets of 100 s aligned, the last holding now = T0 + 1000: the first starts at T0 - 100.
     * The fleet's reports at T0 + i fall in bucket 1 + i / 100. */
    assert_int_equal(o.since, T0 - 100);
    uint64_t confirmed = 0, errors = 0;
    for (uint32_t b = 0; b < q.buckets; b++) {
        confirmed += o.outcomes[b][0];
        errors += o.outcomes[b][2];
    }
    assert_int_equal(confirmed, 63);        /* i % 4 == 0 of 0..249; not the old one */
    assert_int_equal(errors, 62);           /* i % 4 == 2 */
    assert_int_equal(o.outcomes[1][0], 25); /* i in 0..99 */
    assert_int_equal(o.outcomes[3][2], 12); /* i in 200..249 with i % 4 == 2 */
    assert_int_equal(o.outcomes[11][1], 1); /* the late rollback, in the last bucket */
    assert_int_equal(o.outcomes[0][0], 0);
    /* The newest devices in error: last seen first. */
    assert_int_equal(o.n_recent, 5);
    assert_string_equal(o.recent[0].id, "Inv-0246");
    assert_string_equal(o.recent[1].id, "Inv-0242");
    assert_string_equal(o.recent[4].id, "Inv-0230");
    assert_int_equal(o.recent[0].last_error, 907);
    fotad_overview_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pages_cover_the_fleet_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters_narrow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overview, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
