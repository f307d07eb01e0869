/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of restores (schema 049): records, their items, cancellation, the connection to use. */
#include "db_restore.h"

#include <stdio.h>
#include <string.h>

/*
 * as_of to the microsecond, as exports show it. A restore no worker has taken says why where
 * the administrator looks: this engine version does not write restores into Exchange yet.
 */
#define RESTORE_JSON                                                                               \
    "json_build_object('id', r.id, 'state', r.state, 'selection', r.selection, 'as_of',"           \
    " to_char(r.as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"                   \
    " 'target_mailbox', r.target_mailbox, 'destination', r.destination,"                           \
    " 'folder_name', r.folder_name, 'on_conflict', r.on_conflict,"                                 \
    " 'server_connection_id', r.connection_id, 'site_id', c.site_id, 'items', r.items,"            \
    " 'restored', r.restored, 'skipped', r.skipped, 'failed', r.failed,"                           \
    " 'pending', r.items - r.restored - r.skipped - r.failed,"                                     \
    " 'items_url', '/api/v1/restores/' || r.id || '/items',"                                       \
    " 'note', CASE WHEN r.state = 'queued' THEN 'no worker of this engine version executes"        \
    " restores yet: the restore and the messages it names are recorded, nothing is written"        \
    " to Exchange' END,"                                                                           \
    " 'error', CASE WHEN r.error_code IS NOT NULL"                                                 \
    " THEN json_build_object('code', r.error_code, 'text', r.error_text) END,"                     \
    " 'created_by', r.created_by, 'created_at', mse_ts(r.created_at),"                             \
    " 'started_at', mse_ts(r.started_at), 'finished_at', mse_ts(r.finished_at),"                   \
    " 'updated_at', mse_ts(r.updated_at))::text"
#define RESTORE_FROM    " FROM restores r LEFT JOIN server_connections c ON c.id = r.connection_id"
#define RESTORE_VERSION "(extract(epoch FROM r.updated_at) * 1000000)::bigint"

DB_STMT(restore_insert, 10, false,
        "INSERT INTO restores (id, mailbox, selection, as_of, target_mailbox, destination,"
        " folder_name, on_conflict, connection_id, created_by) VALUES ($1, $2, $3::jsonb,"
        " coalesce($4::timestamptz, now()), $5, $6, CASE WHEN $6 = 'folder' THEN coalesce($7,"
        " 'Recovered Items ' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')) END, $8,"
        " $9::uuid, $10)");
DB_STMT(restore_fill, 1, false, "SELECT mse_restore_fill($1::uuid)");
DB_STMT(restore_get, 1, true,
        "SELECT " RESTORE_JSON ", " RESTORE_VERSION RESTORE_FROM " WHERE r.id = $1");
DB_STMT(restore_get_lock, 1, false,
        "SELECT " RESTORE_JSON ", " RESTORE_VERSION RESTORE_FROM
        " WHERE r.id = $1 FOR UPDATE OF r");
DB_STMT(restore_list, 3, true,
        "SELECT " RESTORE_JSON ", r.seq" RESTORE_FROM
        " WHERE ($1::text IS NULL OR r.state = $1) AND ($2::bigint IS NULL OR r.seq > $2)"
        " ORDER BY r.seq LIMIT $3");
DB_STMT(restore_items, 4, true,
        "SELECT json_build_object('position', i.pos, 'item_id', i.item_id, 'folder_id',"
        " i.folder_id, 'folder_path', i.folder_path, 'target_path', i.target_path,"
        " 'content_sha256', i.content_sha256, 'content_size', i.content_size, 'deleted',"
        " i.deleted, 'state', i.state, 'code', i.code, 'detail', i.detail, 'target_item_id',"
        " i.target_item_id, 'updated_at', mse_ts(i.updated_at))::text, i.pos"
        " FROM restore_items i WHERE i.restore_id = $1 AND ($2::text IS NULL OR i.state = $2)"
        " AND ($3::bigint IS NULL OR i.pos > $3) ORDER BY i.pos LIMIT $4");
DB_STMT(restore_cancel, 1, false,
        "UPDATE restores SET state = 'cancelled', finished_at = now(), updated_at = now()"
        " WHERE id = $1 AND state IN ('queued', 'running')");
