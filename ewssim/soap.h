/* SPDX-License-Identifier: Apache-2.0 */
/* SOAP 1.1 for EWS: request envelopes and headers, response envelopes, faults, XML helpers. */
#ifndef EWSSIM_SOAP_H
#define EWSSIM_SOAP_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mse/rc.h"
#include "schema.h"
#include "stats.h"

#define NS_SOAP     "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_MESSAGES "http://schemas.microsoft.com/exchange/services/2006/messages"
#define NS_TYPES    "http://schemas.microsoft.com/exchange/services/2006/types"
#define NS_ERRORS   "http://schemas.microsoft.com/exchange/services/2006/errors"

/* What soap_request_parse found, or why it refused the request. */
struct soap_request {
    xmlDocPtr doc;
    xmlNodePtr op;         /* the soap:Body child */
    const char *op_name;   /* its local name */
    enum ews_op op_id;     /* OP_UNKNOWN for operations without a handler */
    char version[48];      /* RequestServerVersion@Version, "" when absent */
    char impersonate[320]; /* ConnectingSID address, "" when not impersonating */
    bool impersonate_by_sid;
};

/* A request-level failure that becomes a SOAP fault. */
struct soap_failure {
    const char *code; /* e.g. "ErrorSchemaValidation" */
    char text[600];
    struct schema_error schema; /* line/position/violation for ErrorSchemaValidation */
};

/*
 * Parses and checks an EWS request: well-formed XML without a DTD, a SOAP 1.1 envelope,
 * RequestServerVersion from the schema's list (checked BEFORE validation, as Exchange does),
 * header elements and the operation valid against the schema. On failure req holds nothing
 * to free and fail says which fault to send.
 */
enum mse_rc soap_request_parse(struct schema *schema, const char *body, size_t len,
                               struct soap_request *req, struct soap_failure *fail) MSE_WUR;
void soap_request_cleanup(struct soap_request *req);

struct soap_response {
    xmlDocPtr doc;
    xmlNodePtr body;
    xmlNsPtr s, m, t;
    unsigned http_status;
    bool fault;
};

/* Starts an envelope; the header carries ServerVersionInfo unless this will be a fault. */
enum mse_rc soap_response_init(struct soap_response *r, bool version_header) MSE_WUR;
void soap_response_cleanup(struct soap_response *r);
/* Replaces whatever was built by a fault (HTTP 500). */
enum mse_rc soap_fault(struct soap_response *r, const struct soap_failure *f) MSE_WUR;
/* The same for ErrorServerBusy with BackOffMilliseconds. */
enum mse_rc soap_fault_busy(struct soap_response *r, unsigned backoff_ms) MSE_WUR;
/* Fault with just a code and its standard text. */
enum mse_rc soap_fault_code(struct soap_response *r, const char *code) MSE_WUR;
/* Serialises the document (UTF-8, with declaration). *out is malloc'd. */
enum mse_rc soap_serialize(struct soap_response *r, char **out, size_t *len) MSE_WUR;

/* Standard English text Exchange sends for a response code. */
const char *soap_code_text(const char *code);

/* <m:{name}Response><m:ResponseMessages>: returns ResponseMessages. NULL on allocation failure. */
xmlNodePtr soap_messages(struct soap_response *r, const char *op_name);
/*
 * One <m:{op}ResponseMessage> with ResponseClass, MessageText, ResponseCode and
 * DescriptiveLinkKey; code NULL or "NoError" = Success. Payload goes into the returned node.
 */
xmlNodePtr soap_message(struct soap_response *r, xmlNodePtr messages, const char *op_name,
                        const char *code);
/* Same with ResponseClass Warning. */
xmlNodePtr soap_message_warning(struct soap_response *r, xmlNodePtr messages, const char *op_name,
                                const char *code);

/* Tree helpers: NULL parent or allocation failure propagate as NULL (checked at the end). */
xmlNodePtr x_el(xmlNodePtr parent, xmlNsPtr ns, const char *name);
xmlNodePtr x_text(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text);
xmlNodePtr x_int(xmlNodePtr parent, xmlNsPtr ns, const char *name, int64_t v);
xmlNodePtr x_bool(xmlNodePtr parent, xmlNsPtr ns, const char *name, bool v);
xmlNodePtr x_time(xmlNodePtr parent, xmlNsPtr ns, const char *name, time_t t);
void x_attr(xmlNodePtr node, const char *name, const char *value);

/* Node helpers for reading requests. */
bool x_is(const xmlNode *n, const char *ns, const char *name);
/* First element child named name in namespace ns (NULL ns = any), or NULL. */
xmlNodePtr x_child(const xmlNode *parent, const char *ns, const char *name);
/* Next element sibling (any name), or NULL; first element child with x_first. */
xmlNodePtr x_next(const xmlNode *n);
xmlNodePtr x_first(const xmlNode *parent);
/* Attribute value copied into buf (truncated), or NULL when absent. */
const char *x_prop(const xmlNode *n, const char *name, char *buf, size_t size);
/* Text content copied into buf (truncated); "" when none. */
const char *x_content(const xmlNode *n, char *buf, size_t size);
/* Text content as a malloc'd string; NULL on allocation failure. */
char *x_content_dup(const xmlNode *n);

#endif
