/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mailbox Storage Management's pass (docs/storage-management.md): the managed folders'
 * candidates found with FindItem restrictions page by page, each batch confirmed by the
 * archive, and only confirmed items acted on; the report says what was (or would be) done.
 */
#include "sync_storage.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ews_find.h"
#include "mse/limits.h"
#include "mse/protocol.h"
#include "timefmt.h"

/* FindItem page: the confirmation batch too, so that one page costs one confirmation. */
#define STORAGE_PAGE 500
/* Unconfirmed items listed one by one in a mailbox's report (all are counted). */
#define STORAGE_MAX_LISTED 1000

static const char *const find_fields[] = { "item:Size", "item:DateTimeReceived",
                                           "item:HasAttachments", "message:InternetMessageId",
                                           "message:From" };

/* What one folder (or, summed, the mailbox) came to. */
struct tally {
    uint64_t candidates, confirmed, not_archived, no_permission, acted, failed;
    uint64_t confirmed_bytes, reclaimed_bytes;
};

struct storage_pass {
    struct sync_ctx *c;
    char received_before[40];
    struct tally total;
    cJSON *folders;     /* the report's folders[] */
    cJSON *unconfirmed; /* the report's unconfirmed[] (first STORAGE_MAX_LISTED) */
    uint64_t unconfirmed_total;
};

/* A mail folder the definition manages: not Deleted Items, within folders, not excluded. */
static bool folder_managed(const struct sync_ctx *c, const struct hfolder *f)
{
    const struct sync_definition *d = c->job->def;
    if (f->dead || !f->path || !sync_feature_mfr.folder_has_items(c, f) ||
        folder_table_within(&c->table, f, c->table.deleted_id))
        return false;
    for (size_t i = 0; i < d->n_exclude; i++)
        if (sync_path_covers(d->exclude_folders[i], f->path))
            return false;
    for (size_t i = 0; i < d->n_folders; i++)
        if (sync_path_covers(d->folders[i], f->path))
            return true;
    return d->n_folders == 0;
}

/* An address the server takes as a sender (else the candidate goes without one). */
static bool sender_usable(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= MSE_MAX_ADDRESS && strchr(s, '@') && !strpbrk(s, " <>,;\"'\\\t\r\n");
}

/* The confirmation request of the page's items marked in asked (those with a Message-ID). */
static cJSON *request_build(const struct ews_find_items_page *p, const bool *asked)
{
    cJSON *req = cJSON_CreateObject();
    cJSON *items = req ? cJSON_AddArrayToObject(req, "items") : NULL;
    if (!items) {
        cJSON_Delete(req);
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (!asked[i])
            continue;
        const struct ews_item *it = &p->v[i];
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "internet_message_id", it->internet_message_id) ||
            (it->from && sender_usable(it->from->email) &&
             !cJSON_AddStringToObject(o, "sender", it->from->email))) {
            cJSON_Delete(o);
            cJSON_Delete(req);
            return NULL;
        }
        cJSON_AddItemToArray(items, o);
    }
    return req;
}

/* Lists an unconfirmed candidate in the report (the first STORAGE_MAX_LISTED). */
static void unconfirmed_add(struct storage_pass *sp, const struct hfolder *f,
                            const struct ews_item *it, const char *outcome)
{
    if (sp->unconfirmed_total++ >= STORAGE_MAX_LISTED)
        return;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "folder", f->path);
    cJSON_AddStringToObject(o, "item_id", it->id);
    if (it->internet_message_id)
        cJSON_AddStringToObject(o, "internet_message_id", it->internet_message_id);
    else
        cJSON_AddNullToObject(o, "internet_message_id");
    cJSON_AddStringToObject(o, "outcome", outcome);
    cJSON_AddItemToArray(sp->unconfirmed, o);
}

/*
 * Asks the archive about the page's messages; confirmed[i] says which may be acted on. A
 * candidate without a Message-ID cannot be found in the archive: not_archived.
 */
