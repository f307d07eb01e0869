/* SPDX-License-Identifier: Apache-2.0 */
/* Graph over libcurl: the client-credentials token, GET and $batch with Graph's retry rules. */
#include "graph_client.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "timefmt.h"

#define GRAPH_SCOPE "https://graph.microsoft.com/.default"

struct graph_client {
    const struct graph_client_config *cfg;
    CURL *curl;
    struct mse_buf body;
    bool body_too_large;
    int64_t retry_after_ms;
    char curl_err[CURL_ERROR_SIZE];
    char *token; /* the access token (secret) */
    int64_t token_obtained_ms, token_expires_in_s;
    const atomic_bool *stop;
    struct ews_stats stats;
};

void graph_result_cleanup(struct graph_result *r)
{
    if (!r)
        return;
    cJSON_Delete(r->body);
    memset(r, 0, sizeof(*r));
}

bool graph_client_token_due(int64_t now_ms, int64_t obtained_ms, int64_t expires_in_s)
{
    int64_t life_ms = expires_in_s * 1000;
    int64_t margin = life_ms >= 600 * 1000 ? 300 * 1000 : life_ms / 2;
    return now_ms >= obtained_ms + life_ms - margin;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct graph_client *g = ud;
    enum mse_rc rc = mse_buf_append(&g->body, p, size * n);
    if (rc == MSE_OK)
        return size * n;
    g->body_too_large = rc == MSE_ERR_TOO_LARGE;
    return 0; /* libcurl aborts the transfer */
}

/* Retry-After in its delta-seconds form. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct graph_client *g = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) && len < 64 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        char v[64];
        snprintf(v, sizeof(v), "%.*s", (int)(len - (sizeof(name) - 1)), p + sizeof(name) - 1);
        char *a = v, *e = v + strlen(v);
        while (*a == ' ' || *a == '\t')
            a++;
        while (e > a && isspace((unsigned char)e[-1]))
            *--e = '\0';
        int64_t secs;
        if (mse_parse_int(a, 0, 86400, &secs) == MSE_OK)
            g->retry_after_ms = secs * 1000;
    }
    return len;
}

static bool stopped(const struct graph_client *g)
{
    return g->stop && atomic_load(g->stop);
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    return stopped(ud) ? 1 : 0;
}

enum mse_rc graph_client_new(const struct graph_client_config *cfg, struct graph_client **out,
                             struct mse_err *err)
{
    *out = NULL;
    const char *missing = !cfg->url || !*cfg->url                       ? "graph_url"
                          : !cfg->tenant || !*cfg->tenant               ? "graph_tenant"
                          : !cfg->client_id || !*cfg->client_id         ? "graph_client_id"
                          : !cfg->client_secret || !*cfg->client_secret ? "graph_client_secret"
                                                                        : NULL;
    if (missing) {
        snprintf(err->msg, sizeof(err->msg), "backend graph needs %s", missing);
        return MSE_ERR_INVALID;
    }
    struct graph_client *g = calloc(1, sizeof(*g));
    if (!g || !(g->curl = curl_easy_init())) {
        free(g);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return MSE_ERR_NOMEM;
    }
    g->cfg = cfg;
    mse_buf_init(&g->body, cfg->max_response);
    *out = g;
    return MSE_OK;
}

void graph_client_free(struct graph_client *g)
{
    if (!g)
        return;
    if (g->token) {
        memset(g->token, 0, strlen(g->token)); /* a secret: not left in freed memory */
        free(g->token);
    }
    curl_easy_cleanup(g->curl);
    mse_buf_cleanup(&g->body);
    free(g);
}

void graph_client_set_stop(struct graph_client *g, const atomic_bool *stop)
{
    g->stop = stop;
}

const struct ews_stats *graph_client_stats(const struct graph_client *g)
{
    return &g->stats;
}

/* ---- one exchange ---- */

/* Sends one request (body NULL: GET) and reads the answer; CURLcode of the transfer. */
static CURLcode exchange(struct graph_client *g, const char *url, const char *body,
                         struct curl_slist *headers, long *status)
{
    const struct graph_client_config *c = g->cfg;
    CURL *h = g->curl;
    curl_easy_reset(h);
    mse_buf_reset(&g->body);
    g->body_too_large = false;
    g->retry_after_ms = -1;
    g->curl_err[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, g);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, g);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, g->curl_err);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)g);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    if (c->ca_file && *c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    g->stats.requests++;
    CURLcode cc = curl_easy_perform(h);
    *status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    g->stats.bytes_in += g->body.len;
    return cc;
}

