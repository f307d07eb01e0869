/* SPDX-License-Identifier: Apache-2.0 */
/* SOAP 1.1 for EWS: request envelopes and headers, response envelopes, faults, XML helpers. */
#include "soap.h"

#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/xmlsave.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "timefmt.h"

/* ExchangeVersionType from types.xsd: everything else is answered ErrorInvalidServerVersion. */
static const char *const known_versions[] = {
    "Exchange2007",     "Exchange2007_SP1", "Exchange2009", "Exchange2010",
    "Exchange2010_SP1", "Exchange2010_SP2", "Exchange2012", "Exchange2013",
    "Exchange2013_SP1", "Exchange2015",     "Exchange2016", "V2015_10_05",
    "V2016_01_06",      "V2016_04_13",      "V2016_07_13",  "V2016_10_10",
};

static const struct {
    const char *code;
    const char *text;
} code_texts[] = {
    { "ErrorAccessDenied", "Access is denied. Check credentials and try again." },
    { "ErrorCannotDeleteObject", "The object cannot be deleted." },
    { "ErrorChangeKeyRequiredForWriteOperations",
      "When making a request that changes an item, the change key is required." },
    { "ErrorFolderNotFound", "The specified folder could not be found in the store." },
    { "ErrorImpersonateUserDenied",
      "The account does not have permission to impersonate the requested user." },
    { "ErrorInternalServerError", "An internal server error occurred. The operation failed." },
    { "ErrorInvalidAttachmentId", "The attachment id is invalid." },
    { "ErrorInvalidExchangeImpersonationHeaderData",
      "The impersonation header data is invalid or not supported." },
    { "ErrorInvalidIdMalformed", "Id is malformed." },
    { "ErrorInvalidOperation", "The operation is not valid here." },
    { "ErrorInvalidPropertySet", "The property cannot be set or deleted on this item." },
    { "ErrorInvalidRequest", "The request is invalid." },
    { "ErrorInvalidServerVersion", "The specified server version is invalid." },
    { "ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid." },
    { "ErrorIrresolvableConflict",
      "The send or update operation could not be performed because the change key passed in "
      "the request does not match the current change key for the item." },
    { "ErrorItemNotFound", "The specified object was not found in the store." },
    { "ErrorMailboxMoveInProgress", "The mailbox is being moved. Try again later." },
    { "ErrorMessageDispositionRequired", "MessageDisposition attribute is required." },
    { "ErrorNameResolutionMultipleResults", "Multiple results were found." },
    { "ErrorNameResolutionNoResults", "No results were found." },
    { "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it." },
    { "ErrorSchemaValidation", "The request failed schema validation." },
    { "ErrorSendMeetingCancellationsRequired", "SendMeetingCancellations attribute is required." },
    { "ErrorSendMeetingInvitationsOrCancellationsRequired",
      "SendMeetingInvitationsOrCancellations attribute is required for calendar items." },
    { "ErrorServerBusy", "The server cannot service this request right now. Try again later." },
    { "ErrorSyncFolderNotFound", "The specified folder could not be found in the store." },
    { "ErrorUnsupportedQueryFilter", "The restriction contains a filter that is not supported." },
    { "ErrorCalendarViewRangeTooBig",
      "The number of calendar entries for the given recurring item exceeds the limit." },
};

const char *soap_code_text(const char *code)
{
    for (size_t i = 0; i < sizeof(code_texts) / sizeof(code_texts[0]); i++) {
        if (strcmp(code_texts[i].code, code) == 0)
            return code_texts[i].text;
    }
    return "The request could not be completed.";
}

/* ---- text hygiene ---- */

/* Drops a multi-byte UTF-8 sequence that truncation cut in half at the end of s. */
static void utf8_trim_partial(char *s)
{
    size_t n = strlen(s), i = n, cont = 0;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && cont < 3) {
        i--;
        cont++;
    }
    if (i == 0 || (unsigned char)s[i - 1] < 0xC0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
    if (cont < need)
        s[i - 1] = '\0';
}

/*
 * Replaces whatever cannot appear in XML text (invalid UTF-8, C0 controls) by '?': parser
 * messages quote the request's raw bytes, and a fault must stay well-formed.
 */
