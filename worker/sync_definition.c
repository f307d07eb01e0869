/* SPDX-License-Identifier: Apache-2.0 */
/* A definition's settings as the engine reads them, and the names of sync types and health. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mse/limits.h"
#include "sync.h"

/* Types and definitions -------------------------------------------------------------------- */

const char *sync_type_name(enum sync_type t)
{
    return t == SYNC_CALENDAR ? "calendar_replication" : "mailbox_folder_replication";
}

enum mse_rc sync_type_parse(const char *s, enum sync_type *out)
{
    if (s && strcmp(s, "mailbox_folder_replication") == 0)
        *out = SYNC_MFR;
    else if (s && strcmp(s, "calendar_replication") == 0)
        *out = SYNC_CALENDAR;
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

static enum mse_rc def_excludes(const cJSON *s, struct sync_definition *d, struct mse_err *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(s, "exclude_folders");
    if (!a || cJSON_IsNull(a))
        return MSE_OK;
    int n = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || n > 10000) {
        snprintf(err->msg, sizeof(err->msg), "exclude_folders must be a list of folder paths");
        return MSE_ERR_INVALID;
    }
    d->exclude_folders = calloc((size_t)n + 1, sizeof(char *));
    if (!d->exclude_folders)
        return MSE_ERR_NOMEM;
    const cJSON *p;
    cJSON_ArrayForEach(p, a)
    {
        if (!cJSON_IsString(p)) {
            snprintf(err->msg, sizeof(err->msg), "exclude_folders[%zu] must be a string",
                     d->n_exclude);
            return MSE_ERR_INVALID;
        }
        d->exclude_folders[d->n_exclude] = strdup(p->valuestring);
        if (!d->exclude_folders[d->n_exclude])
            return MSE_ERR_NOMEM;
        d->n_exclude++;
    }
    return MSE_OK;
}

enum mse_rc sync_definition_from_json(enum sync_type type, const cJSON *s,
                                      struct sync_definition *out, struct mse_err *err)
{
    memset(out, 0, sizeof(*out));
    out->type = type;
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
    rc = def_bool(s, "include_deleted_items", &out->include_deleted_items, err);
    if (rc == MSE_OK)
        rc = def_bool(s, "include_private_items", &out->include_private_items, err);
    if (rc == MSE_OK)
        rc = def_excludes(s, out, err);
out:
    if (rc != MSE_OK)
        sync_definition_cleanup(out);
    if (rc == MSE_ERR_NOMEM)
        snprintf(err->msg, sizeof(err->msg), "out of memory");
    return rc;
}
