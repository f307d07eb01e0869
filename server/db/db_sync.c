/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of Sync & Recover: server connections, their tests, sync tasks and their mailbox states. */
#include "db_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_JSON                                                                                  \
    "json_build_object('id', t.id, 'connection_id', t.connection_id, 'mailbox', t.mailbox,"        \
    " 'state', t.state, 'latency_ms', t.latency_ms, 'server_version', t.server_version,"           \
    " 'reason_code', t.reason_code, 'detail', t.detail, 'worker_id', t.worker_id,"                 \
    " 'requested_at', mse_ts(t.requested_at), 'finished_at', mse_ts(t.finished_at))"

/* The one representation of a connection: the secret only as "it is set". */
#define CONN_JSON                                                                                  \
    "json_build_object('id', c.id, 'name', c.name, 'site_id', c.site_id, 'ews_url', c.ews_url,"    \
    " 'authentication', c.authentication, 'service_account', c.service_account,"                   \
    " 'secret_set', true, 'impersonation', c.impersonation, 'tls_verify', c.tls_verify,"           \
    " 'last_test', (SELECT " TEST_JSON " FROM server_connection_tests t"                           \
    " WHERE t.connection_id = c.id ORDER BY t.requested_at DESC, t.id LIMIT 1),"                   \
    " 'created_at', mse_ts(c.created_at), 'updated_at', mse_ts(c.updated_at),"                     \
    " 'updated_by', c.updated_by)::text"

DB_STMT(sync_conn_insert, 10, false,
        "INSERT INTO server_connections (id, name, site_id, ews_url, authentication,"
        " service_account, secret_sealed, impersonation, tls_verify, updated_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7::bytea, coalesce($8::boolean, true),"
        " coalesce($9::boolean, true), $10)");
DB_STMT(sync_conn_get, 1, true,
        "SELECT " CONN_JSON ", c.version FROM server_connections c WHERE c.id = $1");
DB_STMT(sync_conn_get_lock, 1, false,
        "SELECT " CONN_JSON ", c.version FROM server_connections c WHERE c.id = $1 FOR UPDATE");
DB_STMT(sync_conn_update, 10, false,
        "UPDATE server_connections SET name = coalesce($2, name), site_id = coalesce($3::uuid,"
        " site_id), ews_url = coalesce($4, ews_url), authentication = coalesce($5,"
        " authentication), service_account = coalesce($6, service_account),"
        " secret_sealed = coalesce($7::bytea, secret_sealed),"
        " impersonation = coalesce($8::boolean, impersonation),"
        " tls_verify = coalesce($9::boolean, tls_verify), updated_by = $10 WHERE id = $1");
DB_STMT(sync_conn_delete, 1, false, "DELETE FROM server_connections WHERE id = $1");
DB_STMT(sync_conn_task_count, 1, false, "SELECT count(*) FROM sync_tasks WHERE connection_id = $1");
DB_STMT(sync_conn_list, 3, true,
        "SELECT " CONN_JSON ", c.seq FROM server_connections c"
        " WHERE ($1::text IS NULL OR c.authentication = $1) AND ($2::bigint IS NULL OR c.seq > $2)"
        " ORDER BY c.seq LIMIT $3");
DB_STMT(sync_test_insert, 2, false,
        "INSERT INTO server_connection_tests AS t (connection_id, site_id, mailbox)"
        " SELECT id, site_id, $2 FROM server_connections WHERE id = $1 RETURNING " TEST_JSON
        "::text");
DB_STMT(sync_test_get, 2, true,
        "SELECT " TEST_JSON "::text, CASE WHEN t.state = 'pending' THEN 1 ELSE 2 END::bigint"
        " FROM server_connection_tests t WHERE t.connection_id = $1 AND t.id = $2");
DB_STMT(sync_tests_pending, 1, true,
        "SELECT coalesce(json_agg(json_build_object('id', p.id, 'connection_id', c.id,"
        " 'mailbox', p.mailbox, 'ews_url', c.ews_url, 'authentication', c.authentication,"
        " 'service_account', c.service_account, 'secret_sealed', c.secret_sealed::text,"
        " 'impersonation', c.impersonation, 'tls_verify', c.tls_verify) ORDER BY p.requested_at),"
        " '[]')::text FROM (SELECT id, connection_id, mailbox, requested_at"
        " FROM server_connection_tests WHERE site_id = $1 AND state = 'pending'"
        " ORDER BY requested_at LIMIT 16) p JOIN server_connections c ON c.id = p.connection_id");
