/* SPDX-License-Identifier: Apache-2.0 */
/* What the worker does about each EWS error, HTTP status and transport failure: one table. */
#include "ews_error.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct code_row {
    const char *code;
    enum ews_action action;
    const char *reason;
};

/*
 * EWS response codes the worker reacts to specifically (EWS-NOTES §4). Codes not listed fail
 * the mailbox as "ews_error" with the code in the reason text.
 */
static const struct code_row code_table[] = {
    { "NoError", EWS_ACT_OK, "" },
    /* Throttling: honour BackOffMilliseconds before any further request. */
    { "ErrorServerBusy", EWS_ACT_RETRY_THROTTLED, "ews_throttled" },
    { "ErrorTooManyObjectsOpened", EWS_ACT_RETRY_THROTTLED, "ews_throttled" },
    { "ErrorExceededConnectionCount", EWS_ACT_RETRY_THROTTLED, "ews_throttled" },
    /* Transient store or server trouble. */
    { "ErrorInternalServerTransientError", EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { "ErrorMailboxStoreUnavailable", EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { "ErrorConnectionFailed", EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { "ErrorTimeoutExpired", EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { "ErrorBatchProcessingStopped", EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { "ErrorInternalServerError", EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    /* The mailbox is being moved or lives elsewhere for now. */
    { "ErrorMailboxMoveInProgress", EWS_ACT_RETRY_LATER, "ews_mailbox_moving" },
    /* Permanent for this mailbox; the task goes on with the next one. */
    { "ErrorNonExistentMailbox", EWS_ACT_FAIL_MAILBOX, "ews_mailbox_not_found" },
    { "ErrorImpersonateUserDenied", EWS_ACT_FAIL_MAILBOX, "ews_impersonation_denied" },
    { "ErrorImpersonationDenied", EWS_ACT_FAIL_MAILBOX, "ews_impersonation_denied" },
    { "ErrorInvalidExchangeImpersonationHeaderData", EWS_ACT_FAIL_MAILBOX,
      "ews_impersonation_denied" },
    { "ErrorAccessDenied", EWS_ACT_FAIL_MAILBOX, "ews_access_denied" },
    { "ErrorAccountDisabled", EWS_ACT_FAIL_MAILBOX, "ews_account_disabled" },
    { "ErrorMailboxConfiguration", EWS_ACT_FAIL_MAILBOX, "ews_mailbox_configuration" },
    /* Sync state: start that folder (or the hierarchy) over. */
    { "ErrorInvalidSyncStateData", EWS_ACT_RESYNC, "sync_state_reset" },
    /* Gone since it was listed: the next sync reports the deletion. */
    { "ErrorItemNotFound", EWS_ACT_ITEM_GONE, "ews_item_not_found" },
    { "ErrorFolderNotFound", EWS_ACT_ITEM_GONE, "ews_folder_not_found" },
    { "ErrorSyncFolderNotFound", EWS_ACT_ITEM_GONE, "ews_folder_not_found" },
    { "ErrorInvalidIdMalformed", EWS_ACT_ITEM_GONE, "ews_item_not_found" },
    { "ErrorCannotOpenFileAttachment", EWS_ACT_ITEM_GONE, "ews_item_not_found" },
    { "ErrorInvalidAttachmentId", EWS_ACT_ITEM_GONE, "ews_item_not_found" },
    /* Configuration or programming errors: retrying cannot help. */
    { "ErrorInvalidServerVersion", EWS_ACT_FAIL, "ews_server_version" },
    { "ErrorInvalidSchemaVersionForMailboxVersion", EWS_ACT_FAIL, "ews_server_version" },
    { "ErrorIncorrectSchemaVersion", EWS_ACT_FAIL, "ews_server_version" },
    { "ErrorSchemaValidation", EWS_ACT_FAIL, "ews_schema_validation" },
    { "ErrorInvalidRequest", EWS_ACT_FAIL, "ews_invalid_request" },
    { "ErrorNameResolutionNoResults", EWS_ACT_FAIL, "group_not_found" },
};

void ews_status_init(struct ews_status *st)
{
    memset(st, 0, sizeof(*st));
    st->cls = EWS_CLASS_SUCCESS;
    snprintf(st->code, sizeof(st->code), "NoError");
    st->backoff_ms = -1;
}

static const struct code_row *code_find(const char *code)
{
    for (size_t i = 0; i < sizeof(code_table) / sizeof(code_table[0]); i++) {
        if (strcmp(code_table[i].code, code) == 0)
            return &code_table[i];
    }
    return NULL;
}

struct ews_policy ews_error_classify_code(const char *code, const char *inner_code)
{
    /* ErrorInternalServerError may wrap the real reason, ErrorServerBusy above all. */
    if (code && strcmp(code, "ErrorInternalServerError") == 0 && inner_code && *inner_code) {
        const struct code_row *inner = code_find(inner_code);
        if (inner && inner->action != EWS_ACT_OK)
            return (struct ews_policy){ inner->action, inner->reason };
    }
    const struct code_row *row = code && *code ? code_find(code) : NULL;
    if (row)
        return (struct ews_policy){ row->action, row->reason };
    return (struct ews_policy){ EWS_ACT_FAIL, "ews_error" };
}

struct ews_policy ews_error_classify_status(const struct ews_status *st)
{
    if (st->cls == EWS_CLASS_SUCCESS && (!st->code[0] || strcmp(st->code, "NoError") == 0))
        return (struct ews_policy){ EWS_ACT_OK, "" };
    return ews_error_classify_code(st->code, st->inner_code);
}

struct ews_policy ews_error_classify_http(enum ews_transport tr, long http_status)
{
    switch (tr) {
    case EWS_TR_OK:
        break;
    case EWS_TR_TIMEOUT:
    case EWS_TR_CONNECT:
    case EWS_TR_CUT_OFF:
    case EWS_TR_OTHER:
        return (struct ews_policy){ EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" };
    case EWS_TR_TOO_LARGE:
        return (struct ews_policy){ EWS_ACT_FAIL, "ews_response_too_large" };
    case EWS_TR_TLS:
        return (struct ews_policy){ EWS_ACT_FAIL, "ews_tls" };
    }
    if (http_status >= 200 && http_status < 300)
        return (struct ews_policy){ EWS_ACT_OK, "" };
    if (http_status == 401)
        return (struct ews_policy){ EWS_ACT_RETRY_AUTH, "ews_unauthorized" };
    if (http_status == 403)
        return (struct ews_policy){ EWS_ACT_FAIL_MAILBOX, "ews_forbidden" };
    if (http_status == 429)
        return (struct ews_policy){ EWS_ACT_RETRY_THROTTLED, "ews_throttled" };
    /*
     * 500 without a readable fault (an HTML error page), 502/503/504 (IIS queue full, proxies),
     * and 302 to Exchange's generic error page are all outages that pass.
     */
    if (http_status >= 500 || (http_status >= 300 && http_status < 400))
        return (struct ews_policy){ EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" };
    if (http_status == 404)
        return (struct ews_policy){ EWS_ACT_FAIL, "ews_endpoint_not_found" };
    return (struct ews_policy){ EWS_ACT_FAIL, "ews_http_error" };
}

bool ews_action_retries(enum ews_action a)
{
    return a == EWS_ACT_RETRY_TRANSIENT || a == EWS_ACT_RETRY_THROTTLED || a == EWS_ACT_RETRY_AUTH;
}

const char *ews_action_str(enum ews_action a)
{
    switch (a) {
    case EWS_ACT_OK:
        return "ok";
    case EWS_ACT_ITEM_GONE:
        return "item_gone";
    case EWS_ACT_RESYNC:
        return "resync";
    case EWS_ACT_RETRY_TRANSIENT:
        return "retry_transient";
    case EWS_ACT_RETRY_THROTTLED:
        return "retry_throttled";
    case EWS_ACT_RETRY_AUTH:
        return "retry_auth";
    case EWS_ACT_FAIL:
        return "fail";
    case EWS_ACT_RETRY_LATER:
        return "retry_later";
    case EWS_ACT_FAIL_MAILBOX:
        return "fail_mailbox";
    }
    return "unknown";
}
