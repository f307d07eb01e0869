/* SPDX-License-Identifier: Apache-2.0 */
/* Mailbox Storage Management's pass over one mailbox (docs/storage-management.md). */
#ifndef MSE_SYNC_STORAGE_H
#define MSE_SYNC_STORAGE_H

#include "sync_ctx.h"
#include "sync_hierarchy.h"

/*
 * Reads the hierarchy, then in every managed folder finds the candidates (FindItem with the
 * definition's restriction, STORAGE_PAGE at a time), has the archive confirm each page's
 * and — unless the job is report-only — deletes the confirmed ones; hands the mailbox's report
 * to the sink at the end. Nothing unconfirmed is touched; a failure ends the pass (what was done
 * until then is reported).
 */
enum mse_rc sync_storage_run(struct sync_ctx *c) MSE_WUR;

#endif
