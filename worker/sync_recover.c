/* SPDX-License-Identifier: Apache-2.0 */
/* Sync & Recover: messages and the calendar with their MIME content, selected by class. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "sync_ctx.h"

/* Sensitivity a sync task leaves out unless include_sensitive (Personal is archived). */
static bool recover_sensitive(const struct ews_item *it)
{
    const char *s = it->sensitivity;
    return s && (strcasecmp(s, "Private") == 0 || strcasecmp(s, "Confidential") == 0);
}

/*
 * Selected by sensitivity and, for messages, by the task's message classes (docs/worker.md):
 * the classes are message classes — the calendar's appointments come with calendars=true.
 */
static enum item_verdict recover_select(const struct sync_ctx *c, const struct ews_item *it,
                                        enum ews_item_kind kind)
{
    const struct sync_definition *d = c->job->def;
    bool by_class = kind == EWS_ITEM_CALENDAR || sync_definition_class_selected(d, it->item_class);
    bool selected =
            it->kind == kind && by_class && (d->include_sensitive || !recover_sensitive(it));
    if (!selected)
        c->out->unselected++;
    /* An archived item that is no longer selected stays as it was: never a removal. */
    return selected ? ITEM_KEEP : ITEM_SKIP;
}

static enum item_verdict recover_classify_mail(const struct sync_ctx *c, const struct ews_item *it)
{
    return recover_select(c, it, EWS_ITEM_MESSAGE);
}

static enum item_verdict recover_classify_calendar(const struct sync_ctx *c,
                                                   const struct ews_item *it)
{
    return recover_select(c, it, EWS_ITEM_CALENDAR);
}

/* The content fields every sync & recover upsert carries. */
static enum mse_rc content_fields(struct sync_ctx *c, const struct ews_item *it, cJSON *rec)
{
    if (!rec || !cJSON_AddStringToObject(rec, "content_sha256", it->content_sha256) ||
        !cJSON_AddNumberToObject(rec, "content_size", (double)it->content_size))
        return sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    return MSE_OK;
}

static enum mse_rc recover_record_mail(struct sync_ctx *c, struct ews_item *it,
                                       const char *folder_id, cJSON **out)
{
    enum mse_rc rc = sync_feature_mfr.record(c, it, folder_id, out);
    return rc == MSE_OK ? content_fields(c, it, *out) : rc;
}

static enum mse_rc recover_record_calendar(struct sync_ctx *c, struct ews_item *it,
                                           const char *folder_id, cJSON **out)
{
    enum mse_rc rc = sync_feature_calendar.record(c, it, folder_id, out);
    return rc == MSE_OK ? content_fields(c, it, *out) : rc;
}

/* Folders as mailbox folder replication sees them (Deleted Items and search folders out). */
static bool recover_folder_replicated(const struct sync_ctx *c, const struct hfolder *f)
{
    return sync_feature_mfr.folder_replicated(c, f);
}

static bool recover_is_calendar(const struct sync_ctx *c, const struct hfolder *f)
{
    return c->table.calendar_id && strcmp(f->id, c->table.calendar_id) == 0;
}

/* Mail folders when mail is selected, the default calendar when calendars is. */
static bool recover_folder_has_items(const struct sync_ctx *c, const struct hfolder *f)
{
    const struct sync_definition *d = c->job->def;
    if (recover_is_calendar(c, f))
        return d->calendars;
    return d->mail && sync_feature_mfr.folder_has_items(c, f);
}

static struct sync_feature recover_mail, recover_calendar;

static const struct sync_feature *recover_for_folder(const struct sync_ctx *c,
                                                     const struct hfolder *f)
{
    return recover_is_calendar(c, f) ? &recover_calendar : &recover_mail;
}

/* The two features borrow their field lists from the replication features they extend. */
static void recover_init(void)
{
    recover_mail = sync_feature_mfr;
    recover_mail.command = "Synchronising messages";
    recover_mail.mime = true;
    recover_mail.folder_replicated = recover_folder_replicated;
    recover_mail.folder_has_items = recover_folder_has_items;
    recover_mail.classify = recover_classify_mail;
    recover_mail.record = recover_record_mail;
    recover_mail.for_folder = recover_for_folder;
    recover_calendar = sync_feature_calendar;
    recover_calendar.mime = true;
    recover_calendar.folder_replicated = recover_folder_replicated;
    recover_calendar.folder_has_items = recover_folder_has_items;
    recover_calendar.classify = recover_classify_calendar;
    recover_calendar.record = recover_record_calendar;
    recover_calendar.for_folder = recover_for_folder;
}

const struct sync_feature *sync_feature_recover(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, recover_init);
    return &recover_mail;
}
