/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL of retries (an execution queued with its mailboxes, schema 031) and of the per-mailbox
 * results of past executions.
 */
#include "db_retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db_util.h"
#include "exec_state.h"

DB_STMT(retry_task_state, 1, false,
        "SELECT t.enabled, (SELECT e.id FROM executions e WHERE e.task_id = t.id"
        " AND e.state IN " EXS_SQL_ACTIVE ")"
        " FROM exchange_tasks t WHERE t.id = $1::uuid AND " LIVE_EXCHANGE_TASK " FOR UPDATE");
/* The latest execution that ran its mailboxes to an end, and those of them that failed. */
DB_STMT(retry_failed, 1, false,
        "SELECT e.id, coalesce((SELECT array_agg(m.address ORDER BY m.position)"
        " FROM execution_mailboxes m WHERE m.execution_id = e.id AND m.state = " SQL_MBS_ERROR "),"
        " '{}')::text FROM executions e WHERE e.task_id = $1::uuid"
        " AND e.state IN (" SQL_EXS_COMPLETED ", " SQL_EXS_CANCELLED ") AND e.membership_known"
        " ORDER BY e.seq DESC LIMIT 1");
/* The first listed address that is not a mailbox of the task's group, with its index. */
DB_STMT(retry_outside, 2, false,
        "SELECT u.addr, u.ord - 1 FROM unnest($2::text[]) WITH ORDINALITY AS u (addr, ord)"
        " WHERE NOT EXISTS (SELECT 1 FROM task_mailboxes m WHERE m.task_id = $1::uuid"
        " AND m.address = u.addr AND m.in_group) ORDER BY u.ord LIMIT 1");
DB_STMT(retry_queue, 3, false,
        "WITH a AS (SELECT u.addr, row_number() OVER (ORDER BY min(u.ord)) AS pos"
        " FROM unnest($2::text[]) WITH ORDINALITY AS u (addr, ord) GROUP BY u.addr),"
        " x AS (INSERT INTO executions (task_id, site_id, trigger, state, membership_known,"
        " mailboxes_total, mailboxes_requested, retry_of)"
        " SELECT t.id, t.site_id, 'manual', " SQL_EXS_QUEUED
        ", true, (SELECT count(*) FROM a), true,"
        " $3::uuid FROM exchange_tasks t WHERE t.id = $1::uuid RETURNING id),"
        " m AS (INSERT INTO execution_mailboxes (execution_id, address, position)"
        " SELECT x.id, a.addr, a.pos FROM x, a),"
        " t AS (UPDATE exchange_tasks t SET live_state = coalesce(t.live_state, " SQL_EXS_QUEUED ")"
        " WHERE t.id = $1::uuid)"
        " SELECT id FROM x");
/* A separate statement: the rows the queueing statement inserted are visible only after it. */
DB_STMT(retry_doc, 1, false,
        "SELECT mse_execution_json(e)::text FROM executions e WHERE e.id = $1::uuid");

DB_STMT(exec_of_task, 2, true,
        "SELECT count(*) FROM executions WHERE id = $2::uuid AND task_id = $1::uuid");
DB_STMT(execution_mailboxes_page, 5, true,
        "SELECT json_build_object('address', m.address, 'position', m.position,"
        " 'state', m.state, 'reason_code', m.reason_code, 'reason_text', m.reason_text,"
        " 'items', m.items, 'full_sync', m.full_sync, 'started_at', mse_ts(m.started_at),"
        " 'finished_at', mse_ts(m.finished_at), 'duration_ms', m.duration_ms)::text,"
        " m.position FROM execution_mailboxes m JOIN executions e ON e.id = m.execution_id"
        " WHERE e.task_id = $1::uuid AND m.execution_id = $2::uuid"
        " AND ($3::text IS NULL OR m.state = $3) AND ($4::bigint IS NULL OR m.position > $4)"
        " ORDER BY m.position LIMIT $5");

/* The one text cell a statement returns, copied; MSE_ERR_INTERNAL when there is none. */
static enum mse_rc one_text(struct db *db, struct db_stmt *st, const char *const *params,
                            char **out, struct db_error *err)
{
    struct db_res res;
    *out = NULL;
    enum mse_rc rc = db_query(db, st, params, &res, err);
    if (rc == MSE_OK && (db_res_rows(&res) != 1 || !db_res_get(&res, 0, 0)))
        rc = MSE_ERR_INTERNAL;
    if (rc == MSE_OK && !(*out = strdup(db_res_get(&res, 0, 0))))
        rc = MSE_ERR_NOMEM;
    db_res_clear(&res);
    return rc;
}

