/* SPDX-License-Identifier: Apache-2.0 */
/* Shapes of query the db_<resource>.c files share: one rendered document, a page of them. */
#include "db_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "mse/limits.h"
#include "timefmt.h"

void db_doc_cleanup(struct db_doc *d)
{
    if (!d)
        return;
    free(d->json);
    d->json = NULL;
}

static enum mse_rc int_cell(const struct db_res *res, int row, int col, int64_t *out)
{
    const char *v = db_res_get(res, row, col);
    if (!v || mse_parse_int(v, INT64_MIN, INT64_MAX, out) != MSE_OK)
        return MSE_ERR_INTERNAL;
    return MSE_OK;
}

enum mse_rc db_doc_query(struct db *db, struct db_stmt *st, const char *const *params,
                         struct db_doc *doc, struct db_error *err)
{
    struct db_res res;
    doc->json = NULL;
    enum mse_rc rc = db_query(db, st, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    rc = MSE_ERR_NOT_FOUND;
    if (db_res_rows(&res) == 1) {
        rc = int_cell(&res, 0, 1, &doc->version);
        const char *json = db_res_get(&res, 0, 0);
        if (rc == MSE_OK && !json)
            rc = MSE_ERR_INTERNAL;
        if (rc == MSE_OK) {
            doc->json = strdup(json);
            rc = doc->json ? MSE_OK : MSE_ERR_NOMEM;
        }
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_page_query(struct db *db, struct db_stmt *st, const char *const *params,
                          unsigned limit, char **items, int64_t *last_seq, bool *more,
                          struct db_error *err)
{
    struct db_res res;
    struct mse_buf b;
    *items = NULL;
    *more = false;
    *last_seq = 0;
    enum mse_rc rc = db_query(db, st, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    int rows = db_res_rows(&res);
    int keep = rows > (int)limit ? (int)limit : rows;
    mse_buf_init(&b, MSE_MAX_RESPONSE_BODY);
    rc = mse_buf_puts(&b, "[");
    for (int i = 0; rc == MSE_OK && i < keep; i++) {
        const char *json = db_res_get(&res, i, 0);
        if (!json)
            rc = MSE_ERR_INTERNAL;
        if (rc == MSE_OK && i)
            rc = mse_buf_puts(&b, ",");
        if (rc == MSE_OK)
            rc = mse_buf_append(&b, json, db_res_len(&res, i, 0));
        if (rc == MSE_OK)
            rc = int_cell(&res, i, 1, last_seq);
    }
    if (rc == MSE_OK)
        rc = mse_buf_puts(&b, "]");
    if (rc == MSE_OK)
        rc = mse_buf_take(&b, items, NULL);
    *more = rows > (int)limit;
    mse_buf_cleanup(&b);
    db_res_clear(&res);
    return rc;
}

void db_param_time(bool has, time_t t, char *out, size_t size)
{
    out[0] = '\0';
    if (has)
        mse_time_format(t, out, size);
}

enum mse_rc db_int_query(struct db *db, struct db_stmt *st, const char *const *params, int64_t *out,
                         struct db_error *err)
{
    struct db_res res;
    enum mse_rc rc = db_query(db, st, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    rc = db_res_rows(&res) == 1 ? int_cell(&res, 0, 0, out) : MSE_ERR_NOT_FOUND;
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_json_query(struct db *db, struct db_stmt *st, const char *const *params, char **json,
                          struct db_error *err)
{
    struct db_res res;
    *json = NULL;
    enum mse_rc rc = db_query(db, st, params, &res, err);
    if (rc == MSE_OK) {
        rc = db_res_rows(&res) == 1 ? MSE_OK : MSE_ERR_NOT_FOUND;
        if (rc == MSE_OK && !(*json = strdup(db_res_get(&res, 0, 0))))
            rc = MSE_ERR_NOMEM;
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_filtered_page(struct db *db, struct db_stmt *st, const char *filter, bool has_after,
                             int64_t after, unsigned limit, char **items, int64_t *last_seq,
                             bool *more, struct db_error *err)
{
    char after_s[24], limit_s[16];
    snprintf(after_s, sizeof(after_s), "%lld", (long long)after);
    snprintf(limit_s, sizeof(limit_s), "%u", limit + 1);
    const char *params[] = { filter, has_after ? after_s : NULL, limit_s };
    return db_page_query(db, st, params, limit, items, last_seq, more, err);
}
