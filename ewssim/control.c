/* SPDX-License-Identifier: Apache-2.0 */
/* The /_sim/ control API: JSON to inspect and change the organisation and inject faults. */
#include "control.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ewsid.h"
#include "export.h"
#include "fixture.h"
#include "render.h"
#include "timefmt.h"

struct creq {
    struct sim *sim;
    const char *method;
    const char *seg[SIM_CONTROL_MAX_SEGMENTS]; /* path segments after /_sim */
    unsigned nseg;
    const struct control_query *q;
    cJSON *body; /* parsed JSON body or NULL */
    struct mse_log_ctx *log;
    struct ews_reply *out;
};

/* ---- replies ---- */

/* Sends doc (consumed) as the reply body. */
static enum mse_rc reply_json(struct creq *r, unsigned status, cJSON *doc)
{
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    r->out->status = status;
    r->out->content_type = "application/json";
    r->out->body = text;
    r->out->len = text ? strlen(text) : 0;
    return text ? MSE_OK : MSE_ERR_NOMEM;
}

/* The one place control errors are written: RFC 9457 problem documents. */
static enum mse_rc problem(struct creq *r, unsigned status, const char *fmt, ...) MSE_PRINTF(3, 4);
static enum mse_rc problem(struct creq *r, unsigned status, const char *fmt, ...)
{
    static const char *const titles[] = { [400] = "Bad Request",
                                          [403] = "Forbidden",
                                          [404] = "Not Found",
                                          [405] = "Method Not Allowed",
                                          [409] = "Conflict",
                                          [413] = "Content Too Large",
                                          [422] = "Unprocessable Content",
                                          [500] = "Internal Server Error" };
    char detail[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "status", status);
    cJSON_AddStringToObject(p, "title", status < 501 && titles[status] ? titles[status] : "Error");
    cJSON_AddStringToObject(p, "detail", detail);
    enum mse_rc rc = reply_json(r, status, p);
    r->out->content_type = "application/problem+json";
    return rc;
}

static enum mse_rc reply_ok(struct creq *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    return reply_json(r, 200, o);
}

/* ---- small helpers ---- */

/* Request counters as {"requests": {op: n}, …}; atomics, so read locks suffice. */
static cJSON *counters_json(const struct stats_counters *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *req = cJSON_AddObjectToObject(o, "requests");
    for (int i = 0; i < OP_COUNT; i++)
        cJSON_AddNumberToObject(req, ews_op_names[i], (double)atomic_load(&c->requests[i]));
    cJSON_AddNumberToObject(o, "items_returned", (double)atomic_load(&c->items_returned));
    cJSON_AddNumberToObject(o, "sync_changes", (double)atomic_load(&c->sync_changes));
    cJSON_AddNumberToObject(o, "faults_injected", (double)atomic_load(&c->faults_injected));
    return o;
}

/* Folders, messages and appointments below msgfolderroot (what an export lists). */
static void mailbox_counts(const struct org *o, const struct sim_mailbox *m, unsigned *folders,
                           unsigned *messages, unsigned *appointments)
{
    *folders = *messages = *appointments = 0;
    for (unsigned i = 0; i < m->nfolders; i++) {
        const struct sim_folder *f = m->folders[i];
        if (f->deleted || !f->in_ipm)
            continue;
        (*folders)++;
        for (size_t k = 0; k < f->nlog; k++) {
            const struct sim_item *it = folder_log_item(o, f, &f->log[k]);
            if (it)
                (*(it->cal ? appointments : messages))++;
        }
    }
}

static cJSON *mailbox_json(const struct org *o, const struct sim_mailbox *m, bool counters)
{
    unsigned nf, nm, na;
    mailbox_counts(o, m, &nf, &nm, &na);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "address", m->address);
    cJSON_AddStringToObject(j, "display_name", m->display_name);
    cJSON_AddNumberToObject(j, "folder_count", nf);
    cJSON_AddNumberToObject(j, "item_count", nm + na);
    cJSON_AddNumberToObject(j, "message_count", nm);
    cJSON_AddNumberToObject(j, "appointment_count", na);
    if (counters)
        cJSON_AddItemToObject(j, "counters", counters_json(&m->counters));
    return j;
}

/* A folder as the control API lists it (the export's shape plus unread and child counts). */
static cJSON *folder_json(const struct sim_folder *f)
{
    char path[1024], parent[1024], id[EWSID_MAX];
    struct ewsid e = { EWSID_FOLDER, f->mbx->idx, f->num, 0 };
    ewsid_format(&e, id);
    folder_path(f, path, sizeof(path));
    folder_path(f->parent, parent, sizeof(parent));
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "folder_id", id);
    cJSON_AddStringToObject(j, "path", path);
    cJSON_AddStringToObject(j, "parent_path", parent);
    cJSON_AddStringToObject(j, "display_name", f->name);
    cJSON_AddStringToObject(j, "folder_class", f->folder_class ? f->folder_class : "");
    if (f->distinguished >= 0)
        cJSON_AddStringToObject(j, "distinguished_id", store_distinguished_names[f->distinguished]);
    else
        cJSON_AddNullToObject(j, "distinguished_id");
    cJSON_AddNumberToObject(j, "item_count", f->item_count);
    cJSON_AddNumberToObject(j, "unread_count", f->unread_count);
    cJSON_AddNumberToObject(j, "child_folder_count", f->nchildren);
    return j;
}

