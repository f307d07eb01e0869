/* SPDX-License-Identifier: Apache-2.0 */
/* libxml2 helpers for EWS: streaming iteration of responses, subtree reads, request writing. */
#include "ews_xml.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>

#include "config.h"

/* Keeps libxml2's first complaint as the error detail instead of printing it. */
static void reader_error(void *arg, xmlErrorPtr e)
{
    struct mse_err *err = arg;
    if (!err || err->msg[0] || !e || !e->message)
        return;
    snprintf(err->msg, sizeof(err->msg), "XML line %d: %s", e->line, e->message);
    size_t n = strlen(err->msg);
    if (n && err->msg[n - 1] == '\n')
        err->msg[n - 1] = '\0';
}

xmlTextReaderPtr ews_xml_reader(const char *xml, size_t len, bool huge, struct mse_err *err)
{
    /* No network, no entity expansion, no DTD loading: responses are data, never programs. */
    int opts = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_COMPACT;
    if (huge)
        opts |= XML_PARSE_HUGE;
    if (len > (size_t)INT32_MAX)
        return NULL;
    xmlTextReaderPtr r = xmlReaderForMemory(xml, (int)len, NULL, NULL, opts);
    if (r)
        xmlTextReaderSetStructuredErrorHandler(r, reader_error, err);
    return r;
}

void ews_xml_iter_init(struct ews_xml_iter *it, xmlTextReaderPtr r)
{
    it->r = r;
    it->depth = xmlTextReaderDepth(r);
    it->started = false;
}

int ews_xml_iter_next(struct ews_xml_iter *it)
{
    int ret;
    if (!it->started) {
        it->started = true;
        if (xmlTextReaderIsEmptyElement(it->r))
            return 0;
        ret = xmlTextReaderRead(it->r);
    } else {
        /* Skips the rest of the current child, wherever a nested walk left the reader. */
        int depth = xmlTextReaderDepth(it->r);
        if (depth < 0 || xmlTextReaderReadState(it->r) == XML_TEXTREADER_MODE_ERROR)
            return -1; /* an expansion ran into malformed or missing input */
        if (depth <= it->depth)
            return 0;
        ret = xmlTextReaderNext(it->r);
    }
    while (ret == 1) {
        int depth = xmlTextReaderDepth(it->r);
        int type = xmlTextReaderNodeType(it->r);
        if (depth <= it->depth)
            return 0; /* the parent's end tag */
        if (depth == it->depth + 1 && type == XML_READER_TYPE_ELEMENT)
            return 1;
        ret = xmlTextReaderNext(it->r);
    }
    return -1; /* a parse error, or the input ended inside the parent */
}

static bool name_is(const xmlChar *ns_have, const xmlChar *local_have, const char *ns,
                    const char *local)
{
    if (!local_have || strcmp((const char *)local_have, local) != 0)
        return false;
    if (!ns)
        return true;
    return ns_have && strcmp((const char *)ns_have, ns) == 0;
}

bool ews_xml_at(xmlTextReaderPtr r, const char *ns, const char *local)
{
    if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT)
        return false;
    return name_is(xmlTextReaderConstNamespaceUri(r), xmlTextReaderConstLocalName(r), ns, local);
}

int ews_xml_seek_response(xmlTextReaderPtr r, const char *local, bool *fault)
{
    int ret;
    *fault = false;
    while ((ret = xmlTextReaderRead(r)) == 1) {
        if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT)
            continue;
        if (ews_xml_at(r, EWS_NS_SOAP, "Fault")) {
            *fault = true;
            return 1;
        }
        if (ews_xml_at(r, EWS_NS_M, local))
            return 1;
    }
    return ret < 0 ? -1 : 0;
}

bool ews_xml_is(const xmlNode *node, const char *ns, const char *local)
{
    if (!node || node->type != XML_ELEMENT_NODE)
        return false;
    return name_is(node->ns ? node->ns->href : NULL, node->name, ns, local);
}

xmlNode *ews_xml_first_elem(const xmlNode *parent)
{
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return c;
    }
    return NULL;
}

xmlNode *ews_xml_next_elem(const xmlNode *node)
{
    for (xmlNode *c = node ? node->next : NULL; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return c;
    }
    return NULL;
}

xmlNode *ews_xml_child(const xmlNode *node, const char *ns, const char *local)
{
    for (xmlNode *c = ews_xml_first_elem(node); c; c = ews_xml_next_elem(c)) {
        if (ews_xml_is(c, ns, local))
            return c;
    }
    return NULL;
}

/*
 * The text of an element or attribute whose content is at most one text node (nearly every
 * one in EWS responses), read in place; NULL for anything else, which callers hand to
 * libxml2's general (allocating) functions.
 */
static const char *plain_text(const xmlNode *children)
{
    if (!children)
        return "";
    if (children->next || children->type != XML_TEXT_NODE || !children->content)
        return NULL;
    return (const char *)children->content;
}

static const char *element_text(const xmlNode *node)
{
    return node->type == XML_ELEMENT_NODE ? plain_text(node->children) : NULL;
}

