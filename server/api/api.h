/* SPDX-License-Identifier: Apache-2.0 */
/* Every route handler, grouped by resource; the route table in routes.c refers to these. */
#ifndef MSE_API_H
#define MSE_API_H

#include <stdbool.h>
#include <stddef.h>

#include "exec_state.h"
#include "mse/rc.h"

struct request;

/* api_health.c */
void api_health_live(struct request *req);
void api_health_ready(struct request *req);

/* api_oauth.c */
void api_oauth_token(struct request *req);
void api_oauth_revoke(struct request *req);

/* api_clients.c */
void api_clients_list(struct request *req);
void api_clients_create(struct request *req);
void api_clients_get(struct request *req);
void api_clients_patch(struct request *req);
void api_clients_delete(struct request *req);
void api_clients_rotate(struct request *req);

/* api_sites.c */
void api_sites_list(struct request *req);
void api_sites_create(struct request *req);
void api_sites_get(struct request *req);
void api_sites_patch(struct request *req);
void api_sites_delete(struct request *req);
void api_sites_rotate(struct request *req);

/* api_schedules.c */
void api_schedules_list(struct request *req);
void api_schedules_create(struct request *req);
void api_schedules_get(struct request *req);
void api_schedules_patch(struct request *req);
void api_schedules_delete(struct request *req);
void api_schedules_preview(struct request *req);

/* api_definitions.c */
void api_definitions_list(struct request *req);
void api_definitions_create(struct request *req);
void api_definitions_get(struct request *req);
void api_definitions_patch(struct request *req);
void api_definitions_delete(struct request *req);

/* api_tasks.c */
void api_tasks_list(struct request *req);
void api_tasks_summary(struct request *req);
void api_tasks_create(struct request *req);
void api_tasks_get(struct request *req);
void api_tasks_patch(struct request *req);
void api_tasks_delete(struct request *req);
struct db;
/*
 * At the end of an execution: applies the task's deferred changes and deletion inside the
 * caller's transaction on db, with audit events. Errors as the db layer reports them.
 */
enum mse_rc api_tasks_apply_deferred(struct request *req, struct db *db, const char *task_id);

/* api_audit.c */
void api_audit_list(struct request *req);

/* api_docs.c: the OpenAPI spec and the bundled Swagger UI (static, compiled in). */
void api_docs_spec(struct request *req);
void api_docs_page(struct request *req);
/* GET /console and /console/{asset}: the administration console's embedded files. */
void api_console_page(struct request *req);

/* api_exec.c: a task's executions and mailboxes. */
void api_exec_run(struct request *req);
void api_exec_stop(struct request *req);
void api_exec_list(struct request *req);
void api_exec_get(struct request *req);
void api_exec_mailboxes(struct request *req);
void api_exec_execution_mailboxes(struct request *req);

/* api_worker.c, api_submit.c: the worker protocol. */
void api_worker_heartbeat(struct request *req);
void api_worker_claim(struct request *req);
void api_worker_membership(struct request *req);
void api_worker_progress(struct request *req);
void api_worker_lock(struct request *req);
void api_worker_finish(struct request *req);
void api_worker_submit(struct request *req);
void api_worker_complete(struct request *req);
void api_worker_release(struct request *req);
void api_worker_blob_get(struct request *req);
/* Mailbox Storage Management: the archive confirms candidates (api_storage.c). */
void api_worker_confirm(struct request *req);
void api_worker_storage_report(struct request *req);
void api_storage_reports(struct request *req);
void api_worker_blob_put(struct request *req);

/* api_archive.c: the replicated data (admin and read_only). */
void api_archive_mailboxes(struct request *req);
void api_archive_mailbox(struct request *req);
void api_archive_folders(struct request *req);
void api_archive_items(struct request *req);
void api_archive_appointments(struct request *req);
void api_archive_attachment(struct request *req);
void api_archive_search(struct request *req);
void api_archive_message_content(struct request *req);

