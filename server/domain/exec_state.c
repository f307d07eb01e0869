/* SPDX-License-Identifier: Apache-2.0 */
/* The execution lifecycle's states, transition tables and derived task fields. */
#include "exec_state.h"

#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Every transition db_exec.c (and schema 014, db_task.c, db_retry.c) performs, and only
 * those. A row whose from equals its to changes no state but is legal only there: the
 * fenced writes of a worker count while its execution is leased.
 */
static const struct exec_transition exec_table[] = {
    { EXEC_NONE, EV_QUEUE, EXEC_QUEUED, LIVE_QUEUED },
    { EXEC_NONE, EV_SKIP, EXEC_SKIPPED, LIVE_IDLE },
    { EXEC_QUEUED, EV_CLAIM, EXEC_RUNNING, LIVE_RUNNING },
    { EXEC_QUEUED, EV_CANCEL, EXEC_CANCELLED, LIVE_IDLE },
    { EXEC_RUNNING, EV_HEARTBEAT, EXEC_RUNNING, LIVE_RUNNING },
    { EXEC_WAITING, EV_HEARTBEAT, EXEC_WAITING, LIVE_WAITING },
    { EXEC_RUNNING, EV_MEMBERSHIP, EXEC_RUNNING, LIVE_RUNNING },
    { EXEC_WAITING, EV_MEMBERSHIP, EXEC_WAITING, LIVE_WAITING },
    { EXEC_RUNNING, EV_PROGRESS, EXEC_RUNNING, LIVE_RUNNING },
    { EXEC_WAITING, EV_PROGRESS, EXEC_WAITING, LIVE_WAITING },
    { EXEC_RUNNING, EV_SUBMIT, EXEC_RUNNING, LIVE_RUNNING },
    { EXEC_WAITING, EV_SUBMIT, EXEC_WAITING, LIVE_WAITING },
    { EXEC_RUNNING, EV_FINISH_MAILBOX, EXEC_RUNNING, LIVE_RUNNING },
    { EXEC_WAITING, EV_FINISH_MAILBOX, EXEC_WAITING, LIVE_WAITING },
    { EXEC_RUNNING, EV_LOCK_GRANTED, EXEC_RUNNING, LIVE_RUNNING },
    { EXEC_WAITING, EV_LOCK_GRANTED, EXEC_RUNNING, LIVE_RUNNING },
    { EXEC_RUNNING, EV_LOCK_DENIED, EXEC_WAITING, LIVE_WAITING },
    { EXEC_WAITING, EV_LOCK_DENIED, EXEC_WAITING, LIVE_WAITING },
    { EXEC_RUNNING, EV_STOP, EXEC_RUNNING, LIVE_RUNNING },
    { EXEC_WAITING, EV_STOP, EXEC_WAITING, LIVE_WAITING },
    { EXEC_RUNNING, EV_COMPLETE, EXEC_COMPLETED, LIVE_IDLE },
    { EXEC_WAITING, EV_COMPLETE, EXEC_COMPLETED, LIVE_IDLE },
    { EXEC_RUNNING, EV_COMPLETE_STOPPED, EXEC_CANCELLED, LIVE_IDLE },
    { EXEC_WAITING, EV_COMPLETE_STOPPED, EXEC_CANCELLED, LIVE_IDLE },
    { EXEC_RUNNING, EV_RELEASE, EXEC_QUEUED, LIVE_QUEUED },
    { EXEC_WAITING, EV_RELEASE, EXEC_QUEUED, LIVE_QUEUED },
    { EXEC_RUNNING, EV_LEASE_EXPIRED, EXEC_QUEUED, LIVE_QUEUED },
    { EXEC_WAITING, EV_LEASE_EXPIRED, EXEC_QUEUED, LIVE_QUEUED },
};

