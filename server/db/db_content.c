/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of the archived content's upkeep: search text (schema 046) and retention. */
#include "db_content.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "buf.h"
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

/* ---- retention ---- */

#define RETENTION_JSON                                                                             \
    "json_build_object('retention_days', retention_days, 'updated_at', mse_ts(updated_at),"        \
    " 'updated_by', updated_by)::text, version"
DB_STMT(retention_get, 0, true, "SELECT " RETENTION_JSON " FROM organisation_settings");
DB_STMT(retention_get_lock, 0, false,
        "SELECT " RETENTION_JSON " FROM organisation_settings FOR UPDATE");
DB_STMT(retention_set, 2, false,
        "UPDATE organisation_settings SET retention_days = $1::int, version = version + 1,"
        " updated_at = now(), updated_by = $2");
DB_STMT(retention_days, 0, true, "SELECT retention_days FROM organisation_settings");

/*
 * Candidates are locked SKIP LOCKED (another server's sweeper, or a batch writing the item,
 * holds them: the next sweep takes them). The content they named comes back as one array.
 */
#define PURGE_BEFORE " < now() - make_interval(days => $1::int)"
DB_STMT(retention_versions, 2, false,
        "WITH c AS (SELECT v.partition_id, v.item_id, v.valid_from FROM archive_item_versions v"
        " WHERE v.valid_to" PURGE_BEFORE
        " ORDER BY v.valid_to LIMIT $2::int FOR UPDATE SKIP LOCKED),"
        " d AS (DELETE FROM archive_item_versions v USING c WHERE v.partition_id = c.partition_id"
        " AND v.item_id = c.item_id AND v.valid_from = c.valid_from RETURNING v.content_sha256)"
        " SELECT count(*), coalesce(array_agg(DISTINCT content_sha256)"
        " FILTER (WHERE content_sha256 IS NOT NULL), '{}')::text FROM d");
#define PURGE_ITEMS(candidates)                                                                    \
    "WITH c AS (" candidates " LIMIT $2::int FOR UPDATE OF i SKIP LOCKED),"                        \
    " v AS (DELETE FROM archive_item_versions x USING c WHERE x.partition_id = c.partition_id"     \
    " AND x.item_id = c.item_id RETURNING x.content_sha256),"                                      \
    " d AS (DELETE FROM archive_items i USING c WHERE i.partition_id = c.partition_id"             \
    " AND i.item_id = c.item_id RETURNING i.content_sha256)"                                       \
    " SELECT (SELECT count(*) FROM d), coalesce((SELECT array_agg(DISTINCT s.h) FROM"              \
    " (SELECT content_sha256 FROM v UNION SELECT content_sha256 FROM d) AS s (h)"                  \
    " WHERE s.h IS NOT NULL), '{}')::text"
DB_STMT(retention_deleted_items, 2, false,
        PURGE_ITEMS("SELECT i.partition_id, i.item_id FROM archive_items i"
                    " WHERE i.deleted_at" PURGE_BEFORE " ORDER BY i.deleted_at"));
/* A deleted task's archive is kept until the retention period has passed since (seed 002). */
DB_STMT(retention_task_items, 2, false,
        PURGE_ITEMS("SELECT i.partition_id, i.item_id FROM exchange_tasks t"
                    " JOIN archive_partitions p ON p.task_id = t.id"
                    " JOIN archive_items i ON i.partition_id = p.id"
                    " WHERE t.deleted_at" PURGE_BEFORE));
/*
 * The content rows, locked in address order: a batch naming them holds them FOR KEY SHARE
 * until it commits (db_submit.c), so it is waited for, and what it wrote is seen by the next
 * statement.
 */
DB_STMT(retention_lock_blobs, 1, false,
        "SELECT sha256 FROM blobs WHERE sha256 = ANY($1::text[]) ORDER BY sha256 FOR UPDATE");
/* Every reference the archive has to content; holders and texts go with the row. */
DB_STMT(retention_delete_blobs, 1, false,
        "DELETE FROM blobs b WHERE b.sha256 = ANY($1::text[])"
        " AND NOT EXISTS (SELECT 1 FROM archive_items i WHERE i.content_sha256 = b.sha256)"
        " AND NOT EXISTS (SELECT 1 FROM archive_item_versions v WHERE v.content_sha256 = b.sha256)"
        " AND NOT EXISTS (SELECT 1 FROM journal_messages j WHERE j.sha256 = b.sha256)"
        " AND NOT EXISTS (SELECT 1 FROM archive_appointments a WHERE a.attachments @>"
        " jsonb_build_array(jsonb_build_object('sha256', b.sha256)))"
        " RETURNING b.sha256, b.size");

