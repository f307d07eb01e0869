/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mailbox Storage Management's worker route (docs/storage-management.md): before it deletes or
 * stubs anything, a worker asks whether the archive holds each candidate and whether the
 * mailbox's user may see the archived copy. Only under the mailbox's lock, with the claim's
 * fencing token; reads only.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_outcome.h"
#include "api_storage.h"
#include "api_util.h"
#include "api_worker.h"
#include "db_storage.h"
#include "http.h"
#include "jsonin.h"
#include "mse/protocol.h"
#include "problem.h"
#include "query.h"
#include "server.h"
#include "tx.h"

/* A content hash as the archive names it: 64 lowercase hex digits. */
static bool sha256_ok(const char *s)
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/*
 * Reads one candidate into *c; senders are lowered into sender (the caller's storage, which
 * must outlive *c). Problems go to v under items[i].
 */
static void candidate_read(const cJSON *e, unsigned i, struct storage_candidate *c,
                           char sender[MSE_MAX_ADDRESS + 1], struct verr *v)
{
    static const char *const allowed[] = { "internet_message_id", "content_sha256", "sender",
                                           NULL };
    char prefix[32], path[64];
    const char *mid = NULL, *sha = NULL, *from = NULL;
    snprintf(prefix, sizeof(prefix), "items[%u]", i);
    memset(c, 0, sizeof(*c));
    if (!cJSON_IsObject(e)) {
        verr_add(v, prefix, "must be an object {internet_message_id, content_sha256, sender}");
        return;
    }
    jsonin_members(e, prefix, allowed, NULL, v);
    enum jf mf = jsonin_str(e, prefix, "internet_message_id", MSE_PROTO_MAX_MESSAGE_ID, JF_NULLABLE,
                            v, &mid);
    enum jf hf = jsonin_str(e, prefix, "content_sha256", 64, JF_NULLABLE, v, &sha);
    enum jf sf = jsonin_str(e, prefix, "sender", MSE_MAX_ADDRESS, JF_NULLABLE, v, &from);
    if (hf == JF_OK && !sha256_ok(sha)) {
        jsonin_path(path, sizeof(path), prefix, "content_sha256");
        verr_add(v, path, "must be 64 lowercase hex digits");
    }
    if (sf == JF_OK && !api_worker_address(from, sender, MSE_MAX_ADDRESS + 1)) {
        jsonin_path(path, sizeof(path), prefix, "sender");
        verr_add(v, path, "must be an e-mail address");
    }
    if (mf != JF_OK && hf != JF_OK && mf != JF_BAD && hf != JF_BAD) {
        jsonin_path(path, sizeof(path), prefix, "internet_message_id");
        verr_add(v, path, "is required unless content_sha256 names the content");
    }
    c->message_id = mf == JF_OK ? mid : NULL;
    c->sha256 = hf == JF_OK ? sha : NULL;
    c->sender = sf == JF_OK ? sender : NULL;
}

/* Runs the confirmation of n read candidates and answers. */
static void confirm_answer(struct request *req, const struct fence *f, const char *addr,
                           const struct storage_candidate *c, size_t n)
{
    struct db *db;
    struct db_error err;
    char *items = NULL;
    enum exec_outcome o = EXO_DONE;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_storage_confirm(db, f, addr, c, n, &items, &o, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
    } else if (o != EXO_DONE) {
        char detail[MSE_MAX_ADDRESS + 96];
        snprintf(detail, sizeof(detail),
                 "this execution does not hold the lock of %s: lock the mailbox first", addr);
        api_outcome_send(req, o, o == EXO_NOT_LOCKED ? detail : NULL);
    } else {
        size_t len = strlen(items) + 16;
        char *json = malloc(len);
        if (json) {
            snprintf(json, len, "{\"items\":%s}", items);
            (void)http_reply_json_take(req, 200, json);
        } else {
            problem_send(req, 500, "out of memory");
        }
    }
    free(items);
}

