/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throughput planning (seed 004, issue 18): from a model of how long one mailbox's pass takes
 * for its size, how long one execution of a group takes, how many tasks of equal shares of the
 * group each finish within a required interval, how many sites host them, and a staggered
 * start for each. Pure arithmetic: the measured fits come from the database, the rendering
 * from the handler.
 */
#ifndef MSE_PLANNING_H
#define MSE_PLANNING_H

#include <stdbool.h>
#include <stdint.h>

/* Seed 004's worked example, used when too little is measured: a mailbox of 10,000 items takes
 * 15–25 minutes the first time and 2 minutes on each execution after; scaled by size. */
#define PLANNING_DEFAULT_ITEMS          10000
#define PLANNING_DEFAULT_FIRST_MS       (20 * 60000)
#define PLANNING_DEFAULT_FIRST_LOW_MS   (15 * 60000)
#define PLANNING_DEFAULT_FIRST_HIGH_MS  (25 * 60000)
#define PLANNING_DEFAULT_INCREMENTAL_MS (2 * 60000)
/* Fewer measured passes than this, or all of one size, and the fit says too little. */
#define PLANNING_MIN_PASSES 3
/* The seed's example hosts 20 concurrent tasks of one feature on one site. */
#define PLANNING_DEFAULT_TASKS_PER_SITE 20
/* Input bounds (also in api-spec/openapi.yaml). */
#define PLANNING_MAX_MAILBOXES      1000000
#define PLANNING_MAX_ITEMS          10000000
#define PLANNING_MAX_INTERVAL_MIN   40320 /* four weeks */
#define PLANNING_MAX_TASKS_PER_SITE 1000
/* The answer lists at most this many tasks' starts (the count is always exact). */
#define PLANNING_MAX_LISTED_TASKS 1000

/* What the database measured for one task type and kind of pass (has_* = not null). */
struct planning_fit {
    int64_t n;     /* passes */
    int64_t sizes; /* distinct mailbox sizes among them */
    bool has_line, has_stderr, has_r2, has_overhead;
    double intercept_ms, ms_per_item, stderr_ms, r2;
    double overhead_ms; /* an execution's time between mailboxes, per mailbox */
};

enum planning_basis {
    PLANNING_MEASURED, /* the fit */
    PLANNING_TOO_FEW,  /* fewer than PLANNING_MIN_PASSES passes: the default */
    PLANNING_ONE_SIZE, /* every pass of one mailbox size: no slope, the default */
};

/* Duration of one pass = intercept_ms + ms_per_item × items, never below zero. */
struct planning_model {
    enum planning_basis basis;
    int64_t measurements;
    double intercept_ms, ms_per_item;
    bool has_stderr;
    double stderr_ms;
};

/* The measured fit when it says enough, else seed 004's default for that kind of pass. */
void planning_model_choose(const struct planning_fit *fit, bool first_pass,
                           struct planning_model *out);
/* One pass of a mailbox of `items` items under the model, in milliseconds (≥ 0). */
double planning_model_ms(const struct planning_model *m, double items);

struct planning_request {
    int64_t mailboxes;        /* ≥ 1 */
    double average_items;     /* ≥ 0 */
    int64_t interval_minutes; /* ≥ 1 */
    int64_t tasks_per_site;   /* ≥ 1 */
    int64_t parallel;         /* mailboxes a task processes at once, ≥ 1 */
};

struct planning_estimate {
    double first_mailbox_ms, incremental_mailbox_ms;     /* one mailbox, overhead included */
    double first_execution_ms, incremental_execution_ms; /* the whole group on one task */
    int64_t parallel;                                    /* as requested */
    int64_t tasks, mailboxes_per_task, sites;
    double task_execution_ms, task_first_execution_ms; /* the largest share */
    bool fits; /* each task's incremental execution within the interval */
};

/*
 * Splits the group into the fewest tasks of equal shares whose incremental execution fits the
 * interval (seed 004 scales from "the timings post the first execution"), each processing
 * req->parallel mailboxes at once; when even one mailbox does not fit, one task per
 * `parallel` mailboxes and fits = false. overhead_ms is added to every mailbox's pass.
 */
void planning_estimate(const struct planning_request *req, const struct planning_model *first,
                       const struct planning_model *incremental, double overhead_ms,
                       struct planning_estimate *out);

/* One execution of `mailboxes` mailboxes of mailbox_ms each, `parallel` at once. */
double planning_execution_ms(double mailbox_ms, int64_t mailboxes, int64_t parallel);
/* Task i's (0-based) share of the group: the first mailboxes % tasks tasks take one more. */
int64_t planning_task_mailboxes(const struct planning_estimate *e, int64_t mailboxes, int64_t i);
/* Task i's start within the interval, spread evenly (seed 004: "consider starting the tasks at
 * different times"), in whole minutes. */
int64_t planning_task_offset_minutes(const struct planning_estimate *e, int64_t interval_minutes,
                                     int64_t i);

#endif
