/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/v1/sync-tasks: Sync & Recover tasks with the wizard's fields (seed 002) — a server
 * connection, a group of mailboxes, what to archive, exclusion windows — their start and stop,
 * their per-mailbox states, and their side of the execution lifecycle: a sync task runs through
 * its twin Exchange task (schema 038), whose claims this module completes with the settings and
 * the connection's secret, and whose deferred changes it applies (docs/sync-recover.md).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "api_util.h"
#include "db_audit.h"
#include "db_exec.h"
#include "db_sync.h"
#include "group.h"
#include "http.h"
#include "ids.h"
#include "jsonin.h"
#include "log.h"
#include "problem.h"
#include "query.h"
#include "schedule.h"
#include "server.h"
#include "tx.h"

#define SYNC_TASK_CURSOR    'y'
#define SYNC_MAILBOX_CURSOR 'z'
#define MAX_MESSAGE_CLASSES 64
#define MAX_MESSAGE_CLASS   255
#define MAX_EXCLUSIONS      32

/*
 * The message classes every task archives when mail is on (docs/sync-recover.md); a task's
 * message_classes adds to these. Compared without regard to case, as Exchange does.
 */
static const char *const default_classes[] = {
    "IPM.Note",
    "IPM.Note.SMIME",
    "IPM.Note.SMIME.MultipartSigned",
    "IPM.Note.Secure",
    "IPM.Note.Secure.Sign",
    "IPM.Note.Receipt.SMIME",
    "REPORT.IPM.Note.DR",
    "REPORT.IPM.Note.NDR",
    "REPORT.IPM.Note.IPNRN",
    "REPORT.IPM.Note.IPNNRN",
    "IPM.Schedule.Meeting.Request",
    "IPM.Schedule.Meeting.Canceled",
    "IPM.Schedule.Meeting.Resp.Pos",
    "IPM.Schedule.Meeting.Resp.Neg",
    "IPM.Schedule.Meeting.Resp.Tent",
    NULL,
};

static const char *const task_fields[] = { "name",
                                           "connection_id",
                                           "group",
                                           "mail",
                                           "calendars",
                                           "message_classes",
                                           "include_sensitive",
                                           "exclusions_active",
                                           "exclusions",
                                           "interval_minutes",
                                           "enabled",
                                           NULL };
static const char *const task_readonly[] = {
    "id",           "site_id",        "status",          "latest_detail",
    "content_sync", "mailbox_counts", "pending_changes", "deletion_pending",
    "created_at",   "updated_at",     "updated_by",      NULL
};
static const char *const exclusion_days[] = { "monday",   "tuesday", "wednesday",
                                              "thursday", "friday",  "saturday",
                                              "sunday",   "all",     NULL };

struct task_input {
    struct db_sync_task_in db;
    char connection_id[37];
    int group_kind;
    char *group_value;     /* owned */
    char *classes_json;    /* owned */
    char *exclusions_json; /* owned */
    int exclusions_n;      /* -1 = not given */
};

static void input_cleanup(struct task_input *in)
{
    free(in->group_value);
    free(in->classes_json);
    free(in->exclusions_json);
}

/* A message class: dot-separated segments of letters, digits, '-' and '_'. */
static bool class_valid(const char *c)
{
    size_t seg = 0;
    for (const char *p = c; *p; p++) {
        if (*p == '.') {
            if (seg == 0)
                return false;
            seg = 0;
        } else if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') {
            seg++;
        } else {
            return false;
        }
    }
    return seg > 0;
}

static bool class_is_default(const char *c)
{
    for (int i = 0; default_classes[i]; i++) {
        if (!strcasecmp(default_classes[i], c))
            return true;
    }
    return false;
}

