/* SPDX-License-Identifier: Apache-2.0 */
/* Microsoft's EWS schemas, compiled once; validation of requests and responses. */
#ifndef EWSSIM_SCHEMA_H
#define EWSSIM_SCHEMA_H

#include <libxml/tree.h>

#include "mse/rc.h"

/* The first problem a validation found, shaped like Exchange's ErrorSchemaValidation. */
struct schema_error {
    int line;
    int column;
    char message[512];
};

struct schema;

/*
 * Compiles dir/ews-envelope.xsd (SOAP envelope + EWS messages and types). Takes ~0.3 s.
 * NULL with err filled when the files are missing or do not compile.
 */
struct schema *schema_load(const char *dir, struct mse_err *err);
void schema_free(struct schema *s);
/* Validates one element (a soap:Body operation or a header) against its global declaration. */
enum mse_rc schema_validate_element(struct schema *s, xmlNodePtr node,
                                    struct schema_error *err) MSE_WUR;
/* Validates a whole envelope document (responses). */
enum mse_rc schema_validate_doc(struct schema *s, xmlDocPtr doc, struct schema_error *err) MSE_WUR;
/* Frees the calling thread's validation context (threads that did not start under MHD). */
void schema_thread_cleanup(struct schema *s);

#endif
