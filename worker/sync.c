/* SPDX-License-Identifier: Apache-2.0 */
/* The replication engine: one mailbox pass, the folder item loop, batches, outcomes. */
#include "sync.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ews_pool.h"
#include "ids.h"
#include "mse/limits.h"
#include "sync_internal.h"
#include "sync_json.h"
#include "timefmt.h"

/* SyncFolderItems pages read from one folder in one pass before giving up (≈ 51 M items). */
#define FOLDER_MAX_PAGES 100000

/* Types and definitions -------------------------------------------------------------------- */

const char *sync_type_name(enum sync_type t)
{
    return t == SYNC_CALENDAR ? "calendar_replication" : "mailbox_folder_replication";
}

enum mse_rc sync_type_parse(const char *s, enum sync_type *out)
{
    if (s && strcmp(s, "mailbox_folder_replication") == 0)
        *out = SYNC_MFR;
    else if (s && strcmp(s, "calendar_replication") == 0)
        *out = SYNC_CALENDAR;
    else
        return MSE_ERR_INVALID;
    return MSE_OK;
}

const char *sync_health_name(enum sync_health h)
{
    return h == SYNC_HEALTHY ? "healthy" : h == SYNC_WARNING ? "warning" : "error";
}

void sync_definition_cleanup(struct sync_definition *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_exclude; i++)
        free(d->exclude_folders[i]);
    free(d->exclude_folders);
    d->exclude_folders = NULL;
    d->n_exclude = 0;
}

static enum mse_rc def_bool(const cJSON *s, const char *key, bool *out, struct mse_err *err)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(s, key);
    if (!x || cJSON_IsNull(x))
        return MSE_OK;
    if (!cJSON_IsBool(x)) {
        snprintf(err->msg, sizeof(err->msg), "%s must be true or false", key);
        return MSE_ERR_INVALID;
    }
    *out = cJSON_IsTrue(x);
    return MSE_OK;
}

static enum mse_rc def_excludes(const cJSON *s, struct sync_definition *d, struct mse_err *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(s, "exclude_folders");
    if (!a || cJSON_IsNull(a))
        return MSE_OK;
    int n = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || n > 10000) {
        snprintf(err->msg, sizeof(err->msg), "exclude_folders must be a list of folder paths");
        return MSE_ERR_INVALID;
    }
    d->exclude_folders = calloc((size_t)n + 1, sizeof(char *));
    if (!d->exclude_folders)
        return MSE_ERR_NOMEM;
    const cJSON *p;
    cJSON_ArrayForEach(p, a)
    {
        if (!cJSON_IsString(p)) {
            snprintf(err->msg, sizeof(err->msg), "exclude_folders[%zu] must be a string",
                     d->n_exclude);
            return MSE_ERR_INVALID;
        }
        d->exclude_folders[d->n_exclude] = strdup(p->valuestring);
        if (!d->exclude_folders[d->n_exclude])
            return MSE_ERR_NOMEM;
        d->n_exclude++;
    }
    return MSE_OK;
}

enum mse_rc sync_definition_from_json(enum sync_type type, const cJSON *s,
                                      struct sync_definition *out, struct mse_err *err)
{
    memset(out, 0, sizeof(*out));
    out->type = type;
    if (!s)
        return MSE_OK;
    enum mse_rc rc = MSE_ERR_INVALID;
    if (!cJSON_IsObject(s)) {
        snprintf(err->msg, sizeof(err->msg), "the definition settings must be an object");
        goto out;
    }
    const cJSON *cal = cJSON_GetObjectItemCaseSensitive(s, "include_calendars");
    if (cal && !(cJSON_IsString(cal) && (strcmp(cal->valuestring, "default") == 0 ||
                                         strcmp(cal->valuestring, "all") == 0))) {
        snprintf(err->msg, sizeof(err->msg), "include_calendars must be \"default\" or \"all\"");
        goto out;
    }
    out->all_calendars = cal && strcmp(cal->valuestring, "all") == 0;
    rc = def_bool(s, "include_deleted_items", &out->include_deleted_items, err);
    if (rc == MSE_OK)
        rc = def_bool(s, "include_private_items", &out->include_private_items, err);
    if (rc == MSE_OK)
        rc = def_excludes(s, out, err);
out:
    if (rc != MSE_OK)
        sync_definition_cleanup(out);
    if (rc == MSE_ERR_NOMEM)
        snprintf(err->msg, sizeof(err->msg), "out of memory");
    return rc;
}

