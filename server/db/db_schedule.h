/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of schedules, and of the next_run_at of the tasks that use one. */
#ifndef MSE_DB_SCHEDULE_H
#define MSE_DB_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "db.h"
#include "db_util.h"
#include "mse/rc.h"
#include "schedule.h"

/* A schedule as stored: its representation (without next_runs) and its rules. */
struct db_schedule {
    struct db_doc doc;
    struct schedule rules;
    int64_t seq;
};

void db_schedule_cleanup(struct db_schedule *s);

/* Inserts a schedule; id receives its row id. MSE_ERR_CONFLICT when the name is taken. */
enum mse_rc db_schedule_insert(struct db *db, const char *name, const struct schedule *rules,
                               const char *actor, char id[37], struct db_error *err) MSE_WUR;
/* One schedule; lock = FOR UPDATE (in a transaction), share = FOR SHARE (a task refers to it). */
enum mse_rc db_schedule_get(struct db *db, const char *id, bool lock, bool share,
                            struct db_schedule *out, struct db_error *err) MSE_WUR;
/*
 * A page of schedules in creation order: *rows (malloc'd array of *n, free each with
 * db_schedule_cleanup, then the array) holds at most limit; *more says whether others follow.
 */
enum mse_rc db_schedule_list(struct db *db, bool has_after, int64_t after, unsigned limit,
                             struct db_schedule **rows, unsigned *n, bool *more,
                             struct db_error *err) MSE_WUR;
/* Replaces name (NULL = keep) and rules. MSE_ERR_CONFLICT when the name is taken. */
enum mse_rc db_schedule_update(struct db *db, const char *id, const char *name,
                               const struct schedule *rules, const char *actor,
                               struct db_error *err) MSE_WUR;
enum mse_rc db_schedule_delete(struct db *db, const char *id, struct db_error *err) MSE_WUR;
/* Live tasks that use the schedule now or will once their pending changes apply. */
enum mse_rc db_schedule_task_count(struct db *db, const char *id, int64_t *n,
                                   struct db_error *err) MSE_WUR;
/* Sets next_run_at of the schedule's enabled live tasks (has_next false = NULL). */
enum mse_rc db_schedule_tasks_next_run(struct db *db, const char *id, bool has_next, time_t next,
                                       struct db_error *err) MSE_WUR;

#endif
