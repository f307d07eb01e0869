/* SPDX-License-Identifier: Apache-2.0 */
/* Throughput planning arithmetic: models of a pass, tasks and sites for a group, staggering. */
#include "planning.h"

#include <math.h>

void planning_model_choose(const struct planning_fit *fit, bool first_pass,
                           struct planning_model *out)
{
    out->measurements = fit ? fit->n : 0;
    out->has_stderr = false;
    out->stderr_ms = 0;
    if (fit && fit->n >= PLANNING_MIN_PASSES && fit->sizes >= 2 && fit->has_line) {
        out->basis = PLANNING_MEASURED;
        out->intercept_ms = fit->intercept_ms;
        out->ms_per_item = fit->ms_per_item;
        out->has_stderr = fit->has_stderr;
        out->stderr_ms = fit->stderr_ms;
        return;
    }
    out->basis = fit && fit->n >= PLANNING_MIN_PASSES ? PLANNING_ONE_SIZE : PLANNING_TOO_FEW;
    /* The seed's rule of thumb: fewer items take less time, more take longer. */
    out->intercept_ms = 0;
    out->ms_per_item =
            (double)(first_pass ? PLANNING_DEFAULT_FIRST_MS : PLANNING_DEFAULT_INCREMENTAL_MS) /
            PLANNING_DEFAULT_ITEMS;
}

double planning_model_ms(const struct planning_model *m, double items)
{
    double ms = m->intercept_ms + m->ms_per_item * items;
    /* A line fitted over large mailboxes can go below zero for tiny ones. */
    return ms > 0 ? ms : 0;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

void planning_estimate(const struct planning_request *req, const struct planning_model *first,
                       const struct planning_model *incremental, double overhead_ms,
                       struct planning_estimate *out)
{
    double window_ms = (double)req->interval_minutes * 60000.0;
    double overhead = overhead_ms > 0 ? overhead_ms : 0;
    out->first_mailbox_ms = planning_model_ms(first, req->average_items) + overhead;
    out->incremental_mailbox_ms = planning_model_ms(incremental, req->average_items) + overhead;
    int64_t lanes = req->parallel > 0 ? req->parallel : 1;
    out->parallel = lanes;
    out->first_execution_ms = planning_execution_ms(out->first_mailbox_ms, req->mailboxes, lanes);
    out->incremental_execution_ms =
            planning_execution_ms(out->incremental_mailbox_ms, req->mailboxes, lanes);
    /* The most mailboxes one task gets through within the interval, each lane one by one. */
    double per_lane = out->incremental_mailbox_ms > 0
                              ? floor(window_ms / out->incremental_mailbox_ms)
                              : (double)req->mailboxes;
    out->fits = per_lane >= 1;
    double per_task = (per_lane < 1 ? 1 : per_lane) * (double)lanes;
    if (per_task > (double)req->mailboxes)
        per_task = (double)req->mailboxes;
    out->tasks = ceil_div(req->mailboxes, (int64_t)per_task);
    /* Equal shares: the largest is what each task must finish in time. */
    out->mailboxes_per_task = ceil_div(req->mailboxes, out->tasks);
    out->task_execution_ms =
            planning_execution_ms(out->incremental_mailbox_ms, out->mailboxes_per_task, lanes);
    out->task_first_execution_ms =
            planning_execution_ms(out->first_mailbox_ms, out->mailboxes_per_task, lanes);
    out->sites = ceil_div(out->tasks, req->tasks_per_site);
}

double planning_execution_ms(double mailbox_ms, int64_t mailboxes, int64_t parallel)
{
    int64_t lanes = parallel > 0 ? parallel : 1;
    /* Each lane takes the next mailbox: the longest lane does ceil(n / lanes) of them. */
    return mailbox_ms * (double)ceil_div(mailboxes, lanes);
}

int64_t planning_task_mailboxes(const struct planning_estimate *e, int64_t mailboxes, int64_t i)
{
    int64_t base = mailboxes / e->tasks, extra = mailboxes % e->tasks;
    return base + (i < extra ? 1 : 0);
}

int64_t planning_task_offset_minutes(const struct planning_estimate *e, int64_t interval_minutes,
                                     int64_t i)
{
    return interval_minutes * i / e->tasks;
}
