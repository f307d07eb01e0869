/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Retrying some of a task's mailboxes (an execution given its mailboxes when it is queued) and
 * the per-mailbox results of any execution.
 */
#ifndef MSE_DB_RETRY_H
#define MSE_DB_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "mse/limits.h"
#include "mse/rc.h"

/* How a retry request ended; mse_rc is kept for infrastructure failures. */
enum retry_outcome {
    RETRY_QUEUED,
    RETRY_NO_TASK,        /* no such live task */
    RETRY_ACTIVE,         /* an execution is active: active_id */
    RETRY_DISABLED,       /* the task is disabled */
    RETRY_NO_EXECUTION,   /* failed: the task has no finished execution */
    RETRY_NOTHING_FAILED, /* failed: none of latest_id's mailboxes failed */
    RETRY_NOT_A_MAILBOX,  /* a listed address (outside, at index) is not the task's */
};

struct retry_result {
    enum retry_outcome outcome;
    char active_id[37];
    char latest_id[37];
    char outside[MSE_MAX_ADDRESS + 1];
    int index;
    char *json; /* RETRY_QUEUED: the new execution; owned by the caller */
};

/*
 * Queues a manual execution of the task for the listed mailboxes (a PostgreSQL text[]
 * literal of lowercased addresses; repeats keep their first place), or with failed for the
 * mailboxes that ended in `error` in its latest finished execution. The execution is given
 * its mailboxes: its worker does not resolve the group.
 */
enum mse_rc db_exec_retry(struct db *db, const char *task_id, bool failed, const char *addresses,
                          struct retry_result *r, struct db_error *err) MSE_WUR;

/* A page of one execution's mailboxes (by position), optionally only those in state. */
enum mse_rc db_exec_execution_mailboxes(struct db *db, const char *task_id,
                                        const char *execution_id, const char *state, bool has_after,
                                        int64_t after, unsigned limit, char **items,
                                        int64_t *last_seq, bool *more,
                                        struct db_error *err) MSE_WUR;
/* Whether the execution exists and belongs to the task. */
enum mse_rc db_exec_of_task(struct db *db, const char *task_id, const char *execution_id,
                            bool *exists, struct db_error *err) MSE_WUR;

#endif
