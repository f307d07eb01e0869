/* SPDX-License-Identifier: Apache-2.0 */
/* mse-worker settings: a key = value or JSON file, overridden by MSE_WORKER_* variables. */
#include "config_worker.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "mse/limits.h"
#include "mse/protocol.h"

extern char **environ;

#define ENV_PREFIX "MSE_WORKER_"

enum key_kind {
    K_STR,    /* plain string */
    K_SECRET, /* string never echoed */
    K_FILE,   /* path of a file whose content is the secret at `target` */
    K_BOOL,
    K_INT,
    K_AUTH,    /* basic | ntlm | bearer | none */
    K_VERSION, /* Exchange2013_SP1 | Exchange2016 */
    K_LEVEL,   /* debug | info | warn | error */
};

struct key_def {
    const char *key;
    enum key_kind kind;
    size_t off;    /* member of struct worker_config */
    size_t target; /* K_FILE: the secret member it fills */
    int64_t min, max;
    const char *def;
};

#define OFF(m)    offsetof(struct worker_config, m)
#define NO_MEMBER SIZE_MAX /* K_FILE keys whose path is not kept */

/* Every key, its type, range and default (docs/worker.md lists the same). */
static const struct key_def keys[] = {
    { "server_url", K_STR, OFF(server_url), 0, 0, 0, NULL },
    { "site_client_id", K_STR, OFF(site_client_id), 0, 0, 0, NULL },
    { "site_client_secret", K_SECRET, OFF(site_client_secret), 0, 0, 0, NULL },
    { "site_client_secret_file", K_FILE, NO_MEMBER, OFF(site_client_secret), 0, 0, NULL },
    { "ews_url", K_STR, OFF(ews_url), 0, 0, 0, NULL },
    { "ews_auth", K_AUTH, OFF(ews_auth), 0, 0, 0, "basic" },
    { "ews_username", K_STR, OFF(ews_username), 0, 0, 0, NULL },
    { "ews_password", K_SECRET, OFF(ews_password), 0, 0, 0, NULL },
    { "ews_password_file", K_FILE, NO_MEMBER, OFF(ews_password), 0, 0, NULL },
    { "ews_bearer_token", K_SECRET, OFF(ews_bearer_token), 0, 0, 0, NULL },
    { "ews_bearer_token_file", K_FILE, OFF(ews_bearer_token_file), OFF(ews_bearer_token), 0, 0,
      NULL },
    { "ews_impersonation", K_BOOL, OFF(ews_impersonation), 0, 0, 0, "true" },
    { "ews_version", K_VERSION, OFF(ews_version), 0, 0, 0, "Exchange2013_SP1" },
    { "backend", K_STR, OFF(backend), 0, 0, 0, "ews" },
    { "graph_url", K_STR, OFF(graph_url), 0, 0, 0, "https://graph.microsoft.com" },
    { "graph_login_url", K_STR, OFF(graph_login_url), 0, 0, 0,
      "https://login.microsoftonline.com" },
    { "graph_tenant", K_STR, OFF(graph_tenant), 0, 0, 0, NULL },
    { "graph_client_id", K_STR, OFF(graph_client_id), 0, 0, 0, NULL },
    { "graph_client_secret", K_SECRET, OFF(graph_client_secret), 0, 0, 0, NULL },
    { "graph_client_secret_file", K_FILE, NO_MEMBER, OFF(graph_client_secret), 0, 0, NULL },
    { "slots", K_INT, OFF(slots), 0, 1, 64, "2" },
    { "claim_wait", K_INT, OFF(claim_wait_s), 0, 0, MSE_PROTO_MAX_CLAIM_WAIT, "25" },
    { "tls_verify", K_BOOL, OFF(tls_verify), 0, 0, 0, "true" },
    { "tls_ca_file", K_STR, OFF(tls_ca_file), 0, 0, 0, NULL },
    { "ews_connect_timeout", K_INT, OFF(ews_connect_timeout_s), 0, 1, 600, "15" },
    { "ews_timeout", K_INT, OFF(ews_timeout_s), 0, 1, 3600, "300" },
    { "ews_max_response_bytes", K_INT, OFF(ews_max_response_bytes), 0, 64 * 1024,
      1024LL * 1024 * 1024, "67108864" },
    { "ews_getitem_batch", K_INT, OFF(ews_getitem_batch), 0, 1, 512, "100" },
    { "ews_parallel", K_INT, OFF(ews_parallel), 0, 1, MSE_EWS_PARALLEL_MAX, "4" },
    { "ews_max_concurrency", K_INT, OFF(ews_max_concurrency), 0, 1, 1000, "27" },
    { "ews_retry_max", K_INT, OFF(ews_retry_max), 0, 1, 100, "10" },
    { "ews_retry_max_wait", K_INT, OFF(ews_retry_max_wait_s), 0, 0, 86400, "900" },
    { "ews_backoff_base_ms", K_INT, OFF(ews_backoff_base_ms), 0, 0, 600000, "1000" },
    { "ews_backoff_max", K_INT, OFF(ews_backoff_max_s), 0, 0, 3600, "60" },
    { "ews_backoff_hint_max", K_INT, OFF(ews_backoff_hint_max_s), 0, 0, 3600, "300" },
    { "ews_auth_retries", K_INT, OFF(ews_auth_retries), 0, 0, 10, "2" },
    { "group_cache_ttl", K_INT, OFF(group_cache_ttl_s), 0, 0, 86400, "3600" },
    { "log_level", K_LEVEL, OFF(log_level), 0, 0, 0, "info" },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Raw values as found, and where, before they are converted. */
struct raw {
    char *value[N_KEYS];
    char source[N_KEYS][96];
};

static void raw_cleanup(struct raw *r)
{
    for (size_t i = 0; i < N_KEYS; i++)
        free(r->value[i]);
}

static const struct key_def *key_find(const char *name, size_t *index)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].key, name) == 0) {
            *index = i;
            return &keys[i];
        }
    }
    return NULL;
}

