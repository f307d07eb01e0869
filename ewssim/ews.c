/* SPDX-License-Identifier: Apache-2.0 */
/* The EWS request pipeline: authentication, SOAP checks, impersonation, faults, dispatch. */
#include "ews.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "crypto.h"
#include "ops.h"
#include "timefmt.h"

/* One row per operation: its handler and whether it changes the store. */
static const struct {
    enum ews_op op;
    enum mse_rc (*fn)(struct ews_ctx *c);
    bool writes;
} op_table[] = {
    { OP_CONVERT_ID, op_convert_id, false },
    { OP_CREATE_ATTACHMENT, op_create_attachment, true },
    { OP_CREATE_FOLDER, op_create_folder, true },
    { OP_CREATE_ITEM, op_create_item, true },
    { OP_DELETE_ATTACHMENT, op_delete_attachment, true },
    { OP_DELETE_ITEM, op_delete_item, true },
    { OP_EXPAND_DL, op_expand_dl, false },
    { OP_FIND_FOLDER, op_find_folder, false },
    { OP_FIND_ITEM, op_find_item, false },
    { OP_GET_ATTACHMENT, op_get_attachment, false },
    { OP_GET_FOLDER, op_get_folder, false },
    { OP_GET_ITEM, op_get_item, false },
    { OP_RESOLVE_NAMES, op_resolve_names, false },
    { OP_SYNC_FOLDER_HIERARCHY, op_sync_folder_hierarchy, false },
    { OP_SYNC_FOLDER_ITEMS, op_sync_folder_items, false },
    { OP_UPDATE_ITEM, op_update_item, true },
};

void ews_reply_cleanup(struct ews_reply *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
}

/* ---- authentication ---- */

/* "Basic base64(user:pass)" or "Bearer token" → the account, or NULL. */
static struct sim_account *auth_resolve(const struct org *o, const char *authorization)
{
    if (!authorization)
        return NULL;
    if (strncasecmp(authorization, "Bearer ", 7) == 0)
        return org_account_by_token(o, authorization + 7);
    if (strncasecmp(authorization, "Basic ", 6) != 0)
        return NULL;
    const char *b64 = authorization + 6;
    uint8_t *dec = NULL;
    size_t n = 0;
    if (strlen(b64) > 2048 || mse_crypto_b64_decode(b64, strlen(b64), &dec, &n) != MSE_OK)
        return NULL;
    struct sim_account *acct = NULL;
    char *text = malloc(n + 1);
    if (text) {
        memcpy(text, dec, n);
        text[n] = '\0';
        char *colon = strchr(text, ':');
        if (colon && strlen(text) == n) {
            *colon = '\0';
            /* Exchange accepts DOMAIN\user and UPNs; the simulator knows addresses only. */
            struct sim_account *a = org_account(o, text);
            if (a && account_password_ok(a, colon + 1))
                acct = a;
        }
        free(text);
    }
    free(dec);
    return acct;
}

/* A plain-text reply for the HTTP-level answers (401, 503, 500). */
static enum mse_rc reply_text(struct ews_reply *out, unsigned status, const char *text)
{
    out->status = status;
    out->content_type = "text/plain; charset=utf-8";
    out->body = strdup(text);
    out->len = out->body ? strlen(text) : 0;
    return out->body ? MSE_OK : MSE_ERR_NOMEM;
}

/* Unauthenticated: the Basic challenge exchangelib's auth probe expects. */
static enum mse_rc reply_401(struct sim *sim, struct ews_reply *out)
{
    atomic_fetch_add(&sim->stats.auth_failures, 1);
    out->www_authenticate = true;
    return reply_text(out, 401, "401 Unauthorized\n");
}

/* ---- helpers for handlers ---- */

bool ews_may_open(const struct ews_ctx *c, const struct sim_mailbox *m)
{
    if (m && m == c->mbx)
        return true;
    return m && c->acting && account_may_open(c->acting, m);
}

struct sim_mailbox *ews_id_mailbox(struct ews_ctx *c, const struct ewsid *id, const char **code)
{
    if (id->mailbox >= c->org->nmailboxes) {
        *code = "ErrorInvalidIdMalformed";
        return NULL;
    }
    struct sim_mailbox *m = c->org->mailboxes[id->mailbox];
    if (!ews_may_open(c, m)) {
        *code = "ErrorAccessDenied";
        return NULL;
    }
    return m;
}

