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

enum mse_rc sync_definition_from_json(enum sync_type type, const cJSON *s,
                                      struct sync_definition *out, struct mse_err *err)
{
    memset(out, 0, sizeof(*out));
    out->type = type;
    out->mail = out->all_classes = true;
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
out:
    if (rc != MSE_OK)
        sync_definition_cleanup(out);
    if (rc == MSE_ERR_NOMEM)
        snprintf(err->msg, sizeof(err->msg), "out of memory");
    return rc;
}