/* Checkpoints ------------------------------------------------------------------------------ */

void sync_checkpoints_cleanup(struct sync_checkpoints *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].folder_id);
        free(c->v[i].value);
    }
    free(c->v);
    free(c->hierarchy);
    memset(c, 0, sizeof(*c));
}

static struct sync_checkpoint *checkpoint_find(const struct sync_checkpoints *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].folder_id, id) == 0)
            return &c->v[i];
    }
    return NULL;
}

const char *sync_checkpoints_get(const struct sync_checkpoints *c, const char *folder_id)
{
    if (!folder_id)
        return c->hierarchy;
    const struct sync_checkpoint *cp = checkpoint_find(c, folder_id);
    return cp ? cp->value : NULL;
}

enum mse_rc sync_checkpoints_set(struct sync_checkpoints *c, const char *folder_id,
                                 const char *value)
{
    char *copy = value ? strdup(value) : NULL;
    if (value && !copy)
        return MSE_ERR_NOMEM;
    if (!folder_id) {
        free(c->hierarchy);
        c->hierarchy = copy;
        return MSE_OK;
    }
    struct sync_checkpoint *cp = checkpoint_find(c, folder_id);
    if (cp && !copy) { /* removal: the last entry fills the hole */
        free(cp->folder_id);
        free(cp->value);
        *cp = c->v[--c->n];
        return MSE_OK;
    }
    if (cp) {
        free(cp->value);
        cp->value = copy;
        return MSE_OK;
    }
    if (!copy)
        return MSE_OK;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct sync_checkpoint *v = realloc(c->v, cap * sizeof(*v));
        if (!v) {
            free(copy);
            return MSE_ERR_NOMEM;
        }
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n].folder_id = strdup(folder_id);
    if (!c->v[c->n].folder_id) {
        free(copy);
        return MSE_ERR_NOMEM;
    }
    c->v[c->n++].value = copy;
    return MSE_OK;
}

enum mse_rc sync_checkpoints_from_json(const cJSON *j, struct sync_checkpoints *out,
                                       struct mse_err *err)
{
    memset(out, 0, sizeof(*out));
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "hierarchy");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "folders");
    if (!cJSON_IsObject(j) || (h && !cJSON_IsString(h) && !cJSON_IsNull(h)) ||
        (f && !cJSON_IsObject(f) && !cJSON_IsNull(f))) {
        snprintf(err->msg, sizeof(err->msg),
                 "checkpoints must be {\"hierarchy\": string|null, \"folders\": {id: string}}");
        return MSE_ERR_INVALID;
    }
    enum mse_rc rc = MSE_OK;
    if (cJSON_IsString(h))
        rc = sync_checkpoints_set(out, NULL, h->valuestring);
    const cJSON *folders = cJSON_IsObject(f) ? f : NULL;
    const cJSON *e;
    cJSON_ArrayForEach(e, folders)
    {
        if (rc != MSE_OK)
            break;
        if (!cJSON_IsString(e)) {
            snprintf(err->msg, sizeof(err->msg), "the checkpoint of folder %.100s is not a string",
                     e->string);
            rc = MSE_ERR_INVALID;
            break;
        }
        rc = sync_checkpoints_set(out, e->string, e->valuestring);
    }
    if (rc != MSE_OK)
        sync_checkpoints_cleanup(out);
    if (rc == MSE_ERR_NOMEM)
        snprintf(err->msg, sizeof(err->msg), "out of memory");
    return rc;
}