/* Reads {"error": {"code", "message"}} (Graph) into res. */
static void error_read(struct graph_result *res)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(res->body, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    if (cJSON_IsString(code))
        snprintf(res->code, sizeof(res->code), "%s", code->valuestring);
    if (cJSON_IsString(msg))
        snprintf(res->message, sizeof(res->message), "%s", msg->valuestring);
}

/* ---- the token ---- */

/* The identity platform's refusal in one sentence, without its trace ids (and no secret). */
static void token_refusal(const struct graph_client *g, const cJSON *doc, long status,
                          struct mse_err *err)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "error_description");
    char desc[300] = "";
    if (cJSON_IsString(d)) {
        snprintf(desc, sizeof(desc), "%s", d->valuestring);
        char *trace = strstr(desc, " Trace ID:");
        if (trace)
            *trace = '\0';
    }
    snprintf(err->msg, sizeof(err->msg),
             "the Graph token request for app %.80s in tenant %.80s was refused (HTTP %ld, "
             "%.40s): %.200s",
             g->cfg->client_id, g->cfg->tenant, status,
             cJSON_IsString(e) ? e->valuestring : "no error", desc[0] ? desc : "no description");
}

/* The form body of a client-credentials request (holds the secret: wiped by the caller). */
static char *token_form(struct graph_client *g)
{
    const struct graph_client_config *c = g->cfg;
    char *id = curl_easy_escape(g->curl, c->client_id, 0);
    char *secret = curl_easy_escape(g->curl, c->client_secret, 0);
    char *scope = curl_easy_escape(g->curl, GRAPH_SCOPE, 0);
    char *form = NULL;
    if (id && secret && scope) {
        size_t n = strlen(id) + strlen(secret) + strlen(scope) + 96;
        form = malloc(n);
        if (form)
            snprintf(form, n,
                     "grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s", id,
                     secret, scope);
    }
    if (secret)
        memset(secret, 0, strlen(secret));
    curl_free(id);
    curl_free(secret);
    curl_free(scope);
    return form;
}

/* Reads a v2.0 token answer into the cache. */
static enum mse_rc token_take(struct graph_client *g, const cJSON *doc, struct mse_err *err)
{
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(doc, "access_token");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(doc, "expires_in");
    if (!cJSON_IsString(tok) || !tok->valuestring[0] || !cJSON_IsNumber(exp)) {
        snprintf(err->msg, sizeof(err->msg),
                 "the Graph token endpoint answered without access_token and expires_in");
        return MSE_ERR_UNAVAILABLE;
    }
    free(g->token);
    g->token = strdup(tok->valuestring);
    g->token_obtained_ms = mse_time_mono_ms();
    g->token_expires_in_s = (int64_t)exp->valuedouble;
    return g->token ? MSE_OK : MSE_ERR_NOMEM;
}

/* Obtains a token by client credentials. */
static enum mse_rc token_fetch(struct graph_client *g, struct mse_err *err)
{
    const struct graph_client_config *c = g->cfg;
    char url[1024];
    snprintf(url, sizeof(url), "%s/%s/oauth2/v2.0/token",
             c->login_url && *c->login_url ? c->login_url : c->url, c->tenant);
    char *form = token_form(g);
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (!form || !h) {
        free(form);
        curl_slist_free_all(h);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return MSE_ERR_NOMEM;
    }
    long status;
    CURLcode cc = exchange(g, url, form, h, &status);
    memset(form, 0, strlen(form));
    free(form);
    curl_slist_free_all(h);
    if (cc != CURLE_OK) {
        snprintf(err->msg, sizeof(err->msg), "the Graph token endpoint %.200s: %.200s", url,
                 g->curl_err[0] ? g->curl_err : curl_easy_strerror(cc));
        return MSE_ERR_UNAVAILABLE;
    }
    cJSON *doc = cJSON_ParseWithLength(g->body.data ? g->body.data : "", g->body.len);
    enum mse_rc rc = MSE_ERR_UNAVAILABLE;
    if (status == 200)
        rc = token_take(g, doc, err);
    else
        token_refusal(g, doc, status, err);
    cJSON_Delete(doc);
    return rc;
}

