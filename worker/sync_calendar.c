/* SPDX-License-Identifier: Apache-2.0 */
/* Calendar Replication: which calendars, appointment records, attachment content upload. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ews_attach.h"
#include "mse/limits.h"
#include "sync_batch.h"
#include "sync_json.h"

static const char *const cal_sync_fields[] = {
    "item:ItemClass",      "item:Subject",         "item:Sensitivity",
    "item:HasAttachments", "item:ParentFolderId",  "calendar:UID",
    "calendar:Start",      "calendar:End",         "calendar:IsAllDayEvent",
    "calendar:Location",   "calendar:IsRecurring", "calendar:CalendarItemType",
    "calendar:Organizer",
};

/* What SyncFolderItems (like FindItem) does not return: attendee lists, series, attachments. */
static const char *const cal_get_fields[] = {
    "calendar:RequiredAttendees",   "calendar:OptionalAttendees",  "calendar:Recurrence",
    "calendar:ModifiedOccurrences", "calendar:DeletedOccurrences", "item:Attachments",
};

static bool cal_folder_replicated(const struct sync_ctx *c, const struct hfolder *f)
{
    if (folder_table_within(&c->table, f, c->table.deleted_id))
        return false; /* a deleted calendar is out of the replica */
    if (!c->job->def->all_calendars)
        return c->table.calendar_id && strcmp(f->id, c->table.calendar_id) == 0;
    return f->folder_class && strcmp(f->folder_class, "IPF.Appointment") == 0;
}

static bool cal_folder_has_items(const struct sync_ctx *c, const struct hfolder *f)
{
    (void)c;
    (void)f;
    return true; /* every replicated calendar */
}

static enum item_verdict cal_classify(const struct sync_ctx *c, const struct ews_item *it)
{
    (void)c;
    return it->kind == EWS_ITEM_CALENDAR ? ITEM_KEEP : ITEM_SKIP;
}

/*
 * Reads one attachment, hands its content to the sink, writes its hash into sha (65 bytes).
 * *skip when it cannot be had (gone, or over the response cap); errors fail the pass.
 */
static enum mse_rc attachment_fetch(struct sync_ctx *c, struct ews_attachment *at, char *sha,
                                    bool *skip)
{
    struct ews_get_attachment_args a = { at->id };
    struct ews_attachment_content content = { 0 };
    struct ews_reply reply;
    struct mse_err err;
    *skip = false;
    enum mse_rc rc = ews_get_attachment(c->job->ews, &a, &content, &reply, &err);
    if (rc == MSE_ERR_TOO_LARGE) {
        sync_warn(c, "attachment_too_large", "attachment \"%.100s\" exceeds the response cap",
                  at->name ? at->name : "");
        *skip = true;
        rc = MSE_OK;
    } else if (rc != MSE_OK) {
        rc = sync_fail_ews(c, rc, &reply, &err);
    } else if (reply.policy.action != EWS_ACT_OK) {
        *skip = true; /* removed since GetItem listed it: the item's next update says so */
    } else {
        mse_crypto_sha256_hex(content.data, content.len, sha);
        const struct sync_sink *s = c->job->sink;
        /* The item's list may omit it (attached messages): take what GetAttachment said. */
        if (!at->content_type && content.content_type) {
            at->content_type = content.content_type;
            content.content_type = NULL;
        }
        const char *type = at->content_type;
        struct mse_err serr = { { 0 } };
        rc = sync_submit_wait(c); /* the sink serves one call at a time */
        if (rc == MSE_OK && s->put_content &&
            (rc = s->put_content(s->ctx, sha, type, content.data, content.len, &serr)) != MSE_OK)
            rc = sync_fail(c, rc, "submit_failed", "attachment content could not be stored: %s",
                           serr.msg);
        if (rc == MSE_OK) {
            c->out->attachments++;
            c->out->attachment_bytes += content.len;
        }
    }
    ews_attachment_content_cleanup(&content);
    return rc;
}

static enum mse_rc cal_record(struct sync_ctx *c, struct ews_item *it, const char *folder_id,
                              cJSON **out)
{
    size_t n = it->n_attachments;
    if (n > MSE_EWS_MAX_ATTACHMENTS) {
        sync_warn(c, "too_many_attachments",
                  "\"%.100s\" has %zu attachments; the first %u are "
                  "replicated",
                  it->subject ? it->subject : "", n, MSE_EWS_MAX_ATTACHMENTS);
        n = MSE_EWS_MAX_ATTACHMENTS;
    }
    char(*hex)[MSE_SHA256_HEX_LEN + 1] = n ? calloc(n, sizeof(*hex)) : NULL;
    const char **sha = calloc(it->n_attachments + 1, sizeof(char *));
    enum mse_rc rc = (!n || hex) && sha ? MSE_OK : MSE_ERR_NOMEM;
    if (rc != MSE_OK)
        rc = sync_fail(c, rc, "internal", "out of memory");
    for (size_t i = 0; rc == MSE_OK && i < n; i++) {
        bool skip = true;
        if (it->attachments[i].id)
            rc = attachment_fetch(c, &it->attachments[i], hex[i], &skip);
        sha[i] = skip ? NULL : hex[i];
    }
    if (rc == MSE_OK) {
        *out = sync_json_appointment(it, folder_id, sha);
        if (!*out)
            rc = sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
        else
            c->out->appointments++;
    }
    free(hex);
    free(sha);
    return rc;
}

const struct sync_feature sync_feature_calendar = {
    .command = "Replicating appointments",
    .unit = "appointments",
    .array = "appointments",
    .sync_fields = cal_sync_fields,
    .n_sync_fields = sizeof(cal_sync_fields) / sizeof(cal_sync_fields[0]),
    .get_fields = cal_get_fields,
    .n_get_fields = sizeof(cal_get_fields) / sizeof(cal_get_fields[0]),
    .read_flags = false,
    .folder_replicated = cal_folder_replicated,
    .folder_has_items = cal_folder_has_items,
    .classify = cal_classify,
    .record = cal_record,
};