cJSON *sync_checkpoints_to_json(const struct sync_checkpoints *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *h = c->hierarchy ? cJSON_CreateString(c->hierarchy) : cJSON_CreateNull();
    cJSON *f = cJSON_CreateObject();
    bool ok = o && h && f && cJSON_AddItemToObject(o, "hierarchy", h);
    if (!ok)
        cJSON_Delete(h);
    ok = ok && cJSON_AddItemToObject(o, "folders", f);
    if (!ok)
        cJSON_Delete(f);
    for (size_t i = 0; ok && i < c->n; i++)
        ok = cJSON_AddStringToObject(f, c->v[i].folder_id, c->v[i].value) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Outcome helpers ------------------------------------------------------------------------- */

cJSON *sync_outcome_to_json(const struct sync_outcome *o, const char *mailbox, enum sync_type type)
{
    const struct {
        const char *key;
        double value;
    } counters[] = {
        { "batches", (double)o->batches },
        { "folders", (double)o->folders },
        { "items", (double)o->items },
        { "appointments", (double)o->appointments },
        { "items_replicated", (double)(o->items + o->appointments) },
        { "deletes", (double)o->deletes },
        { "skipped_private", (double)o->skipped_private },
        { "attachments", (double)o->attachments },
        { "attachment_bytes", (double)o->attachment_bytes },
        { "resyncs", (double)o->resyncs },
        { "ews_requests", (double)o->ews.requests },
        { "ews_retries", (double)o->ews.retries },
        { "ews_throttled", (double)o->ews.throttled },
        { "ews_waited_ms", (double)o->ews.waited_ms },
        { "ews_bytes", (double)o->ews.bytes_in },
        { "duration_ms", (double)o->duration_ms },
    };
    cJSON *j = cJSON_CreateObject();
    bool ok = j && cJSON_AddStringToObject(j, "mailbox", mailbox) &&
              cJSON_AddStringToObject(j, "type", sync_type_name(type)) &&
              cJSON_AddStringToObject(j, "health", sync_health_name(o->health)) &&
              (o->reason[0] ? cJSON_AddStringToObject(j, "reason", o->reason)
                            : cJSON_AddNullToObject(j, "reason")) &&
              (o->text[0] ? cJSON_AddStringToObject(j, "text", o->text)
                          : cJSON_AddNullToObject(j, "text")) &&
              cJSON_AddBoolToObject(j, "retry_later", o->retry_later) &&
              cJSON_AddBoolToObject(j, "full", o->full);
    for (size_t i = 0; ok && i < sizeof(counters) / sizeof(counters[0]); i++)
        ok = cJSON_AddNumberToObject(j, counters[i].key, counters[i].value) != NULL;
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static void outcome_set(struct sync_outcome *o, enum sync_health h, const char *reason,
                        const char *fmt, va_list ap) MSE_PRINTF(4, 0);

static void outcome_set(struct sync_outcome *o, enum sync_health h, const char *reason,
                        const char *fmt, va_list ap)
{
    o->health = h;
    snprintf(o->reason, sizeof(o->reason), "%s", reason);
    vsnprintf(o->text, sizeof(o->text), fmt, ap);
    mse_log_redact(o->text);
}

enum mse_rc sync_fail(struct sync_ctx *c, enum mse_rc rc, const char *reason, const char *fmt, ...)
{
    if (c->out->health != SYNC_ERROR) {
        va_list ap;
        va_start(ap, fmt);
        outcome_set(c->out, SYNC_ERROR, reason, fmt, ap);
        va_end(ap);
        LOG_WARN(&c->log, "mailbox failed: %s (%s)", c->out->text, reason);
    }
    return rc == MSE_OK ? MSE_ERR_INTERNAL : rc;
}

enum mse_rc sync_fail_ews(struct sync_ctx *c, enum mse_rc rc, const struct ews_reply *reply,
                          const struct mse_err *err)
{
    if (rc == MSE_ERR_NOMEM)
        return sync_fail(c, rc, "internal", "out of memory");
    /* Only the first failure speaks: a mailbox that already failed is not retried later. */
    if (reply->policy.action == EWS_ACT_RETRY_LATER && c->out->health != SYNC_ERROR)
        c->out->retry_later = true;
    const char *reason =
            reply->policy.reason && reply->policy.reason[0] ? reply->policy.reason : "ews_error";
    return sync_fail(c, rc, reason, "%s", err->msg[0] ? err->msg : reply->status.code);
}

void sync_warn(struct sync_ctx *c, const char *reason, const char *fmt, ...)
{
    va_list ap;
    char text[512];
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    LOG_WARN(&c->log, "%s (%s)", text, reason);
    if (c->out->health != SYNC_HEALTHY)
        return;
    c->out->health = SYNC_WARNING;
    snprintf(c->out->reason, sizeof(c->out->reason), "%s", reason);
    snprintf(c->out->text, sizeof(c->out->text), "%s", text);
}

void sync_format_count(uint64_t n, char *out, size_t size)
{
    char digits[32];
    int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < len && o + 1 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0 && o + 2 < size)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

void sync_progress(struct sync_ctx *c, const char *command, const char *fmt, ...)
{
    const struct sync_sink *s = c->job->sink;
    if (!s->progress || c->sub.active) /* advisory: the sink is busy with a batch */
        return;
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    s->progress(s->ctx, command, detail);
}

bool sync_stopped(const struct sync_ctx *c)
{
    return c->job->stop && atomic_load(c->job->stop);
}

/* Batches ---------------------------------------------------------------------------------- */

cJSON *sync_batch_new(struct sync_ctx *c, const char *scope, const char *folder_id,
                      const char *base, const char *next, bool complete, bool reset)
{
    char id[MSE_UUID_STR_LEN + 1];
    mse_uuid_new(id);
    cJSON *b = cJSON_CreateObject();
    cJSON *fid = folder_id ? cJSON_CreateString(folder_id) : cJSON_CreateNull();
    cJSON *bc = base ? cJSON_CreateString(base) : cJSON_CreateNull();
    bool ok = b && fid && bc && cJSON_AddStringToObject(b, "batch_id", id) &&
              cJSON_AddStringToObject(b, "mailbox", c->job->mailbox) &&
              cJSON_AddStringToObject(b, "scope", scope);
    ok = ok && cJSON_AddItemToObject(b, "folder_id", fid);
    if (!ok)
        cJSON_Delete(fid);
    bool ok2 = ok && cJSON_AddItemToObject(b, "base_checkpoint", bc);
    if (!ok2)
        cJSON_Delete(bc);
    ok = ok2 && cJSON_AddStringToObject(b, "new_checkpoint", next) &&
         cJSON_AddBoolToObject(b, "complete", complete) &&
         cJSON_AddBoolToObject(b, "reset", reset) && cJSON_AddArrayToObject(b, "folders") &&
         cJSON_AddArrayToObject(b, "items") && cJSON_AddArrayToObject(b, "appointments");
    if (!ok) {
        cJSON_Delete(b);
        return NULL;
    }
    return b;
}

bool sync_batch_add(cJSON *batch, const char *array, cJSON *rec)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(batch, array);
    if (!rec || !a || !cJSON_AddItemToArray(a, rec)) {
        cJSON_Delete(rec);
        return false;
    }
    return true;
}

/* Takes the sink's answer to a batch (see sync_batch_submit). */
static enum mse_rc submit_taken(struct sync_ctx *c, enum mse_rc rc, const struct mse_err *err,
                                const char *folder_id, const char *next)
{
    if (rc == MSE_ERR_CONFLICT)
        return sync_fail(c, rc, "checkpoint_conflict",
                         "the stored checkpoint changed under this pass: %s", err->msg);
    if (rc != MSE_OK)
        return sync_fail(c, rc, "submit_failed", "a batch could not be stored: %s", err->msg);
    c->out->batches++;
    if (sync_checkpoints_set(c->job->checkpoints, folder_id, next) != MSE_OK)
        return sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    return MSE_OK;
}

enum mse_rc sync_batch_submit(struct sync_ctx *c, cJSON *batch, const char *folder_id,
                              const char *next)
{
    struct mse_err err = { { 0 } };
    const struct sync_sink *s = c->job->sink;
    enum mse_rc rc = sync_submit_wait(c);
    if (rc == MSE_OK)
        rc = submit_taken(c, s->submit(s->ctx, batch, &err), &err, folder_id, next);
    return rc;
}

/* One page of item changes ------------------------------------------------------------------ */

/* Everything needed to turn one SyncFolderItems page into a batch. */
struct page_work {
    struct sync_ctx *c;
    const struct hfolder *f;
    struct ews_items_page *page;
    bool *keep;     /* per change: a create/update to replicate */
    bool resetting; /* the page belongs to an enumeration replacing the replica's folder */
    cJSON *batch;
};

/* One GetItem request of a page. */
struct fetch_call {
    struct ews_get_items_args a;
    const size_t *pos; /* the page positions of a.ids */
    struct ews_get_items res;
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
    const struct sync_feature *ft = w->c->feature;
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
        fc->a = (struct ews_get_items_args){ *ids + first, m, ft->get_fields, ft->n_get_fields };
        fc->pos = *pos + first;
    }
    return true;
}