/* A token that is good for a while yet: the cached one, or a new one. */
static enum mse_rc token_ensure(struct graph_client *g, bool force, struct mse_err *err)
{
    if (g->token && !force &&
        !graph_client_token_due(mse_time_mono_ms(), g->token_obtained_ms, g->token_expires_in_s))
        return MSE_OK;
    return token_fetch(g, err);
}

/* ---- requests with retries ---- */

/* Waits ms unless stopped; false when stopped. */
static bool nap(struct graph_client *g, int64_t ms)
{
    g->stats.waited_ms += ms;
    for (int64_t left = ms; left > 0; left -= 100) {
        if (stopped(g))
            return false;
        struct timespec ts = { 0, (left < 100 ? left : 100) * 1000000L };
        nanosleep(&ts, NULL);
    }
    return !stopped(g);
}

/* One request (GET, or POST of a JSON body) with the retry rules; see graph_client_get. */
static enum mse_rc request(struct graph_client *g, const char *url, const char *json,
                           unsigned page_size, struct graph_result *res, const char **reason,
                           struct mse_err *err)
{
    const struct graph_client_config *c = g->cfg;
    memset(res, 0, sizeof(*res));
    *reason = "graph_unavailable";
    int64_t waited = 0, delay = c->backoff_base_ms > 0 ? c->backoff_base_ms : 500;
    bool renewed = false;
    for (unsigned attempt = 1;; attempt++) {
        if (stopped(g)) {
            *reason = "cancelled";
            snprintf(err->msg, sizeof(err->msg), "the worker is stopping");
            return MSE_ERR_UNAVAILABLE;
        }
        enum mse_rc rc = token_ensure(g, false, err);
        if (rc != MSE_OK) {
            *reason = rc == MSE_ERR_NOMEM ? "internal" : "graph_auth_failed";
            return rc;
        }
        char auth[4200], prefer[64];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g->token);
        snprintf(prefer, sizeof(prefer), "Prefer: odata.maxpagesize=%u", page_size);
        struct curl_slist *h = curl_slist_append(NULL, auth);
        memset(auth, 0, sizeof(auth));
        h = h ? curl_slist_append(h, "Accept: application/json") : NULL;
        if (h && json)
            h = curl_slist_append(h, "Content-Type: application/json");
        if (h && page_size)
            h = curl_slist_append(h, prefer);
        if (!h) {
            *reason = "internal";
            snprintf(err->msg, sizeof(err->msg), "out of memory");
            return MSE_ERR_NOMEM;
        }
        long status;
        CURLcode cc = exchange(g, url, json, h, &status);
        curl_slist_free_all(h);
        bool throttled = cc == CURLE_OK && (status == 429 || status == 503);
        bool transient = cc != CURLE_OK ? !g->body_too_large : status >= 500 || throttled;
        if (cc == CURLE_OK && status == 401 && !renewed) {
            renewed = true; /* revoked or expired early: one new token, then the verdict */
            if (token_ensure(g, true, err) != MSE_OK) {
                *reason = "graph_auth_failed";
                return MSE_ERR_UNAVAILABLE;
            }
            continue;
        }
        if (!transient || attempt >= c->retry_max) {
            if (cc != CURLE_OK) {
                *reason = g->body_too_large ? "graph_response_too_large" : "graph_unavailable";
                snprintf(err->msg, sizeof(err->msg), "Graph %.200s: %.200s", url,
                         g->curl_err[0] ? g->curl_err : curl_easy_strerror(cc));
                return g->body_too_large ? MSE_ERR_TOO_LARGE : MSE_ERR_UNAVAILABLE;
            }
            res->status = status;
            res->body = cJSON_ParseWithLength(g->body.data ? g->body.data : "", g->body.len);
            error_read(res);
            if (transient) {
                *reason = throttled ? "graph_throttled" : "graph_unavailable";
                snprintf(err->msg, sizeof(err->msg), "Graph answered %ld %s after %u attempts",
                         status, res->code, attempt);
                return MSE_ERR_UNAVAILABLE;
            }
            return MSE_OK;
        }
        if (throttled)
            g->stats.throttled++;
        int64_t wait = g->retry_after_ms >= 0 ? g->retry_after_ms : delay;
        if (wait > c->backoff_hint_max_ms && c->backoff_hint_max_ms > 0)
            wait = c->backoff_hint_max_ms;
        delay *= 2;
        if (waited + wait > c->retry_max_wait_ms) {
            *reason = throttled ? "graph_throttled" : "graph_unavailable";
            snprintf(err->msg, sizeof(err->msg),
                     "Graph kept answering %ld; the retry budget of %lld ms is spent", status,
                     (long long)c->retry_max_wait_ms);
            return MSE_ERR_UNAVAILABLE;
        }
        waited += wait;
        g->stats.retries++;
        if (!nap(g, wait)) {
            *reason = "cancelled";
            snprintf(err->msg, sizeof(err->msg), "the worker is stopping");
            return MSE_ERR_UNAVAILABLE;
        }
    }
}

