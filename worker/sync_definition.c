/* SPDX-License-Identifier: Apache-2.0 */
/* A definition's settings as the engine reads them, and the names of sync types and health. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mse/limits.h"
#include "sync.h"

/* Types and definitions -------------------------------------------------------------------- */

const char *sync_type_name(enum sync_type t)
{
    return t == SYNC_CALENDAR  ? "calendar_replication"
           : t == SYNC_RECOVER ? "sync_recover"
           : t == SYNC_STORAGE ? "mailbox_storage_management"
                               : "mailbox_folder_replication";
}

enum mse_rc sync_type_parse(const char *s, enum sync_type *out)
{
    if (s && strcmp(s, "mailbox_folder_replication") == 0)
        *out = SYNC_MFR;
    else if (s && strcmp(s, "calendar_replication") == 0)
        *out = SYNC_CALENDAR;
    else if (s && strcmp(s, "sync_recover") == 0)
        *out = SYNC_RECOVER;
    else if (s && strcmp(s, "mailbox_storage_management") == 0)
        *out = SYNC_STORAGE;
    else
        return MSE_ERR_INVALID;
    return MSE_OK;
}

const char *sync_health_name(enum sync_health h)
{
    return h == SYNC_HEALTHY ? "healthy" : h == SYNC_WARNING ? "warning" : "error";
}

void sync_definition_cleanup(struct sync_definition *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_exclude; i++)
        free(d->exclude_folders[i]);
    free(d->exclude_folders);
    d->exclude_folders = NULL;
    d->n_exclude = 0;
    for (size_t i = 0; i < d->n_classes; i++)
        free(d->message_classes[i]);
    free(d->message_classes);
    d->message_classes = NULL;
    d->n_classes = 0;
    for (size_t i = 0; i < d->n_folders; i++)
        free(d->folders[i]);
    free(d->folders);
    d->folders = NULL;
    d->n_folders = 0;
}

bool sync_definition_runnable(const struct sync_definition *d, bool report_only, char *why,
                              size_t size)
{
    if (d->type != SYNC_STORAGE || report_only || strcmp(d->action, "message_delete") == 0)
        return true;
    snprintf(why, size,
             "%s is not available on this worker version (%s); a report-only run previews it",
             d->action, MSE_VERSION);
    return false;
}

bool sync_definition_needs_attachments(const struct sync_definition *d)
{
    return strcmp(d->action, "attachment_stub") == 0 ||
           strcmp(d->action, "attachment_link_stub") == 0;
}

bool sync_definition_class_selected(const struct sync_definition *d, const char *item_class)
{
    if (d->all_classes)
        return true;
    if (!item_class)
        return false;
    for (size_t i = 0; i < d->n_classes; i++) {
        size_t n = strlen(d->message_classes[i]);
        if (strncasecmp(item_class, d->message_classes[i], n) == 0 &&
            (item_class[n] == '\0' || item_class[n] == '.'))
            return true;
    }
    return false;
}

static enum mse_rc def_bool(const cJSON *s, const char *key, bool *out, struct mse_err *err)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(s, key);
    if (!x || cJSON_IsNull(x))
        return MSE_OK;
    if (!cJSON_IsBool(x)) {
        snprintf(err->msg, sizeof(err->msg), "%s must be true or false", key);
        return MSE_ERR_INVALID;
    }
    *out = cJSON_IsTrue(x);
    return MSE_OK;
}

/* A list of strings (exclude_folders, message_classes) into *v; absent or null: *present false. */
static enum mse_rc def_strings(const cJSON *s, const char *key, char ***v, size_t *n, bool *present,
                               struct mse_err *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(s, key);
    *present = a && !cJSON_IsNull(a);
    if (!*present)
        return MSE_OK;
    int count = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || count > 10000) {
        snprintf(err->msg, sizeof(err->msg), "%s must be a list of strings", key);
        return MSE_ERR_INVALID;
    }
    *v = calloc((size_t)count + 1, sizeof(char *));
    if (!*v)
        return MSE_ERR_NOMEM;
    const cJSON *p;
    cJSON_ArrayForEach(p, a)
    {
        if (!cJSON_IsString(p)) {
            snprintf(err->msg, sizeof(err->msg), "%s[%zu] must be a string", key, *n);
            return MSE_ERR_INVALID;
        }
        (*v)[*n] = strdup(p->valuestring);
        if (!(*v)[*n])
            return MSE_ERR_NOMEM;
        (*n)++;
    }
    return MSE_OK;
}

