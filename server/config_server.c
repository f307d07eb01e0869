/* SPDX-License-Identifier: Apache-2.0 */
/* mse-server settings, read once from the environment at start-up. */
#include "config_server.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mse/limits.h"
#include "mse/protocol.h"

/* A bootstrap client id must be a valid client id; its secret long enough to resist guessing. */
static enum mse_rc bootstrap_check(const struct server_config *cfg, struct mse_err *err)
{
    const char *id = cfg->bootstrap_client_id, *secret = cfg->bootstrap_client_secret;
    if (!id)
        return MSE_OK;
    size_t n = strlen(id);
    bool ok = n >= 1 && n <= MSE_MAX_CLIENT_ID;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)id[i]) || strchr("._~-", id[i]);
    if (!ok) {
        snprintf(err->msg, sizeof(err->msg),
                 "MSE_BOOTSTRAP_CLIENT_ID must be 1 to %d of A-Z a-z 0-9 . _ ~ -",
                 MSE_MAX_CLIENT_ID);
        return MSE_ERR_INVALID;
    }
    n = strlen(secret);
    if (n < MSE_MIN_CLIENT_SECRET || n > MSE_MAX_CLIENT_SECRET) {
        snprintf(err->msg, sizeof(err->msg),
                 "MSE_BOOTSTRAP_CLIENT_SECRET must be %d to %d characters long",
                 MSE_MIN_CLIENT_SECRET, MSE_MAX_CLIENT_SECRET);
        return MSE_ERR_INVALID;
    }
    return MSE_OK;
}

/* The content store; the s3 settings are checked when the store is opened. */
/*
 * MSE_INTERNAL_DOMAINS: "example.com, corp.example" → "example.com,corp.example". A domain
 * is letters, digits, '-' and '.', so that the list can never be read as anything else.
 */
static enum mse_rc internal_domains_load(struct server_config *cfg, struct mse_err *err)
{
    const char *s = mse_env_str("MSE_INTERNAL_DOMAINS", "");
    size_t n = 0, cap = sizeof(cfg->internal_domains);
    while (*s) {
        size_t len = strcspn(s, ",");
        const char *item = s, *end = s + len;
        s = *end ? end + 1 : end;
        while (item < end && *item == ' ')
            item++;
        while (end > item && end[-1] == ' ')
            end--;
        if (item == end)
            continue; /* "a,,b" or a trailing comma */
        if (n + (size_t)(end - item) + 2 > cap) {
            snprintf(err->msg, sizeof(err->msg), "MSE_INTERNAL_DOMAINS is longer than %zu bytes",
                     cap - 2);
            return MSE_ERR_INVALID;
        }
        if (n)
            cfg->internal_domains[n++] = ',';
        for (; item < end; item++) {
            unsigned char c = (unsigned char)*item;
            if (!isalnum(c) && c != '-' && c != '.') {
                snprintf(err->msg, sizeof(err->msg),
                         "MSE_INTERNAL_DOMAINS must be domain names separated by commas");
                return MSE_ERR_INVALID;
            }
            cfg->internal_domains[n++] = (char)tolower(c);
        }
    }
    cfg->internal_domains[n] = '\0';
    return MSE_OK;
}

static enum mse_rc blobs_load(struct server_config *cfg, struct mse_err *err)
{
    struct blobstore_config *b = &cfg->blobs;
    const char *backend = mse_env_str("MSE_BLOB_BACKEND", "fs");
    if (strcmp(backend, "fs") != 0 && strcmp(backend, "s3") != 0) {
        snprintf(err->msg, sizeof(err->msg), "MSE_BLOB_BACKEND must be fs or s3, got \"%s\"",
                 backend);
        return MSE_ERR_INVALID;
    }
    b->backend = strcmp(backend, "s3") == 0 ? BLOBSTORE_S3 : BLOBSTORE_FS;
    b->dir = cfg->data_dir;
    b->s3_endpoint = mse_env_str("MSE_S3_ENDPOINT", NULL);
    b->s3_bucket = mse_env_str("MSE_S3_BUCKET", NULL);
    b->s3_region = mse_env_str("MSE_S3_REGION", "us-east-1");
    b->s3_access_key = mse_env_str("MSE_S3_ACCESS_KEY_ID", NULL);
    b->s3_secret_key = mse_env_str("MSE_S3_SECRET_ACCESS_KEY", NULL);
    int64_t v;
    if (mse_env_int("MSE_BLOB_GRACE_SECONDS", 86400, 1, 365 * 86400, &v, err) != MSE_OK)
        return MSE_ERR_INVALID;
    cfg->blob_grace_seconds = (unsigned)v;
    if (mse_env_int("MSE_BLOB_SWEEP_SECONDS", 300, 1, 86400, &v, err) != MSE_OK)
        return MSE_ERR_INVALID;
    cfg->blob_sweep_seconds = (unsigned)v;
    if (mse_env_int("MSE_RETENTION_SWEEP_SECONDS", 3600, 1, 86400, &v, err) != MSE_OK)
        return MSE_ERR_INVALID;
    cfg->retention_sweep_seconds = (unsigned)v;
    if (mse_env_int("MSE_EXPORT_TTL_SECONDS", 7 * 86400, 1, 365 * 86400, &v, err) != MSE_OK)
        return MSE_ERR_INVALID;
    cfg->export_ttl_seconds = (unsigned)v;
    return MSE_OK;
}

