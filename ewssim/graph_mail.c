/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Graph's mail resources over the store: users, mailFolders (+ delta), messages delta per
 * folder, a message and its MIME ($value). Ids are the EWS ids (both are base64url here), so
 * one object has one id whichever API a client speaks. Delta and skip tokens are SyncStates:
 * the same watermarks EWS hands out, in Graph's links.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ewsid.h"
#include "graph_int.h"
#include "render.h"
#include "syncstate.h"
#include "timefmt.h"

/* ---- small builders ---- */

static void add_time(cJSON *o, const char *key, time_t t)
{
    char buf[40];
    mse_time_format(t, buf, sizeof(buf));
    cJSON_AddStringToObject(o, key, buf);
}

/* {"emailAddress": {"name", "address"}}; a person without a display name has no name. */
static cJSON *recipient(const struct sim_person *p)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(r, "emailAddress");
    if (p->name && p->name[0])
        cJSON_AddStringToObject(e, "name", p->name);
    cJSON_AddStringToObject(e, "address", p->email ? p->email : "");
    return r;
}

static cJSON *recipients(const struct sim_person *const *v, unsigned n)
{
    cJSON *a = cJSON_CreateArray();
    for (unsigned i = 0; i < n; i++)
        cJSON_AddItemToArray(a, recipient(v[i]));
    return a;
}

/* The user id Graph would show: a GUID, derived from the mailbox's position. */
static void user_id(const struct sim_mailbox *m, char out[40])
{
    snprintf(out, 40, "5e0a51d0-0000-4000-8000-%012x", (unsigned)m->idx);
}

static void folder_id(const struct sim_folder *f, char out[EWSID_MAX])
{
    struct ewsid id = { EWSID_FOLDER, f->mbx->idx, f->num, 0 };
    ewsid_format(&id, out);
}

static void item_id(const struct sim_mailbox *m, uint64_t num, char out[EWSID_MAX])
{
    struct ewsid id = { EWSID_ITEM, m->idx, num, 0 };
    ewsid_format(&id, out);
}

/* True when $expand asks for the extended property (tag as lower-case hex, "0x1a"). */
static bool expanded(const struct graph_call *c, const char *type, unsigned tag)
{
    const char *ex = graph_param(c, "$expand");
    if (!ex || !strcasestr(ex, "singleValueExtendedProperties"))
        return false;
    char want[40];
    snprintf(want, sizeof(want), "%s 0x%x", type, tag);
    char padded[40];
    snprintf(padded, sizeof(padded), "%s 0x%04x", type, tag);
    return strcasestr(ex, want) || strcasestr(ex, padded);
}

/* Appends one singleValueExtendedProperty (Graph spells the id in lower-case hex). */
static void ext_prop(cJSON *o, const char *type, unsigned tag, const char *value)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "singleValueExtendedProperties");
    if (!arr)
        arr = cJSON_AddArrayToObject(o, "singleValueExtendedProperties");
    cJSON *p = cJSON_CreateObject();
    char id[40];
    snprintf(id, sizeof(id), "%s 0x%x", type, tag);
    cJSON_AddStringToObject(p, "id", id);
    cJSON_AddStringToObject(p, "value", value);
    cJSON_AddItemToArray(arr, p);
}

/* Drops what $select does not name (id, annotations and expansions always stay). */
static void select_apply(const struct graph_call *c, cJSON *o)
{
    const char *sel = graph_param(c, "$select");
    if (!sel || !sel[0])
        return;
    cJSON *k = o->child;
    while (k) {
        cJSON *next = k->next;
        const char *name = k->string;
        size_t n = strlen(name);
        bool keep = strcmp(name, "id") == 0 || name[0] == '@' ||
                    strcmp(name, "singleValueExtendedProperties") == 0;
        for (const char *p = sel; !keep && (p = strcasestr(p, name)) != NULL; p += n) {
            bool start = p == sel || p[-1] == ',' || p[-1] == ' ';
            keep = start && (p[n] == '\0' || p[n] == ',' || p[n] == ' ');
        }
        if (!keep)
            cJSON_Delete(cJSON_DetachItemViaPointer(o, k));
        k = next;
    }
}

