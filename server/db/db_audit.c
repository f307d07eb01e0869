/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of the audit log: writing events inside a change's transaction, and listing them. */
#include "db_audit.h"

#include <stdio.h>
#include <string.h>

#include "db_util.h"
#include "principal.h"

DB_STMT(audit_insert, 9, false,
        "INSERT INTO audit_events (actor, actor_id, action, resource_type, resource_id, before,"
        " after, request_id, remote_addr)"
        " VALUES ($1, $2::uuid, $3, $4, $5, mse_redact($6::jsonb), mse_redact($7::jsonb), $8, $9)");

enum mse_rc db_audit_insert(struct db *db, const struct principal *actor, const char *request_id,
                            const char *remote_addr, const struct audit_event *e,
                            struct db_error *err)
{
    bool known = actor && actor->kind != PRINCIPAL_NONE;
    const char *params[] = { known ? actor->client_id : NULL,
                             known ? actor->client_uuid : NULL,
                             e->action,
                             e->resource_type,
                             e->resource_id,
                             e->before,
                             e->after,
                             request_id,
                             remote_addr };
    return db_run(db, &audit_insert, params, err);
}

/* Filters are optional: a NULL parameter matches everything. */
DB_STMT(audit_list, 9, true,
        "SELECT json_build_object('id', id, 'at', to_char(at AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'actor', actor, 'action', action,"
        " 'resource_type', resource_type, 'resource_id', resource_id, 'before', before,"
        " 'after', after, 'request_id', request_id, 'remote_addr', remote_addr)::text, seq"
        " FROM audit_events"
        " WHERE ($1::text IS NULL OR action = $1) AND ($2::text IS NULL OR resource_type = $2)"
        " AND ($3::text IS NULL OR resource_id = $3) AND ($4::text IS NULL OR actor = $4)"
        " AND ($5::text IS NULL OR request_id = $5)"
        " AND ($6::timestamptz IS NULL OR at >= $6) AND ($7::timestamptz IS NULL OR at < $7)"
        " AND ($8::bigint IS NULL OR seq < $8)"
        " ORDER BY seq DESC LIMIT $9");

enum mse_rc db_audit_list(struct db *db, const struct audit_filter *f, char **items,
                          int64_t *last_seq, bool *more, struct db_error *err)
{
    char since[32], until[32], before[24], limit[16];
    db_param_time(f->has_since, f->since, since, sizeof(since));
    db_param_time(f->has_until, f->until, until, sizeof(until));
    snprintf(before, sizeof(before), "%lld", (long long)f->before_seq);
    snprintf(limit, sizeof(limit), "%u", f->limit + 1);
    const char *params[] = { f->action,
                             f->resource_type,
                             f->resource_id,
                             f->actor,
                             f->request_id,
                             f->has_since ? since : NULL,
                             f->has_until ? until : NULL,
                             f->has_before ? before : NULL,
                             limit };
    return db_page_query(db, &audit_list, params, f->limit, items, last_seq, more, err);
}
