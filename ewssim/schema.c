/* SPDX-License-Identifier: Apache-2.0 */
/* Microsoft's EWS schemas, compiled once; validation of requests and responses. */
#include "schema.h"

#include <libxml/xmlschemas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct schema {
    xmlSchemaPtr compiled;   /* read-only after load: shared by all threads */
    pthread_key_t vctxt_key; /* one validation context per thread (they are not thread-safe) */
};

/* Thread-exit destructor of a thread's validation context. */
static void vctxt_destroy(void *p)
{
    xmlSchemaFreeValidCtxt(p);
}

/* Collects compile errors into err instead of stderr. */
static void compile_error(void *ctx, xmlErrorPtr e)
{
    struct mse_err *err = ctx;
    if (err->msg[0] || !e || !e->message)
        return;
    snprintf(err->msg, sizeof(err->msg), "%s:%d: %s", e->file ? e->file : "schema", e->line,
             e->message);
}

struct schema *schema_load(const char *dir, struct mse_err *err)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/ews-envelope.xsd", dir);
    struct schema *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return NULL;
    }
    xmlSchemaParserCtxtPtr pctxt = xmlSchemaNewParserCtxt(path);
    if (pctxt) {
        xmlSchemaSetParserStructuredErrors(pctxt, compile_error, err);
        s->compiled = xmlSchemaParse(pctxt);
        xmlSchemaFreeParserCtxt(pctxt);
    }
    if (!s->compiled || pthread_key_create(&s->vctxt_key, vctxt_destroy) != 0) {
        if (!err->msg[0])
            snprintf(err->msg, sizeof(err->msg), "cannot compile %.400s", path);
        else {
            char tmp[sizeof(err->msg)];
            snprintf(tmp, sizeof(tmp), "%s", err->msg);
            snprintf(err->msg, sizeof(err->msg), "EWS schema %.200s: %.280s", path, tmp);
        }
        xmlSchemaFree(s->compiled);
        free(s);
        return NULL;
    }
    return s;
}

void schema_thread_cleanup(struct schema *s)
{
    if (!s)
        return;
    xmlSchemaValidCtxtPtr v = pthread_getspecific(s->vctxt_key);
    if (v) {
        xmlSchemaFreeValidCtxt(v);
        pthread_setspecific(s->vctxt_key, NULL);
    }
}

void schema_free(struct schema *s)
{
    if (!s)
        return;
    schema_thread_cleanup(s);
    pthread_key_delete(s->vctxt_key);
    xmlSchemaFree(s->compiled);
    free(s);
}

/* The calling thread's validation context, made on first use. */
static xmlSchemaValidCtxtPtr vctxt_get(struct schema *s)
{
    xmlSchemaValidCtxtPtr v = pthread_getspecific(s->vctxt_key);
    if (v)
        return v;
    v = xmlSchemaNewValidCtxt(s->compiled);
    if (v && pthread_setspecific(s->vctxt_key, v) != 0) {
        xmlSchemaFreeValidCtxt(v);
        v = NULL;
    }
    return v;
}

/* Keeps the first error only: that is what Exchange reports, and it is the useful one. */
static void valid_error(void *ctx, xmlErrorPtr e)
{
    struct schema_error *err = ctx;
    if (err->message[0] || !e)
        return;
    err->line = e->line;
    err->column = e->int2;
    snprintf(err->message, sizeof(err->message), "%s", e->message ? e->message : "invalid");
    size_t n = strlen(err->message);
    while (n && (err->message[n - 1] == '\n' || err->message[n - 1] == ' '))
        err->message[--n] = '\0';
}

/* Validates node (or the whole doc when node is NULL), collecting the first error. */
static enum mse_rc validate(struct schema *s, xmlDocPtr doc, xmlNodePtr node,
                            struct schema_error *err)
{
    memset(err, 0, sizeof(*err));
    xmlSchemaValidCtxtPtr v = vctxt_get(s);
    if (!v)
        return MSE_ERR_NOMEM;
    xmlSchemaSetValidStructuredErrors(v, valid_error, err);
    int r = node ? xmlSchemaValidateOneElement(v, node) : xmlSchemaValidateDoc(v, doc);
    xmlSchemaSetValidStructuredErrors(v, NULL, NULL);
    if (r == 0)
        return MSE_OK;
    if (!err->message[0])
        snprintf(err->message, sizeof(err->message), "the document failed schema validation");
    return r < 0 ? MSE_ERR_INTERNAL : MSE_ERR_INVALID;
}

enum mse_rc schema_validate_element(struct schema *s, xmlNodePtr node, struct schema_error *err)
{
    return validate(s, NULL, node, err);
}

enum mse_rc schema_validate_doc(struct schema *s, xmlDocPtr doc, struct schema_error *err)
{
    return validate(s, doc, NULL, err);
}
