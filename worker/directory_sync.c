/* SPDX-License-Identifier: Apache-2.0 */
/* The site's directory as the server configures it: tests, refreshes, the group catalogue. */
#include "directory_sync.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "log.h"
#include "mse/protocol.h"
#include "server_client.h"
#include "timefmt.h"

/* Groups and OUs one catalogue carries (the server refuses more). */
#define DIRECTORY_CATALOGUE_MAX 20000
/* Tests one job runs; more wait for the next poll (the server lists them until answered). */
#define DIRECTORY_JOB_TESTS 16

struct directory_sync {
    pthread_mutex_t lock;
    bool configured;
    struct directory_config cfg; /* under lock */
    int64_t version;             /* of the server's directory row; 0 = none seen */
    bool refresh_known;
    int64_t refresh_seq;      /* the last refresh request applied */
    int64_t catalogue_due_ms; /* under lock */
    int64_t catalogue_ms;
    struct group_cache *cache;
    /* The directory thread: one job at a time, started by a poll, on its own client. */
    const struct srv_config *srv_cfg;
    const atomic_bool *stop;
    struct srv_client *job_srv;
    pthread_t job;
    bool job_started;
    atomic_bool job_running;
    char job_tests[DIRECTORY_JOB_TESTS][40];
    size_t job_ntests;
    bool job_catalogue;
};

struct directory_sync *directory_sync_new(struct group_cache *cache, int64_t catalogue_ms,
                                          const struct srv_config *srv, const atomic_bool *stop)
{
    struct directory_sync *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        return NULL;
    }
    d->cache = cache;
    d->catalogue_ms = catalogue_ms > 0 ? catalogue_ms : 3600 * 1000;
    d->srv_cfg = srv;
    d->stop = stop;
    return d;
}

