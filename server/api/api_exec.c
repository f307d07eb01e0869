/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A task's executions as administrators drive and watch them: run now, stop, the history of
 * executions, and each mailbox's state with its baseline figures (seed 004).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_outcome.h"
#include "api_util.h"
#include "crypto.h"
#include "api_worker.h"
#include "db_exec.h"
#include "db_retry.h"
#include "http.h"
#include "jsonin.h"
#include "mse/limits.h"
#include "problem.h"
#include "query.h"
#include "server.h"
#include "tx.h"

#define EXEC_CURSOR    'x'
#define MAILBOX_CURSOR 'm'

/* Copies a top-level string member of a rendered document ("" when absent). */
static void json_field(const char *json, const char *key, char *out, size_t size)
{
    cJSON *doc = cJSON_Parse(json);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
    snprintf(out, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
    cJSON_Delete(doc);
}

/*
 * The optional body of run: {"mailboxes": "failed"} or {"mailboxes": [addresses]}. False
 * after answering; *retry tells whether mailboxes were asked for, *failed which form.
 */
static bool run_body(struct request *req, bool *retry, bool *failed, struct mse_buf *arr)
{
    static const char *const allowed[] = { "mailboxes", NULL };
    cJSON *body = NULL;
    *retry = *failed = false;
    if (!jsonin_parse(req, JSONIN_OPTIONAL, &body))
        return false;
    if (!body)
        return true;
    struct verr v;
    verr_init(&v);
    jsonin_members(body, "", allowed, NULL, &v);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "mailboxes");
    bool ok = mse_buf_puts(arr, "{") == MSE_OK;
    if (cJSON_IsString(m) && strcmp(m->valuestring, "failed") == 0) {
        *retry = *failed = true;
    } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) > 0 &&
               cJSON_GetArraySize(m) <= MSE_MAX_MAILBOX_LIST) {
        const cJSON *e;
        unsigned i = 0, n = 0;
        *retry = true;
        cJSON_ArrayForEach(e, m)
        {
            char addr[MSE_MAX_ADDRESS + 1], path[32];
            snprintf(path, sizeof(path), "mailboxes[%u]", i++);
            if (!cJSON_IsString(e) || !api_worker_address(e->valuestring, addr, sizeof(addr)))
                verr_add(&v, path, "must be an e-mail address");
            else /* quoted: addresses may hold characters an array literal treats specially */
                ok = ok && mse_buf_printf(arr, "%s\"%s\"", n++ ? "," : "", addr) == MSE_OK;
        }
    } else if (m) {
        verr_add(&v, "mailboxes", "must be \"failed\" or a list of 1 to %d addresses",
                 MSE_MAX_MAILBOX_LIST);
    }
    ok = ok && mse_buf_puts(arr, "}") == MSE_OK;
    if (verr_any(&v))
        problem_send_fields(req, 422, "the run request is not valid", &v);
    else if (!ok)
        problem_send(req, 500, "out of memory");
    bool good = !verr_any(&v) && ok;
    verr_cleanup(&v);
    cJSON_Delete(body);
    return good;
}

/* Answers a retry that was not queued. */
static void retry_refused(struct tx *tx, const struct retry_result *r)
{
    struct verr v;
    char path[32];
    switch (r->outcome) {
    case RETRY_QUEUED:
        break;
    case RETRY_NO_TASK:
        tx_fail(tx, 404, "no exchange task with this id");
        break;
    case RETRY_ACTIVE:
        tx_fail(tx, 409, "execution %s of this task is still active; stop it or wait for it",
                r->active_id);
        break;
    case RETRY_DISABLED:
        tx_fail(tx, 409, "the task is disabled; enable it before running it");
        break;
    case RETRY_NO_EXECUTION:
        tx_fail(tx, 409, "the task has no finished execution whose failed mailboxes to retry");
        break;
    case RETRY_NOTHING_FAILED:
        tx_fail(tx, 409, "no mailbox failed in the latest execution (%s); nothing to retry",
                r->latest_id);
        break;
    case RETRY_NOT_A_MAILBOX:
        verr_init(&v);
        snprintf(path, sizeof(path), "mailboxes[%d]", r->index);
        verr_add(&v, path, "%s is not a mailbox of this task's group", r->outside);
        tx_fail_fields(tx, 422, "the run request is not valid", &v);
        verr_cleanup(&v);
        break;
    }
}

