/* SPDX-License-Identifier: Apache-2.0 */
/* Graph's front door: app registrations, the token endpoint, bearer checks, $batch, 429s. */
#include "graph.h"

#include <ctype.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "crypto.h"
#include "ews.h"
#include "graph_int.h"
#include "ids.h"
#include "render.h"
#include "timefmt.h"

#define DEFAULT_ROLES "Mail.Read User.Read.All"

/* ---- settings ---- */

/* One TENANT:CLIENT_ID:SECRET[:ROLES] entry; false when malformed. */
static bool app_parse(struct graph_app *a, const char *text)
{
    char copy[512];
    if (strlen(text) >= sizeof(copy))
        return false;
    snprintf(copy, sizeof(copy), "%s", text);
    char *f[4] = { 0 };
    unsigned n = 0;
    for (char *p = copy, *colon; n < 4 && p; p = colon ? colon + 1 : NULL, n++) {
        colon = n < 3 ? strchr(p, ':') : NULL;
        if (colon)
            *colon = '\0';
        f[n] = p;
    }
    if (n < 3 || !f[0][0] || !f[1][0] || !f[2][0] || strlen(f[0]) >= sizeof(a->tenant) ||
        strlen(f[1]) >= sizeof(a->client_id) || (f[3] && strlen(f[3]) >= sizeof(a->roles)))
        return false;
    snprintf(a->tenant, sizeof(a->tenant), "%s", f[0]);
    snprintf(a->client_id, sizeof(a->client_id), "%s", f[1]);
    mse_crypto_sha256(f[2], strlen(f[2]), a->secret_sha);
    snprintf(a->roles, sizeof(a->roles), "%s", f[3] && f[3][0] ? f[3] : DEFAULT_ROLES);
    for (char *r = a->roles; *r; r++)
        *r = *r == ',' ? ' ' : *r;
    return true;
}

enum mse_rc graph_settings_load(struct graph_settings *s, struct mse_err *err)
{
    memset(s, 0, sizeof(*s));
    int64_t life = 0;
    if (mse_env_int("EWS_SIM_GRAPH_TOKEN_LIFETIME_S", 3599, 1, 86400, &life, err) != MSE_OK)
        return MSE_ERR_INVALID;
    s->token_lifetime_s = (unsigned)life;
    char list[4096];
    const char *v = mse_env_str("EWS_SIM_GRAPH_APPS", "");
    if (strlen(v) >= sizeof(list)) {
        snprintf(err->msg, sizeof(err->msg), "EWS_SIM_GRAPH_APPS is longer than %zu characters",
                 sizeof(list) - 1);
        return MSE_ERR_INVALID;
    }
    snprintf(list, sizeof(list), "%s", v);
    char *save = NULL;
    for (char *e = strtok_r(list, " \t\n;", &save); e; e = strtok_r(NULL, " \t\n;", &save)) {
        if (s->napps == GRAPH_MAX_APPS || !app_parse(&s->apps[s->napps], e)) {
            snprintf(err->msg, sizeof(err->msg),
                     "EWS_SIM_GRAPH_APPS: entry %u must be TENANT:CLIENT_ID:SECRET[:ROLES] (at "
                     "most %d apps)",
                     s->napps + 1, GRAPH_MAX_APPS);
            return MSE_ERR_INVALID;
        }
        s->napps++;
    }
    return MSE_OK;
}

void graph_init(struct graph *g)
{
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->lock, NULL);
}

void graph_cleanup(struct graph *g)
{
    pthread_mutex_destroy(&g->lock);
}

bool graph_path(const char *path)
{
    if (strncmp(path, "/v1.0/", 6) == 0 || strcmp(path, "/v1.0") == 0)
        return true;
    const char *slash = strchr(path + 1, '/');
    return slash && (strcmp(slash, "/oauth2/v2.0/token") == 0 ||
                     strcmp(slash, "/v2.0/.well-known/openid-configuration") == 0);
}

/* ---- answers ---- */

enum mse_rc graph_json(struct graph_call *c, cJSON *doc)
{
    cJSON_Delete(c->json);
    c->json = doc;
    c->status = 200;
    return doc ? MSE_OK : MSE_ERR_NOMEM;
}

