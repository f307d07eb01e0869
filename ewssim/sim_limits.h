/* SPDX-License-Identifier: Apache-2.0 */
/* Every cap ews-sim puts on a request, a list or a buffer, in one place (see STYLE.md). */
#ifndef EWSSIM_SIM_LIMITS_H
#define EWSSIM_SIM_LIMITS_H

/* HTTP. */
#define SIM_MAX_BODY_DEFAULT   (32u * 1024u * 1024u) /* EWS_SIM_MAX_BODY_BYTES; larger → 413 */
#define SIM_CONNECTION_MEMORY  (256u * 1024u)        /* libmicrohttpd's per-connection pool */
#define SIM_CONNECTION_TIMEOUT 120u                  /* seconds of client silence */
#define SIM_STOP_GRACE_MS      5000                  /* in-flight requests at SIGTERM */

/* Data. */
#define SIM_FIXTURE_MAX_BYTES (256u * 1024u * 1024u)
#define SIM_TEXT_MAX          65536u /* one string field of a fixture or control request */
/* One rendered MIME message: Exchange's message size limits are configurable, tests use 150 MB. */
#define SIM_MIME_MAX (512u * 1024u * 1024u)

/* EWS. */
#define SIM_FIND_PAGE_MAX     1000   /* FindItem/FindFolder page (Exchange's EWSFindCountLimit) */
#define SIM_CALENDAR_VIEW_MAX 100000 /* occurrences a CalendarView expands before paging */
#define SIM_RECUR_MAX_DAYS    (366 * 100) /* a series is followed for at most a century */
#define SIM_RESOLVE_MAX       100         /* ResolveNames results, as Exchange */
#define SIM_UPDATE_MAX_FIELDS 64          /* field updates in one ItemChange */

/* Control API. */
#define SIM_CONTROL_MAX_SEGMENTS 8
#define SIM_FAULT_MAX_RULES      256

#endif