/* ---- objects ---- */

static cJSON *user_json(const struct sim_mailbox *m)
{
    char id[40];
    user_id(m, id);
    cJSON *u = cJSON_CreateObject();
    cJSON_AddStringToObject(u, "id", id);
    cJSON_AddStringToObject(u, "displayName", m->display_name ? m->display_name : m->address);
    cJSON_AddStringToObject(u, "mail", m->address);
    cJSON_AddStringToObject(u, "userPrincipalName", m->address);
    return u;
}

static unsigned live_children(const struct sim_folder *f)
{
    unsigned n = 0;
    for (unsigned i = 0; i < f->nchildren; i++)
        n += !f->children[i]->deleted;
    return n;
}

static cJSON *folder_json(const struct graph_call *c, const struct sim_folder *f)
{
    char id[EWSID_MAX], parent[EWSID_MAX];
    cJSON *o = cJSON_CreateObject();
    folder_id(f, id);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "displayName", f->name);
    if (f->parent) {
        folder_id(f->parent, parent);
        cJSON_AddStringToObject(o, "parentFolderId", parent);
    }
    cJSON_AddNumberToObject(o, "childFolderCount", live_children(f));
    cJSON_AddNumberToObject(o, "unreadItemCount", f->unread_count);
    cJSON_AddNumberToObject(o, "totalItemCount", f->item_count);
    cJSON_AddBoolToObject(o, "isHidden", false);
    if (f->folder_class && f->folder_class[0] && expanded(c, "String", 0x3613))
        ext_prop(o, "String", 0x3613, f->folder_class);
    select_apply(c, o);
    return o;
}

/* PR_SENSITIVITY values. */
static const char *sensitivity_value(enum sensitivity s)
{
    static const char *const v[] = { "0", "1", "2", "3" };
    return v[s <= SENS_CONFIDENTIAL ? s : 0];
}

static cJSON *message_json(const struct graph_call *c, const struct sim_item *it)
{
    char id[EWSID_MAX], ck[EWSID_MAX], fid[EWSID_MAX], etag[EWSID_MAX + 8];
    item_id(it->mbx, it->num, id);
    ewsid_change_key(EWSID_ITEM, it->num, it->change_no, ck);
    folder_id(it->folder, fid);
    snprintf(etag, sizeof(etag), "W/\"%s\"", ck);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "@odata.type", "#microsoft.graph.message");
    cJSON_AddStringToObject(o, "@odata.etag", etag);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "changeKey", ck);
    add_time(o, "createdDateTime", it->created);
    add_time(o, "lastModifiedDateTime", it->modified);
    add_time(o, "receivedDateTime", it->received);
    add_time(o, "sentDateTime", it->sent);
    cJSON_AddBoolToObject(o, "hasAttachments", it->natts > 0);
    if (it->imid)
        cJSON_AddStringToObject(o, "internetMessageId", it->imid);
    cJSON_AddStringToObject(o, "subject", it->subject ? it->subject : "");
    cJSON_AddStringToObject(o, "importance", "normal");
    cJSON_AddStringToObject(o, "parentFolderId", fid);
    cJSON_AddBoolToObject(o, "isRead", it->is_read);
    cJSON_AddBoolToObject(o, "isDraft", false);
    if (it->sender)
        cJSON_AddItemToObject(o, "sender", recipient(it->sender));
    if (it->from)
        cJSON_AddItemToObject(o, "from", recipient(it->from));
    cJSON_AddItemToObject(o, "toRecipients", recipients(it->to, it->nto));
    cJSON_AddItemToObject(o, "ccRecipients", recipients(it->cc, it->ncc));
    if (expanded(c, "String", 0x1a))
        ext_prop(o, "String", 0x1a, it->item_class ? it->item_class : "IPM.Note");
    if (expanded(c, "Integer", 0xe08)) {
        char size[24];
        snprintf(size, sizeof(size), "%lld", (long long)it->size);
        ext_prop(o, "Integer", 0xe08, size);
    }
    if (expanded(c, "Integer", 0x36))
        ext_prop(o, "Integer", 0x36, sensitivity_value(it->sensitivity));
    select_apply(c, o);
    return o;
}

