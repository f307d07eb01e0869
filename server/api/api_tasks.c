/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/v1/exchange-tasks: a definition applied by a site to a group of mailboxes on a
 * schedule. Seed rules: only name, schedule, definition and enabled change; the site never
 * does (409); changes while an execution runs wait in pending_changes; DELETE while running
 * is deferred (202); deleting keeps the task's row and data.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "api_util.h"
#include "db_audit.h"
#include "db_definition.h"
#include "db_schedule.h"
#include "db_site.h"
#include "db_task.h"
#include "group.h"
#include "http.h"
#include "jsonin.h"
#include "problem.h"
#include "query.h"
#include "schedule.h"
#include "server.h"
#include "tx.h"

#define TASK_CURSOR 't'

static const char *const task_types[] = { "mailbox_folder_replication", "calendar_replication",
                                          "mailbox_storage_management", "managed_folders", NULL };
static const char *const task_statuses[] = { "disabled", "scheduled", "queued",
                                             "running",  "waiting",   NULL };
static const char *const task_readonly[] = {
    "id",
    "status",
    "command",
    "latest_detail",
    "sequence",
    "next_run_at",
    "last_execution",
    "pending_changes",
    "deletion_pending",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    NULL,
};

/* What a request says about a task; ids are "" when not given (or invalid). */
struct task_input {
    const char *name;
    char site_id[37], definition_id[37], schedule_id[37];
    int type;          /* -1 = not given */
    int group_kind;    /* -1 = not given */
    char *group_value; /* normalised, malloc'd */
    int enabled;       /* -1 = not given */
    int max_parallel;  /* -1 = not given */
};

static void input_init(struct task_input *in)
{
    memset(in, 0, sizeof(*in));
    in->type = in->group_kind = in->enabled = in->max_parallel = -1;
}

static void uuid_read(const cJSON *body, const char *key, unsigned flags, struct verr *v,
                      char out[37])
{
    if (jsonin_uuid(body, "", key, flags, v, out) != JF_OK)
        out[0] = '\0';
}

/* Mailboxes one execution processes at once; 1 to MSE_MAX_PARALLEL_MAILBOXES (schema 042). */
static void parallel_read(const cJSON *body, struct task_input *in, struct verr *v)
{
    int64_t n;
    if (jsonin_int(body, "", "max_parallel_mailboxes", 1, MSE_MAX_PARALLEL_MAILBOXES, 0, v, &n) ==
        JF_OK)
        in->max_parallel = (int)n;
}

static void group_read(const cJSON *body, struct task_input *in, struct verr *v)
{
    api_group_read(body, &in->group_kind, &in->group_value, v);
}

static void create_read(const cJSON *body, struct task_input *in, struct verr *v)
{
    static const char *const allowed[] = { "name",        "site_id",
                                           "type",        "definition_id",
                                           "schedule_id", "group",
                                           "enabled",     "max_parallel_mailboxes",
                                           NULL };
    bool en;
    input_init(in);
    jsonin_members(body, "", allowed, task_readonly, v);
    (void)jsonin_str(body, "", "name", MSE_MAX_NAME, JF_REQUIRED, v, &in->name);
    uuid_read(body, "site_id", JF_REQUIRED, v, in->site_id);
    if (jsonin_enum(body, "", "type", task_types, JF_REQUIRED, v, &in->type) != JF_OK)
        in->type = -1;
    uuid_read(body, "definition_id", JF_REQUIRED, v, in->definition_id);
    uuid_read(body, "schedule_id", JF_REQUIRED, v, in->schedule_id);
    group_read(body, in, v);
    parallel_read(body, in, v);
    in->enabled = jsonin_bool(body, "", "enabled", 0, v, &en) == JF_OK ? en : 1;
}

/*
 * Resolves the references a request names, adding a field error for each that does not
 * resolve. lock = share-lock them until COMMIT. *rules is the schedule's, when found.
 */
