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
