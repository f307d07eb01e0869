/* SPDX-License-Identifier: Apache-2.0 */
/* Archived appointments as iCalendar VEVENTs, written by libical (see ics.h). */
#include "ics.h"

#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ICS_PRODID  "-//MSE//Mailbox Synchronization Engine export//EN"
#define DAY_SECONDS 86400

/* Copies libical's buffer into one the caller frees with free(). */
static char *take_text(char *ical)
{
    char *s = ical ? strdup(ical) : NULL;
    icalmemory_free_buffer(ical);
    return s;
}

enum mse_rc ics_envelope(char **head, char **tail)
{
    *head = *tail = NULL;
    icalcomponent *cal = icalcomponent_vanew(
            ICAL_VCALENDAR_COMPONENT, icalproperty_new_version("2.0"),
            icalproperty_new_prodid(ICS_PRODID), icalproperty_new_calscale("GREGORIAN"), (void *)0);
    char *text = cal ? take_text(icalcomponent_as_ical_string_r(cal)) : NULL;
    icalcomponent_free(cal);
    char *end = text ? strstr(text, "END:VCALENDAR") : NULL;
    if (end) {
        *tail = strdup(end);
        *end = '\0';
        *head = text;
        text = NULL;
    }
    free(text);
    if (!*head || !*tail) {
        free(*head);
        free(*tail);
        *head = *tail = NULL;
        return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

/*
 * An instant in UTC, or for an all-day appointment its date. Exchange keeps an all-day
 * appointment from local midnight to local midnight; in UTC that is within half a day of
 * midnight, so the nearest midnight gives the local date.
 */
static struct icaltimetype when(time_t t, bool all_day)
{
    if (all_day)
        t = (t + DAY_SECONDS / 2) / DAY_SECONDS * DAY_SECONDS;
    return icaltime_from_timet_with_zone(t, all_day, icaltimezone_get_utc_timezone());
}

static const char *const weekdays[] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday" };
static const char *const months[] = { "January",   "February", "March",    "April",
                                      "May",       "June",     "July",     "August",
                                      "September", "October",  "November", "December" };
static const char *const indexes[] = { "First", "Second", "Third", "Fourth" };

/* The position of name in list (n entries) plus one, or 0. */
static int lookup(const char *name, const char *const *list, int n)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return i + 1;
    return 0;
}

/*
 * BYDAY from EWS's DaysOfWeek ("Monday Friday", or Day, Weekday, WeekendDay), each at
 * position pos (0 = every). False when a name is not a day.
 */
static bool by_day(struct icalrecurrencetype *r, const char *days, int pos)
{
    static const char *const groups[] = { "Day", "Weekday", "WeekendDay" };
    static const int group_days[][8] = { { 1, 2, 3, 4, 5, 6, 7, 0 },
                                         { 2, 3, 4, 5, 6, 0 },
                                         { 7, 1, 0 } };
    int n = 0;
    char word[16];
    for (const char *p = days; p && *p;) {
        size_t len = strcspn(p, " ,");
        if (len > 0 && len < sizeof(word)) {
            memcpy(word, p, len);
            word[len] = '\0';
            int g = lookup(word, groups, 3), d = lookup(word, weekdays, 7);
            if (!g && !d)
                return false;
            /* A group at a position is "the nth of these days": BYSETPOS does that. */
            for (int k = 0; g && group_days[g - 1][k]; k++)
                r->by_day[n++] = (short)group_days[g - 1][k];
            if (g && pos)
                r->by_set_pos[0] = (short)pos;
            if (d)
                r->by_day[n++] = (short)(pos < 0 ? -(8 + d) : pos * 8 + d);
        } else if (len > 0) {
            return false;
        }
        p += len;
        p += strspn(p, " ,");
    }
    return n > 0;
}

/* The range: UNTIL at the end of the last day (a date for all-day series), or COUNT. */
static bool range_set(struct icalrecurrencetype *r, const struct ics_recurrence *rec, bool all_day)
{
    if (!rec->range || strcmp(rec->range, "NoEndRecurrence") == 0)
        return true;
    if (strcmp(rec->range, "NumberedRecurrence") == 0) {
        r->count = rec->count;
        return rec->count > 0;
    }
    int y, m, d;
    if (strcmp(rec->range, "EndDateRecurrence") != 0 || !rec->end_date ||
        sscanf(rec->end_date, "%4d-%2d-%2d", &y, &m, &d) != 3)
        return false;
    struct tm tm = { .tm_year = y - 1900,
                     .tm_mon = m - 1,
                     .tm_mday = d,
                     .tm_hour = 23,
                     .tm_min = 59,
                     .tm_sec = 59 };
    time_t t = timegm(&tm);
    r->until = all_day ? when(t - DAY_SECONDS / 2, true) : when(t, false);
    return t != (time_t)-1;
}

/* EWS's pattern as an RRULE; false when it cannot be expressed. */
static bool recurrence_set(struct icalrecurrencetype *r, const struct ics_recurrence *rec,
                           bool all_day)
{
    const char *p = rec->pattern ? rec->pattern : "";
    int pos = lookup(rec->day_of_week_index, indexes, 4);
    if (rec->day_of_week_index && strcmp(rec->day_of_week_index, "Last") == 0)
        pos = -1;
    int month = lookup(rec->month, months, 12);
    icalrecurrencetype_clear(r);
    r->interval = (short)(rec->interval > 0 && rec->interval < 1000 ? rec->interval : 1);
    bool ok = true;
    if (strcmp(p, "DailyRecurrence") == 0) {
        r->freq = ICAL_DAILY_RECURRENCE;
    } else if (strcmp(p, "WeeklyRecurrence") == 0) {
        r->freq = ICAL_WEEKLY_RECURRENCE;
        ok = by_day(r, rec->days_of_week, 0);
        int wk = lookup(rec->first_day_of_week, weekdays, 7);
        if (wk)
            r->week_start = (icalrecurrencetype_weekday)wk;
    } else if (strcmp(p, "AbsoluteMonthlyRecurrence") == 0) {
        r->freq = ICAL_MONTHLY_RECURRENCE;
        r->by_month_day[0] = (short)rec->day_of_month;
        ok = rec->day_of_month >= 1 && rec->day_of_month <= 31;
    } else if (strcmp(p, "RelativeMonthlyRecurrence") == 0) {
        r->freq = ICAL_MONTHLY_RECURRENCE;
        ok = pos != 0 && by_day(r, rec->days_of_week, pos);
    } else if (strcmp(p, "AbsoluteYearlyRecurrence") == 0) {
        r->freq = ICAL_YEARLY_RECURRENCE;
        r->by_month[0] = (short)month;
        r->by_month_day[0] = (short)rec->day_of_month;
        ok = month > 0 && rec->day_of_month >= 1 && rec->day_of_month <= 31;
    } else if (strcmp(p, "RelativeYearlyRecurrence") == 0) {
        r->freq = ICAL_YEARLY_RECURRENCE;
        r->by_month[0] = (short)month;
        ok = month > 0 && pos != 0 && by_day(r, rec->days_of_week, pos);
    } else {
        ok = false;
    }
    return ok && range_set(r, rec, all_day);
}

/* "mailto:<email>" with CN, as ORGANIZER or ATTENDEE (with ROLE). */
static icalproperty *person(const struct ics_person *p, bool attendee)
{
    size_t n = strlen(p->email) + 8;
    char *uri = malloc(n);
    if (!uri)
        return NULL;
    snprintf(uri, n, "mailto:%s", p->email);
    icalproperty *prop =
            attendee ? icalproperty_new_attendee(uri) : icalproperty_new_organizer(uri);
    free(uri);
    if (prop && p->name && *p->name)
        icalproperty_add_parameter(prop, icalparameter_new_cn(p->name));
    if (prop && attendee)
        icalproperty_add_parameter(prop,
                                   icalparameter_new_role(p->optional ? ICAL_ROLE_OPTPARTICIPANT
                                                                      : ICAL_ROLE_REQPARTICIPANT));
    return prop;
}

/* The properties every VEVENT of the appointment has. */
static icalcomponent *event_new(const struct ics_event *e, time_t start, time_t end)
{
    icalcomponent *c = icalcomponent_new_vevent();
    if (!c)
        return NULL;
    icalcomponent_add_property(c, icalproperty_new_uid(e->uid && *e->uid ? e->uid : e->item_id));
    icalcomponent_add_property(c, icalproperty_new_dtstamp(when(e->stamp, false)));
    icalcomponent_add_property(c, icalproperty_new_dtstart(when(start, e->all_day)));
    if (end > start)
        icalcomponent_add_property(c, icalproperty_new_dtend(when(end, e->all_day)));
    if (e->subject && *e->subject)
        icalcomponent_add_property(c, icalproperty_new_summary(e->subject));
    if (e->location && *e->location)
        icalcomponent_add_property(c, icalproperty_new_location(e->location));
    if (e->sensitivity && strcmp(e->sensitivity, "Private") == 0)
        icalcomponent_add_property(c, icalproperty_new_class(ICAL_CLASS_PRIVATE));
    else if (e->sensitivity && strcmp(e->sensitivity, "Confidential") == 0)
        icalcomponent_add_property(c, icalproperty_new_class(ICAL_CLASS_CONFIDENTIAL));
    if (e->organizer.email && *e->organizer.email)
        icalcomponent_add_property(c, person(&e->organizer, false));
    for (size_t i = 0; i < e->n_attendees; i++)
        if (e->attendees[i].email && *e->attendees[i].email)
            icalcomponent_add_property(c, person(&e->attendees[i], true));
    return c;
}

/* Appends the component's text to *out (of *len bytes); false on allocation failure. */
static bool append(char **out, size_t *len, icalcomponent *c)
{
    char *text = c ? take_text(icalcomponent_as_ical_string_r(c)) : NULL;
    icalcomponent_free(c);
    if (!text)
        return false;
    size_t n = strlen(text);
    char *grown = realloc(*out, *len + n + 1);
    if (grown) {
        memcpy(grown + *len, text, n + 1);
        *out = grown;
        *len += n;
    }
    free(text);
    return grown != NULL;
}

enum mse_rc ics_event_text(const struct ics_event *e, char **out, bool *approximate)
{
    size_t len = 0;
    *out = NULL;
    *approximate = false;
    icalcomponent *master = event_new(e, e->start, e->end);
    if (master && e->series) {
        struct icalrecurrencetype r;
        if (recurrence_set(&r, &e->rec, e->all_day)) {
            icalcomponent_add_property(master, icalproperty_new_rrule(r));
            for (size_t i = 0; i < e->n_deleted; i++)
                icalcomponent_add_property(
                        master, icalproperty_new_exdate(when(e->deleted[i], e->all_day)));
        } else {
            *approximate = true;
        }
    }
    bool ok = append(out, &len, master);
    /* A moved occurrence: its own VEVENT naming the occurrence it replaces. */
    for (size_t i = 0; ok && e->series && !*approximate && i < e->n_moved; i++) {
        icalcomponent *c = event_new(e, e->moved[i].start, e->moved[i].end);
        if (c)
            icalcomponent_add_property(
                    c, icalproperty_new_recurrenceid(when(e->moved[i].original_start, e->all_day)));
        ok = append(out, &len, c);
    }
    if (!ok) {
        free(*out);
        *out = NULL;
        return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}