/* An item's summary with the ids a test needs to address it over EWS. */
static cJSON *item_json(const struct sim_item *it)
{
    char id[EWSID_MAX], ck[EWSID_MAX], path[1024];
    struct ewsid e = { EWSID_ITEM, it->mbx->idx, it->num, 0 };
    ewsid_format(&e, id);
    ewsid_change_key(EWSID_ITEM, it->num, it->change_no, ck);
    folder_path(it->folder, path, sizeof(path));
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "item_id", id);
    cJSON_AddStringToObject(j, "change_key", ck);
    cJSON_AddStringToObject(j, "type", it->cal ? "appointment" : "message");
    cJSON_AddStringToObject(j, "folder_path", path);
    cJSON_AddStringToObject(j, "subject", it->subject);
    cJSON_AddStringToObject(j, "item_class", it->item_class);
    cJSON_AddBoolToObject(j, "is_read", it->is_read);
    cJSON_AddStringToObject(j, "sensitivity", render_sensitivity(it->sensitivity));
    cJSON_AddNumberToObject(j, "size", (double)it->size);
    cJSON_AddNumberToObject(j, "attachment_count", it->natts);
    return j;
}

/* String member of a JSON object, NULL when absent or not a string. */
static const char *str_member(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The mailbox named by segment 1; answers 404 itself when absent. */
static struct sim_mailbox *mailbox_arg(struct creq *r, const struct org *o, enum mse_rc *rc)
{
    struct sim_mailbox *m = org_mailbox(o, r->seg[1]);
    if (!m)
        *rc = problem(r, 404, "no mailbox %s", r->seg[1]);
    return m;
}

/* A folder named by path ("/Inbox") or FolderId; answers 404 itself when absent. */
static struct sim_folder *folder_arg(struct creq *r, const struct org *o,
                                     const struct sim_mailbox *m, const char *text, enum mse_rc *rc)
{
    struct ewsid id;
    struct sim_folder *f = NULL;
    if (text && text[0] == '/')
        f = mailbox_folder_by_path(m, text);
    else if (text && ewsid_parse(text, &id) == MSE_OK && id.kind == EWSID_FOLDER)
        f = org_folder(o, id.num);
    if (!f || f->mbx != m || f->deleted)
        *rc = problem(r, 404, "no folder %s in %s", text ? text : "(none)", m->address);
    return f && f->mbx == m && !f->deleted ? f : NULL;
}

/* An item of mailbox m named by ItemId; answers 404 itself when absent. */
static struct sim_item *item_arg(struct creq *r, const struct org *o, const struct sim_mailbox *m,
                                 const char *text, enum mse_rc *rc)
{
    struct ewsid id;
    struct sim_item *it = NULL;
    if (ewsid_parse(text, &id) == MSE_OK && id.kind == EWSID_ITEM)
        it = org_item(o, id.num);
    if (!it || it->mbx != m) {
        *rc = problem(r, 404, "no item %s in %s", text, m->address);
        return NULL;
    }
    return it;
}

/* ---- handlers: organisation reads ---- */

/* GET /_sim/mailboxes: the list outside scripts rely on ({"items": [{"address", …}]}). */
static enum mse_rc h_mailboxes(struct creq *r, struct org *o)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(doc, "items");
    for (unsigned i = 0; i < o->nmailboxes; i++)
        cJSON_AddItemToArray(items, mailbox_json(o, o->mailboxes[i], false));
    cJSON_AddNullToObject(doc, "next_cursor");
    return reply_json(r, 200, doc);
}

static enum mse_rc h_mailbox(struct creq *r, struct org *o)
{
    enum mse_rc rc = MSE_OK;
    struct sim_mailbox *m = mailbox_arg(r, o, &rc);
    return m ? reply_json(r, 200, mailbox_json(o, m, true)) : rc;
}

static enum mse_rc h_counters(struct creq *r, struct org *o)
{
    enum mse_rc rc = MSE_OK;
    struct sim_mailbox *m = mailbox_arg(r, o, &rc);
    return m ? reply_json(r, 200, counters_json(&m->counters)) : rc;
}

/* GET /_sim/mailboxes/{address}/export: the replica contract (docs/ews-sim.md). */
static enum mse_rc h_export(struct creq *r, struct org *o)
{
    enum mse_rc rc = MSE_OK;
    struct sim_mailbox *m = mailbox_arg(r, o, &rc);
    cJSON *doc = NULL;
    if (!m)
        return rc;
    if (export_mailbox(o, m, &doc) != MSE_OK)
        return problem(r, 500, "out of memory building the export");
    return reply_json(r, 200, doc);
}