/* api_exports.c: exports of archived content (docs/export.md). */
void api_exports_create(struct request *req);
void api_exports_list(struct request *req);
void api_exports_get(struct request *req);
void api_exports_delete(struct request *req);
void api_exports_content(struct request *req);
/* api_restores.c: restores of archived content into Exchange (docs/restore.md). */
void api_restores_create(struct request *req);
void api_restores_list(struct request *req);
void api_restores_get(struct request *req);
void api_restores_items(struct request *req);
void api_restores_cancel(struct request *req);
/* api_archive.c: a restore's content for the site executing it. */
void api_worker_restore_content(struct request *req);
void api_archive_item_content(struct request *req);
void api_journal_post(struct request *req);

/* api_continuity.c: continuity events (admin writes, reads) and a mailbox user's status. */
void api_cont_list(struct request *req);
void api_cont_create(struct request *req);
void api_cont_get(struct request *req);
void api_cont_patch(struct request *req);
void api_cont_clone(struct request *req);
void api_cont_extend(struct request *req);
void api_cont_end(struct request *req);
void api_me_continuity(struct request *req);

/* api_planning.c */
void api_planning_estimate(struct request *req);

/* api_metrics.c */
void api_metrics(struct request *req);

/* api_directory.c: a site's Active Directory (admin writes, reads) and its worker side. */
void api_directory_get(struct request *req);
void api_directory_put(struct request *req);
void api_directory_test(struct request *req);
void api_directory_test_get(struct request *req);
void api_directory_groups(struct request *req);
void api_tasks_membership_refresh(struct request *req);
void api_sync_tasks_membership_refresh(struct request *req);
void api_worker_directory(struct request *req);
void api_worker_directory_test(struct request *req);
void api_worker_directory_groups(struct request *req);

/* api_sync.c: Sync & Recover server connections, their tests, and the worker side of tests. */
void api_sync_conn_list(struct request *req);
void api_sync_conn_create(struct request *req);
void api_sync_conn_get(struct request *req);
void api_sync_conn_patch(struct request *req);
void api_sync_conn_delete(struct request *req);
void api_sync_conn_test(struct request *req);
void api_sync_conn_test_get(struct request *req);
void api_worker_sync_tests(struct request *req);
void api_worker_sync_test_finish(struct request *req);

/* api_sync_tasks.c: Sync & Recover sync tasks, their start, stop and mailbox states. */
void api_sync_tasks_list(struct request *req);
void api_sync_tasks_create(struct request *req);
void api_sync_tasks_get(struct request *req);
void api_sync_tasks_patch(struct request *req);
void api_sync_tasks_delete(struct request *req);
void api_sync_tasks_start(struct request *req);
void api_sync_tasks_stop(struct request *req);
void api_sync_tasks_mailboxes(struct request *req);
/* The error code of a connection whose secret does not open (executions, connection tests). */
#define API_SYNC_SECRET_UNREADABLE "connection_secret_unreadable"
/*
 * Writes into out the error text for a connection whose sealed secret does not open with this
 * server's master key: which connection (name, read again, and id) and what an administrator
 * must do. Never fails: without the name, the id alone says which one.
 */
void api_sync_conn_unreadable(struct db *db, const char *conn_id, char *out, size_t size);
/*
 * Completes a claimed execution's document (JSON text, replaced in *json) when it is a sync
 * task's: the effective message classes (the default list plus the task's additions) and the
 * connection's secret, opened for this answer only. Other documents are left as they are.
 * When the secret does not open (sealed under another master key, or damaged), the execution
 * is ended failed with error connection_secret_unreadable naming the connection, *json is
 * freed and set to NULL, and *o becomes EXO_UNCLAIMABLE: the caller claims again.
 */
enum mse_rc api_sync_tasks_claim_complete(struct request *req, struct db *db, char **json,
                                          enum exec_outcome *o);
/* True when task_id is a sync task's twin (its deferred changes are the sync task's). */
enum mse_rc api_sync_tasks_is(struct db *db, const char *task_id, bool *is);
/* Applies a sync task's changes or deletion that waited for its execution to end. */
enum mse_rc api_sync_tasks_apply_deferred(struct request *req, struct db *db, const char *task_id);
/*
 * The connection's secret, opened (owned by the caller: zero and free it; *len its length).
 * MSE_ERR_NOT_FOUND without such a connection.
 */
enum mse_rc api_sync_conn_secret(struct request *req, struct db *db, const char *conn_id,
                                 char **secret, size_t *len);

/* api_settings.c */
void api_settings_retention_get(struct request *req);
void api_settings_retention_put(struct request *req);

#endif
