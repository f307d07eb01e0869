/* SPDX-License-Identifier: Apache-2.0 */
/* ExpandDL: the direct members of a distribution group. */
#include "ews_dl.h"

#include <stdlib.h>
#include <string.h>

#include "ews.h"
#include "mse/limits.h"

void ews_dl_members_cleanup(struct ews_dl_members *m)
{
    if (!m)
        return;
    ews_people_cleanup(&m->members);
    m->includes_last = false;
}

void ews_expand_dl_build(struct ews_xml_writer *wr, const void *args, const char *delegate)
{
    const struct ews_expand_dl_args *a = args;
    (void)delegate;
    ews_xml_start(wr, "m:ExpandDL");
    ews_xml_start(wr, "m:Mailbox");
    ews_xml_text_elem(wr, "t:EmailAddress", a->address);
    ews_xml_end(wr);
    ews_xml_end(wr);
}

static enum mse_rc members_read(xmlTextReaderPtr r, struct ews_dl_members *out)
{
    xmlChar *last = xmlTextReaderGetAttribute(r, BAD_CAST "IncludesLastItemInRange");
    out->includes_last = !last || strcmp((const char *)last, "false") != 0;
    xmlFree(last);
    struct ews_xml_iter it;
    ews_xml_iter_init(&it, r);
    int ret;
    size_t cap = 0;
    while ((ret = ews_xml_iter_next(&it)) == 1) {
        if (!ews_xml_at(r, EWS_NS_T, "Mailbox"))
            continue;
        if (out->members.n >= MSE_GROUP_MAX_MEMBERS)
            return MSE_ERR_TOO_LARGE;
        xmlNode *n = xmlTextReaderExpand(r);
        if (!n)
            return MSE_ERR_INVALID;
        if (out->members.n == cap) {
            cap = cap ? cap * 2 : 16;
            struct ews_person *v = realloc(out->members.v, cap * sizeof(*v));
            if (!v)
                return MSE_ERR_NOMEM;
            out->members.v = v;
        }
        struct ews_person *p = &out->members.v[out->members.n++];
        memset(p, 0, sizeof(*p));
        if (ews_person_parse(n, p) != MSE_OK)
            return MSE_ERR_NOMEM;
    }
    return ret < 0 ? MSE_ERR_INVALID : MSE_OK;
}

static enum mse_rc dl_payload(void *ctx, unsigned index, const struct ews_status *st,
                              xmlTextReaderPtr r, struct mse_err *err)
{
    (void)st;
    (void)err;
    if (index > 0 || !ews_xml_at(r, EWS_NS_M, "DLExpansion"))
        return MSE_OK;
    return members_read(r, ctx);
}

enum mse_rc ews_expand_dl_parse(const char *xml, size_t len, void *out, struct ews_reply *reply,
                                struct mse_err *err)
{
    struct ews_walk walk = { .response = "ExpandDLResponse", .on_payload = dl_payload, .ctx = out };
    return ews_response_walk(xml, len, &walk, reply, err);
}

static void dl_reset(void *out)
{
    ews_dl_members_cleanup(out);
}

static const struct ews_op op_expand_dl = {
    .name = "ExpandDL",
    .mailbox = false,
    .build = ews_expand_dl_build,
    .parse = ews_expand_dl_parse,
    .reset = dl_reset,
};

enum mse_rc ews_expand_dl(struct ews_session *s, const struct ews_expand_dl_args *a,
                          struct ews_dl_members *out, struct ews_reply *reply, struct mse_err *err)
{
    enum mse_rc rc = ews_call(s, &op_expand_dl, a, out, reply, err);
    if (rc == MSE_OK && reply->policy.action != EWS_ACT_OK) {
        /* ITEM_GONE / RESYNC do not apply to groups: the group cannot be expanded. */
        snprintf(err->msg, sizeof(err->msg), "ExpandDL %s: %s", a->address, reply->status.code);
        rc = MSE_ERR_UNAVAILABLE;
    }
    return rc;
}
