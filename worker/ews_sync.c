/* SPDX-License-Identifier: Apache-2.0 */
/* SyncFolderHierarchy and SyncFolderItems: requests, streamed responses, change pages. */
#include "ews_sync.h"

#include <stdlib.h>
#include <string.h>

#include "ews.h"
#include "mse/limits.h"

/* A page may not hold more than this many changes, whatever the server sends. */
#define EWS_MAX_PAGE_CHANGES (4 * MSE_EWS_MAX_CHANGES)

const char *ews_change_str(enum ews_change_type t)
{
    switch (t) {
    case EWS_CHANGE_CREATE:
        return "create";
    case EWS_CHANGE_UPDATE:
        return "update";
    case EWS_CHANGE_DELETE:
        return "delete";
    case EWS_CHANGE_READ_FLAG:
        return "read_flag";
    }
    return "unknown";
}

static bool change_type_of(xmlTextReaderPtr r, bool items, enum ews_change_type *t)
{
    if (ews_xml_at(r, EWS_NS_T, "Create"))
        *t = EWS_CHANGE_CREATE;
    else if (ews_xml_at(r, EWS_NS_T, "Update"))
        *t = EWS_CHANGE_UPDATE;
    else if (ews_xml_at(r, EWS_NS_T, "Delete"))
        *t = EWS_CHANGE_DELETE;
    else if (items && ews_xml_at(r, EWS_NS_T, "ReadFlagChange"))
        *t = EWS_CHANGE_READ_FLAG;
    else
        return false;
    return true;
}

/* Reads m:SyncState / m:IncludesLast…InRange into the page fields. */
static enum mse_rc page_header(xmlTextReaderPtr r, const char *includes, char **state,
                               bool *includes_last, bool *handled)
{
    *handled = true;
    if (ews_xml_at(r, EWS_NS_M, "SyncState")) {
        xmlNode *n = xmlTextReaderExpand(r);
        if (!n)
            return MSE_ERR_INVALID;
        free(*state);
        *state = ews_xml_text(n);
        return *state ? MSE_OK : MSE_ERR_NOMEM;
    }
    if (ews_xml_at(r, EWS_NS_M, includes)) {
        xmlNode *n = xmlTextReaderExpand(r);
        if (!n || ews_xml_bool(n, includes_last) != MSE_OK)
            return MSE_ERR_INVALID;
        return MSE_OK;
    }
    *handled = false;
    return MSE_OK;
}

/* Makes room for one more element in a page array. */
static enum mse_rc page_grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return MSE_OK;
    if (n >= EWS_MAX_PAGE_CHANGES)
        return MSE_ERR_TOO_LARGE;
    size_t c = *cap ? *cap * 2 : 64;
    void *p = realloc(*v, c * elem);
    if (!p)
        return MSE_ERR_NOMEM;
    *v = p;
    *cap = c;
    return MSE_OK;
}

/* SyncFolderHierarchy ------------------------------------------------------------------- */

void ews_hierarchy_page_cleanup(struct ews_hierarchy_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        ews_folder_cleanup(&p->v[i].folder);
    free(p->v);
    free(p->sync_state);
    memset(p, 0, sizeof(*p));
}

void ews_sync_hierarchy_build(struct ews_xml_writer *wr, const void *args, const char *delegate)
{
    const struct ews_sync_hierarchy_args *a = args;
    ews_xml_start(wr, "m:SyncFolderHierarchy");
    ews_xml_start(wr, "m:FolderShape");
    ews_xml_text_elem(wr, "t:BaseShape", "IdOnly");
    ews_item_write_fields(wr, a->fields, a->n_fields);
    ews_xml_end(wr);
    ews_xml_start(wr, "m:SyncFolderId");
    ews_folder_write_distinguished(wr, a->root, delegate);
    ews_xml_end(wr);
    if (a->sync_state && *a->sync_state)
        ews_xml_text_elem(wr, "m:SyncState", a->sync_state);
    ews_xml_end(wr);
}

