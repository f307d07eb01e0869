/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of site directories: the configuration, tests, the reported groups, membership refreshes. */
#include "db_directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_JSON                                                                                  \
    "json_build_object('id', t.id, 'site_id', t.site_id, 'state', t.state,"                        \
    " 'reason_code', t.reason_code, 'detail', t.detail, 'worker_id', t.worker_id,"                 \
    " 'requested_at', mse_ts(t.requested_at), 'finished_at', mse_ts(t.finished_at))"

/* The one representation of a directory: the password only as "it is set". */
#define DIRECTORY_JSON                                                                             \
    "json_build_object('site_id', d.site_id, 'urls', to_json(d.urls), 'bind_dn', d.bind_dn,"       \
    " 'password_set', true, 'base_dn', d.base_dn, 'tls_verify', d.tls_verify,"                     \
    " 'page_size', d.page_size, 'last_test', (SELECT " TEST_JSON " FROM directory_tests t"         \
    " WHERE t.site_id = d.site_id ORDER BY t.requested_at DESC, t.id LIMIT 1),"                    \
    " 'groups_reported_at', (SELECT mse_ts(max(g.reported_at)) FROM directory_groups g"            \
    " WHERE g.site_id = d.site_id),"                                                               \
    " 'created_at', mse_ts(d.created_at), 'updated_at', mse_ts(d.updated_at),"                     \
    " 'updated_by', d.updated_by)::text"

DB_STMT(directory_get, 1, true,
        "SELECT " DIRECTORY_JSON ", d.version FROM site_directories d WHERE d.site_id = $1");
DB_STMT(directory_get_lock, 1, false,
        "SELECT " DIRECTORY_JSON ", d.version FROM site_directories d WHERE d.site_id = $1"
        " FOR UPDATE");
DB_STMT(directory_put, 8, false,
        "INSERT INTO site_directories (site_id, urls, bind_dn, password_sealed, base_dn,"
        " tls_verify, page_size, updated_by)"
        " VALUES ($1, ARRAY(SELECT json_array_elements_text($2::json)), $3,"
        /* The row proposed for the insert is checked NOT NULL before ON CONFLICT applies. */
        " coalesce($4::bytea, (SELECT password_sealed FROM site_directories WHERE site_id = $1)),"
        " $5,"
        " $6::boolean, $7::integer, $8)"
        " ON CONFLICT (site_id) DO UPDATE SET urls = EXCLUDED.urls, bind_dn = EXCLUDED.bind_dn,"
        " password_sealed = EXCLUDED.password_sealed,"
        " base_dn = EXCLUDED.base_dn, tls_verify = EXCLUDED.tls_verify,"
        " page_size = EXCLUDED.page_size, updated_by = EXCLUDED.updated_by");
DB_STMT(directory_test_insert, 1, false,
        "INSERT INTO directory_tests AS t (site_id) VALUES ($1) RETURNING " TEST_JSON "::text");
DB_STMT(directory_test_get, 2, true,
        "SELECT " TEST_JSON "::text, CASE WHEN t.state = 'pending' THEN 1 ELSE 2 END::bigint"
        " FROM directory_tests t"
        " WHERE t.site_id = $1 AND t.id = $2");
DB_STMT(directory_test_finish, 6, false,
        "UPDATE directory_tests SET state = CASE WHEN $3::boolean THEN 'succeeded' ELSE 'failed'"
        " END, reason_code = $4, detail = left($5, 2000), worker_id = $6, finished_at = now()"
        " WHERE site_id = $1 AND id = $2 AND state = 'pending'");
