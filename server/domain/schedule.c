/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Schedule arithmetic: when a schedule runs, in its IANA time zone, across DST changes.
 * Pure domain code (GLib's GTimeZone, no process TZ), shared by the API and the scheduler.
 */
#include "schedule.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const schedule_type_names[] = { "one_off", "daily", "weekly", NULL };
const char *const schedule_mode_names[] = { "once", "many", NULL };
const char *const schedule_day_names[] = { "monday", "tuesday",  "wednesday", "thursday",
                                           "friday", "saturday", "sunday",    NULL };

#define DAY_SECONDS 86400

/* ---- time zone names ---- */

static GHashTable *tz_names; /* every zone and link name of tzdata.zi; NULL if unreadable */
static GOnce tz_once = G_ONCE_INIT;

static const char *tz_dir(void)
{
    const char *d = getenv("TZDIR");
    return d && *d ? d : "/usr/share/zoneinfo";
}

/* tzdata.zi lists "Z name …" for zones and "L target name" for links. */
static gpointer tz_names_load(gpointer unused)
{
    (void)unused;
    char path[1024], line[1024];
    snprintf(path, sizeof(path), "%s/tzdata.zi", tz_dir());
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    while (fgets(line, sizeof(line), f)) {
        char *fields[3] = { NULL, NULL, NULL }, *save = NULL;
        char *tok = strtok_r(line, " \t\n", &save);
        for (int i = 0; tok && i < 3; i++, tok = strtok_r(NULL, " \t\n", &save))
            fields[i] = tok;
        if (fields[0] && !strcmp(fields[0], "Z") && fields[1])
            g_hash_table_add(names, g_strdup(fields[1]));
        else if (fields[0] && !strcmp(fields[0], "L") && fields[2])
            g_hash_table_add(names, g_strdup(fields[2]));
    }
    fclose(f);
    tz_names = names;
    return names;
}

/* Area/Location names only: no offsets, POSIX rules, absolute or relative paths. */
static bool tz_syntax_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > MSE_MAX_TIMEZONE || !g_ascii_isalpha(name[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '/') {
            if (name[i + 1] == '\0' || name[i + 1] == '/' || name[i + 1] == '.')
                return false;
        } else if (!g_ascii_isalnum(c) && c != '_' && c != '-' && c != '+') {
            return false;
        }
    }
    return true;
}

bool schedule_timezone_valid(const char *name)
{
    if (!tz_syntax_ok(name))
        return false;
    g_once(&tz_once, tz_names_load, NULL);
    if (tz_names && !g_hash_table_contains(tz_names, name))
        return false;
    /* Without tzdata.zi, a zone is valid when GLib can load a file of that name. */
    GTimeZone *tz = g_time_zone_new_identifier(name);
    if (!tz)
        return false;
    g_time_zone_unref(tz);
    return true;
}

bool schedule_time_parse(const char *s, int *minute)
{
    if (strlen(s) != 5 || s[2] != ':' || !g_ascii_isdigit(s[0]) || !g_ascii_isdigit(s[1]) ||
        !g_ascii_isdigit(s[3]) || !g_ascii_isdigit(s[4]))
        return false;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return false;
    *minute = h * 60 + m;
    return true;
}

/* ---- specs: what a request says, merged and checked ---- */

void schedule_spec_of(const struct schedule *s, struct schedule_spec *out)
{
    memset(out, 0, sizeof(*out));
    out->v = *s;
    out->type_f = out->timezone_f = SF_SET;
    if (s->type == SCHEDULE_ONE_OFF) {
        out->run_at_f = SF_SET;
        return;
    }
    out->mode_f = out->start_f = SF_SET;
    if (s->mode == SCHEDULE_MANY)
        out->end_f = out->interval_f = SF_SET;
    if (s->type == SCHEDULE_WEEKLY)
        out->days_f = SF_SET;
}