void directory_sync_free(struct directory_sync *d)
{
    if (!d)
        return;
    if (d->job_started)
        pthread_join(d->job, NULL);
    srv_client_free(d->job_srv);
    explicit_bzero(&d->cfg, sizeof(d->cfg));
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* Copies the configuration; false when the site has none. */
static bool config_get(struct directory_sync *d, struct directory_config *out)
{
    pthread_mutex_lock(&d->lock);
    bool ok = d->configured;
    if (ok)
        *out = d->cfg;
    pthread_mutex_unlock(&d->lock);
    return ok;
}

static void copy_str(char *dst, size_t size, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(dst, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* Takes the server's directory object (or null); true when it changed. */
static bool config_apply(struct directory_sync *d, const cJSON *dir)
{
    struct directory_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(dir, "version");
    int64_t v = cJSON_IsNumber(version) ? (int64_t)version->valuedouble : 0;
    if (cJSON_IsObject(dir)) {
        const cJSON *u;
        size_t off = 0;
        cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(dir, "urls"))
        {
            if (cJSON_IsString(u) && off < sizeof(cfg.urls))
                off += (size_t)snprintf(cfg.urls + off, sizeof(cfg.urls) - off, "%s%s",
                                        off ? " " : "", u->valuestring);
        }
        copy_str(cfg.bind_dn, sizeof(cfg.bind_dn), dir, "bind_dn");
        copy_str(cfg.password, sizeof(cfg.password), dir, "password");
        copy_str(cfg.base_dn, sizeof(cfg.base_dn), dir, "base_dn");
        cfg.tls_verify = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(dir, "tls_verify"));
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(dir, "page_size");
        cfg.page_size = cJSON_IsNumber(ps) ? (unsigned)ps->valuedouble : 0;
    }
    pthread_mutex_lock(&d->lock);
    bool changed = d->configured != cJSON_IsObject(dir) || d->version != v;
    d->configured = cJSON_IsObject(dir);
    d->cfg = cfg;
    d->version = v;
    pthread_mutex_unlock(&d->lock);
    explicit_bzero(&cfg, sizeof(cfg));
    return changed;
}

/* Runs one requested test and posts its outcome. */
static enum mse_rc test_run(struct directory_sync *d, struct srv_client *srv, const char *id,
                            struct mse_err *err)
{
    struct directory_config cfg;
    const char *reason = "no_directory";
    struct mse_err why = { { 0 } };
    enum mse_rc rc = MSE_ERR_UNAVAILABLE;
    if (config_get(d, &cfg))
        rc = directory_check(&cfg, &reason, &why);
    else
        snprintf(why.msg, sizeof(why.msg), "no directory configured for this site");
    explicit_bzero(&cfg, sizeof(cfg));
    cJSON *body = cJSON_CreateObject();
    if (!body)
        return MSE_ERR_NOMEM;
    cJSON_AddBoolToObject(body, "ok", rc == MSE_OK);
    if (rc != MSE_OK) {
        cJSON_AddStringToObject(body, "reason_code", reason);
        cJSON_AddStringToObject(body, "detail", why.msg);
    }
    LOG_INFO(NULL, "directory test %s: %s", id, rc == MSE_OK ? "ok" : why.msg);
    char path[128];
    snprintf(path, sizeof(path), MSE_WORKER_PREFIX "/directory/tests/%s", id);
    struct srv_reply r;
    rc = srv_call(srv, "POST", path, body, &r, err);
    cJSON_Delete(body);
    /* 404: another worker of the site answered the test first. */
    if (rc == MSE_OK && r.status != 204 && r.status != 404) {
        snprintf(err->msg, sizeof(err->msg), "directory test result: HTTP %ld %s", r.status,
                 r.detail);
        rc = MSE_ERR_UNAVAILABLE;
    }
    srv_reply_cleanup(&r);
    return rc;
}

static cJSON *catalogue_json(const struct directory_groups *g)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *list = body ? cJSON_AddArrayToObject(body, "groups") : NULL;
    for (size_t i = 0; list && i < g->n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(list, o)) {
            cJSON_Delete(o);
            list = NULL;
            break;
        }
        cJSON_AddStringToObject(o, "dn", g->v[i].dn);
        if (g->v[i].name)
            cJSON_AddStringToObject(o, "name", g->v[i].name);
        else
            cJSON_AddNullToObject(o, "name");
        if (g->v[i].mail)
            cJSON_AddStringToObject(o, "mail", g->v[i].mail);
        else
            cJSON_AddNullToObject(o, "mail");
        cJSON_AddStringToObject(o, "kind", g->v[i].kind);
        if (g->v[i].member_count >= 0)
            cJSON_AddNumberToObject(o, "member_count", (double)g->v[i].member_count);
        else
            cJSON_AddNullToObject(o, "member_count");
    }
    if (!list) {
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

/* Lists the directory's groups and OUs and sends them for the server's look-up. */
static enum mse_rc catalogue_send(struct directory_sync *d, struct srv_client *srv,
                                  struct mse_err *err)
{
    struct directory_config cfg;
    struct directory_groups g;
    const char *reason = "";
    if (!config_get(d, &cfg))
        return MSE_OK;
    enum mse_rc rc = directory_catalogue(&cfg, DIRECTORY_CATALOGUE_MAX, &g, &reason, err);
    explicit_bzero(&cfg, sizeof(cfg));
    if (rc != MSE_OK)
        return rc;
    cJSON *body = catalogue_json(&g);
    size_t n = g.n;
    directory_groups_cleanup(&g);
    if (!body)
        return MSE_ERR_NOMEM;
    struct srv_reply r;
    rc = srv_call(srv, "PUT", MSE_WORKER_PREFIX "/directory/groups", body, &r, err);
    cJSON_Delete(body);
    if (rc == MSE_OK && r.status != 204) {
        snprintf(err->msg, sizeof(err->msg), "directory catalogue: HTTP %ld %s", r.status,
                 r.detail);
        rc = MSE_ERR_UNAVAILABLE;
    }
    srv_reply_cleanup(&r);
    if (rc == MSE_OK)
        LOG_INFO(NULL, "directory catalogue sent: %zu groups and OUs", n);
    return rc;
}

/* Drops the cache entries of the groups whose refresh was asked for since the last poll. */
static void refreshes_apply(struct directory_sync *d, const cJSON *reply)
{
    const cJSON *e, *seq = cJSON_GetObjectItemCaseSensitive(reply, "refresh_seq");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(reply, "refreshes"))
    {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(e, "kind");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(e, "value");
        enum group_kind k;
        if (cJSON_IsString(kind) && cJSON_IsString(value) &&
            group_kind_parse(kind->valuestring, &k) == MSE_OK) {
            group_cache_drop(d->cache, k, value->valuestring);
            LOG_INFO(NULL, "membership of %s %s: refresh requested", kind->valuestring,
                     value->valuestring);
        }
    }
    if (cJSON_IsNumber(seq)) {
        d->refresh_seq = (int64_t)seq->valuedouble;
        d->refresh_known = true;
    }
}

/* The directory thread's one job: the tests it was given, then the catalogue when due. */
static void *job_main(void *arg)
{
    struct directory_sync *d = arg;
    struct mse_err err = { { 0 } };
    enum mse_rc rc = MSE_OK;
    if (!d->job_srv) {
        rc = srv_client_new(d->srv_cfg, &d->job_srv, &err);
        if (rc == MSE_OK)
            srv_client_set_stop(d->job_srv, d->stop);
    }
    for (size_t i = 0; rc == MSE_OK && i < d->job_ntests; i++)
        rc = test_run(d, d->job_srv, d->job_tests[i], &err);
    if (rc == MSE_OK && d->job_catalogue) {
        int64_t now = mse_time_mono_ms();
        rc = catalogue_send(d, d->job_srv, &err);
        /* A failed catalogue is tried again at the next poll, not after a whole period. */
        pthread_mutex_lock(&d->lock);
        d->catalogue_due_ms = rc == MSE_OK ? now + d->catalogue_ms : 0;
        pthread_mutex_unlock(&d->lock);
    }
    if (rc != MSE_OK)
        LOG_WARN(NULL, "directory: %s", err.msg);
    atomic_store(&d->job_running, false);
    return NULL;
}