static void one_class(const cJSON *e, const cJSON *arr, const char *path, cJSON *out,
                      struct verr *v)
{
    if (!cJSON_IsString(e)) {
        verr_add(v, path, "must be a message class such as IPM.Note.Custom");
        return;
    }
    if (!jsonin_str_ok(e->valuestring, path, MAX_MESSAGE_CLASS, 0, v))
        return;
    if (!class_valid(e->valuestring)) {
        verr_add(v, path, "must be a message class: dot-separated names such as IPM.Note.Custom");
        return;
    }
    if (class_is_default(e->valuestring)) {
        verr_add(v, path, "is archived by default already");
        return;
    }
    for (const cJSON *p = arr->child; p != e; p = p->next) {
        if (cJSON_IsString(p) && !strcasecmp(p->valuestring, e->valuestring)) {
            verr_add(v, path, "is listed more than once");
            return;
        }
    }
    cJSON_AddItemToArray(out, cJSON_CreateString(e->valuestring));
}

/* message_classes: the additional classes, checked, as JSON text (NULL when absent). */
static void classes_read(const cJSON *body, struct task_input *in, struct verr *v)
{
    const cJSON *arr;
    char path[48];
    if (jsonin_array(body, "", "message_classes", MAX_MESSAGE_CLASSES, 0, v, &arr) != JF_OK)
        return;
    cJSON *out = cJSON_CreateArray();
    int i = 0;
    for (const cJSON *e = arr->child; out && e; e = e->next, i++) {
        snprintf(path, sizeof(path), "message_classes[%d]", i);
        one_class(e, arr, path, out, v);
    }
    in->classes_json = out ? cJSON_PrintUnformatted(out) : NULL;
    v->nomem |= !in->classes_json;
    cJSON_Delete(out);
}

static void time_read(const cJSON *x, const char *prefix, const char *key, struct verr *v,
                      cJSON *out)
{
    const char *s;
    int minute;
    char path[64];
    if (jsonin_str(x, prefix, key, 5, JF_REQUIRED, v, &s) != JF_OK)
        return;
    jsonin_path(path, sizeof(path), prefix, key);
    if (!schedule_time_parse(s, &minute))
        verr_add(v, path, "must be a time of day as HH:MM (00:00 to 23:59)");
    else
        cJSON_AddStringToObject(out, key, s);
}

/* One exclusion window {day, from, to, region} into list; errors under exclusions[i]. */
static void exclusion_read(const cJSON *x, int i, cJSON *list, struct verr *v)
{
    static const char *const allowed[] = { "day", "from", "to", "region", NULL };
    char prefix[32], path[64];
    const char *region;
    int day;
    snprintf(prefix, sizeof(prefix), "exclusions[%d]", i);
    if (!cJSON_IsObject(x)) {
        verr_add(v, prefix, "must be an object {day, from, to, region}");
        return;
    }
    unsigned before = v->count;
    cJSON *o = cJSON_CreateObject();
    jsonin_members(x, prefix, allowed, NULL, v);
    if (jsonin_enum(x, prefix, "day", exclusion_days, JF_REQUIRED, v, &day) == JF_OK)
        cJSON_AddStringToObject(o, "day", exclusion_days[day]);
    time_read(x, prefix, "from", v, o);
    time_read(x, prefix, "to", v, o);
    if (jsonin_str(x, prefix, "region", MSE_MAX_TIMEZONE, JF_REQUIRED, v, &region) == JF_OK) {
        snprintf(path, sizeof(path), "%s.region", prefix);
        if (!schedule_timezone_valid(region))
            verr_add(v, path, "must be an IANA time zone such as Europe/Berlin");
        else
            cJSON_AddStringToObject(o, "region", region);
    }
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(o, "from");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(o, "to");
    if (from && to && !strcmp(from->valuestring, to->valuestring)) {
        snprintf(path, sizeof(path), "%s.to", prefix);
        verr_add(v, path,
                 "must differ from from (a window ending before it starts spans "
                 "midnight)");
    }
    if (v->count == before && o)
        cJSON_AddItemToArray(list, o);
    else
        cJSON_Delete(o);
}

