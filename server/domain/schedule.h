/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Schedule arithmetic: when a schedule runs, in its IANA time zone, across DST changes.
 * Pure domain code (GLib's GTimeZone, no process TZ), shared by the API and the scheduler.
 *
 * Local times that a DST change skips or repeats follow RFC 5545 §3.3.5:
 *  - a time inside a spring-forward gap (02:30 on 2026-03-29 in Europe/Berlin) is read with
 *    the offset in force before the gap, so it runs as late as the gap is long (03:30 CEST);
 *  - a time that occurs twice (02:30 on 2026-10-25 in Europe/Berlin) runs once, at its first
 *    occurrence (02:30 CEST = 00:30 UTC).
 * Several local times that land on the same instant run once.
 */
#ifndef MSE_SCHEDULE_H
#define MSE_SCHEDULE_H

#include <stdbool.h>
#include <time.h>

#include "mse/limits.h"
#include "mse/rc.h"
#include "verr.h"

enum schedule_type { SCHEDULE_ONE_OFF, SCHEDULE_DAILY, SCHEDULE_WEEKLY };
enum schedule_mode { SCHEDULE_ONCE, SCHEDULE_MANY };

/* A valid schedule (see schedule_check). */
struct schedule {
    enum schedule_type type;
    char timezone[MSE_MAX_TIMEZONE + 1];
    time_t run_at;           /* one_off: the instant */
    enum schedule_mode mode; /* daily, weekly */
    int start_minute;        /* local minute of the day, 0–1439 */
    int end_minute;          /* many: last minute of the window (inclusive), > start_minute */
    int interval_minutes;    /* many: 1–1440 */
    unsigned days;           /* weekly: bit 0 Monday … bit 6 Sunday */
};

/* The state of one field in a request: absent, given, given as null, or given but invalid
 * (already reported: the rules do not report it again). */
enum schedule_field { SF_ABSENT, SF_SET, SF_NULL, SF_BAD };

/* A schedule as a request describes it; fields may be missing or misplaced. */
struct schedule_spec {
    enum schedule_field type_f, timezone_f, run_at_f, mode_f, start_f, end_f, interval_f, days_f;
    struct schedule v; /* the values of SF_SET fields */
};

/* Names of the JSON fields, in the order of enum fields above (for messages). */
extern const char *const schedule_type_names[]; /* "one_off", "daily", "weekly", NULL */
extern const char *const schedule_mode_names[]; /* "once", "many", NULL */
extern const char *const schedule_day_names[];  /* "monday" … "sunday", NULL */

/*
 * True for a zone or link name of the system's tz database ("Europe/Berlin", "UTC"). Offsets
 * ("+01:00"), POSIX rules ("CET-1CEST") and paths are refused.
 */
bool schedule_timezone_valid(const char *name);

/* "HH:MM" (24-hour) → minute of the day. */
bool schedule_time_parse(const char *s, int *minute);

/* Writes the spec of a stored schedule: every field that applies to its type is SF_SET. */
void schedule_spec_of(const struct schedule *s, struct schedule_spec *out);

/*
 * Applies a PATCH to a stored spec (JSON merge-patch rules: null removes). Changing type
 * drops the stored fields the new type does not use (run_at, or mode and the daily fields,
 * or days_of_week); changing mode to once drops the window end and interval — unless the
 * patch gives them again.
 */
void schedule_spec_merge(const struct schedule_spec *stored, const struct schedule_spec *patch,
                         struct schedule_spec *out);

/*
 * Checks that spec describes a valid schedule, reporting every problem into v (fields named
 * as in the API), and fills *out when it does. run_at must lie after now when check_future.
 */
bool schedule_check(const struct schedule_spec *spec, time_t now, bool check_future, struct verr *v,
                    struct schedule *out);

/*
 * Computes up to n run instants strictly after `after`, ascending and distinct. *count is
 * how many there are (fewer for a one_off, none once it is past). MSE_ERR_INVALID when the
 * time zone cannot be loaded.
 */
enum mse_rc schedule_next_runs(const struct schedule *s, time_t after, time_t *out, unsigned n,
                               unsigned *count) MSE_WUR;

#endif
