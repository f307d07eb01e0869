/* SPDX-License-Identifier: Apache-2.0 */
/* Expansion of EWS recurrence patterns into occurrences (for CalendarView and occurrence ids). */
#include "recur.h"

#define DAY 86400

struct day {
    long n; /* days since 1970-01-01 */
    int wday, mday, mon, year, mdays;
};

/* Days in a month of the proleptic Gregorian calendar. */
static int days_in_month(int year, int mon)
{
    static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return mon == 2 && leap ? 29 : d[mon - 1];
}

/* Calendar fields of day n (days since 1970-01-01), via gmtime_r. */
static void day_of(long n, struct day *d)
{
    time_t t = (time_t)n * DAY;
    struct tm tm;
    gmtime_r(&t, &tm);
    d->n = n;
    d->wday = tm.tm_wday;
    d->mday = tm.tm_mday;
    d->mon = tm.tm_mon + 1;
    d->year = tm.tm_year + 1900;
    d->mdays = days_in_month(d->year, d->mon);
}

/* The n-th (1..4) or last (5) weekday of a month; days bit 7 ("Day") = any day. */
static bool relative_match(const struct sim_recurrence *r, const struct day *d)
{
    bool any_day = r->days & 0x80;
    if (!any_day && !(r->days & (1u << d->wday)))
        return false;
    if (r->day_of_week_index == 5)
        return any_day ? d->mday == d->mdays : d->mday + 7 > d->mdays;
    int nth = any_day ? d->mday : (d->mday - 1) / 7 + 1;
    return nth == r->day_of_week_index;
}

/* True when day d holds an occurrence of the pattern that started on first. */
static bool day_match(const struct sim_recurrence *r, const struct day *first, const struct day *d)
{
    int interval = r->interval > 0 ? r->interval : 1;
    int months = (d->year - first->year) * 12 + d->mon - first->mon;
    int dom = r->day_of_month > d->mdays ? d->mdays : r->day_of_month;
    switch (r->pattern) {
    case PAT_DAILY:
        return (d->n - first->n) % interval == 0;
    case PAT_WEEKLY: {
        int fdow = r->first_day_of_week >= 0 ? r->first_day_of_week : 0;
        long week0 = first->n - ((first->wday - fdow + 7) % 7);
        long week = (d->n - week0) / 7;
        return (r->days & (1u << d->wday)) && week % interval == 0;
    }
    case PAT_ABS_MONTHLY:
        return months % interval == 0 && d->mday == dom;
    case PAT_REL_MONTHLY:
        return months % interval == 0 && relative_match(r, d);
    case PAT_ABS_YEARLY:
        return d->mon == r->month && d->mday == dom;
    case PAT_REL_YEARLY:
        return d->mon == r->month && relative_match(r, d);
    default:
        return false;
    }
}

void recur_expand(const struct sim_calendar *c, time_t from, time_t to,
                  bool (*fn)(void *ctx, time_t original_start), void *ctx)
{
    const struct sim_recurrence *r = &c->rec;
    if (c->type != CAL_RECURRING_MASTER || r->pattern == PAT_NONE)
        return;
    long start_day = (long)(r->start_date / DAY);
    long tod = (long)(c->start - (c->start / DAY) * DAY);
    long last_day = start_day + SIM_RECUR_MAX_DAYS;
    if (r->range == RANGE_END_DATE && r->end_date / DAY < last_day)
        last_day = (long)(r->end_date / DAY);
    if (to / DAY + 1 < last_day)
        last_day = (long)(to / DAY) + 1;
    struct day first, d;
    day_of(start_day, &first);
    int seen = 0;
    for (long n = start_day; n <= last_day; n++) {
        day_of(n, &d);
        if (!day_match(r, &first, &d))
            continue;
        if (r->range == RANGE_NUMBERED && seen >= r->count)
            return;
        seen++;
        time_t t = (time_t)n * DAY + tod;
        if (t >= to)
            return;
        if (t >= from && !fn(ctx, t))
            return;
    }
}

struct find_ctx {
    time_t want;
    bool found;
};

/* Stops the expansion at the wanted start. */
static bool find_cb(void *ctx, time_t t)
{
    struct find_ctx *f = ctx;
    f->found = t == f->want;
    return !f->found;
}

bool recur_is_occurrence(const struct sim_calendar *c, time_t original_start)
{
    struct find_ctx f = { original_start, false };
    recur_expand(c, original_start, original_start + 1, find_cb, &f);
    return f.found;
}

const struct sim_exception *recur_exception(const struct sim_calendar *c, time_t original_start)
{
    for (unsigned i = 0; i < c->nexceptions; i++) {
        if (c->exceptions[i].original_start == original_start)
            return &c->exceptions[i];
    }
    return NULL;
}

bool recur_is_deleted(const struct sim_calendar *c, time_t original_start)
{
    for (unsigned i = 0; i < c->ndeleted; i++) {
        if (c->deleted[i] == original_start)
            return true;
    }
    return false;
}

struct nth_ctx {
    unsigned want, seen;
    time_t at;
};

static bool nth_cb(void *ctx, time_t t)
{
    struct nth_ctx *n = ctx;
    n->at = t;
    return ++n->seen < n->want;
}

/* The whole series: recur_expand follows it for SIM_RECUR_MAX_DAYS at most. */
static void expand_all(const struct sim_calendar *c, bool (*fn)(void *, time_t), void *ctx)
{
    time_t from = c->rec.start_date < c->start ? c->rec.start_date : c->start;
    recur_expand(c, from - DAY, from + (time_t)(SIM_RECUR_MAX_DAYS + 2) * DAY, fn, ctx);
}

bool recur_nth(const struct sim_calendar *c, unsigned index, time_t *original_start)
{
    struct nth_ctx n = { index, 0, 0 };
    if (index == 0)
        return false;
    expand_all(c, nth_cb, &n);
    *original_start = n.at;
    return n.seen == index;
}

struct first_last_ctx {
    const struct sim_calendar *c;
    bool any;
    time_t first, last;
};

static bool first_last_cb(void *ctx, time_t t)
{
    struct first_last_ctx *f = ctx;
    if (recur_is_deleted(f->c, t))
        return true;
    if (!f->any)
        f->first = t;
    f->any = true;
    f->last = t;
    /* Without an end only the first one is wanted: the rest would be a century of days. */
    return f->c->rec.range != RANGE_NO_END;
}

bool recur_first_last(const struct sim_calendar *c, time_t *first, time_t *last, bool *has_last)
{
    struct first_last_ctx f = { .c = c };
    expand_all(c, first_last_cb, &f);
    *first = f.first;
    *last = f.last;
    *has_last = f.any && c->rec.range != RANGE_NO_END;
    return f.any;
}

void recur_occurrence_times(const struct sim_calendar *c, time_t original_start, time_t *start,
                            time_t *end)
{
    const struct sim_exception *ex = recur_exception(c, original_start);
    *start = ex ? ex->start : original_start;
    *end = ex ? ex->end : original_start + (c->end - c->start);
}
