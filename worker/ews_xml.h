/* SPDX-License-Identifier: Apache-2.0 */
/* libxml2 helpers for EWS: streaming iteration of responses, subtree reads, request writing. */
#ifndef MSE_EWS_XML_H
#define MSE_EWS_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlwriter.h>

#include "mse/rc.h"

#define EWS_NS_SOAP "http://schemas.xmlsoap.org/soap/envelope/"
#define EWS_NS_M    "http://schemas.microsoft.com/exchange/services/2006/messages"
#define EWS_NS_T    "http://schemas.microsoft.com/exchange/services/2006/types"
#define EWS_NS_E    "http://schemas.microsoft.com/exchange/services/2006/errors"

/*
 * Responses are read with an xmlTextReader: containers are walked node by node and only one
 * entry (an item, a folder, a status element) is expanded into a small tree at a time, so a
 * 512-change page never exists as one DOM.
 */

/*
 * Opens a reader over len bytes at xml (not copied: keep them alive). huge allows text nodes
 * over 10 MB (attachment content). libxml2's first error message goes to err (which must
 * outlive the reader) instead of stderr. NULL on allocation failure; free with
 * xmlFreeTextReader.
 */
xmlTextReaderPtr ews_xml_reader(const char *xml, size_t len, bool huge, struct mse_err *err);

/* Walks the element children of the element the reader is on. */
struct ews_xml_iter {
    xmlTextReaderPtr r;
    int depth;    /* depth of the parent element */
    bool started; /* false until the first call */
};

/* Prepares iteration over the children of the element the reader is positioned on. */
void ews_xml_iter_init(struct ews_xml_iter *it, xmlTextReaderPtr r);
/*
 * Moves to the next element child: 1 when the reader is on one, 0 when the parent ended,
 * -1 on a parse error. A child may be expanded, iterated in turn, or ignored before the next
 * call; the call skips whatever is left of it.
 */
int ews_xml_iter_next(struct ews_xml_iter *it);

/* True when the reader is on an element named local in namespace ns. */
bool ews_xml_at(xmlTextReaderPtr r, const char *ns, const char *local);
/*
 * Reads forward to the first element that is the SOAP Fault or has local name `local` in the
 * messages namespace. 1 = found (fault tells which), 0 = neither found, -1 = parse error.
 */
int ews_xml_seek_response(xmlTextReaderPtr r, const char *local, bool *fault);

/* Expanded subtrees (owned by the reader until it moves on). */
/* True when node is an element named local in namespace ns (any namespace when ns is NULL). */
bool ews_xml_is(const xmlNode *node, const char *ns, const char *local);
/* First element child named local (namespace ns, or any when NULL), or NULL. */
xmlNode *ews_xml_child(const xmlNode *node, const char *ns, const char *local);
/* Next element sibling after node (or first element child when node is a parent), or NULL. */
xmlNode *ews_xml_first_elem(const xmlNode *parent);
xmlNode *ews_xml_next_elem(const xmlNode *node);
/* Text content of node as a malloc'd string ("" for an empty element); NULL on no memory. */
char *ews_xml_text(const xmlNode *node);
/* Attribute value as a malloc'd string; *out = NULL when absent. MSE_ERR_NOMEM only. */
enum mse_rc ews_xml_attr(const xmlNode *node, const char *name, char **out) MSE_WUR;
/* Copies the text of node into out (truncating to size - 1 bytes). */
void ews_xml_text_into(const xmlNode *node, char *out, size_t size);
/* Parses "true"/"false"/"1"/"0" text. MSE_ERR_INVALID for anything else. */
enum mse_rc ews_xml_bool(const xmlNode *node, bool *out) MSE_WUR;
/* Parses a decimal integer (surrounding blanks allowed). MSE_ERR_INVALID otherwise. */
enum mse_rc ews_xml_int(const xmlNode *node, int64_t *out) MSE_WUR;

/*
 * Request writing: an xmlTextWriter over a memory buffer. Calls after a failure do nothing;
 * ews_xml_writer_finish reports the first failure. Element names carry their prefix
 * ("m:SyncFolderItems", "t:FieldURI"); the envelope declares soap:, m: and t:.
 */
struct ews_xml_writer {
    xmlBufferPtr buf;
    xmlTextWriterPtr w;
    bool failed;
};

enum mse_rc ews_xml_writer_init(struct ews_xml_writer *wr) MSE_WUR;
void ews_xml_writer_cleanup(struct ews_xml_writer *wr);
void ews_xml_start(struct ews_xml_writer *wr, const char *qname);
void ews_xml_end(struct ews_xml_writer *wr);
void ews_xml_attr_write(struct ews_xml_writer *wr, const char *name, const char *value);
/* <qname>text</qname>, text escaped. */
void ews_xml_text_elem(struct ews_xml_writer *wr, const char *qname, const char *text);
/* <qname attr="value"/> */
void ews_xml_empty_elem(struct ews_xml_writer *wr, const char *qname, const char *attr,
                        const char *value);
/*
 * Closes every open element and the document. On MSE_OK *out points into wr's buffer
 * (valid until cleanup) and *len is its length.
 */
enum mse_rc ews_xml_writer_finish(struct ews_xml_writer *wr, const char **out, size_t *len) MSE_WUR;

#endif