void api_exec_run(struct request *req)
{
    char id[37], active[37], location[160];
    struct tx tx;
    struct mse_buf arr;
    bool retry = false, failed = false;
    if (!api_path_uuid(req, 0, "exchange task", id))
        return;
    mse_buf_init(&arr, (MSE_MAX_ADDRESS + 4) * (size_t)MSE_MAX_MAILBOX_LIST + 16);
    if (!run_body(req, &retry, &failed, &arr) || !tx_begin(req, &tx)) {
        mse_buf_cleanup(&arr);
        return;
    }
    struct db_error err;
    char *json = NULL;
    enum exec_outcome o = EXO_DONE;
    enum mse_rc rc;
    if (retry) {
        struct retry_result r;
        rc = db_exec_retry(tx.db, id, failed, arr.data, &r, &err);
        mse_buf_cleanup(&arr);
        json = r.json;
        if (rc == MSE_OK && r.outcome != RETRY_QUEUED) {
            retry_refused(&tx, &r);
            return;
        }
    } else {
        mse_buf_cleanup(&arr);
        rc = db_exec_run_now(tx.db, id, &json, active, &o, &err);
    }
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, NULL);
    } else if (o == EXO_TASK_ACTIVE) {
        char detail[128];
        snprintf(detail, sizeof(detail),
                 "execution %s of this task is still active; stop it or wait for it", active);
        api_outcome_fail(&tx, o, detail);
    } else if (o != EXO_DONE) {
        api_outcome_fail(&tx, o, NULL);
    } else if (tx_audit(&tx, "exchange_task.run", "exchange_task", id, NULL, json)) {
        char eid[37] = "";
        json_field(json, "id", eid, sizeof(eid));
        snprintf(location, sizeof(location), "/api/v1/exchange-tasks/%s/executions/%s", id, eid);
        tx_commit_reply(&tx, 202, json, location, -1);
        return;
    }
    free(json);
}

void api_exec_stop(struct request *req)
{
    char id[37];
    struct tx tx;
    if (!api_path_uuid(req, 0, "exchange task", id) || !tx_begin(req, &tx))
        return;
    struct db_error err;
    char *json = NULL;
    bool exists = false;
    enum exec_outcome o = EXO_DONE;
    enum mse_rc rc = db_exec_task_exists(tx.db, id, &exists, &err);
    if (rc == MSE_OK && !exists)
        o = EXO_NO_TASK;
    else if (rc == MSE_OK)
        rc = db_exec_stop(tx.db, id, &json, &o, &err);
    if (rc != MSE_OK)
        tx_fail_rc(&tx, rc, NULL);
    else if (o != EXO_DONE)
        api_outcome_fail(&tx, o, NULL);
    else if (tx_audit(&tx, "exchange_task.stop", "exchange_task", id, NULL, json)) {
        /* Queued: cancelled now (200); running: stops after its current mailbox (202). */
        char state[16] = "";
        json_field(json, "state", state, sizeof(state));
        bool now = strcmp(state, "cancelled") == 0;
        tx_commit_reply(&tx, now ? 200 : 202, json, NULL, -1);
        return;
    }
    free(json);
}

/* The task's id from the path, checked to name a live task; false after answering. */
static bool task_known(struct request *req, struct db **db, char id[37])
{
    struct db_error err;
    bool exists = false;
    if (!api_path_uuid(req, 0, "exchange task", id))
        return false;
    enum mse_rc rc = http_db(req, db);
    if (rc == MSE_OK)
        rc = db_exec_task_exists(*db, id, &exists, &err);
    if (rc != MSE_OK)
        problem_send_rc(req, rc, NULL);
    else if (!exists)
        problem_send(req, 404, "no exchange task with this id");
    return rc == MSE_OK && exists;
}

