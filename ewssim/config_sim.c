/* SPDX-License-Identifier: Apache-2.0 */
/* EWS_SIM_* settings, and building the organisation and context they describe. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_limits.h"
#include "config.h"
#include "crypto.h"
#include "fixture.h"
#include "gen.h"
#include "sim.h"
#include "syncstate.h"

#ifndef EWS_SIM_DEFAULT_SCHEMA_DIR
#define EWS_SIM_DEFAULT_SCHEMA_DIR "/usr/share/ews-sim/schema"
#endif

/* EWS_SIM_SERVICE_ACCOUNT="address:password"; the password may contain colons. */
static enum mse_rc service_account_parse(struct sim_config *cfg, const char *v, struct mse_err *err)
{
    const char *colon = v ? strchr(v, ':') : NULL;
    if (!v || !v[0])
        return MSE_OK;
    if (!colon || colon == v || !colon[1] || !strchr(v, '@') ||
        (size_t)(colon - v) >= sizeof(cfg->service_user) ||
        strlen(colon + 1) >= sizeof(cfg->service_pass)) {
        snprintf(err->msg, sizeof(err->msg),
                 "EWS_SIM_SERVICE_ACCOUNT must be address:password (e.g. svc@example.com:secret)");
        return MSE_ERR_INVALID;
    }
    snprintf(cfg->service_user, sizeof(cfg->service_user), "%.*s", (int)(colon - v), v);
    snprintf(cfg->service_pass, sizeof(cfg->service_pass), "%s", colon + 1);
    return MSE_OK;
}

/* Copies a string variable, refusing values longer than the field. */
static enum mse_rc copy_env(char *dst, size_t size, const char *name, const char *def,
                            struct mse_err *err)
{
    const char *v = mse_env_str(name, def);
    if (strlen(v) >= size) {
        snprintf(err->msg, sizeof(err->msg), "%s is longer than %zu characters", name, size - 1);
        return MSE_ERR_INVALID;
    }
    snprintf(dst, size, "%s", v);
    return MSE_OK;
}

enum mse_rc sim_config_load(struct sim_config *cfg, struct mse_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    int64_t threads = 0, max_body = 0, seed = 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *listen = mse_env_str("EWS_SIM_LISTEN", "127.0.0.1:8081");
    if (mse_parse_hostport(listen, cfg->listen_host, sizeof(cfg->listen_host), &cfg->listen_port) !=
        MSE_OK) {
        snprintf(err->msg, sizeof(err->msg), "EWS_SIM_LISTEN must be host:port, not '%.100s'",
                 listen);
        return MSE_ERR_INVALID;
    }
    if (mse_env_int("EWS_SIM_THREADS", cores > 0 ? cores : 2, 1, 256, &threads, err) != MSE_OK ||
        mse_env_int("EWS_SIM_MAX_BODY_BYTES", SIM_MAX_BODY_DEFAULT, 4096, 512 * 1024 * 1024,
                    &max_body, err) != MSE_OK ||
        mse_env_int("EWS_SIM_SEED", 42, 0, INT64_MAX, &seed, err) != MSE_OK ||
        mse_env_bool("EWS_SIM_VALIDATE_RESPONSES", false, &cfg->validate_responses, err) !=
                MSE_OK ||
        realism_settings_load(&cfg->realism, err) != MSE_OK ||
        graph_settings_load(&cfg->graph, err) != MSE_OK)
        return MSE_ERR_INVALID;
    cfg->threads = (unsigned)threads;
    cfg->max_body = (size_t)max_body;
    cfg->seed = (uint64_t)seed;
    if (copy_env(cfg->fixture, sizeof(cfg->fixture), "EWS_SIM_FIXTURE", "", err) != MSE_OK ||
        copy_env(cfg->generate, sizeof(cfg->generate), "EWS_SIM_GENERATE", "", err) != MSE_OK ||
        copy_env(cfg->schema_dir, sizeof(cfg->schema_dir), "EWS_SIM_SCHEMA_DIR",
                 EWS_SIM_DEFAULT_SCHEMA_DIR, err) != MSE_OK ||
        copy_env(cfg->control_token, sizeof(cfg->control_token), "EWS_SIM_CONTROL_TOKEN", "",
                 err) != MSE_OK ||
        copy_env(cfg->data_dir, sizeof(cfg->data_dir), "EWS_SIM_DATA_DIR", "", err) != MSE_OK)
        return MSE_ERR_INVALID;
    if (cfg->fixture[0] && cfg->generate[0]) {
        snprintf(err->msg, sizeof(err->msg), "set EWS_SIM_FIXTURE or EWS_SIM_GENERATE, not both");
        return MSE_ERR_INVALID;
    }
    if (mse_log_level_parse(mse_env_str("EWS_SIM_LOG_LEVEL", "info"), &cfg->log_level) != MSE_OK) {
        snprintf(err->msg, sizeof(err->msg), "EWS_SIM_LOG_LEVEL must be debug|info|warn|error");
        return MSE_ERR_INVALID;
    }
    return service_account_parse(cfg, getenv("EWS_SIM_SERVICE_ACCOUNT"), err);
}

