/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of Mailbox Storage Management: the archive's confirmation of candidates (schema 047). */
#ifndef MSE_DB_STORAGE_H
#define MSE_DB_STORAGE_H

#include <stddef.h>

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

#endif
