/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of continuity events and of a mailbox user's continuity status (schema 048). */
#include "db_continuity.h"

#include <stdio.h>

DB_STMT(cont_insert, 8, false,
        "INSERT INTO continuity_events (name, scope_kind, scope_value, start_at, end_at,"
        " expand_distribution_lists, cloned_from, created_by, updated_by)"
        " VALUES ($1, $2, $3, coalesce($4::timestamptz, date_trunc('second', now())),"
        " $5::timestamptz, $6::boolean, $7::uuid, $8, $8) RETURNING id");
DB_STMT(cont_get, 1, true,
        "SELECT mse_continuity_event_doc(e), e.version FROM continuity_events e WHERE e.id = $1");
DB_STMT(cont_get_lock, 1, false,
        "SELECT mse_continuity_event_doc(e), e.version FROM continuity_events e WHERE e.id = $1"
        " FOR UPDATE");
DB_STMT(cont_list, 3, true,
        "SELECT mse_continuity_event_doc(e), e.seq FROM continuity_events e"
        " WHERE ($1::text IS NULL OR mse_continuity_state(e) = $1)"
        " AND ($2::bigint IS NULL OR e.seq > $2) ORDER BY e.seq LIMIT $3");
DB_STMT(cont_update, 7, false,
        "UPDATE continuity_events SET name = coalesce($2, name),"
        " scope_kind = coalesce($3, scope_kind),"
        " scope_value = CASE WHEN $3::text IS NULL THEN scope_value ELSE $4 END,"
        " start_at = coalesce($5::timestamptz, start_at),"
        " expand_distribution_lists = coalesce($6::boolean, expand_distribution_lists),"
        " updated_by = $7 WHERE id = $1");
DB_STMT(cont_extend, 3, false,
        "UPDATE continuity_events SET end_at = $2::timestamptz, updated_by = $3 WHERE id = $1");
DB_STMT(cont_end, 2, false,
        "UPDATE continuity_events SET ended_at = date_trunc('second', now()), updated_by = $2"
        " WHERE id = $1 AND ended_at IS NULL");
DB_STMT(cont_status, 1, true,
        "SELECT mse_continuity_status(c.mailbox, c.delegates) FROM api_clients c"
        " WHERE c.id = $1 AND c.role = 'mailbox_user'");

static const char *bool_param(int b)
{
    return b < 0 ? NULL : b ? "true" : "false";
}

enum mse_rc db_cont_insert(struct db *db, const struct db_cont_fields *f, const char *actor,
                           char id[37], struct db_error *err)
{
    struct db_res res;
    const char *params[] = { f->name, f->scope_kind,         f->scope_value, f->start,
                             f->end,  bool_param(f->expand), f->cloned_from, actor };
    enum mse_rc rc = db_query(db, &cont_insert, params, &res, err);
    if (rc == MSE_OK)
        snprintf(id, 37, "%s", db_res_get(&res, 0, 0));
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_cont_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                        struct db_error *err)
{
    const char *params[] = { id };
    return db_doc_query(db, lock ? &cont_get_lock : &cont_get, params, doc, err);
}

enum mse_rc db_cont_list(struct db *db, const char *state, bool has_after, int64_t after,
                         unsigned limit, char **items, int64_t *last_seq, bool *more,
                         struct db_error *err)
{
    return db_filtered_page(db, &cont_list, state, has_after, after, limit, items, last_seq, more,
                            err);
}

enum mse_rc db_cont_update(struct db *db, const char *id, const struct db_cont_fields *f,
                           const char *actor, struct db_error *err)
{
    const char *params[] = {
        id, f->name, f->scope_kind, f->scope_value, f->start, bool_param(f->expand), actor
    };
    return db_run(db, &cont_update, params, err);
}

enum mse_rc db_cont_extend(struct db *db, const char *id, const char *end, const char *actor,
                           struct db_error *err)
{
    const char *params[] = { id, end, actor };
    return db_run(db, &cont_extend, params, err);
}

enum mse_rc db_cont_end(struct db *db, const char *id, const char *actor, struct db_error *err)
{
    const char *params[] = { id, actor };
    return db_run(db, &cont_end, params, err);
}

enum mse_rc db_cont_status(struct db *db, const char *client_uuid, char **json,
                           struct db_error *err)
{
    const char *params[] = { client_uuid };
    return db_json_query(db, &cont_status, params, json, err);
}
