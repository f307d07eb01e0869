/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for schedule.c: time zone names, rule checks, next runs across DST changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "schedule.h"
#include "timefmt.h"

static time_t at(const char *rfc3339)
{
    time_t t = 0;
    assert_int_equal(mse_time_parse(rfc3339, &t), MSE_OK);
    return t;
}

/* Asserts that the next runs of s after `after` are exactly the given instants. */
static void expect_runs(const struct schedule *s, const char *after, const char *const *want,
                        unsigned n_want, unsigned ask)
{
    time_t runs[MSE_MAX_NEXT_RUNS];
    unsigned n = 0;
    assert_int_equal(schedule_next_runs(s, at(after), runs, ask, &n), MSE_OK);
    for (unsigned i = 0; i < n && i < n_want; i++) {
        char got[32];
        mse_time_format(runs[i], got, sizeof(got));
        if (strcmp(got, want[i]) != 0)
            fail_msg("run %u: got %s, want %s", i, got, want[i]);
    }
    assert_int_equal(n, n_want);
}

static struct schedule daily(const char *tz, int start)
{
    struct schedule s = { .type = SCHEDULE_DAILY, .mode = SCHEDULE_ONCE, .start_minute = start };
    snprintf(s.timezone, sizeof(s.timezone), "%s", tz);
    return s;
}

static void test_timezone_names(void **state)
{
    (void)state;
    const char *good[] = { "Europe/Berlin",           "Europe/London", "UTC",
                           "America/Argentina/Salta", "Etc/GMT+1",     "Asia/Kolkata" };
    const char *bad[] = { "",
                          "+01:00",
                          "UTC+1",
                          "CET-1CEST",
                          "/etc/localtime",
                          "../etc/passwd",
                          "Europe/../etc",
                          "Europe/Nowhere",
                          "localtime",
                          "Europe//Berlin",
                          "Europe/Berlin/",
                          "europe berlin",
                          "Europe/Berlin\n" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!schedule_timezone_valid(good[i]))
            fail_msg("%s should be valid", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (schedule_timezone_valid(bad[i]))
            fail_msg("\"%s\" should be refused", bad[i]);
    }
}

