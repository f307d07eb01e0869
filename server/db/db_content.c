/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of the archived content's upkeep: search text (schema 046) and retention. */
#include "db_content.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db_util.h"

DB_STMT(content_unindexed, 2, true,
        "SELECT u.sha256, coalesce(b.size, -1),"
        " EXISTS (SELECT 1 FROM content_texts t WHERE t.sha256 = u.sha256)"
        " FROM (SELECT DISTINCT v.content_sha256 AS sha256 FROM archive_item_versions v"
        " WHERE v.search IS NULL AND v.content_sha256 IS NOT NULL AND v.content_sha256 > $1"
        " ORDER BY 1 LIMIT $2::int) u LEFT JOIN blobs b ON b.sha256 = u.sha256 ORDER BY 1");
DB_STMT(content_text_insert, 4, false,
        "INSERT INTO content_texts (sha256, outcome, body_text, truncated)"
        " SELECT b.sha256, $2, $3, $4::boolean FROM blobs b WHERE b.sha256 = $1"
        " ON CONFLICT (sha256) DO NOTHING");
DB_STMT(content_versions_index, 1, false,
        "WITH u AS (UPDATE archive_item_versions v SET search = mse_item_search(v.subject,"
        " v.sender, v.\"from\", v.to_recipients, v.cc_recipients, t.body_text)"
        " FROM content_texts t WHERE t.sha256 = $1 AND v.content_sha256 = $1"
        " AND v.search IS NULL RETURNING 1) SELECT count(*) FROM u");

enum mse_rc db_content_unindexed(struct db *db, const char *after, unsigned max,
                                 struct content_unindexed *out, unsigned *n, struct db_error *err)
{
    char lim[16];
    struct db_res res;
    snprintf(lim, sizeof(lim), "%u", max);
    const char *p[] = { after, lim };
    *n = 0;
    enum mse_rc rc = db_query(db, &content_unindexed, p, &res, err);
    for (int i = 0; rc == MSE_OK && i < db_res_rows(&res) && *n < max; i++) {
        struct content_unindexed *c = &out[*n];
        snprintf(c->sha256, sizeof(c->sha256), "%s", db_res_get(&res, i, 0));
        rc = mse_parse_int(db_res_get(&res, i, 1), -1, INT64_MAX, &c->size);
        c->has_text = strcmp(db_res_get(&res, i, 2), "t") == 0;
        *n += rc == MSE_OK;
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_content_text_store(struct db *db, const char *sha256, const char *outcome,
                                  const char *text, bool truncated, int64_t *versions,
                                  struct db_error *err)
{
    *versions = 0;
    enum mse_rc rc = db_begin(db, err);
    if (rc == MSE_OK && outcome) {
        const char *p[] = { sha256, outcome, text ? text : "", truncated ? "true" : "false" };
        rc = db_run(db, &content_text_insert, p, err);
    }
    const char *q[] = { sha256 };
    if (rc == MSE_OK)
        rc = db_int_query(db, &content_versions_index, q, versions, err);
    if (rc == MSE_OK)
        rc = db_commit(db, err);
    else
        db_rollback(db);
    return rc;
}