/* Moves what GetItem returned into the page's items; items gone meanwhile are dropped. */
static void fetch_merge(struct page_work *w, struct fetch_call *fc)
{
    for (size_t j = 0; j < fc->a.n_ids; j++) {
        struct ews_get_item_result *r = &fc->res.v[j];
        if (ews_error_classify_status(&r->status).action != EWS_ACT_OK) {
            /* Gone since the sync listed it: the next sync reports the deletion. */
            w->keep[fc->pos[j]] = false;
            continue;
        }
        ews_item_merge(&w->page->v[fc->pos[j]].item, &r->item);
    }
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
            fetch_merge(w, &r.v[i]);
        ews_get_items_cleanup(&r.v[i].res);
    }
    free(r.v);
    free(ids);
    free(pos);
    return rc;
}

/* Records for deletions, read flags and removals; marks what needs fetching. */
static enum mse_rc page_classify(struct page_work *w)
{
    const struct sync_feature *ft = w->c->feature;
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
static enum mse_rc page_build(struct page_work *w)
{
    enum mse_rc rc = page_classify(w);
    if (rc == MSE_OK)
        rc = page_fetch(w);
    for (size_t i = 0; rc == MSE_OK && i < w->page->n; i++) {
        if (!w->keep[i])
            continue;
        cJSON *rec = NULL;
        rc = w->c->feature->record(w->c, &w->page->v[i].item, w->f->id, &rec);
        if (rc == MSE_OK && !sync_batch_add(w->batch, w->c->feature->array, rec))
            rc = sync_fail(w->c, MSE_ERR_NOMEM, "internal", "out of memory");
    }
    return rc;
}

/* "Folder 3 of 12, Inbox/Projects" (without the count outside a pass over folders). */
static void folder_label(const struct sync_ctx *c, const struct hfolder *f, char *out, size_t size)
{
    const char *name = f->path[0] == '/' ? f->path + 1 : f->path;
    if (c->folder_count)
        snprintf(out, size, "Folder %u of %u, %s", c->folder_no, c->folder_count, name);
    else
        snprintf(out, size, "%s", name);
}

/* Progress after a page: "Folder 3 of 12, Inbox: 1,536 of 10,000 items" on a full read. */
static void folder_progress(struct sync_ctx *c, const struct hfolder *f, uint64_t done, bool full)
{
    char a[32], b[32], label[200];
    folder_label(c, f, label, sizeof(label));
    sync_format_count(done, a, sizeof(a));
    if (full && f->total >= 0) {
        sync_format_count((uint64_t)f->total, b, sizeof(b));
        sync_progress(c, c->feature->command, "%s: %s of %s %s", label, a, b, c->feature->unit);
    } else {
        sync_progress(c, c->feature->command, "%s: %s %s", label, a,
                      full ? c->feature->unit : "changes");
    }
}

/* Reading state of one folder. */
struct folder_read {
    const char *state; /* sent with the next SyncFolderItems (NULL: from scratch) */
    char *owned_state; /* storage for state */
    bool reset;        /* the next batch starts the folder over */
    bool resetting;    /* inside an enumeration that replaces what the replica holds */
    bool full;         /* this pass reads the folder from scratch */
    uint64_t done;
};

/* Reads and submits one page; *last when the folder is complete. */
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

/* Submissions on their own thread ------------------------------------------------------ */

static void *submit_thread(void *arg)
{
    struct sync_submission *sub = arg;
    const struct sync_sink *s = sub->c->job->sink;
    sub->rc = s->submit(s->ctx, sub->batch, &sub->err);
    return NULL;
}

static void submission_clear(struct sync_submission *sub)
{
    cJSON_Delete(sub->batch);
    free(sub->next);
    sub->batch = NULL;
    sub->next = NULL;
    sub->active = false;
}

enum mse_rc sync_submit_wait(struct sync_ctx *c)
{
    struct sync_submission *sub = &c->sub;
    if (!sub->active)
        return MSE_OK;
    pthread_join(sub->thread, NULL);
    sub->active = false; /* before the progress report below, which uses the sink */
    enum mse_rc rc = submit_taken(c, sub->rc, &sub->err, sub->f->id, sub->next);
    if (rc == MSE_OK)
        folder_progress(c, sub->f, sub->done, sub->full);
    submission_clear(sub);
    return rc;
}

/*
 * Submits a folder batch (taken) after the one before it was accepted, its base being what
 * that one stored: on a thread of its own when the pass has a pool (collected by
 * sync_submit_wait), else at once.
 */
static enum mse_rc submit_folder_batch(struct sync_ctx *c, cJSON *batch, const struct hfolder *f,
                                       const char *next, uint64_t done, bool full)
{
    struct sync_submission *sub = &c->sub;
    enum mse_rc rc = sync_submit_wait(c);
    const char *base = sync_checkpoints_get(c->job->checkpoints, f->id);
    cJSON *bc = base ? cJSON_CreateString(base) : cJSON_CreateNull();
    if (rc == MSE_OK &&
        (!bc || !cJSON_ReplaceItemInObjectCaseSensitive(batch, "base_checkpoint", bc))) {
        cJSON_Delete(bc);
        rc = sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    } else if (rc != MSE_OK) {
        cJSON_Delete(bc);
    }
    if (rc == MSE_OK && c->pool) {
        *sub = (struct sync_submission){
            .c = c, .batch = batch, .f = f, .next = strdup(next), .done = done, .full = full
        };
        if (sub->next && pthread_create(&sub->thread, NULL, submit_thread, sub) == 0) {
            sub->active = true;
            return MSE_OK;
        }
        free(sub->next);
        *sub = (struct sync_submission){ 0 }; /* no thread: submitted at once below */
    }
    if (rc == MSE_OK)
        rc = sync_batch_submit(c, batch, f->id, next);
    if (rc == MSE_OK)
        folder_progress(c, f, done, full);
    cJSON_Delete(batch);
    return rc;
}

/*
 * Turns a page into a batch, submits it (see submit_folder_batch), and moves the folder's
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
        rc = page_build(&w);
    free(w.keep);
    if (rc == MSE_OK) {
        rc = submit_folder_batch(c, w.batch, f, page->sync_state, fr->done + page->n, fr->full);
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
        .fields = c->feature->sync_fields,
        .n_fields = c->feature->n_sync_fields,
    };
}

/* Read-ahead --------------------------------------------------------------------------- */

static bool readahead_run(void *ctx, size_t i, struct ews_session *s)
{
    struct sync_readahead *ra = ctx;
    (void)i;
    ra->rc = ews_sync_items(s, &ra->args, &ra->page, &ra->reply, &ra->err);
    return ra->rc == MSE_OK;
}

/* Drops the page read ahead, if any; a request still in flight is ended first. */
static void readahead_drop(struct sync_ctx *c)
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
    readahead_drop(c);
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
        readahead_drop(c);
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
        rc = ews_sync_items(c->job->ews, &a, &page, &reply, &err);
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

/* The pass ------------------------------------------------------------------------------- */

static enum mse_rc folders_run(struct sync_ctx *c)
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
        folder_label(c, f, label, sizeof(label));
        /* Said before the first page: a slow folder must not leave the last one's figures. */
        sync_progress(c, c->feature->command, "%s: reading", label);
        enum mse_rc rc = sync_folder_run(c, f);
        if (rc != MSE_OK)
            return rc;
    }
    return MSE_OK;
}

