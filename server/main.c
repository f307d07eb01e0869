/* SPDX-License-Identifier: Apache-2.0 */
/* mse-server start-up: configuration, migrations, HTTP, and orderly shutdown on signals. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "blobs.h"
#include "exports.h"
#include "blobstore.h"
#include "bootstrap.h"
#include "metrics.h"
#include "routes.h"
#include "scheduler.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "migrate.h"
#include "routes.h"
#include "secrets.h"
#include "server.h"
#include "timefmt.h"

/* How long start-up keeps retrying an unreachable database (e.g. still booting). */
#define STARTUP_DB_WAIT_MS 30000

static void usage(FILE *out)
{
    fprintf(out, "usage: mse-server [--migrate-only] [--list-routes] [--version] [--help]\n"
                 "Configuration comes from MSE_* environment variables (see README).\n");
}

/* The route table as JSON lines {method, pattern, role}, for tests and documentation. */
static void routes_print(void)
{
    /*
     * Configurable roles print their default: /metrics (ROLE_METRICS) is public unless
     * MSE_METRICS_AUTH asks for a token; the docs (ROLE_DOCS) need one unless MSE_DOCS_PUBLIC.
     */
    static const char *const roles[] = { "public", "read", "admin",   "site",
                                         "public", "read", "journal", "mailbox" };
    for (size_t i = 0; i < routes_count; i++)
        printf("{\"method\":\"%s\",\"pattern\":\"%s\",\"role\":\"%s\"}\n", routes_table[i].method,
               routes_table[i].pattern, roles[routes_table[i].role]);
}

/*
 * Connects, applies migrations, creates the first admin client if there is none and copies
 * into the blob store what schema 033 left in the database, retrying while the database is
 * unreachable.
 */
static enum mse_rc startup_migrate(struct server_ctx *srv, bool migrate_only)
{
    const struct server_config *cfg = &srv->cfg;
    struct db *db = NULL;
    struct db_error dberr;
    struct mse_err err = { { 0 } };
    int64_t deadline = mse_time_mono_ms() + STARTUP_DB_WAIT_MS;
    enum mse_rc rc;
    while ((rc = db_connect(cfg->database_url, &db, &dberr)) == MSE_ERR_UNAVAILABLE &&
           mse_time_mono_ms() < deadline) {
        LOG_WARN(NULL, "database not reachable yet (%s); retrying", dberr.message);
        sleep(1);
    }
    if (rc != MSE_OK) {
        LOG_ERROR(NULL, "cannot connect to the database: %s", dberr.message);
        return rc;
    }
    unsigned applied = 0;
    rc = migrate_apply(db, &applied, &err);
    if (rc != MSE_OK)
        LOG_ERROR(NULL, "%s", err.msg);
    else
        LOG_INFO(NULL, "schema current at %s (%u applied now)", migrate_latest(), applied);
    if (rc == MSE_OK && !migrate_only) {
        rc = bootstrap_run(db, cfg, &err);
        if (rc != MSE_OK)
            LOG_ERROR(NULL, "%s", err.msg);
    }
    if (rc == MSE_OK && !migrate_only) {
        rc = blobs_move_from_database(srv, db, &dberr);
        if (rc != MSE_OK)
            LOG_ERROR(NULL, "copying content into the blob store: %s", dberr.message);
    }
    db_close(db);
    return rc;
}

/* Blocks until SIGTERM or SIGINT. The signals are blocked in every thread, so only this sees them.
 */
static int wait_for_signal(const sigset_t *set)
{
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}

int main(int argc, char **argv)
{
    bool migrate_only = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--migrate-only")) {
            migrate_only = true;
        } else if (!strcmp(argv[i], "--list-routes")) {
            routes_print();
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("mse-server %s\n", MSE_VERSION);
            return 0;
        } else if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    struct server_ctx srv = { 0 };
    struct mse_err err = { { 0 } };
    if (server_config_load(&srv.cfg, &err) != MSE_OK) {
        fprintf(stderr, "mse-server: %s\n", err.msg);
        return 2;
    }
    mse_log_setup("server", srv.cfg.log_level);
    mse_log_repeat_window(srv.cfg.log_repeat_seconds * 1000u);
    signal(SIGPIPE, SIG_IGN);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    enum mse_rc brc = migrate_only ? MSE_OK : blobstore_new(&srv.cfg.blobs, &srv.blobs, &err);
    if (brc != MSE_OK) {
        LOG_ERROR(NULL, "blob store: %s", err.msg);
        return brc == MSE_ERR_INVALID ? 2 : 1; /* 2, like every configuration error */
    }
    if (startup_migrate(&srv, migrate_only) != MSE_OK) {
        blobstore_free(srv.blobs);
        return 1;
    }
    if (migrate_only)
        return 0;
    if (secrets_load(srv.cfg.master_key_file, srv.cfg.data_dir, &srv.secrets, &err) != MSE_OK) {
        LOG_ERROR(NULL, "%s", err.msg);
        blobstore_free(srv.blobs);
        return 1;
    }

    /* Block the stop signals before any thread starts so they all inherit the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    int exit_code = 1;
    srv.started_mono_ms = mse_time_mono_ms();
    srv.pool = db_pool_new(srv.cfg.database_url, srv.cfg.db_pool_size);
    struct scheduler *sched = NULL;
    struct exports *exports = NULL;
    if (!srv.pool || auth_setup(&srv) != MSE_OK || metrics_init(routes_count) != MSE_OK) {
        LOG_ERROR(NULL, "out of memory creating the database pool and caches");
        goto out;
    }
    db_pool_on_connect(srv.pool, scheduler_on_connect, &srv);
    if (http_start(&srv, &err) != MSE_OK || scheduler_start(&srv, &sched, &err) != MSE_OK ||
        exports_start(&srv, &exports, &err) != MSE_OK) {
        LOG_ERROR(NULL, "%s", err.msg);
        goto out;
    }
    LOG_INFO(NULL, "mse-server %s listening on http://%s:%u (%u threads, %u db connections)",
             MSE_VERSION, srv.cfg.listen_host, srv.port, srv.cfg.threads, srv.cfg.db_pool_size);

    int sig = wait_for_signal(&stop_signals);
    LOG_INFO(NULL, "received %s; finishing in-flight requests",
             sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&srv.stopping, true);
    /* No new executions while in-flight requests finish. */
    scheduler_stop(sched);
    sched = NULL;
    exports_stop(exports); /* an export in production is given back */
    exports = NULL;
    http_stop(&srv, srv.cfg.shutdown_grace);
    exit_code = 0;
    LOG_INFO(NULL, "stopped");
out:
    scheduler_stop(sched);
    exports_stop(exports);
    http_stop(&srv, 0);
    db_pool_free(srv.pool);
    metrics_cleanup();
    auth_teardown(&srv);
    memset(&srv.secrets, 0, sizeof(srv.secrets));
    blobstore_free(srv.blobs);
    curl_global_cleanup();
    return exit_code;
}