enum mse_rc graph_error(struct graph_call *c, unsigned status, const char *code, const char *fmt,
                        ...)
{
    char msg[512], now[40], rid[MSE_UUID_STR_LEN + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mse_time_format_now(now, sizeof(now));
    mse_uuid_new(rid);
    cJSON *doc = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(doc, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON *inner = cJSON_AddObjectToObject(e, "innerError");
    cJSON_AddStringToObject(inner, "date", now);
    cJSON_AddStringToObject(inner, "request-id", rid);
    cJSON_AddStringToObject(inner, "client-request-id", rid);
    cJSON_Delete(c->json);
    c->json = doc;
    c->status = status;
    return MSE_OK;
}

const char *graph_param(const struct graph_call *c, const char *name)
{
    for (unsigned i = 0; i < c->nparams; i++) {
        if (strcasecmp(c->pname[i], name) == 0)
            return c->pvalue[i];
    }
    return NULL;
}

bool graph_role(const struct graph_call *c, const char *role)
{
    size_t n = strlen(role);
    for (const char *p = c->app->roles; (p = strstr(p, role)) != NULL; p += n) {
        bool start = p == c->app->roles || p[-1] == ' ';
        if (start && (p[n] == '\0' || p[n] == ' '))
            return true;
    }
    return false;
}

/* Serialises the call's answer into out. */
static enum mse_rc call_reply(struct graph_call *c, struct ews_reply *out)
{
    out->status = c->status;
    if (c->raw) {
        out->body = c->raw;
        out->len = c->raw_len;
        out->content_type = c->content_type;
        c->raw = NULL;
        return MSE_OK;
    }
    out->content_type = "application/json; odata.metadata=minimal; charset=utf-8";
    out->body = c->json ? cJSON_PrintUnformatted(c->json) : NULL;
    out->len = out->body ? strlen(out->body) : 0;
    return out->body ? MSE_OK : MSE_ERR_NOMEM;
}

static void call_cleanup(struct graph_call *c)
{
    cJSON_Delete(c->json);
    free(c->raw);
    c->json = NULL;
    c->raw = NULL;
}

/* ---- request splitting ---- */

/*
 * Copies path and query into c->buf and splits them: segments after /v1.0 and decoded
 * name=value parameters (libmicrohttpd's unescaping, '+' as a blank). false: too long or
 * too many parts.
 */
static bool call_split(struct graph_call *c, const char *path, const char *query)
{
    size_t pl = strlen(path), ql = query ? strlen(query) : 0;
    if (pl + ql + 2 > sizeof(c->buf))
        return false;
    memcpy(c->buf, path, pl + 1);
    char *q = c->buf + pl + 1;
    memcpy(q, query ? query : "", ql + 1);
    char *save = NULL;
    c->nseg = 0;
    for (char *s = strtok_r(c->buf, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (c->nseg == GRAPH_MAX_SEGMENTS)
            return false;
        MHD_http_unescape(s);
        c->seg[c->nseg++] = s;
    }
    c->nparams = 0;
    for (char *p = strtok_r(q, "&", &save); p; p = strtok_r(NULL, "&", &save)) {
        if (c->nparams == GRAPH_MAX_PARAMS)
            return false;
        char *eq = strchr(p, '=');
        char *v = eq ? eq + 1 : p + strlen(p);
        if (eq)
            *eq = '\0';
        for (char *x = v; *x; x++)
            *x = *x == '+' ? ' ' : *x;
        MHD_http_unescape(p);
        MHD_http_unescape(v);
        c->pname[c->nparams] = p;
        c->pvalue[c->nparams++] = v;
    }
    return true;
}

/* ---- identity endpoints ---- */

/* An identity platform error ({"error", "error_description", "error_codes"}), as AAD writes. */
static enum mse_rc aad_error(struct graph_call *c, unsigned status, const char *error, int code,
                             const char *desc)
{
    char text[600], now[40], rid[MSE_UUID_STR_LEN + 1];
    mse_time_format_now(now, sizeof(now));
    mse_uuid_new(rid);
    snprintf(text, sizeof(text), "AADSTS%d: %s Trace ID: %s Timestamp: %s", code, desc, rid, now);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "error", error);
    cJSON_AddStringToObject(doc, "error_description", text);
    cJSON *codes = cJSON_AddArrayToObject(doc, "error_codes");
    cJSON_AddItemToArray(codes, cJSON_CreateNumber(code));
    cJSON_AddStringToObject(doc, "timestamp", now);
    cJSON_AddStringToObject(doc, "trace_id", rid);
    cJSON_AddStringToObject(doc, "correlation_id", rid);
    graph_json(c, doc);
    c->status = status;
    return MSE_OK;
}

/* The app of tenant + client id, or NULL. */
static const struct graph_app *app_find(const struct sim *sim, const char *tenant,
                                        const char *client_id, bool *tenant_known)
{
    const struct graph_settings *s = &sim->cfg.graph;
    *tenant_known = false;
    for (unsigned i = 0; i < s->napps; i++) {
        if (strcasecmp(s->apps[i].tenant, tenant) != 0)
            continue;
        *tenant_known = true;
        if (client_id && strcmp(s->apps[i].client_id, client_id) == 0)
            return &s->apps[i];
    }
    return NULL;
}

/* Issues a token for app: random, kept in the ring with its expiry. */
static void token_issue(struct sim *sim, const struct graph_app *app, char *out, size_t size)
{
    uint8_t rnd[32];
    if (mse_crypto_random(rnd, sizeof(rnd)) != MSE_OK)
        memset(rnd, 0, sizeof(rnd));
    char hex[65];
    mse_crypto_hex(rnd, sizeof(rnd), hex);
    snprintf(out, size, "simgraph.%s", hex);
    struct graph *g = &sim->graph;
    pthread_mutex_lock(&g->lock);
    struct graph_token *t = &g->tokens[g->next];
    g->next = (g->next + 1) % GRAPH_MAX_TOKENS;
    snprintf(t->text, sizeof(t->text), "%s", out);
    t->app = (unsigned)(app - sim->cfg.graph.apps);
    t->expires_ms = mse_time_mono_ms() + (int64_t)sim->cfg.graph.token_lifetime_s * 1000;
    pthread_mutex_unlock(&g->lock);
}

/* POST /{tenant}/oauth2/v2.0/token: client credentials with a secret, v2.0 response. */
static enum mse_rc token_endpoint(struct graph_call *c, const char *tenant)
{
    const char *grant = graph_param(c, "grant_type"), *id = graph_param(c, "client_id");
    const char *secret = graph_param(c, "client_secret"), *scope = graph_param(c, "scope");
    bool tenant_known;
    const struct graph_app *app = app_find(c->sim, tenant, id, &tenant_known);
    if (strcmp(c->method, "POST") != 0)
        return aad_error(c, 405, "invalid_request", 900561,
                         "The endpoint only accepts POST requests.");
    if (!grant || strcmp(grant, "client_credentials") != 0)
        return aad_error(c, 400, "unsupported_grant_type", 70003,
                         "The app requested an unsupported grant type; this endpoint supports "
                         "client_credentials.");
    if (!tenant_known)
        return aad_error(c, 400, "invalid_request", 90002, "Tenant not found.");
    if (!id || !app)
        return aad_error(c, 400, "unauthorized_client", 700016,
                         "Application was not found in the directory.");
    uint8_t sha[32];
    if (secret)
        mse_crypto_sha256(secret, strlen(secret), sha);
    if (!secret || !mse_crypto_equal(sha, app->secret_sha, sizeof(sha)))
        return aad_error(c, 401, "invalid_client", 7000215,
                         "Invalid client secret provided. Ensure the secret being sent in the "
                         "request is the client secret value, not the client secret ID.");
    size_t sl = scope ? strlen(scope) : 0;
    if (sl < 9 || strcmp(scope + sl - 9, "/.default") != 0)
        return aad_error(c, 400, "invalid_scope", 1002012,
                         "The provided value for scope is not valid. Client credential flows "
                         "must have a scope value with /.default suffixed to the resource "
                         "identifier (application ID URI).");
    char token[80];
    token_issue(c->sim, app, token, sizeof(token));
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "token_type", "Bearer");
    cJSON_AddNumberToObject(doc, "expires_in", c->sim->cfg.graph.token_lifetime_s);
    cJSON_AddNumberToObject(doc, "ext_expires_in", c->sim->cfg.graph.token_lifetime_s);
    cJSON_AddStringToObject(doc, "access_token", token);
    return graph_json(c, doc);
}

/* GET /{tenant}/v2.0/.well-known/openid-configuration: what MSAL reads before a token. */
static enum mse_rc openid_configuration(struct graph_call *c, const char *tenant)
{
    bool known;
    (void)app_find(c->sim, tenant, NULL, &known);
    if (!known)
        return aad_error(c, 400, "invalid_tenant", 90002, "Tenant not found.");
    char url[700];
    cJSON *doc = cJSON_CreateObject();
    snprintf(url, sizeof(url), "%s/%s/oauth2/v2.0/token", c->base, tenant);
    cJSON_AddStringToObject(doc, "token_endpoint", url);
    snprintf(url, sizeof(url), "%s/%s/oauth2/v2.0/authorize", c->base, tenant);
    cJSON_AddStringToObject(doc, "authorization_endpoint", url);
    snprintf(url, sizeof(url), "%s/%s/v2.0", c->base, tenant);
    cJSON_AddStringToObject(doc, "issuer", url);
    cJSON *grants = cJSON_AddArrayToObject(doc, "grant_types_supported");
    cJSON_AddItemToArray(grants, cJSON_CreateString("client_credentials"));
    return graph_json(c, doc);
}

/* ---- Graph proper ---- */

/* The app a bearer token was issued to, or NULL (unknown or expired). */
static const struct graph_app *token_app(struct sim *sim, const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *tok = authorization + 7;
    size_t n = strlen(tok);
    const struct graph_app *app = NULL;
    struct graph *g = &sim->graph;
    int64_t now = mse_time_mono_ms();
    pthread_mutex_lock(&g->lock);
    for (unsigned i = 0; i < GRAPH_MAX_TOKENS && !app; i++) {
        const struct graph_token *t = &g->tokens[i];
        if (t->text[0] && strlen(t->text) == n && mse_crypto_equal(t->text, tok, n) &&
            t->expires_ms > now && t->app < sim->cfg.graph.napps)
            app = &sim->cfg.graph.apps[t->app];
    }
    pthread_mutex_unlock(&g->lock);
    return app;
}

/* One Graph request under the store's read lock (the call's path is already split). */
static enum mse_rc call_run(struct graph_call *c)
{
    store_read_lock(&c->sim->store);
    c->org = c->sim->store.org;
    c->generation = atomic_load(&c->sim->store.generation);
    enum mse_rc rc = graph_mail_route(c);
    store_unlock(&c->sim->store);
    c->org = NULL;
    return rc;
}

/* The headers object of a $batch response. */
static cJSON *batch_headers(const struct graph_call *sub)
{
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "Content-Type", sub->raw ? sub->content_type : "application/json");
    return h;
}

