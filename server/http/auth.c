/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who is calling and whether the route admits them: bearer tokens (cached briefly in process),
 * client credentials for the token endpoint, failed-attempt limits and their audit events.
 */
#include "auth.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "db.h"
#include "db_audit.h"
#include "db_auth.h"
#include "http.h"
#include "metrics.h"
#include "problem.h"
#include "ratelimit.h"
#include "routes.h"
#include "server.h"
#include "timefmt.h"
#include "token_cache.h"

#define AUTH_MAX_TOKEN 512 /* longer Authorization values cannot be ours */

enum mse_rc auth_setup(struct server_ctx *srv)
{
    srv->tokens = token_cache_new(MSE_TOKEN_CACHE_SLOTS, srv->cfg.token_cache_ms);
    srv->auth_failures =
            ratelimit_new(1000, (int64_t)srv->cfg.auth_backoff_max * 1000,
                          (int64_t)srv->cfg.auth_fail_window * 1000, MSE_RATELIMIT_KEYS);
    return srv->tokens && srv->auth_failures ? MSE_OK : MSE_ERR_NOMEM;
}

void auth_teardown(struct server_ctx *srv)
{
    token_cache_free(srv->tokens);
    ratelimit_free(srv->auth_failures);
    srv->tokens = NULL;
    srv->auth_failures = NULL;
}

void auth_token_hash(const char *token, char out[65])
{
    mse_crypto_sha256_hex(token, strlen(token), out);
}

/*
 * The limiter's keys. Bad client credentials count per address ('a') and per client id at that
 * address ('p'), never per client id alone: anyone may send a client id, and a count of its
 * own would let them lock the real client out from wherever it runs. Bad bearer tokens count
 * per address under their own key ('t'): a stale token retried by a worker must not lock its
 * address out of the token endpoint.
 */
static void key_of(char *out, size_t size, char kind, const char *addr, const char *client_id)
{
    /* The address first: a cut-off long client id still stays with its address. */
    snprintf(out, size, "%c:%s%s%s", kind, addr, client_id ? " " : "", client_id ? client_id : "");
}

static unsigned wait_secs(int64_t ms)
{
    return ms > 0 ? (unsigned)((ms + 999) / 1000) : 0;
}

/* Seconds a bearer-token guess from this address must wait; 0 if none. */
static unsigned token_blocked_for(struct request *req)
{
    char key[RATELIMIT_KEY_MAX];
    key_of(key, sizeof(key), 't', req->remote_addr, NULL);
    return wait_secs(ratelimit_blocked(req->srv->auth_failures, key,
                                       req->srv->cfg.auth_addr_fail_limit, mse_time_mono_ms()));
}

/* Seconds client_id must wait at this address (its own back-off or the address's); 0 if none. */
static unsigned client_blocked_for(struct request *req, const char *client_id)
{
    char key[RATELIMIT_KEY_MAX];
    int64_t now = mse_time_mono_ms();
    key_of(key, sizeof(key), 'a', req->remote_addr, NULL);
    int64_t wait = ratelimit_blocked(req->srv->auth_failures, key,
                                     req->srv->cfg.auth_addr_fail_limit, now);
    key_of(key, sizeof(key), 'p', req->remote_addr, client_id);
    int64_t w = ratelimit_blocked(req->srv->auth_failures, key, req->srv->cfg.auth_fail_limit, now);
    return wait_secs(w > wait ? w : wait);
}

/*
 * Counts a failure (a bad token when client_id is NULL) and writes the audit event in its
 * own statement. An audit write that fails is logged; the caller still answers 401.
 */
