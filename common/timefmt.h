/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3339 UTC timestamps and monotonic clocks. */
#ifndef MSE_TIMEFMT_H
#define MSE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mse/rc.h"

/* Writes "2026-11-23T11:33:21.123Z" (millisecond precision) for the current time. */
void mse_time_format_now(char *out, size_t size);
/* Writes t (seconds since the epoch) as "YYYY-MM-DDTHH:MM:SSZ". */
void mse_time_format(time_t t, char *out, size_t size);
/*
 * Parses an RFC 3339 date-time ("2026-03-29T01:30:00Z", "...+02:00", fractional seconds
 * allowed and dropped) into seconds since the epoch. MSE_ERR_INVALID on anything else.
 */
enum mse_rc mse_time_parse(const char *s, time_t *out) MSE_WUR;
/* Milliseconds from a monotonic clock, for durations. */
int64_t mse_time_mono_ms(void);
/* Microseconds from a monotonic clock. */
int64_t mse_time_mono_us(void);

#endif