static void text_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        uint32_t cp = 0;
        size_t n = store_utf8_next(p, &cp);
        bool ok = n > 0 && cp != 0xFFFE && cp != 0xFFFF &&
                  (cp >= 0x20 || cp == '\t' || cp == '\n' || cp == '\r');
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

/* ---- reading ---- */

bool x_is(const xmlNode *n, const char *ns, const char *name)
{
    if (!n || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
        return false;
    if (!ns)
        return true;
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

xmlNodePtr x_next(const xmlNode *n)
{
    for (n = n ? n->next : NULL; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE)
            return (xmlNodePtr)n;
    }
    return NULL;
}

xmlNodePtr x_first(const xmlNode *parent)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE)
            return n;
    }
    return NULL;
}

xmlNodePtr x_child(const xmlNode *parent, const char *ns, const char *name)
{
    for (xmlNodePtr n = x_first(parent); n; n = x_next(n)) {
        if (x_is(n, ns, name))
            return n;
    }
    return NULL;
}

const char *x_prop(const xmlNode *n, const char *name, char *buf, size_t size)
{
    xmlChar *v = n ? xmlGetNoNsProp(n, (const xmlChar *)name) : NULL;
    if (!v)
        return NULL;
    snprintf(buf, size, "%s", (const char *)v);
    xmlFree(v);
    utf8_trim_partial(buf);
    return buf;
}

const char *x_content(const xmlNode *n, char *buf, size_t size)
{
    buf[0] = '\0';
    xmlChar *v = n ? xmlNodeGetContent(n) : NULL;
    if (v) {
        snprintf(buf, size, "%s", (const char *)v);
        xmlFree(v);
        utf8_trim_partial(buf);
    }
    return buf;
}

char *x_content_dup(const xmlNode *n)
{
    xmlChar *v = xmlNodeGetContent(n);
    char *copy = strdup(v ? (const char *)v : "");
    xmlFree(v);
    return copy;
}

/* ---- request ---- */

/* A fault with a fixed text. */
static void fail_set(struct soap_failure *f, const char *code, const char *text)
{
    f->code = code;
    snprintf(f->text, sizeof(f->text), "%s", text);
}

/* ErrorSchemaValidation with the position and the (sanitised) violation. */
static void fail_schema(struct soap_failure *f, const struct schema_error *e)
{
    f->code = "ErrorSchemaValidation";
    f->schema = *e;
    text_sanitize(f->schema.message);
    snprintf(f->text, sizeof(f->text), "The request failed schema validation: %s",
             f->schema.message);
    utf8_trim_partial(f->text);
}

/* True for the ExchangeVersionType values of the shipped schema. */
static bool version_known(const char *v)
{
    for (size_t i = 0; i < sizeof(known_versions) / sizeof(known_versions[0]); i++) {
        if (strcmp(known_versions[i], v) == 0)
            return true;
    }
    return false;
}

/* ConnectingSID holds exactly one of PrincipalName, SID, PrimarySmtpAddress, SmtpAddress. */
static void impersonation_read(xmlNodePtr h, struct soap_request *req)
{
    xmlNodePtr sid = x_child(h, NS_TYPES, "ConnectingSID");
    xmlNodePtr who = x_first(sid);
    if (!who)
        return;
    x_content(who, req->impersonate, sizeof(req->impersonate));
    req->impersonate_by_sid = x_is(who, NS_TYPES, "SID");
}

/* Checks the version first, then validates every EWS header element. */
static enum mse_rc headers_check(struct schema *schema, xmlNodePtr header, struct soap_request *req,
                                 struct soap_failure *fail)
{
    char buf[64];
    for (xmlNodePtr h = x_first(header); h; h = x_next(h)) {
        if (!x_is(h, NS_TYPES, "RequestServerVersion"))
            continue;
        const char *v = x_prop(h, "Version", buf, sizeof(buf));
        if (v && !version_known(v)) {
            fail_set(fail, "ErrorInvalidServerVersion",
                     soap_code_text("ErrorInvalidServerVersion"));
            return MSE_ERR_INVALID;
        }
        snprintf(req->version, sizeof(req->version), "%.47s", v ? v : ""); /* known: short */
    }
    for (xmlNodePtr h = x_first(header); h; h = x_next(h)) {
        if (!h->ns || strcmp((const char *)h->ns->href, NS_TYPES) != 0)
            continue; /* other namespaces: not ours to judge (SOAP lets them be ignored) */
        struct schema_error e;
        if (schema_validate_element(schema, h, &e) != MSE_OK) {
            fail_schema(fail, &e);
            return MSE_ERR_INVALID;
        }
        if (x_is(h, NS_TYPES, "ExchangeImpersonation"))
            impersonation_read(h, req);
    }
    return MSE_OK;
}