/* Hands the listed tests and a due catalogue to the directory thread, unless it is busy. */
static void job_start(struct directory_sync *d, const cJSON *tests)
{
    const cJSON *t;
    if (atomic_load(&d->job_running))
        return; /* the tests stay pending on the server: the next poll lists them again */
    if (d->job_started)
        pthread_join(d->job, NULL);
    d->job_started = false;
    d->job_ntests = 0;
    cJSON_ArrayForEach(t, tests)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
        if (cJSON_IsString(id) && d->job_ntests < DIRECTORY_JOB_TESTS)
            snprintf(d->job_tests[d->job_ntests++], sizeof(d->job_tests[0]), "%s", id->valuestring);
    }
    pthread_mutex_lock(&d->lock);
    d->job_catalogue = d->configured && mse_time_mono_ms() >= d->catalogue_due_ms;
    pthread_mutex_unlock(&d->lock);
    if (!d->job_ntests && !d->job_catalogue)
        return;
    atomic_store(&d->job_running, true);
    if (pthread_create(&d->job, NULL, job_main, d) != 0) {
        atomic_store(&d->job_running, false);
        LOG_WARN(NULL, "directory: cannot start the directory thread");
        return;
    }
    d->job_started = true;
}

enum mse_rc directory_sync_poll(struct directory_sync *d, struct srv_client *srv,
                                struct mse_err *err)
{
    char path[128];
    struct srv_reply r;
    if (d->refresh_known)
        snprintf(path, sizeof(path), MSE_WORKER_PREFIX "/directory?refresh_after=%lld",
                 (long long)d->refresh_seq);
    else
        snprintf(path, sizeof(path), MSE_WORKER_PREFIX "/directory");
    enum mse_rc rc = srv_call(srv, "GET", path, NULL, &r, err);
    if (rc == MSE_OK && r.status != 200) {
        snprintf(err->msg, sizeof(err->msg), "directory: HTTP %ld %s", r.status, r.detail);
        rc = MSE_ERR_UNAVAILABLE;
    }
    if (rc != MSE_OK) {
        srv_reply_cleanup(&r);
        return rc;
    }
    if (config_apply(d, cJSON_GetObjectItemCaseSensitive(r.body, "directory"))) {
        /* Another directory may hold other members: nothing resolved before stays valid. */
        group_cache_clear(d->cache);
        pthread_mutex_lock(&d->lock);
        d->catalogue_due_ms = 0;
        pthread_mutex_unlock(&d->lock);
    }
    refreshes_apply(d, r.body);
    job_start(d, cJSON_GetObjectItemCaseSensitive(r.body, "tests"));
    srv_reply_cleanup(&r);
    return MSE_OK;
}

/* The group_expander hook: the configuration of the moment, one connection per resolution. */
static enum mse_rc sync_resolve(void *dctx, const char *dn, char ***addresses, size_t *n,
                                const char **reason, struct mse_err *err)
{
    struct directory_sync *d = dctx;
    struct directory_config cfg;
    struct directory_members m;
    *addresses = NULL;
    *n = 0;
    if (!config_get(d, &cfg)) {
        snprintf(err->msg, sizeof(err->msg), "no directory configured for this site");
        *reason = "no_directory";
        return MSE_ERR_UNAVAILABLE;
    }
    int64_t t0 = mse_time_mono_ms();
    enum mse_rc rc = directory_resolve(&cfg, dn, &m, reason, err);
    explicit_bzero(&cfg, sizeof(cfg));
    if (rc != MSE_OK)
        return rc;
    LOG_INFO(NULL, "group %s: %zu mailboxes from the directory in %lld ms, %zu left out", dn,
             m.addresses.n, (long long)(mse_time_mono_ms() - t0), m.excluded.n);
    for (size_t i = 0; i < m.excluded.n; i++)
        LOG_INFO(NULL, "group %s: left out %s", dn, m.excluded.v[i]);
    *addresses = m.addresses.v;
    *n = m.addresses.n;
    m.addresses.v = NULL; /* ownership moves to the caller */
    m.addresses.n = 0;
    directory_members_cleanup(&m);
    return MSE_OK;
}

void directory_sync_expander(struct directory_sync *d, struct group_expander *x)
{
    x->directory = d ? sync_resolve : NULL;
    x->dctx = d;
}
