/* SPDX-License-Identifier: Apache-2.0 */
/* The worker's HTTP client of mse-server: OAuth token, JSON calls, retries
 * (docs/worker-protocol.md). */
#include "server_client.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backoff.h"
#include "buf.h"
#include "log.h"
#include "timefmt.h"

/* Answers from mse-server are small JSON documents; anything larger is a fault. */
#define SRV_MAX_RESPONSE (8u * 1024u * 1024u)
#define SRV_URL_MAX      2048

struct srv_client {
    const struct srv_config *cfg;
    CURL *curl;
    struct mse_buf resp;
    char token[128];
    int64_t token_expires_ms; /* monotonic */
    const atomic_bool *stop;
    bool interruptible; /* the stop flag ends the transfer in flight */
    struct backoff backoff;
    long retry_after_s;
    int64_t fencing_token;
    struct srv_upload *upload; /* the body of the current call comes from a file */
    /* Calls are serialised: the lanes of one execution (max_parallel_mailboxes) share this
     * client, its connection and its token. */
    pthread_mutex_t lock;
};

/* A request body read from a file range as libcurl sends it (and again for each retry). */
struct srv_upload {
    int fd;
    int64_t offset;
    uint64_t len;
    uint64_t sent;
    int error; /* errno of a failed read */
};

static size_t on_upload(char *p, size_t size, size_t n, void *ud)
{
    struct srv_upload *u = ud;
    size_t want = size * n;
    if (u->len - u->sent < want)
        want = (size_t)(u->len - u->sent);
    if (want == 0)
        return 0;
    ssize_t k;
    do
        k = pread(u->fd, p, want, (off_t)(u->offset + (int64_t)u->sent));
    while (k < 0 && errno == EINTR);
    if (k <= 0) {
        u->error = k < 0 ? errno : EIO; /* the file is shorter than said: a fault of ours */
        return CURL_READFUNC_ABORT;
    }
    u->sent += (uint64_t)k;
    return (size_t)k;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct srv_client *c = ud;
    /* Returning less than given aborts the transfer: the cap protects the worker's memory. */
    if (mse_buf_append(&c->resp, p, size * n) != MSE_OK)
        return 0;
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct srv_client *c = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
        c->retry_after_s = strtol(p + 12, NULL, 10);
    return len;
}

enum mse_rc srv_client_new(const struct srv_config *cfg, struct srv_client **out,
                           struct mse_err *err)
{
    *out = NULL;
    if (!cfg->url || !cfg->client_id || !cfg->client_secret) {
        snprintf(err->msg, sizeof(err->msg), "server URL and site credentials are required");
        return MSE_ERR_INVALID;
    }
    struct srv_client *c = calloc(1, sizeof(*c));
    if (!c)
        return MSE_ERR_NOMEM;
    c->cfg = cfg;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return MSE_ERR_NOMEM;
    }
    mse_buf_init(&c->resp, SRV_MAX_RESPONSE);
    backoff_init(&c->backoff, 200, 10000, 0);
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return MSE_OK;
}

void srv_client_free(struct srv_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    mse_buf_cleanup(&c->resp);
    /* The token is a credential: do not leave it in freed memory. */
    memset(c->token, 0, sizeof(c->token));
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void srv_client_set_fencing(struct srv_client *c, int64_t token)
{
    c->fencing_token = token;
}

void srv_client_set_stop(struct srv_client *c, const atomic_bool *stop)
{
    c->stop = stop;
}

void srv_client_set_interruptible(struct srv_client *c, bool on)
{
    c->interruptible = on;
}

/*
 * libcurl's progress callback: a nonzero answer aborts the transfer. Only while nothing of the
 * answer has come: an answer already arriving (an execution just claimed) is read, so the
 * caller can hand it back rather than leave it to its lease.
 */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    (void)ulnow;
    const struct srv_client *c = ud;
    return dlnow == 0 && c->stop && atomic_load(c->stop) ? 1 : 0;
}

void srv_reply_cleanup(struct srv_reply *r)
{
    cJSON_Delete(r->body);
    memset(r, 0, sizeof(*r));
}

bool srv_reply_is(const struct srv_reply *r, long status, const char *type)
{
    return r->status == status && strcmp(r->problem_type, type) == 0;
}

/* Sleeps in short steps so a stop request ends the wait; false when stopped. */
static bool srv_sleep(struct srv_client *c, int64_t ms)
{
    int64_t end = mse_time_mono_ms() + ms;
    while (mse_time_mono_ms() < end) {
        if (c->stop && atomic_load(c->stop))
            return false;
        usleep(50 * 1000);
    }
    return !(c->stop && atomic_load(c->stop));
}

