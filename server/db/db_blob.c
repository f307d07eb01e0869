/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of the blob store's bookkeeping (schema 011, 027, 033). */
#include "db_blob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db_util.h"

/* Existence is answered per site (F7): content another site uploaded is not revealed. */
DB_STMT(blob_exists, 2, true,
        "SELECT b.size FROM blob_holders h JOIN blobs b ON b.sha256 = h.sha256"
        " WHERE h.site_id = $1::uuid AND h.sha256 = $2");
/*
 * 1 in the first column when the row is new, in the second when this site held it already.
 * A re-upload restarts the grace period: content someone just sent is about to be referenced.
 */
DB_STMT(blob_record, 4, false,
        "WITH b AS (INSERT INTO blobs (sha256, size, backend) VALUES ($2, $3::bigint, $4)"
        " ON CONFLICT (sha256) DO UPDATE SET uploaded_at = now() RETURNING (xmax = 0) AS new),"
        " h AS (INSERT INTO blob_holders (site_id, sha256) SELECT $1::uuid, $2 FROM b"
        " ON CONFLICT (site_id, sha256) DO NOTHING RETURNING 1)"
        " SELECT (SELECT count(*) FROM b WHERE new), (SELECT count(*) FROM h)");
/* Holders go with the row (ON DELETE CASCADE, schema 033). */
DB_STMT(blob_collect, 1, false,
        "DELETE FROM blobs WHERE sha256 = (SELECT sha256 FROM blobs WHERE referenced_at IS NULL"
        " AND backend IS NOT NULL AND uploaded_at < now() - make_interval(secs => $1::int)"
        " ORDER BY uploaded_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING sha256, json_build_object('size', size, 'backend', backend,"
        " 'uploaded_at', to_char(uploaded_at AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))");
DB_STMT(blob_legacy_next, 1, true,
        "SELECT sha256 FROM blobs WHERE content IS NOT NULL AND sha256 > $1 ORDER BY sha256 LIMIT "
        "1");
DB_STMT(blob_legacy_content, 1, true, "SELECT content FROM blobs WHERE sha256 = $1");
DB_STMT(blob_moved, 2, false,
        "UPDATE blobs SET content = NULL, backend = $2 WHERE sha256 = $1 AND content IS NOT NULL");

enum mse_rc db_blob_exists(struct db *db, const char *site_id, const char *sha256, bool *exists,
                           int64_t *size, struct db_error *err)
{
    struct db_res res;
    const char *params[] = { site_id, sha256 };
    enum mse_rc rc = db_query(db, &blob_exists, params, &res, err);
    *exists = rc == MSE_OK && db_res_rows(&res) == 1;
    if (*exists)
        rc = mse_parse_int(db_res_get(&res, 0, 0), 0, INT64_MAX, size);
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_blob_record(struct db *db, const char *site_id, const char *sha256, int64_t size,
                           const char *backend, bool *created, bool *held_before,
                           struct db_error *err)
{
    char n[24];
    struct db_res res;
    snprintf(n, sizeof(n), "%lld", (long long)size);
    const char *params[] = { site_id, sha256, n, backend };
    enum mse_rc rc = db_query(db, &blob_record, params, &res, err);
    bool row = rc == MSE_OK && db_res_rows(&res) == 1;
    *created = row && strcmp(db_res_get(&res, 0, 0), "1") == 0;
    *held_before = row && strcmp(db_res_get(&res, 0, 1), "0") == 0;
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_blob_collect_one(struct db *db, unsigned grace_seconds,
                                struct db_blob_collected *out, bool *found, struct db_error *err)
{
    char grace[16];
    struct db_res res;
    snprintf(grace, sizeof(grace), "%u", grace_seconds);
    const char *params[] = { grace };
    enum mse_rc rc = db_query(db, &blob_collect, params, &res, err);
    *found = rc == MSE_OK && db_res_rows(&res) == 1;
    if (*found) {
        snprintf(out->sha256, sizeof(out->sha256), "%s", db_res_get(&res, 0, 0));
        snprintf(out->before, sizeof(out->before), "%s", db_res_get(&res, 0, 1));
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_blob_legacy_next(struct db *db, const char *after, char sha256[65], char **data,
                                size_t *len, bool *found, struct db_error *err)
{
    struct db_res res;
    *found = false;
    *data = NULL;
    *len = 0;
    const char *p[] = { after };
    enum mse_rc rc = db_query(db, &blob_legacy_next, p, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) == 1)
        snprintf(sha256, 65, "%s", db_res_get(&res, 0, 0));
    bool any = rc == MSE_OK && db_res_rows(&res) == 1;
    db_res_clear(&res);
    if (!any)
        return rc;
    const char *params[] = { sha256 };
    rc = db_query_raw(db, &blob_legacy_content, params, &res, err);
    const char *v = rc == MSE_OK && db_res_rows(&res) == 1 ? db_res_get(&res, 0, 0) : NULL;
    if (v) {
        size_t n = db_res_len(&res, 0, 0);
        *data = malloc(n ? n : 1);
        rc = *data ? MSE_OK : MSE_ERR_NOMEM;
        if (rc == MSE_OK) {
            memcpy(*data, v, n);
            *len = n;
            *found = true;
        }
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_blob_moved(struct db *db, const char *sha256, const char *backend,
                          struct db_error *err)
{
    const char *params[] = { sha256, backend };
    return db_run(db, &blob_moved, params, err);
}