/* Reads one t:Create/t:Update/t:Delete of the hierarchy (reader on it). */
static enum mse_rc folder_change(xmlTextReaderPtr r, enum ews_change_type t,
                                 struct ews_hierarchy_page *p)
{
    xmlNode *n = xmlTextReaderExpand(r);
    if (!n)
        return MSE_ERR_INVALID;
    xmlNode *child = ews_xml_first_elem(n);
    if (!child)
        return MSE_OK;
    if (t != EWS_CHANGE_DELETE && !ews_folder_element((const char *)child->name))
        return MSE_OK; /* a kind of folder this client does not know */
    enum mse_rc rc = page_grow((void **)&p->v, &p->cap, p->n, sizeof(*p->v));
    if (rc != MSE_OK)
        return rc;
    struct ews_folder_change *c = &p->v[p->n++];
    c->type = t;
    ews_folder_init(&c->folder);
    if (t != EWS_CHANGE_DELETE)
        return ews_folder_parse(child, &c->folder);
    snprintf(c->folder.kind, sizeof(c->folder.kind), "Folder");
    if (ews_xml_attr(child, "Id", &c->folder.id) != MSE_OK ||
        ews_xml_attr(child, "ChangeKey", &c->folder.change_key) != MSE_OK)
        return MSE_ERR_NOMEM;
    return MSE_OK;
}

static enum mse_rc hierarchy_payload(void *ctx, unsigned index, const struct ews_status *st,
                                     xmlTextReaderPtr r, struct mse_err *err)
{
    struct ews_hierarchy_page *p = ctx;
    (void)st;
    bool handled;
    if (index > 0)
        return MSE_OK; /* one message per request */
    enum mse_rc rc = page_header(r, "IncludesLastFolderInRange", &p->sync_state, &p->includes_last,
                                 &handled);
    if (rc != MSE_OK || handled || !ews_xml_at(r, EWS_NS_M, "Changes"))
        return rc;
    struct ews_xml_iter it;
    ews_xml_iter_init(&it, r);
    int ret;
    while ((ret = ews_xml_iter_next(&it)) == 1) {
        enum ews_change_type t;
        if (!change_type_of(r, false, &t))
            continue;
        rc = folder_change(r, t, p);
        if (rc == MSE_ERR_TOO_LARGE)
            snprintf(err->msg, sizeof(err->msg), "more than %u folder changes in one page",
                     EWS_MAX_PAGE_CHANGES);
        if (rc != MSE_OK)
            return rc;
    }
    return ret < 0 ? MSE_ERR_INVALID : MSE_OK;
}

enum mse_rc ews_sync_hierarchy_parse(const char *xml, size_t len, void *page,
                                     struct ews_reply *reply, struct mse_err *err)
{
    struct ews_walk walk = { .response = "SyncFolderHierarchyResponse",
                             .on_payload = hierarchy_payload,
                             .ctx = page };
    return ews_response_walk(xml, len, &walk, reply, err);
}

static void hierarchy_reset(void *out)
{
    ews_hierarchy_page_cleanup(out);
}

static const struct ews_op op_sync_hierarchy = {
    .name = "SyncFolderHierarchy",
    .mailbox = true,
    .build = ews_sync_hierarchy_build,
    .parse = ews_sync_hierarchy_parse,
    .reset = hierarchy_reset,
};

enum mse_rc ews_sync_hierarchy(struct ews_session *s, const struct ews_sync_hierarchy_args *a,
                               struct ews_hierarchy_page *page, struct ews_reply *reply,
                               struct mse_err *err)
{
    enum mse_rc rc = ews_call(s, &op_sync_hierarchy, a, page, reply, err);
    if (rc == MSE_OK && reply->policy.action == EWS_ACT_OK && !page->sync_state) {
        snprintf(err->msg, sizeof(err->msg), "SyncFolderHierarchy answered without a SyncState");
        reply->policy = (struct ews_policy){ EWS_ACT_FAIL, "ews_bad_response" };
        rc = MSE_ERR_UNAVAILABLE;
    }
    return rc;
}

/* SyncFolderItems ----------------------------------------------------------------------- */

void ews_items_page_cleanup(struct ews_items_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        ews_item_cleanup(&p->v[i].item);
    free(p->v);
    free(p->sync_state);
    memset(p, 0, sizeof(*p));
}

void ews_sync_items_build(struct ews_xml_writer *wr, const void *args, const char *delegate)
{
    const struct ews_sync_items_args *a = args;
    char max[16];
    snprintf(max, sizeof(max), "%u", a->max_changes);
    ews_xml_start(wr, "m:SyncFolderItems");
    ews_xml_start(wr, "m:ItemShape");
    ews_xml_text_elem(wr, "t:BaseShape", "IdOnly");
    ews_item_write_fields(wr, a->fields, a->n_fields);
    ews_xml_end(wr);
    ews_xml_start(wr, "m:SyncFolderId");
    if (a->folder_id)
        ews_xml_empty_elem(wr, "t:FolderId", "Id", a->folder_id);
    else
        ews_folder_write_distinguished(wr, a->distinguished, delegate);
    ews_xml_end(wr);
    if (a->sync_state && *a->sync_state)
        ews_xml_text_elem(wr, "m:SyncState", a->sync_state);
    ews_xml_text_elem(wr, "m:MaxChangesReturned", max);
    ews_xml_text_elem(wr, "m:SyncScope", "NormalItems");
    ews_xml_end(wr);
}

