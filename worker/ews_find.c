/* SPDX-License-Identifier: Apache-2.0 */
/* FindItem with the storage-management restriction, and DeleteItem (see ews_find.h). */
#include "ews_find.h"

#include <libxml/xmlreader.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ews.h"
#include "ews_xml.h"
#include "mse/limits.h"

/* FindItem ------------------------------------------------------------------------------ */

void ews_find_items_page_cleanup(struct ews_find_items_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        ews_item_cleanup(&p->v[i]);
    free(p->v);
    memset(p, 0, sizeof(*p));
}

/* <t:OP><t:FieldURI FieldURI="uri"/><t:FieldURIOrConstant><t:Constant Value="v"/>… */
static void compare_write(struct ews_xml_writer *wr, const char *op, const char *uri,
                          const char *value)
{
    ews_xml_start(wr, op);
    ews_xml_empty_elem(wr, "t:FieldURI", "FieldURI", uri);
    ews_xml_start(wr, "t:FieldURIOrConstant");
    ews_xml_empty_elem(wr, "t:Constant", "Value", value);
    ews_xml_end(wr);
    ews_xml_end(wr);
}

void ews_find_items_build(struct ews_xml_writer *wr, const void *args, const char *delegate)
{
    const struct ews_find_items_args *a = args;
    char max[16], offset[16], size[24];
    (void)delegate; /* a folder id addresses its mailbox itself */
    snprintf(max, sizeof(max), "%u", a->max_entries);
    snprintf(offset, sizeof(offset), "%u", a->offset);
    snprintf(size, sizeof(size), "%lld", (long long)a->min_size);
    ews_xml_start(wr, "m:FindItem");
    ews_xml_attr_write(wr, "Traversal", "Shallow");
    ews_xml_start(wr, "m:ItemShape");
    ews_xml_text_elem(wr, "t:BaseShape", "IdOnly");
    ews_item_write_fields(wr, a->fields, a->n_fields);
    ews_xml_end(wr);
    ews_xml_start(wr, "m:IndexedPageItemView");
    ews_xml_attr_write(wr, "MaxEntriesReturned", max);
    ews_xml_attr_write(wr, "Offset", offset);
    ews_xml_attr_write(wr, "BasePoint", "Beginning");
    ews_xml_end(wr);
    /* The server filters: only candidates cross the wire, however large the folder. */
    ews_xml_start(wr, "m:Restriction");
    ews_xml_start(wr, "t:And");
    compare_write(wr, "t:IsLessThan", "item:DateTimeReceived", a->received_before);
    if (a->min_size > 0)
        compare_write(wr, "t:IsGreaterThanOrEqualTo", "item:Size", size);
    if (a->with_attachments)
        compare_write(wr, "t:IsEqualTo", "item:HasAttachments", "true");
    ews_xml_end(wr);
    ews_xml_end(wr);
    ews_xml_start(wr, "m:ParentFolderIds");
    ews_xml_empty_elem(wr, "t:FolderId", "Id", a->folder_id);
    ews_xml_end(wr);
    ews_xml_end(wr);
}

/* Appends one expanded item element to the page. */
static enum mse_rc page_add(struct ews_find_items_page *p, const xmlNode *n)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct ews_item *v = realloc(p->v, cap * sizeof(*v));
        if (!v)
            return MSE_ERR_NOMEM;
        p->v = v;
        p->cap = cap;
    }
    struct ews_item *it = &p->v[p->n];
    ews_item_init(it);
    if (ews_item_parse(n, it) != MSE_OK) {
        ews_item_cleanup(it);
        return MSE_ERR_NOMEM;
    }
    p->n++;
    return MSE_OK;
}

/* m:RootFolder: its paging attributes, then t:Items one item at a time. */
static enum mse_rc find_payload(void *ctx, unsigned index, const struct ews_status *st,
                                xmlTextReaderPtr r, struct mse_err *err)
{
    struct ews_find_items_page *p = ctx;
    (void)st;
    (void)err;
    if (index > 0 || !ews_xml_at(r, EWS_NS_M, "RootFolder"))
        return MSE_OK;
    xmlChar *last = xmlTextReaderGetAttribute(r, BAD_CAST "IncludesLastItemInRange");
    xmlChar *total = xmlTextReaderGetAttribute(r, BAD_CAST "TotalItemsInView");
    p->includes_last = last && strcmp((const char *)last, "true") == 0;
    p->total = total ? strtoll((const char *)total, NULL, 10) : -1;
    xmlFree(last);
    xmlFree(total);
    struct ews_xml_iter outer, inner;
    int ret;
    ews_xml_iter_init(&outer, r);
    while ((ret = ews_xml_iter_next(&outer)) == 1) {
        if (!ews_xml_at(r, EWS_NS_T, "Items"))
            continue;
        ews_xml_iter_init(&inner, r);
        while ((ret = ews_xml_iter_next(&inner)) == 1) {
            xmlNode *n = xmlTextReaderExpand(r);
            if (!n)
                return MSE_ERR_INVALID;
            if (p->n >= MSE_EWS_MAX_FIND_PAGE)
                return MSE_ERR_INVALID; /* more than was asked for: not a page */
            if (page_add(p, n) != MSE_OK)
                return MSE_ERR_NOMEM;
        }
        if (ret < 0)
            return MSE_ERR_INVALID;
    }
    return ret < 0 ? MSE_ERR_INVALID : MSE_OK;
}

