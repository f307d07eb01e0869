/* SPDX-License-Identifier: Apache-2.0 */
/* The folder pass: each folder's SyncFolderItems pages, read ahead on a side session. */
#include "sync_folder.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ews_pool.h"
#include "mse/limits.h"
#include "sync_batch.h"
#include "sync_page.h"
#include "sync_source.h"

/* SyncFolderItems pages read from one folder in one pass before giving up (≈ 51 M items). */
#define FOLDER_MAX_PAGES 100000

/* Reading state of one folder. */
struct folder_read {
    const char *state; /* sent with the next SyncFolderItems (NULL: from scratch) */
    char *owned_state; /* storage for state */
    bool reset;        /* the next batch starts the folder over */
    bool resetting;    /* inside an enumeration that replaces what the replica holds */
    bool full;         /* this pass reads the folder from scratch */
    uint64_t done;
};

/* The folder's state was refused: the next page starts it over (a "reset" batch). */
static enum mse_rc folder_restart(struct sync_ctx *c, const struct hfolder *f,
                                  struct folder_read *fr, const struct ews_reply *reply)
{
    if (!fr->state)
        return sync_fail(c, MSE_ERR_UNAVAILABLE, "ews_bad_response",
                         "%s: a sync from scratch was refused (%s)", f->path, reply->status.code);
    c->out->resyncs++;
    sync_warn(c, "sync_state_reset",
              "%s: the folder's sync state was refused; the folder was read again", f->path);
    fr->state = NULL;
    fr->reset = fr->full = fr->resetting = true;
    fr->done = 0;
    return MSE_OK;
}

/*
 * True when a page needs no batch: no change and nothing left, so the stored state stays
 * good (EWS states are cumulative) — a new state alone is not worth a transaction per folder
 * and pass; a state that does not move cannot page either. A restart is always sent: the
 * server must learn that the folder is (now) empty.
 */
static bool page_quiet(const struct folder_read *fr, const struct ews_items_page *page)
{
    bool same = fr->state && strcmp(fr->state, page->sync_state) == 0;
    return page->n == 0 && !fr->reset && (same || page->includes_last);
}

/*
 * Turns a page into a batch, submits it (see sync_batch_submit_folder), and moves the folder's
 * reading state on.
 */
static enum mse_rc page_commit(struct sync_ctx *c, const struct hfolder *f, struct folder_read *fr,
                               struct ews_items_page *page)
{
    struct page_work w = { c, f, page, NULL, fr->resetting, NULL };
    enum mse_rc rc = MSE_ERR_NOMEM;
    w.keep = calloc(page->n ? page->n : 1, sizeof(bool));
    /* The base is set when the batch is handed over: the batch before may be pending. */
    w.batch = sync_batch_new(c, "folder", f->id, NULL, page->sync_state, page->includes_last,
                             fr->reset);
    if (!w.keep || !w.batch)
        rc = sync_fail(c, rc, "internal", "out of memory");
    else
        rc = sync_page_build(&w);
    free(w.keep);
    if (rc == MSE_OK) {
        rc = sync_batch_submit_folder(c, w.batch, f, page->sync_state, fr->done + page->n,
                                      fr->full);
        w.batch = NULL; /* taken */
    }
    cJSON_Delete(w.batch);
    if (rc != MSE_OK)
        return rc;
    fr->reset = false;
    fr->resetting = fr->resetting && !page->includes_last;
    fr->done += page->n;
    free(fr->owned_state);
    fr->state = fr->owned_state = page->sync_state; /* taken from the page */
    page->sync_state = NULL;
    return MSE_OK;
}

/* Where a folder's reading starts: its checkpoint, or NULL (from scratch). */
static const char *folder_start_state(const struct sync_ctx *c, const struct hfolder *f)
{
    const char *state = sync_checkpoints_get(c->job->checkpoints, f->id);
    return state && c->reread_items ? NULL : state;
}

