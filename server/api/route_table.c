/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one route table: method, path pattern, handler, and the role a caller needs. It is the
 * api layer's (it names the handlers); http/routes.c only matches requests against it.
 */
#include "routes.h"

#include "api.h"
#include "mse/protocol.h"

/*
 * Keep in step with api-spec/openapi.yaml; a test compares the two. The last column is the
 * route's request body cap (0 = MSE_MAX_BODY_BYTES).
 */
const struct route routes_table[] = {
    { "GET", "/healthz", api_health_live, ROLE_PUBLIC, 0 },
    { "GET", "/readyz", api_health_ready, ROLE_PUBLIC, 0 },
    /* OAuth 2.0: the client authenticates with its credentials, not a token. */
    { "POST", "/api/v1/oauth/token", api_oauth_token, ROLE_PUBLIC, 0 },
    { "POST", "/api/v1/oauth/revoke", api_oauth_revoke, ROLE_PUBLIC, 0 },
    { "GET", "/api/v1/api-clients", api_clients_list, ROLE_ADMIN, 0 },
    { "POST", "/api/v1/api-clients", api_clients_create, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/api-clients/{id}", api_clients_get, ROLE_ADMIN, 0 },
    { "PATCH", "/api/v1/api-clients/{id}", api_clients_patch, ROLE_ADMIN, 0 },
    { "DELETE", "/api/v1/api-clients/{id}", api_clients_delete, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/sites", api_sites_list, ROLE_READ, 0 },
    { "POST", "/api/v1/sites", api_sites_create, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/sites/{id}", api_sites_get, ROLE_READ, 0 },
    { "PATCH", "/api/v1/sites/{id}", api_sites_patch, ROLE_ADMIN, 0 },
    { "DELETE", "/api/v1/sites/{id}", api_sites_delete, ROLE_ADMIN, 0 },
    { "POST", "/api/v1/sites/{id}/credentials", api_sites_rotate, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/schedules", api_schedules_list, ROLE_READ, 0 },
    { "POST", "/api/v1/schedules", api_schedules_create, ROLE_ADMIN, 0 },
    { "POST", "/api/v1/schedules/preview", api_schedules_preview, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/schedules/{id}", api_schedules_get, ROLE_READ, 0 },
    { "PATCH", "/api/v1/schedules/{id}", api_schedules_patch, ROLE_ADMIN, 0 },
    { "DELETE", "/api/v1/schedules/{id}", api_schedules_delete, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/definitions", api_definitions_list, ROLE_READ, 0 },
    { "POST", "/api/v1/definitions", api_definitions_create, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/definitions/{id}", api_definitions_get, ROLE_READ, 0 },
    { "PATCH", "/api/v1/definitions/{id}", api_definitions_patch, ROLE_ADMIN, 0 },
    { "DELETE", "/api/v1/definitions/{id}", api_definitions_delete, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/exchange-tasks", api_tasks_list, ROLE_READ, 0 },
    { "POST", "/api/v1/exchange-tasks", api_tasks_create, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/exchange-tasks/{id}", api_tasks_get, ROLE_READ, 0 },
    { "PATCH", "/api/v1/exchange-tasks/{id}", api_tasks_patch, ROLE_ADMIN, 0 },
    { "DELETE", "/api/v1/exchange-tasks/{id}", api_tasks_delete, ROLE_ADMIN, 0 },
    { "POST", "/api/v1/exchange-tasks/{id}/run", api_exec_run, ROLE_ADMIN, 0 },
    { "POST", "/api/v1/exchange-tasks/{id}/stop", api_exec_stop, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/exchange-tasks/{id}/executions", api_exec_list, ROLE_READ, 0 },
    { "GET", "/api/v1/exchange-tasks/{id}/executions/{execution_id}", api_exec_get, ROLE_READ, 0 },
    { "GET", "/api/v1/exchange-tasks/{id}/executions/{execution_id}/mailboxes",
      api_exec_execution_mailboxes, ROLE_READ, 0 },
    { "GET", "/api/v1/exchange-tasks/{id}/mailboxes", api_exec_mailboxes, ROLE_READ, 0 },
    /* The Exchange Services dashboard: counts and the lists it shows, not every task. */
    { "GET", "/api/v1/exchange-services/summary", api_tasks_summary, ROLE_READ, 0 },
    { "GET", "/api/v1/audit-events", api_audit_list, ROLE_ADMIN, 0 },
    /* Organisation-wide settings (docs/retention.md). */
    { "GET", "/api/v1/settings/retention", api_settings_retention_get, ROLE_READ, 0 },
    { "PUT", "/api/v1/settings/retention", api_settings_retention_put, ROLE_ADMIN, 0 },
    /* The archive view: what workers replicated. EWS ids go in query parameters. */
    { "GET", "/api/v1/mailboxes", api_archive_mailboxes, ROLE_READ, 0 },
    { "GET", "/api/v1/mailboxes/{address}", api_archive_mailbox, ROLE_READ, 0 },
    { "GET", "/api/v1/mailboxes/{address}/folders", api_archive_folders, ROLE_READ, 0 },
    { "GET", "/api/v1/mailboxes/{address}/items", api_archive_items, ROLE_READ, 0 },
    { "GET", "/api/v1/mailboxes/{address}/appointments", api_archive_appointments, ROLE_READ, 0 },
    { "GET", "/api/v1/mailboxes/{address}/items/{item_id}/content", api_archive_item_content,
      ROLE_READ, 0 },
    { "GET", "/api/v1/mailboxes/{address}/attachments/{sha256}", api_archive_attachment, ROLE_READ,
      0 },
    /* Journaled messages (docs/journal.md): an MTA posts them, the archive searches them. */
    { "POST", "/api/v1/journal", api_journal_post, ROLE_JOURNAL, MSE_MAX_JOURNAL_BODY },
    { "GET", "/api/v1/archive/search", api_archive_search, ROLE_READ, 0 },
    { "GET", "/api/v1/archive/messages/{sha256}/content", api_archive_message_content, ROLE_READ,
      0 },
    /* Exports (docs/export.md): the state is shown to readers, content goes to admins only. */
    { "GET", "/api/v1/exports", api_exports_list, ROLE_READ, 0 },
    { "POST", "/api/v1/exports", api_exports_create, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/exports/{id}", api_exports_get, ROLE_READ, 0 },
    { "DELETE", "/api/v1/exports/{id}", api_exports_delete, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/exports/{id}/content", api_exports_content, ROLE_ADMIN, 0 },
    /* The worker protocol (docs/worker-protocol.md): a site's own credentials only. */
    { "POST", MSE_WORKER_PREFIX "/heartbeat", api_worker_heartbeat, ROLE_SITE, 0 },
    { "POST", MSE_WORKER_PREFIX "/claims", api_worker_claim, ROLE_SITE, 0 },
    { "POST", MSE_WORKER_PREFIX "/executions/{id}/membership", api_worker_membership, ROLE_SITE,
      MSE_MAX_MEMBERSHIP_BODY },
    { "POST", MSE_WORKER_PREFIX "/executions/{id}/progress", api_worker_progress, ROLE_SITE, 0 },
    { "POST", MSE_WORKER_PREFIX "/executions/{id}/mailboxes/{address}/lock", api_worker_lock,
      ROLE_SITE, 0 },
    { "POST", MSE_WORKER_PREFIX "/executions/{id}/mailboxes/{address}/finish", api_worker_finish,
      ROLE_SITE, 0 },
    { "POST", MSE_WORKER_PREFIX "/executions/{id}/submissions", api_worker_submit, ROLE_SITE,
      MSE_MAX_SUBMISSION_BODY },
    { "POST", MSE_WORKER_PREFIX "/executions/{id}/complete", api_worker_complete, ROLE_SITE, 0 },
    { "POST", MSE_WORKER_PREFIX "/executions/{id}/release", api_worker_release, ROLE_SITE, 0 },
    { "GET", MSE_WORKER_PREFIX "/attachments/{sha256}", api_worker_blob_get, ROLE_SITE, 0 },
    { "PUT", MSE_WORKER_PREFIX "/attachments/{sha256}", api_worker_blob_put, ROLE_SITE,
      ROUTE_BODY_SPOOLED },
    /* A site's Active Directory (docs/directory.md): admins configure, the site's workers ask. */
    { "GET", "/api/v1/sites/{id}/directory", api_directory_get, ROLE_READ, 0 },
    { "PUT", "/api/v1/sites/{id}/directory", api_directory_put, ROLE_ADMIN, 0 },
    { "POST", "/api/v1/sites/{id}/directory/test", api_directory_test, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/sites/{id}/directory/tests/{test_id}", api_directory_test_get, ROLE_READ, 0 },
    { "GET", "/api/v1/sites/{id}/directory/groups", api_directory_groups, ROLE_READ, 0 },
    { "POST", "/api/v1/exchange-tasks/{id}/membership/refresh", api_tasks_membership_refresh,
      ROLE_ADMIN, 0 },
    { "GET", MSE_WORKER_PREFIX "/directory", api_worker_directory, ROLE_SITE, 0 },
    { "POST", MSE_WORKER_PREFIX "/directory/tests/{id}", api_worker_directory_test, ROLE_SITE, 0 },
    { "PUT", MSE_WORKER_PREFIX "/directory/groups", api_worker_directory_groups, ROLE_SITE,
      MSE_MAX_MEMBERSHIP_BODY },
    /* Sync & Recover (docs/sync-recover.md): Exchange servers, their tests, sync tasks. */
    { "GET", "/api/v1/server-connections", api_sync_conn_list, ROLE_READ, 0 },
    { "POST", "/api/v1/server-connections", api_sync_conn_create, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/server-connections/{id}", api_sync_conn_get, ROLE_READ, 0 },
    { "PATCH", "/api/v1/server-connections/{id}", api_sync_conn_patch, ROLE_ADMIN, 0 },
    { "DELETE", "/api/v1/server-connections/{id}", api_sync_conn_delete, ROLE_ADMIN, 0 },
    { "POST", "/api/v1/server-connections/{id}/test", api_sync_conn_test, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/server-connections/{id}/tests/{test_id}", api_sync_conn_test_get, ROLE_READ,
      0 },
    { "GET", "/api/v1/sync-tasks", api_sync_tasks_list, ROLE_READ, 0 },
    { "POST", "/api/v1/sync-tasks", api_sync_tasks_create, ROLE_ADMIN, 0 },
    { "GET", "/api/v1/sync-tasks/{id}", api_sync_tasks_get, ROLE_READ, 0 },
    { "PATCH", "/api/v1/sync-tasks/{id}", api_sync_tasks_patch, ROLE_ADMIN, 0 },
    { "DELETE", "/api/v1/sync-tasks/{id}", api_sync_tasks_delete, ROLE_ADMIN, 0 },
    { "POST", "/api/v1/sync-tasks/{id}/start", api_sync_tasks_start, ROLE_ADMIN, 0 },
    { "POST", "/api/v1/sync-tasks/{id}/stop", api_sync_tasks_stop, ROLE_ADMIN, 0 },
    { "POST", "/api/v1/sync-tasks/{id}/membership/refresh", api_sync_tasks_membership_refresh,
      ROLE_ADMIN, 0 },
    { "GET", "/api/v1/sync-tasks/{id}/mailboxes", api_sync_tasks_mailboxes, ROLE_READ, 0 },
    { "GET", "/api/v1/worker/server-connection-tests", api_worker_sync_tests, ROLE_SITE, 0 },
    { "POST", "/api/v1/worker/server-connection-tests/{id}", api_worker_sync_test_finish, ROLE_SITE,
      0 },
    /* Throughput planning (docs/planning.md): read-only arithmetic over measured passes. */
    { "POST", "/api/v1/planning/estimate", api_planning_estimate, ROLE_READ, 0 },
    { "GET", "/metrics", api_metrics, ROLE_METRICS, 0 },
    /* Static documentation holds no data; browsers must load it without a token. */
    { "GET", "/api/v1/openapi.yaml", api_docs_spec, ROLE_DOCS, 0 },
    { "GET", "/api/v1/openapi.json", api_docs_spec, ROLE_DOCS, 0 },
    { "GET", "/docs", api_docs_page, ROLE_DOCS, 0 },
    { "GET", "/docs/{asset}", api_docs_page, ROLE_DOCS, 0 },
    /* The console's files hold no data (every datum comes from the API, with a token). */
    { "GET", "/console", api_console_page, ROLE_PUBLIC, 0 },
    { "GET", "/console/{asset}", api_console_page, ROLE_PUBLIC, 0 },
};
const size_t routes_count = sizeof(routes_table) / sizeof(routes_table[0]);
