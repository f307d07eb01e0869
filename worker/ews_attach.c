/* SPDX-License-Identifier: Apache-2.0 */
/* GetAttachment: the content of one attachment, decoded from base64. */
#include "ews_attach.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ews.h"

void ews_attachment_content_cleanup(struct ews_attachment_content *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->content_type);
    free(c->data);
    memset(c, 0, sizeof(*c));
    ews_status_init(&c->status);
}

void ews_get_attachment_build(struct ews_xml_writer *wr, const void *args, const char *delegate)
{
    const struct ews_get_attachment_args *a = args;
    (void)delegate;
    ews_xml_start(wr, "m:GetAttachment");
    ews_xml_start(wr, "m:AttachmentShape");
    /* An attached message comes back as MIME: bytes that can be stored and hashed. */
    ews_xml_text_elem(wr, "t:IncludeMimeContent", "true");
    ews_xml_end(wr);
    ews_xml_start(wr, "m:AttachmentIds");
    ews_xml_empty_elem(wr, "t:AttachmentId", "Id", a->id);
    ews_xml_end(wr);
    ews_xml_end(wr);
}

/* The first descendant element with this local name in the types namespace. */
static xmlNode *descendant(xmlNode *n, const char *local, int depth)
{
    if (depth > 8)
        return NULL;
    for (xmlNode *c = ews_xml_first_elem(n); c; c = ews_xml_next_elem(c)) {
        if (ews_xml_is(c, EWS_NS_T, local))
            return c;
        xmlNode *d = descendant(c, local, depth + 1);
        if (d)
            return d;
    }
    return NULL;
}

static enum mse_rc text_child(xmlNode *n, const char *local, char **dst)
{
    xmlNode *c = ews_xml_child(n, EWS_NS_T, local);
    if (!c)
        return MSE_OK;
    *dst = ews_xml_text(c);
    return *dst ? MSE_OK : MSE_ERR_NOMEM;
}

/* Decodes the base64 text of node into out->data. */
static enum mse_rc content_decode(xmlNode *node, struct ews_attachment_content *out)
{
    xmlChar *b64 = xmlNodeGetContent(node);
    if (!b64)
        return MSE_ERR_NOMEM;
    free(out->data);
    out->data = NULL;
    enum mse_rc rc = mse_crypto_b64_decode((const char *)b64, strlen((const char *)b64), &out->data,
                                           &out->len);
    xmlFree(b64);
    return rc;
}

static enum mse_rc attachment_read(xmlNode *a, struct ews_attachment_content *out)
{
    out->is_item = ews_xml_is(a, EWS_NS_T, "ItemAttachment");
    if (text_child(a, "Name", &out->name) != MSE_OK ||
        text_child(a, "ContentType", &out->content_type) != MSE_OK)
        return MSE_ERR_NOMEM;
    xmlNode *content =
            out->is_item ? descendant(a, "MimeContent", 0) : ews_xml_child(a, EWS_NS_T, "Content");
    if (!content)
        return MSE_ERR_INVALID;
    if (out->is_item && !out->content_type) {
        out->content_type = strdup("message/rfc822");
        if (!out->content_type)
            return MSE_ERR_NOMEM;
    }
    return content_decode(content, out);
}

static enum mse_rc attachment_payload(void *ctx, unsigned index, const struct ews_status *st,
                                      xmlTextReaderPtr r, struct mse_err *err)
{
    struct ews_attachment_content *out = ctx;
    if (index > 0 || !ews_xml_at(r, EWS_NS_M, "Attachments"))
        return MSE_OK;
    out->status = *st;
    struct ews_xml_iter it;
    ews_xml_iter_init(&it, r);
    int ret = ews_xml_iter_next(&it);
    if (ret <= 0)
        return ret < 0 ? MSE_ERR_INVALID : MSE_OK;
    /* The attachment is expanded alone: its base64 text is the only large node. */
    xmlNode *n = xmlTextReaderExpand(r);
    if (!n)
        return MSE_ERR_INVALID;
    enum mse_rc rc = attachment_read(n, out);
    if (rc == MSE_ERR_INVALID)
        snprintf(err->msg, sizeof(err->msg), "attachment without readable content");
    return rc;
}

static enum mse_rc attachment_end(void *ctx, unsigned index, const struct ews_status *st,
                                  struct mse_err *err)
{
    struct ews_attachment_content *out = ctx;
    (void)err;
    if (index == 0)
        out->status = *st;
    return MSE_OK;
}

enum mse_rc ews_get_attachment_parse(const char *xml, size_t len, void *out,
                                     struct ews_reply *reply, struct mse_err *err)
{
    struct ews_walk walk = { .response = "GetAttachmentResponse",
                             .huge = true,
                             .on_payload = attachment_payload,
                             .on_message_end = attachment_end,
                             .ctx = out };
    return ews_response_walk(xml, len, &walk, reply, err);
}

static void attachment_reset(void *out)
{
    ews_attachment_content_cleanup(out);
}

static const struct ews_op op_get_attachment = {
    .name = "GetAttachment",
    .mailbox = true,
    .huge = true,
    .build = ews_get_attachment_build,
    .parse = ews_get_attachment_parse,
    .reset = attachment_reset,
};

enum mse_rc ews_get_attachment(struct ews_session *s, const struct ews_get_attachment_args *a,
                               struct ews_attachment_content *out, struct ews_reply *reply,
                               struct mse_err *err)
{
    enum mse_rc rc = ews_call(s, &op_get_attachment, a, out, reply, err);
    if (rc == MSE_OK && reply->policy.action == EWS_ACT_OK && !out->data) {
        snprintf(err->msg, sizeof(err->msg), "GetAttachment answered without content");
        reply->policy = (struct ews_policy){ EWS_ACT_FAIL, "ews_bad_response" };
        rc = MSE_ERR_UNAVAILABLE;
    }
    return rc;
}
