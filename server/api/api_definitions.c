/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/v1/definitions: a feature's settings, shared by tasks of its type. The type is fixed at
 * creation; settings are validated and stored with their defaults filled in.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_util.h"
#include "db_definition.h"
#include "folder.h"
#include "http.h"
#include "jsonin.h"
#include "problem.h"
#include "query.h"
#include "server.h"
#include "tx.h"

#define DEFINITION_CURSOR 'd'
#define MAX_DAYS          36500   /* a hundred years */
#define MAX_SIZE_KB       2097152 /* 2 GiB */

enum def_type { DEF_MFR, DEF_CALENDAR, DEF_MSM, DEF_MANAGED };
static const char *const def_types[] = { "mailbox_folder_replication", "calendar_replication",
                                         "mailbox_storage_management", "managed_folders", NULL };
static const char *const def_fields[] = { "type", "description", "settings", NULL };
static const char *const def_readonly[] = { "id", "created_at", "updated_at", "updated_by", NULL };

/* ---- settings of each type: checked, defaults filled in, written to out ---- */

/* An array of folder paths (min..MSE_MAX_FOLDER_LIST entries, no duplicates) into out[key]. */
static void paths_read(const cJSON *in, const char *key, unsigned min, cJSON *out, struct verr *v)
{
    const cJSON *arr = NULL;
    char path[160], why[128];
    cJSON *list = cJSON_AddArrayToObject(out, key);
    if (jsonin_array(in, "settings", key, MSE_MAX_FOLDER_LIST, 0, v, &arr) != JF_OK)
        return;
    int i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        snprintf(path, sizeof(path), "settings.%s[%d]", key, i);
        if (!cJSON_IsString(e)) {
            verr_add(v, path, "must be a folder path such as /Inbox/Projects");
            continue;
        }
        if (!jsonin_str_ok(e->valuestring, path, MSE_MAX_FOLDER_PATH, 0, v))
            continue;
        if (!folder_path_valid(e->valuestring, why, sizeof(why))) {
            verr_add(v, path, "%s", why);
            continue;
        }
        bool dup = false;
        for (const cJSON *p = arr->child; p != e && !dup; p = p->next)
            dup = cJSON_IsString(p) && folder_path_same(p->valuestring, e->valuestring);
        if (dup)
            verr_add(v, path, "names a folder listed before");
        else if (list)
            cJSON_AddItemToArray(list, cJSON_CreateString(e->valuestring));
    }
    if ((unsigned)i < min) {
        snprintf(path, sizeof(path), "settings.%s", key);
        verr_add(v, path, "must list at least %u folder(s)", min);
    }
}

static void bool_read(const cJSON *in, const char *key, cJSON *out, struct verr *v)
{
    bool b = false;
    (void)jsonin_bool(in, "settings", key, 0, v, &b);
    cJSON_AddBoolToObject(out, key, b);
}

static void mfr_read(const cJSON *in, cJSON *out, struct verr *v)
{
    static const char *const allowed[] = { "exclude_folders", "include_deleted_items",
                                           "include_private_items", NULL };
    jsonin_members(in, "settings", allowed, NULL, v);
    paths_read(in, "exclude_folders", 0, out, v);
    bool_read(in, "include_deleted_items", out, v);
    bool_read(in, "include_private_items", out, v);
}

static void calendar_read(const cJSON *in, cJSON *out, struct verr *v)
{
    static const char *const allowed[] = { "include_calendars", NULL };
    static const char *const choices[] = { "default", "all", NULL };
    int c = 0;
    jsonin_members(in, "settings", allowed, NULL, v);
    (void)jsonin_enum(in, "settings", "include_calendars", choices, 0, v, &c);
    cJSON_AddStringToObject(out, "include_calendars", choices[c]);
}

