/* SPDX-License-Identifier: Apache-2.0 */
/* mse-worker settings: a key = value or JSON file, overridden by MSE_WORKER_* variables. */
#ifndef MSE_CONFIG_WORKER_H
#define MSE_CONFIG_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "ews.h"
#include "graph_client.h"
#include "log.h"
#include "mse/rc.h"

/* Every setting; strings are malloc'd (NULL when unset). See docs/worker.md. */
struct worker_config {
    char *server_url;
    char *site_client_id;
    char *site_client_secret; /* secret */
    char *ews_url;
    enum ews_auth ews_auth;
    char *ews_username;
    char *ews_password;          /* secret */
    char *ews_bearer_token;      /* secret */
    char *ews_bearer_token_file; /* re-read by worker_config_reload_token */
    bool ews_impersonation;
    char *ews_version;
    char *backend;             /* "ews" | "graph": what mailboxes are read through */
    char *graph_url;           /* https://graph.microsoft.com */
    char *graph_login_url;     /* https://login.microsoftonline.com */
    char *graph_tenant;        /* directory (tenant) id */
    char *graph_client_id;     /* app (client) id */
    char *graph_client_secret; /* secret */
    int64_t slots;
    int64_t claim_wait_s; /* how long an idle slot's claim waits at the server for work */
    bool tls_verify;
    char *tls_ca_file;
    int64_t ews_connect_timeout_s;
    int64_t ews_timeout_s;
    int64_t ews_max_response_bytes;
    int64_t ews_getitem_batch;
    int64_t ews_parallel;
    int64_t ews_max_concurrency; /* the process's EWS requests in flight (ews_gate.h) */
    int64_t ews_retry_max;
    int64_t ews_retry_max_wait_s;
    int64_t ews_backoff_base_ms;
    int64_t ews_backoff_max_s;
    int64_t ews_backoff_hint_max_s;
    int64_t ews_auth_retries;
    int64_t group_cache_ttl_s;
    enum mse_log_level log_level;
};

/*
 * Loads the configuration: defaults, then the file at path (NULL: MSE_WORKER_CONFIG, or
 * none), then MSE_WORKER_<KEY> variables, which win. Secrets may come from files
 * (ews_password_file, site_client_secret_file, ews_bearer_token_file). MSE_ERR_INVALID with
 * err naming the key, its source and what is accepted — a value is never echoed for secrets.
 * Unknown keys in the file and unknown MSE_WORKER_* variables are errors (typos). On failure
 * cfg is left empty.
 */
enum mse_rc worker_config_load(const char *path, struct worker_config *cfg,
                               struct mse_err *err) MSE_WUR;
void worker_config_cleanup(struct worker_config *cfg);
/*
 * Checks what a mode needs: the EWS URL and the credentials its auth kind needs (ews), the
 * server URL and site credentials (server). MSE_ERR_INVALID naming what is missing.
 */
enum mse_rc worker_config_require(const struct worker_config *cfg, bool ews, bool server,
                                  struct mse_err *err) MSE_WUR;
/* Re-reads ews_bearer_token_file into cfg (single-threaded start-up). */
enum mse_rc worker_config_reload_token(struct worker_config *cfg, struct mse_err *err) MSE_WUR;
/*
 * Reads the current bearer token from ews_bearer_token_file without touching cfg, so that
 * threads can each pick up a refreshed token (tokens expire; read one per execution).
 * *out is NULL when no token file is configured; free it with free().
 */
enum mse_rc worker_config_read_token(const struct worker_config *cfg, char **out,
                                     struct mse_err *err) MSE_WUR;
/* Fills an EWS transport configuration that borrows cfg's strings. */
void worker_config_ews(const struct worker_config *cfg, struct ews_config *out);
/* Fills a Graph client configuration that borrows cfg's strings (timeouts and retries as EWS). */
void worker_config_graph(const struct worker_config *cfg, struct graph_client_config *out);
/* Logs the effective settings at info level, secrets as "[set]" / "[unset]". */
void worker_config_log(const struct worker_config *cfg);

#endif