/* A sync task's mailboxes are its twin exchange task's (schema 038); two rows are enough to
 * tell one connection from several. */
DB_STMT(restore_connection_of, 1, true,
        "SELECT DISTINCT s.connection_id::text FROM task_mailboxes m"
        " JOIN sync_tasks s ON s.id = m.task_id WHERE m.address = $1 AND m.in_group LIMIT 2");
DB_STMT(restore_connection_known, 1, true,
        "SELECT count(*) FROM server_connections WHERE id = $1::uuid");

DB_STMT(restore_content_state, 3, true,
        "SELECT r.state FROM restores r JOIN server_connections c ON c.id = r.connection_id"
        " WHERE r.id = $1::uuid AND c.site_id = $2::uuid AND EXISTS (SELECT 1 FROM"
        " restore_items i WHERE i.restore_id = r.id AND i.content_sha256 = $3)");

enum mse_rc db_restore_insert(struct db *db, const char *id, const struct db_restore_in *in,
                              const char *actor, int64_t *items, struct db_error *err)
{
    const char *params[] = { id,
                             in->mailbox,
                             in->selection,
                             in->as_of,
                             in->target_mailbox,
                             in->destination,
                             in->folder_name,
                             in->on_conflict,
                             in->connection_id,
                             actor };
    const char *fill[] = { id };
    enum mse_rc rc = db_run(db, &restore_insert, params, err);
    if (rc == MSE_OK)
        rc = db_int_query(db, &restore_fill, fill, items, err);
    return rc;
}

enum mse_rc db_restore_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                           struct db_error *err)
{
    const char *params[] = { id };
    return db_doc_query(db, lock ? &restore_get_lock : &restore_get, params, doc, err);
}

enum mse_rc db_restore_list(struct db *db, const char *state, bool has_after, int64_t after,
                            unsigned limit, char **items, int64_t *last_seq, bool *more,
                            struct db_error *err)
{
    return db_filtered_page(db, &restore_list, state, has_after, after, limit, items, last_seq,
                            more, err);
}

enum mse_rc db_restore_items(struct db *db, const char *id, const char *state, bool has_after,
                             int64_t after, unsigned limit, char **items, int64_t *last_seq,
                             bool *more, struct db_error *err)
{
    char after_s[24], limit_s[16];
    snprintf(after_s, sizeof(after_s), "%lld", (long long)after);
    snprintf(limit_s, sizeof(limit_s), "%u", limit + 1);
    const char *params[] = { id, state, has_after ? after_s : NULL, limit_s };
    return db_page_query(db, &restore_items, params, limit, items, last_seq, more, err);
}

enum mse_rc db_restore_cancel(struct db *db, const char *id, bool *cancelled, struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id };
    enum mse_rc rc = db_query(db, &restore_cancel, params, &res, err);
    *cancelled = rc == MSE_OK && db_res_affected(&res) > 0;
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_restore_connection_of(struct db *db, const char *mailbox, int *n, char id[37],
                                     struct db_error *err)
{
    struct db_res res;
    const char *params[] = { mailbox };
    id[0] = '\0';
    *n = 0;
    enum mse_rc rc = db_query(db, &restore_connection_of, params, &res, err);
    if (rc == MSE_OK) {
        *n = db_res_rows(&res);
        if (*n == 1)
            snprintf(id, 37, "%s", db_res_get(&res, 0, 0));
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_restore_connection_known(struct db *db, const char *id, bool *known,
                                        struct db_error *err)
{
    int64_t n = 0;
    const char *params[] = { id };
    enum mse_rc rc = db_int_query(db, &restore_connection_known, params, &n, err);
    *known = rc == MSE_OK && n == 1;
    return rc;
}

enum mse_rc db_restore_content_state(struct db *db, const char *id, const char *site_id,
                                     const char *sha256, char state[16], struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id, site_id, sha256 };
    state[0] = '\0';
    enum mse_rc rc = db_query(db, &restore_content_state, params, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) != 1)
        rc = MSE_ERR_NOT_FOUND;
    if (rc == MSE_OK)
        snprintf(state, 16, "%s", db_res_get(&res, 0, 0));
    db_res_clear(&res);
    return rc;
}