static void test_time_parse(void **state)
{
    (void)state;
    int m = -1;
    assert_true(schedule_time_parse("00:00", &m) && m == 0);
    assert_true(schedule_time_parse("23:59", &m) && m == 1439);
    assert_true(schedule_time_parse("02:30", &m) && m == 150);
    const char *bad[] = { "24:00", "2:30", "02:60", "0230", "02:30:00", "aa:bb", "", "-1:00" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(schedule_time_parse(bad[i], &m));
}

/* Europe/Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist. */
static void test_daily_once_spring_forward(void **state)
{
    (void)state;
    struct schedule s = daily("Europe/Berlin", 150);
    const char *want[] = { "2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", /* = 03:30 CEST */
                           "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z", "2026-04-01T00:30:00Z" };
    expect_runs(&s, "2026-03-27T12:00:00Z", want, 5, 5);
}

/* Europe/Berlin 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice. */
static void test_daily_once_fall_back(void **state)
{
    (void)state;
    struct schedule s = daily("Europe/Berlin", 150);
    const char *want[] = { "2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", /* first 02:30 */
                           "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z" };
    expect_runs(&s, "2026-10-23T12:00:00Z", want, 4, 4);
    /* Once the first 02:30 has passed, the repeated one does not run again. */
    const char *after_first[] = { "2026-10-26T01:30:00Z" };
    expect_runs(&s, "2026-10-25T00:30:00Z", after_first, 1, 1);
}

/* Every 30 minutes from 01:00 to 04:00: the skipped hour's slots run once, shifted. */
static void test_daily_many_spring_forward(void **state)
{
    (void)state;
    struct schedule s = daily("Europe/Berlin", 60);
    s.mode = SCHEDULE_MANY;
    s.end_minute = 240;
    s.interval_minutes = 30;
    /* 01:00 01:30 CET, 02:00 02:30 (gap → 03:00 03:30 CEST, same as the real ones), 04:00. */
    const char *want[] = { "2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z",
                           "2026-03-29T01:30:00Z", "2026-03-29T02:00:00Z", "2026-03-29T23:00:00Z" };
    expect_runs(&s, "2026-03-28T23:30:00Z", want, 6, 6);
}

static void test_daily_many_fall_back(void **state)
{
    (void)state;
    struct schedule s = daily("Europe/Berlin", 60);
    s.mode = SCHEDULE_MANY;
    s.end_minute = 240;
    s.interval_minutes = 30;
    /* 01:00 01:30 CEST, 02:00 02:30 first occurrence (CEST), 03:00 03:30 04:00 CET. */
    const char *want[] = { "2026-10-24T23:00:00Z", "2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z",
                           "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z",
                           "2026-10-25T03:00:00Z", "2026-10-26T00:00:00Z" };
    expect_runs(&s, "2026-10-24T22:00:00Z", want, 8, 8);
}

/* Both transitions fall on Sundays. */
static void test_weekly_across_both_transitions(void **state)
{
    (void)state;
    struct schedule s = daily("Europe/Berlin", 150);
    s.type = SCHEDULE_WEEKLY;
    s.days = 1u << 6; /* Sunday */
    const char *spring[] = { "2026-03-22T01:30:00Z", "2026-03-29T01:30:00Z",
                             "2026-04-05T00:30:00Z" };
    expect_runs(&s, "2026-03-16T00:00:00Z", spring, 3, 3);
    const char *autumn[] = { "2026-10-18T00:30:00Z", "2026-10-25T00:30:00Z",
                             "2026-11-01T01:30:00Z" };
    expect_runs(&s, "2026-10-12T00:00:00Z", autumn, 3, 3);
    /* Monday and Wednesday only: the Sunday change is invisible. */
    s.days = 1u << 0 | 1u << 2;
    const char *weekdays[] = { "2026-03-30T00:30:00Z", "2026-04-01T00:30:00Z" };
    expect_runs(&s, "2026-03-28T00:00:00Z", weekdays, 2, 2);
}

/* Europe/London: 01:00 GMT → 02:00 BST on 2026-03-29, 02:00 BST → 01:00 GMT on 2026-10-25. */
static void test_london(void **state)
{
    (void)state;
    struct schedule s = daily("Europe/London", 90);
    const char *spring[] = { "2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", /* 02:30 BST */
                             "2026-03-30T00:30:00Z" };
    expect_runs(&s, "2026-03-27T12:00:00Z", spring, 3, 3);
    const char *autumn[] = { "2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z",
                             "2026-10-26T01:30:00Z" };
    expect_runs(&s, "2026-10-23T12:00:00Z", autumn, 3, 3);
}

static void test_one_off_and_limits(void **state)
{
    (void)state;
    struct schedule s = { .type = SCHEDULE_ONE_OFF, .run_at = at("2026-12-24T17:00:00Z") };
    snprintf(s.timezone, sizeof(s.timezone), "UTC");
    const char *one[] = { "2026-12-24T17:00:00Z" };
    expect_runs(&s, "2026-12-01T00:00:00Z", one, 1, 5);
    expect_runs(&s, "2026-12-24T17:00:00Z", NULL, 0, 5);
    /* Every minute of the day, asked for the maximum: all distinct and ascending. */
    struct schedule m = daily("UTC", 0);
    m.mode = SCHEDULE_MANY;
    m.end_minute = 1439;
    m.interval_minutes = 1;
    time_t runs[MSE_MAX_NEXT_RUNS];
    unsigned n = 0;
    assert_int_equal(
            schedule_next_runs(&m, at("2026-01-01T23:59:30Z"), runs, MSE_MAX_NEXT_RUNS, &n),
            MSE_OK);
    assert_int_equal(n, MSE_MAX_NEXT_RUNS);
    assert_int_equal(runs[0], at("2026-01-02T00:00:00Z"));
    for (unsigned i = 1; i < n; i++)
        assert_int_equal(runs[i] - runs[i - 1], 60);
}

/* A spec with the given fields set. */
static struct schedule_spec spec_daily_many(void)
{
    struct schedule_spec sp = { 0 };
    sp.type_f = sp.timezone_f = sp.mode_f = sp.start_f = sp.end_f = sp.interval_f = SF_SET;
    sp.v = daily("Europe/Berlin", 60);
    sp.v.mode = SCHEDULE_MANY;
    sp.v.end_minute = 240;
    sp.v.interval_minutes = 30;
    return sp;
}

static bool has_error(const struct verr *v, const char *field)
{
    return verr_has(v, field);
}

static void test_check_combinations(void **state)
{
    (void)state;
    struct verr v;
    struct schedule out;
    time_t now = at("2026-06-01T00:00:00Z");
    struct schedule_spec sp = spec_daily_many();
    verr_init(&v);
    assert_true(schedule_check(&sp, now, true, &v, &out));
    assert_int_equal(out.end_minute, 240);

    sp.v.end_minute = 60; /* not after start */
    assert_false(schedule_check(&sp, now, true, &v, &out));
    assert_true(has_error(&v, "end_time"));
    verr_cleanup(&v);

    sp = spec_daily_many();
    sp.end_f = SF_ABSENT;
    sp.days_f = SF_SET; /* days_of_week on a daily schedule */
    sp.run_at_f = SF_SET;
    assert_false(schedule_check(&sp, now, true, &v, &out));
    assert_true(has_error(&v, "end_time") && has_error(&v, "days_of_week") &&
                has_error(&v, "run_at"));
    verr_cleanup(&v);

    sp = spec_daily_many();
    sp.v.type = SCHEDULE_WEEKLY; /* weekly needs days */
    snprintf(sp.v.timezone, sizeof(sp.v.timezone), "Mars/Olympus");
    assert_false(schedule_check(&sp, now, true, &v, &out));
    assert_true(has_error(&v, "days_of_week") && has_error(&v, "timezone"));
    verr_cleanup(&v);

    struct schedule_spec one = { 0 };
    one.type_f = one.timezone_f = one.run_at_f = one.start_f = SF_SET;
    one.v.type = SCHEDULE_ONE_OFF;
    snprintf(one.v.timezone, sizeof(one.v.timezone), "UTC");
    one.v.run_at = at("2026-05-01T00:00:00Z"); /* in the past */
    assert_false(schedule_check(&one, now, true, &v, &out));
    assert_true(has_error(&v, "run_at") && has_error(&v, "start_time"));
    verr_cleanup(&v);
    one.start_f = SF_ABSENT;
    assert_true(schedule_check(&one, now, false, &v, &out)); /* stored, not re-checked */
    verr_cleanup(&v);
}

static void test_merge(void **state)
{
    (void)state;
    struct schedule_spec stored = spec_daily_many(), patch = { 0 }, merged;
    struct schedule out;
    struct verr v;
    verr_init(&v);
    time_t now = at("2026-06-01T00:00:00Z");

    /* many → once drops the window end and interval. */
    patch.mode_f = SF_SET;
    patch.v.mode = SCHEDULE_ONCE;
    schedule_spec_merge(&stored, &patch, &merged);
    assert_true(schedule_check(&merged, now, false, &v, &out));
    assert_int_equal(out.mode, SCHEDULE_ONCE);
    assert_int_equal(out.start_minute, 60);

    /* daily → one_off drops every daily field; run_at is needed. */
    memset(&patch, 0, sizeof(patch));
    patch.type_f = SF_SET;
    patch.v.type = SCHEDULE_ONE_OFF;
    schedule_spec_merge(&stored, &patch, &merged);
    assert_false(schedule_check(&merged, now, false, &v, &out));
    assert_true(has_error(&v, "run_at"));
    assert_int_equal(v.count, 1);
    verr_cleanup(&v);
    patch.run_at_f = SF_SET;
    patch.v.run_at = at("2026-07-01T00:00:00Z");
    schedule_spec_merge(&stored, &patch, &merged);
    assert_true(schedule_check(&merged, now, true, &v, &out));

    /* daily → weekly keeps the daily fields and asks for days only. */
    memset(&patch, 0, sizeof(patch));
    patch.type_f = SF_SET;
    patch.v.type = SCHEDULE_WEEKLY;
    schedule_spec_merge(&stored, &patch, &merged);
    assert_false(schedule_check(&merged, now, false, &v, &out));
    assert_int_equal(v.count, 1);
    assert_true(has_error(&v, "days_of_week"));
    verr_cleanup(&v);
    patch.days_f = SF_SET;
    patch.v.days = 1u << 4;
    schedule_spec_merge(&stored, &patch, &merged);
    assert_true(schedule_check(&merged, now, false, &v, &out));
    assert_int_equal(out.start_minute, 60);
    assert_int_equal(out.end_minute, 240);

    /* A field already reported as invalid is not reported again as missing. */
    memset(&patch, 0, sizeof(patch));
    patch.start_f = SF_BAD;
    schedule_spec_merge(&stored, &patch, &merged);
    merged.start_f = SF_BAD;
    assert_false(schedule_check(&merged, now, false, &v, &out));
    assert_int_equal(v.count, 0);

    /* null removes: a required field set to null is reported. */
    memset(&patch, 0, sizeof(patch));
    patch.start_f = SF_NULL;
    schedule_spec_merge(&stored, &patch, &merged);
    assert_false(schedule_check(&merged, now, false, &v, &out));
    assert_true(has_error(&v, "start_time"));
    verr_cleanup(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timezone_names),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_daily_once_spring_forward),
        cmocka_unit_test(test_daily_once_fall_back),
        cmocka_unit_test(test_daily_many_spring_forward),
        cmocka_unit_test(test_daily_many_fall_back),
        cmocka_unit_test(test_weekly_across_both_transitions),
        cmocka_unit_test(test_london),
        cmocka_unit_test(test_one_off_and_limits),
        cmocka_unit_test(test_check_combinations),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