enum mse_rc server_config_load(struct server_config *cfg, struct mse_err *err)
{
    int64_t v;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    memset(cfg, 0, sizeof(*cfg));

    const char *listen = mse_env_str("MSE_LISTEN", "127.0.0.1:8080");
    if (mse_parse_hostport(listen, cfg->listen_host, sizeof(cfg->listen_host), &cfg->listen_port) !=
        MSE_OK) {
        snprintf(err->msg, sizeof(err->msg), "MSE_LISTEN must be host:port, got \"%s\"", listen);
        return MSE_ERR_INVALID;
    }
    cfg->database_url = mse_env_str("MSE_DATABASE_URL", "dbname=mse");

#define ENV_INT(name, def, lo, hi, field)                                                          \
    do {                                                                                           \
        if (mse_env_int(name, def, lo, hi, &v, err) != MSE_OK)                                     \
            return MSE_ERR_INVALID;                                                                \
        cfg->field = (__typeof__(cfg->field))v;                                                    \
    } while (0)
    /* Handlers block on PostgreSQL: a few threads per core keep the cores busy meanwhile. */
    ENV_INT("MSE_THREADS", cores > 0 ? 4 * cores : 8, 1, 256, threads);
    ENV_INT("MSE_DB_POOL_SIZE", cfg->threads + 2, 1, 512, db_pool_size);
    ENV_INT("MSE_MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024, max_body);
    ENV_INT("MSE_MAX_CONTENT_BYTES", (int64_t)MSE_MAX_CONTENT_BODY, 1024,
            (int64_t)64 * 1024 * 1024 * 1024, max_content);
    ENV_INT("MSE_HEARTBEAT_SECONDS", 10, 1, 300, heartbeat_seconds);
    ENV_INT("MSE_LEASE_SECONDS", 3 * (int64_t)cfg->heartbeat_seconds, 2, 3600, lease_seconds);
    ENV_INT("MSE_SCHEDULER_INTERVAL_MS", 1000, 50, 60000, scheduler_ms);
    ENV_INT("MSE_CONNECTION_TIMEOUT", 30, 1, 3600, connection_timeout);
    ENV_INT("MSE_REQUEST_TIMEOUT", 30, 1, 3600, request_timeout);
    ENV_INT("MSE_LOG_REPEAT_SECONDS", 10, 0, 3600, log_repeat_seconds);
    ENV_INT("MSE_MAX_CONNECTIONS", 1024, 1, 65536, max_connections);
    ENV_INT("MSE_PER_IP_CONNECTIONS", 256, 1, 65536, per_ip_connections);
    ENV_INT("MSE_SHUTDOWN_GRACE", 30, 0, 3600, shutdown_grace);
    ENV_INT("MSE_CLAIM_WAIT_MAX", 25, 0, MSE_PROTO_MAX_CLAIM_WAIT, claim_wait_max);
    ENV_INT("MSE_TOKEN_TTL", 3600, 60, 86400, token_ttl);
    ENV_INT("MSE_TOKEN_CACHE_SECONDS", 5, 0, 60, token_cache_ms);
    cfg->token_cache_ms *= 1000;
    ENV_INT("MSE_AUTH_FAILURE_LIMIT", 5, 1, MSE_RATELIMIT_MAX, auth_fail_limit);
    ENV_INT("MSE_AUTH_ADDRESS_FAILURE_LIMIT", 20, 1, MSE_RATELIMIT_MAX, auth_addr_fail_limit);
    ENV_INT("MSE_AUTH_BACKOFF_MAX", 300, 1, 86400, auth_backoff_max);
    ENV_INT("MSE_AUTH_FAILURE_WINDOW", 900, 1, 86400, auth_fail_window);
#undef ENV_INT

    if (mse_env_bool("MSE_METRICS_AUTH", false, &cfg->metrics_auth, err) != MSE_OK)
        return MSE_ERR_INVALID;
    if (mse_env_bool("MSE_DOCS_PUBLIC", false, &cfg->docs_public, err) != MSE_OK)
        return MSE_ERR_INVALID;
    const char *level = mse_env_str("MSE_LOG_LEVEL", "info");
    if (mse_log_level_parse(level, &cfg->log_level) != MSE_OK) {
        snprintf(err->msg, sizeof(err->msg),
                 "MSE_LOG_LEVEL must be debug, info, warn or error, got \"%s\"", level);
        return MSE_ERR_INVALID;
    }
    if (internal_domains_load(cfg, err) != MSE_OK)
        return MSE_ERR_INVALID;
    cfg->data_dir = mse_env_str("MSE_DATA_DIR", ".var");
    cfg->master_key_file = mse_env_str("MSE_MASTER_KEY_FILE", NULL);
    cfg->bootstrap_client_id = mse_env_str("MSE_BOOTSTRAP_CLIENT_ID", NULL);
    cfg->bootstrap_client_secret = mse_env_str("MSE_BOOTSTRAP_CLIENT_SECRET", NULL);
    if (!cfg->bootstrap_client_id != !cfg->bootstrap_client_secret) {
        snprintf(err->msg, sizeof(err->msg),
                 "MSE_BOOTSTRAP_CLIENT_ID and MSE_BOOTSTRAP_CLIENT_SECRET must be set together");
        return MSE_ERR_INVALID;
    }
    return blobs_load(cfg, err) == MSE_OK ? bootstrap_check(cfg, err) : MSE_ERR_INVALID;
}