static enum mse_rc page_confirm(struct storage_pass *sp, const struct hfolder *f,
                                const struct ews_find_items_page *p, bool *confirmed,
                                struct tally *t)
{
    struct sync_ctx *c = sp->c;
    bool asked[STORAGE_PAGE] = { false };
    size_t n_asked = 0;
    for (size_t i = 0; i < p->n; i++) {
        asked[i] = p->v[i].id && p->v[i].internet_message_id && *p->v[i].internet_message_id &&
                   strlen(p->v[i].internet_message_id) <= MSE_PROTO_MAX_MESSAGE_ID;
        n_asked += asked[i];
    }
    cJSON *answers = NULL;
    enum mse_rc rc = MSE_OK;
    if (n_asked) {
        cJSON *req = request_build(p, asked);
        struct mse_err err = { { 0 } };
        rc = req ? c->job->sink->confirm(c->job->sink->ctx, req, &answers, &err) : MSE_ERR_NOMEM;
        cJSON_Delete(req);
        if (rc != MSE_OK)
            return sync_fail(c, rc, "confirmation_failed", "the archive could not be asked: %s",
                             err.msg);
        if (cJSON_GetArraySize(answers) != (int)n_asked) {
            cJSON_Delete(answers);
            return sync_fail(c, MSE_ERR_INVALID, "confirmation_failed",
                             "the archive answered %d of %zu candidates",
                             cJSON_GetArraySize(answers), n_asked);
        }
    }
    const cJSON *a = answers ? answers->child : NULL;
    for (size_t i = 0; i < p->n; i++) {
        const struct ews_item *it = &p->v[i];
        const cJSON *oc = asked[i] ? cJSON_GetObjectItemCaseSensitive(a, "outcome") : NULL;
        const char *outcome = cJSON_IsString(oc) ? oc->valuestring : "not_archived";
        if (asked[i])
            a = a->next;
        t->candidates++;
        confirmed[i] = strcmp(outcome, "confirmed") == 0;
        if (confirmed[i]) {
            t->confirmed++;
            t->confirmed_bytes += it->size > 0 ? (uint64_t)it->size : 0;
            continue;
        }
        if (strcmp(outcome, "no_permission") == 0)
            t->no_permission++;
        else
            t->not_archived++;
        unconfirmed_add(sp, f, it,
                        strcmp(outcome, "no_permission") == 0 ? "no_permission" : "not_archived");
    }
    cJSON_Delete(answers);
    return rc;
}

/*
 * message_delete of the page's confirmed items; *gone counts those that left the folder
 * (deleted now, or already gone), so that the next page's offset skips nothing.
 */
static enum mse_rc page_delete(struct storage_pass *sp, const struct ews_find_items_page *p,
                               const bool *confirmed, struct tally *t, size_t *gone)
{
    struct sync_ctx *c = sp->c;
    const char *ids[STORAGE_PAGE];
    int64_t sizes[STORAGE_PAGE];
    size_t n = 0;
    *gone = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (confirmed[i]) {
            sizes[n] = p->v[i].size;
            ids[n++] = p->v[i].id;
        }
    }
    if (!n)
        return MSE_OK;
    struct ews_delete_items_args a = { ids, n, c->job->def->hard_delete };
    struct ews_delete_items res = { 0 };
    struct ews_reply reply;
    struct mse_err err = { { 0 } };
    enum mse_rc rc = ews_delete_items(c->job->ews, &a, &res, &reply, &err);
    if (rc != MSE_OK) {
        ews_delete_items_cleanup(&res);
        return sync_fail_ews(c, rc, &reply, &err);
    }
    for (size_t i = 0; i < n; i++) {
        bool ok = strcmp(res.v[i].code, "NoError") == 0;
        if (ok) {
            t->acted++;
            t->reclaimed_bytes += sizes[i] > 0 ? (uint64_t)sizes[i] : 0;
        } else {
            t->failed++;
            LOG_WARN(&c->log, "DeleteItem %s: %s %s", ids[i], res.v[i].code, res.v[i].text);
        }
        if (ok || strcmp(res.v[i].code, "ErrorItemNotFound") == 0)
            (*gone)++;
    }
    ews_delete_items_cleanup(&res);
    return MSE_OK;
}

static void tally_add(struct tally *sum, const struct tally *t)
{
    sum->candidates += t->candidates;
    sum->confirmed += t->confirmed;
    sum->not_archived += t->not_archived;
    sum->no_permission += t->no_permission;
    sum->acted += t->acted;
    sum->failed += t->failed;
    sum->confirmed_bytes += t->confirmed_bytes;
    sum->reclaimed_bytes += t->reclaimed_bytes;
}

/* The counters of t into o. */
static bool tally_json(cJSON *o, const struct tally *t)
{
    const struct {
        const char *key;
        uint64_t v;
    } f[] = {
        { "candidates", t->candidates },
        { "confirmed", t->confirmed },
        { "not_archived", t->not_archived },
        { "no_permission", t->no_permission },
        { "acted", t->acted },
        { "failed", t->failed },
        { "confirmed_bytes", t->confirmed_bytes },
        { "reclaimed_bytes", t->reclaimed_bytes },
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (!cJSON_AddNumberToObject(o, f[i].key, (double)f[i].v))
            return false;
    return true;
}

/* One managed folder, page by page from the beginning of its restricted view. */
static enum mse_rc folder_run(struct storage_pass *sp, const struct hfolder *f)
{
    struct sync_ctx *c = sp->c;
    const struct sync_definition *d = c->job->def;
    struct tally t = { 0 };
    unsigned offset = 0;
    enum mse_rc rc = MSE_OK;
    for (;;) {
        if (sync_stopped(c)) {
            rc = sync_fail(c, MSE_ERR_UNAVAILABLE, "cancelled", "the pass was stopped");
            break;
        }
        struct ews_find_items_args a = {
            .folder_id = f->id,
            .received_before = sp->received_before,
            .min_size = d->min_size_kb * 1024,
            .with_attachments = sync_definition_needs_attachments(d),
            .offset = offset,
            .max_entries = STORAGE_PAGE,
            .fields = find_fields,
            .n_fields = sizeof(find_fields) / sizeof(find_fields[0]),
        };
        struct ews_find_items_page p = { 0 };
        struct ews_reply reply;
        struct mse_err err = { { 0 } };
        rc = ews_find_items(c->job->ews, &a, &p, &reply, &err);
        if (rc == MSE_OK && reply.policy.action == EWS_ACT_ITEM_GONE) {
            ews_find_items_page_cleanup(&p); /* the folder went away meanwhile */
            break;
        }
        if (rc != MSE_OK || p.n > STORAGE_PAGE) {
            ews_find_items_page_cleanup(&p);
            rc = rc != MSE_OK ? sync_fail_ews(c, rc, &reply, &err)
                              : sync_fail(c, MSE_ERR_INVALID, "ews_bad_response",
                                          "FindItem returned more items than asked for");
            break;
        }
        bool confirmed[STORAGE_PAGE] = { false };
        size_t gone = 0;
        rc = page_confirm(sp, f, &p, confirmed, &t);
        if (rc == MSE_OK && !c->job->report_only)
            rc = page_delete(sp, &p, confirmed, &t, &gone);
        bool last = p.includes_last || p.n == 0;
        offset += (unsigned)(p.n - gone);
        ews_find_items_page_cleanup(&p);
        char count[32];
        sync_format_count(t.candidates, count, sizeof(count));
        sync_progress(c, "Managing storage", "%s: %s candidates", f->path, count);
        if (rc != MSE_OK || last)
            break;
    }
    tally_add(&sp->total, &t);
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "folder", f->path) && tally_json(o, &t))
        cJSON_AddItemToArray(sp->folders, o);
    else
        cJSON_Delete(o);
    return rc;
}