static enum mse_rc raw_set(struct raw *r, const char *key, const char *value, const char *source,
                           struct mse_err *err)
{
    size_t i;
    if (!key_find(key, &i)) {
        snprintf(err->msg, sizeof(err->msg), "%s: unknown setting \"%.64s\"", source, key);
        return MSE_ERR_INVALID;
    }
    char *copy = strdup(value);
    if (!copy)
        return MSE_ERR_NOMEM;
    free(r->value[i]);
    r->value[i] = copy;
    snprintf(r->source[i], sizeof(r->source[i]), "%s", source);
    return MSE_OK;
}

/* Reads a whole small file into a NUL-terminated string (at most max bytes). */
static enum mse_rc file_read(const char *path, size_t max, char **out, struct mse_err *err)
{
    enum mse_rc rc = MSE_ERR_IO;
    struct mse_buf b;
    mse_buf_init(&b, max);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->msg, sizeof(err->msg), "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    char chunk[4096];
    size_t n;
    rc = MSE_OK;
    while (rc == MSE_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = mse_buf_append(&b, chunk, n);
    if (rc == MSE_ERR_TOO_LARGE)
        snprintf(err->msg, sizeof(err->msg), "%s is larger than %zu bytes", path, max);
    else if (rc == MSE_OK && ferror(f)) {
        snprintf(err->msg, sizeof(err->msg), "cannot read %s", path);
        rc = MSE_ERR_IO;
    }
    if (rc == MSE_OK)
        rc = mse_buf_take(&b, out, NULL);
out:
    if (f)
        fclose(f);
    mse_buf_cleanup(&b);
    return rc == MSE_ERR_TOO_LARGE || rc == MSE_ERR_IO ? MSE_ERR_INVALID : rc;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* key = value lines; '#' starts a comment line; values may be quoted. */
static enum mse_rc file_parse_lines(char *text, const char *path, struct raw *r,
                                    struct mse_err *err)
{
    unsigned line = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        line++;
        char *l = trim(p);
        p = nl ? nl + 1 : NULL;
        if (!*l || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        char source[96];
        snprintf(source, sizeof(source), "%.80s:%u", path, line);
        if (!eq) {
            snprintf(err->msg, sizeof(err->msg), "%s: expected key = value", source);
            return MSE_ERR_INVALID;
        }
        *eq = '\0';
        char *key = trim(l), *value = trim(eq + 1);
        size_t vn = strlen(value);
        if (vn >= 2 && (value[0] == '"' || value[0] == '\'') && value[vn - 1] == value[0]) {
            value[vn - 1] = '\0';
            value++;
        }
        enum mse_rc rc = raw_set(r, key, value, source, err);
        if (rc != MSE_OK)
            return rc;
    }
    return MSE_OK;
}

/* {"key": "string" | number | bool | null, ...} */
static enum mse_rc file_parse_json(const char *text, const char *path, struct raw *r,
                                   struct mse_err *err)
{
    cJSON *o = cJSON_Parse(text);
    enum mse_rc rc = MSE_ERR_INVALID;
    if (!cJSON_IsObject(o)) {
        snprintf(err->msg, sizeof(err->msg), "%s is not a JSON object", path);
        goto out;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, o)
    {
        char num[32], source[96];
        const char *v = NULL;
        snprintf(source, sizeof(source), "%.80s", path);
        if (cJSON_IsString(e))
            v = e->valuestring;
        else if (cJSON_IsBool(e))
            v = cJSON_IsTrue(e) ? "true" : "false";
        else if (cJSON_IsNumber(e) && e->valuedouble == (double)(int64_t)e->valuedouble) {
            snprintf(num, sizeof(num), "%lld", (long long)e->valuedouble);
            v = num;
        } else if (cJSON_IsNull(e))
            continue;
        if (!v) {
            snprintf(err->msg, sizeof(err->msg),
                     "%s: \"%.64s\" must be a string, an integer or "
                     "a boolean",
                     path, e->string);
            goto out;
        }
        rc = raw_set(r, e->string, v, source, err);
        if (rc != MSE_OK)
            goto out;
    }
    rc = MSE_OK;
out:
    cJSON_Delete(o);
    return rc;
}

static enum mse_rc file_load(const char *path, struct raw *r, struct mse_err *err)
{
    char *text = NULL;
    enum mse_rc rc = file_read(path, MSE_CONFIG_FILE_MAX, &text, err);
    if (rc != MSE_OK)
        return rc;
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    rc = *p == '{' ? file_parse_json(text, path, r, err) : file_parse_lines(text, path, r, err);
    free(text);
    return rc;
}

static enum mse_rc env_load(struct raw *r, struct mse_err *err)
{
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, ENV_PREFIX, sizeof(ENV_PREFIX) - 1) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
        char name[96], key[96];
        if (!eq || n >= sizeof(name) || !eq[1])
            continue; /* empty variables count as unset, as elsewhere in MSE */
        memcpy(name, *e, n);
        name[n] = '\0';
        if (strcmp(name, ENV_PREFIX "CONFIG") == 0)
            continue;
        size_t k = 0;
        for (const char *s = name + sizeof(ENV_PREFIX) - 1; *s; s++)
            key[k++] = (char)tolower((unsigned char)*s);
        key[k] = '\0';
        enum mse_rc rc = raw_set(r, key, eq + 1, name, err);
        if (rc != MSE_OK)
            return rc;
    }
    return MSE_OK;
}