/* Envelope, headers (version first), then the operation against the schema. */
static enum mse_rc envelope_check(struct schema *schema, struct soap_request *req,
                                  struct soap_failure *fail)
{
    xmlNodePtr env = xmlDocGetRootElement(req->doc);
    if (req->doc->intSubset || req->doc->extSubset) {
        fail_set(fail, "ErrorSchemaValidation",
                 "The request failed schema validation: document type declarations are not "
                 "allowed.");
        return MSE_ERR_INVALID;
    }
    if (!x_is(env, NS_SOAP, "Envelope")) {
        fail_set(fail, "ErrorSchemaValidation",
                 "The request failed schema validation: the root element is not a SOAP 1.1 "
                 "Envelope.");
        return MSE_ERR_INVALID;
    }
    xmlNodePtr header = x_child(env, NS_SOAP, "Header");
    xmlNodePtr body = x_child(env, NS_SOAP, "Body");
    req->op = x_first(body);
    if (!body || !req->op || x_next(req->op)) {
        fail_set(fail, "ErrorSchemaValidation",
                 "The request failed schema validation: soap:Body must hold exactly one "
                 "operation element.");
        return MSE_ERR_INVALID;
    }
    if (header && headers_check(schema, header, req, fail) != MSE_OK)
        return MSE_ERR_INVALID;
    struct schema_error e;
    if (schema_validate_element(schema, req->op, &e) != MSE_OK) {
        fail_schema(fail, &e);
        return MSE_ERR_INVALID;
    }
    req->op_name = (const char *)req->op->name;
    req->op_id =
            x_is(req->op, NS_MESSAGES, req->op_name) ? ews_op_lookup(req->op_name) : OP_UNKNOWN;
    return MSE_OK;
}

enum mse_rc soap_request_parse(struct schema *schema, const char *body, size_t len,
                               struct soap_request *req, struct soap_failure *fail)
{
    memset(req, 0, sizeof(*req));
    memset(fail, 0, sizeof(*fail));
    req->op_id = OP_UNKNOWN;
    xmlParserCtxtPtr pctxt = xmlNewParserCtxt();
    if (!pctxt)
        return MSE_ERR_NOMEM;
    if (len > INT32_MAX) {
        xmlFreeParserCtxt(pctxt);
        return MSE_ERR_TOO_LARGE;
    }
    /* No network, no entity substitution, no DTD loading: nothing reaches outside. */
    req->doc = xmlCtxtReadMemory(pctxt, body, (int)len, "request.xml", NULL,
                                 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!req->doc) {
        xmlErrorPtr e = xmlCtxtGetLastError(pctxt);
        struct schema_error se = { 0 };
        se.line = e ? e->line : 0;
        se.column = e ? e->int2 : 0;
        snprintf(se.message, sizeof(se.message), "%s",
                 e && e->message ? e->message : "the request is not well-formed XML");
        size_t n = strlen(se.message);
        while (n && se.message[n - 1] == '\n')
            se.message[--n] = '\0';
        fail_schema(fail, &se);
        xmlFreeParserCtxt(pctxt);
        return MSE_ERR_INVALID;
    }
    xmlFreeParserCtxt(pctxt);
    enum mse_rc rc = envelope_check(schema, req, fail);
    if (rc != MSE_OK)
        soap_request_cleanup(req);
    return rc;
}

void soap_request_cleanup(struct soap_request *req)
{
    if (!req)
        return;
    xmlFreeDoc(req->doc);
    req->doc = NULL;
    req->op = NULL;
}

/* ---- writing ---- */

xmlNodePtr x_el(xmlNodePtr parent, xmlNsPtr ns, const char *name)
{
    return parent ? xmlNewChild(parent, ns, (const xmlChar *)name, NULL) : NULL;
}

