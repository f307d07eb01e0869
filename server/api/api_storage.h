/* SPDX-License-Identifier: Apache-2.0 */
/* Mailbox Storage Management pieces other handlers call (api_storage.c). */
#ifndef MSE_API_STORAGE_H
#define MSE_API_STORAGE_H

#include <stdbool.h>

#include "mse/rc.h"

struct db;
struct tx;

/*
 * POST …/run with {"mode": "report"}: marks the execution just queued (its document, json)
 * report-only. False after failing the transaction (422 when the task is not a storage
 * management task).
 */
bool api_storage_report_mode(struct tx *tx, const char *json);
/* A claim of a storage management execution carries its "mode"; *json is replaced. */
enum mse_rc api_storage_claim_complete(struct db *db, char **json) MSE_WUR;

#endif
