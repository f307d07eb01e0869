/* SPDX-License-Identifier: Apache-2.0 */
/* Mailbox Folder Replication: which folders and messages, and the message metadata records. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "sync_ctx.h"
#include "sync_json.h"

/* What SyncFolderItems returns for messages (EWS leaves recipient lists out of it). */
static const char *const mfr_sync_fields[] = {
    "item:ItemClass",        "item:Subject",        "item:Sensitivity",
    "item:DateTimeReceived", "item:DateTimeSent",   "item:Size",
    "item:HasAttachments",   "item:ParentFolderId", "message:InternetMessageId",
    "message:From",          "message:Sender",      "message:IsRead",
};

/* What GetItem adds. */
static const char *const mfr_get_fields[] = { "message:ToRecipients", "message:CcRecipients" };

bool sync_path_covers(const char *excluded, const char *path)
{
    while (*excluded == '/' || isspace((unsigned char)*excluded))
        excluded++;
    size_t n = strlen(excluded);
    while (n && (excluded[n - 1] == '/' || isspace((unsigned char)excluded[n - 1])))
        n--;
    if (n == 0)
        return false; /* "/" would exclude everything: treat it as a mistake, not a wish */
    path++;           /* folder paths always start with '/' */
    return strncasecmp(path, excluded, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool mfr_folder_replicated(const struct sync_ctx *c, const struct hfolder *f)
{
    const struct sync_definition *d = c->job->def;
    if (strcmp(f->kind, "SearchFolder") == 0 || !f->path)
        return false;
    if (!d->include_deleted_items && folder_table_within(&c->table, f, c->table.deleted_id))
        return false;
    for (size_t i = 0; i < d->n_exclude; i++) {
        if (sync_path_covers(d->exclude_folders[i], f->path))
            return false;
    }
    return true;
}

/* Mail folders: IPF.Note and its sub-classes, or no class at all (as Exchange treats it). */
static bool mfr_folder_has_items(const struct sync_ctx *c, const struct hfolder *f)
{
    (void)c;
    const char *cls = f->folder_class;
    if (strcmp(f->kind, "Folder") != 0)
        return false;
    return !cls || !*cls || strcmp(cls, "IPF.Note") == 0 || strncmp(cls, "IPF.Note.", 9) == 0;
}

static enum item_verdict mfr_classify(const struct sync_ctx *c, const struct ews_item *it)
{
    if (it->kind != EWS_ITEM_MESSAGE)
        return ITEM_SKIP;
    if (!c->job->def->include_private_items && ews_item_is_private(it))
        return ITEM_REMOVE;
    return ITEM_KEEP;
}

static enum mse_rc mfr_record(struct sync_ctx *c, struct ews_item *it, const char *folder_id,
                              cJSON **out)
{
    *out = sync_json_message(it, folder_id);
    if (!*out)
        return sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    c->out->items++;
    return MSE_OK;
}

const struct sync_feature sync_feature_mfr = {
    .command = "Replicating messages",
    .unit = "items",
    .array = "items",
    .sync_fields = mfr_sync_fields,
    .n_sync_fields = sizeof(mfr_sync_fields) / sizeof(mfr_sync_fields[0]),
    .get_fields = mfr_get_fields,
    .n_get_fields = sizeof(mfr_get_fields) / sizeof(mfr_get_fields[0]),
    .read_flags = true,
    .folder_replicated = mfr_folder_replicated,
    .folder_has_items = mfr_folder_has_items,
    .classify = mfr_classify,
    .record = mfr_record,
};