/* Depth-first, parents before children: the order folders are shown in. */
static void folders_walk(const struct sim_folder *f, cJSON *arr)
{
    for (unsigned i = 0; i < f->nchildren; i++) {
        cJSON_AddItemToArray(arr, folder_json(f->children[i]));
        folders_walk(f->children[i], arr);
    }
}

static enum mse_rc h_folders(struct creq *r, struct org *o)
{
    enum mse_rc rc = MSE_OK;
    struct sim_mailbox *m = mailbox_arg(r, o, &rc);
    if (!m)
        return rc;
    cJSON *doc = cJSON_CreateObject();
    folders_walk(m->msgroot, cJSON_AddArrayToObject(doc, "items"));
    cJSON_AddNullToObject(doc, "next_cursor");
    return reply_json(r, 200, doc);
}

/* GET …/items[?folder=path]: every live item, optionally of one folder. */
static enum mse_rc h_items(struct creq *r, struct org *o)
{
    enum mse_rc rc = MSE_OK;
    struct sim_mailbox *m = mailbox_arg(r, o, &rc);
    if (!m)
        return rc;
    const char *path = r->q->get(r->q->cls, "folder");
    struct sim_folder *only = path ? folder_arg(r, o, m, path, &rc) : NULL;
    if (path && !only)
        return rc;
    cJSON *doc = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(doc, "items");
    for (unsigned i = 0; i < m->nfolders; i++) {
        const struct sim_folder *f = m->folders[i];
        if (f->deleted || (only && f != only))
            continue;
        for (size_t k = 0; k < f->nlog; k++) {
            const struct sim_item *it = folder_log_item(o, f, &f->log[k]);
            if (it)
                cJSON_AddItemToArray(items, item_json(it));
        }
    }
    cJSON_AddNullToObject(doc, "next_cursor");
    return reply_json(r, 200, doc);
}

/* A group with its members as stored (addresses, unexpanded). */
static cJSON *group_json(const struct sim_group *g);

static enum mse_rc h_groups(struct creq *r, struct org *o)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(doc, "items");
    for (unsigned i = 0; i < o->ngroups; i++)
        cJSON_AddItemToArray(items, group_json(o->groups[i]));
    cJSON_AddNullToObject(doc, "next_cursor");
    return reply_json(r, 200, doc);
}

/* ---- handlers: organisation writes ---- */

/* POST …/folders: a folder in the fixture format below parent_path. */
static enum mse_rc h_folder_create(struct creq *r, struct org *o)
{
    enum mse_rc rc = MSE_OK;
    struct sim_mailbox *m = mailbox_arg(r, o, &rc);
    if (!m)
        return rc;
    const char *parent_path = str_member(r->body, "parent_path");
    struct sim_folder *parent = folder_arg(r, o, m, parent_path ? parent_path : "/", &rc);
    if (!parent)
        return rc;
    struct mse_err err = { { 0 } };
    struct sim_folder *f = NULL;
    rc = fixture_folder_add(o, parent, r->body, "body", &f, &err);
    if (rc == MSE_ERR_INVALID)
        return problem(r, 422, "%s", err.msg);
    if (rc != MSE_OK)
        return problem(r, 500, "creating the folder failed: %s", mse_rc_str(rc));
    return reply_json(r, 201, folder_json(f));
}

/* PATCH …/folders/{id}: rename and/or move; both are hierarchy Updates. */
static enum mse_rc h_folder_update(struct creq *r, struct org *o)
{
    enum mse_rc rc = MSE_OK;
    struct sim_mailbox *m = mailbox_arg(r, o, &rc);
    struct sim_folder *f = m ? folder_arg(r, o, m, r->seg[3], &rc) : NULL;
    if (!f)
        return rc;
    const char *name = str_member(r->body, "display_name");
    const char *parent_path = str_member(r->body, "parent_path");
    struct sim_folder *parent = parent_path ? folder_arg(r, o, m, parent_path, &rc) : NULL;
    if (parent_path && !parent)
        return rc;
    if (name && (!name[0] || strchr(name, '/') || !store_text_ok(name) || strlen(name) > 255))
        return problem(r, 422, "display_name: 1-255 characters, no '/'");
    if (!name && !parent)
        return problem(r, 422, "give display_name and/or parent_path");
    rc = folder_update(f, name, parent);
    if (rc == MSE_ERR_INVALID)
        return problem(r, 409, "a folder cannot move below itself or its root");
    if (rc != MSE_OK)
        return problem(r, 500, "updating the folder failed");
    return reply_json(r, 200, folder_json(f));
}