void api_exec_list(struct request *req)
{
    struct page page;
    if (!api_page_only(req, EXEC_CURSOR, &page))
        return;
    char id[37];
    struct db *db;
    if (!task_known(req, &db, id))
        return;
    struct db_error err;
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    enum mse_rc rc = db_exec_list(db, id, page.has_after, page.after, page.limit, &items, &last,
                                  &more, &err);
    api_reply_list_polled(req, rc, items, more, last, EXEC_CURSOR);
}

void api_exec_get(struct request *req)
{
    char id[37], eid[37];
    if (!api_path_uuid(req, 0, "exchange task", id) || !api_path_uuid(req, 1, "execution", eid) ||
        !api_no_query(req))
        return;
    struct db *db;
    struct db_error err;
    char *json = NULL;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_exec_get(db, id, eid, &json, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, "no execution with this id for this task");
        return;
    }
    /* Executions change as they run: the ETag is a hash of what is shown. */
    char hex[65], etag[36];
    mse_crypto_sha256_hex(json, strlen(json), hex);
    snprintf(etag, sizeof(etag), "\"%.32s\"", hex);
    http_add_header(req, "ETag", etag);
    (void)http_reply_json_take(req, 200, json);
}

void api_exec_execution_mailboxes(struct request *req)
{
    static const char *const allowed[] = { "limit", "cursor", "state", NULL };
    static const char *const states[] = { "pending", "syncing", "waiting_for_lock", "healthy",
                                          "warning", "error",   "skipped",          NULL };
    struct verr v;
    struct page page;
    int state = -1;
    char id[37], eid[37];
    if (!api_path_uuid(req, 0, "exchange task", id) || !api_path_uuid(req, 1, "execution", eid))
        return;
    verr_init(&v);
    query_check(req, allowed, &v);
    query_page(req, MAILBOX_CURSOR, &page, &v);
    bool filtered = query_enum(req, "state", states, &v, &state);
    if (verr_any(&v)) {
        query_fail(req, &v);
        verr_cleanup(&v);
        return;
    }
    verr_cleanup(&v);
    struct db *db;
    struct db_error err;
    bool exists = false;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_exec_of_task(db, id, eid, &exists, &err);
    if (rc == MSE_OK && !exists) {
        problem_send(req, 404, "no execution with this id for this task");
        return;
    }
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    if (rc == MSE_OK)
        rc = db_exec_execution_mailboxes(db, id, eid, filtered ? states[state] : NULL,
                                         page.has_after, page.after, page.limit, &items, &last,
                                         &more, &err);
    api_reply_list(req, rc, items, more, last, MAILBOX_CURSOR);
}

void api_exec_mailboxes(struct request *req)
{
    static const char *const allowed[] = { "limit", "cursor", "state", NULL };
    static const char *const states[] = { "pending", "syncing", "waiting_for_lock", "healthy",
                                          "warning", "error",   "skipped",          NULL };
    struct verr v;
    struct page page;
    int state = -1;
    verr_init(&v);
    query_check(req, allowed, &v);
    query_page(req, MAILBOX_CURSOR, &page, &v);
    bool filtered = query_enum(req, "state", states, &v, &state);
    if (verr_any(&v)) {
        query_fail(req, &v);
        verr_cleanup(&v);
        return;
    }
    verr_cleanup(&v);
    char id[37];
    struct db *db;
    if (!task_known(req, &db, id))
        return;
    struct db_error err;
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    enum mse_rc rc = db_exec_task_mailboxes(db, id, filtered ? states[state] : NULL, page.has_after,
                                            page.after, page.limit, &items, &last, &more, &err);
    api_reply_list_polled(req, rc, items, more, last, MAILBOX_CURSOR);
}
