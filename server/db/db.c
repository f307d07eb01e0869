/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PostgreSQL access: a pool of connections shared by the HTTP threads, lazily prepared
 * statements, transactions, and the mapping of SQLSTATEs to result codes.
 */
#include "db.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Statements get a slot number on first use; each connection keeps a prepared flag per slot. */
#define DB_MAX_STMTS 1024
static atomic_int next_stmt_slot = 1;

struct db {
    PGconn *conn;
    char *conninfo;
    bool prepared[DB_MAX_STMTS];
    bool in_tx;
    bool in_use;
    db_connect_fn on_connect;
    void *on_connect_arg;
};

struct db_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    unsigned size;
    unsigned in_use;
    struct db *conns;
};

static void err_set(struct db_error *err, const char *state, const char *msg)
{
    if (!err)
        return;
    memset(err, 0, sizeof(*err));
    snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state ? state : "");
    snprintf(err->message, sizeof(err->message), "%s", msg ? msg : "");
    /* libpq messages end in a newline; logs want one line. */
    char *nl = strchr(err->message, '\n');
    if (nl)
        *nl = '\0';
}

enum mse_rc db_error_rc(const char *sqlstate)
{
    if (!sqlstate || !*sqlstate)
        return MSE_ERR_UNAVAILABLE; /* no SQLSTATE: the connection failed */
    if (!strcmp(sqlstate, "23505") || !strcmp(sqlstate, "23503") || !strcmp(sqlstate, "40001") ||
        !strcmp(sqlstate, "40P01") || !strcmp(sqlstate, "55P03"))
        return MSE_ERR_CONFLICT;
    if (!strncmp(sqlstate, "22", 2) || !strcmp(sqlstate, "23514") || !strcmp(sqlstate, "23502"))
        return MSE_ERR_INVALID;
    if (!strncmp(sqlstate, "08", 2) || !strncmp(sqlstate, "57P", 3) || !strcmp(sqlstate, "53300"))
        return MSE_ERR_UNAVAILABLE;
    if (!strcmp(sqlstate, "P0002"))
        return MSE_ERR_NOT_FOUND;
    return MSE_ERR_DB;
}

static void db_disconnect(struct db *db)
{
    if (db->conn)
        PQfinish(db->conn);
    db->conn = NULL;
    db->in_tx = false;
    memset(db->prepared, 0, sizeof(db->prepared));
}

/* Opens the connection if it is closed or broken. */
static enum mse_rc db_ensure(struct db *db, struct db_error *err)
{
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        return MSE_OK;
    db_disconnect(db);
    /* connect_timeout keeps /readyz quick when the database host is unreachable. */
    /* Defaults first: values in the caller's conninfo (expanded from dbname) override them. */
    const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
    const char *vals[] = { "5", "mse-server", db->conninfo, NULL };
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (!db->conn) {
        err_set(err, "", "out of memory");
        return MSE_ERR_NOMEM;
    }
    if (PQstatus(db->conn) != CONNECTION_OK) {
        err_set(err, "", PQerrorMessage(db->conn));
        db_disconnect(db);
        return MSE_ERR_UNAVAILABLE;
    }
    /* Times go out as RFC 3339 UTC; everything the server computes assumes UTC sessions. */
    PGresult *r = PQexec(db->conn, "SET TIME ZONE 'UTC'");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        err_set(err, "", PQerrorMessage(db->conn));
        db_disconnect(db);
        return MSE_ERR_UNAVAILABLE;
    }
    /* Runs on the open connection: its own queries find it open and do not come back here. */
    if (db->on_connect)
        db->on_connect(db, db->on_connect_arg);
    return MSE_OK;
}

static struct db *db_alloc(const char *conninfo)
{
    struct db *db = calloc(1, sizeof(*db));
    if (!db)
        return NULL;
    db->conninfo = strdup(conninfo);
    if (!db->conninfo) {
        free(db);
        return NULL;
    }
    return db;
}

enum mse_rc db_connect(const char *conninfo, struct db **out, struct db_error *err)
{
    *out = NULL;
    struct db *db = db_alloc(conninfo);
    if (!db)
        return MSE_ERR_NOMEM;
    enum mse_rc rc = db_ensure(db, err);
    if (rc != MSE_OK) {
        db_close(db);
        return rc;
    }
    *out = db;
    return MSE_OK;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    db_disconnect(db);
    free(db->conninfo);
    free(db);
}

