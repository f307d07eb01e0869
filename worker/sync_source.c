/* SPDX-License-Identifier: Apache-2.0 */
/* The seam between the engine and its source: EWS unless the job names another backend. */
#include "sync_source.h"

#include "sync_ctx.h"

enum mse_rc sync_source_set_mailbox(struct sync_ctx *c)
{
    const struct sync_source *s = c->job->source;
    return s ? s->set_mailbox(s->ctx, c->job->mailbox)
             : ews_session_set_mailbox(c->job->ews, c->job->mailbox);
}

const struct ews_stats *sync_source_stats(const struct sync_ctx *c)
{
    const struct sync_source *s = c->job->source;
    return s ? s->stats(s->ctx) : ews_session_stats(c->job->ews);
}

enum mse_rc sync_source_get_folders(struct sync_ctx *c, const struct ews_get_folders_args *a,
                                    struct ews_get_folders *res, struct ews_reply *reply,
                                    struct mse_err *err)
{
    const struct sync_source *s = c->job->source;
    return s ? s->get_folders(s->ctx, a, res, reply, err)
             : ews_get_folders(c->job->ews, a, res, reply, err);
}

enum mse_rc sync_source_hierarchy(struct sync_ctx *c, const struct ews_sync_hierarchy_args *a,
                                  struct ews_hierarchy_page *page, struct ews_reply *reply,
                                  struct mse_err *err)
{
    const struct sync_source *s = c->job->source;
    return s ? s->sync_hierarchy(s->ctx, a, page, reply, err)
             : ews_sync_hierarchy(c->job->ews, a, page, reply, err);
}

enum mse_rc sync_source_items(struct sync_ctx *c, const struct ews_sync_items_args *a,
                              struct ews_items_page *page, struct ews_reply *reply,
                              struct mse_err *err)
{
    const struct sync_source *s = c->job->source;
    return s ? s->sync_items(s->ctx, a, page, reply, err)
             : ews_sync_items(c->job->ews, a, page, reply, err);
}

bool sync_source_fetches(const struct sync_ctx *c)
{
    return !c->job->source;
}