/* Converting -------------------------------------------------------------------------------- */

#define MEMBER(cfg, off, type) ((type *)((char *)(cfg) + (off)))

static enum mse_rc bool_parse(const char *v, bool *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
            *out = strcasecmp(v, yes[i]) == 0;
            return MSE_OK;
        }
    }
    return MSE_ERR_INVALID;
}

static enum mse_rc auth_parse(const char *v, enum ews_auth *out)
{
    static const struct {
        const char *name;
        enum ews_auth auth;
    } kinds[] = { { "basic", EWS_AUTH_BASIC },
                  { "ntlm", EWS_AUTH_NTLM },
                  { "bearer", EWS_AUTH_BEARER },
                  { "none", EWS_AUTH_NONE } };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcasecmp(v, kinds[i].name) == 0) {
            *out = kinds[i].auth;
            return MSE_OK;
        }
    }
    return MSE_ERR_INVALID;
}

/* Reads a secret file: its content without trailing line breaks and blanks. */
static enum mse_rc secret_file(const char *path, char **out, struct mse_err *err)
{
    char *text = NULL;
    enum mse_rc rc = file_read(path, MSE_SECRET_FILE_MAX, &text, err);
    if (rc != MSE_OK)
        return rc;
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1]))
        text[--n] = '\0';
    if (n == 0) {
        free(text);
        snprintf(err->msg, sizeof(err->msg), "%s is empty", path);
        return MSE_ERR_INVALID;
    }
    *out = text;
    return MSE_OK;
}

