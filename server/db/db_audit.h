/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of the audit log: writing events inside a change's transaction, and listing them. */
#ifndef MSE_DB_AUDIT_H
#define MSE_DB_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "db.h"
#include "mse/rc.h"

struct principal;

struct audit_event {
    const char *action;        /* "site.create", "auth.failure", … */
    const char *resource_type; /* "site", "schedule", "api_client", … */
    const char *resource_id;   /* may be NULL */
    const char *before;        /* JSON text or NULL; secrets are redacted on the way in */
    const char *after;         /* JSON text or NULL */
};

/*
 * Inserts one event. actor NULL or PRINCIPAL_NONE = unauthenticated. Runs in whatever
 * transaction db has open, so the event commits or rolls back with the change.
 */
enum mse_rc db_audit_insert(struct db *db, const struct principal *actor, const char *request_id,
                            const char *remote_addr, const struct audit_event *e,
                            struct db_error *err) MSE_WUR;

struct audit_filter {
    const char *action, *resource_type, *resource_id, *actor, *request_id; /* NULL = any */
    bool has_since, has_until;
    time_t since, until; /* since ≤ at < until */
    bool has_before;
    int64_t before_seq; /* cursor: only events older than this one */
    unsigned limit;
};

/*
 * Renders matching events newest first as a JSON array text into *items (malloc'd); *last_seq
 * is the seq of the last one and *more says whether more events match beyond limit.
 */
enum mse_rc db_audit_list(struct db *db, const struct audit_filter *f, char **items,
                          int64_t *last_seq, bool *more, struct db_error *err) MSE_WUR;

#endif