/* DELETE …/folders/{id}: the folder, its sub-folders and items. */
static enum mse_rc h_folder_delete(struct creq *r, struct org *o)
{
    enum mse_rc rc = MSE_OK;
    struct sim_mailbox *m = mailbox_arg(r, o, &rc);
    struct sim_folder *f = m ? folder_arg(r, o, m, r->seg[3], &rc) : NULL;
    if (!f)
        return rc;
    rc = folder_delete(o, f);
    if (rc == MSE_ERR_CONFLICT)
        return problem(r, 409, "distinguished folders (Inbox, Calendar, …) cannot be deleted");
    return rc == MSE_OK ? reply_ok(r) : problem(r, 500, "deleting the folder failed");
}

/* POST …/items: a message or appointment in the fixture format. */
static enum mse_rc h_item_create(struct creq *r, struct org *o)
{
    enum mse_rc rc = MSE_OK;
    struct sim_mailbox *m = mailbox_arg(r, o, &rc);
    if (!m)
        return rc;
    const char *type = str_member(r->body, "type");
    bool appt = type && strcmp(type, "appointment") == 0;
    if (!type || (!appt && strcmp(type, "message") != 0))
        return problem(r, 422, "type must be \"message\" or \"appointment\"");
    const char *path = str_member(r->body, "folder");
    struct sim_folder *f = path ? folder_arg(r, o, m, path, &rc)
                                : mailbox_distinguished(m, appt ? "calendar" : "inbox");
    if (!f)
        return rc;
    struct mse_err err = { { 0 } };
    struct sim_item *it = NULL;
    rc = fixture_item_add(o, f, r->body, appt, "body", &it, &err);
    if (rc == MSE_ERR_INVALID)
        return problem(r, 422, "%s", err.msg);
    if (rc != MSE_OK)
        return problem(r, 500, "creating the item failed: %s", mse_rc_str(rc));
    return reply_json(r, 201, item_json(it));
}

/* Field updates of PATCH /items/{id}; *content tells whether more than the read flag changed. */
static const char *item_patch_apply(struct creq *r, struct sim_item *it, bool *content)
{
    const cJSON *b = r->body, *v;
    static const char *const text_fields[] = { "subject", "item_class", "body", "location" };
    for (size_t i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++) {
        const char *s = str_member(b, text_fields[i]);
        if (!s)
            continue;
        if (!store_text_ok(s))
            return "text fields must hold valid characters";
        char **slot = i == 0 ? &it->subject : i == 1 ? &it->item_class : i == 2 ? &it->body : NULL;
        if (i == 3 && !it->cal)
            return "location applies to appointments only";
        if (i == 3)
            slot = &it->cal->location;
        char *copy = strdup(s);
        if (!copy)
            return "out of memory";
        free(*slot);
        *slot = copy;
        if (i == 2) {
            it->body_seed = 0;
            free(it->mime);
            it->mime = NULL;
        }
        *content = true;
    }
    const char *sens = str_member(b, "sensitivity");
    if (sens) {
        int s = fixture_sensitivity(sens);
        if (s < 0)
            return "sensitivity must be Normal, Personal, Private or Confidential";
        it->sensitivity = (enum sensitivity)s;
        *content = true;
    }
    for (int k = 0; k < 2; k++) {
        const char *ts = str_member(b, k ? "end" : "start");
        time_t t;
        if (!ts)
            continue;
        if (!it->cal || mse_time_parse(ts, &t) != MSE_OK)
            return "start/end: RFC 3339 times, appointments only";
        *(k ? &it->cal->end : &it->cal->start) = t;
        *content = true;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(b, "is_read")) && !cJSON_IsBool(v))
        return "is_read must be a boolean";
    if (v)
        item_set_read(it, cJSON_IsTrue(v));
    return NULL;
}

/* PATCH …/items/{id}: field changes first, then the move (a move is Delete + Create). */
static enum mse_rc h_item_update(struct creq *r, struct org *o)
{
    enum mse_rc rc = MSE_OK;
    struct sim_mailbox *m = mailbox_arg(r, o, &rc);
    struct sim_item *it = m ? item_arg(r, o, m, r->seg[3], &rc) : NULL;
    if (!it)
        return rc;
    const char *to_path = str_member(r->body, "folder");
    struct sim_folder *to = to_path ? folder_arg(r, o, m, to_path, &rc) : NULL;
    if (to_path && !to)
        return rc;
    bool content = false, read_change = cJSON_GetObjectItemCaseSensitive(r->body, "is_read");
    const char *bad = item_patch_apply(r, it, &content);
    if (bad)
        return problem(r, 422, "%s", bad);
    if (content)
        item_size_update(it);
    if ((content || read_change) && item_touch(it, content) != MSE_OK)
        return problem(r, 500, "out of memory");
    if (to && item_move(it, to) != MSE_OK)
        return problem(r, 500, "out of memory");
    return reply_json(r, 200, item_json(it));
}