void api_worker_confirm(struct request *req)
{
    static const char *const allowed[] = { "items", NULL };
    struct fence f;
    char id[37], token[24], addr[MSE_MAX_ADDRESS + 1];
    cJSON *body;
    if (!api_worker_fence(req, &f, id, token) || !api_worker_path_address(req, addr) ||
        !jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    const cJSON *list = NULL;
    verr_init(&v);
    jsonin_members(body, "", allowed, NULL, &v);
    (void)jsonin_array(body, "", "items", MSE_PROTO_MAX_CONFIRMATIONS, JF_REQUIRED, &v, &list);
    size_t n = list ? (size_t)cJSON_GetArraySize(list) : 0;
    if (list && n == 0)
        verr_add(&v, "items", "must hold at least one candidate");
    struct storage_candidate *c = n ? calloc(n, sizeof(*c)) : NULL;
    char(*senders)[MSE_MAX_ADDRESS + 1] = n ? calloc(n, sizeof(*senders)) : NULL;
    unsigned i = 0;
    const cJSON *e;
    if (c && senders)
        cJSON_ArrayForEach(e, list)
        {
            candidate_read(e, i, &c[i], senders[i], &v);
            i++;
        }
    if (n && (!c || !senders))
        problem_send(req, 500, "out of memory");
    else if (verr_any(&v))
        problem_send_fields(req, 422, "the confirmation request is not valid", &v);
    else
        confirm_answer(req, &f, addr, c, n);
    free(c);
    free(senders);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

/* ---- report-only runs ---- */

bool api_storage_report_mode(struct tx *tx, const char *json)
{
    cJSON *doc = cJSON_Parse(json);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
    struct db_error err;
    bool ok = false;
    enum mse_rc rc = cJSON_IsString(id) ? db_storage_set_report(tx->db, id->valuestring, &ok, &err)
                                        : MSE_ERR_INTERNAL;
    cJSON_Delete(doc);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
        return false;
    }
    if (!ok) {
        struct verr v;
        verr_init(&v);
        verr_add(&v, "mode", "report-only runs are for mailbox_storage_management tasks");
        tx_fail_fields(tx, 422, "the run request is not valid", &v);
        verr_cleanup(&v);
    }
    return ok;
}

enum mse_rc api_storage_claim_complete(struct db *db, char **json)
{
    cJSON *doc = cJSON_Parse(*json);
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(doc, "task");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(task, "type");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
    enum mse_rc rc = doc ? MSE_OK : MSE_ERR_NOMEM;
    if (rc == MSE_OK && cJSON_IsString(type) && cJSON_IsString(id) &&
        !strcmp(type->valuestring, "mailbox_storage_management")) {
        struct db_error err;
        char mode[8];
        char *text = NULL;
        rc = db_storage_mode(db, id->valuestring, mode, &err);
        if (rc == MSE_OK &&
            (!cJSON_AddStringToObject(doc, "mode", mode) || !(text = cJSON_PrintUnformatted(doc))))
            rc = MSE_ERR_NOMEM;
        if (rc == MSE_OK) {
            free(*json);
            *json = text;
        }
    }
    cJSON_Delete(doc);
    return rc;
}

/* ---- the mailbox's report: written by the worker, read by administrators ---- */

#define STORAGE_REPORT_CURSOR 'r'
/* Unconfirmed items a report lists one by one (the worker's cap; all are counted). */
#define STORAGE_MAX_LISTED 1000

static const char *const counters[] = { "candidates",      "confirmed",       "not_archived",
                                        "no_permission",   "acted",           "failed",
                                        "confirmed_bytes", "reclaimed_bytes", NULL };

/* The counters of in (each required) into out, checked. */
static void counters_read(const cJSON *in, const char *prefix, cJSON *out, struct verr *v)
{
    for (const char *const *k = counters; *k; k++) {
        int64_t n = 0;
        if (jsonin_int(in, prefix, *k, 0, INT64_C(1) << 53, JF_REQUIRED, v, &n) == JF_OK)
            cJSON_AddNumberToObject(out, *k, (double)n);
    }
}

static void report_folders(const cJSON *list, cJSON *out, struct verr *v)
{
    static const char *const allowed[] = {
        "folder", "candidates", "confirmed",       "not_archived",    "no_permission",
        "acted",  "failed",     "confirmed_bytes", "reclaimed_bytes", NULL
    };
    unsigned i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        char prefix[32];
        const char *folder = NULL;
        snprintf(prefix, sizeof(prefix), "folders[%u]", i++);
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_IsObject(e)) {
            verr_add(v, prefix, "must be an object");
            cJSON_Delete(o);
            continue;
        }
        jsonin_members(e, prefix, allowed, NULL, v);
        if (jsonin_str(e, prefix, "folder", MSE_MAX_FOLDER_PATH, JF_REQUIRED, v, &folder) == JF_OK)
            cJSON_AddStringToObject(o, "folder", folder);
        counters_read(e, prefix, o, v);
        cJSON_AddItemToArray(out, o);
    }
}

static void report_unconfirmed(const cJSON *list, cJSON *out, struct verr *v)
{
    static const char *const allowed[] = { "folder", "item_id", "internet_message_id", "outcome",
                                           NULL };
    static const char *const outcomes[] = { "not_archived", "no_permission", NULL };
    unsigned i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        char prefix[40];
        const char *folder = NULL, *item = NULL, *mid = NULL;
        int outcome = 0;
        snprintf(prefix, sizeof(prefix), "unconfirmed[%u]", i++);
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_IsObject(e)) {
            verr_add(v, prefix, "must be an object");
            cJSON_Delete(o);
            continue;
        }
        jsonin_members(e, prefix, allowed, NULL, v);
        (void)jsonin_str(e, prefix, "folder", MSE_MAX_FOLDER_PATH, JF_REQUIRED, v, &folder);
        (void)jsonin_str(e, prefix, "item_id", 1024, JF_REQUIRED, v, &item);
        (void)jsonin_str(e, prefix, "internet_message_id", MSE_PROTO_MAX_MESSAGE_ID,
                         JF_REQUIRED | JF_NULLABLE, v, &mid);
        (void)jsonin_enum(e, prefix, "outcome", outcomes, JF_REQUIRED, v, &outcome);
        cJSON_AddStringToObject(o, "folder", folder ? folder : "");
        cJSON_AddStringToObject(o, "item_id", item ? item : "");
        if (mid)
            cJSON_AddStringToObject(o, "internet_message_id", mid);
        else
            cJSON_AddNullToObject(o, "internet_message_id");
        cJSON_AddStringToObject(o, "outcome", outcomes[outcome]);
        cJSON_AddItemToArray(out, o);
    }
}

