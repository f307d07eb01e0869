/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/v1/worker: the protocol of a site's workers (docs/worker-protocol.md). Site principals
 * only; another site's executions answer 404; execution writes carry the claim's fencing
 * token (MSE-Fencing-Token) and get 409 once the claim no longer holds.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "api_outcome.h"
#include "api_storage.h"
#include "api_util.h"
#include "api_worker.h"
#include "blobstore.h"
#include "config.h"
#include "crypto.h"
#include "db_blob.h"
#include "db_exec.h"
#include "db_submit.h"
#include "http.h"
#include "ids.h"
#include "jsonin.h"
#include "log.h"
#include "metrics.h"
#include "mse/protocol.h"
#include "problem.h"
#include "server.h"
#include "timefmt.h"

/*
 * Answers a lifecycle statement that did not do what was asked: the machinery's failure (rc),
 * or its outcome; a lost lease names what was refused.
 */
static void worker_fail(struct request *req, enum mse_rc rc, enum exec_outcome o, const char *what)
{
    char detail[160];
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
        return;
    }
    if (o == EXO_LEASE_LOST) {
        metrics_count(METRIC_FENCING_REJECTIONS, 1);
        snprintf(detail, sizeof(detail),
                 "%s refused: this worker's claim on the execution no longer holds "
                 "(lease lost or execution re-claimed); abandon it",
                 what);
        api_outcome_send(req, o, detail);
        return;
    }
    api_outcome_send(req, o, NULL);
}

/* The same for an outcome about the mailbox addr. */
static void mailbox_fail(struct request *req, enum mse_rc rc, enum exec_outcome o, const char *addr,
                         const char *what)
{
    char detail[MSE_MAX_ADDRESS + 64];
    if (rc == MSE_OK && o == EXO_NOT_MEMBER) {
        snprintf(detail, sizeof(detail), "%s is not one of this execution's mailboxes", addr);
        api_outcome_send(req, o, detail);
        return;
    }
    worker_fail(req, rc, o, what);
}

bool api_worker_fence(struct request *req, struct fence *f, char id[37], char token[24])
{
    int64_t t;
    if (!api_path_uuid(req, 0, "execution", id))
        return false;
    const char *h = http_header(req, "MSE-Fencing-Token");
    /* Digits only: the number parser would also take a sign or leading white space, and a
       token is compared as issued, not as whatever a lenient parser makes of it. */
    if (!h || !*h || strspn(h, "0123456789") != strlen(h) ||
        mse_parse_int(h, 1, INT64_MAX, &t) != MSE_OK) {
        problem_send(req, 400,
                     "the MSE-Fencing-Token header must carry the fencing token of the claim");
        return false;
    }
    snprintf(token, 24, "%lld", (long long)t);
    f->execution_id = id;
    f->site_id = req->principal.site_id;
    f->token = token;
    return true;
}

bool api_worker_begin(struct request *req, struct db **db)
{
    struct db_error err;
    enum mse_rc rc = http_db(req, db);
    if (rc == MSE_OK)
        rc = db_begin(*db, &err);
    if (rc != MSE_OK)
        problem_send_rc(req, rc, NULL);
    return rc == MSE_OK;
}

/* Commits and replies with json (taken); rolls back and answers 500/503 on failure. */
static void worker_commit_reply(struct request *req, struct db *db, unsigned status, char *json)
{
    struct db_error err;
    enum mse_rc rc = db_commit(db, &err);
    if (rc != MSE_OK) {
        free(json);
        problem_send_rc(req, rc, NULL);
        return;
    }
    if (json)
        (void)http_reply_json_take(req, status, json);
    else
        (void)http_reply_empty(req, 204);
}

bool api_worker_address(const char *in, char *out, size_t size)
{
    size_t n = strlen(in);
    if (n == 0 || n >= size || n > MSE_MAX_ADDRESS || !strchr(in, '@'))
        return false;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c && (c <= ' ' || c == 0x7f || strchr("<>,;\"'\\", c)))
            return false;
        out[i] = (char)tolower(c);
    }
    return true;
}

/* ---- heartbeat and claims ---- */

