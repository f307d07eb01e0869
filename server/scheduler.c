/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's background duties: executions for due tasks (skipped when one is still
 * active), re-queueing executions whose lease ran out, and expired records. Every server
 * runs one; row locks (SKIP LOCKED) keep several servers on one database from doing a thing
 * twice.
 */
#include "scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "blobs.h"
#include "content.h"
#include "db.h"
#include "db_exec.h"
#include "db_schedule.h"
#include "db_sync.h"
#include "log.h"
#include "metrics.h"
#include "schedule.h"
#include "server.h"
#include "timefmt.h"

/* Due tasks handled per transaction; more are taken at once in the next round. */
#define SCHEDULER_BATCH 64
#define HOUSEKEEPING_MS (60 * 1000)

struct scheduler {
    struct server_ctx *srv;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    struct db *db;
    int64_t housekeeping_at;
    int64_t blob_sweep_at; /* when the collector of unreferenced uploads runs next */
    char index_after[65];  /* the archive search indexer's place in its pass (content.h) */
    int64_t retention_at;  /* when retention's sweeper runs next */
};

/* The next run strictly after the later of now and the run just due. */
static void next_after(const struct schedule *rules, time_t due, bool *has, time_t *next)
{
    time_t now = time(NULL), from = due > now ? due : now;
    unsigned n = 0;
    *has = schedule_next_runs(rules, from, next, 1, &n) == MSE_OK && n == 1;
}

/* One transaction over up to SCHEDULER_BATCH due tasks; *n how many were due. */
static enum mse_rc schedule_due(struct db *db, unsigned *n, struct db_error *err)
{
    struct due_task due[SCHEDULER_BATCH];
    enum mse_rc rc = db_begin(db, err);
    if (rc == MSE_OK)
        rc = db_exec_due_tasks(db, SCHEDULER_BATCH, due, n, err);
    for (unsigned i = 0; rc == MSE_OK && i < *n; i++) {
        struct db_schedule s = { 0 };
        bool has = false, queued = false;
        time_t next = 0;
        rc = db_schedule_get(db, due[i].schedule_id, false, true, &s, err);
        if (rc == MSE_OK)
            next_after(&s.rules, due[i].next_run_at, &has, &next);
        db_schedule_cleanup(&s);
        if (rc == MSE_OK)
            rc = db_exec_schedule(db, due[i].id, has, next, &queued, err);
        if (rc == MSE_OK)
            metrics_count(queued ? METRIC_EXECUTIONS_SCHEDULED : METRIC_EXECUTIONS_SKIPPED, 1);
        if (rc == MSE_OK && !queued)
            LOG_INFO(NULL, "task %s was due while its last execution was still active: skipped",
                     due[i].id);
    }
    if (rc == MSE_OK)
        rc = db_commit(db, err);
    else
        db_rollback(db);
    return rc;
}

/* Stamps the server alive, extending the leases an outage would have cost (schema 025). */
static enum mse_rc leases_resume(struct db *db, const struct server_ctx *srv, struct db_error *err)
{
    int64_t extended = 0;
    enum mse_rc rc = db_exec_leases_resume(db, srv->cfg.heartbeat_seconds, &extended, err);
    if (rc == MSE_OK && extended > 0)
        LOG_WARN(NULL,
                 "nothing could serve workers for a while (database or server down): "
                 "%lld lease(s) extended by that time",
                 (long long)extended);
    return rc;
}

void scheduler_on_connect(struct db *db, void *srv)
{
    struct db_error err;
    /* A failure leaves the stamp to the next tick; the request goes on. */
    if (leases_resume(db, srv, &err) != MSE_OK)
        LOG_WARN(NULL, "leases not resumed on connect: %s", err.message);
}

