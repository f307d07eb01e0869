/* SPDX-License-Identifier: Apache-2.0 */
/* The hierarchy step of a pass: SyncFolderHierarchy into the folder table and one batch. */
#ifndef MSE_SYNC_HIERARCHY_H
#define MSE_SYNC_HIERARCHY_H

#include "sync_ctx.h"

/*
 * Loads the table from the stored hierarchy checkpoint, learns the distinguished folders,
 * runs SyncFolderHierarchy to the end, submits the changed view of the replicated folders as
 * the hierarchy batch, and leaves the table ready (paths computed, replicated flags set).
 */
enum mse_rc sync_hierarchy_run(struct sync_ctx *c) MSE_WUR;
/*
 * Reads the whole folder hierarchy into c->table (distinguished folders, every folder with
 * its path) without a checkpoint and without a batch: what a pass that keeps no replica
 * (storage management) needs. The pass fails as sync_hierarchy_run's would.
 */
enum mse_rc sync_hierarchy_read(struct sync_ctx *c) MSE_WUR;

#endif
