/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-process metrics: HTTP requests by route and status with latency histograms, and the
 * server's own event counters, rendered in the Prometheus text format. Lock-free updates.
 */
#ifndef MSE_METRICS_H
#define MSE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mse/rc.h"

struct route;

/* Events counted by the server itself (one process; Prometheus sums across instances). */
enum metric_counter {
    METRIC_SUBMISSIONS_APPLIED,
    METRIC_SUBMISSIONS_REPLAYED,
    METRIC_SUBMISSIONS_CONFLICTS,
    METRIC_ITEMS_APPLIED,
    METRIC_APPOINTMENTS_APPLIED,
    METRIC_FOLDERS_APPLIED,
    METRIC_ATTACHMENT_BYTES_STORED,
    METRIC_LEASE_EXPIRIES,
    METRIC_LOCK_WAITS,
    METRIC_CLAIMS,
    METRIC_EXECUTIONS_SCHEDULED,
    METRIC_EXECUTIONS_SKIPPED,
    METRIC_FENCING_REJECTIONS,
    METRIC_AUTH_FAILURES,
    METRIC_COUNTER_COUNT
};

/* Prepares storage for nroutes routes (plus one slot for unmatched requests). */
enum mse_rc metrics_init(size_t nroutes) MSE_WUR;
void metrics_cleanup(void);

/* Counts one request. route_index is the route's row, or SIZE_MAX when none matched. */
void metrics_observe_request(size_t route_index, unsigned status, int64_t duration_us);
void metrics_count(enum metric_counter c, uint64_t n);

/*
 * Appends every in-process metric in the Prometheus text format to out. patterns gives the
 * route label for each row (the table's path patterns) and methods the method label.
 */
enum mse_rc metrics_render(struct mse_buf *out, const char *const *methods,
                           const char *const *patterns) MSE_WUR;

#endif
