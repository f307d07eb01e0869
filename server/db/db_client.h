/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of API clients: rendering (never the secret), insert, update, delete, secret rotation. */
#ifndef MSE_DB_CLIENT_H
#define MSE_DB_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "db_util.h"
#include "mse/rc.h"

struct db_client_new {
    const char *client_id;
    const char *name;
    const char *role;    /* "admin", "read_only", "site" */
    const char *site_id; /* for "site" only */
    const char *secret_hash;
    const char *actor;     /* client_id of whoever creates it, or NULL */
    const char *mailbox;   /* for "mailbox_user" only: its mailbox, lower case */
    const char *delegates; /* for "mailbox_user": JSON array of addresses, or NULL for none */
};

/* Inserts a client; id receives its row id. MSE_ERR_CONFLICT when client_id is taken. */
enum mse_rc db_client_insert(struct db *db, const struct db_client_new *n, char id[37],
                             struct db_error *err) MSE_WUR;
/* The client's representation; lock = FOR UPDATE (inside a transaction). */
enum mse_rc db_client_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                          struct db_error *err) MSE_WUR;
/* A page of clients in creation order; role NULL = all. */
enum mse_rc db_client_list(struct db *db, const char *role, bool has_after, int64_t after,
                           unsigned limit, char **items, int64_t *last_seq, bool *more,
                           struct db_error *err) MSE_WUR;
/* Changes name (NULL = keep) and enabled (-1 = keep). */
enum mse_rc db_client_update(struct db *db, const char *id, const char *name, int enabled,
                             const char *actor, struct db_error *err) MSE_WUR;
/* Replaces a mailbox_user client's delegates (a JSON array of lower-case addresses). */
enum mse_rc db_client_set_delegates(struct db *db, const char *id, const char *delegates,
                                    const char *actor, struct db_error *err) MSE_WUR;
/* Deletes a client and, by cascade, its tokens and idempotency records. */
enum mse_rc db_client_delete(struct db *db, const char *id, struct db_error *err) MSE_WUR;
/* Replaces a client's secret hash and revokes its tokens. */
enum mse_rc db_client_set_secret(struct db *db, const char *id, const char *secret_hash,
                                 const char *actor, struct db_error *err) MSE_WUR;
/* A client's role ("admin", "read_only", "site", …) and whether it is enabled. */
enum mse_rc db_client_state(struct db *db, const char *id, char role[16], bool *enabled,
                            struct db_error *err) MSE_WUR;
/*
 * Locks every enabled admin client and counts those other than except_id: the last one
 * must not be disabled or deleted (nobody could administer the server any more).
 */
enum mse_rc db_client_other_admins(struct db *db, const char *except_id, int64_t *n,
                                   struct db_error *err) MSE_WUR;

#endif