/* DistinguishedFolderId, in the caller's mailbox or the one its t:Mailbox names. */
static const char *distinguished_lookup(struct ews_ctx *c, xmlNodePtr id_el,
                                        struct sim_folder **out)
{
    char name[64], addr[320];
    struct sim_mailbox *m = c->mbx;
    xmlNodePtr mb = x_child(id_el, NS_TYPES, "Mailbox");
    if (mb) {
        x_content(x_child(mb, NS_TYPES, "EmailAddress"), addr, sizeof(addr));
        m = org_mailbox(c->org, addr);
    }
    if (!m)
        return "ErrorNonExistentMailbox";
    if (!ews_may_open(c, m))
        return "ErrorAccessDenied";
    x_prop(id_el, "Id", name, sizeof(name));
    *out = mailbox_distinguished(m, name);
    return *out ? NULL : "ErrorFolderNotFound";
}

const char *ews_folder_lookup(struct ews_ctx *c, xmlNodePtr id_el, struct sim_folder **out)
{
    *out = NULL;
    if (x_is(id_el, NS_TYPES, "DistinguishedFolderId"))
        return distinguished_lookup(c, id_el, out);
    char text[256];
    struct ewsid id;
    if (!x_is(id_el, NS_TYPES, "FolderId") || !x_prop(id_el, "Id", text, sizeof(text)) ||
        ewsid_parse(text, &id) != MSE_OK || id.kind != EWSID_FOLDER)
        return "ErrorInvalidIdMalformed";
    const char *code = NULL;
    struct sim_mailbox *m = ews_id_mailbox(c, &id, &code);
    if (!m)
        return code;
    struct sim_folder *f = org_folder(c->org, id.num);
    if (!f || f->mbx != m || f->deleted)
        return "ErrorFolderNotFound";
    *out = f;
    return NULL;
}

const char *ews_item_lookup(struct ews_ctx *c, xmlNodePtr id_el, struct sim_item **out,
                            struct ewsid *id)
{
    char text[256];
    *out = NULL;
    if (!x_prop(id_el, "Id", text, sizeof(text)) || ewsid_parse(text, id) != MSE_OK ||
        (id->kind != EWSID_ITEM && id->kind != EWSID_OCCURRENCE))
        return "ErrorInvalidIdMalformed";
    const char *code = NULL;
    struct sim_mailbox *m = ews_id_mailbox(c, id, &code);
    if (!m)
        return code;
    struct sim_item *it = org_item(c->org, id->num);
    if (!it || it->mbx != m)
        return "ErrorItemNotFound";
    if (id->kind == EWSID_OCCURRENCE && (!it->cal || it->cal->type != CAL_RECURRING_MASTER))
        return "ErrorItemNotFound";
    *out = it;
    return NULL;
}

/* ---- the pipeline ---- */

struct pipeline {
    struct sim *sim;
    struct mse_log_ctx *log;
    struct soap_request req;
    struct soap_response resp;
    struct soap_failure fail;
    struct ews_reply *out;
    char caller[320];
    const char *anchor;
    unsigned delay_ms;
};

/* Works out who acts on which mailbox; a failure is a fault code. */
static const char *principal_resolve(struct ews_ctx *c)
{
    const char *target = c->req->impersonate;
    c->acting = c->caller;
    c->mbx = c->caller->mbx;
    if (!target[0])
        return NULL;
    if (c->req->impersonate_by_sid)
        return "ErrorInvalidExchangeImpersonationHeaderData";
    if (!account_may_impersonate(c->caller, target))
        return "ErrorImpersonateUserDenied";
    c->mbx = org_mailbox(c->org, target);
    if (!c->mbx)
        return "ErrorNonExistentMailbox";
    c->acting = org_account(c->org, target);
    return NULL;
}

/*
 * The other throttling signal Exchange sends: HTTP 200, a response message
 * ErrorInternalServerError whose MessageXml names the inner ErrorServerBusy. The containers
 * the operation's schema requires even on errors are added.
 */
static enum mse_rc busy_message(struct pipeline *p, unsigned backoff_ms)
{
    struct soap_response *r = &p->resp;
    const char *op = p->req.op_name;
    xmlNodePtr msgs = soap_messages(r, op);
    xmlNodePtr m = soap_message(r, msgs, op, "ErrorInternalServerError");
    xmlNodePtr mx = x_el(m, r->m, "MessageXml");
    char ms[16];
    snprintf(ms, sizeof(ms), "%u", backoff_ms);
    x_attr(x_text(mx, r->t, "Value", "ErrorServerBusy"), "Name", "InnerErrorResponseCode");
    x_attr(x_text(mx, r->t, "Value", soap_code_text("ErrorServerBusy")), "Name",
           "InnerErrorMessageText");
    x_attr(x_text(mx, r->t, "Value", ms), "Name", "BackOffMilliseconds");
    switch (p->req.op_id) {
    case OP_GET_ITEM:
    case OP_UPDATE_ITEM:
        x_el(m, r->m, "Items");
        break;
    case OP_GET_ATTACHMENT:
    case OP_CREATE_ATTACHMENT:
        x_el(m, r->m, "Attachments");
        break;
    case OP_SYNC_FOLDER_ITEMS:
    case OP_SYNC_FOLDER_HIERARCHY:
        x_el(m, r->m, "SyncState");
        x_bool(m, r->m,
               p->req.op_id == OP_SYNC_FOLDER_ITEMS ? "IncludesLastItemInRange"
                                                    : "IncludesLastFolderInRange",
               true);
        break;
    default:
        break;
    }
    return m ? MSE_OK : MSE_ERR_NOMEM;
}