enum mse_rc ews_find_items_parse(const char *xml, size_t len, void *page, struct ews_reply *reply,
                                 struct mse_err *err)
{
    struct ews_walk walk = { .response = "FindItemResponse",
                             .on_payload = find_payload,
                             .ctx = page };
    return ews_response_walk(xml, len, &walk, reply, err);
}

static void find_reset(void *out)
{
    ews_find_items_page_cleanup(out);
}

static const struct ews_op op_find_items = {
    .name = "FindItem",
    .mailbox = true,
    .build = ews_find_items_build,
    .parse = ews_find_items_parse,
    .reset = find_reset,
};

enum mse_rc ews_find_items(struct ews_session *s, const struct ews_find_items_args *a,
                           struct ews_find_items_page *page, struct ews_reply *reply,
                           struct mse_err *err)
{
    return ews_call(s, &op_find_items, a, page, reply, err);
}

/* DeleteItem ---------------------------------------------------------------------------- */

void ews_delete_items_cleanup(struct ews_delete_items *res)
{
    if (!res)
        return;
    free(res->v);
    res->v = NULL;
    res->n = 0;
}

void ews_delete_items_build(struct ews_xml_writer *wr, const void *args, const char *delegate)
{
    const struct ews_delete_items_args *a = args;
    (void)delegate;
    ews_xml_start(wr, "m:DeleteItem");
    ews_xml_attr_write(wr, "DeleteType", a->hard ? "HardDelete" : "MoveToDeletedItems");
    ews_xml_start(wr, "m:ItemIds");
    for (size_t i = 0; i < a->n_ids; i++)
        ews_xml_empty_elem(wr, "t:ItemId", "Id", a->ids[i]);
    ews_xml_end(wr);
    ews_xml_end(wr);
}

static enum mse_rc delete_end(void *ctx, unsigned index, const struct ews_status *st,
                              struct mse_err *err)
{
    struct ews_delete_items *res = ctx;
    (void)err;
    if (index != res->n || index >= MSE_EWS_MAX_FIND_PAGE)
        return MSE_ERR_INVALID;
    struct ews_status *v = realloc(res->v, (res->n + 1) * sizeof(*v));
    if (!v)
        return MSE_ERR_NOMEM;
    res->v = v;
    res->v[res->n++] = *st;
    return MSE_OK;
}

enum mse_rc ews_delete_items_parse(const char *xml, size_t len, void *res, struct ews_reply *reply,
                                   struct mse_err *err)
{
    struct ews_walk walk = { .response = "DeleteItemResponse",
                             .on_message_end = delete_end,
                             .ctx = res };
    return ews_response_walk(xml, len, &walk, reply, err);
}

static void delete_reset(void *out)
{
    ews_delete_items_cleanup(out);
}

static const struct ews_op op_delete_items = {
    .name = "DeleteItem",
    .mailbox = true,
    .build = ews_delete_items_build,
    .parse = ews_delete_items_parse,
    .reset = delete_reset,
};

enum mse_rc ews_delete_items(struct ews_session *s, const struct ews_delete_items_args *a,
                             struct ews_delete_items *res, struct ews_reply *reply,
                             struct mse_err *err)
{
    enum mse_rc rc = ews_call(s, &op_delete_items, a, res, reply, err);
    if (rc == MSE_OK && res->n != a->n_ids) {
        snprintf(err->msg, sizeof(err->msg), "DeleteItem answered %zu messages for %zu ids", res->n,
                 a->n_ids);
        reply->policy = (struct ews_policy){ EWS_ACT_FAIL, "ews_bad_response" };
        rc = MSE_ERR_UNAVAILABLE;
    }
    return rc;
}
