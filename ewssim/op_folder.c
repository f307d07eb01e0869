/* SPDX-License-Identifier: Apache-2.0 */
/* Folder operations: GetFolder, FindFolder and SyncFolderHierarchy. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_limits.h"
#include "ops.h"
#include "render.h"
#include "restrict.h"

enum mse_rc op_get_folder(struct ews_ctx *c)
{
    struct shape shape;
    shape_folder_parse(x_child(c->req->op, NS_MESSAGES, "FolderShape"), &shape);
    xmlNodePtr msgs = soap_messages(c->resp, "GetFolder");
    xmlNodePtr ids = x_child(c->req->op, NS_MESSAGES, "FolderIds");
    for (xmlNodePtr id = x_first(ids); id; id = x_next(id)) {
        struct sim_folder *f = NULL;
        const char *code = ews_folder_lookup(c, id, &f);
        xmlNodePtr m = soap_message(c->resp, msgs, "GetFolder", code);
        xmlNodePtr folders = x_el(m, c->resp->m, "Folders");
        if (f)
            render_folder(folders, c->resp->t, &shape, f);
    }
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}

struct folder_list {
    const struct sim_folder **v;
    size_t n, cap;
    bool unsupported;
};

/* Appends to a growable folder list; on allocation failure the entry is dropped. */
static void list_add(struct folder_list *l, const struct sim_folder *f)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 32;
        const struct sim_folder **g = realloc(l->v, ncap * sizeof(*g));
        if (!g)
            return;
        l->v = g;
        l->cap = ncap;
    }
    l->v[l->n++] = f;
}

/* Children (Deep: the whole subtree, pre-order) that match the restriction. */
static void folders_collect(const struct sim_folder *parent, bool deep, xmlNodePtr restriction,
                            struct folder_list *l)
{
    for (unsigned i = 0; i < parent->nchildren; i++) {
        const struct sim_folder *f = parent->children[i];
        int v = restriction ? restrict_eval(x_first(restriction), restrict_folder_field, f) : 1;
        if (v < 0)
            l->unsupported = true;
        else if (v)
            list_add(l, f);
        if (deep)
            folders_collect(f, deep, restriction, l);
    }
}

void op_page_window(xmlNodePtr view, size_t n, size_t *first, size_t *end)
{
    char buf[32];
    long offset = 0, max = SIM_FIND_PAGE_MAX;
    if (view && x_prop(view, "Offset", buf, sizeof(buf)))
        offset = strtol(buf, NULL, 10);
    if (view && x_prop(view, "MaxEntriesReturned", buf, sizeof(buf)))
        max = strtol(buf, NULL, 10);
    if (offset < 0)
        offset = 0;
    if (max <= 0 || max > SIM_FIND_PAGE_MAX)
        max = SIM_FIND_PAGE_MAX;
    bool from_end = view && x_prop(view, "BasePoint", buf, sizeof(buf)) && strcmp(buf, "End") == 0;
    size_t off = (size_t)offset > n ? n : (size_t)offset;
    if (from_end) {
        *end = n - off;
        *first = *end > (size_t)max ? *end - (size_t)max : 0;
    } else {
        *first = off;
        *end = off + (size_t)max > n ? n : off + (size_t)max;
    }
}

/* One ParentFolderIds entry: a RootFolder page of matching folders. */
static void find_folder_one(struct ews_ctx *c, xmlNodePtr msgs, xmlNodePtr parent_id,
                            const struct shape *shape, bool deep)
{
    struct sim_folder *parent = NULL;
    const char *code = ews_folder_lookup(c, parent_id, &parent);
    struct folder_list l = { 0 };
    if (!code) {
        folders_collect(parent, deep, x_child(c->req->op, NS_MESSAGES, "Restriction"), &l);
        if (l.unsupported)
            code = "ErrorUnsupportedQueryFilter";
    }
    xmlNodePtr m = soap_message(c->resp, msgs, "FindFolder", code);
    if (!code) {
        size_t first, end;
        op_page_window(x_child(c->req->op, NS_MESSAGES, "IndexedPageFolderView"), l.n, &first,
                       &end);
        xmlNodePtr root = x_el(m, c->resp->m, "RootFolder");
        char buf[32];
        snprintf(buf, sizeof(buf), "%zu", end);
        x_attr(root, "IndexedPagingOffset", buf);
        snprintf(buf, sizeof(buf), "%zu", l.n);
        x_attr(root, "TotalItemsInView", buf);
        x_attr(root, "IncludesLastItemInRange", end >= l.n ? "true" : "false");
        xmlNodePtr folders = x_el(root, c->resp->t, "Folders");
        for (size_t i = first; i < end; i++)
            render_folder(folders, c->resp->t, shape, l.v[i]);
    }
    free(l.v);
}

