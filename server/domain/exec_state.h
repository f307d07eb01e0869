/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The execution lifecycle as data: the states of executions, of the mailboxes one execution
 * processes and of tasks, the transitions between them, and what a task shows of its
 * execution. Pure: no database, no HTTP (docs/architecture.md, "State machine").
 *
 * The SQL of db_exec.c writes states as literals built from the EXS_/MBS_/LIVE_ spellings
 * below rather than as bound parameters: PostgreSQL matches a partial index (the claim
 * queue, the one-active-execution index that ON CONFLICT infers) only against constants.
 */
#ifndef MSE_EXEC_STATE_H
#define MSE_EXEC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mse/rc.h"

/* Spellings as schema/010 stores them; SQL(x) makes a literal of one for a statement. */
#define EXS_QUEUED    "queued"
#define EXS_RUNNING   "running"
#define EXS_WAITING   "waiting"
#define EXS_COMPLETED "completed"
#define EXS_CANCELLED "cancelled"
#define EXS_SKIPPED   "skipped"

#define MBS_PENDING          "pending"
#define MBS_SYNCING          "syncing"
#define MBS_WAITING_FOR_LOCK "waiting_for_lock"
#define MBS_HEALTHY          "healthy"
#define MBS_WARNING          "warning"
#define MBS_ERROR            "error"
#define MBS_SKIPPED          "skipped"

#define RES_CANCELLED "cancelled"
#define RES_SKIPPED   "skipped"

/* The same as SQL literals, and the sets the statements test (unit.test_server_exec_state). */
#define SQL_EXS_QUEUED           "'" EXS_QUEUED "'"
#define SQL_EXS_RUNNING          "'" EXS_RUNNING "'"
#define SQL_EXS_WAITING          "'" EXS_WAITING "'"
#define SQL_EXS_COMPLETED        "'" EXS_COMPLETED "'"
#define SQL_EXS_CANCELLED        "'" EXS_CANCELLED "'"
#define SQL_EXS_SKIPPED          "'" EXS_SKIPPED "'"
#define SQL_MBS_PENDING          "'" MBS_PENDING "'"
#define SQL_MBS_SYNCING          "'" MBS_SYNCING "'"
#define SQL_MBS_WAITING_FOR_LOCK "'" MBS_WAITING_FOR_LOCK "'"
#define SQL_MBS_HEALTHY          "'" MBS_HEALTHY "'"
#define SQL_MBS_WARNING          "'" MBS_WARNING "'"
#define SQL_MBS_ERROR            "'" MBS_ERROR "'"
#define SQL_MBS_SKIPPED          "'" MBS_SKIPPED "'"
#define SQL_RES_CANCELLED        "'" RES_CANCELLED "'"
#define SQL_RES_SKIPPED          "'" RES_SKIPPED "'"

#define EXS_SQL_ACTIVE "(" SQL_EXS_QUEUED ", " SQL_EXS_RUNNING ", " SQL_EXS_WAITING ")"
#define EXS_SQL_LEASED "(" SQL_EXS_RUNNING ", " SQL_EXS_WAITING ")"
#define EXS_SQL_LIST_ALL                                                                           \
    SQL_EXS_QUEUED ", " SQL_EXS_RUNNING ", " SQL_EXS_WAITING ", " SQL_EXS_COMPLETED                \
                   ", " SQL_EXS_CANCELLED ", " SQL_EXS_SKIPPED
#define MBS_SQL_UNFINISHED                                                                         \
    "(" SQL_MBS_PENDING ", " SQL_MBS_SYNCING ", " SQL_MBS_WAITING_FOR_LOCK ")"
#define MBS_SQL_ATTEMPTED "(" SQL_MBS_SYNCING ", " SQL_MBS_WAITING_FOR_LOCK ")"
#define MBS_SQL_PASSED    "(" SQL_MBS_HEALTHY ", " SQL_MBS_WARNING ")"
#define MBS_SQL_LIST_ALL                                                                           \
    SQL_MBS_PENDING ", " SQL_MBS_SYNCING ", " SQL_MBS_WAITING_FOR_LOCK ", " SQL_MBS_HEALTHY        \
                    ", " SQL_MBS_WARNING ", " SQL_MBS_ERROR ", " SQL_MBS_SKIPPED

