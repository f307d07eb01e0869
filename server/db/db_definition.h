/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of definitions: the settings of a feature, shared by the tasks of its type. */
#ifndef MSE_DB_DEFINITION_H
#define MSE_DB_DEFINITION_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "db_util.h"
#include "mse/rc.h"

struct db_definition {
    struct db_doc doc;
    char type[32];
    char *settings; /* the stored settings object as JSON text (malloc'd) */
};

void db_definition_cleanup(struct db_definition *d);

enum mse_rc db_definition_insert(struct db *db, const char *type, const char *description,
                                 const char *settings, const char *actor, char id[37],
                                 struct db_error *err) MSE_WUR;
/* lock = FOR UPDATE; share = FOR SHARE (a task is about to refer to it). */
enum mse_rc db_definition_get(struct db *db, const char *id, bool lock, bool share,
                              struct db_definition *out, struct db_error *err) MSE_WUR;
/* A page in creation order; type NULL = every type. */
enum mse_rc db_definition_list(struct db *db, const char *type, bool has_after, int64_t after,
                               unsigned limit, char **items, int64_t *last_seq, bool *more,
                               struct db_error *err) MSE_WUR;
/* Sets description (NULL = keep) and settings (normalised JSON text). */
enum mse_rc db_definition_update(struct db *db, const char *id, const char *description,
                                 const char *settings, const char *actor,
                                 struct db_error *err) MSE_WUR;
enum mse_rc db_definition_delete(struct db *db, const char *id, struct db_error *err) MSE_WUR;
/* Live tasks that use the definition now or will once their pending changes apply. */
enum mse_rc db_definition_task_count(struct db *db, const char *id, int64_t *n,
                                     struct db_error *err) MSE_WUR;

#endif