/* A sync task's settings: {"mail", "calendars", "message_classes", "include_sensitive"}. */
static enum mse_rc def_recover(const cJSON *s, struct sync_definition *d, struct mse_err *err)
{
    bool listed;
    d->mail = true;
    enum mse_rc rc = def_bool(s, "mail", &d->mail, err);
    if (rc == MSE_OK)
        rc = def_bool(s, "calendars", &d->calendars, err);
    if (rc == MSE_OK)
        rc = def_bool(s, "include_sensitive", &d->include_sensitive, err);
    if (rc == MSE_OK)
        rc = def_strings(s, "message_classes", &d->message_classes, &d->n_classes, &listed, err);
    /* The server always sends the effective list; without one nothing is left out. */
    d->all_classes = rc == MSE_OK && !listed;
    return rc;
}

static enum mse_rc def_int(const cJSON *s, const char *key, int64_t min, int64_t max, int64_t *out,
                           struct mse_err *err)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(s, key);
    if (!x || cJSON_IsNull(x))
        return MSE_OK;
    if (!cJSON_IsNumber(x) || x->valuedouble < (double)min || x->valuedouble > (double)max ||
        x->valuedouble != (double)(int64_t)x->valuedouble) {
        snprintf(err->msg, sizeof(err->msg), "%s must be an integer from %lld to %lld", key,
                 (long long)min, (long long)max);
        return MSE_ERR_INVALID;
    }
    *out = (int64_t)x->valuedouble;
    return MSE_OK;
}

/*
 * A storage management definition's settings: {"action", "older_than_days", "min_size_kb",
 * "folders": "all" | [paths], "exclude_folders", "hard_delete"}.
 */
static enum mse_rc def_storage(const cJSON *s, struct sync_definition *d, struct mse_err *err)
{
    static const char *const actions[] = { "message_delete", "full_message_stub", "attachment_stub",
                                           "attachment_link_stub" };
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(s, "action");
    for (size_t i = 0; cJSON_IsString(a) && i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcmp(a->valuestring, actions[i]) == 0)
            snprintf(d->action, sizeof(d->action), "%s", actions[i]);
    if (!d->action[0]) {
        snprintf(err->msg, sizeof(err->msg),
                 "action must be one of message_delete, "
                 "full_message_stub, attachment_stub, "
                 "attachment_link_stub");
        return MSE_ERR_INVALID;
    }
    /* Without an age nothing is old enough: a missing value must not mean "everything". */
    d->older_than_days = -1;
    enum mse_rc rc = def_int(s, "older_than_days", 1, 36500, &d->older_than_days, err);
    if (rc == MSE_OK && d->older_than_days < 0) {
        snprintf(err->msg, sizeof(err->msg), "older_than_days is required");
        rc = MSE_ERR_INVALID;
    }
    if (rc == MSE_OK)
        rc = def_int(s, "min_size_kb", 0, 2097152, &d->min_size_kb, err);
    if (rc == MSE_OK)
        rc = def_bool(s, "hard_delete", &d->hard_delete, err);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(s, "folders");
    bool listed;
    if (rc == MSE_OK && !(cJSON_IsString(f) && strcmp(f->valuestring, "all") == 0))
        rc = def_strings(s, "folders", &d->folders, &d->n_folders, &listed, err);
    return rc;
}

enum mse_rc sync_definition_from_json(enum sync_type type, const cJSON *s,
                                      struct sync_definition *out, struct mse_err *err)
{
    memset(out, 0, sizeof(*out));
    out->type = type;
    out->mail = out->all_classes = true;
    if (!s && type == SYNC_STORAGE) {
        snprintf(err->msg, sizeof(err->msg), "a storage management definition needs settings");
        return MSE_ERR_INVALID;
    }
    if (!s)
        return MSE_OK;
    enum mse_rc rc = MSE_ERR_INVALID;
    if (!cJSON_IsObject(s)) {
        snprintf(err->msg, sizeof(err->msg), "the definition settings must be an object");
        goto out;
    }
    const cJSON *cal = cJSON_GetObjectItemCaseSensitive(s, "include_calendars");
    if (cal && !(cJSON_IsString(cal) && (strcmp(cal->valuestring, "default") == 0 ||
                                         strcmp(cal->valuestring, "all") == 0))) {
        snprintf(err->msg, sizeof(err->msg), "include_calendars must be \"default\" or \"all\"");
        goto out;
    }
    out->all_calendars = cal && strcmp(cal->valuestring, "all") == 0;
    bool listed;
    rc = def_bool(s, "include_deleted_items", &out->include_deleted_items, err);
    if (rc == MSE_OK)
        rc = def_bool(s, "include_private_items", &out->include_private_items, err);
    if (rc == MSE_OK)
        rc = def_strings(s, "exclude_folders", &out->exclude_folders, &out->n_exclude, &listed,
                         err);
    if (rc == MSE_OK && type == SYNC_RECOVER)
        rc = def_recover(s, out, err);
    if (rc == MSE_OK && type == SYNC_STORAGE)
        rc = def_storage(s, out, err);
out:
    if (rc != MSE_OK)
        sync_definition_cleanup(out);
    if (rc == MSE_ERR_NOMEM)
        snprintf(err->msg, sizeof(err->msg), "out of memory");
    return rc;
}