static void exclusions_read(const cJSON *body, struct task_input *in, struct verr *v)
{
    const cJSON *arr;
    if (jsonin_array(body, "", "exclusions", MAX_EXCLUSIONS, 0, v, &arr) != JF_OK)
        return;
    cJSON *list = cJSON_CreateArray();
    int i = 0;
    for (const cJSON *x = arr->child; list && x; x = x->next, i++)
        exclusion_read(x, i, list, v);
    in->exclusions_n = i;
    in->exclusions_json = list ? cJSON_PrintUnformatted(list) : NULL;
    v->nomem |= !in->exclusions_json;
    cJSON_Delete(list);
}

static int bool_read(const cJSON *body, const char *key, struct verr *v)
{
    bool b = false;
    return jsonin_bool(body, "", key, 0, v, &b) == JF_OK ? b : -1;
}

/* Reads a POST (create) or PATCH body; field errors into v. */
static void task_read(const cJSON *body, bool create, struct task_input *in, struct verr *v)
{
    int64_t interval = 0;
    memset(in, 0, sizeof(*in));
    in->group_kind = in->exclusions_n = -1;
    jsonin_members(body, "", task_fields, task_readonly, v);
    (void)jsonin_str(body, "", "name", MSE_MAX_NAME, create ? JF_REQUIRED : 0, v, &in->db.name);
    if (jsonin_uuid(body, "", "connection_id", create ? JF_REQUIRED : 0, v, in->connection_id) ==
        JF_OK)
        in->db.connection_id = in->connection_id;
    if (create)
        api_group_read(body, &in->group_kind, &in->group_value, v);
    else if (cJSON_GetObjectItemCaseSensitive(body, "group"))
        verr_add(v, "group", "cannot change after creation; create a new task instead");
    in->db.group_kind = in->group_kind >= 0 ? group_kind_names[in->group_kind] : NULL;
    in->db.group_value = in->group_value;
    in->db.mail = bool_read(body, "mail", v);
    in->db.calendars = bool_read(body, "calendars", v);
    in->db.include_sensitive = bool_read(body, "include_sensitive", v);
    in->db.exclusions_active = bool_read(body, "exclusions_active", v);
    in->db.enabled = bool_read(body, "enabled", v);
    classes_read(body, in, v);
    exclusions_read(body, in, v);
    (void)jsonin_int(body, "", "interval_minutes", 1, 1440, 0, v, &interval);
    in->db.interval_minutes = interval;
    in->db.message_classes_json = in->classes_json;
    in->db.exclusions_json = in->exclusions_json;
}

/*
 * Active exclusions need at least one window (seed 002); stored_n is the stored task's count
 * and stored_active its flag (create: 0 and false).
 */
static void exclusions_check(const struct task_input *in, int stored_n, bool stored_active,
                             struct verr *v)
{
    bool active = in->db.exclusions_active < 0 ? stored_active : in->db.exclusions_active;
    int n = in->exclusions_n < 0 ? stored_n : in->exclusions_n;
    if (active && n == 0 && !verr_has(v, "exclusions"))
        verr_add(v, "exclusions", "must hold at least one window when exclusions_active is true");
}

/* Adds a field error unless the connection exists. */
static enum mse_rc connection_check(struct tx *tx, const char *id, struct verr *v)
{
    struct db_doc doc = { 0 };
    struct db_error err;
    if (!id)
        return MSE_OK;
    enum mse_rc rc = db_sync_conn_get(tx->db, id, false, &doc, &err);
    db_doc_cleanup(&doc);
    if (rc == MSE_ERR_NOT_FOUND) {
        verr_add(v, "connection_id", "names no server connection");
        rc = MSE_OK;
    }
    return rc;
}

static void task_fail(struct tx *tx, enum mse_rc rc)
{
    if (rc == MSE_ERR_CONFLICT)
        tx_fail(tx, 409, "a sync task with this name exists already");
    else
        tx_fail_rc(tx, rc, NULL);
}

/* Writes the task as stored now, with its audit event (action), and commits. */
static void task_reply(struct tx *tx, const char *id, unsigned status, const char *action,
                       const char *location, const char *before)
{
    struct db_doc after = { 0 };
    struct db_error err;
    enum mse_rc rc = db_sync_task_get(tx->db, id, false, &after, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
    } else if (tx_audit(tx, action, "sync_task", id, before, after.json)) {
        tx_commit_reply(tx, status, after.json, location, after.version);
        after.json = NULL;
    }
    db_doc_cleanup(&after);
}