enum mse_rc db_retention_get(struct db *db, bool lock, struct db_doc *doc, struct db_error *err)
{
    return db_doc_query(db, lock ? &retention_get_lock : &retention_get, NULL, doc, err);
}

enum mse_rc db_retention_set(struct db *db, const char *days, const char *actor,
                             struct db_error *err)
{
    const char *p[] = { days, actor };
    return db_run(db, &retention_set, p, err);
}

enum mse_rc db_retention_days(struct db *db, bool *set, int64_t *days, struct db_error *err)
{
    struct db_res res;
    *set = false;
    enum mse_rc rc = db_query(db, &retention_days, NULL, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) == 1 && db_res_get(&res, 0, 0)) {
        rc = mse_parse_int(db_res_get(&res, 0, 0), 1, INT32_MAX, days);
        *set = rc == MSE_OK;
    }
    db_res_clear(&res);
    return rc;
}

/* Runs one purge statement: *count rows, and the content it named appended to *shas. */
static enum mse_rc purge_run(struct db *db, struct db_stmt *st, const char *const *p,
                             int64_t *count, struct mse_buf *shas, struct db_error *err)
{
    struct db_res res;
    enum mse_rc rc = db_query(db, st, p, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) != 1)
        rc = MSE_ERR_INTERNAL;
    if (rc == MSE_OK)
        rc = mse_parse_int(db_res_get(&res, 0, 0), 0, INT64_MAX, count);
    const char *arr = rc == MSE_OK ? db_res_get(&res, 0, 1) : "{}";
    size_t n = strlen(arr);
    /* "{a,b}": the members without the braces, comma-joined onto what is there. */
    if (rc == MSE_OK && n > 2) {
        if (shas->len > 0)
            rc = mse_buf_puts(shas, ",");
        if (rc == MSE_OK)
            rc = mse_buf_append(shas, arr + 1, n - 2);
    }
    db_res_clear(&res);
    return rc;
}

static enum mse_rc purge_blobs(struct db *db, const char *array, struct retention_batch *out,
                               char (**blobs)[65], size_t *nblobs, struct db_error *err)
{
    struct db_res res;
    const char *p[] = { array };
    enum mse_rc rc = db_run(db, &retention_lock_blobs, p, err);
    if (rc == MSE_OK)
        rc = db_query(db, &retention_delete_blobs, p, &res, err);
    if (rc != MSE_OK)
        return rc;
    int rows = db_res_rows(&res);
    *blobs = rows > 0 ? calloc((size_t)rows, sizeof(**blobs)) : NULL;
    if (rows > 0 && !*blobs)
        rc = MSE_ERR_NOMEM;
    for (int i = 0; rc == MSE_OK && i < rows; i++) {
        int64_t size = 0;
        snprintf((*blobs)[i], 65, "%s", db_res_get(&res, i, 0));
        rc = mse_parse_int(db_res_get(&res, i, 1), 0, INT64_MAX, &size);
        out->bytes += size;
    }
    if (rc == MSE_OK) {
        *nblobs = (size_t)rows;
        out->blobs = rows;
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_retention_purge(struct db *db, int64_t days, unsigned max,
                               struct retention_batch *out, char (**blobs)[65], size_t *nblobs,
                               struct db_error *err)
{
    char d[24], lim[16];
    struct mse_buf shas;
    int64_t deleted = 0, task = 0;
    snprintf(d, sizeof(d), "%lld", (long long)days);
    snprintf(lim, sizeof(lim), "%u", max);
    const char *p[] = { d, lim };
    memset(out, 0, sizeof(*out));
    *blobs = NULL;
    *nblobs = 0;
    mse_buf_init(&shas, (size_t)max * 3 * 66 + 2);
    enum mse_rc rc = mse_buf_puts(&shas, "");
    if (rc == MSE_OK)
        rc = purge_run(db, &retention_versions, p, &out->versions, &shas, err);
    if (rc == MSE_OK)
        rc = purge_run(db, &retention_deleted_items, p, &deleted, &shas, err);
    if (rc == MSE_OK)
        rc = purge_run(db, &retention_task_items, p, &task, &shas, err);
    out->items = deleted + task;
    if (rc == MSE_OK && shas.len > 0) {
        struct mse_buf arr;
        mse_buf_init(&arr, shas.max + 2);
        rc = mse_buf_printf(&arr, "{%s}", shas.data);
        if (rc == MSE_OK)
            rc = purge_blobs(db, arr.data, out, blobs, nblobs, err);
        mse_buf_cleanup(&arr);
    }
    mse_buf_cleanup(&shas);
    return rc;
}
