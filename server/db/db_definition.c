/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of definitions: the settings of a feature, shared by the tasks of its type. */
#include "db_definition.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define DEFINITION_JSON                                                                            \
    "json_build_object('id', d.id, 'type', d.type, 'description', d.description,"                  \
    " 'settings', d.settings, 'created_at', mse_ts(d.created_at),"                                 \
    " 'updated_at', mse_ts(d.updated_at), 'updated_by', d.updated_by)::text"
#define DEFINITION_COLUMNS DEFINITION_JSON ", d.version, d.type, d.settings::text"

DB_STMT(definition_insert, 4, false,
        "INSERT INTO definitions (type, description, settings, updated_by)"
        " VALUES ($1, $2, $3::jsonb, $4) RETURNING id");
DB_STMT(definition_get, 1, true,
        "SELECT " DEFINITION_COLUMNS " FROM definitions d WHERE d.id = $1");
DB_STMT(definition_get_lock, 1, false,
        "SELECT " DEFINITION_COLUMNS " FROM definitions d WHERE d.id = $1 FOR UPDATE");
DB_STMT(definition_get_share, 1, false,
        "SELECT " DEFINITION_COLUMNS " FROM definitions d WHERE d.id = $1 FOR SHARE");
DB_STMT(definition_list, 3, true,
        "SELECT " DEFINITION_JSON ", d.seq FROM definitions d"
        " WHERE ($1::text IS NULL OR d.type = $1) AND ($2::bigint IS NULL OR d.seq > $2)"
        " ORDER BY d.seq LIMIT $3");
DB_STMT(definition_update, 4, false,
        "UPDATE definitions SET description = coalesce($2, description), settings = $3::jsonb, "
        "updated_by = $4"
        " WHERE id = $1");
DB_STMT(definition_delete, 1, false, "DELETE FROM definitions WHERE id = $1");
DB_STMT(definition_task_count, 1, false,
        "SELECT count(*) FROM exchange_tasks WHERE deleted_at IS NULL"
        " AND (definition_id = $1 OR pending_changes->>'definition_id' = $1::text)");

void db_definition_cleanup(struct db_definition *d)
{
    if (!d)
        return;
    db_doc_cleanup(&d->doc);
    free(d->settings);
    d->settings = NULL;
}

enum mse_rc db_definition_insert(struct db *db, const char *type, const char *description,
                                 const char *settings, const char *actor, char id[37],
                                 struct db_error *err)
{
    struct db_res res;
    const char *params[] = { type, description, settings, actor };
    enum mse_rc rc = db_query(db, &definition_insert, params, &res, err);
    if (rc == MSE_OK)
        snprintf(id, 37, "%s", db_res_get(&res, 0, 0));
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_definition_get(struct db *db, const char *id, bool lock, bool share,
                              struct db_definition *out, struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id };
    struct db_stmt *st = lock    ? &definition_get_lock
                         : share ? &definition_get_share
                                 : &definition_get;
    memset(out, 0, sizeof(*out));
    enum mse_rc rc = db_query(db, st, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    rc = MSE_ERR_NOT_FOUND;
    if (db_res_rows(&res) == 1) {
        rc = mse_parse_int(db_res_get(&res, 0, 1), 0, INT64_MAX, &out->doc.version);
        snprintf(out->type, sizeof(out->type), "%s", db_res_get(&res, 0, 2));
        out->doc.json = strdup(db_res_get(&res, 0, 0));
        out->settings = strdup(db_res_get(&res, 0, 3));
        if (rc == MSE_OK && (!out->doc.json || !out->settings))
            rc = MSE_ERR_NOMEM;
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_definition_list(struct db *db, const char *type, bool has_after, int64_t after,
                               unsigned limit, char **items, int64_t *last_seq, bool *more,
                               struct db_error *err)
{
    return db_filtered_page(db, &definition_list, type, has_after, after, limit, items, last_seq,
                            more, err);
}

enum mse_rc db_definition_update(struct db *db, const char *id, const char *description,
                                 const char *settings, const char *actor, struct db_error *err)
{
    const char *params[] = { id, description, settings, actor };
    return db_run(db, &definition_update, params, err);
}

enum mse_rc db_definition_delete(struct db *db, const char *id, struct db_error *err)
{
    const char *params[] = { id };
    return db_run(db, &definition_delete, params, err);
}

enum mse_rc db_definition_task_count(struct db *db, const char *id, int64_t *n,
                                     struct db_error *err)
{
    const char *params[] = { id };
    return db_int_query(db, &definition_task_count, params, n, err);
}
