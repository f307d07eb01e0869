/* SPDX-License-Identifier: Apache-2.0 */
/* Mailbox Storage Management pieces other handlers call (api_storage.c). */
#ifndef MSE_API_STORAGE_H
#define MSE_API_STORAGE_H

#include <stdbool.h>

#include "mse/rc.h"

struct db;
struct request;
struct tx;

/*
 * POST …/run with {"mode": "report"}: marks the execution just queued (its document, json)
 * report-only. False after failing the transaction (422 when the task is not a storage
 * management task).
 */
bool api_storage_report_mode(struct tx *tx, const char *json);
/*
 * Opens the request's connection and checks that the execution belongs to the task: false
 * after answering 404; otherwise *rc says whether the database could be reached (api_exec.c).
 */
bool api_exec_of_task(struct request *req, const char *task_id, const char *execution_id,
                      struct db **db, enum mse_rc *rc);
/* A claim of a storage management execution carries its "mode"; *json is replaced. */
enum mse_rc api_storage_claim_complete(struct db *db, char **json) MSE_WUR;

#endif