struct db_pool *db_pool_new(const char *conninfo, unsigned size)
{
    struct db_pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return NULL;
    pool->conns = calloc(size, sizeof(*pool->conns));
    if (!pool->conns)
        goto fail;
    pool->size = size;
    for (unsigned i = 0; i < size; i++) {
        pool->conns[i].conninfo = strdup(conninfo);
        if (!pool->conns[i].conninfo)
            goto fail;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->freed, NULL);
    return pool;
fail:
    if (pool->conns) {
        for (unsigned i = 0; i < size; i++)
            free(pool->conns[i].conninfo);
    }
    free(pool->conns);
    free(pool);
    return NULL;
}

void db_pool_on_connect(struct db_pool *pool, db_connect_fn fn, void *arg)
{
    pthread_mutex_lock(&pool->lock);
    for (unsigned i = 0; i < pool->size; i++) {
        pool->conns[i].on_connect = fn;
        pool->conns[i].on_connect_arg = arg;
    }
    pthread_mutex_unlock(&pool->lock);
}

void db_pool_free(struct db_pool *pool)
{
    if (!pool)
        return;
    for (unsigned i = 0; i < pool->size; i++) {
        db_disconnect(&pool->conns[i]);
        free(pool->conns[i].conninfo);
    }
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->freed);
    free(pool->conns);
    free(pool);
}

enum mse_rc db_pool_acquire(struct db_pool *pool, unsigned timeout_ms, struct db **out,
                            struct db_error *err)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    *out = NULL;
    struct db *db = NULL;
    pthread_mutex_lock(&pool->lock);
    while (!db) {
        /* Prefer a connection that is already open. */
        for (unsigned i = 0; i < pool->size && !db; i++) {
            if (!pool->conns[i].in_use && pool->conns[i].conn)
                db = &pool->conns[i];
        }
        for (unsigned i = 0; i < pool->size && !db; i++) {
            if (!pool->conns[i].in_use)
                db = &pool->conns[i];
        }
        if (db)
            break;
        if (pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&pool->lock);
            err_set(err, "", "no database connection became free in time");
            return MSE_ERR_UNAVAILABLE;
        }
    }
    db->in_use = true;
    pool->in_use++;
    pthread_mutex_unlock(&pool->lock);

    enum mse_rc rc = db_ensure(db, err);
    if (rc != MSE_OK) {
        db_pool_release(pool, db);
        return rc;
    }
    *out = db;
    return MSE_OK;
}

void db_pool_release(struct db_pool *pool, struct db *db)
{
    if (!db)
        return;
    if (db->in_tx)
        db_rollback(db);
    pthread_mutex_lock(&pool->lock);
    db->in_use = false;
    pool->in_use--;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

void db_pool_usage(struct db_pool *pool, unsigned *in_use, unsigned *total)
{
    pthread_mutex_lock(&pool->lock);
    *in_use = pool->in_use;
    *total = pool->size;
    pthread_mutex_unlock(&pool->lock);
}

/* Converts a failed result into rc + err, and drops the connection if it is gone. */
static enum mse_rc db_fail(struct db *db, PGresult *r, struct db_error *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn);
    err_set(err, state, msg && *msg ? msg : PQerrorMessage(db->conn));
    const char *cons = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
    if (err && cons)
        snprintf(err->constraint, sizeof(err->constraint), "%s", cons);
    enum mse_rc rc = db_error_rc(state);
    if (PQstatus(db->conn) != CONNECTION_OK)
        rc = MSE_ERR_UNAVAILABLE;
    if (rc == MSE_ERR_UNAVAILABLE)
        db_disconnect(db);
    PQclear(r);
    return rc;
}

static int stmt_slot(struct db_stmt *st)
{
    int slot = atomic_load(&st->slot);
    if (slot)
        return slot;
    int fresh = atomic_fetch_add(&next_stmt_slot, 1);
    int expected = 0;
    /* Two threads may race; the loser adopts the winner's slot and wastes one number. */
    if (!atomic_compare_exchange_strong(&st->slot, &expected, fresh))
        return expected;
    return fresh;
}