/* folders: "all" (the default) or a non-empty list of paths. */
static void folders_read(const cJSON *in, cJSON *out, struct verr *v)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(in, "folders");
    if (!f || (cJSON_IsString(f) && !strcmp(f->valuestring, "all"))) {
        cJSON_AddStringToObject(out, "folders", "all");
        return;
    }
    if (!cJSON_IsArray(f)) {
        verr_add(v, "settings.folders", "must be \"all\" or a list of folder paths");
        return;
    }
    paths_read(in, "folders", 1, out, v);
}

static void msm_read(const cJSON *in, cJSON *out, struct verr *v)
{
    static const char *const allowed[] = { "action",  "older_than_days", "min_size_kb",
                                           "folders", "exclude_folders", "hard_delete",
                                           NULL };
    static const char *const actions[] = { "message_delete", "full_message_stub", "attachment_stub",
                                           "attachment_link_stub", NULL };
    int action = 0;
    int64_t days = 0, kb = 0;
    jsonin_members(in, "settings", allowed, NULL, v);
    (void)jsonin_enum(in, "settings", "action", actions, JF_REQUIRED, v, &action);
    (void)jsonin_int(in, "settings", "older_than_days", 1, MAX_DAYS, JF_REQUIRED, v, &days);
    (void)jsonin_int(in, "settings", "min_size_kb", 0, MAX_SIZE_KB, 0, v, &kb);
    cJSON_AddStringToObject(out, "action", actions[action]);
    cJSON_AddNumberToObject(out, "older_than_days", (double)days);
    cJSON_AddNumberToObject(out, "min_size_kb", (double)kb);
    folders_read(in, out, v);
    paths_read(in, "exclude_folders", 0, out, v);
    /* message_delete: for good (HardDelete) rather than to Deleted Items. */
    bool_read(in, "hard_delete", out, v);
}

/* A policy's folder: "default", a well-known folder name, or a path. */
static bool policy_folder_ok(const char *folder, const char *path, struct verr *v)
{
    char why[128];
    if (!strcmp(folder, "default") || folder_well_known(folder))
        return true;
    if (folder[0] == '/' && folder_path_valid(folder, why, sizeof(why)))
        return true;
    verr_add(v, path,
             "must be default, a well-known folder (inbox, sentitems, deleteditems, …) "
             "or a path such as /Inbox/Projects");
    return false;
}

static void policy_read(const cJSON *p, int i, cJSON *list, struct verr *v)
{
    static const char *const allowed[] = { "folder", "action", "lifespan_days", NULL };
    static const char *const actions[] = { "exchange_delete", "expire_view", "archive_purge",
                                           NULL };
    char prefix[48], path[64];
    const char *folder = NULL;
    int action = 0;
    int64_t days = 0;
    snprintf(prefix, sizeof(prefix), "settings.policies[%d]", i);
    if (!cJSON_IsObject(p)) {
        verr_add(v, prefix, "must be an object {folder, action, lifespan_days}");
        return;
    }
    unsigned before = v->count;
    jsonin_members(p, prefix, allowed, NULL, v);
    snprintf(path, sizeof(path), "%s.folder", prefix);
    if (jsonin_str(p, prefix, "folder", MSE_MAX_FOLDER_PATH, JF_REQUIRED, v, &folder) == JF_OK)
        (void)policy_folder_ok(folder, path, v);
    (void)jsonin_enum(p, prefix, "action", actions, JF_REQUIRED, v, &action);
    (void)jsonin_int(p, prefix, "lifespan_days", 1, MAX_DAYS, JF_REQUIRED, v, &days);
    if (v->count != before)
        return;
    for (const cJSON *q = list->child; q; q = q->next) {
        if (folder_path_same(cJSON_GetObjectItem(q, "folder")->valuestring, folder)) {
            verr_add(v, path, "has a policy already (policy for %s listed twice)", folder);
            return;
        }
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "folder", folder);
    cJSON_AddStringToObject(o, "action", actions[action]);
    cJSON_AddNumberToObject(o, "lifespan_days", (double)days);
    cJSON_AddItemToArray(list, o);
}

