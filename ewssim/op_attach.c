/* SPDX-License-Identifier: Apache-2.0 */
/* Attachment operations: GetAttachment, CreateAttachment and DeleteAttachment. */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ops.h"
#include "render.h"

/* t:AttachmentId → its item and index; NULL or the error code. */
static const char *attachment_lookup(struct ews_ctx *c, xmlNodePtr id_el, struct sim_item **it,
                                     unsigned *idx)
{
    char text[256];
    struct ewsid id;
    if (!x_prop(id_el, "Id", text, sizeof(text)) || ewsid_parse(text, &id) != MSE_OK ||
        id.kind != EWSID_ATTACHMENT)
        return "ErrorInvalidIdMalformed";
    const char *code = NULL;
    struct sim_mailbox *m = ews_id_mailbox(c, &id, &code);
    if (!m)
        return code;
    *it = org_item(c->org, id.num);
    if (!*it || (*it)->mbx != m)
        return "ErrorItemNotFound";
    for (unsigned i = 0; i < (*it)->natts; i++) {
        if ((*it)->atts[i].num == id.extra) {
            *idx = i;
            return NULL;
        }
    }
    return "ErrorInvalidAttachmentId";
}

enum mse_rc op_get_attachment(struct ews_ctx *c)
{
    xmlNodePtr msgs = soap_messages(c->resp, "GetAttachment");
    for (xmlNodePtr id = x_first(x_child(c->req->op, NS_MESSAGES, "AttachmentIds")); id;
         id = x_next(id)) {
        struct sim_item *it = NULL;
        unsigned idx = 0;
        const char *code = attachment_lookup(c, id, &it, &idx);
        xmlNodePtr m = soap_message(c->resp, msgs, "GetAttachment", code);
        xmlNodePtr atts = x_el(m, c->resp->m, "Attachments");
        if (!code && render_attachment(atts, c->resp->t, it, &it->atts[idx], true) != MSE_OK)
            return MSE_ERR_NOMEM;
    }
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}

/* AttachmentId with the parent's new ChangeKey (RootItemChangeKey). */
static void attachment_id_render(xmlNodePtr parent, xmlNsPtr t, const char *el,
                                 const struct sim_item *it, const struct sim_attachment *a)
{
    struct ewsid id = { EWSID_ATTACHMENT, it->mbx->idx, it->num, a->num };
    struct ewsid root = { EWSID_ITEM, it->mbx->idx, it->num, 0 };
    char text[EWSID_MAX], rtext[EWSID_MAX], ck[EWSID_MAX];
    ewsid_format(&id, text);
    ewsid_format(&root, rtext);
    ewsid_change_key(EWSID_ITEM, it->num, it->change_no, ck);
    xmlNodePtr n = x_el(parent, t, el);
    x_attr(n, "Id", text);
    x_attr(n, "RootItemId", rtext);
    x_attr(n, "RootItemChangeKey", ck);
}

/* Adds one t:FileAttachment to the item; NULL or the error code. */
static const char *file_attachment_add(struct ews_ctx *c, struct sim_item *it, xmlNodePtr fa)
{
    char *content = x_content_dup(x_child(fa, NS_TYPES, "Content"));
    uint8_t *bytes = NULL;
    size_t n = 0;
    if (!content)
        return "ErrorInternalServerError";
    enum mse_rc rc = mse_crypto_b64_decode(content, strlen(content), &bytes, &n);
    free(content);
    if (rc != MSE_OK)
        return "ErrorInvalidRequest";
    struct sim_attachment *g = realloc(it->atts, (it->natts + 1) * sizeof(*g));
    if (!g) {
        free(bytes);
        return "ErrorInternalServerError";
    }
    it->atts = g;
    struct sim_attachment *a = &it->atts[it->natts++];
    memset(a, 0, sizeof(*a));
    a->num = org_next_attachment(c->org);
    a->content = bytes;
    a->size = n;
    a->modified = time(NULL);
    a->name = x_content_dup(x_child(fa, NS_TYPES, "Name"));
    xmlNodePtr ct = x_child(fa, NS_TYPES, "ContentType");
    a->content_type = ct ? x_content_dup(ct) : strdup("application/octet-stream");
    xmlNodePtr cid = x_child(fa, NS_TYPES, "ContentId");
    a->content_id = cid ? x_content_dup(cid) : NULL;
    char buf[16];
    a->is_inline =
            strcmp(x_content(x_child(fa, NS_TYPES, "IsInline"), buf, sizeof(buf)), "true") == 0;
    if (!a->name || !a->content_type)
        return "ErrorInternalServerError";
    return item_touch(it, true) == MSE_OK ? NULL : "ErrorInternalServerError";
}

enum mse_rc op_create_attachment(struct ews_ctx *c)
{
    xmlNodePtr msgs = soap_messages(c->resp, "CreateAttachment");
    xmlNodePtr parent = x_child(c->req->op, NS_MESSAGES, "ParentItemId");
    struct ewsid id;
    struct sim_item *it = NULL;
    const char *parent_code = ews_item_lookup(c, parent, &it, &id);
    if (!parent_code && id.kind == EWSID_OCCURRENCE)
        parent_code = "ErrorInvalidOperation";
    for (xmlNodePtr a = x_first(x_child(c->req->op, NS_MESSAGES, "Attachments")); a;
         a = x_next(a)) {
        const char *code = parent_code;
        if (!code)
            code = x_is(a, NS_TYPES, "FileAttachment") ? file_attachment_add(c, it, a)
                                                       : "ErrorInvalidOperation";
        xmlNodePtr m = soap_message(c->resp, msgs, "CreateAttachment", code);
        xmlNodePtr atts = x_el(m, c->resp->m, "Attachments");
        if (!code) {
            item_size_update(it);
            attachment_id_render(x_el(atts, c->resp->t, "FileAttachment"), c->resp->t,
                                 "AttachmentId", it, &it->atts[it->natts - 1]);
        }
    }
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}

enum mse_rc op_delete_attachment(struct ews_ctx *c)
{
    xmlNodePtr msgs = soap_messages(c->resp, "DeleteAttachment");
    for (xmlNodePtr id = x_first(x_child(c->req->op, NS_MESSAGES, "AttachmentIds")); id;
         id = x_next(id)) {
        struct sim_item *it = NULL;
        unsigned idx = 0;
        const char *code = attachment_lookup(c, id, &it, &idx);
        if (!code) {
            struct sim_attachment *a = &it->atts[idx];
            free(a->name);
            free(a->content_type);
            free(a->content_id);
            free(a->content);
            memmove(a, a + 1, (it->natts - idx - 1) * sizeof(*a));
            it->natts--;
            item_size_update(it);
            if (item_touch(it, true) != MSE_OK)
                code = "ErrorInternalServerError";
        }
        xmlNodePtr m = soap_message(c->resp, msgs, "DeleteAttachment", code);
        if (!code) {
            struct ewsid root = { EWSID_ITEM, it->mbx->idx, it->num, 0 };
            char rtext[EWSID_MAX], ck[EWSID_MAX];
            ewsid_format(&root, rtext);
            ewsid_change_key(EWSID_ITEM, it->num, it->change_no, ck);
            xmlNodePtr r = x_el(m, c->resp->m, "RootItemId");
            x_attr(r, "RootItemId", rtext);
            x_attr(r, "RootItemChangeKey", ck);
        }
    }
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}
