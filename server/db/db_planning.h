/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of throughput planning (schema 042): measured fits, a task's group, the task gauges. */
#ifndef MSE_DB_PLANNING_H
#define MSE_DB_PLANNING_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "mse/rc.h"
#include "planning.h"

/* The least-squares fit of first (first_pass) or incremental passes of task type `type`. */
enum mse_rc db_planning_fit(struct db *db, const char *type, bool first_pass,
                            struct planning_fit *out, struct db_error *err) MSE_WUR;

/* A live task's group as planning sees it: its type, its members at the latest resolution and
 * their average size (has_items false when none has a first full pass yet). MSE_ERR_NOT_FOUND
 * when no live task has this id. */
struct db_planning_group {
    char type[32];
    int64_t mailboxes;
    bool has_items;
    double average_items;
    int64_t max_parallel; /* the task's max_parallel_mailboxes */
};
enum mse_rc db_planning_group(struct db *db, const char *task_id, struct db_planning_group *out,
                              struct db_error *err) MSE_WUR;

/* The per-task planning gauges in the Prometheus text format, malloc'd into *text. */
enum mse_rc db_planning_metrics(struct db *db, char **text, struct db_error *err) MSE_WUR;

#endif
