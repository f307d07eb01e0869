/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of Idempotency-Key records: in-flight detection, lookup, storing a response. */
#ifndef MSE_DB_IDEM_H
#define MSE_DB_IDEM_H

#include <stdbool.h>

#include "db.h"
#include "mse/rc.h"

struct db_idem_row {
    char request_hash[65];
    unsigned status;
    char *location; /* malloc'd or NULL */
    char *etag;     /* malloc'd or NULL */
    char *body;     /* sealed, bytea hex text; malloc'd */
};

void db_idem_row_cleanup(struct db_idem_row *r);

/*
 * Takes a transaction-scoped advisory lock for (client, key) without waiting. *got is false
 * when another transaction holds it: the same request is still in flight.
 */
enum mse_rc db_idem_lock(struct db *db, const char *client_uuid, const char *key, bool *got,
                         struct db_error *err) MSE_WUR;
/* Finds a record younger than 24 hours. MSE_ERR_NOT_FOUND when there is none. */
enum mse_rc db_idem_find(struct db *db, const char *client_uuid, const char *key,
                         struct db_idem_row *out, struct db_error *err) MSE_WUR;
/* Stores a response (replacing an expired record) and drops the client's expired ones. */
enum mse_rc db_idem_store(struct db *db, const char *client_uuid, const char *key,
                          const struct db_idem_row *row, struct db_error *err) MSE_WUR;

#endif