char *ews_xml_text(const xmlNode *node)
{
    const char *t = element_text(node);
    if (t)
        return strdup(t);
    xmlChar *x = xmlNodeGetContent(node);
    char *s = strdup(x ? (const char *)x : "");
    xmlFree(x);
    return s;
}

enum mse_rc ews_xml_attr(const xmlNode *node, const char *name, char **out)
{
    *out = NULL;
    for (const xmlAttr *a = node->type == XML_ELEMENT_NODE ? node->properties : NULL; a;
         a = a->next) {
        if (a->ns || strcmp((const char *)a->name, name) != 0)
            continue;
        const char *t = plain_text(a->children);
        if (!t)
            break; /* entity references and the like: libxml2 puts it together */
        *out = strdup(t);
        return *out ? MSE_OK : MSE_ERR_NOMEM;
    }
    xmlChar *x = xmlGetNoNsProp(node, BAD_CAST name);
    if (!x)
        return MSE_OK;
    *out = strdup((const char *)x);
    xmlFree(x);
    return *out ? MSE_OK : MSE_ERR_NOMEM;
}

void ews_xml_text_into(const xmlNode *node, char *out, size_t size)
{
    const char *t = element_text(node);
    if (t) {
        snprintf(out, size, "%s", t);
        return;
    }
    xmlChar *x = xmlNodeGetContent(node);
    snprintf(out, size, "%s", x ? (const char *)x : "");
    xmlFree(x);
}

/* Copies node's text without surrounding blanks into a bounded buffer. */
static bool trimmed_text(const xmlNode *node, char *out, size_t size)
{
    const char *t = element_text(node);
    xmlChar *x = t ? NULL : xmlNodeGetContent(node);
    const char *s = t ? t : x ? (const char *)x : "";
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    bool fits = n < size;
    if (fits) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    xmlFree(x);
    return fits;
}

enum mse_rc ews_xml_bool(const xmlNode *node, bool *out)
{
    char v[8];
    if (!trimmed_text(node, v, sizeof(v)))
        return MSE_ERR_INVALID;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = true;
        return MSE_OK;
    }
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return MSE_OK;
    }
    return MSE_ERR_INVALID;
}

enum mse_rc ews_xml_int(const xmlNode *node, int64_t *out)
{
    char v[32];
    if (!trimmed_text(node, v, sizeof(v)))
        return MSE_ERR_INVALID;
    return mse_parse_int(v, INT64_MIN, INT64_MAX, out);
}

enum mse_rc ews_xml_writer_init(struct ews_xml_writer *wr)
{
    wr->failed = false;
    wr->w = NULL;
    wr->buf = xmlBufferCreate();
    if (!wr->buf)
        return MSE_ERR_NOMEM;
    wr->w = xmlNewTextWriterMemory(wr->buf, 0);
    if (!wr->w) {
        xmlBufferFree(wr->buf);
        wr->buf = NULL;
        return MSE_ERR_NOMEM;
    }
    if (xmlTextWriterStartDocument(wr->w, "1.0", "utf-8", NULL) < 0)
        wr->failed = true;
    return MSE_OK;
}

void ews_xml_writer_cleanup(struct ews_xml_writer *wr)
{
    if (!wr)
        return;
    if (wr->w)
        xmlFreeTextWriter(wr->w);
    if (wr->buf)
        xmlBufferFree(wr->buf);
    wr->w = NULL;
    wr->buf = NULL;
}

void ews_xml_start(struct ews_xml_writer *wr, const char *qname)
{
    if (!wr->failed && xmlTextWriterStartElement(wr->w, BAD_CAST qname) < 0)
        wr->failed = true;
}

void ews_xml_end(struct ews_xml_writer *wr)
{
    if (!wr->failed && xmlTextWriterEndElement(wr->w) < 0)
        wr->failed = true;
}

void ews_xml_attr_write(struct ews_xml_writer *wr, const char *name, const char *value)
{
    if (!wr->failed && xmlTextWriterWriteAttribute(wr->w, BAD_CAST name, BAD_CAST value) < 0)
        wr->failed = true;
}

void ews_xml_text_elem(struct ews_xml_writer *wr, const char *qname, const char *text)
{
    if (!wr->failed &&
        xmlTextWriterWriteElement(wr->w, BAD_CAST qname, BAD_CAST(text ? text : "")) < 0)
        wr->failed = true;
}

void ews_xml_empty_elem(struct ews_xml_writer *wr, const char *qname, const char *attr,
                        const char *value)
{
    ews_xml_start(wr, qname);
    if (attr)
        ews_xml_attr_write(wr, attr, value);
    ews_xml_end(wr);
}

enum mse_rc ews_xml_writer_finish(struct ews_xml_writer *wr, const char **out, size_t *len)
{
    if (!wr->failed && xmlTextWriterEndDocument(wr->w) < 0)
        wr->failed = true;
    if (!wr->failed && xmlTextWriterFlush(wr->w) < 0)
        wr->failed = true;
    if (wr->failed)
        return MSE_ERR_NOMEM; /* the memory writer fails only when allocation does */
    *out = (const char *)xmlBufferContent(wr->buf);
    *len = (size_t)xmlBufferLength(wr->buf);
    return MSE_OK;
}
