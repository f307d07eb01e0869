/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL of restores (schema 049): the request as recorded with the messages its selection
 * names, the records the API shows, the per-item results, cancellation.
 */
#ifndef MSE_DB_RESTORE_H
#define MSE_DB_RESTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "db_util.h"
#include "mse/rc.h"

/* A restore as the request asked for it (strings owned by the caller). */
struct db_restore_in {
    const char *mailbox;        /* the selection's, lower case */
    const char *selection;      /* JSON object text, as validated */
    const char *as_of;          /* RFC 3339, or NULL for the transaction's time */
    const char *target_mailbox; /* lower case */
    const char *destination;    /* original, folder */
    const char *folder_name;    /* with destination folder, else NULL */
    const char *on_conflict;    /* skip, copy */
    const char *connection_id;
};

/* Records the restore and lists the messages its selection names; *items how many. */
enum mse_rc db_restore_insert(struct db *db, const char *id, const struct db_restore_in *in,
                              const char *actor, int64_t *items, struct db_error *err) MSE_WUR;
/* The rendered restore; lock takes the row FOR UPDATE. NOT_FOUND when there is none. */
enum mse_rc db_restore_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                           struct db_error *err) MSE_WUR;
/* A page of restores, oldest first (by seq), optionally of one state. */
enum mse_rc db_restore_list(struct db *db, const char *state, bool has_after, int64_t after,
                            unsigned limit, char **items, int64_t *last_seq, bool *more,
                            struct db_error *err) MSE_WUR;
/* A page of a restore's items in selection order, optionally of one state. */
enum mse_rc db_restore_items(struct db *db, const char *id, const char *state, bool has_after,
                             int64_t after, unsigned limit, char **items, int64_t *last_seq,
                             bool *more, struct db_error *err) MSE_WUR;
/* Cancelled, unless it already ended (*cancelled false then). */
enum mse_rc db_restore_cancel(struct db *db, const char *id, bool *cancelled,
                              struct db_error *err) MSE_WUR;

/*
 * The state of a restore assigned to the site (its server connection's) one of whose items has
 * this content; NOT_FOUND when there is none.
 */
enum mse_rc db_restore_content_state(struct db *db, const char *id, const char *site_id,
                                     const char *sha256, char state[16],
                                     struct db_error *err) MSE_WUR;

/*
 * The server connection of the sync tasks that archived the mailbox: *n how many distinct
 * ones there are (0, 1, or 2 meaning several); id[] the one when *n is 1.
 */
enum mse_rc db_restore_connection_of(struct db *db, const char *mailbox, int *n, char id[37],
                                     struct db_error *err) MSE_WUR;
/* Whether the server connection exists. */
enum mse_rc db_restore_connection_known(struct db *db, const char *id, bool *known,
                                        struct db_error *err) MSE_WUR;

#endif