/* Applies an injected fault. Returns true when it replaced the response. */
static bool fault_apply(struct pipeline *p, struct ews_ctx *c, const struct fault_rule *r)
{
    static const char *const codes[FAULT_KIND_COUNT] = {
        [FAULT_MAILBOX_MOVE] = "ErrorMailboxMoveInProgress",
        [FAULT_NO_MAILBOX] = "ErrorNonExistentMailbox",
        [FAULT_INTERNAL] = "ErrorInternalServerError",
    };
    atomic_fetch_add(&p->sim->stats.all.faults_injected, 1);
    if (c->mbx)
        atomic_fetch_add(&c->mbx->counters.faults_injected, 1);
    LOG_INFO(p->log, "injecting fault %s (rule %u) into %s", fault_kind_names[r->kind], r->id,
             p->req.op_name);
    switch (r->kind) {
    case FAULT_SERVER_BUSY:
        if (soap_fault_busy(&p->resp, r->backoff_ms) != MSE_OK)
            LOG_ERROR(p->log, "out of memory building a fault");
        return true;
    case FAULT_HTTP_503:
        p->out->retry_after = (r->backoff_ms + 999) / 1000;
        return true;
    case FAULT_HTTP_401:
        p->out->www_authenticate = true;
        return true;
    case FAULT_DELAY:
        p->delay_ms = r->delay_ms;
        return false;
    case FAULT_CUTOFF:
        p->out->cutoff = true;
        return false;
    case FAULT_INVALID_SYNC_STATE:
        c->force_invalid_state = true;
        return false;
    case FAULT_BUSY_MESSAGE:
        if (busy_message(p, r->backoff_ms) != MSE_OK)
            LOG_ERROR(p->log, "out of memory building a fault");
        return true;
    default:
        if (soap_fault_code(&p->resp, codes[r->kind]) != MSE_OK)
            LOG_ERROR(p->log, "out of memory building a fault");
        return true;
    }
}

/* Counts a request simulator-wide and for the mailbox it is about. */
static void counters_add(struct sim *sim, struct sim_mailbox *m, enum ews_op op)
{
    if (op >= OP_COUNT)
        return;
    atomic_fetch_add(&sim->stats.all.requests[op], 1);
    if (m)
        atomic_fetch_add(&m->counters.requests[op], 1);
}

/* Row of op in op_table, or SIZE_MAX for operations without a handler. */
static size_t op_row(enum ews_op op)
{
    for (size_t i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++) {
        if (op_table[i].op == op)
            return i;
    }
    return SIZE_MAX;
}

/* Everything that needs the store: runs under its lock. */
static enum mse_rc dispatch_locked(struct pipeline *p, struct ews_ctx *c, size_t row)
{
    c->caller = org_account(c->org, p->caller);
    if (!c->caller) /* the account went away in a reset */
        return reply_401(p->sim, p->out);
    const char *code = principal_resolve(c);
    if (code)
        return soap_fault_code(&p->resp, code);
    const char *mailbox = c->mbx ? c->mbx->address : (p->anchor ? p->anchor : p->caller);
    struct fault_rule rule;
    counters_add(p->sim, c->mbx, p->req.op_id);
    if (faults_match(&p->sim->faults, p->req.op_name, mailbox, &rule) && fault_apply(p, c, &rule))
        return MSE_OK;
    if (row == SIZE_MAX) {
        struct soap_failure f = { .code = "ErrorInvalidRequest" };
        snprintf(f.text, sizeof(f.text), "The operation %s is not supported by this server.",
                 p->req.op_name);
        return soap_fault(&p->resp, &f);
    }
    enum mse_rc rc = op_table[row].fn(c);
    if (rc != MSE_OK) {
        LOG_ERROR(p->log, "%s failed: %s", p->req.op_name, mse_rc_str(rc));
        return soap_fault_code(&p->resp, "ErrorInternalServerError");
    }
    return MSE_OK;
}

