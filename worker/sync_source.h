/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a pass reads a mailbox from: EWS (the default) or another backend that produces the
 * same pages. The engine calls these four operations and nothing else of its source, so a
 * backend is whatever fills the EWS page structures with the same meaning: a sync state
 * that is the folder's checkpoint, changes in order, a refused state as EWS_ACT_RESYNC —
 * and, unlike EWS, items complete enough that no GetItem round follows (nor a read-ahead:
 * such a source serves one request at a time).
 */
#ifndef MSE_SYNC_SOURCE_H
#define MSE_SYNC_SOURCE_H

#include "ews_folder.h"
#include "ews_item.h"
#include "ews_sync.h"

struct sync_ctx;

struct sync_source {
    const char *name; /* "graph", for logs */
    void *ctx;
    /* Sets the mailbox the calls below address. MSE_ERR_INVALID for an unusable address. */
    enum mse_rc (*set_mailbox)(void *ctx, const char *address);
    const struct ews_stats *(*stats)(void *ctx);
    enum mse_rc (*get_folders)(void *ctx, const struct ews_get_folders_args *a,
                               struct ews_get_folders *res, struct ews_reply *reply,
                               struct mse_err *err);
    enum mse_rc (*sync_hierarchy)(void *ctx, const struct ews_sync_hierarchy_args *a,
                                  struct ews_hierarchy_page *page, struct ews_reply *reply,
                                  struct mse_err *err);
    enum mse_rc (*sync_items)(void *ctx, const struct ews_sync_items_args *a,
                              struct ews_items_page *page, struct ews_reply *reply,
                              struct mse_err *err);
};

/* The pass's calls: to the job's source when it has one, else to EWS on job->ews. */
enum mse_rc sync_source_set_mailbox(struct sync_ctx *c) MSE_WUR;
const struct ews_stats *sync_source_stats(const struct sync_ctx *c);
enum mse_rc sync_source_get_folders(struct sync_ctx *c, const struct ews_get_folders_args *a,
                                    struct ews_get_folders *res, struct ews_reply *reply,
                                    struct mse_err *err) MSE_WUR;
enum mse_rc sync_source_hierarchy(struct sync_ctx *c, const struct ews_sync_hierarchy_args *a,
                                  struct ews_hierarchy_page *page, struct ews_reply *reply,
                                  struct mse_err *err) MSE_WUR;
enum mse_rc sync_source_items(struct sync_ctx *c, const struct ews_sync_items_args *a,
                              struct ews_items_page *page, struct ews_reply *reply,
                              struct mse_err *err) MSE_WUR;
/* True when pages need a GetItem round for what the sync lacks (EWS); false for Graph. */
bool sync_source_fetches(const struct sync_ctx *c);

#endif
