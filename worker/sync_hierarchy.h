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

#endif