/* Checks the task and fills r->outcome when it may not run now. */
static enum mse_rc task_may_run(struct db *db, const char *task_id, struct retry_result *r,
                                struct db_error *err)
{
    struct db_res res;
    const char *p[] = { task_id };
    enum mse_rc rc = db_query(db, &retry_task_state, p, &res, err);
    if (rc != MSE_OK)
        return rc;
    if (db_res_rows(&res) != 1) {
        r->outcome = RETRY_NO_TASK;
    } else if (db_res_get(&res, 0, 1)) {
        snprintf(r->active_id, sizeof(r->active_id), "%s", db_res_get(&res, 0, 1));
        r->outcome = RETRY_ACTIVE;
    } else if (db_res_get(&res, 0, 0)[0] != 't') {
        r->outcome = RETRY_DISABLED;
    }
    db_res_clear(&res);
    return MSE_OK;
}

/* The failed mailboxes of the latest finished execution; *list owned by the caller. */
static enum mse_rc failed_list(struct db *db, const char *task_id, struct retry_result *r,
                               char **list, struct db_error *err)
{
    struct db_res res;
    const char *p[] = { task_id };
    *list = NULL;
    enum mse_rc rc = db_query(db, &retry_failed, p, &res, err);
    if (rc != MSE_OK)
        return rc;
    if (db_res_rows(&res) != 1) {
        r->outcome = RETRY_NO_EXECUTION;
    } else {
        snprintf(r->latest_id, sizeof(r->latest_id), "%s", db_res_get(&res, 0, 0));
        const char *v = db_res_get(&res, 0, 1);
        if (strcmp(v, "{}") == 0)
            r->outcome = RETRY_NOTHING_FAILED;
        else if (!(*list = strdup(v)))
            rc = MSE_ERR_NOMEM;
    }
    db_res_clear(&res);
    return rc;
}

static enum mse_rc listed_outside(struct db *db, const char *task_id, const char *addresses,
                                  struct retry_result *r, struct db_error *err)
{
    struct db_res res;
    const char *p[] = { task_id, addresses };
    enum mse_rc rc = db_query(db, &retry_outside, p, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) == 1) {
        int64_t index = 0;
        snprintf(r->outside, sizeof(r->outside), "%s", db_res_get(&res, 0, 0));
        rc = mse_parse_int(db_res_get(&res, 0, 1), 0, INT32_MAX, &index);
        r->index = (int)index;
        r->outcome = RETRY_NOT_A_MAILBOX;
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_exec_retry(struct db *db, const char *task_id, bool failed, const char *addresses,
                          struct retry_result *r, struct db_error *err)
{
    char *owned = NULL, id[37] = "";
    memset(r, 0, sizeof(*r));
    r->index = -1;
    r->outcome = RETRY_QUEUED;
    enum mse_rc rc = task_may_run(db, task_id, r, err);
    if (rc == MSE_OK && r->outcome == RETRY_QUEUED && failed) {
        rc = failed_list(db, task_id, r, &owned, err);
        addresses = owned;
    } else if (rc == MSE_OK && r->outcome == RETRY_QUEUED) {
        rc = listed_outside(db, task_id, addresses, r, err);
    }
    if (rc == MSE_OK && r->outcome == RETRY_QUEUED) {
        const char *q[] = { task_id, addresses, failed ? r->latest_id : NULL };
        rc = one_text(db, &retry_queue, q, &r->json, err);
    }
    if (rc == MSE_OK && r->outcome == RETRY_QUEUED) {
        snprintf(id, sizeof(id), "%s", r->json ? r->json : "");
        free(r->json);
        const char *d[] = { id };
        rc = one_text(db, &retry_doc, d, &r->json, err);
    }
    free(owned);
    return rc;
}

enum mse_rc db_exec_of_task(struct db *db, const char *task_id, const char *execution_id,
                            bool *exists, struct db_error *err)
{
    int64_t n = 0;
    const char *p[] = { task_id, execution_id };
    enum mse_rc rc = db_int_query(db, &exec_of_task, p, &n, err);
    *exists = rc == MSE_OK && n == 1;
    return rc;
}

enum mse_rc db_exec_execution_mailboxes(struct db *db, const char *task_id,
                                        const char *execution_id, const char *state, bool has_after,
                                        int64_t after, unsigned limit, char **items,
                                        int64_t *last_seq, bool *more, struct db_error *err)
{
    char a[24], l[16];
    snprintf(a, sizeof(a), "%lld", (long long)after);
    snprintf(l, sizeof(l), "%u", limit + 1);
    const char *p[] = { task_id, execution_id, state, has_after ? a : NULL, l };
    return db_page_query(db, &execution_mailboxes_page, p, limit, items, last_seq, more, err);
}