/* The first folder at or after position i whose items this pass reads, or NULL. */
static const struct hfolder *folder_from(const struct sync_ctx *c, size_t i)
{
    for (; i < c->table.n; i++) {
        const struct hfolder *f = &c->table.v[i];
        if (f->replicated && c->feature->folder_has_items(c, f))
            return f;
    }
    return NULL;
}

static void items_args(const struct sync_ctx *c, const struct hfolder *f, const char *state,
                       struct ews_sync_items_args *a)
{
    *a = (struct ews_sync_items_args){
        .folder_id = f->id,
        .sync_state = state,
        .max_changes = c->job->max_changes ? c->job->max_changes : MSE_EWS_MAX_CHANGES,
        .fields = sync_feature_of(c, f)->sync_fields,
        .n_fields = sync_feature_of(c, f)->n_sync_fields,
    };
}

/* Read-ahead ------------------------------------------------------------------------------- */

static bool readahead_run(void *ctx, size_t i, struct ews_session *s)
{
    struct sync_readahead *ra = ctx;
    (void)i;
    ra->rc = ews_sync_items(s, &ra->args, &ra->page, &ra->reply, &ra->err);
    return ra->rc == MSE_OK;
}

/* Drops the page read ahead, if any; a request still in flight is ended first. */
void sync_readahead_drop(struct sync_ctx *c)
{
    if (!ews_pool_busy(c->pool))
        return;
    ews_pool_wait(c->pool, true);
    ews_items_page_cleanup(&c->ra.page);
    free(c->ra.state);
    c->ra.state = NULL;
}

/*
 * Starts reading f's page from state (NULL: from scratch) on the pool's background session
 * while the caller handles the page before it. Nothing happens without a pool or a folder,
 * or when it cannot start: the page is then read when it is asked for.
 */
static void readahead_start(struct sync_ctx *c, const struct hfolder *f, const char *state)
{
    struct sync_readahead *ra = &c->ra;
    if (!c->pool || !f)
        return;
    sync_readahead_drop(c);
    memset(&ra->page, 0, sizeof(ra->page));
    ra->f = f;
    ra->state = state ? strdup(state) : NULL;
    if (state && !ra->state)
        return;
    items_args(c, f, ra->state, &ra->args);
    if (ews_pool_start(c->pool, readahead_run, ra) != MSE_OK) {
        free(ra->state);
        ra->state = NULL;
    }
}

/* After a page that is committed: reads ahead the page the pass will ask for next. */
static void readahead_next(struct sync_ctx *c, const struct hfolder *f,
                           const struct ews_items_page *page)
{
    if (!page->includes_last) {
        readahead_start(c, f, page->sync_state);
        return;
    }
    const struct hfolder *next = folder_from(c, (size_t)(f - c->table.v) + 1);
    if (next)
        readahead_start(c, next, folder_start_state(c, next));
}

/*
 * Takes the page read ahead when it is f's page from state: waits for it and moves its
 * result into page, reply, err and *rc. Any other page read ahead is dropped; false then.
 */
static bool readahead_take(struct sync_ctx *c, const struct hfolder *f, const char *state,
                           struct ews_items_page *page, struct ews_reply *reply,
                           struct mse_err *err, enum mse_rc *rc)
{
    struct sync_readahead *ra = &c->ra;
    if (!ews_pool_busy(c->pool))
        return false;
    bool same = ra->f == f && (ra->state ? state && strcmp(ra->state, state) == 0 : !state);
    if (!same) {
        sync_readahead_drop(c);
        return false;
    }
    ews_pool_wait(c->pool, false);
    *page = ra->page;
    *reply = ra->reply;
    *err = ra->err;
    *rc = ra->rc;
    memset(&ra->page, 0, sizeof(ra->page));
    free(ra->state);
    ra->state = NULL;
    return true;
}

