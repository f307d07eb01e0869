/* SPDX-License-Identifier: Apache-2.0 */
/* Shapes of query the db_<resource>.c files share: one rendered document, a page of them. */
#ifndef MSE_DB_UTIL_H
#define MSE_DB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "db.h"
#include "mse/rc.h"

/*
 * A live Exchange task (alias t): not deleted, and not the twin through which a sync task
 * runs its executions (schema 038) — those are shown under /sync-tasks only.
 */
#define LIVE_EXCHANGE_TASK "(t.deleted_at IS NULL AND t.type <> 'sync_recover')"

/* A resource rendered by SQL, and the version its ETag is made of. */
struct db_doc {
    char *json; /* malloc'd JSON object text */
    int64_t version;
};

void db_doc_cleanup(struct db_doc *d);

/*
 * Runs a statement returning at most one row (json text, version bigint) into *doc.
 * MSE_ERR_NOT_FOUND when no row.
 */
enum mse_rc db_doc_query(struct db *db, struct db_stmt *st, const char *const *params,
                         struct db_doc *doc, struct db_error *err) MSE_WUR;

/*
 * Runs a statement returning rows (json text, seq bigint) — asked for limit + 1 rows — and
 * joins the first limit of them into a JSON array text (*items, malloc'd). *last_seq is the
 * seq of the last row kept; *more says whether a further row exists.
 */
enum mse_rc db_page_query(struct db *db, struct db_stmt *st, const char *const *params,
                          unsigned limit, char **items, int64_t *last_seq, bool *more,
                          struct db_error *err) MSE_WUR;

/*
 * db_page_query of a list statement taking ($1 filter or NULL, $2 seq to start after or NULL,
 * $3 row limit): the shape of every collection with one optional filter.
 */
enum mse_rc db_filtered_page(struct db *db, struct db_stmt *st, const char *filter, bool has_after,
                             int64_t after, unsigned limit, char **items, int64_t *last_seq,
                             bool *more, struct db_error *err) MSE_WUR;

/* Writes t as an RFC 3339 parameter when has is true (out is left empty otherwise). */
void db_param_time(bool has, time_t t, char *out, size_t size);

/* Runs a statement returning one row of one text column into a malloc'd *json. NOT_FOUND: none. */
enum mse_rc db_json_query(struct db *db, struct db_stmt *st, const char *const *params, char **json,
                          struct db_error *err) MSE_WUR;

/* Runs a statement that must return one row with one bigint (counts, versions …). */
enum mse_rc db_int_query(struct db *db, struct db_stmt *st, const char *const *params, int64_t *out,
                         struct db_error *err) MSE_WUR;

#endif