DB_STMT(sync_test_finish, 8, false,
        "UPDATE server_connection_tests SET state = CASE WHEN $3::boolean THEN 'succeeded'"
        " ELSE 'failed' END, latency_ms = $4::integer, server_version = left($5, 200),"
        " reason_code = $6, detail = left($7, 2000), worker_id = $8, finished_at = now()"
        " WHERE site_id = $1 AND id = $2 AND state = 'pending'");

#define TASK_JSON                                                                                  \
    "json_build_object('id', t.id, 'name', t.name, 'connection_id', t.connection_id,"              \
    " 'site_id', c.site_id, 'group', json_build_object('kind', t.group_kind, 'value',"             \
    " t.group_value), 'mail', t.mail, 'calendars', t.calendars,"                                   \
    " 'message_classes', to_json(t.message_classes), 'include_sensitive', t.include_sensitive,"    \
    " 'exclusions_active', t.exclusions_active, 'exclusions', t.exclusions,"                       \
    " 'interval_minutes', t.interval_minutes, 'enabled', t.enabled, 'status', s.status,"           \
    " 'latest_detail', s.detail, 'content_sync', 'active',"                                        \
    " 'pending_changes', x.pending_changes, 'deletion_pending', coalesce(x.deletion_pending,"      \
    " false),"                                                                                     \
    " 'mailbox_counts', json_build_object('total', s.total, 'ok', s.ok, 'warning', s.warning,"     \
    " 'error', s.failing), 'created_at', mse_ts(t.created_at),"                                    \
    " 'updated_at', mse_ts(t.updated_at), 'updated_by', t.updated_by)::text"
#define TASK_FROM                                                                                  \
    " FROM sync_tasks t JOIN server_connections c ON c.id = t.connection_id"                       \
    " LEFT JOIN exchange_tasks x ON x.id = t.id,"                                                  \
    " LATERAL mse_sync_task_summary(t.id, t.enabled) s"

DB_STMT(sync_task_insert, 14, false,
        "INSERT INTO sync_tasks (id, name, connection_id, group_kind, group_value, mail,"
        " calendars, message_classes, include_sensitive, exclusions_active, exclusions,"
        " interval_minutes, enabled, updated_by)"
        " VALUES ($1, $2, $3, $4, $5, coalesce($6::boolean, true), coalesce($7::boolean, true),"
        " ARRAY(SELECT json_array_elements_text(coalesce($8::json, '[]'))),"
        " coalesce($9::boolean, false), coalesce($10::boolean, false),"
        " coalesce($11::jsonb, '[]'), coalesce($12::integer, 15), coalesce($13::boolean, true),"
        " $14)");
DB_STMT(sync_task_get, 1, true, "SELECT " TASK_JSON ", t.version" TASK_FROM " WHERE t.id = $1");
DB_STMT(sync_task_get_lock, 1, false,
        "SELECT " TASK_JSON ", t.version" TASK_FROM " WHERE t.id = $1 FOR UPDATE OF t");
DB_STMT(sync_task_update, 14, false,
        "UPDATE sync_tasks SET name = coalesce($2, name),"
        " connection_id = coalesce($3::uuid, connection_id),"
        " group_kind = coalesce($4, group_kind), group_value = coalesce($5, group_value),"
        " mail = coalesce($6::boolean, mail), calendars = coalesce($7::boolean, calendars),"
        " message_classes = CASE WHEN $8::json IS NULL THEN message_classes"
        " ELSE ARRAY(SELECT json_array_elements_text($8::json)) END,"
        " include_sensitive = coalesce($9::boolean, include_sensitive),"
        " exclusions_active = coalesce($10::boolean, exclusions_active),"
        " exclusions = coalesce($11::jsonb, exclusions),"
        " interval_minutes = coalesce($12::integer, interval_minutes),"
        " enabled = coalesce($13::boolean, enabled), updated_by = $14 WHERE id = $1");