enum mse_rc op_find_folder(struct ews_ctx *c)
{
    char traversal[32];
    struct shape shape;
    shape_folder_parse(x_child(c->req->op, NS_MESSAGES, "FolderShape"), &shape);
    x_prop(c->req->op, "Traversal", traversal, sizeof(traversal));
    bool deep = strcmp(traversal, "Deep") == 0;
    bool soft = strcmp(traversal, "SoftDeleted") == 0;
    xmlNodePtr msgs = soap_messages(c->resp, "FindFolder");
    xmlNodePtr ids = x_child(c->req->op, NS_MESSAGES, "ParentFolderIds");
    for (xmlNodePtr id = x_first(ids); id; id = x_next(id)) {
        if (soft) /* nothing is ever soft-deleted here: an empty view */
            soap_message(c->resp, msgs, "FindFolder", "ErrorInvalidOperation");
        else
            find_folder_one(c, msgs, id, &shape, deep);
    }
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}

/* ---- SyncFolderHierarchy ---- */

/* True when f lies strictly below root (deleted folders keep their parent link). */
static bool folder_below(const struct sim_folder *f, const struct sim_folder *root)
{
    for (f = f->parent; f; f = f->parent) {
        if (f == root)
            return true;
    }
    return false;
}

/* Changes are reported in the order they happened. */
static int csn_cmp(const void *a, const void *b)
{
    const struct sim_folder *fa = *(const struct sim_folder *const *)a;
    const struct sim_folder *fb = *(const struct sim_folder *const *)b;
    return fa->csn < fb->csn ? -1 : fa->csn > fb->csn;
}

/* Folders changed since the watermark: Create, Update (rename, move) or Delete. */
static void hierarchy_changes(struct ews_ctx *c, xmlNodePtr changes, const struct shape *shape,
                              const struct sim_folder *root, uint64_t watermark)
{
    struct folder_list l = { 0 };
    const struct sim_mailbox *mbx = root->mbx;
    for (unsigned i = 0; i < mbx->nfolders; i++) {
        const struct sim_folder *f = mbx->folders[i];
        if (f->csn > watermark && folder_below(f, root) &&
            !(f->deleted && f->created_csn > watermark))
            list_add(&l, f);
    }
    if (l.n)
        qsort(l.v, l.n, sizeof(*l.v), csn_cmp);
    xmlNsPtr t = c->resp->t;
    for (size_t i = 0; i < l.n; i++) {
        const struct sim_folder *f = l.v[i];
        if (f->deleted)
            render_folder_id(x_el(changes, t, "Delete"), t, "FolderId", f);
        else
            render_folder(x_el(changes, t, f->created_csn > watermark ? "Create" : "Update"), t,
                          shape, f);
    }
    free(l.v);
}

/* Error messages still carry an empty SyncState and IncludesLast… (exchangelib reads them). */
static void sync_error(struct ews_ctx *c, xmlNodePtr msgs, const char *op, const char *code,
                       const char *last_el)
{
    xmlNodePtr m = soap_message(c->resp, msgs, op, code);
    x_el(m, c->resp->m, "SyncState");
    x_bool(m, c->resp->m, last_el, true);
}

enum mse_rc op_sync_folder_hierarchy(struct ews_ctx *c)
{
    struct shape shape;
    shape_folder_parse(x_child(c->req->op, NS_MESSAGES, "FolderShape"), &shape);
    xmlNodePtr msgs = soap_messages(c->resp, "SyncFolderHierarchy");
    xmlNodePtr sync_id = x_first(x_child(c->req->op, NS_MESSAGES, "SyncFolderId"));
    struct sim_folder *root = c->mbx ? c->mbx->root : NULL;
    const char *code = sync_id ? ews_folder_lookup(c, sync_id, &root)
                       : root  ? NULL
                               : "ErrorNonExistentMailbox";
    uint64_t watermark = 0;
    if (!code)
        code = op_state_read(c, x_child(c->req->op, NS_MESSAGES, "SyncState"), SYNCSTATE_HIERARCHY,
                             root, &watermark);
    if (code) {
        sync_error(c, msgs, "SyncFolderHierarchy", code, "IncludesLastFolderInRange");
        return msgs ? MSE_OK : MSE_ERR_NOMEM;
    }
    xmlNodePtr m = soap_message(c->resp, msgs, "SyncFolderHierarchy", NULL);
    op_state_write(c, m, SYNCSTATE_HIERARCHY, root, root->mbx->csn);
    x_bool(m, c->resp->m, "IncludesLastFolderInRange", true);
    hierarchy_changes(c, x_el(m, c->resp->m, "Changes"), &shape, root, watermark);
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}
