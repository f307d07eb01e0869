/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL of the execution lifecycle: creating executions, claims under leases with fencing
 * tokens, heartbeats, membership, mailbox locks, progress, mailbox and execution ends, and the
 * scheduler's sweeps. Documents come back rendered as JSON text by PostgreSQL.
 */
#ifndef MSE_DB_EXEC_H
#define MSE_DB_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "db.h"
#include "exec_state.h"
#include "mse/limits.h"
#include "mse/rc.h"

/*
 * A worker's write counts only while its claim does (alias e for executions, parameters $1
 * execution id, $2 site, $3 token): same execution, same site, the token of the latest claim,
 * an active state, and a lease that has not run out.
 */
#define DB_EXEC_FENCE                                                                              \
    "e.id = $1::uuid AND e.site_id = $2::uuid AND e.fencing_token = $3::bigint"                    \
    " AND e.state IN " EXS_SQL_LEASED " AND e.lease_expires_at > now()"

/* The proof a worker's write carries: which execution, its site, the claim's token. */
struct fence {
    const char *execution_id;
    const char *site_id;
    const char *token; /* decimal */
};

/*
 * The outcomes: every function below that takes an `enum exec_outcome *out` returns MSE_OK
 * when the database answered, and *out says how the operation went (EXO_DONE: as asked).
 * Another result code is a failure of the machinery (connection, memory, a bug).
 *
 * Why a fenced statement touched no row: EXO_NO_EXECUTION when the execution does not exist
 * for this site, EXO_LEASE_LOST when the claim is no longer valid (lease lost, re-claimed,
 * ended). Every fenced function below can end so.
 */
enum mse_rc db_exec_fence_failure(struct db *db, const struct fence *f, enum exec_outcome *out,
                                  struct db_error *err) MSE_WUR;

/* ---- admin side ---- */

/*
 * Queues a manual execution of an enabled, live task; *json is the execution. EXO_NO_TASK,
 * EXO_TASK_ACTIVE (*active_id names the active one) or EXO_TASK_DISABLED and nothing queued.
 */
enum mse_rc db_exec_run_now(struct db *db, const char *task_id, char **json, char active_id[37],
                            enum exec_outcome *out, struct db_error *err) MSE_WUR;
/*
 * Stops the task's active execution: a queued one is cancelled at once, a running one is
 * asked to stop after its current mailbox. EXO_NOT_ACTIVE when none is active.
 */
enum mse_rc db_exec_stop(struct db *db, const char *task_id, char **json, enum exec_outcome *out,
                         struct db_error *err) MSE_WUR;
/* A page of a task's executions (newest first), or of its mailboxes (group order). */
enum mse_rc db_exec_list(struct db *db, const char *task_id, bool has_before, int64_t before,
                         unsigned limit, char **items, int64_t *last_seq, bool *more,
                         struct db_error *err) MSE_WUR;
enum mse_rc db_exec_get(struct db *db, const char *task_id, const char *execution_id, char **json,
                        struct db_error *err) MSE_WUR;
enum mse_rc db_exec_task_mailboxes(struct db *db, const char *task_id, const char *state,
                                   bool has_after, int64_t after, unsigned limit, char **items,
                                   int64_t *last_seq, bool *more, struct db_error *err) MSE_WUR;
/* True when a live task has this id. */
enum mse_rc db_exec_task_exists(struct db *db, const char *task_id, bool *exists,
                                struct db_error *err) MSE_WUR;

/* ---- worker side ---- */

/*
 * Records a heartbeat and renews the leases of the listed executions (ids and tokens as
 * PostgreSQL array literals). *json is the reply: {heartbeat_seconds, lease_seconds,
 * executions: [{id, lease: renewed|lost, cancel_requested}]}.
 */
enum mse_rc db_exec_heartbeat(struct db *db, const char *site_id, const char *worker_id,
                              const char *host, const char *version, const char *backend,
                              const char *ids, const char *tokens, unsigned lease_s,
                              unsigned heartbeat_s, char **json, struct db_error *err) MSE_WUR;
/*
 * The channel schema 040's trigger NOTIFYs, with the site's id as payload, whenever an execution
 * becomes queued (created, or handed back): a parked claim of that site looks again.
 */
#define DB_EXEC_CLAIMABLE_CHANNEL "mse_claimable"

/* Claims the oldest queued execution of the site; EXO_NOTHING_QUEUED (*json NULL) when none. */
enum mse_rc db_exec_claim(struct db *db, const char *site_id, const char *worker_id,
                          unsigned lease_s, char **json, enum exec_outcome *out,
                          struct db_error *err) MSE_WUR;
/*
 * Stores the resolved mailboxes (a PostgreSQL text array literal of lower-case addresses) or,
 * with error_code set, why the group could not be resolved. A second report keeps the first.
 * *json = {"mailboxes": [{address, state}]}. EXO_OUTSIDE_GROUP when an address is not one of
 * the task's known group (*outside names it) and nothing is stored.
 */
enum mse_rc db_exec_membership(struct db *db, const struct fence *f, const char *addresses,
                               const char *error_code, const char *error_text,
                               char outside[MSE_MAX_ADDRESS + 1], char **json,
                               enum exec_outcome *out, struct db_error *err) MSE_WUR;
/*
 * Records why the execution failed as a whole (error_code, error_text), whether or not its
 * membership was reported: the server's own refusal to hand it out. End it with
 * db_exec_complete. The fence failures as db_exec_fence_failure.
 */
enum mse_rc db_exec_fail(struct db *db, const struct fence *f, const char *error_code,
                         const char *error_text, enum exec_outcome *out,
                         struct db_error *err) MSE_WUR;
