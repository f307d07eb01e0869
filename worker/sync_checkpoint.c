/* SPDX-License-Identifier: Apache-2.0 */
/* The stored checkpoints of a mailbox: the hierarchy's and one per folder, and their JSON. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "mse/limits.h"
#include "sync.h"

void sync_checkpoints_cleanup(struct sync_checkpoints *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].folder_id);
        free(c->v[i].value);
    }
    free(c->v);
    free(c->hierarchy);
    memset(c, 0, sizeof(*c));
}

static struct sync_checkpoint *checkpoint_find(const struct sync_checkpoints *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].folder_id, id) == 0)
            return &c->v[i];
    }
    return NULL;
}

const char *sync_checkpoints_get(const struct sync_checkpoints *c, const char *folder_id)
{
    if (!folder_id)
        return c->hierarchy;
    const struct sync_checkpoint *cp = checkpoint_find(c, folder_id);
    return cp ? cp->value : NULL;
}

enum mse_rc sync_checkpoints_set(struct sync_checkpoints *c, const char *folder_id,
                                 const char *value)
{
    char *copy = value ? strdup(value) : NULL;
    if (value && !copy)
        return MSE_ERR_NOMEM;
    if (!folder_id) {
        free(c->hierarchy);
        c->hierarchy = copy;
        return MSE_OK;
    }
    struct sync_checkpoint *cp = checkpoint_find(c, folder_id);
    if (cp && !copy) { /* removal: the last entry fills the hole */
        free(cp->folder_id);
        free(cp->value);
        *cp = c->v[--c->n];
        return MSE_OK;
    }
    if (cp) {
        free(cp->value);
        cp->value = copy;
        return MSE_OK;
    }
    if (!copy)
        return MSE_OK;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct sync_checkpoint *v = realloc(c->v, cap * sizeof(*v));
        if (!v) {
            free(copy);
            return MSE_ERR_NOMEM;
        }
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n].folder_id = strdup(folder_id);
    if (!c->v[c->n].folder_id) {
        free(copy);
        return MSE_ERR_NOMEM;
    }
    c->v[c->n++].value = copy;
    return MSE_OK;
}

enum mse_rc sync_checkpoints_from_json(const cJSON *j, struct sync_checkpoints *out,
                                       struct mse_err *err)
{
    memset(out, 0, sizeof(*out));
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "hierarchy");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "folders");
    if (!cJSON_IsObject(j) || (h && !cJSON_IsString(h) && !cJSON_IsNull(h)) ||
        (f && !cJSON_IsObject(f) && !cJSON_IsNull(f))) {
        snprintf(err->msg, sizeof(err->msg),
                 "checkpoints must be {\"hierarchy\": string|null, \"folders\": {id: string}}");
        return MSE_ERR_INVALID;
    }
    enum mse_rc rc = MSE_OK;
    if (cJSON_IsString(h))
        rc = sync_checkpoints_set(out, NULL, h->valuestring);
    const cJSON *folders = cJSON_IsObject(f) ? f : NULL;
    const cJSON *e;
    cJSON_ArrayForEach(e, folders)
    {
        if (rc != MSE_OK)
            break;
        if (!cJSON_IsString(e)) {
            snprintf(err->msg, sizeof(err->msg), "the checkpoint of folder %.100s is not a string",
                     e->string);
            rc = MSE_ERR_INVALID;
            break;
        }
        rc = sync_checkpoints_set(out, e->string, e->valuestring);
    }
    if (rc != MSE_OK)
        sync_checkpoints_cleanup(out);
    if (rc == MSE_ERR_NOMEM)
        snprintf(err->msg, sizeof(err->msg), "out of memory");
    return rc;
}

cJSON *sync_checkpoints_to_json(const struct sync_checkpoints *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *h = c->hierarchy ? cJSON_CreateString(c->hierarchy) : cJSON_CreateNull();
    cJSON *f = cJSON_CreateObject();
    bool ok = o && h && f && cJSON_AddItemToObject(o, "hierarchy", h);
    if (!ok)
        cJSON_Delete(h);
    ok = ok && cJSON_AddItemToObject(o, "folders", f);
    if (!ok)
        cJSON_Delete(f);
    for (size_t i = 0; ok && i < c->n; i++)
        ok = cJSON_AddStringToObject(f, c->v[i].folder_id, c->v[i].value) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