/* Folders ---------------------------------------------------------------------------------- */

/* Reads one page and submits its batch; *last when the folder is complete. */
static enum mse_rc folder_page(struct sync_ctx *c, const struct hfolder *f, struct folder_read *fr,
                               bool *last)
{
    struct ews_items_page page = { 0 };
    struct ews_reply reply;
    struct mse_err err;
    enum mse_rc rc;
    *last = false;
    if (!readahead_take(c, f, fr->state, &page, &reply, &err, &rc)) {
        struct ews_sync_items_args a;
        items_args(c, f, fr->state, &a);
        rc = sync_source_items(c, &a, &page, &reply, &err);
    }
    if (rc != MSE_OK) {
        /* An earlier batch's failure is reported before this one (it is in the outcome). */
        enum mse_rc earlier = sync_submit_wait(c);
        (void)earlier;
        rc = sync_fail_ews(c, rc, &reply, &err);
    } else if (reply.policy.action == EWS_ACT_RESYNC)
        rc = folder_restart(c, f, fr, &reply);
    else if (reply.policy.action == EWS_ACT_ITEM_GONE)
        *last = true; /* deleted since the hierarchy was read: the next pass learns it */
    else if (page_quiet(fr, &page))
        *last = true;
    else {
        /* Requests are read-only: the next page may be read before this one is stored. */
        readahead_next(c, f, &page);
        if ((rc = page_commit(c, f, fr, &page)) == MSE_OK)
            *last = page.includes_last;
    }
    ews_items_page_cleanup(&page);
    return rc;
}

enum mse_rc sync_folder_run(struct sync_ctx *c, const struct hfolder *f)
{
    struct folder_read fr = { 0 };
    fr.state = sync_checkpoints_get(c->job->checkpoints, f->id);
    if (fr.state && c->reread_items) {
        fr.state = NULL; /* start over: the stored checkpoint stays the batch's base */
        fr.reset = true;
    }
    fr.full = fr.state == NULL;
    fr.resetting = fr.reset;
    if (fr.state && !(fr.owned_state = strdup(fr.state)))
        return sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    fr.state = fr.owned_state;
    enum mse_rc rc = MSE_OK;
    bool last = false;
    for (int pages = 0; rc == MSE_OK && !last; pages++) {
        if (sync_stopped(c)) {
            rc = sync_fail(c, MSE_ERR_UNAVAILABLE, "cancelled", "the worker is stopping");
            break;
        }
        if (pages >= FOLDER_MAX_PAGES) {
            rc = sync_fail(c, MSE_ERR_UNAVAILABLE, "ews_bad_response",
                           "%s did not finish after %d pages", f->path, FOLDER_MAX_PAGES);
            break;
        }
        rc = folder_page(c, f, &fr, &last);
    }
    free(fr.owned_state);
    return rc;
}

/* Every folder of the pass ----------------------------------------------------------------- */

enum mse_rc sync_folders_run(struct sync_ctx *c)
{
    /* The table may not change while folders are read: iterate over a stable index. */
    c->folder_no = c->folder_count = 0;
    for (const struct hfolder *f = folder_from(c, 0); f;
         f = folder_from(c, (size_t)(f - c->table.v) + 1))
        c->folder_count++;
    for (const struct hfolder *f = folder_from(c, 0); f;
         f = folder_from(c, (size_t)(f - c->table.v) + 1)) {
        if (sync_stopped(c))
            return sync_fail(c, MSE_ERR_UNAVAILABLE, "cancelled", "the worker is stopping");
        char label[200];
        c->folder_no++;
        sync_folder_label(c, f, label, sizeof(label));
        /* Said before the first page: a slow folder must not leave the last one's figures. */
        sync_progress(c, c->feature->command, "%s: reading", label);
        enum mse_rc rc = sync_folder_run(c, f);
        if (rc != MSE_OK)
            return rc;
    }
    return MSE_OK;
}