/*
 * Records, with the membership and in its transaction, the group members the worker skipped
 * (a JSON array of {address, reason}, the first of skipped_total; NULL: none), when the group
 * was resolved (RFC 3339, never later than now; NULL: now) and whether the worker's cache
 * answered ("true", "false" or NULL: not said). A second report keeps the first.
 */
enum mse_rc db_exec_membership_details(struct db *db, const struct fence *f, const char *skipped,
                                       int64_t skipped_total, const char *resolved_at,
                                       const char *from_cache, struct db_error *err) MSE_WUR;
/*
 * Takes the mailbox lock for the execution. EXO_DONE: *json = {"checkpoints": …}.
 * EXO_MAILBOX_LOCKED when another live execution holds it: *json = {task_id, task_name,
 * detail, site_id} of the holder and the execution now shows `waiting` (commit it).
 * EXO_NOT_MEMBER when the mailbox is not in the execution's membership.
 */
enum mse_rc db_exec_lock(struct db *db, const struct fence *f, const char *mailbox, char **json,
                         enum exec_outcome *out, struct db_error *err) MSE_WUR;
/* Sets the task's command and latest detail. *cancel tells whether a stop was asked for. */
enum mse_rc db_exec_progress(struct db *db, const struct fence *f, const char *command,
                             const char *detail, bool *cancel, enum exec_outcome *out,
                             struct db_error *err) MSE_WUR;

/* How one mailbox ended, as the worker reports it. */
struct mailbox_result {
    const char *state; /* healthy, warning, error, skipped */
    const char *reason_code, *reason_text;
    const char *items, *duration_ms; /* decimal */
    bool full_sync;
};

/*
 * Records a mailbox's end, updates the task's per-mailbox figures and frees the lock. A mailbox
 * that already ended in this execution is left as it is (EXO_DONE: a repeated finish).
 * EXO_NOT_MEMBER when the mailbox is not one of the execution's.
 */
enum mse_rc db_exec_finish_mailbox(struct db *db, const struct fence *f, const char *mailbox,
                                   const struct mailbox_result *r, enum exec_outcome *out,
                                   struct db_error *err) MSE_WUR;

/* What the end of an execution left to do on its task (run by the caller, same transaction). */
struct exec_end {
    char task_id[37];
    bool deferred; /* nothing ended: the task has changes waiting (see db_exec_complete) */
    bool pending;  /* ended, and the task's waiting changes must be applied now */
    char *doc;     /* the ended execution as the API shows it; owned, see exec_end_cleanup */
};
void exec_end_cleanup(struct exec_end *e);
/*
 * Ends the execution (completed, or cancelled when a stop was asked for), derives its result
 * and the task's health from the mailboxes, frees its locks and detaches it from the task, in
 * one statement (schema 014); the execution's row is locked first, so no re-claim can slip in
 * between check and end. When the task has changes or a deletion waiting and deferred is
 * false, nothing changes and end->deferred is set: call again with deferred inside a
 * transaction, and apply the changes (end->pending) in it before committing.
 * The fence failures as db_exec_fence_failure. end is cleared first; release it with
 * exec_end_cleanup.
 */
enum mse_rc db_exec_complete(struct db *db, const struct fence *f, bool deferred,
                             struct exec_end *end, enum exec_outcome *out,
                             struct db_error *err) MSE_WUR;
/* Hands the execution back to the queue (worker shutting down); its locks are freed. */
enum mse_rc db_exec_release(struct db *db, const struct fence *f, enum exec_outcome *out,
                            struct db_error *err) MSE_WUR;
/* Locks the fenced execution's row for a submission; *task_id and *type of its task. */
enum mse_rc db_exec_lock_row(struct db *db, const struct fence *f, char task_id[37], char type[40],
                             enum exec_outcome *out, struct db_error *err) MSE_WUR;

/* ---- scheduler ---- */

/*
 * Records that the server serves now; when nothing served for longer than threshold_s, first
 * extends the leases that were live when serving stopped by that gap (schema 025). *count how
 * many leases were extended.
 */
enum mse_rc db_exec_leases_resume(struct db *db, unsigned threshold_s, int64_t *count,
                                  struct db_error *err) MSE_WUR;
/*
 * Gives each queued execution whose site has no worker online (and its task) the detail
 * "Waiting for a worker of site X (offline since T)", or "…: no worker of site X has ever
 * connected"; *count how many executions wait so.
 */
enum mse_rc db_exec_waiting_for_worker(struct db *db, int64_t *count, struct db_error *err) MSE_WUR;
/* Re-queues executions whose lease ran out; *count how many. */
enum mse_rc db_exec_expire_leases(struct db *db, int64_t *count, struct db_error *err) MSE_WUR;

/* One due task, locked until COMMIT. */
struct due_task {
    char id[37];
    char schedule_id[37];
    time_t next_run_at;
};
/* Locks up to max due tasks (skipping those another server holds). */
enum mse_rc db_exec_due_tasks(struct db *db, unsigned max, struct due_task *out, unsigned *n,
                              struct db_error *err) MSE_WUR;
/*
 * Queues a scheduled execution of the task, or records a skipped one when an execution is
 * still active; sets next_run_at (has_next false = none). *queued says which happened.
 */
enum mse_rc db_exec_schedule(struct db *db, const char *task_id, bool has_next, time_t next,
                             bool *queued, struct db_error *err) MSE_WUR;
/* Drops idempotency records and tokens past their time. */
enum mse_rc db_exec_housekeeping(struct db *db, struct db_error *err) MSE_WUR;

/* Counts by state for /metrics, as Prometheus lines. *text is malloc'd. */
enum mse_rc db_exec_metrics(struct db *db, char **text, struct db_error *err) MSE_WUR;

#endif
