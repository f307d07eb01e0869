/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of sites: the representation (with worker-reported status), changes, references. */
#include "db_site.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The one representation of a site. status, last_seen_at, version and host come from the
 * workers' heartbeats (site_workers); credentials never include the secret.
 */
#define SITE_JSON                                                                                  \
    "json_build_object('id', s.id, 'name', s.name, 'description', s.description,"                  \
    " 'enabled', s.enabled, 'status', CASE WHEN w.offline_at > now()"                              \
    " THEN 'online' ELSE 'offline' END,"                                                           \
    " 'last_seen_at', mse_ts(w.last_seen_at), 'version', w.version, 'host', w.host,"               \
    " 'workers', coalesce(w.workers, '[]'::json),"                                                 \
    " 'credentials', json_build_object('client_id', c.client_id),"                                 \
    " 'created_at', mse_ts(s.created_at), 'updated_at', mse_ts(s.updated_at),"                     \
    " 'updated_by', s.updated_by)::text"
#define SITE_FROM                                                                                  \
    " FROM sites s LEFT JOIN api_clients c ON c.site_id = s.id"                                    \
    " LEFT JOIN LATERAL (SELECT max(sw.last_seen_at) AS last_seen_at,"                             \
    " max(sw.offline_at) AS offline_at,"                                                           \
    " (array_agg(sw.version ORDER BY sw.last_seen_at DESC))[1] AS version,"                        \
    " (array_agg(sw.host ORDER BY sw.last_seen_at DESC))[1] AS host,"                              \
    " json_agg(json_build_object('worker_id', sw.worker_id, 'host', sw.host,"                      \
    " 'version', sw.version, 'backend', sw.backend, 'started_at', mse_ts(sw.started_at),"          \
    " 'last_seen_at', mse_ts(sw.last_seen_at), 'online', sw.offline_at > now())"                   \
    " ORDER BY sw.worker_id) AS workers"                                                           \
    " FROM site_workers sw WHERE sw.site_id = s.id) w ON true"

DB_STMT(site_insert, 4, false,
        "INSERT INTO sites (name, description, enabled, updated_by) VALUES ($1, $2, $3, $4)"
        " RETURNING id");
DB_STMT(site_get, 1, true, "SELECT " SITE_JSON ", s.version" SITE_FROM " WHERE s.id = $1");
DB_STMT(site_get_lock, 1, false,
        "SELECT " SITE_JSON ", s.version" SITE_FROM " WHERE s.id = $1 FOR UPDATE OF s");
DB_STMT(site_list, 3, true,
        "SELECT " SITE_JSON ", s.seq" SITE_FROM
        " WHERE ($1::boolean IS NULL OR s.enabled = $1) AND ($2::bigint IS NULL OR s.seq > $2)"
        " ORDER BY s.seq LIMIT $3");
DB_STMT(site_update, 6, false,
        "UPDATE sites SET name = coalesce($2, name),"
        " description = CASE WHEN $3::boolean THEN $4 ELSE description END,"
        " enabled = coalesce($5::boolean, enabled), updated_by = $6 WHERE id = $1");
DB_STMT(site_delete, 1, false, "DELETE FROM sites WHERE id = $1");
DB_STMT(site_task_count, 1, false,
        "SELECT count(*) FROM exchange_tasks WHERE site_id = $1 AND deleted_at IS NULL AND type <> "
        "'sync_recover'");
DB_STMT(site_exists, 1, true, "SELECT 1 FROM sites WHERE id = $1");
DB_STMT(site_exists_share, 1, false, "SELECT 1 FROM sites WHERE id = $1 FOR KEY SHARE");
DB_STMT(site_client, 1, false, "SELECT id FROM api_clients WHERE site_id = $1");
DB_STMT(site_backends, 1, true,
        "SELECT count(*), count(*) FILTER (WHERE backend = 'graph') FROM site_workers"
        " WHERE site_id = $1 AND offline_at > now()");

static const char *bool_param(int b)
{
    return b < 0 ? NULL : b ? "true" : "false";
}

enum mse_rc db_site_insert(struct db *db, const char *name, const char *description, bool enabled,
                           const char *actor, char id[37], struct db_error *err)
{
    struct db_res res;
    const char *params[] = { name, description, bool_param(enabled), actor };
    enum mse_rc rc = db_query(db, &site_insert, params, &res, err);
    if (rc == MSE_OK)
        snprintf(id, 37, "%s", db_res_get(&res, 0, 0));
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_site_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                        struct db_error *err)
{
    const char *params[] = { id };
    return db_doc_query(db, lock ? &site_get_lock : &site_get, params, doc, err);
}

enum mse_rc db_site_list(struct db *db, int enabled, bool has_after, int64_t after, unsigned limit,
                         char **items, int64_t *last_seq, bool *more, struct db_error *err)
{
    char after_s[24], limit_s[16];
    snprintf(after_s, sizeof(after_s), "%lld", (long long)after);
    snprintf(limit_s, sizeof(limit_s), "%u", limit + 1);
    const char *params[] = { bool_param(enabled), has_after ? after_s : NULL, limit_s };
    return db_page_query(db, &site_list, params, limit, items, last_seq, more, err);
}

enum mse_rc db_site_update(struct db *db, const char *id, const char *name, bool set_description,
                           const char *description, int enabled, const char *actor,
                           struct db_error *err)
{
    const char *params[] = {
        id, name, bool_param(set_description), description, bool_param(enabled), actor
    };
    return db_run(db, &site_update, params, err);
}

enum mse_rc db_site_delete(struct db *db, const char *id, struct db_error *err)
{
    const char *params[] = { id };
    return db_run(db, &site_delete, params, err);
}

enum mse_rc db_site_task_count(struct db *db, const char *id, int64_t *n, struct db_error *err)
{
    const char *params[] = { id };
    return db_int_query(db, &site_task_count, params, n, err);
}

enum mse_rc db_site_client(struct db *db, const char *id, char client_uuid[37],
                           struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id };
    enum mse_rc rc = db_query(db, &site_client, params, &res, err);
    if (rc == MSE_OK) {
        rc = db_res_rows(&res) == 1 ? MSE_OK : MSE_ERR_NOT_FOUND;
        if (rc == MSE_OK)
            snprintf(client_uuid, 37, "%s", db_res_get(&res, 0, 0));
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_site_backends(struct db *db, const char *id, long *online, long *graph,
                             struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id };
    enum mse_rc rc = db_query(db, &site_backends, params, &res, err);
    *online = *graph = 0;
    if (rc == MSE_OK && db_res_rows(&res) == 1) {
        *online = strtol(db_res_get(&res, 0, 0), NULL, 10);
        *graph = strtol(db_res_get(&res, 0, 1), NULL, 10);
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_site_exists(struct db *db, const char *id, bool share, bool *exists,
                           struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id };
    enum mse_rc rc = db_query(db, share ? &site_exists_share : &site_exists, params, &res, err);
    if (rc == MSE_OK)
        *exists = db_res_rows(&res) == 1;
    db_res_clear(&res);
    return rc;
}