static enum mse_rc refs_check(struct db *db, bool lock, const struct task_input *in,
                              const char *task_type, struct verr *v, struct schedule *rules,
                              bool *has_rules)
{
    struct db_error err;
    enum mse_rc rc = MSE_OK;
    *has_rules = false;
    if (in->site_id[0]) {
        bool exists = false;
        rc = db_site_exists(db, in->site_id, lock, &exists, &err);
        if (rc == MSE_OK && !exists)
            verr_add(v, "site_id", "no site has this id");
    }
    if (rc == MSE_OK && in->definition_id[0]) {
        struct db_definition d;
        rc = db_definition_get(db, in->definition_id, false, lock, &d, &err);
        if (rc == MSE_ERR_NOT_FOUND)
            verr_add(v, "definition_id", "no definition has this id");
        else if (rc == MSE_OK && task_type && strcmp(d.type, task_type) != 0)
            verr_add(v, "definition_id", "is a %s definition; this task needs %s", d.type,
                     task_type);
        db_definition_cleanup(&d);
        rc = rc == MSE_ERR_NOT_FOUND ? MSE_OK : rc;
    }
    if (rc == MSE_OK && in->schedule_id[0]) {
        struct db_schedule s;
        rc = db_schedule_get(db, in->schedule_id, false, lock, &s, &err);
        if (rc == MSE_ERR_NOT_FOUND)
            verr_add(v, "schedule_id", "no schedule has this id");
        if (rc == MSE_OK) {
            *rules = s.rules;
            *has_rules = true;
        }
        db_schedule_cleanup(&s);
        rc = rc == MSE_ERR_NOT_FOUND ? MSE_OK : rc;
    }
    return rc;
}

/* The next run of an enabled task from now; none when disabled or the schedule is over. */
static void next_run(const struct schedule *rules, bool enabled, bool *has, time_t *t)
{
    unsigned n = 0;
    *has = false;
    if (enabled && schedule_next_runs(rules, time(NULL), t, 1, &n) == MSE_OK)
        *has = n == 1;
}

void api_tasks_list(struct request *req)
{
    static const char *const allowed[] = { "limit",       "cursor",        "site_id",
                                           "type",        "status",        "enabled",
                                           "schedule_id", "definition_id", NULL };
    struct verr v;
    struct page page;
    struct db_task_filter f = { .enabled = -1 };
    char site[37], schedule[37], definition[37];
    int type = -1, status = -1;
    bool en;
    verr_init(&v);
    query_check(req, allowed, &v);
    query_page(req, TASK_CURSOR, &page, &v);
    f.site_id = query_uuid(req, "site_id", &v, site) ? site : NULL;
    f.schedule_id = query_uuid(req, "schedule_id", &v, schedule) ? schedule : NULL;
    f.definition_id = query_uuid(req, "definition_id", &v, definition) ? definition : NULL;
    f.type = query_enum(req, "type", task_types, &v, &type) ? task_types[type] : NULL;
    f.status = query_enum(req, "status", task_statuses, &v, &status) ? task_statuses[status] : NULL;
    if (query_bool(req, "enabled", &v, &en))
        f.enabled = en;
    if (verr_any(&v)) {
        query_fail(req, &v);
        verr_cleanup(&v);
        return;
    }
    f.has_after = page.has_after;
    f.after = page.after;
    f.limit = page.limit;
    struct db *db;
    struct db_error err;
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_task_list(db, &f, &items, &last, &more, &err);
    api_reply_list_polled(req, rc, items, more, last, TASK_CURSOR);
}

/*
 * The dashboard's numbers, counted by the database: a console polling every few seconds would
 * otherwise read every task (thousands) to count them. The lists are capped; their totals are not.
 */
#define SUMMARY_LIST_MAX 50

void api_tasks_summary(struct request *req)
{
    if (!api_no_query(req))
        return;
    struct db *db;
    struct db_error err;
    char *json = NULL;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_task_summary(db, SUMMARY_LIST_MAX, &json, &err);
    api_reply_polled(req, rc, json);
}

/* The task's rendered document for the generic GET (read without a lock). */
static enum mse_rc task_doc(struct db *db, const char *id, bool lock, struct db_doc *doc,
                            struct db_error *err)
{
    (void)lock;
    return db_task_doc(db, id, doc, err);
}

void api_tasks_get(struct request *req)
{
    api_get_doc(req, "exchange task", "no exchange task with this id", task_doc);
}

/* Renders the task, writes the audit event, commits and answers. */
static void reply_changed(struct tx *tx, const char *id, unsigned status, const char *action,
                          const char *before, const char *location)
{
    struct db_doc after = { 0 };
    struct db_error err;
    enum mse_rc rc = db_task_doc(tx->db, id, &after, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
    } else if (tx_audit(tx, action, "exchange_task", id, before, after.json)) {
        tx_commit_reply(tx, status, after.json, location, after.version);
        after.json = NULL;
    }
    db_doc_cleanup(&after);
}

