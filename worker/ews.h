/* SPDX-License-Identifier: Apache-2.0 */
/* EWS transport: one libcurl handle per mailbox session, SOAP envelopes, the retry loop. */
#ifndef MSE_EWS_H
#define MSE_EWS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ews_response.h"
#include "ews_xml.h"
#include "mse/rc.h"

enum ews_auth { EWS_AUTH_NONE, EWS_AUTH_BASIC, EWS_AUTH_NTLM, EWS_AUTH_BEARER };

/* How to reach Exchange. Strings are borrowed: they must outlive every session. */
struct ews_config {
    const char *url; /* https://host/EWS/Exchange.asmx */
    enum ews_auth auth;
    const char *username;     /* basic, ntlm ("DOMAIN\\user" or UPN) */
    const char *password;     /* basic, ntlm */
    const char *bearer_token; /* bearer */
    bool impersonation;       /* ExchangeImpersonation of each mailbox; else delegate access */
    const char *version;      /* RequestServerVersion: "Exchange2013_SP1" or "Exchange2016" */
    bool tls_verify;          /* verify the server certificate and host name */
    const char *ca_file;      /* extra CA bundle, or NULL for the system's */
    long connect_timeout_ms;
    long timeout_ms;             /* whole request, including the response */
    size_t max_response;         /* larger responses abort with MSE_ERR_TOO_LARGE */
    unsigned retry_max;          /* attempts per request, retries included */
    int64_t retry_max_wait_ms;   /* total time one request may spend waiting to retry */
    int64_t backoff_base_ms;     /* first transient retry delay */
    int64_t backoff_cap_ms;      /* longest exponential delay */
    int64_t backoff_hint_max_ms; /* longest wait a server hint may impose */
    unsigned auth_retries;       /* extra attempts after a 401 */
    const char *user_agent;
    struct ews_gate *gate; /* shared by the process's sessions (ews_gate.h); NULL = no limit */
};

/* Fills cfg with the defaults (no URL, no credentials). */
void ews_config_defaults(struct ews_config *cfg);

/* Counters of one session, for outcomes and logs. */
struct ews_stats {
    uint64_t requests;  /* HTTP exchanges, retries included */
    uint64_t retries;   /* requests sent again after an error */
    uint64_t bytes_in;  /* response bytes (decoded) */
    int64_t waited_ms;  /* time spent backing off */
    uint64_t throttled; /* ErrorServerBusy / 429 seen */
};

struct ews_session;

/*
 * One operation: how to write its request and read its response. build writes the operation
 * element into the open soap:Body; delegate is the mailbox to name inside
 * DistinguishedFolderIds when the session accesses it as a delegate (NULL when impersonating
 * or for protocol-level operations). parse fills out; reset frees a partial out before a retry.
 */
struct ews_op {
    const char *name; /* operation element, for logs: "SyncFolderItems" */
    bool mailbox;     /* addresses the session's mailbox (impersonation, X-AnchorMailbox) */
    bool huge;        /* responses may carry large base64 content */
    void (*build)(struct ews_xml_writer *wr, const void *args, const char *delegate);
    enum mse_rc (*parse)(const char *xml, size_t len, void *out, struct ews_reply *reply,
                         struct mse_err *err);
    void (*reset)(void *out);
};

/*
 * Creates a session (one libcurl easy handle, so connections and NTLM authentication are
 * reused). cfg is borrowed. MSE_ERR_INVALID when cfg is unusable (err says why).
 */
enum mse_rc ews_session_new(const struct ews_config *cfg, struct ews_session **out,
                            struct mse_err *err) MSE_WUR;
/* NULL is fine. */
void ews_session_free(struct ews_session *s);
/*
 * Sets the mailbox that mailbox-level operations address (copied); NULL for none.
 * MSE_ERR_INVALID when the address is too long or contains characters XML or HTTP headers
 * cannot carry.
 */
enum mse_rc ews_session_set_mailbox(struct ews_session *s, const char *address) MSE_WUR;
/* A flag that, once true, makes waits end early and ews_call give up ("cancelled"). */
void ews_session_set_stop(struct ews_session *s, const atomic_bool *stop);
/*
 * A second flag that works like the stop flag, for the owner of a session to end its own
 * requests (the requests in flight beside one that failed); NULL for none.
 */
void ews_session_set_cancel(struct ews_session *s, const atomic_bool *cancel);
/*
 * A new session like s, for requests in flight beside s's: the same configuration, mailbox,
 * stop flag and seed, its own libcurl handle (so its own connection), no cancel flag and
 * counters at zero. MSE_ERR_NOMEM (err says so).
 */
enum mse_rc ews_session_clone(const struct ews_session *s, struct ews_session **out,
                              struct mse_err *err) MSE_WUR;
/* Seeds the jitter (tests); 0 = random. */
void ews_session_set_seed(struct ews_session *s, uint64_t seed);
const struct ews_stats *ews_session_stats(const struct ews_session *s);
/* Adds every counter of add to sum. */
void ews_stats_add(struct ews_stats *sum, const struct ews_stats *add);
/* Sleeps ms milliseconds unless stopped; false when the stop flag ended the wait. */
bool ews_session_sleep(struct ews_session *s, int64_t ms);

/*
 * Writes a whole SOAP envelope for op: RequestServerVersion, ExchangeImpersonation when
 * impersonate is set, and the operation. On MSE_OK *xml points into wr (see
 * ews_xml_writer_finish). Used by ews_call and by the schema tests.
 */
enum mse_rc ews_request_build(struct ews_xml_writer *wr, const struct ews_op *op, const void *args,
                              const char *version, const char *impersonate, const char *delegate,
                              const char **xml, size_t *len) MSE_WUR;

/*
 * Runs op: builds the request, POSTs it, parses the answer, and retries by the policy in
 * ews_error.c — throttling waits BackOffMilliseconds, transient failures back off
 * exponentially with jitter, 401s are retried a few times — within cfg's retry budget.
 * MSE_OK when a response was read whose verdict is OK, ITEM_GONE or RESYNC (reply says
 * which; per-entry statuses are in out). Otherwise reply->policy gives the action and reason
 * code, reply->status the EWS code and text, err a sentence: MSE_ERR_TOO_LARGE for the
 * response cap, MSE_ERR_NOMEM, and MSE_ERR_UNAVAILABLE for everything else (retries
 * exhausted, mailbox errors, retry later, cancelled, unreadable responses). out is reset
 * between attempts; the caller frees it in every case.
 */
enum mse_rc ews_call(struct ews_session *s, const struct ews_op *op, const void *args, void *out,
                     struct ews_reply *reply, struct mse_err *err) MSE_WUR;

#endif
