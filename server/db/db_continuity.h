/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of continuity events (docs/continuity.md) and of a mailbox user's continuity status. */
#ifndef MSE_DB_CONTINUITY_H
#define MSE_DB_CONTINUITY_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "db_util.h"
#include "mse/rc.h"

/* An event's settable fields; NULL (or -1 for expand) = keep, on update. */
struct db_cont_fields {
    const char *name;
    const char *scope_kind;  /* "all", "ad_group", "group_email", "mailbox", "mailbox_list" */
    const char *scope_value; /* NULL for "all" */
    const char *start;       /* RFC 3339; NULL = now (insert) or keep (update) */
    const char *end;         /* RFC 3339 or NULL (open), insert only */
    int expand;              /* expand_distribution_lists: 0, 1, -1 = keep */
    const char *cloned_from; /* insert only, or NULL */
};

enum mse_rc db_cont_insert(struct db *db, const struct db_cont_fields *f, const char *actor,
                           char id[37], struct db_error *err) MSE_WUR;
/* The event's document (its version the ETag); lock = FOR UPDATE. */
enum mse_rc db_cont_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                        struct db_error *err) MSE_WUR;
/* A page of events in creation order; state NULL = all, else "scheduled", "active", "ended". */
enum mse_rc db_cont_list(struct db *db, const char *state, bool has_after, int64_t after,
                         unsigned limit, char **items, int64_t *last_seq, bool *more,
                         struct db_error *err) MSE_WUR;
/* Changes name, scope (kind and value together), start and expand as given. */
enum mse_rc db_cont_update(struct db *db, const char *id, const struct db_cont_fields *f,
                           const char *actor, struct db_error *err) MSE_WUR;
/* Sets the planned end (NULL = open until ended). */
enum mse_rc db_cont_extend(struct db *db, const char *id, const char *end, const char *actor,
                           struct db_error *err) MSE_WUR;
/* The `end` action: the event stops now. */
enum mse_rc db_cont_end(struct db *db, const char *id, const char *actor,
                        struct db_error *err) MSE_WUR;
/* A mailbox_user client's status document (*json, malloc'd). NOT_FOUND: no such user. */
enum mse_rc db_cont_status(struct db *db, const char *client_uuid, char **json,
                           struct db_error *err) MSE_WUR;

#endif
