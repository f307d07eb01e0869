/* SPDX-License-Identifier: Apache-2.0 */
/* One page of item changes into one batch: deletions and removals, then GetItem, upserts. */
#include "sync_page.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "ews_pool.h"
#include "mime_stream.h"
#include "mse/limits.h"
#include "sync_batch.h"
#include "sync_json.h"
#include "sync_source.h"

/* One GetItem request of a page. */
struct fetch_call {
    struct ews_get_items_args a;
    const size_t *pos; /* the page positions of a.ids */
    struct ews_get_items res;
    struct mime_stream ms; /* the MIME contents of the items (features with mime) */
    struct ews_reply reply;
    struct mse_err err;
    enum mse_rc rc;
};

/* The GetItem requests of a page, run in turn or side by side (fetch_one). */
struct fetch_run {
    struct fetch_call *v;
    size_t n;
    atomic_size_t failed; /* the call that failed first (SIZE_MAX: none) */
};

static bool fetch_one(void *ctx, size_t i, struct ews_session *s)
{
    struct fetch_run *r = ctx;
    struct fetch_call *fc = &r->v[i];
    if (fc->a.mime)
        fc->rc = ews_get_items_mime(s, &fc->a, &fc->res, &fc->ms, &fc->reply, &fc->err);
    else
        fc->rc = ews_get_items(s, &fc->a, &fc->res, &fc->reply, &fc->err);
    if (fc->rc == MSE_OK)
        return true;
    /* The first failure is the one reported: those after it may be its cancellations. */
    size_t none = SIZE_MAX;
    atomic_compare_exchange_strong(&r->failed, &none, i);
    return false;
}

/* Splits the kept items into GetItem requests of at most per ids; false: no memory. */
static bool fetch_plan(struct page_work *w, unsigned per, struct fetch_run *r, const char ***ids,
                       size_t **pos)
{
    const struct sync_feature *ft = sync_feature_of(w->c, w->f);
    size_t n = w->page->n, k = 0;
    *ids = calloc(n ? n : 1, sizeof(char *));
    *pos = calloc(n ? n : 1, sizeof(size_t));
    r->v = calloc(n / per + 1, sizeof(*r->v));
    if (!*ids || !*pos || !r->v)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (w->keep[i] && w->page->v[i].item.id) {
            (*pos)[k] = i;
            (*ids)[k++] = w->page->v[i].item.id;
        }
    }
    for (size_t first = 0; first < k; first += per, r->n++) {
        struct fetch_call *fc = &r->v[r->n];
        size_t m = k - first < per ? k - first : per;
        fc->a = (struct ews_get_items_args){ *ids + first, m, ft->get_fields, ft->n_get_fields,
                                             ft->mime };
        fc->pos = *pos + first;
        mime_stream_init(&fc->ms, NULL, 0, 0);
    }
    return true;
}

/*
 * Stores the MIME content of one item from the call's spool (unless the store holds it) and
 * notes its hash and size on the item. The sink serves one call at a time: a batch on its way
 * is waited for first.
 */
static enum mse_rc content_store(struct sync_ctx *c, struct fetch_call *fc, size_t j,
                                 struct ews_item *it, bool *missing)
{
    const struct mime_extent *e = mime_stream_find(&fc->ms, (unsigned)j);
    const struct sync_sink *s = c->job->sink;
    struct mse_err serr = { { 0 } };
    *missing = !e;
    if (!e) {
        sync_warn(c, "content_missing", "Exchange sent no MIME content for \"%.100s\"",
                  it->subject ? it->subject : "");
        return MSE_OK;
    }
    enum mse_rc rc = sync_submit_wait(c);
    if (rc != MSE_OK)
        return rc;
    if (!s->put_content_file)
        rc = MSE_ERR_INVALID;
    else
        rc = s->put_content_file(s->ctx, e->sha256, "message/rfc822", fc->ms.fd, (int64_t)e->offset,
                                 e->size, &serr);
    if (rc == MSE_ERR_TOO_LARGE) {
        sync_warn(c, "content_too_large", "\"%.100s\" is not archived: %s",
                  it->subject ? it->subject : "", serr.msg);
        *missing = true;
        return MSE_OK;
    }
    if (rc != MSE_OK)
        return sync_fail(c, rc, "submit_failed", "message content could not be stored: %s",
                         serr.msg[0] ? serr.msg : mse_rc_str(rc));
    snprintf(it->content_sha256, sizeof(it->content_sha256), "%s", e->sha256);
    it->content_size = e->size;
    c->out->contents++;
    c->out->content_bytes += e->size;
    return MSE_OK;
}

/* Moves what GetItem returned into the page's items; items gone meanwhile are dropped. */
static enum mse_rc fetch_merge(struct page_work *w, struct fetch_call *fc)
{
    for (size_t j = 0; j < fc->a.n_ids; j++) {
        struct ews_get_item_result *r = &fc->res.v[j];
        if (ews_error_classify_status(&r->status).action != EWS_ACT_OK) {
            /* Gone since the sync listed it: the next sync reports the deletion. */
            w->keep[fc->pos[j]] = false;
            continue;
        }
        struct ews_item *it = &w->page->v[fc->pos[j]].item;
        ews_item_merge(it, &r->item);
        bool missing = false;
        if (fc->a.mime) {
            enum mse_rc rc = content_store(w->c, fc, j, it, &missing);
            if (rc != MSE_OK)
                return rc;
        }
        if (missing) /* an upsert needs its content: the item waits for its next change */
            w->keep[fc->pos[j]] = false;
    }
    return MSE_OK;
}