/* The URL of a path below /v1.0, or a link (which must lie below cfg->url). */
static enum mse_rc url_of(const struct graph_client *g, const char *path, char *out, size_t size,
                          struct mse_err *err)
{
    const char *base = g->cfg->url;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    bool link = strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0;
    if (link && (strncmp(path, base, bl) != 0 || (path[bl] != '/' && path[bl] != '\0'))) {
        snprintf(err->msg, sizeof(err->msg),
                 "Graph returned a link outside graph_url; it is not followed");
        return MSE_ERR_UNAVAILABLE;
    }
    int n = link ? snprintf(out, size, "%s", path)
                 : snprintf(out, size, "%.*s/v1.0%s", (int)bl, base, path);
    if (n < 0 || (size_t)n >= size) {
        snprintf(err->msg, sizeof(err->msg), "a Graph URL longer than %zu bytes", size - 1);
        return MSE_ERR_UNAVAILABLE;
    }
    return MSE_OK;
}

enum mse_rc graph_client_get(struct graph_client *g, const char *path, unsigned page_size,
                             struct graph_result *res, const char **reason, struct mse_err *err)
{
    char url[8192];
    memset(res, 0, sizeof(*res));
    *reason = "graph_bad_response";
    if (url_of(g, path, url, sizeof(url), err) != MSE_OK)
        return MSE_ERR_UNAVAILABLE;
    return request(g, url, NULL, page_size, res, reason, err);
}

/* The $batch request document. */
static char *batch_body(const char *const *paths, size_t n)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, "requests");
    for (size_t i = 0; arr && i < n; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%zu", i);
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "id", id);
        cJSON_AddStringToObject(r, "method", "GET");
        cJSON_AddStringToObject(r, "url", paths[i]);
        cJSON_AddItemToArray(arr, r);
    }
    char *text = arr ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    return text;
}

/* Moves each response of a $batch answer to res[id]. */
static enum mse_rc batch_split(cJSON *doc, size_t n, struct graph_result *res, struct mse_err *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "responses");
    size_t seen = 0;
    cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(r, "status");
        int64_t i;
        if (!cJSON_IsString(id) || !cJSON_IsNumber(st) ||
            mse_parse_int(id->valuestring, 0, (int64_t)n - 1, &i) != MSE_OK || res[i].status)
            continue;
        res[i].status = (long)st->valuedouble;
        res[i].body = cJSON_DetachItemFromObjectCaseSensitive(r, "body");
        error_read(&res[i]);
        seen++;
    }
    if (seen == n)
        return MSE_OK;
    snprintf(err->msg, sizeof(err->msg), "a Graph $batch answered %zu of %zu requests", seen, n);
    return MSE_ERR_UNAVAILABLE;
}

enum mse_rc graph_client_batch(struct graph_client *g, const char *const *paths, size_t n,
                               struct graph_result *res, const char **reason, struct mse_err *err)
{
    char url[1024];
    memset(res, 0, n * sizeof(*res));
    *reason = "graph_bad_response";
    if (n == 0 || n > GRAPH_CLIENT_BATCH_MAX || url_of(g, "/$batch", url, sizeof(url), err))
        return MSE_ERR_INVALID;
    char *body = batch_body(paths, n);
    if (!body) {
        *reason = "internal";
        return MSE_ERR_NOMEM;
    }
    struct graph_result whole;
    enum mse_rc rc = request(g, url, body, 0, &whole, reason, err);
    free(body);
    if (rc == MSE_OK && whole.status != 200) {
        snprintf(err->msg, sizeof(err->msg), "Graph refused a $batch: %ld %s %s", whole.status,
                 whole.code, whole.message);
        rc = MSE_ERR_UNAVAILABLE;
    } else if (rc == MSE_OK) {
        rc = batch_split(whole.body, n, res, err);
        *reason = "graph_bad_response";
    }
    graph_result_cleanup(&whole);
    return rc;
}