/* DELETE …/items/{id}: a hard delete; the folder log keeps a tombstone. */
static enum mse_rc h_item_delete(struct creq *r, struct org *o)
{
    enum mse_rc rc = MSE_OK;
    struct sim_mailbox *m = mailbox_arg(r, o, &rc);
    struct sim_item *it = m ? item_arg(r, o, m, r->seg[3], &rc) : NULL;
    if (!it)
        return rc;
    return item_delete(o, it) == MSE_OK ? reply_ok(r) : problem(r, 500, "out of memory");
}

/* POST …/invalidate-sync-state: a new epoch refuses every older SyncState. */
static enum mse_rc h_invalidate(struct creq *r, struct org *o)
{
    enum mse_rc rc = MSE_OK;
    struct sim_mailbox *m = mailbox_arg(r, o, &rc);
    if (!m)
        return rc;
    m->epoch++;
    return reply_ok(r);
}

/* PUT /_sim/groups/{address}/members: replaces the member list. */
static enum mse_rc h_group_members(struct creq *r, struct org *o)
{
    struct sim_group *g = org_group(o, r->seg[1]);
    if (!g)
        return problem(r, 404, "no group %s", r->seg[1]);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r->body, "members"), *el;
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n > 100000)
        return problem(r, 422, "members must be an array of addresses");
    const char **v = calloc((size_t)n + 1, sizeof(*v));
    if (!v)
        return problem(r, 500, "out of memory");
    int i = 0;
    cJSON_ArrayForEach(el, arr)
    {
        if (!cJSON_IsString(el) || !strchr(el->valuestring, '@') ||
            !store_text_ok(el->valuestring)) {
            free(v);
            return problem(r, 422, "members[%d] is not an address", i);
        }
        v[i++] = el->valuestring;
    }
    enum mse_rc rc = org_group_set_members(g, v, (unsigned)n);
    free(v);
    return rc == MSE_OK ? reply_ok(r) : problem(r, 500, "out of memory");
}

/* A group with its members as stored (addresses, unexpanded). */
static cJSON *group_json(const struct sim_group *g)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "address", g->address);
    cJSON_AddStringToObject(j, "name", g->name);
    cJSON *mem = cJSON_AddArrayToObject(j, "members");
    for (unsigned k = 0; k < g->nmembers; k++)
        cJSON_AddItemToArray(mem, cJSON_CreateString(g->members[k]));
    return j;
}

/* POST /_sim/groups: validates every member before creating anything. */
static enum mse_rc h_group_create(struct creq *r, struct org *o)
{
    const char *addr = str_member(r->body, "address");
    const char *name = str_member(r->body, "name");
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(r->body, "members"), *el;
    if (!addr || !strchr(addr, '@') || !store_text_ok(addr) || (name && !store_text_ok(name)))
        return problem(r, 422, "address must be an e-mail address");
    if (members && !cJSON_IsArray(members))
        return problem(r, 422, "members must be an array of addresses");
    cJSON_ArrayForEach(el, members)
    {
        if (!cJSON_IsString(el) || !strchr(el->valuestring, '@') || !store_text_ok(el->valuestring))
            return problem(r, 422, "members must be an array of addresses");
    }
    if (org_group(o, addr))
        return problem(r, 409, "group %s exists", addr);
    struct sim_group *g;
    int n = cJSON_GetArraySize(members), i = 0;
    const char **v = calloc((size_t)n + 1, sizeof(*v));
    if (!v)
        return problem(r, 500, "out of memory");
    cJSON_ArrayForEach(el, members)
    {
        v[i++] = el->valuestring;
    }
    enum mse_rc rc = org_group_add(o, addr, name, &g);
    if (rc == MSE_OK)
        rc = org_group_set_members(g, v, (unsigned)n);
    free(v);
    return rc == MSE_OK ? reply_json(r, 201, group_json(g)) : problem(r, 500, "out of memory");
}

/* ---- handlers: simulator ---- */

/* A fault rule as listed; remaining null = no limit. */
static cJSON *rule_json(const struct fault_rule *f)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", f->id);
    cJSON_AddStringToObject(j, "kind", fault_kind_names[f->kind]);
    if (f->operation[0])
        cJSON_AddStringToObject(j, "operation", f->operation);
    else
        cJSON_AddNullToObject(j, "operation");
    if (f->mailbox[0])
        cJSON_AddStringToObject(j, "mailbox", f->mailbox);
    else
        cJSON_AddNullToObject(j, "mailbox");
    if (f->remaining >= 0)
        cJSON_AddNumberToObject(j, "remaining", (double)f->remaining);
    else
        cJSON_AddNullToObject(j, "remaining");
    cJSON_AddNumberToObject(j, "probability", f->probability);
    cJSON_AddNumberToObject(j, "backoff_ms", f->backoff_ms);
    cJSON_AddNumberToObject(j, "delay_ms", f->delay_ms);
    cJSON_AddNumberToObject(j, "fired", (double)f->fired);
    return j;
}