static enum mse_rc key_convert(const struct key_def *k, const char *v, const char *src,
                               struct worker_config *cfg, struct mse_err *err)
{
    const char *want = NULL;
    int64_t n;
    switch (k->kind) {
    case K_STR:
    case K_SECRET:
        *MEMBER(cfg, k->off, char *) = strdup(v);
        return *MEMBER(cfg, k->off, char *) ? MSE_OK : MSE_ERR_NOMEM;
    case K_FILE: {
        char **target = MEMBER(cfg, k->target, char *);
        if (*target) {
            snprintf(err->msg, sizeof(err->msg), "%s: set either %s or %.*s, not both", src, k->key,
                     (int)(strlen(k->key) - 5), k->key);
            return MSE_ERR_INVALID;
        }
        if (k->off != NO_MEMBER && !(*MEMBER(cfg, k->off, char *) = strdup(v)))
            return MSE_ERR_NOMEM;
        struct mse_err ferr = { { 0 } };
        enum mse_rc rc = secret_file(v, target, &ferr);
        if (rc == MSE_ERR_INVALID)
            snprintf(err->msg, sizeof(err->msg), "%s (%s): %.400s", k->key, src, ferr.msg);
        return rc;
    }
    case K_BOOL:
        if (bool_parse(v, MEMBER(cfg, k->off, bool)) == MSE_OK)
            return MSE_OK;
        want = "true or false";
        break;
    case K_INT:
        if (mse_parse_int(v, k->min, k->max, &n) == MSE_OK) {
            *MEMBER(cfg, k->off, int64_t) = n;
            return MSE_OK;
        }
        snprintf(err->msg, sizeof(err->msg), "%s (%s) must be an integer from %lld to %lld", k->key,
                 src, (long long)k->min, (long long)k->max);
        return MSE_ERR_INVALID;
    case K_AUTH:
        if (auth_parse(v, MEMBER(cfg, k->off, enum ews_auth)) == MSE_OK)
            return MSE_OK;
        want = "basic, ntlm, bearer or none";
        break;
    case K_VERSION:
        if (strcmp(v, "Exchange2013_SP1") == 0 || strcmp(v, "Exchange2016") == 0) {
            *MEMBER(cfg, k->off, char *) = strdup(v);
            return *MEMBER(cfg, k->off, char *) ? MSE_OK : MSE_ERR_NOMEM;
        }
        want = "Exchange2013_SP1 or Exchange2016";
        break;
    case K_LEVEL:
        if (mse_log_level_parse(v, MEMBER(cfg, k->off, enum mse_log_level)) == MSE_OK)
            return MSE_OK;
        want = "debug, info, warn or error";
        break;
    }
    snprintf(err->msg, sizeof(err->msg), "%s (%s) must be %s, got \"%.64s\"", k->key, src, want, v);
    return MSE_ERR_INVALID;
}

enum mse_rc worker_config_load(const char *path, struct worker_config *cfg, struct mse_err *err)
{
    struct raw r;
    memset(&r, 0, sizeof(r));
    memset(cfg, 0, sizeof(*cfg));
    err->msg[0] = '\0';
    if (!path)
        path = mse_env_str(ENV_PREFIX "CONFIG", NULL);
    enum mse_rc rc = path ? file_load(path, &r, err) : MSE_OK;
    if (rc == MSE_OK)
        rc = env_load(&r, err);
    /* Plain values before the files that fill secrets, so "both set" is detected. */
    for (int pass = 0; pass < 2 && rc == MSE_OK; pass++) {
        for (size_t i = 0; i < N_KEYS && rc == MSE_OK; i++) {
            const struct key_def *k = &keys[i];
            if ((k->kind == K_FILE) != (pass == 1))
                continue;
            const char *v = r.value[i] ? r.value[i] : k->def;
            if (v)
                rc = key_convert(k, v, r.value[i] ? r.source[i] : "default", cfg, err);
        }
    }
    raw_cleanup(&r);
    if (rc == MSE_OK && strcmp(cfg->backend, "ews") != 0 && strcmp(cfg->backend, "graph") != 0) {
        snprintf(err->msg, sizeof(err->msg), "backend must be ews or graph, got \"%.64s\"",
                 cfg->backend);
        rc = MSE_ERR_INVALID;
    }
    if (rc == MSE_ERR_NOMEM)
        snprintf(err->msg, sizeof(err->msg), "out of memory reading the configuration");
    if (rc != MSE_OK)
        worker_config_cleanup(cfg);
    return rc;
}

