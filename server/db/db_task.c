/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL of Exchange tasks: the representation (live fields included), creation, changes applied
 * or deferred while an execution runs, and deletion (a soft delete: the row stays).
 */
#include "db_task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db_util.h"
#include "exec_state.h"

/*
 * baseline and fit (schema 042) are computed as the task is read: they follow every pass
 * recorded and every change of its schedule without anything to keep in step.
 */
/* Until the execution lifecycle (issue #5) keeps its own, status derives from these columns. */
/* Live while an execution is queued, running or waiting; else what the task is set to do. */
#define TASK_STATUS                                                                                \
    "coalesce(t.live_state, CASE WHEN t.enabled THEN 'scheduled' ELSE 'disabled' END)"
#define TASK_JSON                                                                                  \
    "json_build_object('id', t.id, 'name', t.name, 'site_id', t.site_id, 'type', t.type,"          \
    " 'definition_id', t.definition_id, 'schedule_id', t.schedule_id,"                             \
    " 'group', json_build_object('kind', t.group_kind, 'value', t.group_value),"                   \
    " 'enabled', t.enabled, 'status', " TASK_STATUS ", 'command', t.command,"                      \
    " 'latest_detail', t.latest_detail, 'sequence', t.sequence,"                                   \
    " 'next_run_at', mse_ts(t.next_run_at), 'health', t.health,"                                   \
    " 'last_execution', (SELECT mse_execution_json(e) FROM executions e"                           \
    " WHERE e.id = t.last_execution_id),"                                                          \
    " 'pending_changes', t.pending_changes, 'deletion_pending', t.deletion_pending,"               \
    " 'max_parallel_mailboxes', t.max_parallel_mailboxes,"                                         \
    " 'baseline', b.doc, 'fit', mse_task_fit(b.doc, (SELECT mse_schedule_interval_minutes(s)"      \
    " FROM schedules s WHERE s.id = t.schedule_id), t.max_parallel_mailboxes),"                    \
    " 'created_at', mse_ts(t.created_at), 'created_by', t.created_by,"                             \
    " 'updated_at', mse_ts(t.updated_at), 'updated_by', t.updated_by)::text"
/* The baseline is computed once per row, for itself and for the fit. */
#define TASK_FROM                                                                                  \
    " FROM exchange_tasks t CROSS JOIN LATERAL (SELECT mse_task_baseline(t.id) AS doc) b"
#define TASK_STATE_COLUMNS                                                                         \
    TASK_JSON ", t.version, t.type, t.site_id, t.schedule_id, t.enabled,"                          \
              " t.active_execution_id IS NOT NULL, t.deletion_pending"

DB_STMT(task_insert, 12, false,
        "INSERT INTO exchange_tasks (name, site_id, type, definition_id, schedule_id, group_kind,"
        " group_value, enabled, next_run_at, created_by, updated_by, max_parallel_mailboxes)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9::bigint), $10, $11, $12)"
        " RETURNING id");
DB_STMT(task_get, 1, true,
        "SELECT " TASK_STATE_COLUMNS TASK_FROM " WHERE t.id = $1 AND " LIVE_EXCHANGE_TASK);
DB_STMT(task_get_lock, 1, false,
        "SELECT " TASK_STATE_COLUMNS TASK_FROM " WHERE t.id = $1 AND " LIVE_EXCHANGE_TASK
        " FOR UPDATE OF t");
DB_STMT(task_doc, 1, true,
        "SELECT " TASK_JSON ", t.version" TASK_FROM " WHERE t.id = $1 AND " LIVE_EXCHANGE_TASK);
