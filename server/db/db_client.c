/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of API clients: rendering (never the secret), insert, update, delete, secret rotation. */
#include "db_client.h"

#include <stdio.h>
#include <string.h>

#include "db_auth.h"

/* The one representation of an API client. The secret hash is never part of it. */
#define CLIENT_JSON                                                                                \
    "json_build_object('id', c.id, 'client_id', c.client_id, 'name', c.name, 'role', c.role,"      \
    " 'site_id', c.site_id, 'mailbox', c.mailbox, 'delegates', to_json(c.delegates),"              \
    " 'enabled', c.enabled, 'created_at', mse_ts(c.created_at),"                                   \
    " 'updated_at', mse_ts(c.updated_at), 'updated_by', c.updated_by)::text"

DB_STMT(client_insert, 8, false,
        "INSERT INTO api_clients (client_id, name, role, site_id, secret_hash, updated_by,"
        " mailbox, delegates) VALUES ($1, $2, $3, $4::uuid, $5, $6, $7,"
        " ARRAY(SELECT json_array_elements_text(coalesce($8::json, '[]')))) RETURNING id");
DB_STMT(client_set_delegates, 3, false,
        "UPDATE api_clients SET delegates = ARRAY(SELECT json_array_elements_text($2::json)),"
        " updated_by = $3 WHERE id = $1");
DB_STMT(client_get, 1, true,
        "SELECT " CLIENT_JSON ", c.version FROM api_clients c WHERE c.id = $1");
DB_STMT(client_get_lock, 1, false,
        "SELECT " CLIENT_JSON ", c.version FROM api_clients c WHERE c.id = $1 FOR UPDATE");
DB_STMT(client_list, 3, true,
        "SELECT " CLIENT_JSON ", c.seq FROM api_clients c"
        " WHERE ($1::text IS NULL OR c.role = $1) AND ($2::bigint IS NULL OR c.seq > $2)"
        " ORDER BY c.seq LIMIT $3");
DB_STMT(client_update, 4, false,
        "UPDATE api_clients SET name = coalesce($2, name),"
        " enabled = coalesce($3::boolean, enabled), updated_by = $4 WHERE id = $1");
DB_STMT(client_delete, 1, false, "DELETE FROM api_clients WHERE id = $1");
DB_STMT(client_set_secret, 3, false,
        "UPDATE api_clients SET secret_hash = $2, updated_by = $3 WHERE id = $1");
DB_STMT(client_state, 1, false, "SELECT role, enabled FROM api_clients WHERE id = $1");
DB_STMT(client_other_admins, 1, false,
        "SELECT count(*) FILTER (WHERE id <> $1) FROM (SELECT id FROM api_clients"
        " WHERE role = 'admin' AND enabled FOR UPDATE) a");

enum mse_rc db_client_insert(struct db *db, const struct db_client_new *n, char id[37],
                             struct db_error *err)
{
    struct db_res res;
    const char *params[] = { n->client_id,   n->name,  n->role,    n->site_id,
                             n->secret_hash, n->actor, n->mailbox, n->delegates };
    enum mse_rc rc = db_query(db, &client_insert, params, &res, err);
    if (rc == MSE_OK)
        snprintf(id, 37, "%s", db_res_get(&res, 0, 0));
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_client_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                          struct db_error *err)
{
    const char *params[] = { id };
    return db_doc_query(db, lock ? &client_get_lock : &client_get, params, doc, err);
}

enum mse_rc db_client_list(struct db *db, const char *role, bool has_after, int64_t after,
                           unsigned limit, char **items, int64_t *last_seq, bool *more,
                           struct db_error *err)
{
    return db_filtered_page(db, &client_list, role, has_after, after, limit, items, last_seq, more,
                            err);
}

enum mse_rc db_client_update(struct db *db, const char *id, const char *name, int enabled,
                             const char *actor, struct db_error *err)
{
    const char *en = enabled < 0 ? NULL : enabled ? "true" : "false";
    const char *params[] = { id, name, en, actor };
    return db_run(db, &client_update, params, err);
}

enum mse_rc db_client_set_delegates(struct db *db, const char *id, const char *delegates,
                                    const char *actor, struct db_error *err)
{
    const char *params[] = { id, delegates, actor };
    return db_run(db, &client_set_delegates, params, err);
}

enum mse_rc db_client_delete(struct db *db, const char *id, struct db_error *err)
{
    const char *params[] = { id };
    return db_run(db, &client_delete, params, err);
}

enum mse_rc db_client_set_secret(struct db *db, const char *id, const char *secret_hash,
                                 const char *actor, struct db_error *err)
{
    const char *params[] = { id, secret_hash, actor };
    enum mse_rc rc = db_run(db, &client_set_secret, params, err);
    return rc == MSE_OK ? db_auth_tokens_revoke_all(db, id, err) : rc;
}

enum mse_rc db_client_state(struct db *db, const char *id, char role[16], bool *enabled,
                            struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id };
    enum mse_rc rc = db_query(db, &client_state, params, &res, err);
    if (rc == MSE_OK) {
        rc = db_res_rows(&res) == 1 ? MSE_OK : MSE_ERR_NOT_FOUND;
        if (rc == MSE_OK) {
            snprintf(role, 16, "%s", db_res_get(&res, 0, 0));
            *enabled = db_res_get(&res, 0, 1)[0] == 't';
        }
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_client_other_admins(struct db *db, const char *except_id, int64_t *n,
                                   struct db_error *err)
{
    const char *params[] = { except_id };
    return db_int_query(db, &client_other_admins, params, n, err);
}