/* The report checked and rebuilt from what was checked (nothing else is stored). */
static cJSON *report_read(const cJSON *body, struct verr *v)
{
    static const char *const allowed[] = { "mode",
                                           "action",
                                           "candidates",
                                           "confirmed",
                                           "not_archived",
                                           "no_permission",
                                           "acted",
                                           "failed",
                                           "confirmed_bytes",
                                           "reclaimed_bytes",
                                           "unconfirmed_total",
                                           "folders",
                                           "unconfirmed",
                                           NULL };
    static const char *const modes[] = { "run", "report", NULL };
    static const char *const actions[] = { "message_delete", "full_message_stub", "attachment_stub",
                                           "attachment_link_stub", NULL };
    int mode = 0, action = 0;
    int64_t total = 0;
    const cJSON *folders = NULL, *unconfirmed = NULL;
    cJSON *out = cJSON_CreateObject();
    if (!out)
        return NULL;
    jsonin_members(body, "", allowed, NULL, v);
    (void)jsonin_enum(body, "", "mode", modes, JF_REQUIRED, v, &mode);
    (void)jsonin_enum(body, "", "action", actions, JF_REQUIRED, v, &action);
    counters_read(body, "", out, v);
    (void)jsonin_int(body, "", "unconfirmed_total", 0, INT64_C(1) << 53, JF_REQUIRED, v, &total);
    (void)jsonin_array(body, "", "folders", MSE_EWS_MAX_FOLDERS, JF_REQUIRED, v, &folders);
    (void)jsonin_array(body, "", "unconfirmed", STORAGE_MAX_LISTED, JF_REQUIRED, v, &unconfirmed);
    if (unconfirmed && total < cJSON_GetArraySize(unconfirmed))
        verr_add(v, "unconfirmed_total", "is less than the number of unconfirmed items listed");
    cJSON_AddStringToObject(out, "mode", modes[mode]);
    cJSON_AddStringToObject(out, "action", actions[action]);
    cJSON_AddNumberToObject(out, "unconfirmed_total", (double)total);
    report_folders(folders, cJSON_AddArrayToObject(out, "folders"), v);
    report_unconfirmed(unconfirmed, cJSON_AddArrayToObject(out, "unconfirmed"), v);
    return out;
}

void api_worker_storage_report(struct request *req)
{
    struct fence f;
    char id[37], token[24], addr[MSE_MAX_ADDRESS + 1];
    cJSON *body;
    if (!api_worker_fence(req, &f, id, token) || !api_worker_path_address(req, addr) ||
        !jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    verr_init(&v);
    cJSON *report = report_read(body, &v);
    char *text = report && !verr_any(&v) ? cJSON_PrintUnformatted(report) : NULL;
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the storage report is not valid", &v);
    } else if (!text) {
        problem_send(req, 500, "out of memory");
    } else {
        struct db *db;
        struct db_error err;
        enum exec_outcome o = EXO_DONE;
        enum mse_rc rc = http_db(req, &db);
        if (rc == MSE_OK)
            rc = db_storage_report_put(db, &f, addr, text, &o, &err);
        if (rc != MSE_OK)
            problem_send_rc(req, rc, NULL);
        else if (o != EXO_DONE)
            api_outcome_send(req, o, NULL);
        else
            (void)http_reply_empty(req, 204);
    }
    free(text);
    cJSON_Delete(report);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

void api_storage_reports(struct request *req)
{
    static const char *const allowed[] = { "limit", "cursor", NULL };
    struct verr v;
    struct page page;
    char id[37], eid[37];
    if (!api_path_uuid(req, 0, "exchange task", id) || !api_path_uuid(req, 1, "execution", eid))
        return;
    verr_init(&v);
    query_check(req, allowed, &v);
    query_page(req, STORAGE_REPORT_CURSOR, &page, &v);
    if (verr_any(&v)) {
        query_fail(req, &v);
        verr_cleanup(&v);
        return;
    }
    verr_cleanup(&v);
    struct db *db;
    struct db_error err;
    enum mse_rc rc;
    if (!api_exec_of_task(req, id, eid, &db, &rc))
        return;
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    if (rc == MSE_OK)
        rc = db_storage_reports(db, eid, page.has_after, page.after, page.limit, &items, &last,
                                &more, &err);
    api_reply_list(req, rc, items, more, last, STORAGE_REPORT_CURSOR);
}