/* Side sessions for GetItem requests and the read-ahead, unless the job wants one at a time. */
static enum mse_rc pass_pool(struct sync_ctx *c)
{
    unsigned width = c->job->parallel ? c->job->parallel : MSE_EWS_PARALLEL;
    if (width <= 1)
        return MSE_OK;
    if (ews_pool_new(c->job->ews, width, &c->pool) != MSE_OK)
        return sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    return MSE_OK;
}

enum mse_rc sync_mailbox(struct sync_job *job, struct sync_outcome *out)
{
    int64_t t0 = mse_time_mono_ms();
    memset(out, 0, sizeof(*out));
    struct sync_ctx c = { .job = job, .out = out };
    c.feature = job->def->type == SYNC_CALENDAR ? &sync_feature_calendar : &sync_feature_mfr;
    c.log = job->log;
    mse_log_ctx_add(&c.log, "mailbox", job->mailbox);
    struct ews_stats before = *ews_session_stats(job->ews);
    enum mse_rc rc = ews_session_set_mailbox(job->ews, job->mailbox);
    if (rc != MSE_OK) {
        rc = sync_fail(&c, rc, "invalid_mailbox", "\"%.100s\" cannot be used as a mailbox",
                       job->mailbox);
        goto out;
    }
    LOG_INFO(&c.log, "%s pass started (%s)", sync_type_name(job->def->type),
             job->checkpoints->hierarchy ? "incremental" : "full");
    rc = pass_pool(&c);
    if (rc == MSE_OK)
        rc = sync_hierarchy_run(&c);
    if (rc == MSE_OK)
        rc = folders_run(&c);
out:
    /* A read-ahead is of no use now: it ends first, not after a submission's retries. */
    readahead_drop(&c);
    enum mse_rc sub_rc = sync_submit_wait(&c); /* the last batch may still be on its way */
    if (rc == MSE_OK)
        rc = sub_rc;
    struct ews_stats all = *ews_session_stats(job->ews);
    ews_pool_stats_add(c.pool, &all);
    ews_pool_free(c.pool);
    folder_table_cleanup(&c.table);
    const struct ews_stats *after = &all;
    out->ews.requests = after->requests - before.requests;
    out->ews.retries = after->retries - before.retries;
    out->ews.bytes_in = after->bytes_in - before.bytes_in;
    out->ews.waited_ms = after->waited_ms - before.waited_ms;
    out->ews.throttled = after->throttled - before.throttled;
    out->duration_ms = mse_time_mono_ms() - t0;
    LOG_INFO(&c.log,
             "%s pass ended %s%s%s: %llu batches, %llu items, %llu appointments, %llu "
             "deletions, %llu EWS requests, %lld ms",
             sync_type_name(job->def->type), sync_health_name(out->health),
             out->reason[0] ? " " : "", out->reason, (unsigned long long)out->batches,
             (unsigned long long)out->items, (unsigned long long)out->appointments,
             (unsigned long long)out->deletes, (unsigned long long)out->ews.requests,
             (long long)out->duration_ms);
    return rc;
}
