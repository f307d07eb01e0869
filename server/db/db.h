/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PostgreSQL access: a pool of connections shared by the HTTP threads, lazily prepared
 * statements, transactions, and the mapping of SQLSTATEs to result codes.
 * Only db*.c files include libpq.
 */
#ifndef MSE_DB_H
#define MSE_DB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "mse/rc.h"

struct db;
struct db_pool;
struct pg_result;

/*
 * A statement known at compile time. Declare one `static struct db_stmt` per query next to
 * the code that runs it; it is prepared on each connection the first time it runs there.
 * `idempotent` statements (reads) are retried once on a fresh connection after a lost one.
 */
struct db_stmt {
    const char *name;
    const char *sql;
    int nparams;
    bool idempotent;
    atomic_int slot; /* assigned on first use; 0 = not yet */
};

#define DB_STMT(ident, n, idem, text)                                                              \
    static struct db_stmt ident = {                                                                \
        .name = #ident, .sql = (text), .nparams = (n), .idempotent = (idem)                        \
    }

/* What went wrong in the database, for mapping to a client-facing error. */
struct db_error {
    char sqlstate[6];
    char constraint[64]; /* violated constraint, if any */
    char message[256];   /* PostgreSQL's text: for logs only, never for clients */
};

/* Results of a query; rows and columns are read with db_res_* */
struct db_res {
    struct pg_result *pg;
};

/*
 * Creates a pool of size connections to conninfo (libpq conninfo or URI). Connections open
 * lazily. Returns NULL on allocation failure.
 */
struct db_pool *db_pool_new(const char *conninfo, unsigned size);
/* Closes every connection. All connections must have been released. NULL is fine. */
void db_pool_free(struct db_pool *pool);
/* Called with each connection the pool has just opened, before the query that needed it. */
typedef void (*db_connect_fn)(struct db *db, void *arg);
/* Sets the pool's connect callback (fn may be NULL); call before the pool is used. */
void db_pool_on_connect(struct db_pool *pool, db_connect_fn fn, void *arg);
/*
 * Takes a connection, waiting up to timeout_ms for one to become free, and connects it if
 * needed. MSE_ERR_UNAVAILABLE when the database cannot be reached or no connection frees up.
 */
enum mse_rc db_pool_acquire(struct db_pool *pool, unsigned timeout_ms, struct db **out,
                            struct db_error *err) MSE_WUR;
/* Returns a connection; an open transaction is rolled back first. NULL is fine. */
void db_pool_release(struct db_pool *pool, struct db *db);
/* Connections in use and in total, for metrics. */
void db_pool_usage(struct db_pool *pool, unsigned *in_use, unsigned *total);

/* A single connection outside any pool (migrations, background jobs). */
enum mse_rc db_connect(const char *conninfo, struct db **out, struct db_error *err) MSE_WUR;
void db_close(struct db *db);

/*
 * Runs a prepared statement with text parameters (NULL entries are SQL NULL).
 * On MSE_OK *res holds the result (free with db_res_clear); rows may be zero.
 * Errors: MSE_ERR_CONFLICT (23505 unique, 23503 foreign key, 40001/40P01 serialization),
 * MSE_ERR_INVALID (22xxx data, 23514 check, 23502 not null), MSE_ERR_UNAVAILABLE
 * (connection lost, 57P0x), MSE_ERR_DB otherwise; err says which.
 */
enum mse_rc db_query(struct db *db, struct db_stmt *st, const char *const *params,
                     struct db_res *res, struct db_error *err) MSE_WUR;
/*
 * Like db_query with some parameters binary: lengths[i] and formats[i] (1 = binary) as
 * libpq's PQexecPrepared takes them (bytea content).
 */
enum mse_rc db_query_bin(struct db *db, struct db_stmt *st, const char *const *params,
                         const int *lengths, const int *formats, struct db_res *res,
                         struct db_error *err) MSE_WUR;
/*
 * Like db_query, with every result column in binary format: db_res_get returns the raw bytes
 * (bytea content as stored, not hex) and db_res_len their length. Select only columns whose
 * binary form the caller knows (bytea).
 */
enum mse_rc db_query_raw(struct db *db, struct db_stmt *st, const char *const *params,
                         struct db_res *res, struct db_error *err) MSE_WUR;
/* Like db_query, but discards the result. */
enum mse_rc db_run(struct db *db, struct db_stmt *st, const char *const *params,
                   struct db_error *err) MSE_WUR;
/* Runs literal SQL (possibly several statements) with no parameters. For migrations. */
enum mse_rc db_exec_script(struct db *db, const char *sql, struct db_error *err) MSE_WUR;

enum mse_rc db_begin(struct db *db, struct db_error *err) MSE_WUR;
enum mse_rc db_commit(struct db *db, struct db_error *err) MSE_WUR;
/* Rolls back if a transaction is open; errors only mark the connection broken. */
void db_rollback(struct db *db);

int db_res_rows(const struct db_res *res);
/* Value at (row, col) as text, or NULL for SQL NULL. Valid until db_res_clear. */
const char *db_res_get(const struct db_res *res, int row, int col);
size_t db_res_len(const struct db_res *res, int row, int col);
/* Rows an INSERT/UPDATE/DELETE touched. */
long db_res_affected(const struct db_res *res);
void db_res_clear(struct db_res *res);

/* Maps a db_error to a result code (exposed for tests). */
enum mse_rc db_error_rc(const char *sqlstate);

#endif
