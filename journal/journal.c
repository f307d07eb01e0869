/* SPDX-License-Identifier: Apache-2.0 */
/* mse-journal's settings, its two requests to mse-server, and the exit code they lead to. */
#include "journal.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "mse/limits.h"

/* Answers are small JSON documents; a larger one is not from mse-server. */
#define JOURNAL_MAX_RESPONSE (64u * 1024u)

/* Copies value into a setting, refusing one that does not fit. */
static bool set_value(char *dst, size_t size, const char *value)
{
    size_t n = strlen(value);
    if (n >= size)
        return false;
    memcpy(dst, value, n + 1);
    return true;
}

/* Reads a secret from a file: its first line. */
static bool secret_from_file(const char *path, struct journal_config *cfg)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(cfg->client_secret, sizeof(cfg->client_secret), f) != NULL;
    fclose(f);
    cfg->client_secret[strcspn(cfg->client_secret, "\r\n")] = '\0';
    return ok;
}

/* One setting by its variable name; false when the name is unknown or the value bad. */
static bool config_set(struct journal_config *cfg, const char *name, const char *value)
{
    if (strcmp(name, "MSE_JOURNAL_URL") == 0)
        return set_value(cfg->url, sizeof(cfg->url), value);
    if (strcmp(name, "MSE_JOURNAL_CLIENT_ID") == 0)
        return set_value(cfg->client_id, sizeof(cfg->client_id), value);
    if (strcmp(name, "MSE_JOURNAL_CLIENT_SECRET") == 0)
        return set_value(cfg->client_secret, sizeof(cfg->client_secret), value);
    if (strcmp(name, "MSE_JOURNAL_CLIENT_SECRET_FILE") == 0)
        return secret_from_file(value, cfg);
    if (strcmp(name, "MSE_JOURNAL_CA_FILE") == 0)
        return set_value(cfg->ca_file, sizeof(cfg->ca_file), value);
    if (strcmp(name, "MSE_JOURNAL_TOKEN_FILE") == 0)
        return set_value(cfg->token_file, sizeof(cfg->token_file), value);
    if (strcmp(name, "MSE_JOURNAL_TIMEOUT") == 0) {
        int64_t n;
        if (mse_parse_int(value, 1, 3600, &n) != MSE_OK)
            return false;
        cfg->timeout_s = (long)n;
        return true;
    }
    return false;
}

static const char *const config_names[] = {
    "MSE_JOURNAL_URL",           "MSE_JOURNAL_CLIENT_ID",
    "MSE_JOURNAL_CLIENT_SECRET", "MSE_JOURNAL_CLIENT_SECRET_FILE",
    "MSE_JOURNAL_CA_FILE",       "MSE_JOURNAL_TOKEN_FILE",
    "MSE_JOURNAL_TIMEOUT",       NULL
};

/* KEY=VALUE lines; an error names the line, never its value (it may be the secret). */
static enum mse_rc config_file(const char *path, struct journal_config *cfg, struct mse_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err->msg, sizeof(err->msg), "cannot read %s: %s", path, strerror(errno));
        return MSE_ERR_INVALID;
    }
    char line[2048];
    unsigned lineno = 0;
    enum mse_rc rc = MSE_OK;
    while (rc == MSE_OK && fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line + strspn(line, " \t");
        if (*p == '\0' || *p == '#')
            continue;
        char *eq = strchr(p, '=');
        if (eq)
            *eq = '\0';
        if (!eq || !config_set(cfg, p, eq + 1)) {
            snprintf(err->msg, sizeof(err->msg), "%s line %u: not a valid MSE_JOURNAL_* setting",
                     path, lineno);
            rc = MSE_ERR_INVALID;
        }
    }
    fclose(f);
    return rc;
}

enum mse_rc journal_config_load(const char *path, struct journal_config *cfg, struct mse_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->timeout_s = 60;
    if (path && config_file(path, cfg, err) != MSE_OK)
        return MSE_ERR_INVALID;
    for (const char *const *n = config_names; *n; n++) {
        const char *v = getenv(*n);
        if (v && *v && !config_set(cfg, *n, v)) {
            snprintf(err->msg, sizeof(err->msg), "%s is not valid", *n);
            return MSE_ERR_INVALID;
        }
    }
    const char *missing = !cfg->url[0]             ? "MSE_JOURNAL_URL"
                          : !cfg->client_id[0]     ? "MSE_JOURNAL_CLIENT_ID"
                          : !cfg->client_secret[0] ? "MSE_JOURNAL_CLIENT_SECRET(_FILE)"
                                                   : NULL;
    if (missing) {
        snprintf(err->msg, sizeof(err->msg), "%s is not set", missing);
        return MSE_ERR_INVALID;
    }
    size_t n = strlen(cfg->url);
    while (n > 0 && cfg->url[n - 1] == '/')
        cfg->url[--n] = '\0';
    return MSE_OK;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    /* Returning less than given aborts the transfer: the cap protects our memory. */
    return mse_buf_append(ud, p, size * n) == MSE_OK ? size * n : 0;
}

