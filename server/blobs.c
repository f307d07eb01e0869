/* SPDX-License-Identifier: Apache-2.0 */
/* The blob store's start-up copy and its collector of unreferenced uploads. */
#include "blobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blobstore.h"
#include "db.h"
#include "db_audit.h"
#include "db_blob.h"
#include "log.h"
#include "server.h"

enum mse_rc blobs_move_from_database(struct server_ctx *srv, struct db *db, struct db_error *err)
{
    const char *backend = blobstore_backend_name(srv->blobs);
    char after[65] = "", sha[65];
    unsigned moved = 0, bad = 0;
    for (;;) {
        char *data = NULL;
        size_t len = 0;
        bool found = false;
        enum mse_rc rc = db_blob_legacy_next(db, after, sha, &data, &len, &found, err);
        if (rc != MSE_OK || !found) {
            free(data);
            if (rc == MSE_OK && moved + bad > 0)
                LOG_INFO(NULL, "blob store: %u blob(s) copied from the database, %u left there",
                         moved, bad);
            return rc;
        }
        char got[BLOBSTORE_SHA_HEX];
        struct mse_err serr = { { 0 } };
        rc = blobstore_put(srv->blobs, data, len, sha, got, &serr);
        free(data);
        memcpy(after, sha, sizeof(after));
        if (rc == MSE_ERR_INVALID) {
            /* Not what its address says: keep it for a person to look at, move on. */
            LOG_WARN(NULL, "blob store: %s", serr.msg);
            bad++;
            continue;
        }
        if (rc != MSE_OK) {
            snprintf(err->message, sizeof(err->message), "%.250s", serr.msg);
            return rc;
        }
        rc = db_blob_moved(db, sha, backend, err);
        if (rc != MSE_OK)
            return rc;
        moved++;
    }
}

/* One blob: its row goes, then its content, then the deletion commits with its audit event. */
static enum mse_rc sweep_one(struct server_ctx *srv, struct db *db, bool *found,
                             struct db_error *err)
{
    struct db_blob_collected c;
    *found = false;
    enum mse_rc rc = db_begin(db, err);
    if (rc == MSE_OK)
        rc = db_blob_collect_one(db, srv->cfg.blob_grace_seconds, &c, found, err);
    if (rc == MSE_OK && *found) {
        struct mse_err serr = { { 0 } };
        /*
         * Before the commit: while the row is locked an upload of the same content waits, so
         * whatever it writes lands after this delete and is recorded again.
         */
        rc = blobstore_delete(srv->blobs, c.sha256, &serr);
        if (rc != MSE_OK)
            snprintf(err->message, sizeof(err->message), "%.250s", serr.msg);
    }
    if (rc == MSE_OK && *found) {
        const struct audit_event e = { .action = "blob.collect",
                                       .resource_type = "blob",
                                       .resource_id = c.sha256,
                                       .before = c.before };
        rc = db_audit_insert(db, NULL, NULL, NULL, &e, err);
    }
    if (rc == MSE_OK)
        rc = db_commit(db, err);
    else
        db_rollback(db);
    return rc;
}

enum mse_rc blobs_sweep(struct server_ctx *srv, struct db *db, unsigned *collected,
                        struct db_error *err)
{
    bool found = true;
    enum mse_rc rc = MSE_OK;
    *collected = 0;
    while (rc == MSE_OK && found && *collected < BLOBS_SWEEP_BATCH) {
        rc = sweep_one(srv, db, &found, err);
        *collected += rc == MSE_OK && found;
    }
    if (*collected > 0)
        LOG_INFO(NULL, "blob store: collected %u unreferenced upload(s) past the grace period",
                 *collected);
    return rc;
}