static enum mse_rc h_faults(struct creq *r, struct org *o)
{
    (void)o;
    static struct fault_rule rules[SIM_FAULT_MAX_RULES]; /* guarded by the store lock (write) */
    unsigned n = faults_list(&r->sim->faults, rules, SIM_FAULT_MAX_RULES);
    cJSON *doc = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(doc, "items");
    for (unsigned i = 0; i < n; i++)
        cJSON_AddItemToArray(items, rule_json(&rules[i]));
    cJSON_AddNullToObject(doc, "next_cursor");
    return reply_json(r, 200, doc);
}

/* Optional number in [lo, hi]: NULL when fine, else the offending key. */
static const char *number_member(const cJSON *b, const char *key, double lo, double hi, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, key);
    if (!v)
        return NULL;
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
        return key;
    *out = v->valuedouble;
    return NULL;
}

/* POST /_sim/faults: one rule; kind, operation and ranges are checked first. */
static enum mse_rc h_fault_add(struct creq *r, struct org *o)
{
    (void)o;
    struct fault_rule f = { .remaining = -1, .probability = 1.0, .backoff_ms = 1000 };
    const char *kind = str_member(r->body, "kind");
    const char *op = str_member(r->body, "operation");
    const char *mbx = str_member(r->body, "mailbox");
    int k = kind ? fault_kind_lookup(kind) : -1;
    if (k < 0)
        return problem(r, 422,
                       "kind must be one of server_busy, http_503, http_401, delay, cutoff, "
                       "invalid_sync_state, mailbox_move, no_mailbox, internal, busy_message");
    if (op && (ews_op_lookup(op) == OP_UNKNOWN))
        return problem(r, 422, "operation %.60s is not an EWS operation this simulator answers",
                       op);
    if ((mbx && strlen(mbx) >= sizeof(f.mailbox)))
        return problem(r, 422, "mailbox is too long");
    double count = -1, prob = 1.0, backoff = 1000, delay = 0;
    const char *bad = number_member(r->body, "count", 1, 1e9, &count);
    if (!bad)
        bad = number_member(r->body, "probability", 0.000001, 1, &prob);
    if (!bad)
        bad = number_member(r->body, "backoff_ms", 0, 3600000, &backoff);
    if (!bad)
        bad = number_member(r->body, "delay_ms", 0, 600000, &delay);
    if (bad)
        return problem(r, 422,
                       "%s is out of range (count ≥ 1, 0 < probability ≤ 1, "
                       "backoff_ms ≤ 3600000, delay_ms ≤ 600000)",
                       bad);
    f.kind = (enum fault_kind)k;
    f.remaining = (int64_t)count;
    f.probability = prob;
    f.backoff_ms = (unsigned)backoff;
    f.delay_ms = (unsigned)delay;
    snprintf(f.operation, sizeof(f.operation), "%s", op ? op : "");
    snprintf(f.mailbox, sizeof(f.mailbox), "%s", mbx ? mbx : "");
    if (faults_add(&r->sim->faults, &f) != MSE_OK)
        return problem(r, 409, "%d fault rules are in place already", SIM_FAULT_MAX_RULES);
    return reply_json(r, 201, rule_json(&f));
}

/* DELETE /_sim/faults[/{id}]: one rule, or all of them. */
static enum mse_rc h_fault_delete(struct creq *r, struct org *o)
{
    (void)o;
    unsigned id = 0;
    if (r->nseg == 2) {
        char *end = NULL;
        unsigned long v = strtoul(r->seg[1], &end, 10);
        if (!end || *end || v == 0 || v > UINT32_MAX)
            return problem(r, 404, "no fault rule %s", r->seg[1]);
        id = (unsigned)v;
    }
    if (faults_remove(&r->sim->faults, id) != MSE_OK)
        return problem(r, 404, "no fault rule %u", id);
    return reply_ok(r);
}

/* GET /_sim/stats: simulator-wide counters, schema_violations among them. */
static enum mse_rc h_stats(struct creq *r, struct org *o)
{
    (void)o;
    struct stats *s = &r->sim->stats;
    cJSON *doc = counters_json(&s->all);
    cJSON_AddNumberToObject(doc, "http_requests", (double)atomic_load(&s->http_requests));
    cJSON_AddNumberToObject(doc, "soap_faults", (double)atomic_load(&s->soap_faults));
    cJSON_AddNumberToObject(doc, "auth_failures", (double)atomic_load(&s->auth_failures));
    cJSON_AddNumberToObject(doc, "request_schema_errors",
                            (double)atomic_load(&s->request_schema_errors));
    cJSON_AddNumberToObject(doc, "schema_violations", (double)atomic_load(&s->schema_violations));
    cJSON_AddBoolToObject(doc, "validate_responses", r->sim->cfg.validate_responses);
    cJSON_AddNumberToObject(doc, "generation", atomic_load(&r->sim->store.generation));
    return reply_json(r, 200, doc);
}

