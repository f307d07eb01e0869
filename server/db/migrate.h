/* SPDX-License-Identifier: Apache-2.0 */
/* Schema migrations: schema/NNN_name.sql compiled in, applied once each, in order. */
#ifndef MSE_MIGRATE_H
#define MSE_MIGRATE_H

#include "mse/rc.h"

struct db;
struct db_error;

struct migration {
    const char *name; /* "001_init" */
    const char *sql;
};

extern const struct migration migrations[];
extern const unsigned migrations_count;

/*
 * Applies every migration not yet recorded in schema_migrations, each in its own
 * transaction, holding a session advisory lock so concurrent servers apply each once.
 * Refuses (MSE_ERR_CONFLICT) when a recorded migration's checksum differs from the
 * compiled one: someone edited an applied file. *applied counts what this call applied.
 */
enum mse_rc migrate_apply(struct db *db, unsigned *applied, struct mse_err *err) MSE_WUR;

/* The newest migration name compiled into this binary. */
const char *migrate_latest(void);

#endif