DB_STMT(directory_worker, 2, true,
        "SELECT (SELECT json_build_object('urls', to_json(d.urls), 'bind_dn', d.bind_dn,"
        " 'base_dn', d.base_dn, 'tls_verify', d.tls_verify, 'page_size', d.page_size,"
        " 'version', d.version)::text FROM site_directories d WHERE d.site_id = $1),"
        " (SELECT d.password_sealed::text FROM site_directories d WHERE d.site_id = $1),"
        " (SELECT coalesce(json_agg(json_build_object('id', t.id) ORDER BY t.requested_at),"
        " '[]')::text FROM (SELECT id, requested_at FROM directory_tests"
        " WHERE site_id = $1 AND state = 'pending' ORDER BY requested_at LIMIT 16) t),"
        " (SELECT coalesce(json_agg(json_build_object('seq', r.seq, 'kind', r.group_kind,"
        " 'value', r.group_value) ORDER BY r.seq), '[]')::text FROM membership_refreshes r"
        " WHERE r.site_id = $1 AND $2::bigint >= 0 AND r.seq > $2::bigint),"
        " (SELECT coalesce(max(r.seq), 0) FROM membership_refreshes r WHERE r.site_id = $1)");
DB_STMT(directory_groups_delete, 1, false, "DELETE FROM directory_groups WHERE site_id = $1");
DB_STMT(directory_groups_insert, 2, false,
        "INSERT INTO directory_groups (site_id, dn, name, mail, kind, member_count)"
        " SELECT $1, g->>'dn', g->>'name', g->>'mail', g->>'kind', (g->>'member_count')::integer"
        " FROM json_array_elements($2::json) g ON CONFLICT DO NOTHING");
DB_STMT(directory_groups_search, 4, true,
        "SELECT json_build_object('dn', g.dn, 'name', g.name, 'mail', g.mail, 'kind', g.kind,"
        " 'member_count', g.member_count, 'reported_at', mse_ts(g.reported_at))::text, g.seq"
        " FROM directory_groups g WHERE g.site_id = $1 AND ($2::text IS NULL"
        " OR strpos(lower(coalesce(g.name, '')), lower($2)) > 0"
        " OR strpos(lower(coalesce(g.mail, '')), lower($2)) > 0"
        " OR left(lower(g.dn), length($2)) = lower($2))"
        " AND ($3::bigint IS NULL OR g.seq > $3) ORDER BY g.seq LIMIT $4");
DB_STMT(directory_sync_refresh_insert, 2, false,
        "INSERT INTO membership_refreshes (site_id, sync_task_id, group_kind, group_value,"
        " requested_by) SELECT c.site_id, t.id, t.group_kind, t.group_value, $2"
        " FROM sync_tasks t JOIN server_connections c ON c.id = t.connection_id WHERE t.id = $1"
        " RETURNING json_build_object('task_id', sync_task_id, 'group_kind', group_kind,"
        " 'group_value', group_value, 'requested_at', mse_ts(requested_at))::text");
DB_STMT(directory_refresh_insert, 2, false,
        "INSERT INTO membership_refreshes (site_id, task_id, group_kind, group_value, requested_by)"
        " SELECT site_id, id, group_kind, group_value, $2 FROM exchange_tasks"
        " WHERE id = $1 AND deleted_at IS NULL AND type <> 'sync_recover' AND site_id IS NOT NULL"
        " RETURNING json_build_object('task_id', task_id, 'group_kind', group_kind,"
        " 'group_value', group_value, 'requested_at', mse_ts(requested_at))::text");

enum mse_rc db_directory_get(struct db *db, const char *site_id, bool lock, struct db_doc *doc,
                             struct db_error *err)
{
    const char *params[] = { site_id };
    return db_doc_query(db, lock ? &directory_get_lock : &directory_get, params, doc, err);
}

enum mse_rc db_directory_put(struct db *db, const char *site_id, const struct db_directory_in *in,
                             const char *actor, struct db_error *err)
{
    char page[16];
    snprintf(page, sizeof(page), "%u", in->page_size);
    const char *params[] = { site_id,     in->urls_json,
                             in->bind_dn, in->password_sealed,
                             in->base_dn, in->tls_verify ? "true" : "false",
                             page,        actor };
    return db_run(db, &directory_put, params, err);
}

enum mse_rc db_directory_test_insert(struct db *db, const char *site_id, char **json,
                                     struct db_error *err)
{
    const char *params[] = { site_id };
    return db_json_query(db, &directory_test_insert, params, json, err);
}