/* One request; *status 0 with res->detail set when the server was not reached. */
static void request(const struct journal_config *cfg, const char *url, struct curl_slist *headers,
                    const char *body, size_t len, struct mse_buf *resp, long *status,
                    struct journal_result *res)
{
    CURL *h = curl_easy_init();
    *status = 0;
    if (!h) {
        snprintf(res->detail, sizeof(res->detail), "cannot create an HTTP handle");
        return;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, cfg->timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if (cfg->ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
    CURLcode cc = curl_easy_perform(h);
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    else
        snprintf(res->detail, sizeof(res->detail), "mse-server not reached: %s",
                 errbuf[0] ? errbuf : curl_easy_strerror(cc));
    curl_easy_cleanup(h);
}

/* A string member of a JSON answer into out ("" when absent). */
static void json_member(const struct mse_buf *resp, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    cJSON *doc = resp->data ? cJSON_ParseWithLength(resp->data, resp->len) : NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
    if (cJSON_IsString(v))
        snprintf(out, size, "%s", v->valuestring);
    cJSON_Delete(doc);
}

/* A problem's detail and its first field error ("detail: field: message"), for the MTA. */
static void problem_text(const struct mse_buf *resp, char *out, size_t size)
{
    json_member(resp, "detail", out, size);
    cJSON *doc = resp->data ? cJSON_ParseWithLength(resp->data, resp->len) : NULL;
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "errors"), 0);
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(e, "field");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    size_t used = strlen(out);
    if (cJSON_IsString(field) && cJSON_IsString(msg) && used < size)
        snprintf(out + used, size - used, ": %s: %s", field->valuestring, msg->valuestring);
    cJSON_Delete(doc);
}

/*
 * The token cache (MSE_JOURNAL_TOKEN_FILE): one line "<expiry, Unix seconds> <token>", mode
 * 0600. Each delivery is a process of its own; without the cache every message would cost the
 * server a client-secret verification (PBKDF2), with it one per token lifetime.
 */
static bool token_cached(const struct journal_config *cfg, char *token, size_t size)
{
    if (!cfg->token_file[0])
        return false;
    FILE *f = fopen(cfg->token_file, "r");
    if (!f)
        return false;
    char line[400];
    bool ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    char *space = ok ? strchr(line, ' ') : NULL;
    if (!space)
        return false;
    *space = '\0';
    int64_t expiry;
    /* A minute's margin: a token must not expire between this check and the post. */
    if (mse_parse_int(line, 0, INT64_MAX, &expiry) != MSE_OK || expiry < (int64_t)time(NULL) + 60)
        return false;
    space[1 + strcspn(space + 1, "\r\n")] = '\0';
    return space[1] && snprintf(token, size, "%s", space + 1) < (int)size;
}

/* Keeps a fresh token for the next deliveries (written aside, then renamed: never half read). */
static void token_save(const struct journal_config *cfg, const char *token,
                       const struct mse_buf *resp)
{
    if (!cfg->token_file[0] || !token[0])
        return;
    cJSON *doc = cJSON_ParseWithLength(resp->data, resp->len);
    const cJSON *ttl = cJSON_GetObjectItemCaseSensitive(doc, "expires_in");
    long expires_in = cJSON_IsNumber(ttl) ? (long)ttl->valuedouble : 0;
    cJSON_Delete(doc);
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.%ld", cfg->token_file, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return;
    char line[400];
    int n = snprintf(line, sizeof(line), "%lld %s\n", (long long)time(NULL) + expires_in, token);
    bool ok = n > 0 && n < (int)sizeof(line) && write(fd, line, (size_t)n) == n;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, cfg->token_file) != 0)
        unlink(tmp);
}

/* Forgets a cached token the server no longer accepts. */
static void token_forget(const struct journal_config *cfg)
{
    if (cfg->token_file[0])
        unlink(cfg->token_file);
}