/* The mailbox's report, handed to the sink. */
static enum mse_rc report_send(struct storage_pass *sp)
{
    struct sync_ctx *c = sp->c;
    cJSON *r = cJSON_CreateObject();
    struct mse_err err = { { 0 } };
    enum mse_rc rc = MSE_ERR_NOMEM;
    if (r && cJSON_AddStringToObject(r, "mode", c->job->report_only ? "report" : "run") &&
        cJSON_AddStringToObject(r, "action", c->job->def->action) && tally_json(r, &sp->total) &&
        cJSON_AddNumberToObject(r, "unconfirmed_total", (double)sp->unconfirmed_total)) {
        cJSON_AddItemToObject(r, "folders", sp->folders);
        cJSON_AddItemToObject(r, "unconfirmed", sp->unconfirmed);
        sp->folders = sp->unconfirmed = NULL;
        rc = c->job->sink->report(c->job->sink->ctx, r, &err);
    }
    cJSON_Delete(r);
    if (rc != MSE_OK)
        return sync_fail(c, rc, "submit_failed", "the storage report was not stored: %s",
                         rc == MSE_ERR_NOMEM ? "out of memory" : err.msg);
    return MSE_OK;
}

enum mse_rc sync_storage_run(struct sync_ctx *c)
{
    const struct sync_definition *d = c->job->def;
    if (!c->job->sink->confirm || !c->job->sink->report)
        return sync_fail(c, MSE_ERR_INVALID, "no_archive",
                         "storage management needs the server's archive (service mode)");
    if (c->job->source)
        return sync_fail(c, MSE_ERR_INVALID, "unsupported_backend",
                         "storage management is not available through Microsoft Graph on this "
                         "worker version (%s); use the EWS backend",
                         MSE_VERSION);
    char why[256];
    if (!sync_definition_runnable(d, c->job->report_only, why, sizeof(why)))
        return sync_fail(c, MSE_ERR_INVALID, "unsupported_action", "%s", why);
    struct storage_pass sp = { .c = c,
                               .folders = cJSON_CreateArray(),
                               .unconfirmed = cJSON_CreateArray() };
    mse_time_format(time(NULL) - (time_t)d->older_than_days * 86400, sp.received_before,
                    sizeof(sp.received_before));
    enum mse_rc rc = sp.folders && sp.unconfirmed ? sync_hierarchy_read(c) : MSE_ERR_NOMEM;
    if (rc == MSE_ERR_NOMEM && (!sp.folders || !sp.unconfirmed))
        rc = sync_fail(c, rc, "internal", "out of memory");
    for (size_t i = 0; rc == MSE_OK && i < c->table.n; i++)
        if (folder_managed(c, &c->table.v[i]))
            rc = folder_run(&sp, &c->table.v[i]);
    c->out->candidates = sp.total.candidates;
    c->out->confirmed = sp.total.confirmed;
    c->out->acted = sp.total.acted;
    c->out->failed_items = sp.total.failed;
    c->out->reclaimed_bytes = sp.total.reclaimed_bytes;
    /* What was done is reported even when the pass failed half-way: deletions happened. */
    if (sp.folders)
        rc = report_send(&sp) == MSE_OK ? rc : MSE_ERR_UNAVAILABLE;
    if (rc == MSE_OK && sp.total.failed)
        sync_warn(c, "items_failed", "%llu confirmed items could not be deleted",
                  (unsigned long long)sp.total.failed);
    cJSON_Delete(sp.folders);
    cJSON_Delete(sp.unconfirmed);
    return rc;
}