/* One request of a $batch: its id, status, headers and body. */
static cJSON *batch_one(struct graph_call *parent, const cJSON *req)
{
    static struct graph_call sub_zero;
    struct graph_call *sub = malloc(sizeof(*sub));
    cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
    cJSON *method = cJSON_GetObjectItemCaseSensitive(req, "method");
    cJSON *url = cJSON_GetObjectItemCaseSensitive(req, "url");
    cJSON *resp = cJSON_CreateObject();
    if (!sub || !resp) {
        free(sub);
        cJSON_Delete(resp);
        return NULL;
    }
    *sub = sub_zero;
    sub->sim = parent->sim;
    sub->app = parent->app;
    sub->base = parent->base;
    sub->prefer = parent->prefer;
    cJSON_AddStringToObject(resp, "id", cJSON_IsString(id) ? id->valuestring : "");
    char path[2048];
    const char *u = cJSON_IsString(url) ? url->valuestring : "";
    const char *qm = strchr(u, '?');
    snprintf(path, sizeof(path), "/v1.0%s%.*s", u[0] == '/' ? "" : "/",
             (int)(qm ? (size_t)(qm - u) : strlen(u)), u);
    sub->method = cJSON_IsString(method) ? method->valuestring : "";
    if (!cJSON_IsString(id) || !cJSON_IsString(method) || !cJSON_IsString(url))
        graph_error(sub, 400, "BadRequest", "a batch request needs id, method and url");
    else if (!call_split(sub, path, qm ? qm + 1 : ""))
        graph_error(sub, 400, "BadRequest", "the request URL is too long");
    else if (strcmp(sub->method, "GET") != 0)
        graph_error(sub, 405, "ErrorInvalidRequest", "only GET requests are supported here");
    else if (call_run(sub) != MSE_OK)
        graph_error(sub, 500, "InternalServerError", "out of memory");
    cJSON_AddNumberToObject(resp, "status", sub->status);
    cJSON_AddItemToObject(resp, "headers", batch_headers(sub));
    if (sub->raw) {
        char *b64 = render_base64(sub->raw, sub->raw_len);
        cJSON_AddStringToObject(resp, "body", b64 ? b64 : "");
        free(b64);
    } else if (sub->json) {
        cJSON_AddItemToObject(resp, "body", sub->json);
        sub->json = NULL;
    }
    call_cleanup(sub);
    free(sub);
    return resp;
}

