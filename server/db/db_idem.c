/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of Idempotency-Key records: in-flight detection, lookup, storing a response. */
#include "db_idem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

DB_STMT(idem_lock, 2, false,
        "SELECT pg_try_advisory_xact_lock(hashtextextended('idem:' || $1 || ':' || $2, 0))");
DB_STMT(idem_find, 2, false,
        "SELECT request_hash, status, location, etag, body FROM idempotency_keys"
        " WHERE client_uuid = $1 AND key = $2 AND created_at > now() - interval '24 hours'");
DB_STMT(idem_store, 7, false,
        "WITH expired AS (DELETE FROM idempotency_keys WHERE client_uuid = $1"
        " AND created_at <= now() - interval '24 hours')"
        " INSERT INTO idempotency_keys (client_uuid, key, request_hash, status, location, etag,"
        " body) VALUES ($1, $2, $3, $4, $5, $6, $7::bytea)"
        " ON CONFLICT (client_uuid, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
        " status = EXCLUDED.status, location = EXCLUDED.location, etag = EXCLUDED.etag,"
        " body = EXCLUDED.body, created_at = now()");

void db_idem_row_cleanup(struct db_idem_row *r)
{
    if (!r)
        return;
    free(r->location);
    free(r->etag);
    free(r->body);
    r->location = r->etag = r->body = NULL;
}

enum mse_rc db_idem_lock(struct db *db, const char *client_uuid, const char *key, bool *got,
                         struct db_error *err)
{
    struct db_res res;
    const char *params[] = { client_uuid, key };
    enum mse_rc rc = db_query(db, &idem_lock, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    const char *v = db_res_get(&res, 0, 0);
    *got = v && v[0] == 't';
    db_res_clear(&res);
    return MSE_OK;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

enum mse_rc db_idem_find(struct db *db, const char *client_uuid, const char *key,
                         struct db_idem_row *out, struct db_error *err)
{
    struct db_res res;
    const char *params[] = { client_uuid, key };
    memset(out, 0, sizeof(*out));
    enum mse_rc rc = db_query(db, &idem_find, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    rc = MSE_ERR_NOT_FOUND;
    if (db_res_rows(&res) == 1) {
        snprintf(out->request_hash, sizeof(out->request_hash), "%s", db_res_get(&res, 0, 0));
        out->status = (unsigned)strtoul(db_res_get(&res, 0, 1), NULL, 10);
        out->location = dup_or_null(db_res_get(&res, 0, 2));
        out->etag = dup_or_null(db_res_get(&res, 0, 3));
        out->body = dup_or_null(db_res_get(&res, 0, 4));
        rc = out->body ? MSE_OK : MSE_ERR_NOMEM;
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_idem_store(struct db *db, const char *client_uuid, const char *key,
                          const struct db_idem_row *row, struct db_error *err)
{
    char status[8];
    snprintf(status, sizeof(status), "%u", row->status);
    const char *params[] = { client_uuid,   key,       row->request_hash, status,
                             row->location, row->etag, row->body };
    return db_run(db, &idem_store, params, err);
}
