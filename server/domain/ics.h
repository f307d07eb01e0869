/* SPDX-License-Identifier: Apache-2.0 */
/*
 * iCalendar (RFC 5545) of archived appointments, built with libical: the calendar's opening
 * and closing lines, and each appointment as its VEVENTs (a series' master with RRULE and
 * EXDATE, and one VEVENT per moved occurrence, with RECURRENCE-ID). Times are written in UTC,
 * as the archive keeps them.
 */
#ifndef MSE_ICS_H
#define MSE_ICS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mse/rc.h"

/* A series' pattern and range as EWS reports them (docs/worker.md); NULL/0 when absent. */
struct ics_recurrence {
    const char *pattern;           /* DailyRecurrence, WeeklyRecurrence, … */
    int interval;                  /* 0 = 1 */
    const char *days_of_week;      /* "Monday Wednesday" (EWS's list), or Day/Weekday/WeekendDay */
    const char *first_day_of_week; /* "Monday" */
    const char *day_of_week_index; /* First … Fourth, Last */
    int day_of_month;
    const char *month;    /* January … */
    const char *range;    /* NoEndRecurrence, EndDateRecurrence, NumberedRecurrence */
    const char *end_date; /* YYYY-MM-DD */
    int count;
};

struct ics_person {
    const char *name;
    const char *email;
    bool optional; /* an attendee's role: OPT-PARTICIPANT rather than REQ-PARTICIPANT */
};

struct ics_moved {
    time_t original_start, start, end;
};

struct ics_event {
    const char *uid; /* the iCalendar UID Exchange keeps; NULL: the item id stands in */
    const char *item_id;
    const char *subject;
    const char *location;
    const char *sensitivity; /* Normal, Personal, Private, Confidential */
    bool all_day;
    time_t start, end;
    time_t stamp;                /* DTSTAMP: when the archive last wrote the appointment */
    struct ics_person organizer; /* email NULL = none */
    const struct ics_person *attendees;
    size_t n_attendees;
    bool series; /* a RecurringMaster: rec applies */
    struct ics_recurrence rec;
    const time_t *deleted; /* cancelled occurrences' starts */
    size_t n_deleted;
    const struct ics_moved *moved;
    size_t n_moved;
};

/*
 * The text before the first event ("BEGIN:VCALENDAR" … "PRODID" …) and after the last
 * ("END:VCALENDAR"), written by libical, each malloc'd. MSE_ERR_NOMEM.
 */
enum mse_rc ics_envelope(char **head, char **tail) MSE_WUR;

/*
 * The appointment's VEVENTs as iCalendar text (*out malloc'd, CRLF lines, folded by libical).
 * A series whose pattern this cannot express is written as its first occurrence alone and
 * *approximate is set (the caller reports it). MSE_ERR_NOMEM.
 */
enum mse_rc ics_event_text(const struct ics_event *e, char **out, bool *approximate) MSE_WUR;

#endif