static void managed_read(const cJSON *in, cJSON *out, struct verr *v)
{
    static const char *const allowed[] = { "policies", NULL };
    const cJSON *arr = NULL;
    jsonin_members(in, "settings", allowed, NULL, v);
    cJSON *list = cJSON_AddArrayToObject(out, "policies");
    if (jsonin_array(in, "settings", "policies", MSE_MAX_POLICIES, JF_REQUIRED, v, &arr) != JF_OK)
        return;
    int i = 0;
    for (const cJSON *p = arr->child; p; p = p->next, i++)
        policy_read(p, i, list, v);
    if (i == 0)
        verr_add(v, "settings.policies", "must hold at least one policy");
}

/*
 * Checks settings (an object, or NULL for none given) for a type; returns the normalised
 * settings as JSON text (malloc'd), or NULL with the problems in v.
 */
static char *settings_normalize(enum def_type type, const cJSON *settings, struct verr *v)
{
    cJSON *empty = cJSON_CreateObject(), *out = cJSON_CreateObject();
    const cJSON *in = settings ? settings : empty;
    unsigned before = v->count;
    char *text = NULL;
    if (!empty || !out) {
        v->nomem = true;
    } else if (!cJSON_IsObject(in)) {
        verr_add(v, "settings", "must be an object");
    } else {
        void (*read[])(const cJSON *, cJSON *, struct verr *) = { mfr_read, calendar_read, msm_read,
                                                                  managed_read };
        read[type](in, out, v);
    }
    if (v->count == before && !v->nomem) {
        text = cJSON_PrintUnformatted(out);
        v->nomem = !text;
    }
    cJSON_Delete(empty);
    cJSON_Delete(out);
    return text;
}

/* ---- handlers ---- */

void api_definitions_list(struct request *req)
{
    api_list_by_enum(req, DEFINITION_CURSOR, "type", def_types, db_definition_list);
}

/* The definition's rendered document, for the generic GET and DELETE. */
static enum mse_rc definition_doc(struct db *db, const char *id, bool lock, struct db_doc *doc,
                                  struct db_error *err)
{
    struct db_definition d = { 0 };
    enum mse_rc rc = db_definition_get(db, id, lock, false, &d, err);
    *doc = d.doc;
    d.doc.json = NULL;
    db_definition_cleanup(&d);
    return rc;
}

void api_definitions_get(struct request *req)
{
    api_get_doc(req, "definition", "no definition with this id", definition_doc);
}

/* Writes the definition as stored now, with its audit event, and commits. */
static void reply_changed(struct tx *tx, const char *id, unsigned status, const char *location,
                          const char *before)
{
    struct db_definition after;
    struct db_error err;
    enum mse_rc rc = db_definition_get(tx->db, id, false, false, &after, &err);
    const char *action = status == 201 ? "definition.create" : "definition.update";
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
    } else if (tx_audit(tx, action, "definition", id, before, after.doc.json)) {
        tx_commit_reply(tx, status, after.doc.json, location, after.doc.version);
        after.doc.json = NULL;
    }
    db_definition_cleanup(&after);
}