static cJSON *removed_json(const char *type, const char *id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "@odata.type", type);
    cJSON_AddStringToObject(o, "id", id);
    cJSON *r = cJSON_AddObjectToObject(o, "@removed");
    cJSON_AddStringToObject(r, "reason", "deleted");
    return o;
}

/* ---- look-ups ---- */

/* The mailbox a users/{id | userPrincipalName} segment names, or NULL. */
static struct sim_mailbox *user_lookup(const struct graph_call *c, const char *key)
{
    struct sim_mailbox *m = org_mailbox(c->org, key);
    for (unsigned i = 0; !m && i < c->org->nmailboxes; i++) {
        char id[40];
        user_id(c->org->mailboxes[i], id);
        if (strcasecmp(id, key) == 0)
            m = c->org->mailboxes[i];
    }
    return m;
}

/* A folder id or well-known name ("inbox", "msgfolderroot") of mailbox m, or NULL. */
static struct sim_folder *folder_lookup(const struct graph_call *c, struct sim_mailbox *m,
                                        const char *key)
{
    struct ewsid id;
    if (ewsid_parse(key, &id) == MSE_OK) {
        struct sim_folder *f = id.kind == EWSID_FOLDER ? org_folder(c->org, id.num) : NULL;
        return f && f->mbx == m && !f->deleted ? f : NULL;
    }
    char lower[64];
    size_t n = strlen(key);
    if (n >= sizeof(lower))
        return NULL;
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
    return mailbox_distinguished(m, lower);
}

static struct sim_item *message_lookup(const struct graph_call *c, struct sim_mailbox *m,
                                       const char *key)
{
    struct ewsid id;
    if (ewsid_parse(key, &id) != MSE_OK || id.kind != EWSID_ITEM)
        return NULL;
    struct sim_item *it = org_item(c->org, id.num);
    return it && it->mbx == m && it->kind == ITEM_MESSAGE ? it : NULL;
}

/* ---- delta tokens and links ---- */

/* Percent-encodes a base64 token for a query string. */
static void token_encode(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (; *in && o + 4 < size; in++) {
        if (*in == '+' || *in == '/' || *in == '=')
            o += (size_t)snprintf(out + o, size - o, "%%%02X", (unsigned char)*in);
        else
            out[o++] = *in;
    }
    out[o] = '\0';
}

/* A link to the same resource with a token; $select and $expand travel with it. */
static char *delta_link(const struct graph_call *c, const char *kind, const struct syncstate *s)
{
    char state[SYNCSTATE_MAX], enc[SYNCSTATE_MAX * 3], path[1200];
    syncstate_format(s, state);
    token_encode(state, enc, sizeof(enc));
    size_t o = (size_t)snprintf(path, sizeof(path), "%s/v1.0", c->base);
    for (unsigned i = 1; i < c->nseg && o < sizeof(path); i++)
        o += (size_t)snprintf(path + o, sizeof(path) - o, "/%s", c->seg[i]);
    char *link = NULL;
    const char *sel = graph_param(c, "$select"), *ex = graph_param(c, "$expand");
    size_t cap = strlen(path) + strlen(enc) + 64 + (sel ? 3 * strlen(sel) : 0) +
                 (ex ? 3 * strlen(ex) : 0);
    link = malloc(cap);
    if (!link)
        return NULL;
    int n = snprintf(link, cap, "%s?%s=%s", path, kind, enc);
    /* Parameters are carried as they came, re-encoded where a URL needs it. */
    const char *names[] = { "$select", "$expand" };
    const char *vals[] = { sel, ex };
    for (int k = 0; k < 2; k++) {
        if (!vals[k])
            continue;
        n += snprintf(link + n, cap - (size_t)n, "&%s=", names[k]);
        for (const char *p = vals[k]; *p && (size_t)n + 4 < cap; p++) {
            if (*p == ' ' || *p == '\'' || *p == '(' || *p == ')' || *p == '&' || *p == '#')
                n += snprintf(link + n, cap - (size_t)n, "%%%02X", (unsigned char)*p);
            else
                link[n++] = *p, link[n] = '\0';
        }
    }
    return link;
}

