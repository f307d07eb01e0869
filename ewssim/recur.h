/* SPDX-License-Identifier: Apache-2.0 */
/* Expansion of EWS recurrence patterns into occurrences (for CalendarView and occurrence ids). */
#ifndef EWSSIM_RECUR_H
#define EWSSIM_RECUR_H

#include <stdbool.h>
#include <time.h>

#include "sim_limits.h"
#include "store.h"

/*
 * Calls fn with the original start of every occurrence of the master's series that starts in
 * [from, to), deleted occurrences included (callers look those up), in order, until fn returns
 * false. Times are UTC; the time of day is the master's.
 */
void recur_expand(const struct sim_calendar *c, time_t from, time_t to,
                  bool (*fn)(void *ctx, time_t original_start), void *ctx);
/* True when original_start is an occurrence of the series (deleted or not). */
bool recur_is_occurrence(const struct sim_calendar *c, time_t original_start);
/* The exception for an original start, or NULL. */
const struct sim_exception *recur_exception(const struct sim_calendar *c, time_t original_start);
bool recur_is_deleted(const struct sim_calendar *c, time_t original_start);
/*
 * The original start of the series' index-th occurrence (1-based, deleted ones counted, as
 * Exchange's InstanceIndex counts them); false when the series has fewer.
 */
bool recur_nth(const struct sim_calendar *c, unsigned index, time_t *original_start);
/*
 * The original starts of the first and the last occurrence that are not deleted; false when
 * every occurrence is. A series without end has no last one (*has_last false).
 */
bool recur_first_last(const struct sim_calendar *c, time_t *first, time_t *last, bool *has_last);
/* Start and end of the occurrence at original_start, moved by its exception if it has one. */
void recur_occurrence_times(const struct sim_calendar *c, time_t original_start, time_t *start,
                            time_t *end);

#endif
