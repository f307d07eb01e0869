/* SPDX-License-Identifier: Apache-2.0 */
/* mse-server settings, read once from the environment at start-up. */
#ifndef MSE_CONFIG_SERVER_H
#define MSE_CONFIG_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blobstore.h"
#include "log.h"
#include "mse/rc.h"

struct server_config {
    char listen_host[256];
    uint16_t listen_port;
    const char *database_url;    /* libpq conninfo or URI */
    unsigned threads;            /* libmicrohttpd worker threads */
    unsigned db_pool_size;       /* PostgreSQL connections shared by those threads */
    size_t max_body;             /* request bodies above this get 413 */
    size_t max_content;          /* one uploaded content (spooled to disk) above this gets 413 */
    unsigned lease_seconds;      /* a claim lasts this long without a heartbeat */
    unsigned heartbeat_seconds;  /* how often workers are asked to report */
    unsigned scheduler_ms;       /* how often the scheduler looks for due work */
    bool metrics_auth;           /* /metrics needs an admin or read_only token */
    bool docs_public;            /* the spec and /docs are served without a token */
    unsigned connection_timeout; /* seconds of inactivity before a connection is closed */
    unsigned request_timeout;    /* seconds a request (line, headers, body) may take to arrive */
    unsigned max_connections;    /* all clients together */
    unsigned per_ip_connections; /* one client address */
    unsigned shutdown_grace;     /* seconds in-flight requests get after SIGTERM */
    unsigned claim_wait_max;     /* seconds a claim may wait for work (0: answer at once) */
    enum mse_log_level log_level;
    unsigned log_repeat_seconds; /* a repeated warning is written once per this many seconds */
    const char *data_dir;        /* where generated files (bootstrap credentials) go */
    const char *master_key_file; /* 32-byte key (raw or 64 hex digits) for secrets at rest */
    const char *bootstrap_client_id;
    const char *bootstrap_client_secret;
    unsigned token_ttl;            /* seconds a bearer token lives (expires_in) */
    unsigned token_cache_ms;       /* how long a validated token is trusted without the database */
    unsigned auth_fail_limit;      /* free failures per (client id, address), then back-off */
    unsigned auth_addr_fail_limit; /* free failures per address (secrets; tokens apart) */
    unsigned auth_backoff_max;     /* seconds: the doubling back-off stops here */
    unsigned auth_fail_window;     /* seconds without a failure after which a key starts over */
    struct blobstore_config blobs; /* the content store (dir = data_dir) */
    unsigned blob_grace_seconds;   /* an upload nothing references is collected after this */
    unsigned blob_sweep_seconds;   /* how often the collector looks */
    unsigned export_ttl_seconds;   /* a completed export's file is removed this long after */
    /* How often retention's sweeper looks (docs/retention.md). */
    unsigned retention_sweep_seconds;
    /* MSE_INTERNAL_DOMAINS, lower case, comma-separated without spaces ("" = none): journaled
     * mail is attributed to addresses of these domains as well as to archived mailboxes. */
    char internal_domains[1024];
};

/* Reads every MSE_* variable; on error err names the variable and what it accepts. */
enum mse_rc server_config_load(struct server_config *cfg, struct mse_err *err) MSE_WUR;

#endif