void api_sync_tasks_list(struct request *req)
{
    static const char *const enabled[] = { "true", "false", NULL };
    api_list_by_enum(req, SYNC_TASK_CURSOR, "enabled", enabled, db_sync_task_list);
}

void api_sync_tasks_get(struct request *req)
{
    api_get_doc(req, "sync task", "no sync task with this id", db_sync_task_get);
}

void api_sync_tasks_create(struct request *req)
{
    cJSON *body;
    if (!api_no_query(req) || !jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    struct task_input in;
    struct tx tx;
    struct db_error err;
    char id[37], location[96];
    verr_init(&v);
    task_read(body, true, &in, &v);
    exclusions_check(&in, 0, false, &v);
    if (verr_any(&v) || v.nomem) {
        problem_send_fields(req, 422, "the sync task is not valid", &v);
        goto out;
    }
    if (!tx_begin(req, &tx))
        goto out;
    enum mse_rc rc = connection_check(&tx, in.db.connection_id, &v);
    if (rc == MSE_OK && verr_any(&v)) {
        tx_fail_fields(&tx, 422, "the sync task is not valid", &v);
        goto out;
    }
    mse_uuid_new(id);
    if (rc == MSE_OK)
        rc = db_sync_task_insert(tx.db, id, &in.db, api_actor(req), &err);
    if (rc != MSE_OK) {
        task_fail(&tx, rc);
        goto out;
    }
    snprintf(location, sizeof(location), "/api/v1/sync-tasks/%s", id);
    task_reply(&tx, id, 201, "sync_task.create", location, NULL);
out:
    input_cleanup(&in);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

/* The stored task's exclusion count and flag, from its rendering. */
static void stored_exclusions(const char *json, int *n, bool *active)
{
    cJSON *doc = cJSON_Parse(json);
    *n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "exclusions"));
    *active = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "exclusions_active"));
    cJSON_Delete(doc);
}

/* Locks the path's task into *before and checks If-Match; false after answering. */
static bool task_lock(struct tx *tx, const char *id, struct db_doc *before)
{
    struct db_error err;
    enum mse_rc rc = db_sync_task_get(tx->db, id, true, before, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, "no sync task with this id");
        return false;
    }
    return tx_if_match(tx, before->version);
}