xmlNodePtr x_text(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
    if (!parent)
        return NULL;
    return xmlNewTextChild(parent, ns, (const xmlChar *)name, (const xmlChar *)(text ? text : ""));
}

xmlNodePtr x_int(xmlNodePtr parent, xmlNsPtr ns, const char *name, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return x_text(parent, ns, name, buf);
}

xmlNodePtr x_bool(xmlNodePtr parent, xmlNsPtr ns, const char *name, bool v)
{
    return x_text(parent, ns, name, v ? "true" : "false");
}

xmlNodePtr x_time(xmlNodePtr parent, xmlNsPtr ns, const char *name, time_t t)
{
    char buf[40];
    mse_time_format(t, buf, sizeof(buf));
    return x_text(parent, ns, name, buf);
}

void x_attr(xmlNodePtr node, const char *name, const char *value)
{
    if (node)
        xmlNewProp(node, (const xmlChar *)name, (const xmlChar *)value);
}

enum mse_rc soap_response_init(struct soap_response *r, bool version_header)
{
    memset(r, 0, sizeof(*r));
    r->http_status = 200;
    r->doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr env = r->doc ? xmlNewNode(NULL, (const xmlChar *)"Envelope") : NULL;
    if (!env) {
        soap_response_cleanup(r);
        return MSE_ERR_NOMEM;
    }
    xmlDocSetRootElement(r->doc, env);
    r->s = xmlNewNs(env, (const xmlChar *)NS_SOAP, (const xmlChar *)"s");
    r->m = xmlNewNs(env, (const xmlChar *)NS_MESSAGES, (const xmlChar *)"m");
    r->t = xmlNewNs(env, (const xmlChar *)NS_TYPES, (const xmlChar *)"t");
    xmlSetNs(env, r->s);
    if (version_header) {
        xmlNodePtr h = x_el(env, r->s, "Header");
        xmlNodePtr v = x_el(h, r->t, "ServerVersionInfo");
        x_attr(v, "MajorVersion", "15");
        x_attr(v, "MinorVersion", "1");
        x_attr(v, "MajorBuildNumber", "2507");
        x_attr(v, "MinorBuildNumber", "6");
        x_attr(v, "Version", "Exchange2016");
    }
    r->body = x_el(env, r->s, "Body");
    if (!r->s || !r->m || !r->t || !r->body) {
        soap_response_cleanup(r);
        return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

void soap_response_cleanup(struct soap_response *r)
{
    if (!r)
        return;
    xmlFreeDoc(r->doc);
    r->doc = NULL;
    r->body = NULL;
}

/* An element in no namespace (xmlNewChild would inherit the parent's). */
static xmlNodePtr plain_child(xmlNodePtr parent, const char *name, const char *text)
{
    if (!parent)
        return NULL;
    xmlNodePtr n = xmlNewDocNode(parent->doc, NULL, (const xmlChar *)name, NULL);
    if (!n)
        return NULL;
    xmlAddChild(parent, n);
    if (text)
        xmlNodeAddContent(n, (const xmlChar *)text);
    return n;
}

/* The detail's MessageXml for schema errors: where and what, like Exchange. */
static void fault_schema_detail(xmlNodePtr mx, xmlNsPtr t, const struct schema_error *e)
{
    x_int(mx, t, "LineNumber", e->line);
    x_int(mx, t, "LinePosition", e->column);
    x_text(mx, t, "Violation", e->message);
}

/* A SOAP fault exactly as Exchange shapes it (unqualified faultcode/faultstring/detail). */
static enum mse_rc fault_build(struct soap_response *r, const char *code, const char *text,
                               const struct schema_error *schema_err, int backoff_ms)
{
    soap_response_cleanup(r);
    enum mse_rc rc = soap_response_init(r, false);
    if (rc != MSE_OK)
        return rc;
    r->fault = true;
    r->http_status = 500;
    xmlNodePtr fault = x_el(r->body, r->s, "Fault");
    xmlNodePtr fc = plain_child(fault, "faultcode", NULL);
    xmlNsPtr a = fc ? xmlNewNs(fc, (const xmlChar *)NS_TYPES, (const xmlChar *)"a") : NULL;
    char qname[128];
    snprintf(qname, sizeof(qname), "a:%s", code);
    if (fc)
        xmlNodeAddContent(fc, (const xmlChar *)qname);
    xmlNodePtr fs = plain_child(fault, "faultstring", text);
    if (fs)
        xmlNodeSetLang(fs, (const xmlChar *)"en-US");
    xmlNodePtr detail = plain_child(fault, "detail", NULL);
    xmlNodePtr rcode = plain_child(detail, "ResponseCode", code);
    xmlNsPtr e = rcode ? xmlNewNs(rcode, (const xmlChar *)NS_ERRORS, (const xmlChar *)"e") : NULL;
    xmlSetNs(rcode, e);
    xmlNodePtr msg = plain_child(detail, "Message", text);
    xmlNsPtr e2 = msg ? xmlNewNs(msg, (const xmlChar *)NS_ERRORS, (const xmlChar *)"e") : NULL;
    xmlSetNs(msg, e2);
    if (schema_err || backoff_ms >= 0) {
        xmlNodePtr mx = x_el(detail, r->t, "MessageXml");
        if (schema_err)
            fault_schema_detail(mx, r->t, schema_err);
        else {
            char v[16];
            snprintf(v, sizeof(v), "%d", backoff_ms);
            x_attr(x_text(mx, r->t, "Value", v), "Name", "BackOffMilliseconds");
        }
    }
    return (a && fs && msg && e && e2) ? MSE_OK : MSE_ERR_NOMEM;
}

enum mse_rc soap_fault(struct soap_response *r, const struct soap_failure *f)
{
    bool schema = strcmp(f->code, "ErrorSchemaValidation") == 0 && f->schema.message[0];
    const char *text = f->text[0] ? f->text : soap_code_text(f->code);
    return fault_build(r, f->code, text, schema ? &f->schema : NULL, -1);
}

enum mse_rc soap_fault_busy(struct soap_response *r, unsigned backoff_ms)
{
    return fault_build(r, "ErrorServerBusy", soap_code_text("ErrorServerBusy"), NULL,
                       (int)backoff_ms);
}

enum mse_rc soap_fault_code(struct soap_response *r, const char *code)
{
    return fault_build(r, code, soap_code_text(code), NULL, -1);
}

enum mse_rc soap_serialize(struct soap_response *r, char **out, size_t *len)
{
    xmlChar *mem = NULL;
    int n = 0;
    xmlDocDumpMemoryEnc(r->doc, &mem, &n, "utf-8");
    if (!mem)
        return MSE_ERR_NOMEM;
    *out = malloc((size_t)n + 1);
    if (!*out) {
        xmlFree(mem);
        return MSE_ERR_NOMEM;
    }
    memcpy(*out, mem, (size_t)n + 1);
    *len = (size_t)n;
    xmlFree(mem);
    return MSE_OK;
}

xmlNodePtr soap_messages(struct soap_response *r, const char *op_name)
{
    char name[96];
    snprintf(name, sizeof(name), "%sResponse", op_name);
    return x_el(x_el(r->body, r->m, name), r->m, "ResponseMessages");
}

/* XxxResponseMessage with ResponseClass, MessageText, ResponseCode, DescriptiveLinkKey. */
static xmlNodePtr message_new(struct soap_response *r, xmlNodePtr messages, const char *op_name,
                              const char *code, const char *klass)
{
    char name[96];
    snprintf(name, sizeof(name), "%sResponseMessage", op_name);
    xmlNodePtr m = x_el(messages, r->m, name);
    x_attr(m, "ResponseClass", klass);
    if (strcmp(klass, "Success") != 0)
        x_text(m, r->m, "MessageText", soap_code_text(code));
    x_text(m, r->m, "ResponseCode", code);
    if (strcmp(klass, "Success") != 0)
        x_int(m, r->m, "DescriptiveLinkKey", 0);
    return m;
}

xmlNodePtr soap_message(struct soap_response *r, xmlNodePtr messages, const char *op_name,
                        const char *code)
{
    bool ok = !code || strcmp(code, "NoError") == 0;
    return message_new(r, messages, op_name, ok ? "NoError" : code, ok ? "Success" : "Error");
}

xmlNodePtr soap_message_warning(struct soap_response *r, xmlNodePtr messages, const char *op_name,
                                const char *code)
{
    return message_new(r, messages, op_name, code, "Warning");
}