/* POST /v1.0/$batch: at most GRAPH_BATCH_MAX GET requests, answered in order. */
static enum mse_rc batch_run(struct graph_call *c, const char *body, size_t len)
{
    if (strcmp(c->method, "POST") != 0)
        return graph_error(c, 405, "BadRequest", "$batch takes POST");
    cJSON *doc = cJSON_ParseWithLength(body, len);
    cJSON *reqs = cJSON_GetObjectItemCaseSensitive(doc, "requests");
    int n = cJSON_GetArraySize(reqs);
    enum mse_rc rc = MSE_OK;
    if (!cJSON_IsArray(reqs) || n == 0)
        rc = graph_error(c, 400, "BadRequest", "Invalid batch payload format.");
    else if (n > GRAPH_BATCH_MAX)
        rc = graph_error(c, 400, "BadRequest",
                         "Number of batch request steps exceeds the maximum of %d.",
                         GRAPH_BATCH_MAX);
    else {
        cJSON *out = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(out, "responses");
        const cJSON *r;
        cJSON_ArrayForEach(r, reqs)
        {
            cJSON *one = batch_one(c, r);
            if (!one || !cJSON_AddItemToArray(arr, one)) {
                cJSON_Delete(one);
                rc = MSE_ERR_NOMEM;
                break;
            }
        }
        rc = rc == MSE_OK ? graph_json(c, out) : (cJSON_Delete(out), rc);
    }
    cJSON_Delete(doc);
    return rc;
}