DB_STMT(sync_task_delete, 1, false, "DELETE FROM sync_tasks WHERE id = $1");
DB_STMT(sync_task_list, 3, true,
        "SELECT " TASK_JSON ", t.seq" TASK_FROM
        " WHERE ($1::boolean IS NULL OR t.enabled = $1::boolean)"
        " AND ($2::bigint IS NULL OR t.seq > $2) ORDER BY t.seq LIMIT $3");
/*
 * What the workers last reported for each member mailbox (task_mailboxes of the twin, schema
 * 038), in the states of seed 002's status: waiting for the lock another task holds is a
 * warning, not yet synchronised (or skipped when a run ended early) is pending.
 */
DB_STMT(sync_task_mailboxes, 3, true,
        "SELECT json_build_object('address', m.address, 'state', CASE m.state"
        " WHEN 'healthy' THEN 'ok' WHEN 'warning' THEN 'warning' WHEN 'waiting_for_lock'"
        " THEN 'warning' WHEN 'error' THEN 'error' ELSE 'pending' END,"
        " 'reason_code', CASE WHEN m.state = 'waiting_for_lock' THEN coalesce(m.reason_code,"
        " 'mailbox_locked') ELSE m.reason_code END, 'detail', CASE WHEN m.state ="
        " 'waiting_for_lock' THEN coalesce(m.reason_text, 'synchronised by another task')"
        " ELSE m.reason_text END, 'last_sync_at', mse_ts(m.last_sync_at),"
        " 'updated_at', mse_ts(m.updated_at))::text, m.seq FROM task_mailboxes m"
        " WHERE m.task_id = $1 AND m.in_group AND ($2::bigint IS NULL OR m.seq > $2)"
        " ORDER BY m.seq LIMIT $3");
DB_STMT(sync_conn_sealed, 1, true,
        "SELECT secret_sealed::text FROM server_connections WHERE id = $1::uuid");
DB_STMT(sync_task_is, 1, true, "SELECT count(*) FROM sync_tasks WHERE id = $1::uuid");
/* An execution of the task is claimed and not ended: changes and deletion wait (seed 002). */
DB_STMT(sync_task_running, 1, false,
        "SELECT count(*) FROM exchange_tasks WHERE id = $1::uuid AND active_execution_id"
        " IS NOT NULL AND deleted_at IS NULL");
DB_STMT(sync_task_defer, 3, false,
        "UPDATE exchange_tasks SET pending_changes = coalesce(pending_changes, '{}'::jsonb)"
        " || $2::jsonb, updated_by = $3 WHERE id = $1::uuid AND deleted_at IS NULL"
        " AND active_execution_id IS NOT NULL");
DB_STMT(sync_task_defer_delete, 2, false,
        "UPDATE exchange_tasks SET deletion_pending = true, updated_by = $2"
        " WHERE id = $1::uuid AND deleted_at IS NULL AND active_execution_id IS NOT NULL");
DB_STMT(sync_task_deferred, 1, false,
        "SELECT pending_changes::text, deletion_pending, updated_by FROM exchange_tasks"
        " WHERE id = $1::uuid AND deleted_at IS NULL FOR UPDATE");
DB_STMT(sync_task_clear_deferred, 1, false,
        "UPDATE exchange_tasks SET pending_changes = NULL, deletion_pending = false"
        " WHERE id = $1::uuid");
/* Trigger 038 queues every due sync task. */
DB_STMT(sync_schedule, 0, false, "SELECT mse_sync_schedule()");

static const char *tristate(int v)
{
    return v < 0 ? NULL : v ? "true" : "false";
}

/* The parameters of the insert and the update: $1 id … $10 actor. */
static void conn_params(const char *id, const struct db_sync_conn_in *in, const char *actor,
                        const char *params[10])
{
    const char *p[] = { id,
                        in->name,
                        in->site_id,
                        in->ews_url,
                        in->authentication,
                        in->service_account,
                        in->secret_sealed,
                        tristate(in->impersonation),
                        tristate(in->tls_verify),
                        actor };
    memcpy(params, p, sizeof(p));
}

