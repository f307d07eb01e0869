/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL of the archived content's upkeep (schema 046): the text of each content for the
 * archive search, and retention's purge of what the organisation no longer keeps.
 */
#ifndef MSE_DB_CONTENT_H
#define MSE_DB_CONTENT_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "db_util.h"
#include "mse/rc.h"

/* A content some version names and whose search vector is not written yet. */
struct content_unindexed {
    char sha256[65];
    int64_t size;  /* as the blob row records it; -1 when the row is gone */
    bool has_text; /* content_texts holds its text already */
};

/*
 * Up to max such contents with an address after `after` ("" = from the start), in address
 * order, so that content that fails now does not hold back the rest.
 */
enum mse_rc db_content_unindexed(struct db *db, const char *after, unsigned max,
                                 struct content_unindexed *out, unsigned *n,
                                 struct db_error *err) MSE_WUR;

/*
 * In one transaction: records the content's text (outcome as schema 046 lists them) unless
 * recorded already, then writes the search vector of every version naming it that has none;
 * *versions says how many. Nothing is recorded for content whose blob row is gone.
 */
enum mse_rc db_content_text_store(struct db *db, const char *sha256, const char *outcome,
                                  const char *text, bool truncated, int64_t *versions,
                                  struct db_error *err) MSE_WUR;

#endif

/* ---- retention ---- */

/* The retention setting as GET shows it (schema RetentionSetting), its version the ETag's. */
enum mse_rc db_retention_get(struct db *db, bool lock, struct db_doc *doc,
                             struct db_error *err) MSE_WUR;
/* Sets retention_days (NULL: keep forever), inside the caller's transaction. */
enum mse_rc db_retention_set(struct db *db, const char *days, const char *actor,
                             struct db_error *err) MSE_WUR;
/* *days the organisation's retention, *set false when everything is kept forever. */
enum mse_rc db_retention_days(struct db *db, bool *set, int64_t *days,
                              struct db_error *err) MSE_WUR;

/* What one purge batch removed. */
struct retention_batch {
    int64_t versions; /* versions that ended before the window */
    int64_t items;    /* messages (with their versions) deleted in Exchange, or of a task
                         deleted, before the window */
    int64_t blobs;    /* content nothing references any more */
    int64_t bytes;    /* their size */
};

/*
 * Called inside the caller's transaction: removes up to max versions that ended more than days ago,
 * then up to max messages deleted in Exchange (or whose task was deleted) more than days
 * ago, then locks the content those named (waiting for batches that are referencing it) and
 * deletes the rows of the content nothing references any more: their addresses (malloc'd,
 * *nblobs of them) are returned for the store's deletion before the commit.
 */
enum mse_rc db_retention_purge(struct db *db, int64_t days, unsigned max,
                               struct retention_batch *out, char (**blobs)[65], size_t *nblobs,
                               struct db_error *err) MSE_WUR;