/*
 * The watermark a request continues from: $skiptoken or $deltatoken, or 0 for the first
 * request. false when a token is not one this process made for this folder (a 400, as Graph
 * answers a token it cannot read; the client starts over).
 */
static bool token_read(const struct graph_call *c, enum syncstate_scope scope,
                       const struct sim_folder *f, uint64_t *watermark)
{
    const char *t = graph_param(c, "$skiptoken");
    if (!t)
        t = graph_param(c, "$deltatoken");
    *watermark = 0;
    if (!t)
        return true;
    struct syncstate s;
    if (syncstate_parse(t, &s) != MSE_OK || s.scope != scope || s.generation != c->generation ||
        s.mailbox != f->mbx->idx || s.epoch != f->mbx->epoch || s.folder != f->num ||
        s.watermark > f->mbx->csn)
        return false;
    *watermark = s.watermark;
    return true;
}

static struct syncstate state_of(const struct graph_call *c, enum syncstate_scope scope,
                                 const struct sim_folder *f, uint64_t watermark)
{
    return (struct syncstate){ .scope = scope,
                               .generation = c->generation,
                               .epoch = f->mbx->epoch,
                               .mailbox = f->mbx->idx,
                               .folder = f->num,
                               .watermark = watermark };
}

/* {"@odata.context", "value": arr, link} as a 200 answer. */
static enum mse_rc collection(struct graph_call *c, cJSON *arr, const char *link_key, char *link)
{
    cJSON *doc = cJSON_CreateObject();
    char ctx[200];
    snprintf(ctx, sizeof(ctx), "%s/v1.0/$metadata#Collection", c->base);
    cJSON_AddStringToObject(doc, "@odata.context", ctx);
    if (link_key && link)
        cJSON_AddStringToObject(doc, link_key, link);
    free(link);
    cJSON_AddItemToObject(doc, "value", arr);
    return graph_json(c, doc);
}

/* Page size: Prefer: odata.maxpagesize=N, else $top, else Graph's default. */
static long page_size(const struct graph_call *c)
{
    const char *p = c->prefer ? strcasestr(c->prefer, "odata.maxpagesize=") : NULL;
    long n = p ? strtol(p + 18, NULL, 10) : 0;
    const char *top = graph_param(c, "$top");
    if (n <= 0 && top)
        n = strtol(top, NULL, 10);
    if (n <= 0)
        n = GRAPH_PAGE_DEFAULT;
    return n > GRAPH_PAGE_MAX ? GRAPH_PAGE_MAX : n;
}

/* ---- folder delta ---- */

static bool folder_below(const struct sim_folder *f, const struct sim_folder *root)
{
    for (f = f->parent; f; f = f->parent) {
        if (f == root)
            return true;
    }
    return false;
}

static int csn_cmp(const void *a, const void *b)
{
    const struct sim_folder *fa = *(const struct sim_folder *const *)a;
    const struct sim_folder *fb = *(const struct sim_folder *const *)b;
    return fa->csn < fb->csn ? -1 : fa->csn > fb->csn;
}

