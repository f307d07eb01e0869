/* SPDX-License-Identifier: Apache-2.0 */
/* Reading EWS responses: SOAP faults, ResponseMessages with their status, payload dispatch. */
#include "ews_response.h"

#include <stdio.h>
#include <string.h>

void ews_reply_init(struct ews_reply *reply)
{
    reply->fault = false;
    reply->messages = 0;
    ews_status_init(&reply->status);
    reply->policy = (struct ews_policy){ EWS_ACT_OK, "" };
}

void ews_reply_note(struct ews_reply *reply, const struct ews_status *st)
{
    struct ews_policy p = ews_error_classify_status(st);
    if (p.action > reply->policy.action) {
        reply->status = *st;
        reply->policy = p;
    }
}

void ews_response_message_xml(const xmlNode *message_xml, struct ews_status *st)
{
    for (xmlNode *v = ews_xml_first_elem(message_xml); v; v = ews_xml_next_elem(v)) {
        if (!ews_xml_is(v, NULL, "Value"))
            continue;
        xmlChar *name = xmlGetNoNsProp(v, BAD_CAST "Name");
        if (!name)
            continue;
        if (strcmp((const char *)name, "BackOffMilliseconds") == 0) {
            int64_t ms;
            if (ews_xml_int(v, &ms) == MSE_OK && ms >= 0)
                st->backoff_ms = ms;
        } else if (strcmp((const char *)name, "InnerErrorResponseCode") == 0) {
            ews_xml_text_into(v, st->inner_code, sizeof(st->inner_code));
        }
        xmlFree(name);
    }
}

/* The local part of a QName such as "a:ErrorServerBusy". */
static const char *qname_local(const char *q)
{
    const char *colon = strrchr(q, ':');
    return colon ? colon + 1 : q;
}

/* Fills the status from an expanded s:Fault element. */
static void fault_read(const xmlNode *fault, struct ews_status *st)
{
    ews_status_init(st);
    st->cls = EWS_CLASS_ERROR;
    char faultcode[128] = "";
    xmlNode *n = ews_xml_child(fault, NULL, "faultcode");
    if (n)
        ews_xml_text_into(n, faultcode, sizeof(faultcode));
    n = ews_xml_child(fault, NULL, "faultstring");
    if (n)
        ews_xml_text_into(n, st->text, sizeof(st->text));
    xmlNode *detail = ews_xml_child(fault, NULL, "detail");
    /* detail's e:ResponseCode is authoritative; faultcode is a QName fallback. */
    n = detail ? ews_xml_child(detail, NULL, "ResponseCode") : NULL;
    if (n)
        ews_xml_text_into(n, st->code, sizeof(st->code));
    else
        snprintf(st->code, sizeof(st->code), "%.63s", qname_local(faultcode));
    n = detail ? ews_xml_child(detail, NULL, "Message") : NULL;
    if (n && !st->text[0])
        ews_xml_text_into(n, st->text, sizeof(st->text));
    n = detail ? ews_xml_child(detail, NULL, "MessageXml") : NULL;
    if (n)
        ews_response_message_xml(n, st);
}

static enum ews_class class_parse(xmlTextReaderPtr r)
{
    xmlChar *v = xmlTextReaderGetAttribute(r, BAD_CAST "ResponseClass");
    enum ews_class cls = EWS_CLASS_ERROR; /* required by the schema: absent is an error */
    if (v && strcmp((const char *)v, "Success") == 0)
        cls = EWS_CLASS_SUCCESS;
    else if (v && strcmp((const char *)v, "Warning") == 0)
        cls = EWS_CLASS_WARNING;
    xmlFree(v);
    return cls;
}

/* Reads one status child (MessageText, ResponseCode, DescriptiveLinkKey, MessageXml). */
static bool status_child(xmlTextReaderPtr r, struct ews_status *st)
{
    static const char *const names[] = { "MessageText", "ResponseCode", "DescriptiveLinkKey",
                                         "MessageXml" };
    int which = -1;
    for (int i = 0; i < 4; i++) {
        if (ews_xml_at(r, EWS_NS_M, names[i]))
            which = i;
    }
    if (which < 0)
        return false;
    xmlNode *n = xmlTextReaderExpand(r);
    if (!n)
        return true; /* the iterator reports the parse error */
    if (which == 0)
        ews_xml_text_into(n, st->text, sizeof(st->text));
    else if (which == 1)
        ews_xml_text_into(n, st->code, sizeof(st->code));
    else if (which == 3)
        ews_response_message_xml(n, st);
    return true;
}