/* POST /_sim/stats/reset: zero every counter (schema_violations excepted). */
static enum mse_rc h_stats_reset(struct creq *r, struct org *o)
{
    struct stats *s = &r->sim->stats;
    stats_counters_reset(&s->all);
    for (unsigned i = 0; i < o->nmailboxes; i++)
        stats_counters_reset(&o->mailboxes[i]->counters);
    atomic_store(&s->http_requests, 0);
    atomic_store(&s->soap_faults, 0);
    atomic_store(&s->auth_failures, 0);
    atomic_store(&s->request_schema_errors, 0);
    return reply_ok(r);
}

/* The settings and each account's concurrency figures (realism.h). */
static cJSON *realism_json(struct realism *rl)
{
    static struct realism_account accts[REALISM_MAX_ACCOUNTS]; /* guarded by the store lock */
    struct realism_settings st;
    realism_settings_get(rl, &st);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "latency_ms", st.latency_ms);
    cJSON_AddNumberToObject(doc, "jitter_ms", st.jitter_ms);
    cJSON_AddNumberToObject(doc, "us_per_kib", st.us_per_kib);
    cJSON_AddNumberToObject(doc, "bandwidth_kibps", st.bandwidth_kibps);
    cJSON_AddNumberToObject(doc, "max_concurrency", st.max_concurrency);
    cJSON_AddNumberToObject(doc, "busy_backoff_ms", st.busy_backoff_ms);
    cJSON *items = cJSON_AddArrayToObject(doc, "accounts");
    unsigned n = realism_accounts(rl, accts, REALISM_MAX_ACCOUNTS);
    for (unsigned i = 0; i < n; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "account", accts[i].name);
        cJSON_AddNumberToObject(a, "in_flight", accts[i].in_flight);
        cJSON_AddNumberToObject(a, "peak_in_flight", accts[i].peak);
        cJSON_AddNumberToObject(a, "admitted", (double)accts[i].admitted);
        cJSON_AddNumberToObject(a, "throttled", (double)accts[i].throttled);
        cJSON_AddItemToArray(items, a);
    }
    return doc;
}

static enum mse_rc h_realism(struct creq *r, struct org *o)
{
    (void)o;
    return reply_json(r, 200, realism_json(&r->sim->realism));
}

/* PUT /_sim/realism: the given settings change, the others stay; the counters restart. */
static enum mse_rc h_realism_put(struct creq *r, struct org *o)
{
    (void)o;
    static const char *const keys[] = { "latency_ms",      "jitter_ms",       "us_per_kib",
                                        "bandwidth_kibps", "max_concurrency", "busy_backoff_ms" };
    struct realism_settings st;
    realism_settings_get(&r->sim->realism, &st);
    unsigned *fields[] = { &st.latency_ms,      &st.jitter_ms,       &st.us_per_kib,
                           &st.bandwidth_kibps, &st.max_concurrency, &st.busy_backoff_ms };
    const cJSON *el;
    cJSON_ArrayForEach(el, r->body)
    {
        size_t k = 0;
        while (k < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[k], el->string) != 0)
            k++;
        if (k == sizeof(keys) / sizeof(keys[0]))
            return problem(r, 422,
                           "%.60s is not a realism setting (latency_ms, jitter_ms, "
                           "us_per_kib, bandwidth_kibps, max_concurrency, busy_backoff_ms)",
                           el->string);
        if (!cJSON_IsNumber(el) || el->valuedouble < 0 || el->valuedouble > 1e7 ||
            el->valuedouble != (double)(unsigned)el->valuedouble)
            return problem(r, 422, "%s must be a whole number ≥ 0", keys[k]);
        *fields[k] = (unsigned)el->valuedouble;
    }
    const char *bad = realism_settings_check(&st);
    if (bad)
        return problem(r, 422, "%s is out of range (docs/ews-sim.md)", bad);
    realism_configure(&r->sim->realism, &st);
    LOG_INFO(r->log,
             "realism: latency %u ms + 0..%u ms + %u us/KiB, bandwidth %u KiB/s, concurrency %u "
             "per account",
             st.latency_ms, st.jitter_ms, st.us_per_kib, st.bandwidth_kibps, st.max_concurrency);
    return reply_json(r, 200, realism_json(&r->sim->realism));
}

static enum mse_rc h_health(struct creq *r, struct org *o)
{
    (void)o;
    return reply_ok(r);
}

/* ---- routing ---- */

enum lock_kind { LOCK_NONE, LOCK_READ, LOCK_WRITE };