static void create_store(struct tx *tx, const struct task_input *in)
{
    struct verr v;
    struct schedule rules;
    bool has_rules;
    verr_init(&v);
    enum mse_rc rc = refs_check(tx->db, true, in, task_types[in->type], &v, &rules, &has_rules);
    if (rc != MSE_OK || verr_any(&v)) {
        if (rc != MSE_OK)
            tx_fail_rc(tx, rc, NULL);
        else
            tx_fail_fields(tx, 422, "the exchange task's references are not usable", &v);
        verr_cleanup(&v);
        return;
    }
    verr_cleanup(&v);
    struct db_task_new t = { .name = in->name,
                             .site_id = in->site_id,
                             .type = task_types[in->type],
                             .definition_id = in->definition_id,
                             .schedule_id = in->schedule_id,
                             .group_kind = group_kind_names[in->group_kind],
                             .group_value = in->group_value,
                             .enabled = in->enabled != 0,
                             .max_parallel_mailboxes = in->max_parallel > 0 ? in->max_parallel : 1,
                             .actor = api_actor(tx->req) };
    next_run(&rules, t.enabled, &t.has_next, &t.next_run_at);
    char id[37], location[96];
    struct db_error err;
    rc = db_task_insert(tx->db, &t, id, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
        return;
    }
    snprintf(location, sizeof(location), "/api/v1/exchange-tasks/%s", id);
    reply_changed(tx, id, 201, "exchange_task.create", NULL, location);
}

void api_tasks_create(struct request *req)
{
    cJSON *body;
    if (!jsonin_parse(req, 0, &body))
        return;
    struct task_input in;
    struct verr v;
    verr_init(&v);
    create_read(body, &in, &v);
    if (verr_any(&v)) {
        /* Name broken references too, so that one answer lists every problem. */
        struct db *db;
        struct schedule rules;
        bool has_rules;
        if (http_db(req, &db) == MSE_OK)
            (void)refs_check(db, false, &in, in.type >= 0 ? task_types[in.type] : NULL, &v, &rules,
                             &has_rules);
        problem_send_fields(req, 422, "the exchange task is not valid", &v);
    } else {
        struct tx tx;
        if (tx_begin(req, &tx))
            create_store(&tx, &in);
    }
    free(in.group_value);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

/* The PATCH body: only name, schedule_id, definition_id, enabled (and an unchanged site_id). */
static void patch_read(const cJSON *body, struct task_input *in, struct verr *v)
{
    static const char *const allowed[] = {
        "name", "schedule_id", "definition_id",          "enabled", "site_id",
        "type", "group",       "max_parallel_mailboxes", NULL
    };
    bool en;
    input_init(in);
    jsonin_members(body, "", allowed, task_readonly, v);
    (void)jsonin_str(body, "", "name", MSE_MAX_NAME, 0, v, &in->name);
    uuid_read(body, "schedule_id", 0, v, in->schedule_id);
    uuid_read(body, "definition_id", 0, v, in->definition_id);
    uuid_read(body, "site_id", 0, v, in->site_id);
    if (jsonin_bool(body, "", "enabled", 0, v, &en) == JF_OK)
        in->enabled = en;
    parallel_read(body, in, v);
    /* The seed: only the schedule and the definition (and name, enabled) can change. */
    if (cJSON_GetObjectItemCaseSensitive(body, "type"))
        verr_add(v, "type", "cannot change after creation; create a new task instead");
    if (cJSON_GetObjectItemCaseSensitive(body, "group"))
        verr_add(v, "group", "cannot change after creation; create a new task instead");
}

/* The change as JSON, for pending_changes: {name?, schedule_id?, definition_id?, enabled?,
 * max_parallel_mailboxes?}. */
static char *changes_json(const struct task_input *in, bool *empty)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (in->name)
        cJSON_AddStringToObject(o, "name", in->name);
    if (in->schedule_id[0])
        cJSON_AddStringToObject(o, "schedule_id", in->schedule_id);
    if (in->definition_id[0])
        cJSON_AddStringToObject(o, "definition_id", in->definition_id);
    if (in->enabled >= 0)
        cJSON_AddBoolToObject(o, "enabled", in->enabled);
    if (in->max_parallel > 0)
        cJSON_AddNumberToObject(o, "max_parallel_mailboxes", in->max_parallel);
    *empty = o->child == NULL;
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* Checks the change against the locked task; false after answering 409 or 422. */
static bool patch_allowed(struct tx *tx, const struct db_task *t, const struct task_input *in,
                          struct schedule *rules, bool *has_rules)
{
    if (t->deletion_pending) {
        tx_fail(tx, 409, "the task is being deleted once its running execution ends");
        return false;
    }
    if (in->site_id[0] && strcmp(in->site_id, t->site_id) != 0) {
        tx_fail(tx, 409,
                "a task cannot move to another site: its incremental sync state belongs to "
                "this site and task and would be thrown away; create a new task on the other "
                "site instead");
        return false;
    }
    struct verr v;
    struct task_input refs = *in;
    refs.site_id[0] = '\0';
    verr_init(&v);
    enum mse_rc rc = refs_check(tx->db, true, &refs, t->type, &v, rules, has_rules);
    bool ok = rc == MSE_OK && !verr_any(&v);
    if (rc != MSE_OK)
        tx_fail_rc(tx, rc, NULL);
    else if (!ok)
        tx_fail_fields(tx, 422, "the change is not valid", &v);
    verr_cleanup(&v);
    return ok;
}

/*
 * Applies the change now on db (inside the caller's transaction), recomputing next_run_at when
 * schedule or enabled change. A PATCH and an execution's end share it.
 */
static enum mse_rc patch_apply(struct db *db, const char *id, const struct db_task *t,
                               const struct task_input *in, struct schedule *rules, bool has_rules,
                               const char *actor)
{
    struct db_error err;
    enum mse_rc rc = MSE_OK;
    bool set_next = in->schedule_id[0] || in->enabled >= 0, has_next = false;
    time_t next = 0;
    if (set_next && !has_rules) {
        struct db_schedule s;
        rc = db_schedule_get(db, t->schedule_id, false, true, &s, &err);
        if (rc == MSE_OK)
            *rules = s.rules;
        db_schedule_cleanup(&s);
    }
    if (rc == MSE_OK && set_next)
        next_run(rules, in->enabled >= 0 ? in->enabled != 0 : t->enabled, &has_next, &next);
    if (rc == MSE_OK)
        rc = db_task_update(db, id, in->name, in->schedule_id[0] ? in->schedule_id : NULL,
                            in->definition_id[0] ? in->definition_id : NULL, in->enabled,
                            in->max_parallel, set_next, has_next, next, actor, &err);
    return rc;
}

/*
 * Applies the checked change to the locked task, or defers it while an execution runs, and
 * answers: 200 applied, 202 deferred (200 when a deferred change is empty: nothing to do).
 */
static void patch_commit(struct tx *tx, const char *id, const struct db_task *t,
                         const struct task_input *in, struct schedule *rules, bool has_rules)
{
    struct db_error err;
    enum mse_rc rc;
    if (!t->running) {
        rc = patch_apply(tx->db, id, t, in, rules, has_rules, api_actor(tx->req));
        if (rc != MSE_OK)
            tx_fail_rc(tx, rc, NULL);
        else
            reply_changed(tx, id, 200, "exchange_task.update", t->doc.json, NULL);
        return;
    }
    /* Seed 001: the change applies once the running execution completes. */
    bool empty = true;
    char *changes = changes_json(in, &empty);
    rc = !changes ? MSE_ERR_NOMEM
         : empty  ? MSE_OK
                  : db_task_defer(tx->db, id, changes, api_actor(tx->req), &err);
    free(changes);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
    } else if (empty) {
        char *same = strdup(t->doc.json);
        if (same)
            tx_commit_reply(tx, 200, same, NULL, t->doc.version);
        else
            tx_fail_rc(tx, MSE_ERR_NOMEM, NULL);
    } else {
        reply_changed(tx, id, 202, "exchange_task.update_deferred", t->doc.json, NULL);
    }
}

