/* SPDX-License-Identifier: Apache-2.0 */
/* The EWS request pipeline: authentication, SOAP checks, impersonation, faults, dispatch. */
#ifndef EWSSIM_EWS_H
#define EWSSIM_EWS_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>

#include "ewsid.h"
#include "log.h"
#include "sim.h"
#include "soap.h"

/* What to send back; independent of libmicrohttpd so the fuzzer can drive the pipeline. */
struct ews_reply {
    unsigned status;
    char *body; /* malloc'd */
    size_t len;
    const char *content_type;
    bool www_authenticate; /* add WWW-Authenticate: Basic */
    unsigned retry_after;  /* seconds; 0 = no Retry-After header */
    bool cutoff;           /* send only part of the body, then drop the connection */
    bool paced;            /* an EWS answer: latency and bandwidth apply (realism.h) */
    unsigned account_slot; /* for realism_leave when the request ends; 0 = none */
};

/*
 * Handles one POST to /EWS/Exchange.asmx. authorization and anchor (X-AnchorMailbox) may be
 * NULL. Always fills out (a 401, a SOAP fault or a response); MSE_ERR_NOMEM only when not even
 * an error could be built.
 */
enum mse_rc ews_process(struct sim *sim, const char *authorization, const char *anchor,
                        const char *body, size_t len, struct mse_log_ctx *log,
                        struct ews_reply *out) MSE_WUR;
void ews_reply_cleanup(struct ews_reply *r);

/* What an operation handler gets. The store lock is held for its whole run. */
struct ews_ctx {
    struct sim *sim;
    struct org *org;
    struct soap_request *req;
    struct soap_response *resp;
    struct sim_account *caller; /* the authenticated account */
    struct sim_account *acting; /* the impersonated account, or caller */
    struct sim_mailbox *mbx;    /* default mailbox (impersonated or own); may be NULL */
    uint32_t generation;        /* store generation, for SyncStates */
    bool force_invalid_state;   /* fault injection: refuse the SyncState */
    struct mse_log_ctx *log;
};

/* True when the request's principal may open mailbox m. */
bool ews_may_open(const struct ews_ctx *c, const struct sim_mailbox *m);
/*
 * Resolves t:FolderId or t:DistinguishedFolderId (with optional t:Mailbox). Returns NULL and
 * sets *out, or the ResponseCode of the failure.
 */
const char *ews_folder_lookup(struct ews_ctx *c, xmlNodePtr id_el, struct sim_folder **out);
/* Resolves t:ItemId (items and occurrences) → the stored item and the parsed id. */
const char *ews_item_lookup(struct ews_ctx *c, xmlNodePtr id_el, struct sim_item **out,
                            struct ewsid *id);
/* The mailbox an id refers to, when the principal may open it; else NULL and *code set. */
struct sim_mailbox *ews_id_mailbox(struct ews_ctx *c, const struct ewsid *id, const char **code);

#endif