/* One mailbox within one execution; a finished mailbox stays as it ended (repeats are no-ops). */
static const struct mbox_transition mbox_table[] = {
    { MBOX_PENDING, MEV_LOCK_GRANTED, MBOX_SYNCING },
    { MBOX_SYNCING, MEV_LOCK_GRANTED, MBOX_SYNCING },
    { MBOX_WAITING_FOR_LOCK, MEV_LOCK_GRANTED, MBOX_SYNCING },
    { MBOX_PENDING, MEV_LOCK_DENIED, MBOX_WAITING_FOR_LOCK },
    { MBOX_SYNCING, MEV_LOCK_DENIED, MBOX_WAITING_FOR_LOCK },
    { MBOX_WAITING_FOR_LOCK, MEV_LOCK_DENIED, MBOX_WAITING_FOR_LOCK },
    { MBOX_PENDING, MEV_FINISH_HEALTHY, MBOX_HEALTHY },
    { MBOX_SYNCING, MEV_FINISH_HEALTHY, MBOX_HEALTHY },
    { MBOX_WAITING_FOR_LOCK, MEV_FINISH_HEALTHY, MBOX_HEALTHY },
    { MBOX_PENDING, MEV_FINISH_WARNING, MBOX_WARNING },
    { MBOX_SYNCING, MEV_FINISH_WARNING, MBOX_WARNING },
    { MBOX_WAITING_FOR_LOCK, MEV_FINISH_WARNING, MBOX_WARNING },
    { MBOX_PENDING, MEV_FINISH_ERROR, MBOX_ERROR },
    { MBOX_SYNCING, MEV_FINISH_ERROR, MBOX_ERROR },
    { MBOX_WAITING_FOR_LOCK, MEV_FINISH_ERROR, MBOX_ERROR },
    { MBOX_PENDING, MEV_FINISH_SKIPPED, MBOX_SKIPPED },
    { MBOX_SYNCING, MEV_FINISH_SKIPPED, MBOX_SKIPPED },
    { MBOX_WAITING_FOR_LOCK, MEV_FINISH_SKIPPED, MBOX_SKIPPED },
    { MBOX_SYNCING, MEV_REQUEUE, MBOX_PENDING },
    { MBOX_WAITING_FOR_LOCK, MEV_REQUEUE, MBOX_PENDING },
    { MBOX_PENDING, MEV_EXEC_END, MBOX_SKIPPED },
    { MBOX_SYNCING, MEV_EXEC_END, MBOX_SKIPPED },
    { MBOX_WAITING_FOR_LOCK, MEV_EXEC_END, MBOX_SKIPPED },
};

static const char *const exec_names[EXEC_STATE_COUNT] = {
    [EXEC_NONE] = NULL,
    [EXEC_QUEUED] = EXS_QUEUED,
    [EXEC_RUNNING] = EXS_RUNNING,
    [EXEC_WAITING] = EXS_WAITING,
    [EXEC_COMPLETED] = EXS_COMPLETED,
    [EXEC_CANCELLED] = EXS_CANCELLED,
    [EXEC_SKIPPED] = EXS_SKIPPED,
};
static const char *const mbox_names[MBOX_STATE_COUNT] = {
    [MBOX_PENDING] = MBS_PENDING,
    [MBOX_SYNCING] = MBS_SYNCING,
    [MBOX_WAITING_FOR_LOCK] = MBS_WAITING_FOR_LOCK,
    [MBOX_HEALTHY] = MBS_HEALTHY,
    [MBOX_WARNING] = MBS_WARNING,
    [MBOX_ERROR] = MBS_ERROR,
    [MBOX_SKIPPED] = MBS_SKIPPED,
};
static const char *const live_names[TASK_LIVE_COUNT] = {
    [LIVE_IDLE] = NULL,
    [LIVE_QUEUED] = EXS_QUEUED,
    [LIVE_RUNNING] = EXS_RUNNING,
    [LIVE_WAITING] = EXS_WAITING,
};
static const char *const status_names[TASK_STATUS_COUNT] = {
    [TASK_DISABLED] = "disabled", [TASK_SCHEDULED] = "scheduled", [TASK_QUEUED] = EXS_QUEUED,
    [TASK_RUNNING] = EXS_RUNNING, [TASK_WAITING] = EXS_WAITING,
};
static const char *const result_names[RESULT_COUNT] = {
    [RESULT_OK] = "ok",         [RESULT_WARNING] = "warning",       [RESULT_ERRORS] = "errors",
    [RESULT_FAILED] = "failed", [RESULT_CANCELLED] = RES_CANCELLED, [RESULT_SKIPPED] = RES_SKIPPED,
};
static const char *const event_names[EXEC_EVENT_COUNT] = {
    [EV_QUEUE] = "queue",
    [EV_SKIP] = "skip",
    [EV_CLAIM] = "claim",
    [EV_HEARTBEAT] = "heartbeat",
    [EV_MEMBERSHIP] = "membership",
    [EV_PROGRESS] = "progress",
    [EV_SUBMIT] = "submit",
    [EV_FINISH_MAILBOX] = "finish_mailbox",
    [EV_LOCK_GRANTED] = "lock_granted",
    [EV_LOCK_DENIED] = "lock_denied",
    [EV_STOP] = "stop",
    [EV_CANCEL] = "cancel",
    [EV_COMPLETE] = "complete",
    [EV_COMPLETE_STOPPED] = "complete_stopped",
    [EV_RELEASE] = "release",
    [EV_LEASE_EXPIRED] = "lease_expired",
};

