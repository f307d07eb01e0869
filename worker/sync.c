/* SPDX-License-Identifier: Apache-2.0 */
/* One mailbox pass: its context, side sessions, the hierarchy and then the folders. */
#include "sync.h"

#include <string.h>

#include "ews_pool.h"
#include "mse/limits.h"
#include "sync_batch.h"
#include "sync_folder.h"
#include "sync_hierarchy.h"
#include "sync_source.h"
#include "sync_storage.h"
#include "timefmt.h"

/* Side sessions for GetItem requests and the read-ahead, unless the job wants one at a time. */
static enum mse_rc pass_pool(struct sync_ctx *c)
{
    unsigned width = c->job->parallel ? c->job->parallel : MSE_EWS_PARALLEL;
    if (width <= 1 || c->job->source)
        return MSE_OK;
    if (ews_pool_new(c->job->ews, width, &c->pool) != MSE_OK)
        return sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    return MSE_OK;
}

enum mse_rc sync_mailbox(struct sync_job *job, struct sync_outcome *out)
{
    int64_t t0 = mse_time_mono_ms();
    memset(out, 0, sizeof(*out));
    struct sync_ctx c = { .job = job, .out = out };
    c.feature = job->def->type == SYNC_CALENDAR  ? &sync_feature_calendar
                : job->def->type == SYNC_RECOVER ? sync_feature_recover()
                                                 : &sync_feature_mfr;
    c.log = job->log;
    mse_log_ctx_add(&c.log, "mailbox", job->mailbox);
    struct ews_stats before = *sync_source_stats(&c);
    enum mse_rc rc = sync_source_set_mailbox(&c);
    if (rc != MSE_OK) {
        rc = sync_fail(&c, rc, "invalid_mailbox", "\"%.100s\" cannot be used as a mailbox",
                       job->mailbox);
        goto out;
    }
    LOG_INFO(&c.log, "%s pass started (%s)", sync_type_name(job->def->type),
             job->checkpoints->hierarchy ? "incremental" : "full");
    if (job->def->type == SYNC_STORAGE) {
        /* No replica, no checkpoints: the pass reads the hierarchy and manages the folders. */
        rc = sync_storage_run(&c);
        goto out;
    }
    rc = pass_pool(&c);
    if (rc == MSE_OK)
        rc = sync_hierarchy_run(&c);
    if (rc == MSE_OK)
        rc = sync_folders_run(&c);
out:
    /* A read-ahead is of no use now: it ends first, not after a submission's retries. */
    sync_readahead_drop(&c);
    enum mse_rc sub_rc = sync_submit_wait(&c); /* the last batch may still be on its way */
    if (rc == MSE_OK)
        rc = sub_rc;
    struct ews_stats all = *sync_source_stats(&c);
    ews_pool_stats_add(c.pool, &all);
    ews_pool_free(c.pool);
    folder_table_cleanup(&c.table);
    const struct ews_stats *after = &all;
    out->ews.requests = after->requests - before.requests;
    out->ews.retries = after->retries - before.retries;
    out->ews.bytes_in = after->bytes_in - before.bytes_in;
    out->ews.waited_ms = after->waited_ms - before.waited_ms;
    out->ews.throttled = after->throttled - before.throttled;
    out->duration_ms = mse_time_mono_ms() - t0;
    LOG_INFO(&c.log,
             "%s pass ended %s%s%s: %llu batches, %llu items, %llu appointments, %llu "
             "deletions, %llu EWS requests, %lld ms",
             sync_type_name(job->def->type), sync_health_name(out->health),
             out->reason[0] ? " " : "", out->reason, (unsigned long long)out->batches,
             (unsigned long long)out->items, (unsigned long long)out->appointments,
             (unsigned long long)out->deletes, (unsigned long long)out->ews.requests,
             (long long)out->duration_ms);
    return rc;
}