void api_tasks_patch(struct request *req)
{
    char id[37];
    if (!api_path_uuid(req, 0, "exchange task", id))
        return;
    cJSON *body;
    if (!jsonin_parse(req, JSONIN_PATCH, &body))
        return;
    struct task_input in;
    struct verr v;
    struct tx tx;
    struct db_task t = { 0 };
    struct db_error err;
    struct schedule rules;
    bool has_rules = false;
    verr_init(&v);
    patch_read(body, &in, &v);
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the change is not valid", &v);
        goto out;
    }
    if (!tx_begin(req, &tx))
        goto out;
    enum mse_rc rc = db_task_get(tx.db, id, true, &t, &err);
    if (rc != MSE_OK)
        tx_fail_rc(&tx, rc, "no exchange task with this id");
    else if (tx_if_match(&tx, t.doc.version) && patch_allowed(&tx, &t, &in, &rules, &has_rules))
        patch_commit(&tx, id, &t, &in, &rules, has_rules);
out:
    free(in.group_value);
    db_task_cleanup(&t);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

void api_tasks_delete(struct request *req)
{
    char id[37];
    if (!api_path_uuid(req, 0, "exchange task", id))
        return;
    struct tx tx;
    struct db_task t = { 0 };
    struct db_error err;
    if (!tx_begin(req, &tx))
        return;
    enum mse_rc rc = db_task_get(tx.db, id, true, &t, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, "no exchange task with this id");
        goto out;
    }
    if (!tx_if_match(&tx, t.doc.version))
        goto out;
    if (t.running) {
        /* Seed 002: deletion takes effect once the active synchronization completes. */
        rc = t.deletion_pending ? MSE_OK : db_task_mark_deletion(tx.db, id, api_actor(req), &err);
        if (rc != MSE_OK)
            tx_fail_rc(&tx, rc, NULL);
        else
            reply_changed(&tx, id, 202, "exchange_task.delete_requested", t.doc.json, NULL);
        goto out;
    }
    rc = db_task_soft_delete(tx.db, id, api_actor(req), &err);
    if (rc != MSE_OK)
        tx_fail_rc(&tx, rc, NULL);
    else if (tx_audit(&tx, "exchange_task.delete", "exchange_task", id, t.doc.json, NULL))
        tx_commit_reply(&tx, 204, NULL, NULL, -1);