const struct exec_transition *exec_state_transitions(size_t *n)
{
    *n = N(exec_table);
    return exec_table;
}

const struct mbox_transition *exec_state_mbox_transitions(size_t *n)
{
    *n = N(mbox_table);
    return mbox_table;
}

enum mse_rc exec_state_next(enum exec_state from, enum exec_event event,
                            struct exec_transition *out)
{
    for (size_t i = 0; i < N(exec_table); i++)
        if (exec_table[i].from == from && exec_table[i].event == event) {
            *out = exec_table[i];
            return MSE_OK;
        }
    return MSE_ERR_CONFLICT;
}

enum mse_rc exec_state_mbox_next(enum mbox_state from, enum mbox_event event, enum mbox_state *to)
{
    for (size_t i = 0; i < N(mbox_table); i++)
        if (mbox_table[i].from == from && mbox_table[i].event == event) {
            *to = mbox_table[i].to;
            return MSE_OK;
        }
    return MSE_ERR_CONFLICT;
}

bool exec_state_active(enum exec_state s)
{
    return s == EXEC_QUEUED || exec_state_leased(s);
}

bool exec_state_leased(enum exec_state s)
{
    return s == EXEC_RUNNING || s == EXEC_WAITING;
}

bool exec_state_final(enum exec_state s)
{
    return s == EXEC_COMPLETED || s == EXEC_CANCELLED || s == EXEC_SKIPPED;
}

bool exec_state_mbox_final(enum mbox_state s)
{
    return s == MBOX_HEALTHY || s == MBOX_WARNING || s == MBOX_ERROR || s == MBOX_SKIPPED;
}

#define NAME_OF(table, i) ((unsigned)(i) < N(table) ? (table)[i] : NULL)

const char *exec_state_name(enum exec_state s)
{
    return NAME_OF(exec_names, s);
}

const char *exec_state_mbox_name(enum mbox_state s)
{
    return NAME_OF(mbox_names, s);
}

const char *exec_state_live_name(enum task_live l)
{
    return NAME_OF(live_names, l);
}

const char *exec_state_task_status_name(enum task_status s)
{
    return NAME_OF(status_names, s);
}

const char *exec_state_result_name(enum exec_result r)
{
    return NAME_OF(result_names, r);
}

const char *exec_state_event_name(enum exec_event e)
{
    return NAME_OF(event_names, e);
}

/* The index of name in table (NULL entries never match), or -1. */
static int lookup(const char *const *table, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (table[i] && strcmp(table[i], name) == 0)
            return (int)i;
    return -1;
}

enum mse_rc exec_state_parse(const char *name, enum exec_state *out)
{
    int i = lookup(exec_names, N(exec_names), name);
    if (i < 0)
        return MSE_ERR_INVALID;
    *out = (enum exec_state)i;
    return MSE_OK;
}