enum mse_rc db_sync_conn_insert(struct db *db, const char *id, const struct db_sync_conn_in *in,
                                const char *actor, struct db_error *err)
{
    const char *params[10];
    conn_params(id, in, actor, params);
    return db_run(db, &sync_conn_insert, params, err);
}

enum mse_rc db_sync_conn_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                             struct db_error *err)
{
    const char *params[] = { id };
    return db_doc_query(db, lock ? &sync_conn_get_lock : &sync_conn_get, params, doc, err);
}

enum mse_rc db_sync_conn_update(struct db *db, const char *id, const struct db_sync_conn_in *in,
                                const char *actor, struct db_error *err)
{
    const char *params[10];
    conn_params(id, in, actor, params);
    return db_run(db, &sync_conn_update, params, err);
}

enum mse_rc db_sync_conn_delete(struct db *db, const char *id, struct db_error *err)
{
    const char *params[] = { id };
    return db_run(db, &sync_conn_delete, params, err);
}

enum mse_rc db_sync_conn_task_count(struct db *db, const char *id, int64_t *n, struct db_error *err)
{
    const char *params[] = { id };
    return db_int_query(db, &sync_conn_task_count, params, n, err);
}

enum mse_rc db_sync_conn_list(struct db *db, const char *authentication, bool has_after,
                              int64_t after, unsigned limit, char **items, int64_t *last_seq,
                              bool *more, struct db_error *err)
{
    return db_filtered_page(db, &sync_conn_list, authentication, has_after, after, limit, items,
                            last_seq, more, err);
}

enum mse_rc db_sync_test_insert(struct db *db, const char *conn_id, const char *mailbox,
                                char **json, struct db_error *err)
{
    const char *params[] = { conn_id, mailbox };
    return db_json_query(db, &sync_test_insert, params, json, err);
}

enum mse_rc db_sync_test_get(struct db *db, const char *conn_id, const char *id, struct db_doc *doc,
                             struct db_error *err)
{
    const char *params[] = { conn_id, id };
    return db_doc_query(db, &sync_test_get, params, doc, err);
}

enum mse_rc db_sync_tests_pending(struct db *db, const char *site_id, char **json,
                                  struct db_error *err)
{
    const char *params[] = { site_id };
    return db_json_query(db, &sync_tests_pending, params, json, err);
}

enum mse_rc db_sync_test_finish(struct db *db, const char *site_id, const char *id,
                                const struct db_sync_test_result *r, struct db_error *err)
{
    struct db_res res;
    char latency[24];
    snprintf(latency, sizeof(latency), "%lld", (long long)r->latency_ms);
    const char *params[] = { site_id,
                             id,
                             r->ok ? "true" : "false",
                             r->latency_ms >= 0 ? latency : NULL,
                             r->server_version,
                             r->ok ? NULL : r->reason_code,
                             r->ok ? NULL : r->detail,
                             r->worker_id };
    enum mse_rc rc = db_query(db, &sync_test_finish, params, &res, err);
    if (rc == MSE_OK && db_res_affected(&res) != 1)
        rc = MSE_ERR_NOT_FOUND;
    db_res_clear(&res);
    return rc;
}

/* The parameters of the insert and the update: $1 id … $14 actor; interval holds $12. */
static void task_params(const char *id, const struct db_sync_task_in *in, const char *actor,
                        char interval[24], const char *params[14])
{
    snprintf(interval, 24, "%lld", (long long)in->interval_minutes);
    const char *p[] = { id,
                        in->name,
                        in->connection_id,
                        in->group_kind,
                        in->group_value,
                        tristate(in->mail),
                        tristate(in->calendars),
                        in->message_classes_json,
                        tristate(in->include_sensitive),
                        tristate(in->exclusions_active),
                        in->exclusions_json,
                        in->interval_minutes > 0 ? interval : NULL,
                        tristate(in->enabled),
                        actor };
    memcpy(params, p, sizeof(p));
}

enum mse_rc db_sync_task_insert(struct db *db, const char *id, const struct db_sync_task_in *in,
                                const char *actor, struct db_error *err)
{
    char interval[24];
    const char *params[14];
    task_params(id, in, actor, interval, params);
    return db_run(db, &sync_task_insert, params, err);
}