/* mailFolders/delta: every folder below msgfolderroot changed since the token, in one page. */
static enum mse_rc folders_delta(struct graph_call *c, struct sim_mailbox *m)
{
    const struct sim_folder *root = m->msgroot;
    uint64_t mark;
    if (!token_read(c, SYNCSTATE_HIERARCHY, root, &mark))
        return graph_error(c, 400, "SyncStateInvalid",
                           "The sync state is invalid; start the delta query over.");
    const struct sim_folder **v = calloc(m->nfolders ? m->nfolders : 1, sizeof(*v));
    if (!v)
        return MSE_ERR_NOMEM;
    size_t n = 0;
    for (unsigned i = 0; i < m->nfolders; i++) {
        const struct sim_folder *f = m->folders[i];
        if (f->csn > mark && folder_below(f, root) && !(f->deleted && f->created_csn > mark))
            v[n++] = f;
    }
    qsort(v, n, sizeof(*v), csn_cmp);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        char id[EWSID_MAX];
        folder_id(v[i], id);
        cJSON_AddItemToArray(arr, v[i]->deleted ? removed_json("#microsoft.graph.mailFolder", id)
                                                : folder_json(c, v[i]));
    }
    free(v);
    struct syncstate s = state_of(c, SYNCSTATE_HIERARCHY, root, m->csn);
    return collection(c, arr, "@odata.deltaLink", delta_link(c, "$deltatoken", &s));
}

/* ---- message delta ---- */

enum change { CH_NONE, CH_UPSERT, CH_DELETE };

/* What a log entry means to a client that has seen everything up to watermark. */
static enum change entry_change(const struct graph_call *c, const struct sim_folder *f,
                                const struct log_entry *e, uint64_t watermark, struct sim_item **it)
{
    *it = NULL;
    if (e->kind == LOG_TOMB)
        return e->since_csn > watermark ? CH_NONE : CH_DELETE;
    *it = folder_log_item(c->org, f, e);
    return *it && (*it)->kind == ITEM_MESSAGE ? CH_UPSERT : CH_NONE;
}

static bool more_changes(const struct graph_call *c, const struct sim_folder *f, size_t i,
                         uint64_t watermark)
{
    struct sim_item *it;
    for (; i < f->nlog; i++) {
        if (entry_change(c, f, &f->log[i], watermark, &it) != CH_NONE)
            return true;
    }
    return false;
}

/* mailFolders/{id}/messages/delta: one page of changes, then a nextLink or the deltaLink. */
static enum mse_rc messages_delta(struct graph_call *c, struct sim_folder *f)
{
    uint64_t mark;
    if (!token_read(c, SYNCSTATE_ITEMS, f, &mark))
        return graph_error(c, 400, "SyncStateInvalid",
                           "The sync state is invalid; start the delta query over.");
    long max = page_size(c), count = 0;
    uint64_t new_mark = f->mbx->csn;
    cJSON *arr = cJSON_CreateArray();
    size_t i = folder_log_seek(f, mark);
    for (; i < f->nlog && count < max; i++) {
        struct sim_item *it;
        enum change ch = entry_change(c, f, &f->log[i], mark, &it);
        if (ch == CH_NONE)
            continue;
        char id[EWSID_MAX];
        item_id(f->mbx, f->log[i].num, id);
        cJSON_AddItemToArray(arr, ch == CH_DELETE ? removed_json("#microsoft.graph.message", id)
                                                  : message_json(c, it));
        if (++count == max)
            new_mark = f->log[i].csn;
    }
    bool last = count < max || !more_changes(c, f, i, mark);
    struct syncstate s = state_of(c, SYNCSTATE_ITEMS, f, last ? f->mbx->csn : new_mark);
    atomic_fetch_add(&f->mbx->counters.sync_changes, (uint64_t)count);
    return collection(c, arr, last ? "@odata.deltaLink" : "@odata.nextLink",
                      delta_link(c, last ? "$deltatoken" : "$skiptoken", &s));
}

/* ---- routes ---- */

static enum mse_rc users_list(struct graph_call *c)
{
    cJSON *arr = cJSON_CreateArray();
    for (unsigned i = 0; i < c->org->nmailboxes; i++)
        cJSON_AddItemToArray(arr, user_json(c->org->mailboxes[i]));
    return collection(c, arr, NULL, NULL);
}