/* 429 as Graph throttles: Retry-After in whole seconds, at least one. */
static enum mse_rc throttled(struct graph_call *c, struct ews_reply *out, unsigned backoff_ms)
{
    out->retry_after = backoff_ms ? (backoff_ms + 999) / 1000 : 1;
    return graph_error(c, 429, "TooManyRequests",
                       "Too many requests are in flight for this application; retry after %u "
                       "seconds.",
                       out->retry_after);
}

/* /v1.0/…: the bearer token, the app's concurrency, then $batch or a single request. */
static enum mse_rc graph_v1(struct sim *sim, struct graph_call *c, const struct graph_request *rq,
                            struct ews_reply *out)
{
    c->app = token_app(sim, rq->authorization);
    if (!c->app) {
        out->www_authenticate = false;
        return graph_error(c, 401, "InvalidAuthenticationToken",
                           rq->authorization ? "Access token has expired or is not valid yet."
                                             : "Access token is empty.");
    }
    char who[128];
    snprintf(who, sizeof(who), "graph:%s", c->app->client_id);
    unsigned backoff_ms = 0;
    out->paced = true;
    if (!realism_enter(&sim->realism, who, &out->account_slot, &backoff_ms))
        return throttled(c, out, backoff_ms);
    if (c->nseg == 2 && strcmp(c->seg[1], "$batch") == 0)
        return batch_run(c, rq->body, rq->len);
    if (strcmp(c->method, "GET") != 0)
        return graph_error(c, 405, "ErrorInvalidRequest",
                           "the simulator's Graph is read-only: %s is not supported", c->method);
    return call_run(c);
}

enum mse_rc graph_process(struct sim *sim, const struct graph_request *rq, struct mse_log_ctx *log,
                          struct ews_reply *out)
{
    (void)log;
    memset(out, 0, sizeof(*out));
    atomic_fetch_add(&sim->stats.http_requests, 1);
    struct graph_call *c = calloc(1, sizeof(*c));
    if (!c)
        return MSE_ERR_NOMEM;
    char base[400];
    snprintf(base, sizeof(base), "%s://%s", rq->scheme ? rq->scheme : "http",
             rq->host ? rq->host : "localhost");
    c->sim = sim;
    c->method = rq->method;
    c->prefer = rq->prefer;
    c->base = base;
    bool v1 = strncmp(rq->path, "/v1.0", 5) == 0;
    /* The token endpoint reads a form body; everything else its query string. */
    const char *params = !v1 && strcmp(rq->method, "POST") == 0 ? "" : rq->query;
    char form[2048];
    if (!v1 && strcmp(rq->method, "POST") == 0) {
        snprintf(form, sizeof(form), "%.*s", (int)(rq->len < sizeof(form) ? rq->len : 0),
                 rq->body ? rq->body : "");
        params = form;
    }
    enum mse_rc rc;
    if (!call_split(c, rq->path, params))
        rc = graph_error(c, 400, "BadRequest", "the request URL is too long or has too many parts");
    else if (!v1 && c->nseg >= 2 && strcmp(c->seg[1], "oauth2") == 0)
        rc = token_endpoint(c, c->seg[0]);
    else if (!v1)
        rc = openid_configuration(c, c->seg[0]);
    else
        rc = graph_v1(sim, c, rq, out);
    if (rc == MSE_OK)
        rc = call_reply(c, out);
    call_cleanup(c);
    free(c);
    return rc;
}
