/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL of Exchange tasks: the representation (live fields included), creation, changes applied
 * or deferred while an execution runs, and deletion (a soft delete: the row stays).
 */
#ifndef MSE_DB_TASK_H
#define MSE_DB_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "db.h"
#include "db_util.h"
#include "mse/rc.h"

/* A task as the change handlers need it: its representation and the state rules look at. */
struct db_task {
    struct db_doc doc;
    char type[32];
    char site_id[37];
    char schedule_id[37];
    bool enabled;
    bool running;          /* an execution is active (active_execution_id is set) */
    bool deletion_pending; /* DELETE came while running */
};

void db_task_cleanup(struct db_task *t);

struct db_task_new {
    const char *name, *site_id, *type, *definition_id, *schedule_id;
    const char *group_kind, *group_value;
    bool enabled;
    int max_parallel_mailboxes; /* 1 = one by one */
    bool has_next;              /* next_run_at known (enabled and the schedule has a future run) */
    time_t next_run_at;
    const char *actor;
};

enum mse_rc db_task_insert(struct db *db, const struct db_task_new *t, char id[37],
                           struct db_error *err) MSE_WUR;
/* A live (not deleted) task; lock = FOR UPDATE. MSE_ERR_NOT_FOUND for deleted ones. */
enum mse_rc db_task_get(struct db *db, const char *id, bool lock, struct db_task *out,
                        struct db_error *err) MSE_WUR;
/* Just the representation, for GET. */
enum mse_rc db_task_doc(struct db *db, const char *id, struct db_doc *doc,
                        struct db_error *err) MSE_WUR;

struct db_task_filter {
    const char *site_id, *type, *status, *schedule_id, *definition_id; /* NULL = any */
    int enabled;                                                       /* -1 = any */
    bool has_after;
    int64_t after;
    unsigned limit;
};

/* A page of live tasks in creation order. */
enum mse_rc db_task_list(struct db *db, const struct db_task_filter *f, char **items,
                         int64_t *last_seq, bool *more, struct db_error *err) MSE_WUR;

/*
 * The Exchange Services dashboard (JSON object text, malloc'd): task counts by status, type
 * and health; the active executions and the failed tasks, each list at most limit long with
 * its total.
 */
enum mse_rc db_task_summary(struct db *db, unsigned limit, char **json,
                            struct db_error *err) MSE_WUR;

/*
 * Applies a change now: name, schedule_id, definition_id (NULL = keep), enabled (-1 = keep);
 * when set_next, next_run_at becomes next (or NULL when !has_next).
 */
/* max_parallel < 1 leaves it unchanged. */
enum mse_rc db_task_update(struct db *db, const char *id, const char *name, const char *schedule_id,
                           const char *definition_id, int enabled, int max_parallel, bool set_next,
                           bool has_next, time_t next, const char *actor,
                           struct db_error *err) MSE_WUR;
/* Merges a change (JSON object text) into pending_changes, to apply when the execution ends. */
enum mse_rc db_task_defer(struct db *db, const char *id, const char *changes, const char *actor,
                          struct db_error *err) MSE_WUR;
/* Marks a running task for deletion when its execution ends. */
enum mse_rc db_task_mark_deletion(struct db *db, const char *id, const char *actor,
                                  struct db_error *err) MSE_WUR;
/* Deletes a task: it leaves the API and never runs again; the row and its data stay. */
enum mse_rc db_task_soft_delete(struct db *db, const char *id, const char *actor,
                                struct db_error *err) MSE_WUR;
/* Forgets the changes deferred while an execution ran (once they are applied). */
enum mse_rc db_task_clear_pending(struct db *db, const char *id, struct db_error *err) MSE_WUR;

#endif