/* Takes the lock the operation needs (writes are exclusive) and runs it. */
static enum mse_rc dispatch(struct pipeline *p)
{
    size_t row = op_row(p->req.op_id);
    bool writes = row != SIZE_MAX && op_table[row].writes;
    struct store *st = &p->sim->store;
    if (writes)
        store_write_lock(st);
    else
        store_read_lock(st);
    struct ews_ctx c = { .sim = p->sim,
                         .org = st->org,
                         .req = &p->req,
                         .resp = &p->resp,
                         .generation = atomic_load(&st->generation),
                         .log = p->log };
    enum mse_rc rc = dispatch_locked(p, &c, row);
    store_unlock(st);
    return rc;
}

/* Validates what we are about to send; a failure is a bug in the simulator, logged and counted. */
static void response_check(struct pipeline *p)
{
    if (!p->sim->cfg.validate_responses)
        return;
    struct schema_error e;
    if (schema_validate_doc(p->sim->schema, p->resp.doc, &e) == MSE_OK)
        return;
    atomic_fetch_add(&p->sim->stats.schema_violations, 1);
    LOG_ERROR(p->log, "response to %s violates the EWS schema: line %d: %s",
              p->req.op_name ? p->req.op_name : "request", e.line, e.message);
}

/* The delay fault: sleeps in short steps so that a shutdown does not wait for it. */
static void delay(struct sim *sim, unsigned ms)
{
    int64_t until = mse_time_mono_ms() + ms;
    while (ms && mse_time_mono_ms() < until && !atomic_load(&sim->stopping))
        usleep(10 * 1000);
}

/* Turns the pipeline's outcome into the HTTP reply. */
static enum mse_rc reply_finish(struct pipeline *p)
{
    struct ews_reply *out = p->out;
    if (out->status == 401 || out->www_authenticate)
        return out->body ? MSE_OK : reply_401(p->sim, out);
    if (out->retry_after)
        return reply_text(out, 503, "503 Service Unavailable\n");
    if (p->resp.fault)
        atomic_fetch_add(&p->sim->stats.soap_faults, 1);
    response_check(p);
    out->status = p->resp.http_status;
    out->content_type = "text/xml; charset=utf-8";
    enum mse_rc rc = soap_serialize(&p->resp, &out->body, &out->len);
    delay(p->sim, p->delay_ms);
    return rc;
}

/* Checks credentials before anything is parsed, as IIS does; keeps the address. */
static enum mse_rc authenticate(struct pipeline *p, const char *authorization)
{
    store_read_lock(&p->sim->store);
    struct sim_account *a = auth_resolve(p->sim->store.org, authorization);
    if (a)
        snprintf(p->caller, sizeof(p->caller), "%s", a->address);
    store_unlock(&p->sim->store);
    return a ? MSE_OK : MSE_ERR_INVALID;
}

enum mse_rc ews_process(struct sim *sim, const char *authorization, const char *anchor,
                        const char *body, size_t len, struct mse_log_ctx *log,
                        struct ews_reply *out)
{
    memset(out, 0, sizeof(*out));
    atomic_fetch_add(&sim->stats.http_requests, 1);
    struct pipeline p = { .sim = sim, .log = log, .out = out, .anchor = anchor };
    if (authenticate(&p, authorization) != MSE_OK)
        return reply_401(sim, out);
    unsigned backoff_ms = 0;
    /* EWSMaxConcurrency: the account's requests in flight, the one waiting out latency too. */
    bool admitted = realism_enter(&sim->realism, p.caller, &out->account_slot, &backoff_ms);
    enum mse_rc rc = soap_response_init(&p.resp, true);
    if (rc != MSE_OK)
        return reply_text(out, 500, "out of memory\n");
    rc = soap_request_parse(sim->schema, body, len, &p.req, &p.fail);
    if (rc == MSE_OK && !admitted) {
        LOG_DEBUG(log, "%s throttled: %s is at its concurrency limit", p.req.op_name, p.caller);
        rc = soap_fault_busy(&p.resp, backoff_ms);
    } else if (rc == MSE_OK)
        rc = dispatch(&p);
    else if (rc == MSE_ERR_INVALID) {
        atomic_fetch_add(&sim->stats.request_schema_errors, 1);
        LOG_INFO(log, "request refused: %s: %s", p.fail.code, p.fail.text);
        rc = soap_fault(&p.resp, &p.fail);
    } else
        rc = soap_fault_code(&p.resp, "ErrorInternalServerError");
    if (rc == MSE_OK)
        rc = reply_finish(&p);
    else
        rc = reply_text(out, 500, "internal error\n");
    soap_request_cleanup(&p.req);
    soap_response_cleanup(&p.resp);
    return rc;
}
