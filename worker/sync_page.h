/* SPDX-License-Identifier: Apache-2.0 */
/* One SyncFolderItems page turned into the records of its batch. */
#ifndef MSE_SYNC_PAGE_H
#define MSE_SYNC_PAGE_H

#include <stdbool.h>

#include "sync_ctx.h"

/* Everything needed to turn one SyncFolderItems page into a batch. */
struct page_work {
    struct sync_ctx *c;
    const struct hfolder *f;
    struct ews_items_page *page;
    bool *keep;     /* per change: a create/update to replicate */
    bool resetting; /* the page belongs to an enumeration replacing the replica's folder */
    struct cJSON *batch;
};

/*
 * Builds the batch of one page: removals and deletions first, in page order, then the
 * upserts of the kept items once GetItem completed them.
 */
enum mse_rc sync_page_build(struct page_work *w) MSE_WUR;

#endif
