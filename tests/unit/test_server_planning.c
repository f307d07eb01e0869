/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for planning.c: seed 004's worked example, fits and fallbacks, shares, staggering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "planning.h"

static const struct planning_fit measured = { .n = 10,
                                              .sizes = 5,
                                              .has_line = true,
                                              .has_stderr = true,
                                              .intercept_ms = 1000,
                                              .ms_per_item = 2,
                                              .stderr_ms = 50 };

/* 5,000 mailboxes × 2 minutes, daily: 20 tasks of 250 in the seed; 7 days on one task. */
static void seed_example_with_defaults(void **state)
{
    (void)state;
    struct planning_model first, inc;
    struct planning_estimate e;
    planning_model_choose(NULL, true, &first);
    planning_model_choose(NULL, false, &inc);
    assert_int_equal(first.basis, PLANNING_TOO_FEW);
    assert_int_equal(inc.basis, PLANNING_TOO_FEW);
    struct planning_request r = {
        .mailboxes = 5000, .average_items = 10000, .interval_minutes = 1440, .tasks_per_site = 20
    };
    planning_estimate(&r, &first, &inc, 0, &e);
    assert_true(e.incremental_mailbox_ms == 120000.0);
    assert_true(e.first_mailbox_ms == 1200000.0);
    assert_true(e.incremental_execution_ms == 5000.0 * 120000.0); /* ~7 days */
    /* 720 mailboxes of 2 minutes fit a day: 7 tasks; the seed rounds down to 20 for margin. */
    assert_int_equal(e.tasks, 7);
    assert_int_equal(e.mailboxes_per_task, 715);
    assert_true(e.task_execution_ms <= 1440.0 * 60000);
    assert_true(e.fits);
    assert_int_equal(e.sites, 1);
}

static void a_fit_needs_three_passes_of_two_sizes(void **state)
{
    (void)state;
    struct planning_model m;
    planning_model_choose(&measured, false, &m);
    assert_int_equal(m.basis, PLANNING_MEASURED);
    assert_true(planning_model_ms(&m, 500) == 2000.0);
    struct planning_fit few = measured;
    few.n = 2;
    planning_model_choose(&few, false, &m);
    assert_int_equal(m.basis, PLANNING_TOO_FEW);
    struct planning_fit one = measured;
    one.sizes = 1;
    one.has_line = false; /* regr_slope is null without a spread of sizes */
    planning_model_choose(&one, true, &m);
    assert_int_equal(m.basis, PLANNING_ONE_SIZE);
    assert_true(planning_model_ms(&m, 10000) == PLANNING_DEFAULT_FIRST_MS);
}

static void a_line_never_goes_below_zero(void **state)
{
    (void)state;
    struct planning_model m = { .basis = PLANNING_MEASURED,
                                .intercept_ms = -500,
                                .ms_per_item = 1 };
    assert_true(planning_model_ms(&m, 100) == 0.0);
    assert_true(planning_model_ms(&m, 1000) == 500.0);
}

/* Shares differ by at most one, add up to the group; starts spread over the interval. */
static void shares_and_starts(void **state)
{
    (void)state;
    struct planning_model m = { .basis = PLANNING_MEASURED,
                                .ms_per_item = 0,
                                .intercept_ms = 60000 };
    struct planning_request r = {
        .mailboxes = 10, .average_items = 1, .interval_minutes = 3, .tasks_per_site = 2
    };
    struct planning_estimate e;
    planning_estimate(&r, &m, &m, 0, &e);
    assert_int_equal(e.tasks, 4); /* 3 a task, 10 mailboxes */
    assert_int_equal(e.mailboxes_per_task, 3);
    assert_int_equal(e.sites, 2);
    int64_t sum = 0;
    for (int64_t i = 0; i < e.tasks; i++) {
        int64_t n = planning_task_mailboxes(&e, r.mailboxes, i);
        assert_true(n == 2 || n == 3);
        sum += n;
    }
    assert_int_equal(sum, 10);
    assert_int_equal(planning_task_offset_minutes(&e, r.interval_minutes, 0), 0);
    assert_true(planning_task_offset_minutes(&e, r.interval_minutes, 3) < r.interval_minutes);
}

static void one_mailbox_longer_than_the_interval_never_fits(void **state)
{
    (void)state;
    struct planning_model m = { .basis = PLANNING_MEASURED, .intercept_ms = 120000 };
    struct planning_request r = {
        .mailboxes = 5, .average_items = 0, .interval_minutes = 1, .tasks_per_site = 20
    };
    struct planning_estimate e;
    planning_estimate(&r, &m, &m, 0, &e);
    assert_false(e.fits);
    assert_int_equal(e.tasks, 5);
}

static void overhead_counts_per_mailbox(void **state)
{
    (void)state;
    struct planning_model m = { .basis = PLANNING_MEASURED, .intercept_ms = 100 };
    struct planning_request r = {
        .mailboxes = 4, .average_items = 0, .interval_minutes = 60, .tasks_per_site = 20
    };
    struct planning_estimate e;
    planning_estimate(&r, &m, &m, 25, &e);
    assert_true(e.incremental_execution_ms == 500.0);
    assert_int_equal(e.tasks, 1);
}

/* Three lanes do a task's share three at a time: a third of the tasks. */
static void parallel_mailboxes_need_fewer_tasks(void **state)
{
    (void)state;
    struct planning_model m = { .basis = PLANNING_MEASURED, .intercept_ms = 60000 };
    struct planning_request r = { .mailboxes = 90,
                                  .average_items = 0,
                                  .interval_minutes = 10,
                                  .tasks_per_site = 20,
                                  .parallel = 3 };
    struct planning_estimate e;
    planning_estimate(&r, &m, &m, 0, &e);
    assert_int_equal(e.tasks, 3);
    assert_int_equal(e.mailboxes_per_task, 30);
    assert_true(e.task_execution_ms == 10 * 60000.0);
    assert_true(e.incremental_execution_ms == 30 * 60000.0);
    r.parallel = 1;
    planning_estimate(&r, &m, &m, 0, &e);
    assert_int_equal(e.tasks, 9);
    assert_true(planning_execution_ms(1000, 7, 3) == 3000.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_example_with_defaults),
        cmocka_unit_test(a_fit_needs_three_passes_of_two_sizes),
        cmocka_unit_test(a_line_never_goes_below_zero),
        cmocka_unit_test(shares_and_starts),
        cmocka_unit_test(one_mailbox_longer_than_the_interval_never_fits),
        cmocka_unit_test(overhead_counts_per_mailbox),
        cmocka_unit_test(parallel_mailboxes_need_fewer_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
