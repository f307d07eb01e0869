/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of authentication: client look-up by client_id, bearer tokens, the bootstrap client. */
#include "db_auth.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

DB_STMT(auth_client_find, 1, true,
        "SELECT id, client_id, role, site_id, mailbox, secret_hash, enabled FROM api_clients"
        " WHERE client_id = $1");
DB_STMT(auth_token_insert, 3, false,
        "WITH expired AS (DELETE FROM access_tokens WHERE client_uuid = $2"
        " AND expires_at < now() - interval '1 hour')"
        " INSERT INTO access_tokens (token_hash, client_uuid, expires_at)"
        " VALUES ($1, $2, now() + make_interval(secs => $3::int))");
DB_STMT(auth_token_find, 1, true,
        "SELECT c.id, c.client_id, c.role, c.site_id, c.mailbox,"
        " (extract(epoch FROM t.expires_at - now()) * 1000)::bigint"
        " FROM access_tokens t JOIN api_clients c ON c.id = t.client_uuid"
        " WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now()"
        " AND c.enabled");
DB_STMT(auth_token_revoke, 2, false,
        "UPDATE access_tokens SET revoked_at = now() WHERE token_hash = $1 AND client_uuid = $2"
        " AND revoked_at IS NULL");
DB_STMT(auth_tokens_revoke_all, 1, false,
        "UPDATE access_tokens SET revoked_at = now() WHERE client_uuid = $1"
        " AND revoked_at IS NULL AND expires_at > now()");
DB_STMT(auth_any_client, 0, true, "SELECT EXISTS (SELECT 1 FROM api_clients)");
DB_STMT(auth_bootstrap_lock, 0, false,
        "SELECT pg_advisory_xact_lock(hashtextextended('mse:bootstrap', 0))");

/* Columns id, client_id, role, site_id, mailbox of row 0 into a principal. */
static void principal_from_row(const struct db_res *res, struct principal *p)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->client_uuid, sizeof(p->client_uuid), "%s", db_res_get(res, 0, 0));
    snprintf(p->client_id, sizeof(p->client_id), "%s", db_res_get(res, 0, 1));
    p->kind = principal_kind_parse(db_res_get(res, 0, 2));
    const char *site = db_res_get(res, 0, 3);
    snprintf(p->site_id, sizeof(p->site_id), "%s", site ? site : "");
    const char *mailbox = db_res_get(res, 0, 4);
    snprintf(p->mailbox, sizeof(p->mailbox), "%s", mailbox ? mailbox : "");
}

enum mse_rc db_auth_client_find(struct db *db, const char *client_id, struct db_auth_client *out,
                                struct db_error *err)
{
    struct db_res res;
    const char *params[] = { client_id };
    enum mse_rc rc = db_query(db, &auth_client_find, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    rc = MSE_ERR_NOT_FOUND;
    if (db_res_rows(&res) == 1) {
        principal_from_row(&res, &out->principal);
        snprintf(out->secret_hash, sizeof(out->secret_hash), "%s", db_res_get(&res, 0, 5));
        out->enabled = db_res_get(&res, 0, 6)[0] == 't';
        rc = MSE_OK;
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_auth_token_insert(struct db *db, const char *hash_hex, const char *client_uuid,
                                 unsigned ttl, struct db_error *err)
{
    char secs[16];
    snprintf(secs, sizeof(secs), "%u", ttl);
    const char *params[] = { hash_hex, client_uuid, secs };
    return db_run(db, &auth_token_insert, params, err);
}

enum mse_rc db_auth_token_find(struct db *db, const char *hash_hex, struct principal *out,
                               int64_t *remaining_ms, struct db_error *err)
{
    struct db_res res;
    const char *params[] = { hash_hex };
    enum mse_rc rc = db_query(db, &auth_token_find, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    rc = MSE_ERR_NOT_FOUND;
    if (db_res_rows(&res) == 1) {
        principal_from_row(&res, out);
        rc = mse_parse_int(db_res_get(&res, 0, 5), INT64_MIN, INT64_MAX, remaining_ms);
    }
    db_res_clear(&res);
    return rc;
}

/* Runs an UPDATE and reports whether it touched a row. */
static enum mse_rc run_counted(struct db *db, struct db_stmt *st, const char *const *params,
                               bool *touched, struct db_error *err)
{
    struct db_res res;
    enum mse_rc rc = db_query(db, st, params, &res, err);
    if (rc == MSE_OK && touched)
        *touched = db_res_affected(&res) > 0;
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_auth_token_revoke(struct db *db, const char *hash_hex, const char *client_uuid,
                                 bool *revoked, struct db_error *err)
{
    const char *params[] = { hash_hex, client_uuid };
    return run_counted(db, &auth_token_revoke, params, revoked, err);
}

enum mse_rc db_auth_tokens_revoke_all(struct db *db, const char *client_uuid, struct db_error *err)
{
    const char *params[] = { client_uuid };
    return run_counted(db, &auth_tokens_revoke_all, params, NULL, err);
}

enum mse_rc db_auth_any_client(struct db *db, bool *any, struct db_error *err)
{
    struct db_res res;
    enum mse_rc rc = db_query(db, &auth_any_client, NULL, &res, err);
    if (rc == MSE_OK)
        *any = db_res_get(&res, 0, 0)[0] == 't';
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_auth_bootstrap_lock(struct db *db, struct db_error *err)
{
    return db_run(db, &auth_bootstrap_lock, NULL, err);
}