enum mse_rc db_sync_task_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                             struct db_error *err)
{
    const char *params[] = { id };
    return db_doc_query(db, lock ? &sync_task_get_lock : &sync_task_get, params, doc, err);
}

enum mse_rc db_sync_task_update(struct db *db, const char *id, const struct db_sync_task_in *in,
                                const char *actor, struct db_error *err)
{
    char interval[24];
    const char *params[14];
    task_params(id, in, actor, interval, params);
    return db_run(db, &sync_task_update, params, err);
}

enum mse_rc db_sync_task_delete(struct db *db, const char *id, struct db_error *err)
{
    const char *params[] = { id };
    return db_run(db, &sync_task_delete, params, err);
}

enum mse_rc db_sync_task_list(struct db *db, const char *enabled, bool has_after, int64_t after,
                              unsigned limit, char **items, int64_t *last_seq, bool *more,
                              struct db_error *err)
{
    return db_filtered_page(db, &sync_task_list, enabled, has_after, after, limit, items, last_seq,
                            more, err);
}

enum mse_rc db_sync_task_mailboxes(struct db *db, const char *id, bool has_after, int64_t after,
                                   unsigned limit, char **items, int64_t *last_seq, bool *more,
                                   struct db_error *err)
{
    return db_filtered_page(db, &sync_task_mailboxes, id, has_after, after, limit, items, last_seq,
                            more, err);
}

enum mse_rc db_sync_conn_sealed(struct db *db, const char *id, char **sealed, struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id };
    *sealed = NULL;
    enum mse_rc rc = db_query(db, &sync_conn_sealed, params, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) != 1)
        rc = MSE_ERR_NOT_FOUND;
    if (rc == MSE_OK && !(*sealed = strdup(db_res_get(&res, 0, 0))))
        rc = MSE_ERR_NOMEM;
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_sync_task_is(struct db *db, const char *id, bool *is, struct db_error *err)
{
    int64_t n = 0;
    const char *params[] = { id };
    enum mse_rc rc = db_int_query(db, &sync_task_is, params, &n, err);
    *is = n > 0;
    return rc;
}

enum mse_rc db_sync_task_running(struct db *db, const char *id, bool *running, struct db_error *err)
{
    int64_t n = 0;
    const char *params[] = { id };
    enum mse_rc rc = db_int_query(db, &sync_task_running, params, &n, err);
    *running = n > 0;
    return rc;
}

enum mse_rc db_sync_task_defer(struct db *db, const char *id, const char *changes,
                               const char *actor, bool *deferred, struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id, changes, actor };
    const char *del[] = { id, actor };
    enum mse_rc rc = changes ? db_query(db, &sync_task_defer, params, &res, err)
                             : db_query(db, &sync_task_defer_delete, del, &res, err);
    *deferred = rc == MSE_OK && db_res_affected(&res) == 1;
    db_res_clear(&res);
    return rc;
}

void db_sync_deferred_cleanup(struct db_sync_deferred *d)
{
    free(d->changes);
    free(d->actor);
    d->changes = d->actor = NULL;
}

enum mse_rc db_sync_task_deferred(struct db *db, const char *id, struct db_sync_deferred *d,
                                  struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id };
    memset(d, 0, sizeof(*d));
    enum mse_rc rc = db_query(db, &sync_task_deferred, params, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) == 1) {
        const char *c = db_res_get(&res, 0, 0), *a = db_res_get(&res, 0, 2);
        d->deletion = db_res_get(&res, 0, 1)[0] == 't';
        if ((c && !(d->changes = strdup(c))) || (a && !(d->actor = strdup(a))))
            rc = MSE_ERR_NOMEM;
    }
    db_res_clear(&res);
    if (rc == MSE_OK) {
        const char *p[] = { id };
        rc = db_run(db, &sync_task_clear_deferred, p, err);
    }
    if (rc != MSE_OK)
        db_sync_deferred_cleanup(d);
    return rc;
}

enum mse_rc db_sync_schedule(struct db *db, int64_t *queued, struct db_error *err)
{
    return db_int_query(db, &sync_schedule, NULL, queued, err);
}