static enum mse_rc db_query_once(struct db *db, struct db_stmt *st, const char *const *params,
                                 const int *lengths, const int *formats, int result_format,
                                 struct db_res *res, struct db_error *err)
{
    int slot = stmt_slot(st);
    if (slot >= DB_MAX_STMTS) {
        err_set(err, "", "too many distinct statements");
        return MSE_ERR_INTERNAL;
    }
    if (!db->prepared[slot]) {
        char name[32];
        snprintf(name, sizeof(name), "s%d", slot);
        PGresult *r = PQprepare(db->conn, name, st->sql, st->nparams, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            return db_fail(db, r, err);
        PQclear(r);
        db->prepared[slot] = true;
    }
    char name[32];
    snprintf(name, sizeof(name), "s%d", slot);
    PGresult *r =
            PQexecPrepared(db->conn, name, st->nparams, params, lengths, formats, result_format);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK)
        return db_fail(db, r, err);
    res->pg = r;
    return MSE_OK;
}

static enum mse_rc db_query_fmt(struct db *db, struct db_stmt *st, const char *const *params,
                                const int *lengths, const int *formats, int result_format,
                                struct db_res *res, struct db_error *err)
{
    res->pg = NULL;
    bool retryable = st->idempotent && !db->in_tx;
    enum mse_rc rc = db_ensure(db, err);
    if (rc == MSE_OK)
        rc = db_query_once(db, st, params, lengths, formats, result_format, res, err);
    /* A connection can die between requests (database restart); a read can simply rerun. */
    if (rc == MSE_ERR_UNAVAILABLE && retryable && db_ensure(db, err) == MSE_OK)
        rc = db_query_once(db, st, params, lengths, formats, result_format, res, err);
    if (rc != MSE_OK && rc != MSE_ERR_CONFLICT && rc != MSE_ERR_INVALID)
        mse_log_write(MSE_LOG_WARN, NULL, "query %s failed: %s (%s)", st->name,
                      err ? err->message : "", err ? err->sqlstate : "");
    return rc;
}

enum mse_rc db_query_bin(struct db *db, struct db_stmt *st, const char *const *params,
                         const int *lengths, const int *formats, struct db_res *res,
                         struct db_error *err)
{
    return db_query_fmt(db, st, params, lengths, formats, 0, res, err);
}

enum mse_rc db_query_raw(struct db *db, struct db_stmt *st, const char *const *params,
                         struct db_res *res, struct db_error *err)
{
    return db_query_fmt(db, st, params, NULL, NULL, 1, res, err);
}

enum mse_rc db_query(struct db *db, struct db_stmt *st, const char *const *params,
                     struct db_res *res, struct db_error *err)
{
    return db_query_bin(db, st, params, NULL, NULL, res, err);
}

enum mse_rc db_run(struct db *db, struct db_stmt *st, const char *const *params,
                   struct db_error *err)
{
    struct db_res res;
    enum mse_rc rc = db_query(db, st, params, &res, err);
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_exec_script(struct db *db, const char *sql, struct db_error *err)
{
    enum mse_rc rc = db_ensure(db, err);
    if (rc != MSE_OK)
        return rc;
    PGresult *r = PQexec(db->conn, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        return db_fail(db, r, err);
    PQclear(r);
    return MSE_OK;
}

enum mse_rc db_begin(struct db *db, struct db_error *err)
{
    enum mse_rc rc = db_exec_script(db, "BEGIN", err);
    if (rc == MSE_OK)
        db->in_tx = true;
    return rc;
}

enum mse_rc db_commit(struct db *db, struct db_error *err)
{
    enum mse_rc rc = db_exec_script(db, "COMMIT", err);
    db->in_tx = false;
    return rc;
}

void db_rollback(struct db *db)
{
    if (!db->in_tx)
        return;
    db->in_tx = false;
    if (!db->conn)
        return;
    PGresult *r = PQexec(db->conn, "ROLLBACK");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        db_disconnect(db);
    PQclear(r);
}

int db_res_rows(const struct db_res *res)
{
    return res->pg ? PQntuples(res->pg) : 0;
}

const char *db_res_get(const struct db_res *res, int row, int col)
{
    if (!res->pg || row >= PQntuples(res->pg) || col >= PQnfields(res->pg) ||
        PQgetisnull(res->pg, row, col))
        return NULL;
    return PQgetvalue(res->pg, row, col);
}

size_t db_res_len(const struct db_res *res, int row, int col)
{
    if (!res->pg || row >= PQntuples(res->pg) || col >= PQnfields(res->pg))
        return 0;
    return (size_t)PQgetlength(res->pg, row, col);
}

long db_res_affected(const struct db_res *res)
{
    const char *n = res->pg ? PQcmdTuples(res->pg) : "";
    return *n ? strtol(n, NULL, 10) : 0;
}

void db_res_clear(struct db_res *res)
{
    if (res->pg)
        PQclear(res->pg);
    res->pg = NULL;
}