static void failure_record(struct request *req, const char *client_id, const char *client_uuid,
                           const char *reason)
{
    char key[RATELIMIT_KEY_MAX], after[512];
    int64_t now = mse_time_mono_ms();
    metrics_count(METRIC_AUTH_FAILURES, 1);
    if (client_id) {
        key_of(key, sizeof(key), 'a', req->remote_addr, NULL);
        ratelimit_fail(req->srv->auth_failures, key, now);
        key_of(key, sizeof(key), 'p', req->remote_addr, client_id);
    } else {
        key_of(key, sizeof(key), 't', req->remote_addr, NULL);
    }
    ratelimit_fail(req->srv->auth_failures, key, now);
    struct mse_buf b;
    mse_buf_init(&b, sizeof(after) - 1);
    bool ok = mse_buf_printf(&b, "{\"reason\":\"%s\",\"route\":\"", reason) == MSE_OK &&
              mse_buf_json_escape(&b, req->route ? req->route->pattern : req->url) == MSE_OK &&
              mse_buf_puts(&b, "\"") == MSE_OK;
    if (ok && client_id)
        ok = mse_buf_puts(&b, ",\"client_id\":\"") == MSE_OK &&
             mse_buf_json_escape(&b, client_id) == MSE_OK && mse_buf_puts(&b, "\"") == MSE_OK;
    ok = ok && mse_buf_puts(&b, "}") == MSE_OK;
    struct audit_event e = { "auth.failure", "api_client", client_uuid, NULL, ok ? b.data : NULL };
    struct db *db;
    struct db_error err;
    if (http_db(req, &db) != MSE_OK ||
        db_audit_insert(db, NULL, req->request_id, req->remote_addr, &e, &err) != MSE_OK)
        LOG_WARN(&req->log, "could not write the audit event of a failed authentication");
    LOG_INFO(&req->log, "authentication failed: %s", reason);
    mse_buf_cleanup(&b);
}

static void send_429(struct request *req, unsigned wait)
{
    char secs[16];
    snprintf(secs, sizeof(secs), "%u", wait);
    http_add_header(req, "Retry-After", secs);
    problem_send(req, 429, "too many failed authentications; retry in %u s", wait);
}

static void send_401(struct request *req, const char *error, const char *detail)
{
    char challenge[256];
    if (error)
        snprintf(challenge, sizeof(challenge),
                 "Bearer realm=\"mse\", error=\"%s\", error_description=\"%s\"", error, detail);
    else
        snprintf(challenge, sizeof(challenge), "Bearer realm=\"mse\"");
    http_add_header(req, "WWW-Authenticate", challenge);
    problem_send(req, 401, "%s", detail);
}

/* The token after "Bearer ", or NULL when the header is absent or another scheme. */
static const char *bearer_token(struct request *req)
{
    const char *h = http_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return NULL;
    h += 6;
    while (*h == ' ' || *h == '\t')
        h++;
    return h;
}

/* RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool token_syntax_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > AUTH_MAX_TOKEN)
        return false;
    size_t i = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/");
    while (t[i] == '=')
        i++;
    return i == n;
}

/* Resolves a token to a principal: the cache, else one indexed query. */
static enum mse_rc token_resolve(struct request *req, const char *token, struct principal *out)
{
    uint8_t hash[MSE_SHA256_LEN];
    char hex[65];
    int64_t now = mse_time_mono_ms();
    mse_crypto_sha256(token, strlen(token), hash);
    if (token_cache_get(req->srv->tokens, hash, now, out))
        return MSE_OK;
    uint64_t gen = token_cache_generation(req->srv->tokens);
    mse_crypto_hex(hash, sizeof(hash), hex);
    struct db *db;
    struct db_error err;
    int64_t remaining = 0;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_auth_token_find(db, hex, out, &remaining, &err);
    if (rc == MSE_OK)
        token_cache_put(req->srv->tokens, hash, out, gen, now, now + remaining);
    return rc;
}

static bool role_admits(enum route_role role, enum principal_kind kind)
{
    switch (role) {
    case ROLE_PUBLIC:
    case ROLE_METRICS:
    case ROLE_DOCS:
        return true;
    case ROLE_READ:
        return kind == PRINCIPAL_ADMIN || kind == PRINCIPAL_READ_ONLY;
    case ROLE_ADMIN:
        return kind == PRINCIPAL_ADMIN;
    case ROLE_SITE:
        return kind == PRINCIPAL_SITE;
    case ROLE_JOURNAL:
        return kind == PRINCIPAL_ADMIN || kind == PRINCIPAL_JOURNAL;
    case ROLE_MAILBOX:
        return kind == PRINCIPAL_MAILBOX_USER;
    }
    return false;
}

static const char *role_text(enum route_role role)
{
    switch (role) {
    case ROLE_PUBLIC:
    case ROLE_METRICS:
    case ROLE_DOCS:
        return "no credentials";
    case ROLE_READ:
        return "an admin or read_only client";
    case ROLE_ADMIN:
        return "an admin client";
    case ROLE_SITE:
        return "a site's credentials";
    case ROLE_JOURNAL:
        return "an admin or journal client";
    case ROLE_MAILBOX:
        return "a mailbox_user client";
    }
    return "?";
}

