/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL of the blob store's bookkeeping: which blobs the store holds, which site uploaded which,
 * which are referenced, the collector of unreferenced uploads, and the one-off copy of content
 * that schema 033 left in the database.
 */
#ifndef MSE_DB_BLOB_H
#define MSE_DB_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "mse/rc.h"

/*
 * A site sees only content it uploaded itself: *exists for site_id alone, with the size.
 */
enum mse_rc db_blob_exists(struct db *db, const char *site_id, const char *sha256, bool *exists,
                           int64_t *size, struct db_error *err) MSE_WUR;

/*
 * Records an upload whose content the store (backend "fs" or "s3") now holds: the row is
 * created when new (*created) and its grace period restarts; site_id is recorded as holding
 * it (*held_before when it already did). Idempotent. Call only after the store's put.
 */
enum mse_rc db_blob_record(struct db *db, const char *site_id, const char *sha256, int64_t size,
                           const char *backend, bool *created, bool *held_before,
                           struct db_error *err) MSE_WUR;

/* A blob the collector removed from the table (its content is still to delete). */
struct db_blob_collected {
    char sha256[65];
    char before[192]; /* {"size", "backend", "uploaded_at"} for the audit event */
};

/*
 * Inside the caller's transaction: deletes one blob that nothing references and whose latest
 * upload is older than grace_seconds, skipping rows another transaction holds (a submit
 * referencing it, another server's collector). *found false when there is none. The row stays
 * locked until commit, so an upload of the same content waits and then records it again.
 */
enum mse_rc db_blob_collect_one(struct db *db, unsigned grace_seconds,
                                struct db_blob_collected *out, bool *found,
                                struct db_error *err) MSE_WUR;

/*
 * Content written before schema 033 still in the database: the first blob after the address
 * `after` ("" to start), *found with its address and bytes (*data malloc'd, caller frees).
 * db_blob_moved clears the bytes once backend holds them.
 */
enum mse_rc db_blob_legacy_next(struct db *db, const char *after, char sha256[65], char **data,
                                size_t *len, bool *found, struct db_error *err) MSE_WUR;
enum mse_rc db_blob_moved(struct db *db, const char *sha256, const char *backend,
                          struct db_error *err) MSE_WUR;

#endif