DB_STMT(task_list, 8, true,
        "SELECT " TASK_JSON ", t.seq" TASK_FROM " WHERE " LIVE_EXCHANGE_TASK
        " AND ($1::uuid IS NULL OR t.site_id = $1) AND ($2::text IS NULL OR t.type = $2)"
        " AND ($3::text IS NULL OR " TASK_STATUS " = $3)"
        " AND ($4::uuid IS NULL OR t.schedule_id = $4)"
        " AND ($5::uuid IS NULL OR t.definition_id = $5)"
        " AND ($6::boolean IS NULL OR t.enabled = $6) AND ($7::bigint IS NULL OR t.seq > $7)"
        " ORDER BY t.seq LIMIT $8");
DB_STMT(task_update, 9, false,
        "UPDATE exchange_tasks SET name = coalesce($2, name),"
        " schedule_id = coalesce($3::uuid, schedule_id),"
        " definition_id = coalesce($4::uuid, definition_id),"
        " enabled = coalesce($5::boolean, enabled),"
        " next_run_at = CASE WHEN $6::boolean THEN to_timestamp($7::bigint) ELSE next_run_at END,"
        " max_parallel_mailboxes = coalesce($9::smallint, max_parallel_mailboxes),"
        " updated_by = $8 WHERE id = $1 AND deleted_at IS NULL");
DB_STMT(task_defer, 3, false,
        "UPDATE exchange_tasks SET pending_changes = coalesce(pending_changes, '{}'::jsonb)"
        " || $2::jsonb, updated_by = $3 WHERE id = $1 AND deleted_at IS NULL");
DB_STMT(task_mark_deletion, 2, false,
        "UPDATE exchange_tasks SET deletion_pending = true, updated_by = $2"
        " WHERE id = $1 AND deleted_at IS NULL");
/* A deleted task never runs again: an execution still waiting for a worker is cancelled. */
DB_STMT(task_soft_delete, 2, false,
        "WITH x AS (UPDATE executions SET state = " SQL_EXS_CANCELLED
        ", result = " SQL_RES_CANCELLED ","
        " finished_at = now() WHERE task_id = $1::uuid AND state = " SQL_EXS_QUEUED ")"
        " UPDATE exchange_tasks SET deleted_at = now(), next_run_at = NULL, live_state = NULL,"
        " active_execution_id = NULL, deletion_pending = false, pending_changes = NULL,"
        " updated_by = $2 WHERE id = $1 AND deleted_at IS NULL");
DB_STMT(task_clear_pending, 1, false,
        "UPDATE exchange_tasks SET pending_changes = NULL WHERE id = $1 AND deleted_at IS NULL");

/*
 * The Exchange Services dashboard in one statement: counts over the live tasks (one pass over
 * exchange_tasks, no per-task baseline; every key present, 0 when no task has it), the newest
 * active execution of each task whose status is live (found through executions_task) with the
 * mailbox it syncs first, and the tasks whose last execution failed or had errors, most
 * recently finished first. Lists are capped at $1.
 */