bool auth_check(struct request *req)
{
    enum route_role role = req->route->role;
    /* /metrics is open to scrapers unless the operator asked for tokens (MSE_METRICS_AUTH). */
    if (role == ROLE_METRICS)
        role = req->srv->cfg.metrics_auth ? ROLE_READ : ROLE_PUBLIC;
    /* The spec and its docs need a token, like every route, unless MSE_DOCS_PUBLIC opens them. */
    if (role == ROLE_DOCS)
        role = req->srv->cfg.docs_public ? ROLE_PUBLIC : ROLE_READ;
    if (role == ROLE_PUBLIC)
        return true;
    const char *token = bearer_token(req);
    if (!token) {
        send_401(req, NULL, "a bearer token is required (POST /api/v1/oauth/token issues one)");
        return false;
    }
    struct principal p;
    enum mse_rc rc = token_syntax_ok(token) ? token_resolve(req, token, &p) : MSE_ERR_NOT_FOUND;
    if (rc == MSE_ERR_NOT_FOUND) {
        /* A valid token is served even from a blocked address; guesses are not. */
        unsigned wait = token_blocked_for(req);
        if (wait) {
            send_429(req, wait);
            return false;
        }
        failure_record(req, NULL, NULL, "invalid_token");
        send_401(req, "invalid_token", "the token is unknown, expired or revoked");
        return false;
    }
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
        return false;
    }
    req->principal = p;
    if (!role_admits(role, p.kind)) {
        problem_send(req, 403, "this route needs %s; the caller is a %s client", role_text(role),
                     principal_kind_name(p.kind));
        return false;
    }
    return true;
}

/* A hash to verify against when the client is unknown, so both cases cost the same. */
static char dummy_hash[192];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_init(void)
{
    if (mse_crypto_password_hash("not a real secret", 0, dummy_hash, sizeof(dummy_hash)) != MSE_OK)
        dummy_hash[0] = '\0';
}

enum auth_verdict auth_client_verify(struct request *req, const char *client_id, const char *secret,
                                     struct principal *out, unsigned *retry_after)
{
    *retry_after = client_blocked_for(req, client_id);
    if (*retry_after)
        return AUTH_BLOCKED;
    struct db *db;
    struct db_error err;
    struct db_auth_client c;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_auth_client_find(db, client_id, &c, &err);
    if (rc != MSE_OK && rc != MSE_ERR_NOT_FOUND)
        return AUTH_ERROR;
    if (rc == MSE_ERR_NOT_FOUND) {
        pthread_once(&dummy_once, dummy_init);
        (void)mse_crypto_password_verify(secret, dummy_hash);
        failure_record(req, client_id, NULL, "unknown_client");
        return AUTH_INVALID;
    }
    if (!mse_crypto_password_verify(secret, c.secret_hash)) {
        failure_record(req, client_id, c.principal.client_uuid, "wrong_secret");
        return AUTH_INVALID;
    }
    if (!c.enabled) {
        failure_record(req, client_id, c.principal.client_uuid, "client_disabled");
        return AUTH_INVALID;
    }
    char key[RATELIMIT_KEY_MAX];
    key_of(key, sizeof(key), 'p', req->remote_addr, client_id);
    ratelimit_clear(req->srv->auth_failures, key);
    *out = c.principal;
    return AUTH_OK;
}

void auth_evict_client(struct server_ctx *srv, const char *client_uuid)
{
    token_cache_evict_client(srv->tokens, client_uuid);
}

void auth_evict_token(struct server_ctx *srv, const char *token)
{
    uint8_t hash[MSE_SHA256_LEN];
    mse_crypto_sha256(token, strlen(token), hash);
    token_cache_evict_token(srv->tokens, hash);
}

enum mse_rc auth_client_id_new(char out[MSE_MAX_CLIENT_ID + 1])
{
    uint8_t raw[16];
    char hex[33];
    enum mse_rc rc = mse_crypto_random(raw, sizeof(raw));
    if (rc != MSE_OK)
        return rc;
    mse_crypto_hex(raw, sizeof(raw), hex);
    snprintf(out, MSE_MAX_CLIENT_ID + 1, "mse_%s", hex);
    return MSE_OK;
}

enum mse_rc auth_secret_new(char secret[AUTH_SECRET_SIZE], char hash[AUTH_HASH_MAX])
{
    uint8_t raw[32];
    enum mse_rc rc = mse_crypto_random(raw, sizeof(raw));
    if (rc != MSE_OK)
        return rc;
    mse_crypto_b64url(raw, sizeof(raw), secret, AUTH_SECRET_SIZE);
    memset(raw, 0, sizeof(raw));
    return mse_crypto_password_hash(secret, 0, hash, AUTH_HASH_MAX);
}
