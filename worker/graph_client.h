/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Microsoft Graph transport: an OAuth2 client-credentials token (cached, renewed before it
 * expires, never logged), GET and JSON $batch requests, and Graph's throttling (429 with
 * Retry-After) and transient failures retried within a budget.
 */
#ifndef MSE_GRAPH_CLIENT_H
#define MSE_GRAPH_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ews.h"
#include "mse/rc.h"

struct cJSON;

#define GRAPH_CLIENT_BATCH_MAX 20 /* requests in one $batch, as Graph allows */

/* How to reach Graph and the identity platform. Strings are borrowed. */
struct graph_client_config {
    const char *url;       /* "https://graph.microsoft.com" (v1.0 is appended) */
    const char *login_url; /* "https://login.microsoftonline.com" */
    const char *tenant;    /* directory (tenant) id */
    const char *client_id;
    const char *client_secret; /* secret: never logged, never in an error text */
    bool tls_verify;
    const char *ca_file;
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_response;
    unsigned retry_max;          /* attempts per request, retries included */
    int64_t retry_max_wait_ms;   /* total waiting one request may do */
    int64_t backoff_base_ms;     /* first transient retry delay */
    int64_t backoff_hint_max_ms; /* longest Retry-After honoured */
    const char *user_agent;
};

struct graph_client;

/* One answer: the HTTP status, the parsed JSON body (NULL when none), Graph's error code. */
struct graph_result {
    long status;
    struct cJSON *body;
    char code[64];     /* error.code of an error document, "" otherwise */
    char message[256]; /* error.message */
};

void graph_result_cleanup(struct graph_result *r);

/* MSE_ERR_INVALID naming what the configuration lacks; MSE_ERR_NOMEM. */
enum mse_rc graph_client_new(const struct graph_client_config *cfg, struct graph_client **out,
                             struct mse_err *err) MSE_WUR;
void graph_client_free(struct graph_client *g);
void graph_client_set_stop(struct graph_client *g, const atomic_bool *stop);
/* Requests, retries and waits so far (the EWS counters' shape, for outcomes). */
const struct ews_stats *graph_client_stats(const struct graph_client *g);

/*
 * GET path ("/users/x/mailFolders/delta?…", below /v1.0) or a link Graph returned (which
 * must lie below cfg->url: the token goes nowhere else). page_size > 0 sends
 * Prefer: odata.maxpagesize. MSE_OK with any final HTTP answer in res (the caller judges
 * 4xx); MSE_ERR_UNAVAILABLE when no token could be had, retries ran out or the transport
 * failed, with err saying why and *reason a stable code ("graph_auth_failed",
 * "graph_throttled", "graph_unavailable", "graph_bad_response", "cancelled").
 */
enum mse_rc graph_client_get(struct graph_client *g, const char *path, unsigned page_size,
                             struct graph_result *res, const char **reason,
                             struct mse_err *err) MSE_WUR;
/*
 * One $batch of n ≤ GRAPH_CLIENT_BATCH_MAX GET paths; res[i] gets the answer to paths[i].
 * Errors as graph_client_get.
 */
enum mse_rc graph_client_batch(struct graph_client *g, const char *const *paths, size_t n,
                               struct graph_result *res, const char **reason,
                               struct mse_err *err) MSE_WUR;

/*
 * True when a token obtained at obtained_ms that lives expires_in_s seconds should be renewed
 * at now_ms: five minutes before it expires, or halfway for tokens that live under ten.
 */
bool graph_client_token_due(int64_t now_ms, int64_t obtained_ms, int64_t expires_in_s);

#endif