/* The service account may impersonate every mailbox (ApplicationImpersonation). */
static enum mse_rc service_account_add(const struct sim_config *cfg, struct org *o,
                                       struct mse_err *err)
{
    if (!cfg->service_user[0])
        return MSE_OK;
    struct sim_account *a = org_account(o, cfg->service_user);
    if (a) {
        mse_crypto_sha256(cfg->service_pass, strlen(cfg->service_pass), a->password_sha);
        a->has_password = true;
    } else if (org_account_add(o, cfg->service_user, cfg->service_pass, &a) != MSE_OK) {
        snprintf(err->msg, sizeof(err->msg), "out of memory adding the service account");
        return MSE_ERR_NOMEM;
    }
    a->impersonate_all = true;
    return MSE_OK;
}

enum mse_rc sim_org_build(const struct sim_config *cfg, struct org **out, struct mse_err *err)
{
    struct org *o = NULL;
    enum mse_rc rc;
    if (cfg->fixture[0]) {
        rc = fixture_load(cfg->fixture, &o, err);
    } else {
        struct gen_params p;
        rc = gen_params_parse(cfg->generate, cfg->seed, &p, err);
        if (rc == MSE_OK)
            rc = gen_build(&p, &o, err);
    }
    if (rc == MSE_OK)
        rc = service_account_add(cfg, o, err);
    if (rc != MSE_OK) {
        org_free(o);
        return rc;
    }
    *out = o;
    return MSE_OK;
}

/* Reads exactly n bytes of path; MSE_ERR_NOT_FOUND when it does not exist. */
static enum mse_rc key_read(const char *path, uint8_t *key, size_t n, struct mse_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return MSE_ERR_NOT_FOUND;
    if (fd < 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot read %.300s: %s", path, strerror(errno));
        return MSE_ERR_IO;
    }
    uint8_t extra;
    ssize_t got = read(fd, key, n);
    bool exact = got == (ssize_t)n && read(fd, &extra, 1) == 0;
    close(fd);
    if (!exact) {
        snprintf(err->msg, sizeof(err->msg),
                 "%.300s is not a SyncState key (%zu bytes expected); remove it to start afresh",
                 path, n);
        return MSE_ERR_INVALID;
    }
    return MSE_OK;
}

/* Writes the key whole or not at all: a temporary file, fsync'd, renamed into place. */
static enum mse_rc key_write(const char *dir, const char *path, const uint8_t *key, size_t n,
                             struct mse_err *err)
{
    char tmp[1200];
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err->msg, sizeof(err->msg), "cannot create EWS_SIM_DATA_DIR %.300s: %s", dir,
                 strerror(errno));
        return MSE_ERR_IO;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, key, n) == (ssize_t)n && fsync(fd) == 0;
    int saved = errno;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        snprintf(err->msg, sizeof(err->msg), "cannot write %.300s: %s", path, strerror(saved));
        (void)unlink(tmp);
        return MSE_ERR_IO;
    }
    return MSE_OK;
}

/*
 * The key SyncStates are signed with. Exchange's sync states stay valid when a server
 * restarts; with EWS_SIM_DATA_DIR the key is kept there, so a restarted sim serving the same
 * organisation accepts the states it handed out before. Without it, a key per process.
 */
static enum mse_rc syncstate_key_load(const struct sim_config *cfg, struct mse_err *err)
{
    uint8_t key[32];
    char path[1100];
    enum mse_rc rc = MSE_ERR_NOT_FOUND;
    snprintf(path, sizeof(path), "%s/syncstate.key", cfg->data_dir);
    if (cfg->data_dir[0])
        rc = key_read(path, key, sizeof(key), err);
    if (rc == MSE_ERR_NOT_FOUND) {
        if (mse_crypto_random(key, sizeof(key)) != MSE_OK) {
            snprintf(err->msg, sizeof(err->msg), "no randomness for the SyncState key");
            return MSE_ERR_CRYPTO;
        }
        rc = cfg->data_dir[0] ? key_write(cfg->data_dir, path, key, sizeof(key), err) : MSE_OK;
    }
    if (rc == MSE_OK)
        syncstate_key_init(key);
    return rc;
}

enum mse_rc sim_init(struct sim *s, struct mse_err *err)
{
    realism_init(&s->realism, &s->cfg.realism, s->cfg.seed); /* first: cleanup destroys it */
    graph_init(&s->graph);
    enum mse_rc krc = syncstate_key_load(&s->cfg, err);
    if (krc != MSE_OK)
        return krc;
    faults_init(&s->faults, s->cfg.seed);
    s->schema = schema_load(s->cfg.schema_dir, err);
    if (!s->schema)
        return MSE_ERR_INVALID;
    struct org *o = NULL;
    enum mse_rc rc = sim_org_build(&s->cfg, &o, err);
    if (rc != MSE_OK)
        return rc;
    store_init(&s->store, o);
    return MSE_OK;
}

void sim_cleanup(struct sim *s)
{
    if (s->store.org)
        store_cleanup(&s->store);
    schema_free(s->schema);
    s->schema = NULL;
    faults_cleanup(&s->faults);
    realism_cleanup(&s->realism);
    graph_cleanup(&s->graph);
}
