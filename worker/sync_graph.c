/* SPDX-License-Identifier: Apache-2.0 */
/* Graph delta queries as the engine's pages: folders, messages, distinguished folder ids. */
#include "sync_graph.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

/* Pages of one folder delta (it is read to its deltaLink in one engine call). */
#define GRAPH_HIERARCHY_MAX_PAGES 1000

/* What Mailbox Folder Replication records, and the MAPI properties Graph has no name for. */
#define MESSAGE_SELECT                                                                             \
    "$select=changeKey,parentFolderId,subject,from,sender,toRecipients,ccRecipients,"              \
    "receivedDateTime,sentDateTime,isRead,hasAttachments,internetMessageId"
#define MESSAGE_EXPAND                                                                             \
    "$expand=singleValueExtendedProperties($filter=id%20eq%20%27String%200x001A%27%20or%20id%20eq" \
    "%20%27Integer%200x0E08%27%20or%20id%20eq%20%27Integer%200x0036%27)"
#define FOLDER_QUERY                                                                               \
    "$select=displayName,parentFolderId,totalItemCount&$expand=singleValueExtendedProperties("     \
    "$filter=id%20eq%20%27String%200x3613%27)"

struct sync_graph {
    struct graph_client *g;
    char user[400]; /* "/users/{address}" */
};

enum mse_rc sync_graph_new(const struct graph_client_config *cfg, struct sync_graph **out,
                           struct mse_err *err)
{
    *out = NULL;
    struct sync_graph *sg = calloc(1, sizeof(*sg));
    if (!sg) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return MSE_ERR_NOMEM;
    }
    enum mse_rc rc = graph_client_new(cfg, &sg->g, err);
    if (rc != MSE_OK) {
        free(sg);
        return rc;
    }
    *out = sg;
    return MSE_OK;
}

void sync_graph_free(struct sync_graph *sg)
{
    if (!sg)
        return;
    graph_client_free(sg->g);
    free(sg);
}

void sync_graph_set_stop(struct sync_graph *sg, const atomic_bool *stop)
{
    graph_client_set_stop(sg->g, stop);
}

/* ---- reading Graph objects ---- */

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* strdup that keeps NULL; false when memory ran out. */
static bool dup_to(char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return !src || *dst;
}

/* The value of singleValueExtendedProperties entry "Type 0xTAG", matched by tag. */
static const char *ext_prop(const cJSON *o, unsigned tag)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "singleValueExtendedProperties");
    const cJSON *p;
    cJSON_ArrayForEach(p, arr)
    {
        const char *id = str_of(p, "id");
        const char *hex = id ? strstr(id, " 0x") : NULL;
        if (hex && strtoul(hex + 3, NULL, 16) == tag)
            return str_of(p, "value");
    }
    return NULL;
}

/* {"emailAddress": {"name", "address"}} → a person; NULL object: none. */
static bool person_of(const cJSON *r, struct ews_person *p)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "emailAddress");
    memset(p, 0, sizeof(*p));
    return dup_to(&p->name, str_of(e, "name")) && dup_to(&p->email, str_of(e, "address"));
}

static bool person_field(const cJSON *m, const char *key, struct ews_person **out)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, key);
    *out = NULL;
    if (!cJSON_IsObject(r))
        return true;
    *out = calloc(1, sizeof(**out));
    return *out && person_of(r, *out);
}

static bool people_field(const cJSON *m, const char *key, struct ews_people *out)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(m, key);
    int n = cJSON_GetArraySize(arr);
    out->n = 0;
    out->v = n > 0 ? calloc((size_t)n, sizeof(*out->v)) : NULL;
    if (n > 0 && !out->v)
        return false;
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        if (!person_of(r, &out->v[out->n++]))
            return false;
    }
    return true;
}

static enum ews_tri tri_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? EWS_TRUE : EWS_FALSE) : EWS_UNSET;
}

/* A dateTimeOffset as RFC 3339 UTC, as the EWS reader normalises xs:dateTime. */
static bool time_field(const cJSON *o, const char *key, char **out)
{
    const char *v = str_of(o, key);
    *out = v ? ews_item_time(v) : NULL;
    return !v || *out;
}

/* PR_SENSITIVITY (0..3) as EWS names it. */
static const char *sensitivity_name(const char *v)
{
    static const char *const names[] = { "Normal", "Personal", "Private", "Confidential" };
    int64_t n;
    if (!v || mse_parse_int(v, 0, 3, &n) != MSE_OK)
        return NULL;
    return names[n];
}