void api_sync_tasks_patch(struct request *req)
{
    char id[37];
    cJSON *body = NULL;
    if (!api_path_uuid(req, 0, "sync task", id) || !api_no_query(req) ||
        !jsonin_parse(req, JSONIN_PATCH, &body))
        return;
    struct verr v;
    struct task_input in;
    struct tx tx;
    struct db_doc before = { 0 };
    struct db_error err;
    int n;
    bool active;
    verr_init(&v);
    task_read(body, false, &in, &v);
    if (verr_any(&v) || v.nomem) {
        problem_send_fields(req, 422, "the change is not valid", &v);
        goto out;
    }
    if (!tx_begin(req, &tx) || !task_lock(&tx, id, &before))
        goto out;
    stored_exclusions(before.json, &n, &active);
    exclusions_check(&in, n, active, &v);
    enum mse_rc rc = connection_check(&tx, in.db.connection_id, &v);
    if (rc == MSE_OK && verr_any(&v)) {
        tx_fail_fields(&tx, 422, "the change is not valid", &v);
        goto out;
    }
    bool running = false;
    if (rc == MSE_OK)
        rc = db_sync_task_running(tx.db, id, &running, &err);
    if (rc == MSE_OK && running) {
        /* Seed 002: a change takes effect once the active synchronisation completes. */
        char *changes = cJSON_PrintUnformatted(body);
        rc = changes ? db_sync_task_defer(tx.db, id, changes, api_actor(req), &running, &err)
                     : MSE_ERR_NOMEM;
        free(changes);
    }
    if (rc == MSE_OK && !running) {
        rc = db_sync_task_update(tx.db, id, &in.db, api_actor(req), &err);
    }
    if (rc != MSE_OK)
        task_fail(&tx, rc);
    else if (running)
        task_reply(&tx, id, 202, "sync_task.update_requested", NULL, before.json);
    else
        task_reply(&tx, id, 200, "sync_task.update", NULL, before.json);
out:
    db_doc_cleanup(&before);
    input_cleanup(&in);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

/* Start or stop: sets enabled, with the audit event sync_task.<verb>. */
static void set_enabled(struct request *req, bool enabled)
{
    char id[37];
    struct tx tx;
    struct db_doc before = { 0 };
    struct db_error err;
    struct db_sync_task_in in;
    if (!api_path_uuid(req, 0, "sync task", id) || !api_no_query(req) || !tx_begin(req, &tx))
        return;
    if (task_lock(&tx, id, &before)) {
        memset(&in, 0, sizeof(in));
        in.mail = in.calendars = in.include_sensitive = in.exclusions_active = -1;
        in.enabled = enabled;
        enum mse_rc rc = db_sync_task_update(tx.db, id, &in, api_actor(req), &err);
        if (rc != MSE_OK)
            tx_fail_rc(&tx, rc, NULL);
        else
            task_reply(&tx, id, 200, enabled ? "sync_task.start" : "sync_task.stop", NULL,
                       before.json);
    }
    db_doc_cleanup(&before);
}

void api_sync_tasks_start(struct request *req)
{
    set_enabled(req, true);
}

void api_sync_tasks_stop(struct request *req)
{
    set_enabled(req, false);
}

/* Deletion keeps the archive (until retention); while an execution runs it waits for its end. */
void api_sync_tasks_delete(struct request *req)
{
    char id[37];
    struct tx tx;
    struct db_doc before = { 0 };
    struct db_error err;
    bool running = false;
    if (!api_path_uuid(req, 0, "sync task", id) || !api_no_query(req) || !tx_begin(req, &tx))
        return;
    if (!task_lock(&tx, id, &before))
        goto out;
    enum mse_rc rc = db_sync_task_running(tx.db, id, &running, &err);
    if (rc == MSE_OK && running)
        rc = db_sync_task_defer(tx.db, id, NULL, api_actor(req), &running, &err);
    if (rc == MSE_OK && running) {
        task_reply(&tx, id, 202, "sync_task.delete_requested", NULL, before.json);
        goto out;
    }
    if (rc == MSE_OK)
        rc = db_sync_task_delete(tx.db, id, &err);
    if (rc != MSE_OK)
        tx_fail_rc(&tx, rc, NULL);
    else if (tx_audit(&tx, "sync_task.delete", "sync_task", id, before.json, NULL))
        tx_commit_reply(&tx, 204, NULL, NULL, -1);
out:
    db_doc_cleanup(&before);
}

void api_sync_tasks_mailboxes(struct request *req)
{
    char id[37];
    struct page page;
    if (!api_path_uuid(req, 0, "sync task", id) || !api_page_only(req, SYNC_MAILBOX_CURSOR, &page))
        return;
    struct db *db;
    struct db_error err;
    struct db_doc doc = { 0 };
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_sync_task_get(db, id, false, &doc, &err);
    db_doc_cleanup(&doc);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, "no sync task with this id");
        return;
    }
    rc = db_sync_task_mailboxes(db, id, page.has_after, page.after, page.limit, &items, &last,
                                &more, &err);
    api_reply_list_polled(req, rc, items, more, last, SYNC_MAILBOX_CURSOR);
}

/* ---- the execution lifecycle's side ---- */

enum mse_rc api_sync_tasks_is(struct db *db, const char *task_id, bool *is)
{
    struct db_error err;
    return db_sync_task_is(db, task_id, is, &err);
}

