/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Microsoft Graph v1.0 over the same organisation EWS serves: an OAuth2 token endpoint for
 * registered apps (client credentials), users, mail folders and messages with delta queries,
 * JSON $batch, throttling answered 429 + Retry-After, and Graph's error documents.
 */
#ifndef EWSSIM_GRAPH_H
#define EWSSIM_GRAPH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mse/rc.h"

#define GRAPH_MAX_APPS     16
#define GRAPH_MAX_TOKENS   1024 /* live tokens kept; the oldest is forgotten first */
#define GRAPH_BATCH_MAX    20   /* requests in one $batch, as Graph allows */
#define GRAPH_PAGE_MAX     1000 /* messages in one delta page (Prefer: odata.maxpagesize) */
#define GRAPH_PAGE_DEFAULT 10   /* Graph's default delta page for messages */

/* One app registration: its tenant, client id, secret (hashed) and application roles. */
struct graph_app {
    char tenant[80];
    char client_id[80];
    uint8_t secret_sha[32];
    char roles[256]; /* "Mail.Read User.Read.All" */
};

struct graph_settings {
    struct graph_app apps[GRAPH_MAX_APPS];
    unsigned napps;
    unsigned token_lifetime_s; /* EWS_SIM_GRAPH_TOKEN_LIFETIME_S */
};

struct graph_token {
    char text[80];
    unsigned app;       /* index into apps */
    int64_t expires_ms; /* monotonic */
};

struct graph {
    pthread_mutex_t lock;
    struct graph_token tokens[GRAPH_MAX_TOKENS];
    unsigned next; /* ring position of the next token */
};

/*
 * EWS_SIM_GRAPH_APPS: apps separated by blanks or ';', each TENANT:CLIENT_ID:SECRET[:ROLES]
 * with ROLES comma-separated (default Mail.Read,User.Read.All). MSE_ERR_INVALID naming the
 * variable; the secret is never echoed.
 */
enum mse_rc graph_settings_load(struct graph_settings *s, struct mse_err *err) MSE_WUR;

void graph_init(struct graph *g);
void graph_cleanup(struct graph *g);

struct sim;
struct ews_reply;
struct mse_log_ctx;

/* A request as the HTTP layer hands it over; query is the raw query string ("" when none). */
struct graph_request {
    const char *method;
    const char *path; /* "/v1.0/users", "/{tenant}/oauth2/v2.0/token", … */
    const char *query;
    const char *authorization;
    const char *prefer; /* Prefer header (odata.maxpagesize=N) */
    const char *host;   /* Host header, for the links Graph returns */
    const char *scheme; /* "http", or X-Forwarded-Proto behind a TLS proxy */
    const char *body;
    size_t len;
};

/* True for the paths Graph answers: /v1.0/… and the identity endpoints under /{tenant}/. */
bool graph_path(const char *path);
/* Answers one Graph or identity request. Always fills out; MSE_ERR_NOMEM when not even an error
 * document could be built. */
enum mse_rc graph_process(struct sim *sim, const struct graph_request *rq, struct mse_log_ctx *log,
                          struct ews_reply *out) MSE_WUR;

#endif
