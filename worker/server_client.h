/* SPDX-License-Identifier: Apache-2.0 */
/* The worker's HTTP client of mse-server: OAuth token, JSON calls, retries
 * (docs/worker-protocol.md). */
#ifndef MSE_SERVER_CLIENT_H
#define MSE_SERVER_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mse/rc.h"

struct cJSON;

/* How to reach mse-server. Strings are borrowed and must outlive the client. */
struct srv_config {
    const char *url;       /* http://127.0.0.1:8080 (no trailing slash needed) */
    const char *client_id; /* the site's API client */
    const char *client_secret;
    bool tls_verify;
    const char *ca_file;     /* NULL = system CAs */
    long timeout_ms;         /* one HTTP exchange */
    int64_t retry_budget_ms; /* how long one call keeps retrying an unreachable server */
};

/* A server answer below 500 (5xx and transport failures are retried, then reported). */
struct srv_reply {
    long status;
    struct cJSON *body;    /* parsed JSON body, or NULL (204, empty, not JSON) */
    char problem_type[96]; /* RFC 9457 `type` of an error answer, e.g. "urn:mse:problem:lease-lost"
                            */
    char detail[256];      /* the problem's detail, for logs */
};

struct srv_client;

/* One client per execution slot. Calls may come from several threads (the lanes of one
 * execution): they are serialised, one request at a time. cfg is borrowed. */
enum mse_rc srv_client_new(const struct srv_config *cfg, struct srv_client **out,
                           struct mse_err *err) MSE_WUR;
void srv_client_free(struct srv_client *c);
/*
 * Sends "MSE-Fencing-Token: token" with every following call (0 stops it): execution-scoped
 * writes must prove they come from the execution's current claim.
 */
void srv_client_set_fencing(struct srv_client *c, int64_t token);
/* A flag that, once true, ends retry waits early (shutdown). */
void srv_client_set_stop(struct srv_client *c, const atomic_bool *stop);
/*
 * While on, the stop flag also ends a request in flight (a claim waiting at the server for
 * work); off for everything that must reach the server during shutdown (hand-backs).
 */
void srv_client_set_interruptible(struct srv_client *c, bool on);

/*
 * Sends `method path` with body as JSON (NULL for none) and fills reply. Gets a bearer token
 * first when it has none or it expired, and once more after a 401. Retries connection errors,
 * 429, 502, 503 and 504 with jittered exponential backoff (honouring Retry-After) until the
 * retry budget is spent. MSE_OK when a status below 500 came back (callers judge it);
 * MSE_ERR_UNAVAILABLE when the server could not be reached or kept failing; MSE_ERR_IO when
 * the token request was refused (bad credentials: err says so). Free reply with
 * srv_reply_cleanup in every case.
 */
enum mse_rc srv_call(struct srv_client *c, const char *method, const char *path,
                     const struct cJSON *body, struct srv_reply *reply,
                     struct mse_err *err) MSE_WUR;
/* Like srv_call with a raw application/octet-stream body (attachment content). */
enum mse_rc srv_call_bytes(struct srv_client *c, const char *method, const char *path,
                           const void *data, size_t len, struct srv_reply *reply,
                           struct mse_err *err) MSE_WUR;
/*
 * Like srv_call_bytes with the body read from len bytes of the file fd at offset while it is
 * sent (and read again for a retry), so content of any size costs no memory. The method is
 * sent as an upload (PUT). MSE_ERR_IO when the file cannot be read.
 */
enum mse_rc srv_call_file(struct srv_client *c, const char *method, const char *path, int fd,
                          int64_t offset, uint64_t len, struct srv_reply *reply,
                          struct mse_err *err) MSE_WUR;
void srv_reply_cleanup(struct srv_reply *r);

/* True when reply is an error answer of this status and problem type (mse/protocol.h). */
bool srv_reply_is(const struct srv_reply *r, long status, const char *type);

#endif
