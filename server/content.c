/* SPDX-License-Identifier: Apache-2.0 */
/* The archive search's indexer of archived message content (schema 046). */
#include "content.h"

#include <stdio.h>
#include <string.h>

#include "blobstore.h"
#include "buf.h"
#include "db.h"
#include "db_content.h"
#include "log.h"
#include "mime.h"
#include "server.h"

/*
 * GMime holds a parsed message in memory, a few times its size: content above the largest
 * message journal ingest parses is searched by its subject and addresses only.
 */
#define CONTENT_PARSE_MAX MSE_MAX_JOURNAL_BODY

static bool collect(void *arg, const void *data, size_t n)
{
    return mse_buf_append(arg, data, n) == MSE_OK;
}

/* The text of one content: *outcome NULL when the store failed (err says why). */
static enum mse_rc extract(struct server_ctx *srv, const struct content_unindexed *c,
                           const char **outcome, struct mime_message *m, struct mse_err *serr)
{
    *outcome = NULL;
    if (c->size > (int64_t)CONTENT_PARSE_MAX) {
        *outcome = "too_large";
        return MSE_OK;
    }
    struct mse_buf b;
    mse_buf_init(&b, CONTENT_PARSE_MAX);
    enum mse_rc rc = blobstore_get(srv->blobs, c->sha256, collect, &b, serr);
    if (rc == MSE_ERR_NOT_FOUND) {
        *outcome = "missing";
        rc = MSE_OK;
    } else if (rc == MSE_OK) {
        enum mime_outcome mo;
        rc = mime_parse_archived(b.data ? b.data : "", b.len, m, &mo);
        if (rc == MSE_OK)
            *outcome = mo == MIME_PARSED ? "extracted" : "not_message";
    }
    mse_buf_cleanup(&b);
    return rc;
}

/* One content: its text (when not known yet), then the vectors of the versions naming it. */
static enum mse_rc index_one(struct server_ctx *srv, struct db *db,
                             const struct content_unindexed *c, struct db_error *err)
{
    struct mime_message m = { 0 };
    const char *outcome = NULL;
    struct mse_err serr = { { 0 } };
    enum mse_rc rc = MSE_OK;
    if (!c->has_text && c->size >= 0) {
        rc = extract(srv, c, &outcome, &m, &serr);
        if (rc == MSE_ERR_NOMEM) {
            mime_message_cleanup(&m);
            return rc;
        }
        if (!outcome) {
            /* Unreachable or damaged now: the next pass tries again. */
            LOG_WARN(NULL, "archive search: content %s not read (%s): %s", c->sha256,
                     mse_rc_str(rc), serr.msg);
            mime_message_cleanup(&m);
            return MSE_OK;
        }
    }
    int64_t versions = 0;
    rc = db_content_text_store(db, c->sha256, outcome, m.text, m.text_truncated, &versions, err);
    mime_message_cleanup(&m);
    return rc;
}

enum mse_rc content_index(struct server_ctx *srv, struct db *db, char *after, unsigned *indexed,
                          struct db_error *err)
{
    struct content_unindexed c[CONTENT_INDEX_BATCH];
    unsigned n = 0;
    *indexed = 0;
    enum mse_rc rc = db_content_unindexed(db, after, CONTENT_INDEX_BATCH, c, &n, err);
    for (unsigned i = 0; rc == MSE_OK && i < n; i++) {
        rc = index_one(srv, db, &c[i], err);
        if (rc == MSE_OK)
            memcpy(after, c[i].sha256, 65);
        *indexed += rc == MSE_OK;
    }
    /* The end of the addresses: the next round starts over (content skipped now included). */
    if (rc == MSE_OK && n < CONTENT_INDEX_BATCH)
        after[0] = '\0';
    return rc;
}