void schedule_spec_merge(const struct schedule_spec *stored, const struct schedule_spec *patch,
                         struct schedule_spec *out)
{
    *out = *stored;
    if (patch->type_f == SF_SET && patch->v.type != stored->v.type) {
        enum schedule_type to = patch->v.type;
        if (to != SCHEDULE_ONE_OFF)
            out->run_at_f = SF_ABSENT;
        if (to == SCHEDULE_ONE_OFF)
            out->mode_f = out->start_f = out->end_f = out->interval_f = SF_ABSENT;
        if (to != SCHEDULE_WEEKLY)
            out->days_f = SF_ABSENT;
    }
    if (patch->mode_f == SF_SET && patch->v.mode == SCHEDULE_ONCE)
        out->end_f = out->interval_f = SF_ABSENT;
#define MERGE(flag, field)                                                                         \
    do {                                                                                           \
        if (patch->flag == SF_SET) {                                                               \
            out->flag = SF_SET;                                                                    \
            out->v.field = patch->v.field;                                                         \
        } else if (patch->flag == SF_NULL) {                                                       \
            out->flag = SF_NULL;                                                                   \
        }                                                                                          \
    } while (0)
    MERGE(type_f, type);
    MERGE(run_at_f, run_at);
    MERGE(mode_f, mode);
    MERGE(start_f, start_minute);
    MERGE(end_f, end_minute);
    MERGE(interval_f, interval_minutes);
    MERGE(days_f, days);
#undef MERGE
    if (patch->timezone_f == SF_SET) {
        out->timezone_f = SF_SET;
        memcpy(out->v.timezone, patch->v.timezone, sizeof(out->v.timezone));
    } else if (patch->timezone_f == SF_NULL) {
        out->timezone_f = SF_NULL;
    }
}

/* A field a type or mode needs: reports it when missing (an invalid one is reported already). */
static void need(enum schedule_field f, const char *name, const char *why, struct verr *v)
{
    if (f == SF_ABSENT || f == SF_NULL)
        verr_add(v, name, "is required %s", why);
}

/* A field a type or mode does not use: reports it when given. */
static void refuse(enum schedule_field f, const char *name, const char *why, struct verr *v)
{
    if (f == SF_SET)
        verr_add(v, name, "applies only %s", why);
}

static void check_recurring(const struct schedule_spec *s, struct verr *v)
{
    need(s->mode_f, "mode", "for daily and weekly schedules", v);
    need(s->start_f, "start_time", "for daily and weekly schedules", v);
    refuse(s->run_at_f, "run_at", "to one_off schedules", v);
    if (s->type_f == SF_SET && s->v.type == SCHEDULE_WEEKLY)
        need(s->days_f, "days_of_week", "for weekly schedules", v);
    else
        refuse(s->days_f, "days_of_week", "to weekly schedules", v);
    if (s->mode_f != SF_SET)
        return;
    if (s->v.mode == SCHEDULE_ONCE) {
        refuse(s->end_f, "end_time", "when mode is many", v);
        refuse(s->interval_f, "interval_minutes", "when mode is many", v);
        return;
    }
    need(s->end_f, "end_time", "when mode is many", v);
    need(s->interval_f, "interval_minutes", "when mode is many", v);
    if (s->start_f == SF_SET && s->end_f == SF_SET && s->v.end_minute <= s->v.start_minute)
        verr_add(v, "end_time", "must be later than start_time (windows end on their day)");
}

bool schedule_check(const struct schedule_spec *spec, time_t now, bool check_future, struct verr *v,
                    struct schedule *out)
{
    unsigned before = v->count;
    bool bad = spec->type_f == SF_BAD || spec->timezone_f == SF_BAD || spec->run_at_f == SF_BAD ||
               spec->mode_f == SF_BAD || spec->start_f == SF_BAD || spec->end_f == SF_BAD ||
               spec->interval_f == SF_BAD || spec->days_f == SF_BAD;
    need(spec->type_f, "type", "", v);
    need(spec->timezone_f, "timezone", "", v);
    if (spec->timezone_f == SF_SET && !schedule_timezone_valid(spec->v.timezone))
        verr_add(v, "timezone", "is not a time zone of the tz database (such as Europe/Berlin)");
    if (spec->type_f == SF_SET && spec->v.type == SCHEDULE_ONE_OFF) {
        need(spec->run_at_f, "run_at", "for one_off schedules", v);
        const char *why = "to daily and weekly schedules";
        refuse(spec->mode_f, "mode", why, v);
        refuse(spec->start_f, "start_time", why, v);
        refuse(spec->end_f, "end_time", why, v);
        refuse(spec->interval_f, "interval_minutes", why, v);
        refuse(spec->days_f, "days_of_week", "to weekly schedules", v);
        if (spec->run_at_f == SF_SET && check_future && spec->v.run_at <= now)
            verr_add(v, "run_at", "must lie in the future");
    } else if (spec->type_f == SF_SET) {
        check_recurring(spec, v);
    }
    if (v->count != before || bad)
        return false;
    *out = spec->v;
    if (out->type == SCHEDULE_ONE_OFF) {
        out->mode = SCHEDULE_ONCE;
        out->start_minute = out->end_minute = out->interval_minutes = 0;
        out->days = 0;
    } else {
        out->run_at = 0;
        if (out->mode == SCHEDULE_ONCE)
            out->end_minute = out->interval_minutes = 0;
        if (out->type == SCHEDULE_DAILY)
            out->days = 0;
    }
    return true;
}

