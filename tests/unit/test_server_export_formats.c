/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the exports' formats: mboxrd quoting however a message is cut into chunks,
 * the separator line, and iCalendar events read back with libical's own parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libical/ical.h>

#include "ics.h"
#include "mboxrd.h"

/* Quotes msg fed in chunks of step bytes; returns the malloc'd result. */
static char *quote_in_chunks(const char *msg, size_t step)
{
    size_t n = strlen(msg), w = 0;
    char *out = malloc(4 * n + 256);
    struct mboxrd_quoter q;
    mboxrd_quoter_init(&q);
    for (size_t at = 0; at < n; at += step) {
        size_t k = n - at < step ? n - at : step;
        w += mboxrd_quote(&q, msg + at, k, out + w);
    }
    w += mboxrd_finish(&q, out + w);
    out[w] = '\0';
    return out;
}

static void test_mboxrd_quoting(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "Subject: x\r\n\r\nFrom here\r\n", "Subject: x\r\n\r\n>From here\r\n\n" },
        { "From a\n>From b\n>>From c\nxFrom d\n", ">From a\n>>From b\n>>>From c\nxFrom d\n\n" },
        { "Fro\nFrom\n>Fro m\n", "Fro\nFrom\n>Fro m\n\n" },
        { "no line end", "no line end\n\n" },
        { "ends with From ", "ends with From \n\n" },
        { "x\nFrom ", "x\n>From \n\n" },
        { ">>>", ">>>\n\n" },
        { "", "\n" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].in);
        for (size_t step = 1; step <= n + 1; step++) {
            char *got = quote_in_chunks(cases[i].in, step);
            if (strcmp(got, cases[i].want) != 0)
                print_error("case %zu, chunks of %zu: [%s]\n", i, step, got);
            assert_string_equal(got, cases[i].want);
            free(got);
        }
    }
}

/* A leading run of '>' of any length gets one more, however it is cut (a run longer than
 * what a quoter could keep back once lost its extra '>'s). */
static void test_mboxrd_long_quote_runs(void **state)
{
    (void)state;
    static const size_t runs[] = { 58, 59, 60, 63, 64, 100, 300 };
    for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
        size_t k = runs[r];
        char in[400], want[400];
        memset(in, '>', k);
        snprintf(in + k, sizeof(in) - k, "%s", "From x\n>>Fro>From y\n");
        memset(want, '>', k + 1);
        snprintf(want + k + 1, sizeof(want) - k - 1, "%s", "From x\n>>Fro>From y\n\n");
        for (size_t step = 1; step <= strlen(in) + 1; step++) {
            char *got = quote_in_chunks(in, step);
            if (strcmp(got, want) != 0)
                print_error("run of %zu, chunks of %zu: [%s]\n", k, step, got);
            assert_string_equal(got, want);
            free(got);
        }
    }
}