enum mse_rc sync_graph_message(const cJSON *m, struct ews_item *it)
{
    int64_t size = -1;
    const char *sz = ext_prop(m, 0xe08);
    it->kind = EWS_ITEM_MESSAGE;
    snprintf(it->element, sizeof(it->element), "Message");
    it->has_attachments = tri_of(m, "hasAttachments");
    it->is_read = tri_of(m, "isRead");
    if (sz && mse_parse_int(sz, 0, INT64_MAX, &size) == MSE_OK)
        it->size = size;
    bool ok = dup_to(&it->id, str_of(m, "id")) && dup_to(&it->change_key, str_of(m, "changeKey")) &&
              dup_to(&it->parent_folder_id, str_of(m, "parentFolderId")) &&
              dup_to(&it->item_class, ext_prop(m, 0x1a)) &&
              dup_to(&it->subject, str_of(m, "subject")) &&
              dup_to(&it->sensitivity, sensitivity_name(ext_prop(m, 0x36))) &&
              dup_to(&it->internet_message_id, str_of(m, "internetMessageId")) &&
              time_field(m, "receivedDateTime", &it->received) &&
              time_field(m, "sentDateTime", &it->sent) && person_field(m, "from", &it->from) &&
              person_field(m, "sender", &it->sender) && people_field(m, "toRecipients", &it->to) &&
              people_field(m, "ccRecipients", &it->cc);
    return ok ? MSE_OK : MSE_ERR_NOMEM;
}

/* The element EWS would use for a folder of this class. */
static const char *folder_kind(const char *cls)
{
    cls = cls ? cls : "";
    if (strncmp(cls, "IPF.Appointment", 15) == 0)
        return "CalendarFolder";
    if (strncmp(cls, "IPF.Contact", 11) == 0)
        return "ContactsFolder";
    if (strncmp(cls, "IPF.Task", 8) == 0)
        return "TasksFolder";
    return "Folder";
}

static bool folder_of(const cJSON *o, struct ews_folder *f)
{
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(o, "totalItemCount");
    const char *cls = ext_prop(o, 0x3613);
    snprintf(f->kind, sizeof(f->kind), "%s", folder_kind(cls));
    f->total_count = cJSON_IsNumber(total) ? (int64_t)total->valuedouble : -1;
    return dup_to(&f->id, str_of(o, "id")) && dup_to(&f->parent_id, str_of(o, "parentFolderId")) &&
           dup_to(&f->display_name, str_of(o, "displayName")) &&
           dup_to(&f->folder_class, cls && cls[0] ? cls : NULL);
}

/* ---- verdicts ---- */

/*
 * What a non-2xx Graph answer means for the engine: a refused delta token starts the folder
 * over (as ErrorInvalidSyncStateData), a folder that is gone is skipped, anything else fails
 * the mailbox with Graph's code and message.
 */
static enum mse_rc verdict(const struct graph_result *res, const char *what,
                           struct ews_reply *reply, struct mse_err *err)
{
    snprintf(reply->status.code, sizeof(reply->status.code), "%s", res->code);
    snprintf(reply->status.text, sizeof(reply->status.text), "%s", res->message);
    if (res->status == 410 || strcasecmp(res->code, "SyncStateInvalid") == 0 ||
        strcasecmp(res->code, "SyncStateNotFound") == 0 ||
        strcasecmp(res->code, "resyncRequired") == 0) {
        reply->policy = (struct ews_policy){ EWS_ACT_RESYNC, "sync_state_reset" };
        return MSE_OK;
    }
    if (res->status == 404 && strcmp(res->code, "ErrorItemNotFound") == 0) {
        reply->policy = (struct ews_policy){ EWS_ACT_ITEM_GONE, "item_gone" };
        return MSE_OK;
    }
    const char *reason = res->status == 404   ? "graph_mailbox_not_found"
                         : res->status == 403 ? "graph_access_denied"
                         : res->status == 401 ? "graph_auth_failed"
                                              : "graph_error";
    reply->policy = (struct ews_policy){ EWS_ACT_FAIL_MAILBOX, reason };
    snprintf(err->msg, sizeof(err->msg), "Graph %s: %ld %s: %s", what, res->status,
             res->code[0] ? res->code : "(no code)", res->message);
    return MSE_ERR_UNAVAILABLE;
}

/* A transport-level failure of the client, as a reply the engine reports. */
static enum mse_rc transport_failed(enum mse_rc rc, const char *reason, struct ews_reply *reply)
{
    reply->policy = (struct ews_policy){ EWS_ACT_FAIL, reason };
    snprintf(reply->status.code, sizeof(reply->status.code), "%s", reason);
    return rc == MSE_ERR_NOMEM ? rc : MSE_ERR_UNAVAILABLE;
}

/* ---- the source's operations ---- */