void api_definitions_create(struct request *req)
{
    cJSON *body;
    if (!jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    const char *description = NULL;
    const cJSON *settings = NULL;
    int type = -1;
    char *normal = NULL;
    verr_init(&v);
    jsonin_members(body, "", def_fields, def_readonly, &v);
    (void)jsonin_str(body, "", "description", MSE_MAX_DESCRIPTION, JF_REQUIRED | JF_MULTILINE, &v,
                     &description);
    bool typed = jsonin_enum(body, "", "type", def_types, JF_REQUIRED, &v, &type) == JF_OK;
    enum jf s = jsonin_object(body, "", "settings", 0, &v, &settings);
    if (typed && s != JF_BAD)
        normal = settings_normalize((enum def_type)type, settings, &v);
    struct tx tx;
    if (verr_any(&v) || v.nomem) {
        problem_send_fields(req, 422, "the definition is not valid", &v);
    } else if (tx_begin(req, &tx)) {
        char id[37], location[96];
        struct db_error err;
        enum mse_rc rc = db_definition_insert(tx.db, def_types[type], description, normal,
                                              api_actor(req), id, &err);
        snprintf(location, sizeof(location), "/api/v1/definitions/%s", id);
        if (rc != MSE_OK)
            tx_fail_rc(&tx, rc, NULL);
        else
            reply_changed(&tx, id, 201, location, NULL);
    }
    free(normal);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

/* The stored settings with the patch's settings members laid over them (null = default). */
static cJSON *settings_merge(const char *stored, const cJSON *patch)
{
    cJSON *merged = cJSON_Parse(stored);
    if (!merged || !patch || !cJSON_IsObject(patch))
        return merged;
    for (const cJSON *m = patch->child; m; m = m->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(merged, m->string);
        if (!cJSON_IsNull(m))
            cJSON_AddItemToObject(merged, m->string, cJSON_Duplicate(m, 1));
    }
    return merged;
}

/* Checks the PATCH body against the locked definition; *normal = the new settings. */
static bool patch_check(struct tx *tx, const cJSON *body, const struct db_definition *d,
                        const char **description, char **normal)
{
    struct verr v;
    const cJSON *settings = NULL;
    int type = -1;
    verr_init(&v);
    jsonin_members(body, "", def_fields, def_readonly, &v);
    *description = NULL;
    (void)jsonin_str(body, "", "description", MSE_MAX_DESCRIPTION, JF_MULTILINE, &v, description);
    if (jsonin_enum(body, "", "type", def_types, 0, &v, &type) == JF_OK &&
        strcmp(def_types[type], d->type) != 0)
        verr_add(&v, "type", "is fixed at creation (create a new definition for another type)");
    enum def_type stored_type = DEF_MFR;
    for (int i = 0; def_types[i]; i++) {
        if (!strcmp(def_types[i], d->type))
            stored_type = (enum def_type)i;
    }
    if (jsonin_object(body, "", "settings", 0, &v, &settings) != JF_BAD) {
        cJSON *merged = settings_merge(d->settings, settings);
        *normal = settings_normalize(stored_type, merged, &v);
        cJSON_Delete(merged);
    }
    bool ok = !verr_any(&v) && !v.nomem;
    if (!ok)
        tx_fail_fields(tx, 422, "the change is not valid", &v);
    verr_cleanup(&v);
    return ok;
}

void api_definitions_patch(struct request *req)
{
    char id[37];
    if (!api_path_uuid(req, 0, "definition", id))
        return;
    cJSON *body;
    if (!jsonin_parse(req, JSONIN_PATCH, &body))
        return;
    struct tx tx;
    struct db_definition d = { 0 };
    struct db_error err;
    const char *description = NULL;
    char *normal = NULL;
    if (!tx_begin(req, &tx))
        goto out;
    enum mse_rc rc = db_definition_get(tx.db, id, true, false, &d, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, "no definition with this id");
        goto out;
    }
    if (!tx_if_match(&tx, d.doc.version) || !patch_check(&tx, body, &d, &description, &normal))
        goto out;
    rc = db_definition_update(tx.db, id, description, normal, api_actor(req), &err);
    if (rc != MSE_OK)
        tx_fail_rc(&tx, rc, NULL);
    else
        reply_changed(&tx, id, 200, NULL, d.doc.json);
out:
    free(normal);
    db_definition_cleanup(&d);
    cJSON_Delete(body);
}

void api_definitions_delete(struct request *req)
{
    static const struct api_referenced definition = {
        .kind = "definition",
        .missing = "no definition with this id",
        .in_use = "use this definition; change or delete them first",
        .get = definition_doc,
        .tasks = db_definition_task_count,
        .remove = db_definition_delete,
    };
    api_delete_unreferenced(req, &definition);
}