enum mse_rc exec_state_mbox_parse(const char *name, enum mbox_state *out)
{
    int i = lookup(mbox_names, N(mbox_names), name);
    if (i < 0)
        return MSE_ERR_INVALID;
    *out = (enum mbox_state)i;
    return MSE_OK;
}

enum mse_rc exec_state_live_parse(const char *name, enum task_live *out)
{
    if (!name) {
        *out = LIVE_IDLE;
        return MSE_OK;
    }
    int i = lookup(live_names, N(live_names), name);
    if (i < 0)
        return MSE_ERR_INVALID;
    *out = (enum task_live)i;
    return MSE_OK;
}

/* Mirrors db_task.c's TASK_STATUS (the SQL the task documents are rendered with). */
enum task_status exec_state_task_status(enum task_live live, bool enabled)
{
    switch (live) {
    case LIVE_QUEUED:
        return TASK_QUEUED;
    case LIVE_RUNNING:
        return TASK_RUNNING;
    case LIVE_WAITING:
        return TASK_WAITING;
    default:
        return enabled ? TASK_SCHEDULED : TASK_DISABLED;
    }
}

/* Mirrors mse_execution_complete (schema 014), which applies it in the database. */
enum exec_result exec_state_health(const struct exec_tally *t)
{
    if (t->failed || (t->total > 0 && t->error == t->total))
        return RESULT_FAILED;
    if (t->error > 0)
        return RESULT_ERRORS;
    if (t->warning > 0)
        return RESULT_WARNING;
    return RESULT_OK;
}

enum exec_state exec_state_end(const struct exec_tally *t, enum exec_result *result)
{
    *result = t->stopped ? RESULT_CANCELLED : exec_state_health(t);
    return t->stopped ? EXEC_CANCELLED : EXEC_COMPLETED;
}

enum mse_rc exec_state_end_detail(const struct exec_tally *t, char *out, size_t cap)
{
    const char *how = t->stopped ? "Stopped" : t->failed ? "Failed" : "Completed";
    int n = snprintf(
            out, cap,
            "%s: %lld of %lld mailboxes processed (%lld healthy, %lld warning, %lld error)", how,
            (long long)(t->healthy + t->warning + t->error), (long long)t->total,
            (long long)t->healthy, (long long)t->warning, (long long)t->error);
    return n < 0 || (size_t)n >= cap ? MSE_ERR_TOO_LARGE : MSE_OK;
}

enum mse_rc exec_state_mailbox_command(int64_t position, int64_t total, const char *address,
                                       char *out, size_t cap)
{
    int n = snprintf(out, cap, "Processing mailbox %lld of %lld: %s", (long long)position,
                     (long long)total, address);
    return n < 0 || (size_t)n >= cap ? MSE_ERR_TOO_LARGE : MSE_OK;
}

const char *exec_state_outcome_name(enum exec_outcome o)
{
    static const char *const names[EXEC_OUTCOME_COUNT] = {
        [EXO_DONE] = "done",
        [EXO_NOTHING_QUEUED] = "nothing_queued",
        [EXO_NO_EXECUTION] = "no_execution",
        [EXO_LEASE_LOST] = "lease_lost",
        [EXO_NOT_MEMBER] = "not_member",
        [EXO_OUTSIDE_GROUP] = "outside_group",
        [EXO_MAILBOX_LOCKED] = "mailbox_locked",
        [EXO_NOT_LOCKED] = "not_locked",
        [EXO_CHECKPOINT_CONFLICT] = "checkpoint_conflict",
        [EXO_MISSING_CONTENT] = "missing_content",
        [EXO_NO_TASK] = "no_task",
        [EXO_TASK_ACTIVE] = "task_active",
        [EXO_TASK_DISABLED] = "task_disabled",
        [EXO_NOT_ACTIVE] = "not_active",
        [EXO_UNCLAIMABLE] = "unclaimable",
    };
    return NAME_OF(names, o);
}
