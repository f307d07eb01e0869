/* SPDX-License-Identifier: Apache-2.0 */
/* What the worker does about each EWS error, HTTP status and transport failure: one table. */
#ifndef MSE_EWS_ERROR_H
#define MSE_EWS_ERROR_H

#include <stdbool.h>
#include <stdint.h>

enum ews_class { EWS_CLASS_SUCCESS, EWS_CLASS_WARNING, EWS_CLASS_ERROR };

/* What one response message or SOAP fault said. */
struct ews_status {
    enum ews_class cls;
    char code[64];       /* ResponseCode or fault code ("NoError" on success) */
    char text[256];      /* MessageText or faultstring */
    char inner_code[64]; /* InnerErrorResponseCode inside ErrorInternalServerError, or "" */
    int64_t backoff_ms;  /* BackOffMilliseconds from MessageXml, -1 when absent */
};

/*
 * Reactions, in increasing order of severity: when a response carries several errors the
 * most severe one decides for the whole request.
 */
enum ews_action {
    EWS_ACT_OK = 0,
    EWS_ACT_ITEM_GONE,       /* that item, folder or attachment is gone: skip it */
    EWS_ACT_RESYNC,          /* the sync state was refused: start that folder over */
    EWS_ACT_RETRY_TRANSIENT, /* exponential backoff with jitter, then the same request */
    EWS_ACT_RETRY_THROTTLED, /* wait BackOffMilliseconds (or back off), then the same request */
    EWS_ACT_RETRY_AUTH,      /* 401: a few retries with backoff, then fail */
    EWS_ACT_FAIL,            /* unexpected: the mailbox fails with a protocol error */
    EWS_ACT_RETRY_LATER,     /* the mailbox cannot be served now: stop it, retry on a later pass */
    EWS_ACT_FAIL_MAILBOX,    /* permanent for this mailbox (missing, no rights) */
};

struct ews_policy {
    enum ews_action action;
    const char *reason; /* stable reason code reported for the mailbox; never NULL */
};

/* Transport-level outcome of one HTTP exchange. */
enum ews_transport {
    EWS_TR_OK,        /* a complete HTTP response arrived */
    EWS_TR_TIMEOUT,   /* connect or total timeout */
    EWS_TR_CONNECT,   /* could not connect / resolve */
    EWS_TR_CUT_OFF,   /* the response ended early or could not be parsed */
    EWS_TR_TOO_LARGE, /* the response exceeded the configured cap */
    EWS_TR_TLS,       /* certificate or handshake failure */
    EWS_TR_OTHER,     /* anything else libcurl reports */
};

/* The reaction to an EWS ResponseCode (with its inner code, for ErrorInternalServerError). */
struct ews_policy ews_error_classify_code(const char *code, const char *inner_code);
/* The reaction to a transport outcome and HTTP status when no EWS status could be read. */
struct ews_policy ews_error_classify_http(enum ews_transport tr, long http_status);
/* The reaction to a status: NoError/Success → OK, else by code. */
struct ews_policy ews_error_classify_status(const struct ews_status *st);
/* True for the actions ews_call retries by itself. */
bool ews_action_retries(enum ews_action a);
/* Short stable name, for logs ("retry_throttled"). Never NULL. */
const char *ews_action_str(enum ews_action a);
/* Clears a status to Success / NoError. */
void ews_status_init(struct ews_status *st);

#endif