static enum mse_rc message_walk(xmlTextReaderPtr r, const struct ews_walk *walk, unsigned index,
                                struct ews_reply *reply, struct mse_err *err)
{
    struct ews_status st;
    ews_status_init(&st);
    st.cls = class_parse(r);
    st.code[0] = '\0';
    struct ews_xml_iter it;
    ews_xml_iter_init(&it, r);
    int ret;
    while ((ret = ews_xml_iter_next(&it)) == 1) {
        if (status_child(r, &st))
            continue;
        if (walk->on_payload) {
            enum mse_rc rc = walk->on_payload(walk->ctx, index, &st, r, err);
            if (rc != MSE_OK)
                return rc;
        }
    }
    if (ret < 0)
        return MSE_ERR_INVALID;
    if (!st.code[0]) {
        /* ResponseCode is required; a Success message without one is still a success. */
        snprintf(st.code, sizeof(st.code), "%s",
                 st.cls == EWS_CLASS_SUCCESS ? "NoError" : "ErrorMissingResponseCode");
    }
    ews_reply_note(reply, &st);
    if (walk->on_message_end)
        return walk->on_message_end(walk->ctx, index, &st, err);
    return MSE_OK;
}

static enum mse_rc messages_walk(xmlTextReaderPtr r, const struct ews_walk *walk,
                                 struct ews_reply *reply, struct mse_err *err)
{
    struct ews_xml_iter outer;
    ews_xml_iter_init(&outer, r);
    int ret;
    while ((ret = ews_xml_iter_next(&outer)) == 1) {
        if (!ews_xml_at(r, EWS_NS_M, "ResponseMessages"))
            continue;
        struct ews_xml_iter inner;
        ews_xml_iter_init(&inner, r);
        while ((ret = ews_xml_iter_next(&inner)) == 1) {
            enum mse_rc rc = message_walk(r, walk, reply->messages, reply, err);
            if (rc != MSE_OK)
                return rc;
            reply->messages++;
        }
        if (ret < 0)
            break;
    }
    return ret < 0 ? MSE_ERR_INVALID : MSE_OK;
}

enum mse_rc ews_response_walk(const char *xml, size_t len, const struct ews_walk *walk,
                              struct ews_reply *reply, struct mse_err *err)
{
    enum mse_rc rc = MSE_ERR_NOMEM;
    ews_reply_init(reply);
    err->msg[0] = '\0';
    xmlTextReaderPtr r = ews_xml_reader(xml, len, walk->huge, err);
    if (!r)
        goto out;
    bool fault;
    int ret = ews_xml_seek_response(r, walk->response, &fault);
    rc = MSE_ERR_INVALID;
    if (ret != 1) {
        if (ret == 0 || !err->msg[0])
            snprintf(err->msg, sizeof(err->msg), "%s not found in the response (%s)",
                     walk->response, ret < 0 ? "malformed XML" : "no such element");
        goto out;
    }
    if (fault) {
        xmlNode *n = xmlTextReaderExpand(r);
        if (!n) {
            snprintf(err->msg, sizeof(err->msg), "malformed SOAP fault");
            goto out;
        }
        reply->fault = true;
        fault_read(n, &reply->status);
        reply->policy = ews_error_classify_status(&reply->status);
        rc = MSE_OK;
        goto out;
    }
    rc = messages_walk(r, walk, reply, err);
    if (rc == MSE_ERR_INVALID && !err->msg[0])
        snprintf(err->msg, sizeof(err->msg), "malformed %s", walk->response);
    if (rc == MSE_OK && reply->messages == 0) {
        snprintf(err->msg, sizeof(err->msg), "%s without ResponseMessages", walk->response);
        rc = MSE_ERR_INVALID;
    }
out:
    xmlFreeTextReader(r);
    return rc;
}