void worker_config_cleanup(struct worker_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key_def *k = &keys[i];
        bool owns = k->kind == K_STR || k->kind == K_SECRET || k->kind == K_VERSION ||
                    (k->kind == K_FILE && k->off != NO_MEMBER);
        if (owns) {
            char **p = MEMBER(cfg, k->off, char *);
            if (*p && k->kind == K_SECRET)
                memset(*p, 0, strlen(*p)); /* do not leave secrets in freed memory */
            free(*p);
            *p = NULL;
        }
    }
}

/* "ews_password is not set: set ews_password (or …) in the file or MSE_WORKER_EWS_PASSWORD". */
static enum mse_rc missing(struct mse_err *err, const char *key, const char *alt)
{
    char env[64];
    size_t i = 0;
    for (; key[i] && i + 1 < sizeof(env); i++)
        env[i] = (char)toupper((unsigned char)key[i]);
    env[i] = '\0';
    snprintf(err->msg, sizeof(err->msg),
             "%s is not set: set %s%s%s%s in the configuration file, or MSE_WORKER_%s", key, key,
             alt ? " (or " : "", alt ? alt : "", alt ? ")" : "", env);
    return MSE_ERR_INVALID;
}

enum mse_rc worker_config_require(const struct worker_config *cfg, bool ews, bool server,
                                  struct mse_err *err)
{
    bool userpass = cfg->ews_auth == EWS_AUTH_BASIC || cfg->ews_auth == EWS_AUTH_NTLM;
    bool graph = ews && strcmp(cfg->backend, "graph") == 0;
    if (graph && !cfg->graph_tenant)
        return missing(err, "graph_tenant", NULL);
    if (graph && !cfg->graph_client_id)
        return missing(err, "graph_client_id", NULL);
    if (graph && !cfg->graph_client_secret)
        return missing(err, "graph_client_secret", "graph_client_secret_file");
    if (graph)
        ews = false; /* mailboxes are read through Graph: no EWS endpoint is needed */
    if (ews && !cfg->ews_url)
        return missing(err, "ews_url", NULL);
    if (ews && userpass && !cfg->ews_username)
        return missing(err, "ews_username", NULL);
    if (ews && userpass && !cfg->ews_password)
        return missing(err, "ews_password", "ews_password_file");
    if (ews && cfg->ews_auth == EWS_AUTH_BEARER && !cfg->ews_bearer_token)
        return missing(err, "ews_bearer_token_file", "ews_bearer_token");
    if (server && !cfg->server_url)
        return missing(err, "server_url", NULL);
    if (server && !cfg->site_client_id)
        return missing(err, "site_client_id", NULL);
    if (server && !cfg->site_client_secret)
        return missing(err, "site_client_secret", "site_client_secret_file");
    return MSE_OK;
}

enum mse_rc worker_config_reload_token(struct worker_config *cfg, struct mse_err *err)
{
    if (!cfg->ews_bearer_token_file)
        return MSE_OK;
    char *token = NULL;
    enum mse_rc rc = secret_file(cfg->ews_bearer_token_file, &token, err);
    if (rc != MSE_OK)
        return rc;
    if (cfg->ews_bearer_token)
        memset(cfg->ews_bearer_token, 0, strlen(cfg->ews_bearer_token));
    free(cfg->ews_bearer_token);
    cfg->ews_bearer_token = token;
    return MSE_OK;
}

