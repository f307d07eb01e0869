/* SPDX-License-Identifier: Apache-2.0 */
/* SyncFolderItems, and the SyncState checks both Sync operations share. */
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "render.h"

const char *op_state_read(struct ews_ctx *c, xmlNodePtr state_el, enum syncstate_scope scope,
                          const struct sim_folder *f, uint64_t *watermark)
{
    char text[SYNCSTATE_MAX + 8];
    *watermark = 0;
    if (c->force_invalid_state)
        return "ErrorInvalidSyncStateData";
    if (!state_el)
        return NULL;
    x_content(state_el, text, sizeof(text));
    size_t n = strlen(text);
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\n' || text[n - 1] == '\r' ||
                 text[n - 1] == '\t'))
        text[--n] = '\0';
    if (n == 0)
        return NULL; /* <m:SyncState/>: a first sync */
    struct syncstate s;
    if (syncstate_parse(text, &s) != MSE_OK || s.scope != scope || s.generation != c->generation ||
        s.mailbox != f->mbx->idx || s.epoch != f->mbx->epoch || s.folder != f->num ||
        s.watermark > f->mbx->csn)
        return "ErrorInvalidSyncStateData";
    *watermark = s.watermark;
    return NULL;
}

void op_state_write(struct ews_ctx *c, xmlNodePtr msg, enum syncstate_scope scope,
                    const struct sim_folder *f, uint64_t watermark)
{
    struct syncstate s = { .scope = scope,
                           .generation = c->generation,
                           .epoch = f->mbx->epoch,
                           .mailbox = f->mbx->idx,
                           .folder = f->num,
                           .watermark = watermark };
    char text[SYNCSTATE_MAX];
    syncstate_format(&s, text);
    x_text(msg, c->resp->m, "SyncState", text);
}

/* Item numbers listed in m:Ignore (ids this simulator did not make are skipped). */
struct ignore_set {
    uint64_t *nums;
    size_t n;
};

/* Reads m:Ignore into item numbers (foreign ids are skipped). */
static void ignore_read(xmlNodePtr ignore, struct ignore_set *s)
{
    char text[256];
    size_t cap = 0;
    for (xmlNodePtr id = x_first(ignore); id; id = x_next(id)) {
        struct ewsid e;
        if (!x_prop(id, "Id", text, sizeof(text)) || ewsid_parse(text, &e) != MSE_OK)
            continue;
        if (s->n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *g = realloc(s->nums, cap * sizeof(*g));
            if (!g)
                return;
            s->nums = g;
        }
        s->nums[s->n++] = e.num;
    }
}

/* Linear: Ignore lists are short. */
static bool ignored(const struct ignore_set *s, uint64_t num)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->nums[i] == num)
            return true;
    }
    return false;
}

/* What an entry means to a client at the watermark: 0 = nothing (stale, unseen, ignored). */
enum change { CH_NONE, CH_CREATE, CH_UPDATE, CH_READ_FLAG, CH_DELETE };

/* Classifies one log entry for a client that has seen everything up to watermark. */
static enum change entry_change(const struct ews_ctx *c, const struct sim_folder *f,
                                const struct log_entry *e, uint64_t watermark,
                                const struct ignore_set *ign, struct sim_item **it)
{
    *it = NULL;
    if (e->kind == LOG_TOMB)
        return e->since_csn > watermark || ignored(ign, e->num) ? CH_NONE : CH_DELETE;
    *it = folder_log_item(c->org, f, e);
    if (!*it || ignored(ign, e->num))
        return CH_NONE;
    if ((*it)->created_csn > watermark)
        return CH_CREATE;
    return (*it)->content_csn > watermark ? CH_UPDATE : CH_READ_FLAG;
}

/* One t:Create / t:Update / t:ReadFlagChange / t:Delete. */
static void change_render(struct ews_ctx *c, xmlNodePtr changes, const struct render_ctx *rc,
                          enum change ch, const struct log_entry *e, const struct sim_item *it,
                          const struct sim_folder *f)
{
    xmlNsPtr t = c->resp->t;
    if (ch == CH_CREATE || ch == CH_UPDATE) {
        render_item(x_el(changes, t, ch == CH_CREATE ? "Create" : "Update"), rc, it, NULL);
    } else if (ch == CH_READ_FLAG) {
        xmlNodePtr rf = x_el(changes, t, "ReadFlagChange");
        render_item_id(rf, t, "ItemId", it);
        x_bool(rf, t, "IsRead", it->is_read);
    } else {
        struct ewsid id = { EWSID_ITEM, f->mbx->idx, e->num, 0 };
        char text[EWSID_MAX], ck[EWSID_MAX];
        ewsid_format(&id, text);
        ewsid_change_key(EWSID_ITEM, e->num, e->change_no, ck);
        xmlNodePtr d = x_el(x_el(changes, t, "Delete"), t, "ItemId");
        x_attr(d, "Id", text);
        x_attr(d, "ChangeKey", ck);
    }
}