enum mse_rc db_directory_test_get(struct db *db, const char *site_id, const char *id,
                                  struct db_doc *doc, struct db_error *err)
{
    const char *params[] = { site_id, id };
    return db_doc_query(db, &directory_test_get, params, doc, err);
}

enum mse_rc db_directory_test_finish(struct db *db, const char *site_id, const char *id, bool ok,
                                     const char *reason, const char *detail, const char *worker,
                                     struct db_error *err)
{
    struct db_res res;
    const char *params[] = { site_id, id, ok ? "true" : "false", reason, detail, worker };
    enum mse_rc rc = db_query(db, &directory_test_finish, params, &res, err);
    if (rc == MSE_OK && db_res_affected(&res) != 1)
        rc = MSE_ERR_NOT_FOUND;
    db_res_clear(&res);
    return rc;
}

void db_directory_worker_cleanup(struct db_directory_worker *w)
{
    if (!w)
        return;
    free(w->json);
    free(w->password_sealed);
    free(w->tests);
    free(w->refreshes);
    memset(w, 0, sizeof(*w));
}

static char *dup_or_null(const char *s, bool *ok)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *ok = false;
    return d;
}

enum mse_rc db_directory_worker_get(struct db *db, const char *site_id, int64_t refresh_after,
                                    struct db_directory_worker *out, struct db_error *err)
{
    struct db_res res;
    char after[24];
    snprintf(after, sizeof(after), "%lld", (long long)refresh_after);
    const char *params[] = { site_id, after };
    memset(out, 0, sizeof(*out));
    enum mse_rc rc = db_query(db, &directory_worker, params, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) == 1) {
        bool ok = true;
        out->json = dup_or_null(db_res_get(&res, 0, 0), &ok);
        out->password_sealed = dup_or_null(db_res_get(&res, 0, 1), &ok);
        out->tests = dup_or_null(db_res_get(&res, 0, 2), &ok);
        out->refreshes = dup_or_null(db_res_get(&res, 0, 3), &ok);
        out->refresh_seq = strtoll(db_res_get(&res, 0, 4), NULL, 10);
        rc = ok ? MSE_OK : MSE_ERR_NOMEM;
    } else if (rc == MSE_OK) {
        rc = MSE_ERR_INTERNAL;
    }
    db_res_clear(&res);
    if (rc != MSE_OK)
        db_directory_worker_cleanup(out);
    return rc;
}

enum mse_rc db_directory_groups_replace(struct db *db, const char *site_id, const char *groups_json,
                                        struct db_error *err)
{
    const char *params[] = { site_id, groups_json };
    enum mse_rc rc = db_begin(db, err);
    if (rc == MSE_OK)
        rc = db_run(db, &directory_groups_delete, params, err);
    if (rc == MSE_OK)
        rc = db_run(db, &directory_groups_insert, params, err);
    if (rc == MSE_OK)
        rc = db_commit(db, err);
    if (rc != MSE_OK)
        db_rollback(db);
    return rc;
}

enum mse_rc db_directory_groups_search(struct db *db, const char *site_id, const char *q,
                                       bool has_after, int64_t after, unsigned limit, char **items,
                                       int64_t *last_seq, bool *more, struct db_error *err)
{
    char after_s[24], limit_s[16];
    snprintf(after_s, sizeof(after_s), "%lld", (long long)after);
    snprintf(limit_s, sizeof(limit_s), "%u", limit + 1);
    const char *params[] = { site_id, q, has_after ? after_s : NULL, limit_s };
    return db_page_query(db, &directory_groups_search, params, limit, items, last_seq, more, err);
}

enum mse_rc db_directory_refresh_insert(struct db *db, bool sync, const char *task_id,
                                        const char *actor, char **json, struct db_error *err)
{
    const char *params[] = { task_id, actor };
    return db_json_query(db, sync ? &directory_sync_refresh_insert : &directory_refresh_insert,
                         params, json, err);
}