static enum mse_rc scheduler_tick(struct scheduler *s, struct db_error *err)
{
    int64_t expired = 0;
    enum mse_rc rc = MSE_OK;
    if (!s->db)
        rc = db_connect(s->srv->cfg.database_url, &s->db, err);
    /* Before the sweep: a lease the outage let lapse is extended, not re-queued. */
    if (rc == MSE_OK)
        rc = leases_resume(s->db, s->srv, err);
    if (rc == MSE_OK)
        rc = db_exec_expire_leases(s->db, &expired, err);
    if (rc == MSE_OK && expired > 0) {
        metrics_count(METRIC_LEASE_EXPIRIES, (uint64_t)expired);
        LOG_WARN(NULL, "%lld execution(s) lost their lease and were queued again",
                 (long long)expired);
    }
    unsigned n = SCHEDULER_BATCH;
    while (rc == MSE_OK && n == SCHEDULER_BATCH)
        rc = schedule_due(s->db, &n, err);
    /* Sync tasks have no schedule: each is due interval_minutes after its last run ended. */
    int64_t synced = 0;
    if (rc == MSE_OK)
        rc = db_sync_schedule(s->db, &synced, err);
    if (rc == MSE_OK && synced > 0)
        metrics_count(METRIC_EXECUTIONS_SCHEDULED, (uint64_t)synced);
    int64_t waiting = 0; /* shown per execution; the gauge is read from the database */
    if (rc == MSE_OK)
        rc = db_exec_waiting_for_worker(s->db, &waiting, err);
    if (rc == MSE_OK && mse_time_mono_ms() >= s->housekeeping_at) {
        rc = db_exec_housekeeping(s->db, err);
        s->housekeeping_at = mse_time_mono_ms() + HOUSEKEEPING_MS;
    }
    /* Newly archived content becomes searchable within a tick or a few. */
    unsigned indexed = CONTENT_INDEX_BATCH;
    for (int round = 0; rc == MSE_OK && indexed == CONTENT_INDEX_BATCH && round < 4; round++)
        rc = content_index(s->srv, s->db, s->index_after, &indexed, err);
    unsigned collected = 0;
    if (rc == MSE_OK && mse_time_mono_ms() >= s->blob_sweep_at) {
        rc = blobs_sweep(s->srv, s->db, &collected, err);
        /* A full batch means more are waiting: look again at the next tick. */
        if (collected < BLOBS_SWEEP_BATCH)
            s->blob_sweep_at = mse_time_mono_ms() + s->srv->cfg.blob_sweep_seconds * 1000LL;
    }
    bool backlog = false;
    if (rc == MSE_OK && mse_time_mono_ms() >= s->retention_at) {
        rc = retention_sweep(s->srv, s->db, &backlog, err);
        /* A sweep that failed (a store unreachable, say) is tried at its next interval. */
        if (rc != MSE_OK && rc != MSE_ERR_UNAVAILABLE) {
            LOG_WARN(NULL, "retention: sweep failed: %s (%s)", err->message, mse_rc_str(rc));
            rc = MSE_OK;
            backlog = false;
        }
        if (rc == MSE_OK && !backlog)
            s->retention_at = mse_time_mono_ms() + s->srv->cfg.retention_sweep_seconds * 1000LL;
    }
    return rc;
}

static void *scheduler_main(void *arg)
{
    struct scheduler *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        pthread_mutex_unlock(&s->lock);
        struct db_error err;
        enum mse_rc rc = scheduler_tick(s, &err);
        if (rc != MSE_OK) {
            LOG_WARN(NULL, "scheduler: %s (%s); retrying", err.message, mse_rc_str(rc));
            db_close(s->db); /* a fresh connection next time */
            s->db = NULL;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + (int64_t)s->srv->cfg.scheduler_ms * 1000000;
        until.tv_sec += ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        pthread_mutex_lock(&s->lock);
        while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

enum mse_rc scheduler_start(struct server_ctx *srv, struct scheduler **out, struct mse_err *err)
{
    struct scheduler *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (!s)
        return MSE_ERR_NOMEM;
    s->srv = srv;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot start the scheduler thread");
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->wake);
        free(s);
        return MSE_ERR_NOMEM;
    }
    *out = s;
    return MSE_OK;
}

void scheduler_stop(struct scheduler *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    db_close(s->db);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
}
