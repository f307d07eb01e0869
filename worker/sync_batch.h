/* SPDX-License-Identifier: Apache-2.0 */
/* Batches of a pass: building them and handing them to the sink, in turn or on a thread. */
#ifndef MSE_SYNC_BATCH_H
#define MSE_SYNC_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "sync_ctx.h"

/*
 * A new batch object with batch_id, mailbox, scope, folder_id, base and new checkpoints,
 * complete, reset, and empty folders/items/appointments arrays. NULL when out of memory.
 */
struct cJSON *sync_batch_new(struct sync_ctx *c, const char *scope, const char *folder_id,
                             const char *base, const char *next, bool complete, bool reset);
/* Appends rec (taking it) to the batch's array; false when out of memory. */
bool sync_batch_add(struct cJSON *batch, const char *array, struct cJSON *rec);
/*
 * Hands the batch to the sink; on success stores next as the checkpoint of folder_id (NULL
 * = hierarchy) in the job. Failures stop the pass (sync_fail). The batch stays the caller's.
 */
enum mse_rc sync_batch_submit(struct sync_ctx *c, struct cJSON *batch, const char *folder_id,
                              const char *next) MSE_WUR;
/*
 * Waits for the folder batch still being submitted, if any, and takes its outcome as
 * sync_batch_submit would. Every other use of the sink waits for it first (a sink serves one
 * call at a time). MSE_OK when nothing was pending.
 */
enum mse_rc sync_submit_wait(struct sync_ctx *c) MSE_WUR;

/*
 * Submits a folder batch (taken) after the one before it was accepted, its base being what
 * that one stored: on a thread of its own when the pass has a pool (collected by
 * sync_submit_wait), else at once.
 */
enum mse_rc sync_batch_submit_folder(struct sync_ctx *c, struct cJSON *batch,
                                     const struct hfolder *f, const char *next, uint64_t done,
                                     bool full) MSE_WUR;

#endif
