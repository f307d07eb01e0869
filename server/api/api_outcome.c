/* SPDX-License-Identifier: Apache-2.0 */
/* The one table from a lifecycle operation's outcome to its HTTP status and problem type. */
#include "api_outcome.h"

#include <stddef.h>

#include "mse/protocol.h"
#include "problem.h"
#include "tx.h"

static const struct api_outcome table[EXEC_OUTCOME_COUNT] = {
    [EXO_DONE] = { 200, NULL, "done" },
    [EXO_NOTHING_QUEUED] = { 204, NULL, "no execution is queued for this site" },
    [EXO_NO_EXECUTION] = { 404, NULL, "no execution with this id for this site" },
    [EXO_LEASE_LOST] = { 409, MSE_PROBLEM_LEASE_LOST,
                         "the claim on this execution no longer holds; abandon it" },
    [EXO_NOT_MEMBER] = { 422, NULL, "the mailbox is not one of this execution's mailboxes" },
    [EXO_OUTSIDE_GROUP] = { 422, NULL, "the membership report is not valid" },
    [EXO_MAILBOX_LOCKED] = { 409, MSE_PROBLEM_MAILBOX_LOCKED,
                             "the mailbox is locked by another task" },
    [EXO_NOT_LOCKED] = { 409, MSE_PROBLEM_NOT_LOCKED,
                         "this execution does not hold the mailbox's lock; take it first" },
    [EXO_CHECKPOINT_CONFLICT] = { 409, MSE_PROBLEM_CHECKPOINT_CONFLICT,
                                  "the base checkpoint is not the stored one; nothing was "
                                  "applied" },
    [EXO_MISSING_CONTENT] = { 422, NULL, "attachment content was not uploaded before the batch" },
    [EXO_NO_TASK] = { 404, NULL, "no exchange task with this id" },
    [EXO_TASK_ACTIVE] = { 409, NULL,
                          "an execution of this task is still active; stop it or wait for it" },
    [EXO_TASK_DISABLED] = { 409, NULL, "the task is disabled; enable it before running it" },
    [EXO_NOT_ACTIVE] = { 409, NULL, "the task has no active execution to stop" },
    /* Nothing was handed out: the worker is told what it would hear with nothing queued. */
    [EXO_UNCLAIMABLE] = { 204, NULL, "the execution could not be handed out and was ended" },
};

static const struct api_outcome unknown = { 500, NULL, "an outcome without an answer" };

const struct api_outcome *api_outcome_of(enum exec_outcome o)
{
    return (unsigned)o < EXEC_OUTCOME_COUNT && table[o].status ? &table[o] : &unknown;
}

void api_outcome_send(struct request *req, enum exec_outcome o, const char *detail)
{
    const struct api_outcome *a = api_outcome_of(o);
    if (a->type)
        problem_send_typed(req, a->status, a->type, "%s", detail ? detail : a->detail);
    else
        problem_send(req, a->status, "%s", detail ? detail : a->detail);
}

void api_outcome_fail(struct tx *tx, enum exec_outcome o, const char *detail)
{
    const struct api_outcome *a = api_outcome_of(o);
    tx_fail(tx, a->status, "%s", detail ? detail : a->detail);
}
