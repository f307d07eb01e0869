/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of Mailbox Storage Management: the archive's confirmation of candidates (schema 047). */
#ifndef MSE_DB_STORAGE_H
#define MSE_DB_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "db_exec.h"
#include "mse/rc.h"

/* One candidate as the worker sees it in Exchange; NULL members are not known. */
struct storage_candidate {
    const char *message_id; /* InternetMessageId as EWS gives it, <…> included */
    const char *sha256;     /* the message content's SHA-256, 64 lowercase hex digits */
    const char *sender;     /* the From address, lower case */
};

/*
 * Answers n candidates of mailbox (lower case) in one statement, if the fenced execution holds
 * the mailbox's lock: *json (malloc'd) is the array of answers in order, each
 * {"outcome": "confirmed" | "not_archived" | "no_permission", "content_sha256"}. *out is
 * EXO_DONE, EXO_NOT_LOCKED, or why the fence does not hold. Reads only.
 */
enum mse_rc db_storage_confirm(struct db *db, const struct fence *f, const char *mailbox,
                               const struct storage_candidate *c, size_t n, char **json,
                               enum exec_outcome *out, struct db_error *err) MSE_WUR;

/*
 * Marks the just-queued execution (id) report-only; *ok false when its task is not a storage
 * management task (nothing written).
 */
enum mse_rc db_storage_set_report(struct db *db, const char *execution_id, bool *ok,
                                  struct db_error *err) MSE_WUR;
/* The execution's mode: "report", or "run" when it was not queued report-only. */
enum mse_rc db_storage_mode(struct db *db, const char *execution_id, char mode[8],
                            struct db_error *err) MSE_WUR;
/*
 * Stores the mailbox's report (JSON text) for the fenced execution, replacing an earlier one
 * of the same execution (a resumed mailbox reports again). EXO_DONE, EXO_NOT_LOCKED, or why
 * the fence does not hold.
 */
enum mse_rc db_storage_report_put(struct db *db, const struct fence *f, const char *mailbox,
                                  const char *report, enum exec_outcome *out,
                                  struct db_error *err) MSE_WUR;
/* A page of the execution's reports, in the order they came. */
enum mse_rc db_storage_reports(struct db *db, const char *execution_id, bool has_after,
                               int64_t after, unsigned limit, char **items, int64_t *last_seq,
                               bool *more, struct db_error *err) MSE_WUR;

#endif
