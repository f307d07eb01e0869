/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-process metrics: HTTP requests by route and status with latency histograms, and the
 * server's own event counters, rendered in the Prometheus text format. Lock-free updates.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds of the latency buckets, in microseconds (Prometheus renders seconds). */
static const int64_t bucket_us[] = { 500,    1000,   2500,   5000,    10000,   25000,   50000,
                                     100000, 250000, 500000, 1000000, 2500000, 10000000 };
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))
/* Distinct statuses remembered per route; real traffic uses far fewer. */
#define STATUS_SLOTS 16

struct route_stats {
    _Atomic unsigned status[STATUS_SLOTS]; /* 0 = free slot */
    atomic_uint_fast64_t count[STATUS_SLOTS];
    atomic_uint_fast64_t bucket[NBUCKETS]; /* non-cumulative; summed when rendering */
    atomic_uint_fast64_t observations;
    atomic_uint_fast64_t sum_us;
};

static struct route_stats *stats;
static size_t stats_rows; /* routes + 1 (the last row counts unmatched requests) */
static atomic_uint_fast64_t counters[METRIC_COUNTER_COUNT];

static const struct {
    const char *name;
    const char *help;
} counter_info[METRIC_COUNTER_COUNT] = {
    [METRIC_SUBMISSIONS_APPLIED] = { "mse_submissions_applied_total",
                                     "Worker submissions applied." },
    [METRIC_SUBMISSIONS_REPLAYED] = { "mse_submissions_replayed_total",
                                      "Submissions acknowledged again without being applied." },
    [METRIC_SUBMISSIONS_CONFLICTS] = { "mse_submissions_conflicts_total",
                                       "Submissions refused because the base checkpoint "
                                       "differed." },
    [METRIC_ITEMS_APPLIED] = { "mse_items_applied_total", "Message records applied." },
    [METRIC_APPOINTMENTS_APPLIED] = { "mse_appointments_applied_total",
                                      "Appointment records applied." },
    [METRIC_FOLDERS_APPLIED] = { "mse_folders_applied_total", "Folder records applied." },
    [METRIC_ATTACHMENT_BYTES_STORED] = { "mse_attachment_bytes_stored_total",
                                         "Attachment content bytes stored (after "
                                         "de-duplication)." },
    [METRIC_LEASE_EXPIRIES] = { "mse_lease_expiries_total",
                                "Executions re-queued because their lease ran out." },
    [METRIC_LOCK_WAITS] = { "mse_mailbox_lock_waits_total",
                            "Mailbox lock requests refused because another task held the lock." },
    [METRIC_CLAIMS] = { "mse_claims_total", "Executions claimed by workers." },
    [METRIC_EXECUTIONS_SCHEDULED] = { "mse_executions_scheduled_total",
                                      "Executions created by the scheduler." },
    [METRIC_EXECUTIONS_SKIPPED] = { "mse_executions_skipped_total",
                                    "Scheduled runs skipped because the task was still active." },
    [METRIC_FENCING_REJECTIONS] = { "mse_fencing_rejections_total",
                                    "Worker writes refused for a lost lease or stale token." },
    [METRIC_AUTH_FAILURES] = { "mse_auth_failures_total", "Failed authentications." },
};

enum mse_rc metrics_init(size_t nroutes)
{
    stats_rows = nroutes + 1;
    stats = calloc(stats_rows, sizeof(*stats));
    return stats ? MSE_OK : MSE_ERR_NOMEM;
}

void metrics_cleanup(void)
{
    free(stats);
    stats = NULL;
    stats_rows = 0;
}

/* Finds or claims the slot for status; NULL when every slot holds another status. */
static atomic_uint_fast64_t *status_slot(struct route_stats *rs, unsigned status)
{
    for (int i = 0; i < STATUS_SLOTS; i++) {
        unsigned cur = atomic_load_explicit(&rs->status[i], memory_order_acquire);
        if (cur == status)
            return &rs->count[i];
        if (cur == 0) {
            unsigned expected = 0;
            if (atomic_compare_exchange_strong(&rs->status[i], &expected, status) ||
                expected == status)
                return &rs->count[i];
        }
    }
    return NULL;
}

void metrics_observe_request(size_t route_index, unsigned status, int64_t duration_us)
{
    if (!stats)
        return;
    if (route_index >= stats_rows - 1)
        route_index = stats_rows - 1;
    struct route_stats *rs = &stats[route_index];
    atomic_uint_fast64_t *slot = status_slot(rs, status);
    if (slot)
        atomic_fetch_add_explicit(slot, 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBUCKETS && duration_us > bucket_us[b])
        b++;
    if (b < NBUCKETS)
        atomic_fetch_add_explicit(&rs->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rs->observations, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rs->sum_us, duration_us > 0 ? (uint64_t)duration_us : 0,
                              memory_order_relaxed);
}

void metrics_count(enum metric_counter c, uint64_t n)
{
    atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

static enum mse_rc render_route(struct mse_buf *out, const struct route_stats *rs,
                                const char *method, const char *pattern)
{
    enum mse_rc rc = MSE_OK;
    for (int i = 0; rc == MSE_OK && i < STATUS_SLOTS; i++) {
        unsigned status = atomic_load(&rs->status[i]);
        if (status)
            rc = mse_buf_printf(out,
                                "mse_http_requests_total{method=\"%s\",route=\"%s\","
                                "status=\"%u\"} %llu\n",
                                method, pattern, status, (unsigned long long)rs->count[i]);
    }
    uint64_t cumulative = 0;
    for (size_t b = 0; rc == MSE_OK && b < NBUCKETS; b++) {
        cumulative += atomic_load(&rs->bucket[b]);
        rc = mse_buf_printf(out,
                            "mse_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
                            "le=\"%g\"} %llu\n",
                            method, pattern, (double)bucket_us[b] / 1e6,
                            (unsigned long long)cumulative);
    }
    uint64_t n = atomic_load(&rs->observations);
    if (rc == MSE_OK)
        rc = mse_buf_printf(out,
                            "mse_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
                            "le=\"+Inf\"} %llu\n"
                            "mse_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} "
                            "%.6f\n"
                            "mse_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} "
                            "%llu\n",
                            method, pattern, (unsigned long long)n, method, pattern,
                            (double)atomic_load(&rs->sum_us) / 1e6, method, pattern,
                            (unsigned long long)n);
    return rc;
}

enum mse_rc metrics_render(struct mse_buf *out, const char *const *methods,
                           const char *const *patterns)
{
    enum mse_rc rc = mse_buf_puts(
            out, "# HELP mse_http_requests_total HTTP requests answered, by route and status.\n"
                 "# TYPE mse_http_requests_total counter\n"
                 "# HELP mse_http_request_duration_seconds Time from request start to response "
                 "queued.\n"
                 "# TYPE mse_http_request_duration_seconds histogram\n");
    for (size_t r = 0; rc == MSE_OK && stats && r < stats_rows; r++) {
        if (atomic_load(&stats[r].observations) == 0)
            continue; /* keeps the exposition short; absent series read as zero */
        bool unmatched = r == stats_rows - 1;
        rc = render_route(out, &stats[r], unmatched ? "" : methods[r],
                          unmatched ? "unmatched" : patterns[r]);
    }
    for (int c = 0; rc == MSE_OK && c < METRIC_COUNTER_COUNT; c++)
        rc = mse_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counter_info[c].name,
                            counter_info[c].help, counter_info[c].name, counter_info[c].name,
                            (unsigned long long)atomic_load(&counters[c]));
    return rc;
}