/* Builds the PostgreSQL array literals of execution ids and tokens a heartbeat lists. */
static bool heartbeat_arrays(const cJSON *list, struct mse_buf *ids, struct mse_buf *tokens,
                             struct verr *v)
{
    const cJSON *e;
    unsigned i = 0;
    bool ok = mse_buf_puts(ids, "{") == MSE_OK && mse_buf_puts(tokens, "{") == MSE_OK;
    cJSON_ArrayForEach(e, list)
    {
        char path[48], id[37];
        int64_t token;
        snprintf(path, sizeof(path), "executions[%u]", i);
        if (jsonin_uuid(e, path, "id", JF_REQUIRED, v, id) != JF_OK ||
            jsonin_int(e, path, "fencing_token", 1, INT64_MAX, JF_REQUIRED, v, &token) != JF_OK)
            continue;
        ok = ok && mse_buf_printf(ids, "%s%s", i ? "," : "", id) == MSE_OK &&
             mse_buf_printf(tokens, "%s%lld", i ? "," : "", (long long)token) == MSE_OK;
        i++;
    }
    return ok && mse_buf_puts(ids, "}") == MSE_OK && mse_buf_puts(tokens, "}") == MSE_OK;
}

void api_worker_heartbeat(struct request *req)
{
    static const char *const allowed[] = { "worker_id",  "version", "host", "slots",
                                           "executions", "backend", NULL };
    static const char *const backends[] = { "ews", "graph", NULL };
    cJSON *body;
    if (!jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    const char *worker = NULL, *version = NULL, *host = NULL;
    const cJSON *list = NULL;
    int64_t slots;
    int backend = -1;
    struct mse_buf ids, tokens;
    verr_init(&v);
    mse_buf_init(&ids, 64 * 1024);
    mse_buf_init(&tokens, 64 * 1024);
    jsonin_members(body, "", allowed, NULL, &v);
    (void)jsonin_str(body, "", "worker_id", MSE_PROTO_MAX_WORKER_ID, JF_REQUIRED, &v, &worker);
    (void)jsonin_str(body, "", "version", MSE_PROTO_MAX_VERSION, 0, &v, &version);
    (void)jsonin_str(body, "", "host", MSE_PROTO_MAX_HOST, 0, &v, &host);
    (void)jsonin_int(body, "", "slots", 1, 1024, 0, &v, &slots);
    if (jsonin_enum(body, "", "backend", backends, 0, &v, &backend) != JF_OK)
        backend = -1;
    (void)jsonin_array(body, "", "executions", MSE_PROTO_MAX_HB_EXECUTIONS, 0, &v, &list);
    bool ok = heartbeat_arrays(list, &ids, &tokens, &v);
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the heartbeat is not valid", &v);
    } else if (!ok) {
        problem_send(req, 500, "out of memory");
    } else {
        struct db *db;
        struct db_error err;
        char *json = NULL;
        const struct server_config *cfg = &req->srv->cfg;
        enum mse_rc rc = http_db(req, &db);
        if (rc == MSE_OK)
            rc = db_exec_heartbeat(db, req->principal.site_id, worker, host, version,
                                   backend >= 0 ? backends[backend] : NULL, ids.data, tokens.data,
                                   cfg->lease_seconds, cfg->heartbeat_seconds, &json, &err);
        if (rc == MSE_OK && json) {
            req->quiet = true;
            (void)http_reply_json_take(req, 200, json);
        } else {
            problem_send_rc(req, rc == MSE_OK ? MSE_ERR_INTERNAL : rc, NULL);
        }
    }
    mse_buf_cleanup(&ids);
    mse_buf_cleanup(&tokens);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

/*
 * Claims for the site, or parks the request until an execution of the site is queued (schema
 * 040 NOTIFYs), its wait is over or the server stops; woken, the handler runs again from the
 * top with the same deadline. Armed before looking, so a queueing that commits between the
 * look and the parking still wakes it.
 */
static void claim_serve(struct request *req, const char *worker, int64_t wait_s)
{
    const struct server_config *cfg = &req->srv->cfg;
    if (wait_s > cfg->claim_wait_max)
        wait_s = cfg->claim_wait_max;
    (void)park_deadline(req, wait_s * 1000);
    for (;;) {
        if (atomic_load(&req->srv->stopping)) {
            /* A claim woken by the stop answers at once, without the database. */
            req->quiet = true;
            (void)http_reply_empty(req, api_outcome_of(EXO_NOTHING_QUEUED)->status);
            return;
        }
        bool armed = park_arm(req, req->principal.site_id);
        struct db *db;
        struct db_error err;
        char *json = NULL;
        enum exec_outcome o = EXO_DONE;
        enum mse_rc rc = http_db(req, &db);
        if (rc == MSE_OK)
            rc = db_exec_claim(db, req->principal.site_id, worker, cfg->lease_seconds, &json, &o,
                               &err);
        /* A sync task's claim carries its settings and its connection (secret included). */
        if (rc == MSE_OK && o == EXO_DONE)
            rc = api_sync_tasks_claim_complete(req, db, &json, &o);
        if (rc == MSE_OK && o == EXO_DONE)
            rc = api_storage_claim_complete(db, &json);
        /* That execution was ended instead of handed out: the next one may be claimable. */
        if (rc == MSE_OK && o == EXO_UNCLAIMABLE)
            continue;
        if (rc == MSE_OK && o == EXO_NOTHING_QUEUED && armed) {
            enum park_result pr = park_suspend(req);
            if (pr == PARK_SUSPENDED)
                return;
            if (pr == PARK_RETRY)
                continue;
        }
        park_disarm(req);
        if (rc != MSE_OK) {
            free(json);
            problem_send_rc(req, rc, NULL);
        } else if (o == EXO_NOTHING_QUEUED) {
            req->quiet = true;
            (void)http_reply_empty(req, api_outcome_of(o)->status);
        } else {
            metrics_count(METRIC_CLAIMS, 1);
            (void)http_reply_json_take(req, 200, json);
        }
        return;
    }
}

void api_worker_claim(struct request *req)
{
    static const char *const allowed[] = { "worker_id", "wait_seconds", NULL };
    cJSON *body;
    if (!jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    const char *worker = NULL;
    int64_t wait_s = 0;
    verr_init(&v);
    jsonin_members(body, "", allowed, NULL, &v);
    (void)jsonin_str(body, "", "worker_id", MSE_PROTO_MAX_WORKER_ID, JF_REQUIRED, &v, &worker);
    (void)jsonin_int(body, "", "wait_seconds", 0, MSE_PROTO_MAX_CLAIM_WAIT, 0, &v, &wait_s);
    if (verr_any(&v))
        problem_send_fields(req, 422, "the claim is not valid", &v);
    else
        claim_serve(req, worker, wait_s);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

/* ---- membership, locks, progress, ends ---- */

/*
 * Reads the resolved addresses, lowercased, into a PostgreSQL text[] literal; repeats stay
 * (the membership statement keeps each address's first place).
 */
static bool membership_read(const cJSON *list, struct mse_buf *arr, struct verr *v)
{
    const cJSON *e;
    unsigned i = 0, n = 0;
    bool ok = mse_buf_puts(arr, "{") == MSE_OK;
    cJSON_ArrayForEach(e, list)
    {
        char addr[MSE_MAX_ADDRESS + 1], path[48];
        snprintf(path, sizeof(path), "mailboxes[%u]", i++);
        if (!cJSON_IsString(e) || !api_worker_address(e->valuestring, addr, sizeof(addr))) {
            verr_add(v, path, "must be an e-mail address");
            continue;
        }
        /* Quoted: addresses may hold characters an array literal treats specially. */
        ok = ok && mse_buf_printf(arr, "%s\"%s\"", n++ ? "," : "", addr) == MSE_OK;
    }
    return ok && mse_buf_puts(arr, "}") == MSE_OK;
}

/* Members a worker reports as skipped, at most this many listed (the worker's cap too). */
#define MEMBERSHIP_MAX_SKIPPED 100
/* A directory entry's DN as the worker lists it (its reports cut longer ones). */
#define MEMBERSHIP_MAX_SKIPPED_DN 1100

/*
 * Reads the skipped members ([{address, reason}]) into a JSON array text for the database;
 * *out NULL when there are none.
 */
static bool skipped_read(const cJSON *list, int64_t total, struct verr *v, char **out)
{
    static const char *const allowed[] = { "address", "dn", "reason", NULL };
    *out = NULL;
    cJSON *arr = cJSON_CreateArray();
    bool ok = arr != NULL;
    const cJSON *e;
    unsigned i = 0;
    cJSON_ArrayForEach(e, list)
    {
        char prefix[32], addr[MSE_MAX_ADDRESS + 1];
        const char *address = NULL, *dn = NULL, *reason = NULL;
        snprintf(prefix, sizeof(prefix), "skipped[%u]", i++);
        if (!cJSON_IsObject(e)) {
            verr_add(v, prefix, "must be an object");
            continue;
        }
        jsonin_members(e, prefix, allowed, NULL, v);
        enum jf af = jsonin_str(e, prefix, "address", MSE_MAX_ADDRESS, 0, v, &address);
        enum jf df = jsonin_str(e, prefix, "dn", MEMBERSHIP_MAX_SKIPPED_DN, 0, v, &dn);
        if (af == JF_OK && !api_worker_address(address, addr, sizeof(addr))) {
            char path[48];
            jsonin_path(path, sizeof(path), prefix, "address");
            verr_add(v, path, "must be an e-mail address");
        }
        if (af == JF_ABSENT && df == JF_ABSENT) {
            char path[48];
            jsonin_path(path, sizeof(path), prefix, "address");
            verr_add(v, path, "is required unless dn names the directory entry");
        }
        if (jsonin_str(e, prefix, "reason", 32, JF_REQUIRED, v, &reason) == JF_OK &&
            (!*reason || strspn(reason, "abcdefghijklmnopqrstuvwxyz_") != strlen(reason))) {
            char path[48];
            jsonin_path(path, sizeof(path), prefix, "reason");
            verr_add(v, path, "must be a reason code (lower-case letters and _)");
        }
        if (ok && (address || dn) && reason && !verr_any(v)) {
            cJSON *o = cJSON_CreateObject();
            ok = o && (!address || cJSON_AddStringToObject(o, "address", addr)) &&
                 (!dn || cJSON_AddStringToObject(o, "dn", dn)) &&
                 cJSON_AddStringToObject(o, "reason", reason);
            if (o)
                cJSON_AddItemToArray(arr, o);
        }
    }
    if (total < (int64_t)i)
        verr_add(v, "skipped_total", "is less than the number of skipped members listed");
    if (ok && (i || total))
        ok = (*out = cJSON_PrintUnformatted(arr)) != NULL;
    cJSON_Delete(arr);
    return ok;
}

void api_worker_membership(struct request *req)
{
    static const char *const allowed[] = { "mailboxes",   "error",      "skipped", "skipped_total",
                                           "resolved_at", "from_cache", NULL };
    static const char *const error_allowed[] = { "reason_code", "reason_text", NULL };
    struct fence f;
    char id[37], token[24];
    cJSON *body;
    if (!api_worker_fence(req, &f, id, token) || !jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    const cJSON *list = NULL, *error = NULL;
    const char *code = NULL, *text = NULL;
    struct mse_buf arr;
    verr_init(&v);
    mse_buf_init(&arr, (MSE_MAX_ADDRESS + 4) * (size_t)MSE_MAX_MEMBERS + 16);
    jsonin_members(body, "", allowed, NULL, &v);
    enum jf lf = jsonin_array(body, "", "mailboxes", MSE_MAX_MEMBERS, 0, &v, &list);
    enum jf ef = jsonin_object(body, "", "error", 0, &v, &error);
    if (ef == JF_OK) {
        jsonin_members(error, "error", error_allowed, NULL, &v);
        (void)jsonin_str(error, "error", "reason_code", MSE_PROTO_MAX_REASON_CODE, JF_REQUIRED, &v,
                         &code);
        (void)jsonin_str(error, "error", "reason_text", MSE_PROTO_MAX_REASON_TEXT, JF_REQUIRED, &v,
                         &text);
    }
    if ((lf == JF_OK) == (ef == JF_OK) && !verr_any(&v))
        verr_add(&v, "mailboxes", "give either mailboxes or error");
    const cJSON *skipped = NULL;
    int64_t skipped_total = 0;
    enum jf sf = jsonin_array(body, "", "skipped", MEMBERSHIP_MAX_SKIPPED, 0, &v, &skipped);
    enum jf tf = jsonin_int(body, "", "skipped_total", 0, MSE_MAX_MEMBERS * (int64_t)64, 0, &v,
                            &skipped_total);
    const char *resolved_at = NULL;
    bool from_cache = false;
    time_t resolved_t;
    enum jf rf = jsonin_str(body, "", "resolved_at", 40, 0, &v, &resolved_at);
    enum jf cf = jsonin_bool(body, "", "from_cache", 0, &v, &from_cache);
    if (rf == JF_OK && mse_time_parse(resolved_at, &resolved_t) != MSE_OK)
        verr_add(&v, "resolved_at", "must be an RFC 3339 time");
    if ((sf == JF_OK || tf == JF_OK || rf == JF_OK || cf == JF_OK) && lf != JF_OK)
        verr_add(&v,
                 sf == JF_OK   ? "skipped"
                 : tf == JF_OK ? "skipped_total"
                 : rf == JF_OK ? "resolved_at"
                               : "from_cache",
                 "goes with mailboxes");
    if (sf == JF_OK && tf != JF_OK && cJSON_GetArraySize(skipped) > 0)
        verr_add(&v, "skipped_total", "is required with skipped");
    char *skipped_json = NULL;
    bool ok = membership_read(list, &arr, &v) &&
              skipped_read(skipped, skipped_total, &v, &skipped_json);
    struct db *db;
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the membership report is not valid", &v);
    } else if (!ok) {
        problem_send(req, 500, "out of memory");
    } else if (api_worker_begin(req, &db)) {
        struct db_error err;
        char *json = NULL, outside[MSE_MAX_ADDRESS + 1];
        enum exec_outcome o = EXO_DONE;
        enum mse_rc rc = db_exec_membership(db, &f, code ? "{}" : arr.data, code, text, outside,
                                            &json, &o, &err);
        if (rc == MSE_OK && o == EXO_DONE && !code)
            rc = db_exec_membership_details(
                    db, &f, skipped_json, skipped_total, rf == JF_OK ? resolved_at : NULL,
                    cf == JF_OK ? (from_cache ? "true" : "false") : NULL, &err);
        if (rc == MSE_OK && o == EXO_DONE) {
            worker_commit_reply(req, db, 200, json);
        } else if (rc == MSE_OK && o == EXO_OUTSIDE_GROUP) {
            /* Worth an operator's attention: a bug, or a site's credentials misused. */
            LOG_WARN(&req->log, "site %s reported %s, outside its task's group",
                     req->principal.site_id, outside);
            verr_add(&v, "mailboxes", "lists %s, which is not a member of the task's group",
                     outside);
            problem_send_fields(req, api_outcome_of(o)->status, api_outcome_of(o)->detail, &v);
        } else {
            worker_fail(req, rc, o, "membership");
        }
    }
    free(skipped_json);
    mse_buf_cleanup(&arr);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

bool api_worker_path_address(struct request *req, char out[MSE_MAX_ADDRESS + 1])
{
    if (req->nparams < 2 || !api_worker_address(req->params[1], out, MSE_MAX_ADDRESS + 1)) {
        problem_send(req, 404, "no such mailbox in this execution");
        return false;
    }
    return true;
}

void api_worker_lock(struct request *req)
{
    struct fence f;
    char id[37], token[24], addr[MSE_MAX_ADDRESS + 1];
    struct db *db;
    if (!api_worker_fence(req, &f, id, token) || !api_worker_path_address(req, addr) ||
        !api_worker_begin(req, &db))
        return;
    struct db_error err;
    char *json = NULL;
    enum exec_outcome o = EXO_DONE;
    enum mse_rc rc = db_exec_lock(db, &f, addr, &json, &o, &err);
    if (rc == MSE_OK && o == EXO_DONE) {
        worker_commit_reply(req, db, 200, json);
        return;
    }
    if (rc == MSE_OK && o == EXO_MAILBOX_LOCKED && json) {
        /* Denied: the waiting state is recorded, so commit before answering. */
        metrics_count(METRIC_LOCK_WAITS, 1);
        cJSON *holder = cJSON_Parse(json);
        const cJSON *detail = cJSON_GetObjectItemCaseSensitive(holder, "detail");
        if (db_commit(db, &err) == MSE_OK)
            api_outcome_send(req, o, cJSON_IsString(detail) ? detail->valuestring : NULL);
        else
            problem_send_rc(req, MSE_ERR_UNAVAILABLE, NULL);
        cJSON_Delete(holder);
        free(json);
        return;
    }
    free(json);
    mailbox_fail(req, rc, o, addr, "lock");
}

void api_worker_progress(struct request *req)
{
    static const char *const allowed[] = { "command", "latest_detail", NULL };
    struct fence f;
    char id[37], token[24];
    cJSON *body;
    if (!api_worker_fence(req, &f, id, token) || !jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    const char *command = NULL, *detail = NULL;
    verr_init(&v);
    jsonin_members(body, "", allowed, NULL, &v);
    (void)jsonin_str(body, "", "command", MSE_PROTO_MAX_COMMAND, JF_EMPTY | JF_NULLABLE, &v,
                     &command);
    (void)jsonin_str(body, "", "latest_detail", MSE_PROTO_MAX_DETAIL, JF_EMPTY | JF_NULLABLE, &v,
                     &detail);
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the progress report is not valid", &v);
    } else {
        struct db *db;
        struct db_error err;
        bool cancel = false;
        enum exec_outcome o = EXO_DONE;
        enum mse_rc rc = http_db(req, &db);
        if (rc == MSE_OK)
            rc = db_exec_progress(db, &f, command, detail, &cancel, &o, &err);
        if (rc == MSE_OK && o == EXO_DONE)
            (void)http_reply_json(req, 200,
                                  cancel ? "{\"cancel_requested\":true}"
                                         : "{\"cancel_requested\":false}");
        else
            worker_fail(req, rc, o, "progress");
    }
    verr_cleanup(&v);
    cJSON_Delete(body);
}

void api_worker_finish(struct request *req)
{
    static const char *const allowed[] = { "state",     "reason_code", "reason_text", "items",
                                           "full_sync", "duration_ms", NULL };
    static const char *const states[] = { "healthy", "warning", "error", "skipped", NULL };
    struct fence f;
    char id[37], token[24], addr[MSE_MAX_ADDRESS + 1];
    cJSON *body;
    if (!api_worker_fence(req, &f, id, token) || !api_worker_path_address(req, addr) ||
        !jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    struct mailbox_result r = { 0 };
    int state = -1;
    int64_t items = 0, duration = 0;
    char items_s[24], duration_s[24];
    verr_init(&v);
    jsonin_members(body, "", allowed, NULL, &v);
    (void)jsonin_enum(body, "", "state", states, JF_REQUIRED, &v, &state);
    (void)jsonin_str(body, "", "reason_code", MSE_PROTO_MAX_REASON_CODE, JF_NULLABLE, &v,
                     &r.reason_code);
    (void)jsonin_str(body, "", "reason_text", MSE_PROTO_MAX_REASON_TEXT, JF_NULLABLE | JF_MULTILINE,
                     &v, &r.reason_text);
    (void)jsonin_int(body, "", "items", 0, INT64_MAX / 2, 0, &v, &items);
    (void)jsonin_int(body, "", "duration_ms", 0, INT64_MAX / 2, 0, &v, &duration);
    (void)jsonin_bool(body, "", "full_sync", 0, &v, &r.full_sync);
    struct db *db;
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the mailbox report is not valid", &v);
    } else if (api_worker_begin(req, &db)) {
        struct db_error err;
        snprintf(items_s, sizeof(items_s), "%lld", (long long)items);
        snprintf(duration_s, sizeof(duration_s), "%lld", (long long)duration);
        r.state = states[state];
        r.items = items_s;
        r.duration_ms = duration_s;
        enum exec_outcome o = EXO_DONE;
        enum mse_rc rc = db_exec_finish_mailbox(db, &f, addr, &r, &o, &err);
        if (rc == MSE_OK && o == EXO_DONE)
            worker_commit_reply(req, db, 204, NULL);
        else
            mailbox_fail(req, rc, o, addr, "finish");
    }
    verr_cleanup(&v);
    cJSON_Delete(body);
}

/*
 * Ends an execution whose task has changes or a deletion waiting, and answers: the end and
 * the changes commit together, so nothing sees the task idle with its changes not applied.
 */
static void complete_deferred(struct request *req, const struct fence *f, struct exec_end *end)
{
    struct db *db;
    struct db_error err;
    if (!api_worker_begin(req, &db))
        return;
    exec_end_cleanup(end);
    enum exec_outcome o = EXO_DONE;
    bool sync = false;
    enum mse_rc rc = db_exec_complete(db, f, true, end, &o, &err);
    if (rc == MSE_OK && o == EXO_DONE && end->pending)
        rc = api_sync_tasks_is(db, end->task_id, &sync);
    if (rc == MSE_OK && o == EXO_DONE && end->pending)
        rc = sync ? api_sync_tasks_apply_deferred(req, db, end->task_id)
                  : api_tasks_apply_deferred(req, db, end->task_id);
    if (rc != MSE_OK || o != EXO_DONE) {
        worker_fail(req, rc, o, "complete");
        return;
    }
    worker_commit_reply(req, db, 200, end->doc);
    end->doc = NULL; /* taken by the reply */
}

void api_worker_complete(struct request *req)
{
    struct fence f;
    char id[37], token[24];
    struct db *db;
    struct db_error err;
    struct exec_end end = { 0 };
    enum exec_outcome o = EXO_DONE;
    if (!api_worker_fence(req, &f, id, token))
        return;
    /* One autocommitted statement, unless the task has changes waiting. */
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_exec_complete(db, &f, false, &end, &o, &err);
    if (rc != MSE_OK || o != EXO_DONE) {
        worker_fail(req, rc, o, "complete");
    } else if (end.deferred) {
        complete_deferred(req, &f, &end);
    } else {
        (void)http_reply_json_take(req, 200, end.doc);
        end.doc = NULL; /* taken by the reply */
    }
    exec_end_cleanup(&end);
}

void api_worker_release(struct request *req)
{
    struct fence f;
    char id[37], token[24];
    struct db *db;
    if (!api_worker_fence(req, &f, id, token) || !api_worker_begin(req, &db))
        return;
    struct db_error err;
    enum exec_outcome o = EXO_DONE;
    enum mse_rc rc = db_exec_release(db, &f, &o, &err);
    if (rc == MSE_OK && o == EXO_DONE)
        worker_commit_reply(req, db, 204, NULL);
    else
        worker_fail(req, rc, o, "release");
}

/* ---- attachments ---- */

/* The {sha256} placeholder: 64 lowercase hex digits. False after answering 404. */
static bool path_sha(struct request *req, unsigned idx, char out[65])
{
    const char *s = req->nparams > idx ? req->params[idx] : "";
    bool ok = strlen(s) == 64;
    for (size_t i = 0; ok && i < 64; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    if (!ok) {
        problem_send(req, 404, "attachment content is addressed by its SHA-256 in lowercase hex");
        return false;
    }
    memcpy(out, s, 65);
    return true;
}

void api_worker_blob_get(struct request *req)
{
    char sha[65];
    if (!path_sha(req, 0, sha) || !api_no_query(req))
        return;
    struct db *db;
    struct db_error err;
    struct mse_err serr = { { 0 } };
    bool exists = false;
    int64_t size = 0;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_blob_exists(db, req->principal.site_id, sha, &exists, &size, &err);
    /*
     * The store is asked too: content the table lists but the store lost (a collector that
     * could not commit) is reported absent, so the worker uploads it again.
     */
    if (rc == MSE_OK && exists) {
        rc = blobstore_stat(req->srv->blobs, sha, &exists, &size, &serr);
        if (rc != MSE_OK) {
            api_blob_problem(req, rc, &serr, NULL);
            return;
        }
    }
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
    } else if (!exists) {
        problem_send(req, 404, "this site has not uploaded attachment content with this SHA-256");
    } else {
        char json[128], etag[68];
        snprintf(json, sizeof(json), "{\"sha256\":\"%s\",\"size\":%lld}", sha, (long long)size);
        snprintf(etag, sizeof(etag), "\"%s\"", sha);
        http_add_header(req, "ETag", etag);
        (void)http_reply_json(req, 200, json);
    }
}

/*
 * Content first, row second, then the store again: a collector that removed this content
 * while the row was being recorded (it deletes with the row locked, and the upsert waited for
 * it) has taken the object with it, so it is written once more.
 */
/* The producer of a put: the spooled body, from its start. */
static ssize_t spool_read(void *arg, void *buf, size_t cap)
{
    int fd = *(const int *)arg;
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

/* Puts the request's content (spooled or in memory) into the store; MSE_ERR_INVALID when it
 * does not hash to sha. */
static enum mse_rc content_put(struct request *req, const char *sha, int64_t *size,
                               struct mse_err *serr)
{
    char got[BLOBSTORE_SHA_HEX];
    struct blobstore *bs = req->srv->blobs;
    if (req->body_fd < 0) {
        *size = (int64_t)req->body.len;
        return blobstore_put(bs, req->body.data, req->body.len, sha, got, serr);
    }
    if (lseek(req->body_fd, 0, SEEK_SET) != 0) {
        snprintf(serr->msg, sizeof(serr->msg), "cannot rewind the spooled content: %s",
                 strerror(errno));
        return MSE_ERR_IO;
    }
    return blobstore_put_stream(bs, spool_read, &req->body_fd, sha, got, size, serr);
}

static enum mse_rc blob_store_and_record(struct request *req, struct db *db, const char *sha,
                                         int64_t *size, bool *created, bool *held_before,
                                         struct mse_err *serr, struct db_error *err)
{
    struct blobstore *bs = req->srv->blobs;
    bool present = false;
    int64_t stored = 0;
    enum mse_rc rc = content_put(req, sha, size, serr);
    if (rc != MSE_OK)
        return rc;
    rc = db_blob_record(db, req->principal.site_id, sha, *size, blobstore_backend_name(bs), created,
                        held_before, err);
    if (rc != MSE_OK) {
        serr->msg[0] = '\0'; /* a database failure, not the store's */
        return rc;
    }
    rc = blobstore_stat(bs, sha, &present, &stored, serr);
    if (rc == MSE_OK && !present)
        rc = content_put(req, sha, size, serr);
    return rc;
}

/*
 * The body was spooled to a file as it arrived (the route's `spool`), so content of any size
 * up to MSE_MAX_CONTENT_BODY costs the server no more memory than a small one; the store
 * hashes it while copying and refuses it when it is not what the path names.
 */
void api_worker_blob_put(struct request *req)
{
    char sha[65];
    if (!path_sha(req, 0, sha))
        return;
    const char *ct = http_header(req, "Content-Type");
    if (!ct || strncmp(ct, "application/octet-stream", 24) != 0) {
        problem_send(req, 415, "attachment content must be sent as application/octet-stream");
        return;
    }
    struct db *db;
    struct db_error err;
    struct mse_err serr = { { 0 } };
    bool created = false, held_before = false;
    int64_t size = 0;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = blob_store_and_record(req, db, sha, &size, &created, &held_before, &serr, &err);
    if (rc == MSE_ERR_INVALID && serr.msg[0]) {
        /* Content addressing is only as good as the check that the content has that address. */
        problem_send(req, 422, "the content does not hash to the %s the path names: %s", sha,
                     serr.msg);
        return;
    }
    if (rc != MSE_OK && serr.msg[0]) {
        api_blob_problem(req, rc, &serr, "the content could not be stored");
        return;
    }
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
        return;
    }
    if (created)
        metrics_count(METRIC_ATTACHMENT_BYTES_STORED, (uint64_t)size);
    /* 201 whenever this site did not hold it: whether another site did is not revealed. */
    bool new_here = !held_before;
    char json[128];
    snprintf(json, sizeof(json), "{\"sha256\":\"%s\",\"size\":%lld,\"created\":%s}", sha,
             (long long)size, new_here ? "true" : "false");
    (void)http_reply_json(req, new_here ? 201 : 200, json);
}