/* executions.state. EXEC_NONE is "no row yet", the source of the creating events. */
enum exec_state {
    EXEC_NONE,
    EXEC_QUEUED,
    EXEC_RUNNING,
    EXEC_WAITING,
    EXEC_COMPLETED,
    EXEC_CANCELLED,
    EXEC_SKIPPED,
    EXEC_STATE_COUNT
};

/* execution_mailboxes.state (and task_mailboxes.state, which mirrors the latest one). */
enum mbox_state {
    MBOX_PENDING,
    MBOX_SYNCING,
    MBOX_WAITING_FOR_LOCK,
    MBOX_HEALTHY,
    MBOX_WARNING,
    MBOX_ERROR,
    MBOX_SKIPPED,
    MBOX_STATE_COUNT
};

/* exchange_tasks.live_state; LIVE_IDLE is NULL (no active execution). */
enum task_live { LIVE_IDLE, LIVE_QUEUED, LIVE_RUNNING, LIVE_WAITING, TASK_LIVE_COUNT };

/* A task's status as the API shows it (api-spec: Task.status). */
enum task_status {
    TASK_DISABLED,
    TASK_SCHEDULED,
    TASK_QUEUED,
    TASK_RUNNING,
    TASK_WAITING,
    TASK_STATUS_COUNT
};

/* exchange_tasks.health and executions.result (result adds cancelled and skipped). */
enum exec_result {
    RESULT_OK,
    RESULT_WARNING,
    RESULT_ERRORS,
    RESULT_FAILED,
    RESULT_CANCELLED,
    RESULT_SKIPPED,
    RESULT_COUNT
};

/* What happens to an execution; each names one statement (or step) of db_exec.c. */
enum exec_event {
    EV_QUEUE,      /* run-now, schedule, retry: a new queued execution */
    EV_SKIP,       /* schedule while one is active: recorded as skipped */
    EV_CLAIM,      /* a worker takes it, lease and new fencing token */
    EV_HEARTBEAT,  /* lease renewed */
    EV_MEMBERSHIP, /* resolved mailboxes stored */
    EV_PROGRESS,   /* command and latest detail */
    EV_SUBMIT,     /* a batch of records applied */
    EV_FINISH_MAILBOX,
    EV_LOCK_GRANTED,
    EV_LOCK_DENIED,
    EV_STOP,             /* running: cancel_requested, ends after the current mailbox */
    EV_CANCEL,           /* queued: stopped before anything ran */
    EV_COMPLETE,         /* the worker's end, no stop asked for */
    EV_COMPLETE_STOPPED, /* the worker's end after a stop */
    EV_RELEASE,          /* worker shutting down: back to the queue */
    EV_LEASE_EXPIRED,    /* the scheduler's sweep: back to the queue */
    EXEC_EVENT_COUNT
};

/* What happens to one mailbox of an execution. */
enum mbox_event {
    MEV_LOCK_GRANTED,
    MEV_LOCK_DENIED,
    MEV_FINISH_HEALTHY,
    MEV_FINISH_WARNING,
    MEV_FINISH_ERROR,
    MEV_FINISH_SKIPPED,
    MEV_REQUEUE,  /* release or lease expiry: an attempt that did not finish */
    MEV_EXEC_END, /* the execution ended before the mailbox did */
    MBOX_EVENT_COUNT
};

struct exec_transition {
    enum exec_state from;
    enum exec_event event;
    enum exec_state to;
    /* What the task shows while this execution is its active one; idle once it ended. */
    enum task_live live;
};

struct mbox_transition {
    enum mbox_state from;
    enum mbox_event event;
    enum mbox_state to;
};

/* The tables themselves, for walking (tests, docs); *n their length. */
const struct exec_transition *exec_state_transitions(size_t *n);
const struct mbox_transition *exec_state_mbox_transitions(size_t *n);

/*
 * The transition event takes from `from`: MSE_OK and *out, or MSE_ERR_CONFLICT when the
 * event is not legal in that state (*out untouched).
 */
enum mse_rc exec_state_next(enum exec_state from, enum exec_event event,
                            struct exec_transition *out) MSE_WUR;
enum mse_rc exec_state_mbox_next(enum mbox_state from, enum mbox_event event,
                                 enum mbox_state *to) MSE_WUR;

