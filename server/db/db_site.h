/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of sites: the representation (with worker-reported status), changes, references. */
#ifndef MSE_DB_SITE_H
#define MSE_DB_SITE_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "db_util.h"
#include "mse/rc.h"

/* Inserts a site; id receives its row id. MSE_ERR_CONFLICT when the name is taken. */
enum mse_rc db_site_insert(struct db *db, const char *name, const char *description, bool enabled,
                           const char *actor, char id[37], struct db_error *err) MSE_WUR;
/* The site's representation; lock = FOR UPDATE on the site row (inside a transaction). */
enum mse_rc db_site_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                        struct db_error *err) MSE_WUR;
/* A page of sites in creation order; enabled < 0 = all. */
enum mse_rc db_site_list(struct db *db, int enabled, bool has_after, int64_t after, unsigned limit,
                         char **items, int64_t *last_seq, bool *more, struct db_error *err) MSE_WUR;
/*
 * Changes name (NULL = keep), description (set_description: to description, NULL = none)
 * and enabled (-1 = keep). MSE_ERR_CONFLICT when the new name is taken.
 */
enum mse_rc db_site_update(struct db *db, const char *id, const char *name, bool set_description,
                           const char *description, int enabled, const char *actor,
                           struct db_error *err) MSE_WUR;
/* Deletes the site with its credentials and workers. */
enum mse_rc db_site_delete(struct db *db, const char *id, struct db_error *err) MSE_WUR;
/* Tasks (not deleted) that run on the site. */
enum mse_rc db_site_task_count(struct db *db, const char *id, int64_t *n,
                               struct db_error *err) MSE_WUR;
/* Whether a site exists; share = FOR KEY SHARE, so it cannot vanish before COMMIT. */
/* Workers of the site online now, and how many of them read mailboxes through Graph. */
enum mse_rc db_site_backends(struct db *db, const char *id, long *online, long *graph,
                             struct db_error *err) MSE_WUR;
enum mse_rc db_site_exists(struct db *db, const char *id, bool share, bool *exists,
                           struct db_error *err) MSE_WUR;
/* The row id of the site's API client. */
enum mse_rc db_site_client(struct db *db, const char *id, char client_uuid[37],
                           struct db_error *err) MSE_WUR;

#endif
