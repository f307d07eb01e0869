/* SPDX-License-Identifier: Apache-2.0 */
/* The archive search's indexer of archived message content, and retention (schema 046). */
#include "content.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blobstore.h"
#include "db.h"
#include "db_audit.h"
#include "db_content.h"
#include "log.h"
#include "mime.h"
#include "server.h"

/* The text of one content: *outcome NULL when the store failed (serr says why). */
static enum mse_rc extract(struct server_ctx *srv, const struct content_unindexed *c,
                           const char **outcome, struct mime_message *m, struct mse_err *serr)
{
    int fd = -1;
    int64_t size = 0;
    *outcome = NULL;
    enum mse_rc rc = blobstore_open_verified(srv->blobs, c->sha256, &fd, &size, serr);
    if (rc == MSE_ERR_NOT_FOUND) {
        *outcome = "missing";
        return MSE_OK;
    }
    if (rc != MSE_OK)
        return rc;
    /* From the verified file: attachments are never read, memory stays small. */
    enum mime_outcome mo;
    rc = mime_parse_archived_fd(fd, m, &mo);
    if (rc == MSE_OK)
        *outcome = mo == MIME_PARSED ? "extracted" : "not_message";
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

/* One batch in its own transaction: the rows, then the store's objects, then the commit. */
static enum mse_rc retention_batch(struct server_ctx *srv, struct db *db, int64_t days,
                                   struct retention_batch *b, struct db_error *err)
{
    char(*blobs)[65] = NULL;
    size_t n = 0;
    enum mse_rc rc = db_begin(db, err);
    if (rc == MSE_OK)
        rc = db_retention_purge(db, days, RETENTION_BATCH, b, &blobs, &n, err);
    for (size_t i = 0; rc == MSE_OK && i < n; i++) {
        struct mse_err serr = { { 0 } };
        /*
         * Before the commit, as the collector of uploads does: while the row is locked an
         * upload of the same content waits, and writes it again once this has committed.
         */
        rc = blobstore_delete(srv->blobs, blobs[i], &serr);
        if (rc != MSE_OK)
            snprintf(err->message, sizeof(err->message), "%.250s", serr.msg);
    }
    free(blobs);
    if (rc == MSE_OK)
        rc = db_commit(db, err);
    else
        db_rollback(db);
    return rc;
}

static enum mse_rc retention_audit(struct db *db, int64_t days, unsigned batches,
                                   const struct retention_batch *t, struct db_error *err)
{
    char after[256];
    snprintf(after, sizeof(after),
             "{\"retention_days\": %lld, \"batches\": %u, \"versions\": %lld, \"items\": %lld,"
             " \"blobs\": %lld, \"bytes\": %lld}",
             (long long)days, batches, (long long)t->versions, (long long)t->items,
             (long long)t->blobs, (long long)t->bytes);
    const struct audit_event e = { .action = "retention.sweep",
                                   .resource_type = "settings",
                                   .resource_id = "retention",
                                   .after = after };
    enum mse_rc rc = db_begin(db, err);
    if (rc == MSE_OK)
        rc = db_audit_insert(db, NULL, NULL, NULL, &e, err);
    if (rc == MSE_OK)
        rc = db_commit(db, err);
    else
        db_rollback(db);
    return rc;
}

enum mse_rc retention_sweep(struct server_ctx *srv, struct db *db, bool *more, struct db_error *err)
{
    bool set = false;
    int64_t days = 0;
    struct retention_batch total = { 0 };
    unsigned batches = 0;
    *more = false;
    enum mse_rc rc = db_retention_days(db, &set, &days, err);
    for (; rc == MSE_OK && set && batches < RETENTION_SWEEP_BATCHES; batches++) {
        struct retention_batch b;
        rc = retention_batch(srv, db, days, &b, err);
        if (rc != MSE_OK)
            break;
        total.versions += b.versions;
        total.items += b.items;
        total.blobs += b.blobs;
        total.bytes += b.bytes;
        *more = b.versions == RETENTION_BATCH || b.items >= RETENTION_BATCH;
        if (!*more) {
            batches++;
            break;
        }
    }
    /* What committed is reported even when a later batch failed. */
    if (total.versions + total.items + total.blobs > 0) {
        LOG_INFO(NULL,
                 "retention: purged %lld version(s), %lld message(s), %lld content blob(s) "
                 "(%lld bytes) older than %lld day(s)",
                 (long long)total.versions, (long long)total.items, (long long)total.blobs,
                 (long long)total.bytes, (long long)days);
        struct db_error aerr;
        enum mse_rc arc = retention_audit(db, days, batches, &total, rc == MSE_OK ? err : &aerr);
        if (rc == MSE_OK)
            rc = arc;
    }
    return rc;
}