/* An execution holds a slot of its task (one active per task, schema 010). */
bool exec_state_active(enum exec_state s);
/* An execution holds a lease and a fencing token: a worker's writes count (FENCE). */
bool exec_state_leased(enum exec_state s);
/* Nothing more happens to it. */
bool exec_state_final(enum exec_state s);
bool exec_state_mbox_final(enum mbox_state s);

/* Spellings <-> enums; *_parse returns MSE_ERR_INVALID for an unknown or NULL spelling. */
const char *exec_state_name(enum exec_state s); /* EXEC_NONE: NULL */
const char *exec_state_mbox_name(enum mbox_state s);
const char *exec_state_live_name(enum task_live l); /* LIVE_IDLE: NULL */
const char *exec_state_task_status_name(enum task_status s);
const char *exec_state_result_name(enum exec_result r);
const char *exec_state_event_name(enum exec_event e);
enum mse_rc exec_state_parse(const char *name, enum exec_state *out) MSE_WUR;
enum mse_rc exec_state_mbox_parse(const char *name, enum mbox_state *out) MSE_WUR;
/* NULL is LIVE_IDLE. */
enum mse_rc exec_state_live_parse(const char *name, enum task_live *out) MSE_WUR;

/*
 * How a lifecycle operation ended when the database did answer; enum mse_rc stays for the
 * failures of the machinery itself (connection, memory, a bug). One handler-side table maps
 * each to an HTTP status and problem type (api_outcome.c).
 */
enum exec_outcome {
    EXO_DONE,
    EXO_NOTHING_QUEUED,      /* claim: no queued execution for the site */
    EXO_NO_EXECUTION,        /* no execution with this id for this site */
    EXO_LEASE_LOST,          /* the claim no longer holds (lease lost, re-claimed, ended) */
    EXO_NOT_MEMBER,          /* the mailbox is not one of the execution's */
    EXO_OUTSIDE_GROUP,       /* membership: an address outside the task's known group */
    EXO_MAILBOX_LOCKED,      /* lock: another live execution holds the mailbox */
    EXO_NOT_LOCKED,          /* submit: this execution does not hold the mailbox's lock */
    EXO_CHECKPOINT_CONFLICT, /* submit: the stored checkpoint is not the batch's base */
    EXO_MISSING_CONTENT,     /* submit: attachment content the batch names was not uploaded */
    EXO_NO_TASK,             /* run, stop: no live task with this id */
    EXO_TASK_ACTIVE,         /* run: an execution of the task is still active */
    EXO_TASK_DISABLED,       /* run: the task is disabled */
    EXO_NOT_ACTIVE,          /* stop: the task has no active execution */
    EXO_UNCLAIMABLE,         /* claim: it cannot be handed out (a sync task's connection
                                secret does not open) and was ended failed; claim again */
    EXEC_OUTCOME_COUNT
};
/* Short stable name, for logs and tests. */
const char *exec_state_outcome_name(enum exec_outcome o);

/* A task's status: its live state while an execution is active, else enabled or not. */
enum task_status exec_state_task_status(enum task_live live, bool enabled);

/* Counts of an execution's mailboxes by how they ended, and whether it failed as a whole. */
struct exec_tally {
    int64_t healthy, warning, error, total;
    bool failed;  /* error_code set: the execution itself failed (the group, say) */
    bool stopped; /* cancel_requested */
};

/*
 * The task's health after the execution: failed when the execution failed or every mailbox
 * did, errors when some did, warning when some warned, ok otherwise (seed 002).
 */
enum exec_result exec_state_health(const struct exec_tally *t);
/* The execution's end: cancelled after a stop, else completed with the health as result. */
enum exec_state exec_state_end(const struct exec_tally *t, enum exec_result *result);
/*
 * The latest detail an ended execution leaves on its task, e.g. "Completed: 3 of 4 mailboxes
 * processed (2 healthy, 1 warning, 0 error)". MSE_ERR_TOO_LARGE when it does not fit.
 */
enum mse_rc exec_state_end_detail(const struct exec_tally *t, char *out, size_t cap) MSE_WUR;
/* The command while a mailbox is processed: "Processing mailbox 2 of 5: a@example.org". */
enum mse_rc exec_state_mailbox_command(int64_t position, int64_t total, const char *address,
                                       char *out, size_t cap) MSE_WUR;

#endif
