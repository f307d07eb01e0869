/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of site directories: the configuration, tests, the reported groups, membership refreshes. */
#ifndef MSE_DB_DIRECTORY_H
#define MSE_DB_DIRECTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "db_util.h"
#include "mse/rc.h"

/* The writable fields of a directory; password_sealed NULL keeps the stored one. */
struct db_directory_in {
    const char *urls_json; /* JSON array of URL strings */
    const char *bind_dn;
    const char *password_sealed; /* bytea hex text made by secrets_seal */
    const char *base_dn;
    bool tls_verify;
    unsigned page_size;
};

/* The rendered directory of a site (never the password); lock takes FOR UPDATE. NOT_FOUND. */
enum mse_rc db_directory_get(struct db *db, const char *site_id, bool lock, struct db_doc *doc,
                             struct db_error *err) MSE_WUR;
/* Creates or replaces the directory of a site. */
enum mse_rc db_directory_put(struct db *db, const char *site_id, const struct db_directory_in *in,
                             const char *actor, struct db_error *err) MSE_WUR;
/* Records a pending test; *json is its rendering (malloc'd). */
enum mse_rc db_directory_test_insert(struct db *db, const char *site_id, char **json,
                                     struct db_error *err) MSE_WUR;
/* One test of the site, rendered. NOT_FOUND. */
enum mse_rc db_directory_test_get(struct db *db, const char *site_id, const char *id,
                                  struct db_doc *doc, struct db_error *err) MSE_WUR;
/* Ends a pending test with its outcome; NOT_FOUND when it is not the site's or not pending. */
enum mse_rc db_directory_test_finish(struct db *db, const char *site_id, const char *id, bool ok,
                                     const char *reason, const char *detail, const char *worker,
                                     struct db_error *err) MSE_WUR;

/* What a worker needs: the configuration with the sealed password. */
struct db_directory_worker {
    char *json; /* {urls, bind_dn, base_dn, tls_verify, page_size, version} or NULL: none */
    char *password_sealed;
    char *tests;     /* JSON array [{id}] of pending tests */
    char *refreshes; /* JSON array [{seq, kind, value}] after refresh_after */
    int64_t refresh_seq;
};

void db_directory_worker_cleanup(struct db_directory_worker *w);
/* Reads it; refresh_after < 0 lists no refreshes (a worker that just started has no cache). */
enum mse_rc db_directory_worker_get(struct db *db, const char *site_id, int64_t refresh_after,
                                    struct db_directory_worker *out, struct db_error *err) MSE_WUR;
/* Replaces the site's reported groups with groups_json ([{dn, name, mail, kind, member_count}]). */
enum mse_rc db_directory_groups_replace(struct db *db, const char *site_id, const char *groups_json,
                                        struct db_error *err) MSE_WUR;
/* A page of the site's groups matching q (name or mail containing it, or DN starting with it). */
enum mse_rc db_directory_groups_search(struct db *db, const char *site_id, const char *q,
                                       bool has_after, int64_t after, unsigned limit, char **items,
                                       int64_t *last_seq, bool *more, struct db_error *err) MSE_WUR;
/*
 * Asks the task's site to resolve its group again; *json the request. NOT_FOUND: no task.
 * sync: task_id is a sync task's (its site is its server connection's).
 */
enum mse_rc db_directory_refresh_insert(struct db *db, bool sync, const char *task_id,
                                        const char *actor, char **json,
                                        struct db_error *err) MSE_WUR;

#endif
