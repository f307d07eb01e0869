/* SPDX-License-Identifier: Apache-2.0 */
/* Reading EWS responses: SOAP faults, ResponseMessages with their status, payload dispatch. */
#ifndef MSE_EWS_RESPONSE_H
#define MSE_EWS_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "ews_error.h"
#include "ews_xml.h"
#include "mse/rc.h"

/* The request-level verdict on one response: filled by every parser. */
struct ews_reply {
    bool fault;               /* a SOAP fault came instead of ResponseMessages */
    unsigned messages;        /* ResponseMessages seen */
    struct ews_status status; /* the fault, or the message whose policy is the most severe */
    struct ews_policy policy; /* what to do about status */
};

void ews_reply_init(struct ews_reply *reply);
/* Records one message's status; keeps it when it is more severe than what was seen. */
void ews_reply_note(struct ews_reply *reply, const struct ews_status *st);

/*
 * Callbacks of one operation's parser. on_payload runs for each child of a ResponseMessage
 * that is not a status element (SyncState, Changes, Items, Folders …), with the reader on
 * that child and the message's status complete (status elements come first). on_message_end
 * runs after each message. Either may be NULL.
 */
struct ews_walk {
    const char *response; /* local name of the response element, "GetItemResponse" */
    bool huge;            /* allow text nodes over 10 MB (attachment content) */
    enum mse_rc (*on_payload)(void *ctx, unsigned index, const struct ews_status *st,
                              xmlTextReaderPtr r, struct mse_err *err);
    enum mse_rc (*on_message_end)(void *ctx, unsigned index, const struct ews_status *st,
                                  struct mse_err *err);
    void *ctx;
};

/*
 * Parses a response body: either a SOAP envelope or the bare response element. A fault fills
 * reply (fault = true). MSE_ERR_INVALID when the XML is malformed or neither the response nor
 * a fault is found (a cut-off body); callbacks' errors are passed on.
 */
enum mse_rc ews_response_walk(const char *xml, size_t len, const struct ews_walk *walk,
                              struct ews_reply *reply, struct mse_err *err) MSE_WUR;

/* Reads MessageXml's <t:Value Name="…"> entries into st (BackOffMilliseconds, inner codes). */
void ews_response_message_xml(const xmlNode *message_xml, struct ews_status *st);

#endif