/* Runs the page's GetItem requests: side by side on the pool's sessions, else in turn. */
static enum mse_rc fetch_calls(struct sync_ctx *c, struct fetch_run *r)
{
    if (c->pool)
        return ews_pool_map(c->pool, r->n, fetch_one, r);
    for (size_t i = 0; i < r->n; i++) {
        if (!fetch_one(r, i, c->job->ews))
            return MSE_ERR_UNAVAILABLE;
    }
    return MSE_OK;
}

/*
 * Fetches what the sync lacks for the kept items, in GetItem requests of getitem_batch ids.
 * Every request must succeed before anything of the page is used; the first failure fails
 * the pass.
 */
static enum mse_rc page_fetch(struct page_work *w)
{
    struct sync_ctx *c = w->c;
    if (!sync_source_fetches(c))
        return MSE_OK; /* the source's pages are complete */
    unsigned per = c->job->getitem_batch ? c->job->getitem_batch : MSE_EWS_GETITEM_BATCH;
    struct fetch_run r = { NULL, 0, SIZE_MAX };
    const char **ids = NULL;
    size_t *pos = NULL;
    enum mse_rc rc = MSE_ERR_NOMEM;
    if (fetch_plan(w, per, &r, &ids, &pos))
        rc = fetch_calls(c, &r);
    size_t failed = atomic_load(&r.failed);
    if (failed != SIZE_MAX) {
        struct fetch_call *fc = &r.v[failed];
        /* The batch before this page failed first, if it failed: its verdict comes first. */
        enum mse_rc earlier = sync_submit_wait(c);
        (void)earlier; /* recorded in the outcome; this page's failure ends the pass anyway */
        rc = sync_fail_ews(c, fc->rc, &fc->reply, &fc->err);
    } else if (rc != MSE_OK) {
        rc = sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    }
    for (size_t i = 0; i < r.n; i++) {
        if (rc == MSE_OK)
            rc = fetch_merge(w, &r.v[i]);
        ews_get_items_cleanup(&r.v[i].res);
        mime_stream_cleanup(&r.v[i].ms);
    }
    free(r.v);
    free(ids);
    free(pos);
    return rc;
}

/* Records for deletions, read flags and removals; marks what needs fetching. */
static enum mse_rc page_classify(struct page_work *w)
{
    const struct sync_feature *ft = sync_feature_of(w->c, w->f);
    for (size_t i = 0; i < w->page->n; i++) {
        struct ews_item_change *ch = &w->page->v[i];
        cJSON *rec = NULL;
        w->keep[i] = false;
        if (!ch->item.id)
            continue;
        if (ch->type == EWS_CHANGE_DELETE) {
            rec = sync_json_tombstone("item_id", ch->item.id, "delete");
            w->c->out->deletes++;
        } else if (ch->type == EWS_CHANGE_READ_FLAG) {
            if (!ft->read_flags)
                continue;
            rec = sync_json_tombstone("item_id", ch->item.id, "read_flag");
            if (rec && !cJSON_AddBoolToObject(rec, "is_read", ch->is_read)) {
                cJSON_Delete(rec);
                rec = NULL;
            }
        } else {
            enum item_verdict v = ft->classify(w->c, &ch->item);
            w->keep[i] = v == ITEM_KEEP;
            if (v == ITEM_REMOVE && ch->type == EWS_CHANGE_CREATE && !w->resetting)
                v = ITEM_SKIP; /* never replicated: nothing to remove */
            if (v == ITEM_SKIP && ews_item_is_private(&ch->item))
                w->c->out->skipped_private++;
            if (v != ITEM_REMOVE)
                continue;
            /* Private now: out of the replica entirely, not kept as a deleted item. */
            w->c->out->skipped_private++;
            w->c->out->deletes++;
            rec = sync_json_tombstone("item_id", ch->item.id, "remove");
        }
        if (!sync_batch_add(w->batch, ft->array, rec))
            return sync_fail(w->c, MSE_ERR_NOMEM, "internal", "out of memory");
    }
    return MSE_OK;
}

/*
 * Builds the batch of one page: removals and deletions first, in page order, then the
 * upserts of the kept items once GetItem completed them.
 */
enum mse_rc sync_page_build(struct page_work *w)
{
    const struct sync_feature *ft = sync_feature_of(w->c, w->f);
    enum mse_rc rc = page_classify(w);
    if (rc == MSE_OK)
        rc = page_fetch(w);
    for (size_t i = 0; rc == MSE_OK && i < w->page->n; i++) {
        if (!w->keep[i])
            continue;
        cJSON *rec = NULL;
        rc = ft->record(w->c, &w->page->v[i].item, w->f->id, &rec);
        if (rc == MSE_OK && !sync_batch_add(w->batch, ft->array, rec))
            rc = sync_fail(w->c, MSE_ERR_NOMEM, "internal", "out of memory");
    }
    return rc;
}