DB_STMT(task_summary, 1, true,
        "WITH t AS (SELECT t.id, t.name, t.site_id, t.type, t.health, t.latest_detail, t.seq,"
        " t.live_state, t.last_execution_id, " TASK_STATUS " AS status"
        " FROM exchange_tasks t WHERE " LIVE_EXCHANGE_TASK "),"
        " c AS (SELECT 'status' AS col, status AS k, count(*) AS n FROM t GROUP BY 2"
        " UNION ALL SELECT 'type', type, count(*) FROM t GROUP BY 2"
        " UNION ALL SELECT 'health', coalesce(health, 'none'), count(*) FROM t GROUP BY 2),"
        " keys (col, k, o) AS (VALUES ('status', 'disabled', 1), ('status', 'scheduled', 2),"
        /* A task's live statuses are spelt as its execution's states. */
        " ('status', " SQL_EXS_QUEUED ", 3), ('status', " SQL_EXS_RUNNING ", 4),"
        " ('status', " SQL_EXS_WAITING ", 5),"
        " ('type', 'mailbox_folder_replication', 1), ('type', 'calendar_replication', 2),"
        " ('type', 'mailbox_storage_management', 3), ('type', 'managed_folders', 4),"
        /* A task's health of warning is spelt as the mailbox state it derives from. */
        " ('health', 'ok', 1), ('health', " SQL_MBS_WARNING ", 2), ('health', 'errors', 3),"
        " ('health', 'failed', 4), ('health', 'none', 5)),"
        " counts AS (SELECT keys.col, json_object_agg(keys.k, coalesce(c.n, 0) ORDER BY keys.o)"
        " AS doc FROM keys LEFT JOIN c USING (col, k) GROUP BY keys.col),"
        " act AS (SELECT t.*, x.e FROM t CROSS JOIN LATERAL (SELECT e FROM executions e"
        " WHERE e.task_id = t.id AND e.state IN " EXS_SQL_ACTIVE
        " ORDER BY e.seq DESC LIMIT 1) x WHERE t.live_state IS NOT NULL),"
        " bad AS (SELECT t.*, l.finished_at FROM t LEFT JOIN executions l"
        " ON l.id = t.last_execution_id WHERE t.health IN ('failed', 'errors'))"
        " SELECT json_build_object('tasks', json_build_object('total', (SELECT count(*) FROM t),"
        " 'by_status', (SELECT doc FROM counts WHERE col = 'status'),"
        " 'by_type', (SELECT doc FROM counts WHERE col = 'type'),"
        " 'by_health', (SELECT doc FROM counts WHERE col = 'health')),"
        " " SQL_EXS_RUNNING ", json_build_object('total', (SELECT count(*) FROM act), 'items',"
        " coalesce((SELECT json_agg(json_build_object('task', json_build_object('id', a.id,"
        " 'name', a.name, 'site_id', a.site_id, 'type', a.type, 'status', a.status,"
        " 'latest_detail', a.latest_detail), 'execution', mse_execution_json(a.e),"
        " 'current_mailbox', (SELECT m.address FROM execution_mailboxes m"
        " WHERE m.execution_id = (a.e).id AND m.state = " SQL_MBS_SYNCING
        " ORDER BY m.position LIMIT 1))"
        " ORDER BY a.seq) FROM (SELECT * FROM act ORDER BY seq LIMIT $1) a), '[]'::json)),"
        " 'failures', json_build_object('total', (SELECT count(*) FROM bad), 'items',"
        " coalesce((SELECT json_agg(json_build_object('id', b.id, 'name', b.name,"
        " 'site_id', b.site_id, 'type', b.type, 'health', b.health,"
        " 'latest_detail', b.latest_detail, 'finished_at', mse_ts(b.finished_at))"
        " ORDER BY b.finished_at DESC NULLS LAST, b.seq) FROM (SELECT * FROM bad"
        " ORDER BY finished_at DESC NULLS LAST, seq LIMIT $1) b), '[]'::json)))::text");

void db_task_cleanup(struct db_task *t)
{
    if (t)
        db_doc_cleanup(&t->doc);
}

static const char *bool_param(int b)
{
    return b < 0 ? NULL : b ? "true" : "false";
}

enum mse_rc db_task_insert(struct db *db, const struct db_task_new *t, char id[37],
                           struct db_error *err)
{
    char next[24], parallel[8];
    struct db_res res;
    snprintf(next, sizeof(next), "%lld", (long long)t->next_run_at);
    snprintf(parallel, sizeof(parallel), "%d", t->max_parallel_mailboxes);
    const char *params[] = { t->name,
                             t->site_id,
                             t->type,
                             t->definition_id,
                             t->schedule_id,
                             t->group_kind,
                             t->group_value,
                             bool_param(t->enabled),
                             t->has_next ? next : NULL,
                             t->actor,
                             t->actor,
                             parallel };
    enum mse_rc rc = db_query(db, &task_insert, params, &res, err);
    if (rc == MSE_OK)
        snprintf(id, 37, "%s", db_res_get(&res, 0, 0));
    db_res_clear(&res);
    return rc;
}