/* Reads one t:Create/t:Update/t:Delete/t:ReadFlagChange (reader on it). */
static enum mse_rc item_change(xmlTextReaderPtr r, enum ews_change_type t, struct ews_items_page *p)
{
    xmlNode *n = xmlTextReaderExpand(r);
    if (!n)
        return MSE_ERR_INVALID;
    xmlNode *child = ews_xml_first_elem(n);
    if (!child)
        return MSE_OK;
    enum mse_rc rc = page_grow((void **)&p->v, &p->cap, p->n, sizeof(*p->v));
    if (rc != MSE_OK)
        return rc;
    struct ews_item_change *c = &p->v[p->n++];
    c->type = t;
    c->is_read = false;
    ews_item_init(&c->item);
    if (t == EWS_CHANGE_CREATE || t == EWS_CHANGE_UPDATE)
        return ews_item_parse(child, &c->item);
    /* Delete and ReadFlagChange: t:ItemId first, then (read flag) t:IsRead. */
    xmlNode *id = ews_xml_child(n, EWS_NS_T, "ItemId");
    if (id && (ews_xml_attr(id, "Id", &c->item.id) != MSE_OK ||
               ews_xml_attr(id, "ChangeKey", &c->item.change_key) != MSE_OK))
        return MSE_ERR_NOMEM;
    xmlNode *read = ews_xml_child(n, EWS_NS_T, "IsRead");
    if (t == EWS_CHANGE_READ_FLAG && (!read || ews_xml_bool(read, &c->is_read) != MSE_OK))
        return MSE_ERR_INVALID;
    return MSE_OK;
}

static enum mse_rc items_payload(void *ctx, unsigned index, const struct ews_status *st,
                                 xmlTextReaderPtr r, struct mse_err *err)
{
    struct ews_items_page *p = ctx;
    (void)st;
    bool handled;
    if (index > 0)
        return MSE_OK;
    enum mse_rc rc =
            page_header(r, "IncludesLastItemInRange", &p->sync_state, &p->includes_last, &handled);
    if (rc != MSE_OK || handled || !ews_xml_at(r, EWS_NS_M, "Changes"))
        return rc;
    struct ews_xml_iter it;
    ews_xml_iter_init(&it, r);
    int ret;
    while ((ret = ews_xml_iter_next(&it)) == 1) {
        enum ews_change_type t;
        if (!change_type_of(r, true, &t))
            continue;
        rc = item_change(r, t, p);
        if (rc == MSE_ERR_TOO_LARGE)
            snprintf(err->msg, sizeof(err->msg), "more than %u item changes in one page",
                     EWS_MAX_PAGE_CHANGES);
        if (rc != MSE_OK)
            return rc;
    }
    return ret < 0 ? MSE_ERR_INVALID : MSE_OK;
}

enum mse_rc ews_sync_items_parse(const char *xml, size_t len, void *page, struct ews_reply *reply,
                                 struct mse_err *err)
{
    struct ews_walk walk = { .response = "SyncFolderItemsResponse",
                             .on_payload = items_payload,
                             .ctx = page };
    return ews_response_walk(xml, len, &walk, reply, err);
}

static void items_reset(void *out)
{
    ews_items_page_cleanup(out);
}

static const struct ews_op op_sync_items = {
    .name = "SyncFolderItems",
    .mailbox = true,
    .build = ews_sync_items_build,
    .parse = ews_sync_items_parse,
    .reset = items_reset,
};

enum mse_rc ews_sync_items(struct ews_session *s, const struct ews_sync_items_args *a,
                           struct ews_items_page *page, struct ews_reply *reply,
                           struct mse_err *err)
{
    enum mse_rc rc = ews_call(s, &op_sync_items, a, page, reply, err);
    if (rc == MSE_OK && reply->policy.action == EWS_ACT_OK && !page->sync_state) {
        snprintf(err->msg, sizeof(err->msg), "SyncFolderItems answered without a SyncState");
        reply->policy = (struct ews_policy){ EWS_ACT_FAIL, "ews_bad_response" };
        rc = MSE_ERR_UNAVAILABLE;
    }
    return rc;
}