/* One row per route; "*" matches one segment. Segments start after /_sim. */
static const struct route {
    const char *method;
    const char *pattern;
    enum mse_rc (*fn)(struct creq *r, struct org *o);
    enum lock_kind lock;
    bool body;
} routes[] = {
    { "GET", "health", h_health, LOCK_NONE, false },
    { "GET", "stats", h_stats, LOCK_READ, false },
    { "POST", "stats/reset", h_stats_reset, LOCK_READ, false },
    { "POST", "reset", NULL, LOCK_NONE, false },
    { "GET", "mailboxes", h_mailboxes, LOCK_READ, false },
    { "GET", "mailboxes/*", h_mailbox, LOCK_READ, false },
    { "GET", "mailboxes/*/export", h_export, LOCK_READ, false },
    { "GET", "mailboxes/*/counters", h_counters, LOCK_READ, false },
    { "POST", "mailboxes/*/invalidate-sync-state", h_invalidate, LOCK_WRITE, false },
    { "GET", "mailboxes/*/folders", h_folders, LOCK_READ, false },
    { "POST", "mailboxes/*/folders", h_folder_create, LOCK_WRITE, true },
    { "PATCH", "mailboxes/*/folders/*", h_folder_update, LOCK_WRITE, true },
    { "DELETE", "mailboxes/*/folders/*", h_folder_delete, LOCK_WRITE, false },
    { "GET", "mailboxes/*/items", h_items, LOCK_READ, false },
    { "POST", "mailboxes/*/items", h_item_create, LOCK_WRITE, true },
    { "PATCH", "mailboxes/*/items/*", h_item_update, LOCK_WRITE, true },
    { "DELETE", "mailboxes/*/items/*", h_item_delete, LOCK_WRITE, false },
    { "GET", "groups", h_groups, LOCK_READ, false },
    { "POST", "groups", h_group_create, LOCK_WRITE, true },
    { "PUT", "groups/*/members", h_group_members, LOCK_WRITE, true },
    { "GET", "realism", h_realism, LOCK_WRITE, false },
    { "PUT", "realism", h_realism_put, LOCK_WRITE, true },
    { "GET", "faults", h_faults, LOCK_WRITE, false },
    { "POST", "faults", h_fault_add, LOCK_NONE, true },
    { "DELETE", "faults", h_fault_delete, LOCK_NONE, false },
    { "DELETE", "faults/*", h_fault_delete, LOCK_NONE, false },
};

/* True when the request's segments match a route pattern ("*" = one segment). */
static bool pattern_match(const char *pattern, const struct creq *r)
{
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", pattern);
    unsigned i = 0;
    char *save = NULL;
    for (char *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save), i++) {
        if (i >= r->nseg || (strcmp(p, "*") != 0 && strcmp(p, r->seg[i]) != 0))
            return false;
    }
    return i == r->nseg;
}

/* POST /_sim/reset: a fresh organisation from the start-up configuration. */
static enum mse_rc do_reset(struct creq *r)
{
    struct mse_err err = { { 0 } };
    struct org *o = NULL;
    if (sim_org_build(&r->sim->cfg, &o, &err) != MSE_OK)
        return problem(r, 500, "reset failed: %s", err.msg);
    store_swap(&r->sim->store, o);
    LOG_INFO(r->log, "organisation reset to its start-up state");
    return reply_ok(r);
}

/* Runs a handler under the store lock its row asks for. */
static enum mse_rc route_run(struct creq *r, const struct route *rt)
{
    if (!rt->fn)
        return do_reset(r);
    if (rt->body && !cJSON_IsObject(r->body))
        return problem(r, 400, "the request body must be a JSON object");
    struct store *st = &r->sim->store;
    if (rt->lock == LOCK_WRITE)
        store_write_lock(st);
    else if (rt->lock == LOCK_READ)
        store_read_lock(st);
    enum mse_rc rc = rt->fn(r, st->org);
    if (rt->lock != LOCK_NONE)
        store_unlock(st);
    return rc;
}

/* Splits the path after /_sim into at most SIM_CONTROL_MAX_SEGMENTS segments. */
static enum mse_rc path_split(struct creq *r, char *copy)
{
    char *save = NULL;
    for (char *p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        if (r->nseg == SIM_CONTROL_MAX_SEGMENTS)
            return MSE_ERR_INVALID;
        r->seg[r->nseg++] = p;
    }
    return MSE_OK;
}

enum mse_rc control_handle(struct sim *sim, const char *method, const char *path,
                           const struct control_query *q, const char *body, size_t len,
                           struct mse_log_ctx *log, struct ews_reply *out)
{
    memset(out, 0, sizeof(*out));
    struct creq r = { .sim = sim, .method = method, .q = q, .log = log, .out = out };
    char *copy = strdup(path + strlen("/_sim"));
    if (!copy)
        return MSE_ERR_NOMEM;
    enum mse_rc rc;
    if (path_split(&r, copy) != MSE_OK) {
        rc = problem(&r, 404, "no such control resource");
        goto out;
    }
    if (len) {
        r.body = cJSON_ParseWithLength(body, len);
        if (!r.body) {
            rc = problem(&r, 400, "the request body is not valid JSON");
            goto out;
        }
    }
    bool path_known = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!pattern_match(routes[i].pattern, &r))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, method) == 0) {
            rc = route_run(&r, &routes[i]);
            goto out;
        }
    }
    rc = path_known ? problem(&r, 405, "%s is not allowed on %s", method, path)
                    : problem(&r, 404, "no control resource %s", path);
out:
    cJSON_Delete(r.body);
    free(copy);
    return rc;
}