static void copy_cell(const struct db_res *res, int col, char *out, size_t size)
{
    const char *v = db_res_get(res, 0, col);
    snprintf(out, size, "%s", v ? v : "");
}

enum mse_rc db_task_get(struct db *db, const char *id, bool lock, struct db_task *out,
                        struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id };
    memset(out, 0, sizeof(*out));
    enum mse_rc rc = db_query(db, lock ? &task_get_lock : &task_get, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    rc = MSE_ERR_NOT_FOUND;
    if (db_res_rows(&res) == 1) {
        rc = mse_parse_int(db_res_get(&res, 0, 1), 0, INT64_MAX, &out->doc.version);
        copy_cell(&res, 2, out->type, sizeof(out->type));
        copy_cell(&res, 3, out->site_id, sizeof(out->site_id));
        copy_cell(&res, 4, out->schedule_id, sizeof(out->schedule_id));
        out->enabled = db_res_get(&res, 0, 5)[0] == 't';
        out->running = db_res_get(&res, 0, 6)[0] == 't';
        out->deletion_pending = db_res_get(&res, 0, 7)[0] == 't';
        out->doc.json = strdup(db_res_get(&res, 0, 0));
        if (rc == MSE_OK && !out->doc.json)
            rc = MSE_ERR_NOMEM;
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_task_doc(struct db *db, const char *id, struct db_doc *doc, struct db_error *err)
{
    const char *params[] = { id };
    return db_doc_query(db, &task_doc, params, doc, err);
}

enum mse_rc db_task_list(struct db *db, const struct db_task_filter *f, char **items,
                         int64_t *last_seq, bool *more, struct db_error *err)
{
    char after[24], limit[16];
    snprintf(after, sizeof(after), "%lld", (long long)f->after);
    snprintf(limit, sizeof(limit), "%u", f->limit + 1);
    const char *params[] = { f->site_id,
                             f->type,
                             f->status,
                             f->schedule_id,
                             f->definition_id,
                             bool_param(f->enabled),
                             f->has_after ? after : NULL,
                             limit };
    return db_page_query(db, &task_list, params, f->limit, items, last_seq, more, err);
}

enum mse_rc db_task_update(struct db *db, const char *id, const char *name, const char *schedule_id,
                           const char *definition_id, int enabled, int max_parallel, bool set_next,
                           bool has_next, time_t next, const char *actor, struct db_error *err)
{
    char next_s[24], parallel[8];
    snprintf(next_s, sizeof(next_s), "%lld", (long long)next);
    snprintf(parallel, sizeof(parallel), "%d", max_parallel);
    const char *params[] = { id,
                             name,
                             schedule_id,
                             definition_id,
                             bool_param(enabled),
                             bool_param(set_next),
                             has_next ? next_s : NULL,
                             actor,
                             max_parallel > 0 ? parallel : NULL };
    return db_run(db, &task_update, params, err);
}

enum mse_rc db_task_defer(struct db *db, const char *id, const char *changes, const char *actor,
                          struct db_error *err)
{
    const char *params[] = { id, changes, actor };
    return db_run(db, &task_defer, params, err);
}

enum mse_rc db_task_mark_deletion(struct db *db, const char *id, const char *actor,
                                  struct db_error *err)
{
    const char *params[] = { id, actor };
    return db_run(db, &task_mark_deletion, params, err);
}

enum mse_rc db_task_soft_delete(struct db *db, const char *id, const char *actor,
                                struct db_error *err)
{
    const char *params[] = { id, actor };
    return db_run(db, &task_soft_delete, params, err);
}

enum mse_rc db_task_clear_pending(struct db *db, const char *id, struct db_error *err)
{
    const char *params[] = { id };
    return db_run(db, &task_clear_pending, params, err);
}

enum mse_rc db_task_summary(struct db *db, unsigned limit, char **json, struct db_error *err)
{
    char n[16];
    snprintf(n, sizeof(n), "%u", limit);
    const char *params[] = { n };
    return db_json_query(db, &task_summary, params, json, err);
}
