/* SPDX-License-Identifier: Apache-2.0 */
/* The selection exports and restores take (docs/export.md): read, checked, stored as JSON. */
#include "api_selection.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <time.h>

#include "api_worker.h"
#include "db_archive.h"
#include "jsonin.h"
#include "timefmt.h"

/* EWS ids are a few hundred bytes; a selection names at most this many of each kind. */
#define SELECTION_MAX_ID      1024
#define SELECTION_MAX_FOLDERS 1000
#define SELECTION_MAX_ITEMS   10000

/*
 * A list of strings (folder ids, paths, item ids) copied into sel under key; paths must be
 * absolute. Empty lists select nothing and are refused as a mistake.
 */
static void strings_read(const cJSON *in, const char *key, unsigned max, bool path, cJSON *sel,
                         struct verr *v)
{
    const cJSON *arr;
    char at[64], field[48];
    jsonin_path(field, sizeof(field), "selection", key);
    if (jsonin_array(in, "selection", key, max, 0, v, &arr) != JF_OK)
        return;
    if (!arr->child) {
        verr_add(v, field, "must name at least one (leave it out to select every one)");
        return;
    }
    /* A member lost to memory would widen the selection to everything: no member, no export
       (nor restore). */
    cJSON *out = cJSON_AddArrayToObject(sel, key);
    if (!out) {
        v->nomem = true;
        return;
    }
    int i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        snprintf(at, sizeof(at), "%s[%d]", field, i);
        if (!cJSON_IsString(e))
            verr_add(v, at, "must be a string");
        else if (!jsonin_str_ok(e->valuestring, at, path ? MSE_MAX_FOLDER_PATH : SELECTION_MAX_ID,
                                0, v))
            continue;
        else if (path && e->valuestring[0] != '/')
            verr_add(v, at, "must be a folder path such as /Inbox/Projects");
        else if (!cJSON_AddItemToArray(out, cJSON_CreateString(e->valuestring)))
            v->nomem = true;
    }
}

/* An RFC 3339 member of the selection, copied into sel; *t its instant. */
static bool time_read(const cJSON *in, const char *key, cJSON *sel, struct verr *v, time_t *t,
                      const char **out)
{
    const char *s = NULL;
    char field[48];
    jsonin_path(field, sizeof(field), "selection", key);
    if (jsonin_str(in, "selection", key, 64, 0, v, &s) != JF_OK)
        return false;
    if (mse_time_parse(s, t) != MSE_OK) {
        verr_add(v, field, "must be an RFC 3339 date-time such as 2026-03-29T01:00:00Z");
        return false;
    }
    if (sel && !cJSON_AddStringToObject(sel, key, s))
        v->nomem = true;
    *out = s;
    return true;
}

void api_selection_read(const cJSON *body, struct api_selection *in, struct verr *v)
{
    static const char *const allowed[] = {
        "mailbox", "folder_ids", "folder_paths",    "item_ids", "from",
        "to",      "as_of",      "include_deleted", NULL
    };
    const cJSON *s;
    const char *mailbox = NULL, *ignored;
    time_t from = 0, to = 0, as_of = 0;
    in->json = cJSON_CreateObject();
    if (!in->json) {
        v->nomem = true;
        return;
    }
    if (jsonin_object(body, "", "selection", JF_REQUIRED, v, &s) != JF_OK)
        return;
    jsonin_members(s, "selection", allowed, NULL, v);
    cJSON *sel = in->json;
    if (jsonin_str(s, "selection", "mailbox", MSE_MAX_ADDRESS, JF_REQUIRED, v, &mailbox) == JF_OK) {
        if (!api_worker_address(mailbox, in->mailbox, sizeof(in->mailbox)))
            verr_add(v, "selection.mailbox", "must be an e-mail address");
        else if (!cJSON_AddStringToObject(sel, "mailbox", in->mailbox))
            v->nomem = true;
    }
    strings_read(s, "folder_ids", SELECTION_MAX_FOLDERS, false, sel, v);
    strings_read(s, "folder_paths", SELECTION_MAX_FOLDERS, true, sel, v);
    strings_read(s, "item_ids", SELECTION_MAX_ITEMS, false, sel, v);
    bool has_from = time_read(s, "from", sel, v, &from, &ignored);
    if (time_read(s, "to", sel, v, &to, &ignored) && has_from && to <= from)
        verr_add(v, "selection.to", "must be after from");
    /* The archive cannot say what a mailbox will be: a later instant would change under it. */
    if (time_read(s, "as_of", NULL, v, &as_of, &in->as_of) && as_of > time(NULL))
        verr_add(v, "selection.as_of", "must not be in the future");
    if (jsonin_bool(s, "selection", "include_deleted", 0, v, &in->include_deleted) == JF_OK &&
        !cJSON_AddBoolToObject(sel, "include_deleted", in->include_deleted))
        v->nomem = true;
}

void api_selection_cleanup(struct api_selection *sel)
{
    cJSON_Delete(sel->json);
    sel->json = NULL;
}

enum mse_rc api_selection_mailbox_check(struct db *db, const char *address, struct verr *v)
{
    struct db_error err;
    bool known = false;
    enum mse_rc rc = db_archive_mailbox_known(db, address, &known, &err);
    if (rc == MSE_OK && !known)
        verr_add(v, "selection.mailbox", "names no archived mailbox");
    return rc;
}