enum mse_rc worker_config_read_token(const struct worker_config *cfg, char **out,
                                     struct mse_err *err)
{
    *out = NULL;
    if (!cfg->ews_bearer_token_file)
        return MSE_OK;
    return secret_file(cfg->ews_bearer_token_file, out, err);
}

void worker_config_ews(const struct worker_config *cfg, struct ews_config *out)
{
    ews_config_defaults(out);
    out->url = cfg->ews_url;
    out->auth = cfg->ews_auth;
    out->username = cfg->ews_username;
    out->password = cfg->ews_password;
    out->bearer_token = cfg->ews_bearer_token;
    out->impersonation = cfg->ews_impersonation;
    out->version = cfg->ews_version;
    out->tls_verify = cfg->tls_verify;
    out->ca_file = cfg->tls_ca_file;
    out->connect_timeout_ms = (long)cfg->ews_connect_timeout_s * 1000;
    out->timeout_ms = (long)cfg->ews_timeout_s * 1000;
    out->max_response = (size_t)cfg->ews_max_response_bytes;
    out->retry_max = (unsigned)cfg->ews_retry_max;
    out->retry_max_wait_ms = cfg->ews_retry_max_wait_s * 1000;
    out->backoff_base_ms = cfg->ews_backoff_base_ms;
    out->backoff_cap_ms = cfg->ews_backoff_max_s * 1000;
    out->backoff_hint_max_ms = cfg->ews_backoff_hint_max_s * 1000;
    out->auth_retries = (unsigned)cfg->ews_auth_retries;
}

void worker_config_graph(const struct worker_config *cfg, struct graph_client_config *out)
{
    *out = (struct graph_client_config){
        .url = cfg->graph_url,
        .login_url = cfg->graph_login_url,
        .tenant = cfg->graph_tenant,
        .client_id = cfg->graph_client_id,
        .client_secret = cfg->graph_client_secret,
        .tls_verify = cfg->tls_verify,
        .ca_file = cfg->tls_ca_file,
        .connect_timeout_ms = (long)cfg->ews_connect_timeout_s * 1000,
        .timeout_ms = (long)cfg->ews_timeout_s * 1000,
        .max_response = (size_t)cfg->ews_max_response_bytes,
        .retry_max = (unsigned)cfg->ews_retry_max,
        .retry_max_wait_ms = cfg->ews_retry_max_wait_s * 1000,
        .backoff_base_ms = cfg->ews_backoff_base_ms,
        .backoff_hint_max_ms = cfg->ews_backoff_hint_max_s * 1000,
        .user_agent = "mse-worker/" MSE_VERSION,
    };
}

void worker_config_log(const struct worker_config *cfg)
{
    if (strcmp(cfg->backend, "graph") == 0)
        LOG_INFO(NULL, "backend graph: %s, tenant %s, app %s (secret %s)", cfg->graph_url,
                 cfg->graph_tenant ? cfg->graph_tenant : "-",
                 cfg->graph_client_id ? cfg->graph_client_id : "-",
                 cfg->graph_client_secret ? "[set]" : "[unset]");
    static const char *const auths[] = { "none", "basic", "ntlm", "bearer" };
    LOG_INFO(NULL,
             "configuration: server %s, site client %s (secret %s), EWS %s, auth kind %s, user "
             "%s (credential %s), impersonation %s, version %s, slots %lld, TLS verify %s%s%s, "
             "group cache %lld s",
             cfg->server_url ? cfg->server_url : "-",
             cfg->site_client_id ? cfg->site_client_id : "-",
             cfg->site_client_secret ? "[set]" : "[unset]", cfg->ews_url ? cfg->ews_url : "-",
             auths[cfg->ews_auth] /* "basic" must not precede a blank: see mse_log_redact */,
             cfg->ews_username ? cfg->ews_username : "-",
             cfg->ews_password || cfg->ews_bearer_token ? "[set]" : "[unset]",
             cfg->ews_impersonation ? "on" : "off", cfg->ews_version, (long long)cfg->slots,
             cfg->tls_verify ? "on" : "off", cfg->tls_ca_file ? ", CA file " : "",
             cfg->tls_ca_file ? cfg->tls_ca_file : "", (long long)cfg->group_cache_ttl_s);
}