/* The default classes, then the task's additions (JSON strings), as a new array. */
static cJSON *classes_effective(const cJSON *additions)
{
    cJSON *list = cJSON_CreateArray();
    const cJSON *a;
    for (int i = 0; list && default_classes[i]; i++)
        if (!cJSON_AddItemToArray(list, cJSON_CreateString(default_classes[i])))
            goto fail;
    cJSON_ArrayForEach(a, additions)
    {
        if (list && cJSON_IsString(a) &&
            !cJSON_AddItemToArray(list, cJSON_CreateString(a->valuestring)))
            goto fail;
    }
    return list;
fail:
    cJSON_Delete(list);
    return NULL;
}

/* Adds the connection's opened secret to conn; the copies are zeroed before they are freed. */
static enum mse_rc connection_secret_add(struct request *req, struct db *db, cJSON *conn)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(conn, "id");
    char *secret = NULL;
    size_t len = 0;
    if (!cJSON_IsString(id))
        return MSE_ERR_INTERNAL;
    enum mse_rc rc = api_sync_conn_secret(req, db, id->valuestring, &secret, &len);
    if (rc == MSE_OK && !cJSON_AddStringToObject(conn, "secret", secret))
        rc = MSE_ERR_NOMEM;
    if (secret) {
        explicit_bzero(secret, len);
        free(secret);
    }
    return rc;
}

/* Zeroes the secret the document holds before the document is freed. */
static void secret_wipe(cJSON *conn)
{
    cJSON *s = cJSON_GetObjectItemCaseSensitive(conn, "secret");
    if (cJSON_IsString(s))
        explicit_bzero(s->valuestring, strlen(s->valuestring));
}

/*
 * Ends the claimed execution of doc failed: the error on the execution, the task's status
 * failed, its waiting changes applied, in one transaction.
 * A worker handed the claim could do nothing without the secret, and re-queueing it would
 * only fail again on every claim.
 */
static enum mse_rc claim_refuse(struct request *req, struct db *db, const cJSON *doc,
                                const char *conn_id)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(doc, "fencing_token");
    if (!cJSON_IsString(id) || !cJSON_IsNumber(tok))
        return MSE_ERR_INTERNAL;
    char token[24], text[600];
    snprintf(token, sizeof(token), "%lld", (long long)tok->valuedouble);
    struct fence f = { id->valuestring, req->principal.site_id, token };
    struct db_error err;
    struct exec_end end = { 0 };
    enum exec_outcome o = EXO_DONE;
    bool sync = false;
    api_sync_conn_unreadable(db, conn_id, text, sizeof(text));
    LOG_WARN(&req->log, "execution %s ended at its claim (%s): %s", id->valuestring,
             API_SYNC_SECRET_UNREADABLE, text);
    enum mse_rc rc = db_begin(db, &err);
    if (rc == MSE_OK)
        rc = db_exec_fail(db, &f, API_SYNC_SECRET_UNREADABLE, text, &o, &err);
    if (rc == MSE_OK && o == EXO_DONE)
        rc = db_exec_complete(db, &f, true, &end, &o, &err);
    if (rc == MSE_OK && o == EXO_DONE && end.pending)
        rc = api_sync_tasks_is(db, end.task_id, &sync);
    if (rc == MSE_OK && o == EXO_DONE && end.pending && sync)
        rc = api_sync_tasks_apply_deferred(req, db, end.task_id);
    /* Another outcome: the claim no longer holds (it lapsed meanwhile); its next claim ends it. */
    if (rc == MSE_OK && o == EXO_DONE)
        rc = db_commit(db, &err);
    else
        db_rollback(db);
    exec_end_cleanup(&end);
    return rc;
}