/* ---- next runs ---- */

/* The UTC offset (seconds) in force at instant t. */
static gint32 offset_at(GTimeZone *tz, gint64 t)
{
    return g_time_zone_get_offset(tz, g_time_zone_find_interval(tz, G_TIME_TYPE_UNIVERSAL, t));
}

/*
 * The instant of a local time given as seconds since the epoch as if local were UTC. Tries
 * the offsets in force a day before and a day after; see the header for gaps and repeats.
 */
static gint64 local_to_instant(GTimeZone *tz, gint64 local)
{
    gint32 off_before = offset_at(tz, local - DAY_SECONDS);
    gint32 off_after = offset_at(tz, local + DAY_SECONDS);
    gint64 t1 = local - off_before, t2 = local - off_after;
    bool ok1 = offset_at(tz, t1) == off_before, ok2 = offset_at(tz, t2) == off_after;
    if (ok1 && ok2)
        return t1 < t2 ? t1 : t2; /* repeated: the first occurrence */
    if (ok2)
        return t2;
    return t1; /* valid with the earlier offset, or in a gap: read with the earlier offset */
}

static int instant_cmp(const void *a, const void *b)
{
    time_t x = *(const time_t *)a, y = *(const time_t *)b;
    return x < y ? -1 : x > y;
}

/* Days since 1970-01-01 of the local date at instant t. */
static gint64 local_day(GTimeZone *tz, gint64 t)
{
    gint64 local = t + offset_at(tz, t);
    return local >= 0 ? local / DAY_SECONDS : -((-local + DAY_SECONDS - 1) / DAY_SECONDS);
}

/* Weekday bit (0 Monday … 6 Sunday) of a day number; 1970-01-01 was a Thursday. */
static unsigned weekday_bit(gint64 day)
{
    gint64 wd = (day + 3) % 7;
    return (unsigned)(wd < 0 ? wd + 7 : wd);
}

/* Adds the runs of one local day (sorted, distinct, after `after`) to out. */
static void day_runs(const struct schedule *s, GTimeZone *tz, gint64 day, time_t after, time_t *out,
                     unsigned cap, unsigned *count)
{
    time_t slots[1441];
    unsigned n = 0;
    int last = s->mode == SCHEDULE_MANY ? s->end_minute : s->start_minute;
    int step = s->mode == SCHEDULE_MANY ? s->interval_minutes : 1440;
    for (int m = s->start_minute; m <= last && n < 1441; m += step) {
        time_t t = (time_t)local_to_instant(tz, day * DAY_SECONDS + (gint64)m * 60);
        if (t > after)
            slots[n++] = t;
    }
    qsort(slots, n, sizeof(slots[0]), instant_cmp);
    for (unsigned i = 0; i < n && *count < cap; i++) {
        if (*count && out[*count - 1] >= slots[i])
            continue; /* the same instant twice (gap or repeat), or not after the last */
        out[(*count)++] = slots[i];
    }
}

enum mse_rc schedule_next_runs(const struct schedule *s, time_t after, time_t *out, unsigned n,
                               unsigned *count)
{
    *count = 0;
    if (s->type == SCHEDULE_ONE_OFF) {
        if (n && s->run_at > after)
            out[(*count)++] = s->run_at;
        return MSE_OK;
    }
    GTimeZone *tz = g_time_zone_new_identifier(s->timezone);
    if (!tz)
        return MSE_ERR_INVALID;
    /* Start a day early: a local day can begin before `after` in UTC terms. */
    gint64 first = local_day(tz, after) - 1, horizon = first + 2 + 7 * (gint64)n;
    for (gint64 day = first; day <= horizon && *count < n; day++) {
        if (s->type == SCHEDULE_WEEKLY && !(s->days & (1u << weekday_bit(day))))
            continue;
        day_runs(s, tz, day, after, out, n, count);
    }
    g_time_zone_unref(tz);
    return MSE_OK;
}