/* One HTTP exchange; *status = 0 when no answer came. */
static enum mse_rc srv_exchange(struct srv_client *c, const char *method, const char *url,
                                struct curl_slist *headers, const void *body, size_t len,
                                long *status, struct mse_err *err)
{
    CURL *h = c->curl;
    curl_easy_reset(h);
    mse_buf_reset(&c->resp);
    c->retry_after_s = -1;
    *status = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L); /* a custom HEAD would wait for a body */
    else
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->cfg->timeout_ms > 0 ? c->cfg->timeout_ms : 60000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (c->interruptible) {
        /* Called about once a second while the answer is awaited, so a stop ends a claim
           parked at the server within about a second. */
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->cfg->tls_verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->cfg->tls_verify ? 2L : 0L);
    if (c->cfg->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cfg->ca_file);
    if (c->upload) {
        c->upload->sent = 0;
        c->upload->error = 0;
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(h, CURLOPT_READDATA, c->upload);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->upload->len);
    } else if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode cc = curl_easy_perform(h);
    if (c->upload && c->upload->error) {
        snprintf(err->msg, sizeof(err->msg), "%s %s: cannot read the content to send: %s", method,
                 url, strerror(c->upload->error));
        return MSE_ERR_IO;
    }
    if (cc != CURLE_OK) {
        snprintf(err->msg, sizeof(err->msg), "%s %s: %s", method, url, curl_easy_strerror(cc));
        return cc == CURLE_WRITE_ERROR ? MSE_ERR_TOO_LARGE : MSE_ERR_UNAVAILABLE;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    return MSE_OK;
}

/* Gets a bearer token with the client credentials grant (RFC 6749 §4.4, form credentials). */
static enum mse_rc srv_token(struct srv_client *c, struct mse_err *err)
{
    char url[SRV_URL_MAX];
    snprintf(url, sizeof(url), "%s/api/v1/oauth/token", c->cfg->url);
    struct curl_slist *headers =
            curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    char *id = curl_easy_escape(c->curl, c->cfg->client_id, 0);
    char *secret = curl_easy_escape(c->curl, c->cfg->client_secret, 0);
    struct mse_buf form;
    mse_buf_init(&form, 2048);
    long status = 0;
    enum mse_rc rc = headers && id && secret ? MSE_OK : MSE_ERR_NOMEM;
    if (rc == MSE_OK)
        rc = mse_buf_printf(&form, "grant_type=client_credentials&client_id=%s&client_secret=%s",
                            id, secret);
    if (rc == MSE_OK)
        rc = srv_exchange(c, "POST", url, headers, form.data, form.len, &status, err);
    /* The form holds the secret: wipe it before the memory goes back. */
    if (form.data)
        memset(form.data, 0, form.len);
    if (secret)
        memset(secret, 0, strlen(secret));
    mse_buf_cleanup(&form);
    curl_free(id);
    curl_free(secret);
    curl_slist_free_all(headers);
    if (rc != MSE_OK)
        return rc;
    cJSON *doc = status == 200 ? cJSON_ParseWithLength(c->resp.data, c->resp.len) : NULL;
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(doc, "access_token");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(doc, "expires_in");
    if (!cJSON_IsString(tok) || strlen(tok->valuestring) >= sizeof(c->token)) {
        snprintf(err->msg, sizeof(err->msg),
                 "the server refused the site credentials (HTTP %ld); check the client id and "
                 "secret",
                 status);
        cJSON_Delete(doc);
        return status >= 500 || status == 0 ? MSE_ERR_UNAVAILABLE : MSE_ERR_IO;
    }
    snprintf(c->token, sizeof(c->token), "%s", tok->valuestring);
    double ttl = cJSON_IsNumber(exp) ? exp->valuedouble : 3600;
    /* Renew a minute early so a request never leaves with a token about to lapse. */
    c->token_expires_ms = mse_time_mono_ms() + (int64_t)(ttl > 120 ? ttl - 60 : ttl / 2) * 1000;
    cJSON_Delete(doc);
    return MSE_OK;
}

static void reply_fill(struct srv_client *c, long status, struct srv_reply *reply)
{
    reply->status = status;
    reply->body = c->resp.len ? cJSON_ParseWithLength(c->resp.data, c->resp.len) : NULL;
    if (status >= 400 && reply->body) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(reply->body, "type");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(reply->body, "detail");
        if (cJSON_IsString(t))
            snprintf(reply->problem_type, sizeof(reply->problem_type), "%s", t->valuestring);
        if (cJSON_IsString(d))
            snprintf(reply->detail, sizeof(reply->detail), "%s", d->valuestring);
    }
}

