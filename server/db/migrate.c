/* SPDX-License-Identifier: Apache-2.0 */
/* Schema migrations: schema/NNN_name.sql compiled in, applied once each, in order. */
#include "migrate.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "log.h"

/* Arbitrary but fixed: every mse-server agrees on it. "MSE" + "MIGR" in ASCII. */
#define MIGRATE_LOCK_KEY "5567694215158581842"

DB_STMT(migrate_lock, 0, false, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")");
DB_STMT(migrate_unlock, 0, false, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
DB_STMT(migrate_find, 1, true, "SELECT checksum FROM schema_migrations WHERE version = $1");
DB_STMT(migrate_record, 2, false,
        "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)");

static const char migrations_table[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " version text PRIMARY KEY,"
                                       " checksum text NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now())";

const char *migrate_latest(void)
{
    return migrations_count ? migrations[migrations_count - 1].name : "";
}

/* Applies one migration unless it is recorded; *done tells whether it ran. */
static enum mse_rc migrate_one(struct db *db, const struct migration *m, bool *done,
                               struct mse_err *err)
{
    struct db_error dberr;
    struct db_res res;
    char sum[MSE_SHA256_HEX_LEN + 1];
    const char *params[2] = { m->name, sum };
    *done = false;
    mse_crypto_sha256_hex(m->sql, strlen(m->sql), sum);

    enum mse_rc rc = db_query(db, &migrate_find, params, &res, &dberr);
    if (rc != MSE_OK)
        goto out;
    if (db_res_rows(&res) == 1) {
        if (strcmp(db_res_get(&res, 0, 0), sum) != 0) {
            snprintf(err->msg, sizeof(err->msg),
                     "migration %s was changed after it was applied (checksum mismatch)", m->name);
            rc = MSE_ERR_CONFLICT;
        }
        db_res_clear(&res);
        return rc;
    }
    db_res_clear(&res);

    rc = db_begin(db, &dberr);
    if (rc == MSE_OK)
        rc = db_exec_script(db, m->sql, &dberr);
    if (rc == MSE_OK)
        rc = db_run(db, &migrate_record, params, &dberr);
    if (rc == MSE_OK)
        rc = db_commit(db, &dberr);
    if (rc == MSE_OK)
        *done = true;
out:
    if (rc != MSE_OK && !err->msg[0]) {
        db_rollback(db);
        snprintf(err->msg, sizeof(err->msg), "migration %s failed: %s", m->name, dberr.message);
    }
    return rc;
}

enum mse_rc migrate_apply(struct db *db, unsigned *applied, struct mse_err *err)
{
    struct db_error dberr;
    *applied = 0;
    err->msg[0] = '\0';
    enum mse_rc rc = db_run(db, &migrate_lock, NULL, &dberr);
    if (rc != MSE_OK) {
        snprintf(err->msg, sizeof(err->msg), "cannot take the migration lock: %s", dberr.message);
        return rc;
    }
    rc = db_exec_script(db, migrations_table, &dberr);
    if (rc != MSE_OK)
        snprintf(err->msg, sizeof(err->msg), "cannot create schema_migrations: %s", dberr.message);
    for (unsigned i = 0; rc == MSE_OK && i < migrations_count; i++) {
        bool done;
        rc = migrate_one(db, &migrations[i], &done, err);
        if (rc == MSE_OK && done) {
            (*applied)++;
            LOG_INFO(NULL, "applied migration %s", migrations[i].name);
        }
    }
    /* The lock is per session; unlocking is best effort (closing the session frees it too). */
    if (db_run(db, &migrate_unlock, NULL, &dberr) != MSE_OK)
        LOG_WARN(NULL, "cannot release the migration lock: %s", dberr.message);
    return rc;
}