static enum mse_rc g_set_mailbox(void *ctx, const char *address)
{
    struct sync_graph *sg = ctx;
    /* Addresses go into a URL path as they are: only what needs no escaping is accepted. */
    size_t n = strlen(address);
    if (n == 0 || n > 320 || strcspn(address, "/?#%& \t\r\n\"'\\") != n)
        return MSE_ERR_INVALID;
    snprintf(sg->user, sizeof(sg->user), "/users/%s", address);
    return MSE_OK;
}

static const struct ews_stats *g_stats(void *ctx)
{
    struct sync_graph *sg = ctx;
    return graph_client_stats(sg->g);
}

/* Distinguished folders by Graph's well-known names, in one $batch. */
static enum mse_rc g_get_folders(void *ctx, const struct ews_get_folders_args *a,
                                 struct ews_get_folders *res, struct ews_reply *reply,
                                 struct mse_err *err)
{
    struct sync_graph *sg = ctx;
    ews_reply_init(reply);
    err->msg[0] = '\0';
    size_t n = a->n < GRAPH_CLIENT_BATCH_MAX ? a->n : GRAPH_CLIENT_BATCH_MAX;
    char paths[GRAPH_CLIENT_BATCH_MAX][512];
    const char *pv[GRAPH_CLIENT_BATCH_MAX];
    struct graph_result out[GRAPH_CLIENT_BATCH_MAX];
    for (size_t i = 0; i < n; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/mailFolders/%s?$select=id", sg->user,
                 a->distinguished[i]);
        pv[i] = paths[i];
    }
    const char *reason;
    enum mse_rc rc = graph_client_batch(sg->g, pv, n, out, &reason, err);
    if (rc != MSE_OK)
        return transport_failed(rc, reason, reply);
    res->v = calloc(n ? n : 1, sizeof(*res->v));
    res->n = res->v ? n : 0;
    for (size_t i = 0; res->v && i < n; i++) {
        struct ews_get_folder_result *r = &res->v[i];
        ews_folder_init(&r->folder);
        ews_status_init(&r->status);
        if (out[i].status == 200 && !dup_to(&r->folder.id, str_of(out[i].body, "id")))
            rc = MSE_ERR_NOMEM;
        else if (out[i].status != 200)
            snprintf(r->status.code, sizeof(r->status.code), "%s",
                     out[i].code[0] ? out[i].code : "ErrorFolderNotFound");
    }
    for (size_t i = 0; i < n; i++)
        graph_result_cleanup(&out[i]);
    return res->v ? rc : MSE_ERR_NOMEM;
}