static bool status_retryable(long status)
{
    return status == 0 || status == 429 || status == 502 || status == 503 || status == 504 ||
           status == 500;
}

static enum mse_rc srv_send_locked(struct srv_client *c, const char *method, const char *path,
                                   const char *content_type, const void *data, size_t len,
                                   struct srv_reply *reply, struct mse_err *err)
{
    char url[SRV_URL_MAX], auth[160], ctype[96], fence[64];
    memset(reply, 0, sizeof(*reply));
    snprintf(url, sizeof(url), "%s%s", c->cfg->url, path);
    int64_t deadline =
            mse_time_mono_ms() + (c->cfg->retry_budget_ms > 0 ? c->cfg->retry_budget_ms : 120000);
    bool refreshed = false;
    backoff_reset(&c->backoff);
    for (;;) {
        enum mse_rc rc = MSE_OK;
        if (!c->token[0] || mse_time_mono_ms() >= c->token_expires_ms)
            rc = srv_token(c, err);
        long status = 0;
        if (rc == MSE_OK) {
            snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
            snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
            struct curl_slist *h = curl_slist_append(NULL, auth);
            if (data || c->upload)
                h = curl_slist_append(h, ctype);
            if (c->upload) /* no wait for 100 Continue: the server reads what it is sent */
                h = curl_slist_append(h, "Expect:");
            h = curl_slist_append(h, "Accept: application/json");
            if (c->fencing_token > 0) {
                snprintf(fence, sizeof(fence), "MSE-Fencing-Token: %lld",
                         (long long)c->fencing_token);
                h = curl_slist_append(h, fence);
            }
            rc = srv_exchange(c, method, url, h, data, len, &status, err);
            curl_slist_free_all(h);
            memset(auth, 0, sizeof(auth));
        }
        if (rc == MSE_OK && status == 401 && !refreshed) {
            c->token[0] = '\0'; /* revoked or expired early: one fresh token, then judge */
            refreshed = true;
            continue;
        }
        if (rc == MSE_OK && !status_retryable(status)) {
            reply_fill(c, status, reply);
            return MSE_OK;
        }
        if (rc != MSE_OK && rc != MSE_ERR_UNAVAILABLE)
            return rc;
        if (rc == MSE_OK)
            snprintf(err->msg, sizeof(err->msg), "%s %s: HTTP %ld", method, path, status);
        int64_t wait = backoff_hinted(&c->backoff,
                                      c->retry_after_s >= 0 ? c->retry_after_s * 1000 : -1, 30000);
        if (mse_time_mono_ms() + wait > deadline || !srv_sleep(c, wait))
            return MSE_ERR_UNAVAILABLE;
        LOG_DEBUG(NULL, "retrying %s %s in %lld ms: %s", method, path, (long long)wait, err->msg);
    }
}

static enum mse_rc srv_send(struct srv_client *c, const char *method, const char *path,
                            const char *content_type, const void *data, size_t len,
                            struct srv_reply *reply, struct mse_err *err)
{
    pthread_mutex_lock(&c->lock);
    enum mse_rc rc = srv_send_locked(c, method, path, content_type, data, len, reply, err);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

enum mse_rc srv_call(struct srv_client *c, const char *method, const char *path,
                     const struct cJSON *body, struct srv_reply *reply, struct mse_err *err)
{
    char *text = NULL;
    if (body) {
        text = cJSON_PrintUnformatted(body);
        if (!text) {
            memset(reply, 0, sizeof(*reply));
            return MSE_ERR_NOMEM;
        }
    }
    enum mse_rc rc = srv_send(c, method, path, "application/json", text, text ? strlen(text) : 0,
                              reply, err);
    free(text);
    return rc;
}

enum mse_rc srv_call_bytes(struct srv_client *c, const char *method, const char *path,
                           const void *data, size_t len, struct srv_reply *reply,
                           struct mse_err *err)
{
    /* An empty attachment is still a body: libcurl needs a non-NULL pointer to send it. */
    return srv_send(c, method, path, "application/octet-stream", data ? data : "", len, reply, err);
}

enum mse_rc srv_call_file(struct srv_client *c, const char *method, const char *path, int fd,
                          int64_t offset, uint64_t len, struct srv_reply *reply,
                          struct mse_err *err)
{
    struct srv_upload u = { .fd = fd, .offset = offset, .len = len };
    /* Under the lock: another lane's call must not find this upload as its body. */
    pthread_mutex_lock(&c->lock);
    c->upload = &u;
    enum mse_rc rc =
            srv_send_locked(c, method, path, "application/octet-stream", NULL, len, reply, err);
    c->upload = NULL;
    pthread_mutex_unlock(&c->lock);
    return rc;
}