enum mse_rc api_sync_tasks_claim_complete(struct request *req, struct db *db, char **json,
                                          enum exec_outcome *o)
{
    /* Most claims are Exchange tasks': they are not parsed again. */
    if (!strstr(*json, "sync_recover"))
        return MSE_OK;
    cJSON *doc = cJSON_Parse(*json);
    if (!doc)
        return MSE_ERR_NOMEM;
    const cJSON *type =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "task"), "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "sync_recover") != 0) {
        cJSON_Delete(doc);
        return MSE_OK;
    }
    cJSON *settings = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(doc, "definition"), "settings");
    cJSON *conn = cJSON_GetObjectItemCaseSensitive(doc, "connection");
    enum mse_rc rc = cJSON_IsObject(settings) && cJSON_IsObject(conn) ? MSE_OK : MSE_ERR_INTERNAL;
    cJSON *adds = rc == MSE_OK ? cJSON_DetachItemFromObjectCaseSensitive(
                                         settings, "additional_message_classes")
                               : NULL;
    cJSON *classes = rc == MSE_OK ? classes_effective(adds) : NULL;
    cJSON_Delete(adds);
    if (rc == MSE_OK && !(classes && cJSON_AddItemToObject(settings, "message_classes", classes)))
        rc = MSE_ERR_NOMEM;
    if (rc == MSE_OK)
        rc = connection_secret_add(req, db, conn);
    if (rc == MSE_ERR_CRYPTO) {
        /* The secret does not open: nothing to hand out; the execution ends with why. */
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(conn, "id");
        rc = claim_refuse(req, db, doc, cid->valuestring);
        if (rc == MSE_OK)
            *o = EXO_UNCLAIMABLE;
        cJSON_Delete(doc);
        free(*json);
        *json = NULL;
        return rc;
    }
    char *out = rc == MSE_OK ? cJSON_PrintUnformatted(doc) : NULL;
    if (rc == MSE_OK && !out)
        rc = MSE_ERR_NOMEM;
    secret_wipe(conn);
    cJSON_Delete(doc);
    if (rc == MSE_OK) {
        free(*json);
        *json = out;
    }
    return rc;
}

/* One audit event written inside an execution's end (no struct tx there). */
static enum mse_rc deferred_audit(struct request *req, struct db *db, const char *action,
                                  const char *id, const char *before, const char *after)
{
    struct db_error err;
    struct audit_event e = { action, "sync_task", id, before, after };
    return db_audit_insert(db, &req->principal, req->request_id, req->remote_addr, &e, &err);
}

/* Applies a stored change (a PATCH body, validated when it was stored). */
static enum mse_rc deferred_change(struct db *db, const char *id, const char *changes,
                                   const char *actor)
{
    struct task_input in;
    struct verr v;
    struct db_error err;
    cJSON *body = cJSON_Parse(changes);
    if (!body)
        return MSE_ERR_NOMEM;
    verr_init(&v);
    task_read(body, false, &in, &v);
    /* Valid when stored; nothing it names can have gone since (a used connection stays). */
    enum mse_rc rc = verr_any(&v) || v.nomem ? MSE_ERR_INTERNAL
                                             : db_sync_task_update(db, id, &in.db, actor, &err);
    input_cleanup(&in);
    verr_cleanup(&v);
    cJSON_Delete(body);
    return rc;
}

enum mse_rc api_sync_tasks_apply_deferred(struct request *req, struct db *db, const char *task_id)
{
    struct db_sync_deferred d;
    struct db_doc before = { 0 }, after = { 0 };
    struct db_error err;
    enum mse_rc rc = db_sync_task_deferred(db, task_id, &d, &err);
    if (rc == MSE_OK)
        rc = db_sync_task_get(db, task_id, true, &before, &err);
    if (rc == MSE_OK && d.changes)
        rc = deferred_change(db, task_id, d.changes, d.actor);
    if (rc == MSE_OK && d.changes)
        rc = db_sync_task_get(db, task_id, false, &after, &err);
    if (rc == MSE_OK && d.changes)
        rc = deferred_audit(req, db, "sync_task.update_applied", task_id, before.json, after.json);
    if (rc == MSE_OK && d.deletion)
        rc = db_sync_task_delete(db, task_id, &err);
    if (rc == MSE_OK && d.deletion)
        rc = deferred_audit(req, db, "sync_task.delete", task_id,
                            after.json ? after.json : before.json, NULL);
    db_doc_cleanup(&before);
    db_doc_cleanup(&after);
    db_sync_deferred_cleanup(&d);
    return rc;
}