/* Appends the folder changes of one delta page. */
static enum mse_rc hierarchy_take(const cJSON *value, struct ews_hierarchy_page *p)
{
    int n = cJSON_GetArraySize(value);
    if (p->n + (size_t)n > p->cap) {
        size_t cap = p->n + (size_t)n + 16;
        struct ews_folder_change *v = realloc(p->v, cap * sizeof(*v));
        if (!v)
            return MSE_ERR_NOMEM;
        p->v = v;
        p->cap = cap;
    }
    const cJSON *o;
    cJSON_ArrayForEach(o, value)
    {
        struct ews_folder_change *ch = &p->v[p->n++];
        memset(ch, 0, sizeof(*ch));
        ews_folder_init(&ch->folder);
        bool removed = cJSON_GetObjectItemCaseSensitive(o, "@removed") != NULL;
        ch->type = removed ? EWS_CHANGE_DELETE : EWS_CHANGE_UPDATE;
        if (!(removed ? dup_to(&ch->folder.id, str_of(o, "id")) : folder_of(o, &ch->folder)))
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

/* The folder delta from its link (or from scratch) to its deltaLink: one engine page. */
static enum mse_rc g_sync_hierarchy(void *ctx, const struct ews_sync_hierarchy_args *a,
                                    struct ews_hierarchy_page *page, struct ews_reply *reply,
                                    struct mse_err *err)
{
    struct sync_graph *sg = ctx;
    ews_reply_init(reply);
    err->msg[0] = '\0';
    char first[600];
    snprintf(first, sizeof(first), "%s/mailFolders/delta?%s", sg->user, FOLDER_QUERY);
    char *url = strdup(a->sync_state && a->sync_state[0] ? a->sync_state : first);
    enum mse_rc rc = url ? MSE_OK : MSE_ERR_NOMEM;
    for (int pages = 0; rc == MSE_OK && url && pages < GRAPH_HIERARCHY_MAX_PAGES; pages++) {
        struct graph_result res;
        const char *reason;
        rc = graph_client_get(sg->g, url, 0, &res, &reason, err);
        free(url);
        url = NULL;
        if (rc != MSE_OK)
            return transport_failed(rc, reason, reply);
        if (res.status != 200) {
            rc = verdict(&res, "mailFolders/delta", reply, err);
            graph_result_cleanup(&res);
            return rc;
        }
        rc = hierarchy_take(cJSON_GetObjectItemCaseSensitive(res.body, "value"), page);
        const char *next = str_of(res.body, "@odata.nextLink");
        const char *delta = str_of(res.body, "@odata.deltaLink");
        if (rc == MSE_OK && delta) {
            page->includes_last = true;
            rc = dup_to(&page->sync_state, delta) ? MSE_OK : MSE_ERR_NOMEM;
        } else if (rc == MSE_OK && next && !(url = strdup(next))) {
            rc = MSE_ERR_NOMEM;
        } else if (rc == MSE_OK && !next) {
            rc = MSE_ERR_UNAVAILABLE;
            snprintf(err->msg, sizeof(err->msg), "a Graph folder delta page without a link");
        }
        graph_result_cleanup(&res);
    }
    free(url);
    if (rc == MSE_OK && !page->includes_last) {
        rc = MSE_ERR_UNAVAILABLE;
        snprintf(err->msg, sizeof(err->msg), "the Graph folder delta did not end");
    }
    if (rc != MSE_OK)
        reply->policy = (struct ews_policy){ EWS_ACT_FAIL, "graph_bad_response" };
    return rc;
}

/* The message changes of one delta page. */
static enum mse_rc items_take(const cJSON *value, struct ews_items_page *p)
{
    int n = cJSON_GetArraySize(value);
    p->v = calloc(n > 0 ? (size_t)n : 1, sizeof(*p->v));
    if (!p->v)
        return MSE_ERR_NOMEM;
    p->cap = n > 0 ? (size_t)n : 1;
    const cJSON *o;
    cJSON_ArrayForEach(o, value)
    {
        struct ews_item_change *ch = &p->v[p->n++];
        ews_item_init(&ch->item);
        if (cJSON_GetObjectItemCaseSensitive(o, "@removed")) {
            ch->type = EWS_CHANGE_DELETE;
            if (!dup_to(&ch->item.id, str_of(o, "id")))
                return MSE_ERR_NOMEM;
            continue;
        }
        /* Graph does not tell a creation from a change: both are upserts to the engine. */
        ch->type = EWS_CHANGE_UPDATE;
        if (sync_graph_message(o, &ch->item) != MSE_OK)
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

/* One messages/delta page: from its link, or from scratch for the folder. */
static enum mse_rc g_sync_items(void *ctx, const struct ews_sync_items_args *a,
                                struct ews_items_page *page, struct ews_reply *reply,
                                struct mse_err *err)
{
    struct sync_graph *sg = ctx;
    ews_reply_init(reply);
    err->msg[0] = '\0';
    char first[1200];
    snprintf(first, sizeof(first), "%s/mailFolders/%s/messages/delta?%s&%s", sg->user,
             a->folder_id ? a->folder_id : a->distinguished, MESSAGE_SELECT, MESSAGE_EXPAND);
    struct graph_result res;
    const char *reason;
    enum mse_rc rc = graph_client_get(sg->g, a->sync_state ? a->sync_state : first, a->max_changes,
                                      &res, &reason, err);
    if (rc != MSE_OK)
        return transport_failed(rc, reason, reply);
    if (res.status != 200) {
        rc = verdict(&res, "messages/delta", reply, err);
    } else {
        const char *next = str_of(res.body, "@odata.nextLink");
        const char *delta = str_of(res.body, "@odata.deltaLink");
        rc = items_take(cJSON_GetObjectItemCaseSensitive(res.body, "value"), page);
        page->includes_last = delta != NULL;
        if (rc == MSE_OK && !dup_to(&page->sync_state, delta ? delta : next))
            rc = MSE_ERR_NOMEM;
        if (rc == MSE_OK && !page->sync_state) {
            rc = MSE_ERR_UNAVAILABLE;
            reply->policy = (struct ews_policy){ EWS_ACT_FAIL, "graph_bad_response" };
            snprintf(err->msg, sizeof(err->msg), "a Graph message delta page without a link");
        }
    }
    graph_result_cleanup(&res);
    return rc;
}

struct sync_source sync_graph_source(struct sync_graph *sg)
{
    return (struct sync_source){ .name = "graph",
                                 .ctx = sg,
                                 .set_mailbox = g_set_mailbox,
                                 .stats = g_stats,
                                 .get_folders = g_get_folders,
                                 .sync_hierarchy = g_sync_hierarchy,
                                 .sync_items = g_sync_items };
}