static void test_mboxrd_from_line(void **state)
{
    (void)state;
    char line[MBOXRD_FROM_LINE_MAX];
    mboxrd_from_line("anna@contoso.example", 1767607205, line);
    assert_string_equal(line, "From anna@contoso.example Mon Jan  5 10:00:05 2026\n");
    mboxrd_from_line("two words@x", 0, line);
    assert_string_equal(line, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n");
    mboxrd_from_line(NULL, 0, line);
    assert_string_equal(line, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n");
}

/* Parses the event text inside libical's calendar lines; the VCALENDAR is the caller's. */
static icalcomponent *parse(const char *events)
{
    char *head, *tail;
    assert_int_equal(ics_envelope(&head, &tail), MSE_OK);
    size_t n = strlen(head) + strlen(events) + strlen(tail) + 1;
    char *text = malloc(n);
    snprintf(text, n, "%s%s%s", head, events, tail);
    icalcomponent *cal = icalparser_parse_string(text);
    free(text);
    free(head);
    free(tail);
    assert_non_null(cal);
    return cal;
}

static char *rrule_of(icalcomponent *cal)
{
    icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
    icalproperty *p = icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY);
    return p ? strdup(icalproperty_get_value_as_string(p)) : NULL;
}

static void test_ics_patterns(void **state)
{
    (void)state;
    static const struct {
        struct ics_recurrence rec;
        const char *want; /* NULL: not expressible */
    } cases[] = {
        { { .pattern = "DailyRecurrence",
            .interval = 2,
            .range = "NumberedRecurrence",
            .count = 5 },
          "FREQ=DAILY;COUNT=5;INTERVAL=2" },
        { { .pattern = "WeeklyRecurrence",
            .interval = 1,
            .days_of_week = "Monday Friday",
            .first_day_of_week = "Sunday",
            .range = "NoEndRecurrence" },
          "FREQ=WEEKLY;BYDAY=MO,FR;WKST=SU" },
        { { .pattern = "RelativeMonthlyRecurrence",
            .interval = 1,
            .days_of_week = "Tuesday",
            .day_of_week_index = "Second" },
          "FREQ=MONTHLY;BYDAY=2TU" },
        { { .pattern = "RelativeMonthlyRecurrence",
            .interval = 1,
            .days_of_week = "Weekday",
            .day_of_week_index = "Last" },
          "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1" },
        { { .pattern = "AbsoluteYearlyRecurrence",
            .day_of_month = 24,
            .month = "December",
            .range = "EndDateRecurrence",
            .end_date = "2030-12-24" },
          "FREQ=YEARLY;UNTIL=20301224T235959Z;BYMONTHDAY=24;BYMONTH=12" },
        { { .pattern = "WeeklyRecurrence", .days_of_week = "Caturday" }, NULL },
        { { .pattern = "HourlyRecurrence" }, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ics_event e = { .item_id = "AAMk1",
                               .subject = "s",
                               .start = 1767607200,
                               .end = 1767609000,
                               .stamp = 1767607200,
                               .series = true,
                               .rec = cases[i].rec };
        char *text = NULL;
        bool approximate = false;
        assert_int_equal(ics_event_text(&e, &text, &approximate), MSE_OK);
        assert_int_equal(approximate, cases[i].want == NULL);
        icalcomponent *cal = parse(text);
        char *rule = rrule_of(cal);
        if (cases[i].want && (!rule || strcmp(rule, cases[i].want) != 0))
            print_error("case %zu: %s\n", i, rule ? rule : "(none)");
        if (cases[i].want)
            assert_string_equal(rule, cases[i].want);
        else
            assert_null(rule);
        free(rule);
        icalcomponent_free(cal);
        free(text);
    }
}

static void test_ics_event(void **state)
{
    (void)state;
    struct ics_person people[] = { { "Bob", "bob@example.com", false },
                                   { NULL, "eve@example.com", true } };
    time_t deleted[] = { 1768813200 };
    struct ics_moved moved[] = { { 1769418000, 1769522400, 1769526000 } };
    struct ics_event e = { .uid = "uid-1",
                           .item_id = "AAMk1",
                           .subject = "Weekly; sync, \"x\"",
                           .location = "Room 1",
                           .sensitivity = "Private",
                           .start = 1767603600,
                           .end = 1767605400,
                           .stamp = 1767600000,
                           .organizer = { "Anna", "anna@example.com", false },
                           .attendees = people,
                           .n_attendees = 2,
                           .series = true,
                           .rec = { .pattern = "WeeklyRecurrence", .days_of_week = "Monday" },
                           .deleted = deleted,
                           .n_deleted = 1,
                           .moved = moved,
                           .n_moved = 1 };
    char *text = NULL;
    bool approximate = true;
    assert_int_equal(ics_event_text(&e, &text, &approximate), MSE_OK);
    assert_false(approximate);
    icalcomponent *cal = parse(text);
    assert_int_equal(icalcomponent_count_components(cal, ICAL_VEVENT_COMPONENT), 2);
    icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
    assert_string_equal(icalcomponent_get_uid(ev), "uid-1");
    assert_string_equal(icalcomponent_get_summary(ev), "Weekly; sync, \"x\"");
    assert_int_equal(icaltime_as_timet(icalcomponent_get_dtstart(ev)), 1767603600);
    assert_int_equal(
            icalproperty_get_class(icalcomponent_get_first_property(ev, ICAL_CLASS_PROPERTY)),
            ICAL_CLASS_PRIVATE);
    assert_int_equal(icalcomponent_count_properties(ev, ICAL_ATTENDEE_PROPERTY), 2);
    icalproperty *ex = icalcomponent_get_first_property(ev, ICAL_EXDATE_PROPERTY);
    assert_int_equal(icaltime_as_timet(icalproperty_get_exdate(ex)), 1768813200);
    icalcomponent *occ = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT);
    assert_int_equal(icaltime_as_timet(icalcomponent_get_recurrenceid(occ)), 1769418000);
    assert_int_equal(icaltime_as_timet(icalcomponent_get_dtstart(occ)), 1769522400);
    icalcomponent_free(cal);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mboxrd_quoting),   cmocka_unit_test(test_mboxrd_long_quote_runs),
        cmocka_unit_test(test_mboxrd_from_line), cmocka_unit_test(test_ics_patterns),
        cmocka_unit_test(test_ics_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
