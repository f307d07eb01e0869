/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's duties toward the blob store beyond serving requests: copying into the store
 * the content schema 033 left in the database, and collecting uploads nothing referenced
 * within the grace period.
 */
#ifndef MSE_BLOBS_H
#define MSE_BLOBS_H

#include "mse/rc.h"

struct db;
struct server_ctx;
struct db_error;

/*
 * Copies every blob whose bytes are still in the database into srv's store (verified against
 * its address), then clears them there; one row at a time, so a restart resumes. Run at
 * start-up, before requests are served. Content that does not hash to its address is logged
 * and left where it is.
 */
enum mse_rc blobs_move_from_database(struct server_ctx *srv, struct db *db,
                                     struct db_error *err) MSE_WUR;

/*
 * Deletes up to BLOBS_SWEEP_BATCH unreferenced blobs past the grace period, each in its own
 * transaction with an audit event (blob.collect), the store's object deleted before the row's
 * deletion commits. *collected says how many.
 */
#define BLOBS_SWEEP_BATCH 100
enum mse_rc blobs_sweep(struct server_ctx *srv, struct db *db, unsigned *collected,
                        struct db_error *err) MSE_WUR;

#endif
