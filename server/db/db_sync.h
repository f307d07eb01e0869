/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of Sync & Recover: server connections, their tests, sync tasks and their mailbox states. */
#ifndef MSE_DB_SYNC_H
#define MSE_DB_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "db_util.h"
#include "mse/rc.h"

/* The writable fields of a server connection; NULL members keep the stored value on update. */
struct db_sync_conn_in {
    const char *name;
    const char *site_id;
    const char *ews_url;
    const char *authentication;
    const char *service_account;
    const char *secret_sealed; /* bytea hex text made by secrets_seal */
    int impersonation;         /* -1 = keep */
    int tls_verify;            /* -1 = keep */
};

/* Inserts a connection with the given id (the secret's sealing is bound to it). 409: name. */
enum mse_rc db_sync_conn_insert(struct db *db, const char *id, const struct db_sync_conn_in *in,
                                const char *actor, struct db_error *err) MSE_WUR;
/* The rendered connection (never the secret); lock takes FOR UPDATE. NOT_FOUND. */
enum mse_rc db_sync_conn_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                             struct db_error *err) MSE_WUR;
/* Applies the non-NULL members of in. CONFLICT: the name is taken. */
enum mse_rc db_sync_conn_update(struct db *db, const char *id, const struct db_sync_conn_in *in,
                                const char *actor, struct db_error *err) MSE_WUR;
enum mse_rc db_sync_conn_delete(struct db *db, const char *id, struct db_error *err) MSE_WUR;
/* How many sync tasks use the connection. */
enum mse_rc db_sync_conn_task_count(struct db *db, const char *id, int64_t *n,
                                    struct db_error *err) MSE_WUR;
/* A page of connections, optionally those of one authentication method. */
enum mse_rc db_sync_conn_list(struct db *db, const char *authentication, bool has_after,
                              int64_t after, unsigned limit, char **items, int64_t *last_seq,
                              bool *more, struct db_error *err) MSE_WUR;

/* Records a pending test of the connection (mailbox NULL: the worker picks one); *json its
 * rendering (malloc'd). NOT_FOUND: no such connection. */
enum mse_rc db_sync_test_insert(struct db *db, const char *conn_id, const char *mailbox,
                                char **json, struct db_error *err) MSE_WUR;
/* One test of the connection, rendered. NOT_FOUND. */
enum mse_rc db_sync_test_get(struct db *db, const char *conn_id, const char *id, struct db_doc *doc,
                             struct db_error *err) MSE_WUR;
/* The site's pending tests with what a worker needs to run them (the secret still sealed):
 * a JSON array text [{id, connection_id, mailbox, ews_url, authentication, service_account,
 * secret_sealed, impersonation, tls_verify}] (malloc'd). */
enum mse_rc db_sync_tests_pending(struct db *db, const char *site_id, char **json,
                                  struct db_error *err) MSE_WUR;

/* A worker's outcome of one test. */
struct db_sync_test_result {
    bool ok;
    int64_t latency_ms; /* < 0: not measured */
    const char *server_version, *reason_code, *detail, *worker_id;
};
/* Ends a pending test; NOT_FOUND when it is not the site's or not pending. */
enum mse_rc db_sync_test_finish(struct db *db, const char *site_id, const char *id,
                                const struct db_sync_test_result *r, struct db_error *err) MSE_WUR;

/* The writable fields of a sync task; NULL / -1 members keep the stored value on update. */
struct db_sync_task_in {
    const char *name;
    const char *connection_id;
    const char *group_kind, *group_value;
    int mail, calendars, include_sensitive, exclusions_active, enabled; /* -1 = keep */
    const char *message_classes_json;                                   /* JSON array of strings */
    const char *exclusions_json; /* JSON array of normalised exclusions */
    int64_t interval_minutes;    /* 0 = keep (or the default on insert) */
};

/* Inserts a task with the given id. CONFLICT: the name is taken. */
enum mse_rc db_sync_task_insert(struct db *db, const char *id, const struct db_sync_task_in *in,
                                const char *actor, struct db_error *err) MSE_WUR;
/* The rendered task with its status and detail; lock takes FOR UPDATE. NOT_FOUND. */
enum mse_rc db_sync_task_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                             struct db_error *err) MSE_WUR;
enum mse_rc db_sync_task_update(struct db *db, const char *id, const struct db_sync_task_in *in,
                                const char *actor, struct db_error *err) MSE_WUR;
enum mse_rc db_sync_task_delete(struct db *db, const char *id, struct db_error *err) MSE_WUR;
/* A page of tasks, optionally only the enabled ("true") or stopped ("false") ones. */
enum mse_rc db_sync_task_list(struct db *db, const char *enabled, bool has_after, int64_t after,
                              unsigned limit, char **items, int64_t *last_seq, bool *more,
                              struct db_error *err) MSE_WUR;
/* A page of a task's mailbox states (ordered by address). */
enum mse_rc db_sync_task_mailboxes(struct db *db, const char *id, bool has_after, int64_t after,
                                   unsigned limit, char **items, int64_t *last_seq, bool *more,
                                   struct db_error *err) MSE_WUR;

/* The connection's sealed secret (malloc'd text, as secrets_open takes it). NOT_FOUND. */
enum mse_rc db_sync_conn_sealed(struct db *db, const char *id, char **sealed,
                                struct db_error *err) MSE_WUR;
/* *is: a sync task (alive) has this id. */
enum mse_rc db_sync_task_is(struct db *db, const char *id, bool *is, struct db_error *err) MSE_WUR;
/* *running: an execution of the task has been claimed and has not ended. */
enum mse_rc db_sync_task_running(struct db *db, const char *id, bool *running,
                                 struct db_error *err) MSE_WUR;
/*
 * Stores a change (a validated PATCH body as JSON text, merged over earlier ones) or, with
 * changes NULL, a deletion, to apply when the running execution ends. Checked again under
 * the twin's row lock: *deferred false when the execution ended meanwhile (nothing stored;
 * apply the change at once).
 */
enum mse_rc db_sync_task_defer(struct db *db, const char *id, const char *changes,
                               const char *actor, bool *deferred, struct db_error *err) MSE_WUR;
/* What waited for an execution's end; taken (cleared in the database) by the read. */
struct db_sync_deferred {
    char *changes; /* JSON object text or NULL */
    bool deletion;
    char *actor; /* who asked for it, or NULL */
};
void db_sync_deferred_cleanup(struct db_sync_deferred *d);
/* Locks the twin, reads what waits into *d and clears it. */
enum mse_rc db_sync_task_deferred(struct db *db, const char *id, struct db_sync_deferred *d,
                                  struct db_error *err) MSE_WUR;
/* Queues an execution of every due sync task (schema 038); *queued how many. */
enum mse_rc db_sync_schedule(struct db *db, int64_t *queued, struct db_error *err) MSE_WUR;

#endif