/* The client-credentials token into token; false with res filled otherwise. */
static bool token_get(const struct journal_config *cfg, char *token, size_t size,
                      struct journal_result *res)
{
    char url[1200];
    snprintf(url, sizeof(url), "%s/api/v1/oauth/token", cfg->url);
    CURL *esc = curl_easy_init();
    char *id = esc ? curl_easy_escape(esc, cfg->client_id, 0) : NULL;
    char *secret = esc ? curl_easy_escape(esc, cfg->client_secret, 0) : NULL;
    struct mse_buf form, resp;
    mse_buf_init(&form, 4096);
    mse_buf_init(&resp, JOURNAL_MAX_RESPONSE);
    bool ok = id && secret &&
              mse_buf_printf(&form, "grant_type=client_credentials&client_id=%s&client_secret=%s",
                             id, secret) == MSE_OK;
    curl_free(id);
    curl_free(secret);
    curl_easy_cleanup(esc);
    long status = 0;
    struct curl_slist *headers =
            curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    if (ok)
        request(cfg, url, headers, form.data, form.len, &resp, &status, res);
    curl_slist_free_all(headers);
    mse_buf_cleanup(&form);
    token[0] = '\0';
    if (status == 200) {
        json_member(&resp, "access_token", token, size);
        token_save(cfg, token, &resp);
    } else if (status != 0)
        snprintf(res->detail, sizeof(res->detail),
                 "mse-server refused the journal credentials (HTTP %ld): check "
                 "MSE_JOURNAL_CLIENT_ID and its secret",
                 status);
    mse_buf_cleanup(&resp);
    res->token_ok = token[0] != '\0';
    if (status == 200 && !res->token_ok)
        snprintf(res->detail, sizeof(res->detail), "mse-server's token answer has no token");
    return res->token_ok;
}

/* The journal URL with the envelope as query parameters; false when it does not fit. */
static bool journal_url(const struct journal_config *cfg, const char *sender,
                        const char *const *recipients, size_t n, struct mse_buf *url)
{
    CURL *esc = curl_easy_init();
    bool ok = esc && mse_buf_printf(url, "%s/api/v1/journal", cfg->url) == MSE_OK;
    char sep = '?';
    if (ok && sender && *sender) {
        char *e = curl_easy_escape(esc, sender, 0);
        ok = e && mse_buf_printf(url, "%csender=%s", sep, e) == MSE_OK;
        curl_free(e);
        sep = '&';
    }
    for (size_t i = 0; ok && i < n; i++) {
        char *e = curl_easy_escape(esc, recipients[i], 0);
        ok = e && mse_buf_printf(url, "%crcpt=%s", sep, e) == MSE_OK;
        curl_free(e);
        sep = '&';
    }
    curl_easy_cleanup(esc);
    return ok;
}

/* One post with token; res->status and detail filled. */
static void post_once(const struct journal_config *cfg, const char *token, const char *url,
                      const char *message, size_t len, struct journal_result *res)
{
    char auth[300];
    struct mse_buf resp;
    mse_buf_init(&resp, JOURNAL_MAX_RESPONSE);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    struct curl_slist *headers = curl_slist_append(NULL, auth);
    headers = curl_slist_append(headers, "Content-Type: message/rfc822");
    headers = curl_slist_append(headers, "Expect:");
    request(cfg, url, headers, message, len, &resp, &res->status, res);
    curl_slist_free_all(headers);
    if (res->status >= 400)
        problem_text(&resp, res->detail, sizeof(res->detail));
    mse_buf_cleanup(&resp);
}

void journal_post(const struct journal_config *cfg, const char *sender,
                  const char *const *recipients, size_t nrecipients, const char *message,
                  size_t len, struct journal_result *res)
{
    memset(res, 0, sizeof(*res));
    char token[256];
    bool cached = token_cached(cfg, token, sizeof(token));
    if (!cached && !token_get(cfg, token, sizeof(token), res))
        return;
    struct mse_buf url;
    mse_buf_init(&url, MSE_MAX_REQUEST_HEADERS);
    if (!journal_url(cfg, sender, recipients, nrecipients, &url)) {
        snprintf(res->detail, sizeof(res->detail), "the envelope does not fit in a request");
        goto out;
    }
    post_once(cfg, token, url.data, message, len, res);
    /* A cached token revoked or expired meanwhile: once more with a fresh one. */
    if (cached && res->status == 401) {
        token_forget(cfg);
        memset(res, 0, sizeof(*res));
        if (token_get(cfg, token, sizeof(token), res))
            post_once(cfg, token, url.data, message, len, res);
    }
out:
    mse_buf_cleanup(&url);
}

enum journal_exit journal_exit_code(const struct journal_result *res)
{
    if (res->status >= 200 && res->status < 300)
        return JOURNAL_EX_OK;
    /*
     * Only a refusal of the message itself is permanent: bad syntax (400), too large (413),
     * not a message (415), unusable content (422). A refused credential (401/403), a missing
     * route, throttling (429) or a server fault is the archive's problem, not the message's:
     * the MTA keeps the message queued until it is fixed, so that no journaled mail is lost.
     */
    switch (res->status) {
    case 400:
    case 413:
    case 415:
    case 422:
        return JOURNAL_EX_DATAERR;
    default:
        return JOURNAL_EX_TEMPFAIL;
    }
}