out:
    db_task_cleanup(&t);
}

/* Reads a stored pending_changes object (validated when stored) into a task input. */
static void deferred_read(const char *task_json, struct task_input *in, cJSON **doc)
{
    input_init(in);
    *doc = cJSON_Parse(task_json);
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(*doc, "pending_changes");
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(pc, "name")) && cJSON_IsString(v))
        in->name = v->valuestring;
    if ((v = cJSON_GetObjectItemCaseSensitive(pc, "schedule_id")) && cJSON_IsString(v))
        snprintf(in->schedule_id, sizeof(in->schedule_id), "%s", v->valuestring);
    if ((v = cJSON_GetObjectItemCaseSensitive(pc, "definition_id")) && cJSON_IsString(v))
        snprintf(in->definition_id, sizeof(in->definition_id), "%s", v->valuestring);
    if ((v = cJSON_GetObjectItemCaseSensitive(pc, "enabled")) && cJSON_IsBool(v))
        in->enabled = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(pc, "max_parallel_mailboxes")) && cJSON_IsNumber(v))
        in->max_parallel = v->valueint;
}

/* Writes one audit event from inside the execution's end (no struct tx there). */
static enum mse_rc deferred_audit(struct request *req, struct db *db, const char *action,
                                  const char *id, const char *before, const char *after)
{
    struct db_error err;
    struct audit_event e = { action, "exchange_task", id, before, after };
    return db_audit_insert(db, &req->principal, req->request_id, req->remote_addr, &e, &err);
}

enum mse_rc api_tasks_apply_deferred(struct request *req, struct db *db, const char *task_id)
{
    struct db_task t = { 0 };
    struct db_doc after = { 0 };
    struct db_error err;
    struct task_input in;
    struct schedule rules;
    bool has_rules = false;
    cJSON *doc = NULL;
    struct verr v;
    verr_init(&v);
    enum mse_rc rc = db_task_get(db, task_id, true, &t, &err);
    if (rc == MSE_OK)
        deferred_read(t.doc.json, &in, &doc);
    if (rc == MSE_OK && !doc)
        rc = MSE_ERR_NOMEM;
    bool changes = rc == MSE_OK && (in.name || in.schedule_id[0] || in.definition_id[0] ||
                                    in.enabled >= 0 || in.max_parallel > 0);
    /* The references were checked when the change was stored and cannot have gone since
       (deleting a schedule or definition that a pending change names is refused). */
    if (changes)
        rc = refs_check(db, true, &in, t.type, &v, &rules, &has_rules);
    /* The change is the administrator's who asked for it, not the worker's that ended the run. */
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(doc, "updated_by");
    const char *actor = cJSON_IsString(by) ? by->valuestring : NULL;
    if (rc == MSE_OK && changes)
        rc = patch_apply(db, task_id, &t, &in, &rules, has_rules, actor);
    if (rc == MSE_OK && changes)
        rc = db_task_clear_pending(db, task_id, &err);
    if (rc == MSE_OK && changes)
        rc = db_task_doc(db, task_id, &after, &err);
    if (rc == MSE_OK && changes)
        rc = deferred_audit(req, db, "exchange_task.update_applied", task_id, t.doc.json,
                            after.json);
    if (rc == MSE_OK && t.deletion_pending) {
        rc = db_task_soft_delete(db, task_id, actor, &err);
        if (rc == MSE_OK)
            rc = deferred_audit(req, db, "exchange_task.delete", task_id,
                                after.json ? after.json : t.doc.json, NULL);
    }
    db_doc_cleanup(&after);
    db_task_cleanup(&t);
    cJSON_Delete(doc);
    verr_cleanup(&v);
    return rc;
}