static enum mse_rc child_folders(struct graph_call *c, const struct sim_folder *f)
{
    cJSON *arr = cJSON_CreateArray();
    for (unsigned i = 0; i < f->nchildren; i++) {
        if (!f->children[i]->deleted)
            cJSON_AddItemToArray(arr, folder_json(c, f->children[i]));
    }
    return collection(c, arr, NULL, NULL);
}

/* messages/{id} and messages/{id}/$value (seg[k] is the id). */
static enum mse_rc message_route(struct graph_call *c, struct sim_mailbox *m, unsigned k)
{
    struct sim_item *it = message_lookup(c, m, c->seg[k]);
    if (!it)
        return graph_error(c, 404, "ErrorItemNotFound",
                           "The specified object was not found in the store.");
    if (c->nseg == k + 1)
        return graph_json(c, message_json(c, it));
    if (c->nseg == k + 2 && strcmp(c->seg[k + 1], "$value") == 0) {
        enum mse_rc rc = render_mime(it, &c->raw, &c->raw_len);
        c->status = 200;
        c->content_type = "message/rfc822";
        return rc;
    }
    return graph_error(c, 400, "BadRequest", "Resource not found for the segment '%s'.",
                       c->seg[k + 1]);
}

/* users/{u}/mailFolders/… (seg[3] is "mailFolders"). */
static enum mse_rc folder_route(struct graph_call *c, struct sim_mailbox *m)
{
    if (c->nseg == 4)
        return child_folders(c, m->msgroot);
    if (c->nseg == 5 && strcmp(c->seg[4], "delta") == 0)
        return folders_delta(c, m);
    struct sim_folder *f = folder_lookup(c, m, c->seg[4]);
    if (!f)
        return graph_error(c, 404, "ErrorItemNotFound",
                           "The specified object was not found in the store.");
    if (c->nseg == 5)
        return graph_json(c, folder_json(c, f));
    if (c->nseg == 6 && strcmp(c->seg[5], "childFolders") == 0)
        return child_folders(c, f);
    if (c->nseg == 7 && strcmp(c->seg[5], "messages") == 0 && strcmp(c->seg[6], "delta") == 0)
        return messages_delta(c, f);
    if (c->nseg >= 7 && strcmp(c->seg[5], "messages") == 0)
        return message_route(c, m, 6);
    return graph_error(c, 400, "BadRequest", "Resource not found for the segment '%s'.", c->seg[5]);
}

enum mse_rc graph_mail_route(struct graph_call *c)
{
    if (c->nseg < 2 || strcmp(c->seg[1], "users") != 0)
        return graph_error(c, 400, "BadRequest", "Resource not found for the segment '%s'.",
                           c->nseg > 1 ? c->seg[1] : "");
    if (c->nseg <= 3 && !graph_role(c, "User.Read.All"))
        return graph_error(c, 403, "Authorization_RequestDenied",
                           "Insufficient privileges to complete the operation.");
    if (c->nseg == 2)
        return users_list(c);
    struct sim_mailbox *m = user_lookup(c, c->seg[2]);
    if (!m)
        return graph_error(c, 404, "Request_ResourceNotFound",
                           "Resource '%s' does not exist or one of its queried reference-property "
                           "objects are not present.",
                           c->seg[2]);
    if (c->nseg == 3)
        return graph_json(c, user_json(m));
    if (!graph_role(c, "Mail.Read"))
        return graph_error(c, 403, "ErrorAccessDenied",
                           "Access is denied. Check credentials and try again.");
    if (strcmp(c->seg[3], "mailFolders") == 0)
        return folder_route(c, m);
    if (strcmp(c->seg[3], "messages") == 0 && c->nseg >= 5)
        return message_route(c, m, 4);
    return graph_error(c, 400, "BadRequest", "Resource not found for the segment '%s'.", c->seg[3]);
}