/* True when an entry at or after index i would be a change for this client. */
static bool more_changes(const struct ews_ctx *c, const struct sim_folder *f, size_t i,
                         uint64_t watermark, const struct ignore_set *ign)
{
    struct sim_item *it;
    for (; i < f->nlog; i++) {
        if (entry_change(c, f, &f->log[i], watermark, ign, &it) != CH_NONE)
            return true;
    }
    return false;
}

/* The folder to sync; a missing one is ErrorSyncFolderNotFound as Exchange says. */
static const char *sync_folder_resolve(struct ews_ctx *c, struct sim_folder **f)
{
    xmlNodePtr id = x_first(x_child(c->req->op, NS_MESSAGES, "SyncFolderId"));
    const char *code = ews_folder_lookup(c, id, f);
    if (code && strcmp(code, "ErrorFolderNotFound") == 0)
        return "ErrorSyncFolderNotFound";
    return code;
}

/* One page of changes after the watermark, and where the next page starts. */
struct page {
    long max, count;
    uint64_t new_mark;
    bool includes_last;
};

static void page_build(struct ews_ctx *c, const struct render_ctx *rc, struct sim_folder *f,
                       uint64_t watermark, const struct ignore_set *ign, xmlNodePtr changes,
                       struct page *p)
{
    p->count = 0;
    p->new_mark = f->mbx->csn;
    size_t i = folder_log_seek(f, watermark);
    for (; changes && i < f->nlog && p->count < p->max; i++) {
        struct sim_item *it;
        enum change ch = entry_change(c, f, &f->log[i], watermark, ign, &it);
        if (ch == CH_NONE)
            continue;
        change_render(c, changes, rc, ch, &f->log[i], it, f);
        if (++p->count == p->max)
            p->new_mark = f->log[i].csn;
    }
    p->includes_last = p->count < p->max || !more_changes(c, f, i, watermark, ign);
    if (p->includes_last)
        p->new_mark = f->mbx->csn;
}

static void sync_items_error(struct ews_ctx *c, xmlNodePtr msgs, const char *code)
{
    xmlNodePtr m = soap_message(c->resp, msgs, "SyncFolderItems", code);
    x_el(m, c->resp->m, "SyncState");
    x_bool(m, c->resp->m, "IncludesLastItemInRange", true);
}

enum mse_rc op_sync_folder_items(struct ews_ctx *c)
{
    xmlNodePtr op = c->req->op;
    struct shape shape;
    shape_item_parse(x_child(op, NS_MESSAGES, "ItemShape"), &shape);
    struct render_ctx rc = { .t = c->resp->t, .shape = &shape, .summary = true };
    xmlNodePtr msgs = soap_messages(c->resp, "SyncFolderItems");
    struct sim_folder *f = NULL;
    uint64_t watermark = 0;
    const char *code = sync_folder_resolve(c, &f);
    if (!code)
        code = op_state_read(c, x_child(op, NS_MESSAGES, "SyncState"), SYNCSTATE_ITEMS, f,
                             &watermark);
    if (code) {
        sync_items_error(c, msgs, code);
        return msgs ? MSE_OK : MSE_ERR_NOMEM;
    }
    char buf[16];
    struct page p = { .max = strtol(x_content(x_child(op, NS_MESSAGES, "MaxChangesReturned"), buf,
                                              sizeof(buf)),
                                    NULL, 10) };
    struct ignore_set ign = { 0 };
    ignore_read(x_child(op, NS_MESSAGES, "Ignore"), &ign);
    /* The page is built first: the SyncState that precedes it depends on where it ends. */
    xmlNodePtr changes = xmlNewDocNode(c->resp->doc, c->resp->m, (const xmlChar *)"Changes", NULL);
    page_build(c, &rc, f, watermark, &ign, changes, &p);
    free(ign.nums);
    xmlNodePtr m = soap_message(c->resp, msgs, "SyncFolderItems", NULL);
    op_state_write(c, m, SYNCSTATE_ITEMS, f, p.new_mark);
    x_bool(m, c->resp->m, "IncludesLastItemInRange", p.includes_last);
    if (!m || !changes || !xmlAddChild(m, changes)) {
        xmlFreeNode(changes);
        return MSE_ERR_NOMEM;
    }
    atomic_fetch_add(&f->mbx->counters.sync_changes, (uint64_t)p.count);
    atomic_fetch_add(&c->sim->stats.all.sync_changes, (uint64_t)p.count);
    return MSE_OK;
}
