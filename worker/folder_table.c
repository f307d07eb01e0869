/* SPDX-License-Identifier: Apache-2.0 */
/* The folder table: folders by id, their nesting, and the table as the hierarchy checkpoint. */
#include "folder_table.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mse/limits.h"

/* Checkpoint format version; another version is treated as no checkpoint. */
#define TABLE_VERSION 1

/* The table -------------------------------------------------------------------------------- */

void folder_was_cleanup(struct hfolder_was *w)
{
    free(w->parent_id);
    free(w->name);
    free(w->folder_class);
    free(w->path);
    memset(w, 0, sizeof(*w));
}

static void hfolder_cleanup(struct hfolder *f)
{
    free(f->id);
    free(f->parent_id);
    free(f->name);
    free(f->folder_class);
    free(f->path);
    folder_was_cleanup(&f->was);
    memset(f, 0, sizeof(*f));
}

void folder_table_cleanup(struct folder_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        hfolder_cleanup(&t->v[i]);
    free(t->v);
    free(t->index);
    free(t->state);
    free(t->root_id);
    free(t->deleted_id);
    free(t->calendar_id);
    memset(t, 0, sizeof(*t));
}

static uint64_t id_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* Slot of id in the index: its position, or the empty slot where it would go. */
static size_t *index_slot(const struct folder_table *t, const char *id)
{
    size_t i = (size_t)id_hash(id) & (t->index_cap - 1);
    while (t->index[i] != SIZE_MAX && strcmp(t->v[t->index[i]].id, id) != 0)
        i = (i + 1) & (t->index_cap - 1);
    return &t->index[i];
}

/* Rebuilds the index for the current entries, with room for at least `want` of them. */
static enum mse_rc index_rebuild(struct folder_table *t, size_t want)
{
    size_t cap = 64;
    while (cap < want * 2)
        cap *= 2;
    size_t *idx = malloc(cap * sizeof(*idx));
    if (!idx)
        return MSE_ERR_NOMEM;
    for (size_t i = 0; i < cap; i++)
        idx[i] = SIZE_MAX;
    free(t->index);
    t->index = idx;
    t->index_cap = cap;
    for (size_t i = 0; i < t->n; i++)
        *index_slot(t, t->v[i].id) = i;
    return MSE_OK;
}

struct hfolder *folder_table_find(const struct folder_table *t, const char *id)
{
    if (!id || !t->index)
        return NULL;
    size_t pos = *index_slot(t, id);
    return pos == SIZE_MAX ? NULL : &t->v[pos];
}

/* Appends a folder with this id (copied); NULL when out of memory or over the cap. */
struct hfolder *folder_table_add(struct folder_table *t, const char *id)
{
    if (t->n >= MSE_EWS_MAX_FOLDERS)
        return NULL;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        struct hfolder *v = realloc(t->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        t->v = v;
        t->cap = cap;
    }
    if ((t->n + 1) * 2 > t->index_cap && index_rebuild(t, t->n + 1) != MSE_OK)
        return NULL;
    struct hfolder *f = &t->v[t->n];
    memset(f, 0, sizeof(*f));
    f->total = -1;
    f->id = strdup(id);
    if (!f->id)
        return NULL;
    *index_slot(t, id) = t->n++;
    return f;
}

/* Drops dead entries and rebuilds the index. */
enum mse_rc folder_table_compact(struct folder_table *t)
{
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].dead)
            hfolder_cleanup(&t->v[i]);
        else
            t->v[w++] = t->v[i];
    }
    t->n = w;
    return index_rebuild(t, t->n);
}

enum mse_rc folder_str_set(char **dst, const char *src)
{
    char *copy = src ? strdup(src) : NULL;
    if (src && !copy)
        return MSE_ERR_NOMEM;
    free(*dst);
    *dst = copy;
    return MSE_OK;
}

bool folder_table_within(const struct folder_table *t, const struct hfolder *f, const char *id)
{
    for (int depth = 0; f && id && depth < FOLDER_MAX_DEPTH; depth++) {
        if (strcmp(f->id, id) == 0)
            return true;
        f = folder_table_find(t, f->parent_id);
        if (f && f->dead)
            return false;
    }
    return false;
}

/* Checkpoint encoding ---------------------------------------------------------------------- */

static cJSON *str_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static bool add_str(cJSON *o, const char *key, const char *v)
{
    cJSON *x = str_or_null(v);
    if (!x || !cJSON_AddItemToObject(o, key, x)) {
        cJSON_Delete(x);
        return false;
    }
    return true;
}

/* [id, parent, name, class, kind, replicated] */
static cJSON *folder_encode(const struct hfolder *f)
{
    cJSON *a = cJSON_CreateArray();
    cJSON *items[6] = { str_or_null(f->id),          str_or_null(f->parent_id),
                        str_or_null(f->name),        str_or_null(f->folder_class),
                        cJSON_CreateString(f->kind), cJSON_CreateBool(f->replicated) };
    for (int i = 0; i < 6; i++) {
        if (!a || !items[i] || !cJSON_AddItemToArray(a, items[i])) {
            for (int j = i; j < 6; j++)
                cJSON_Delete(items[j]);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

char *folder_table_encode(const struct folder_table *t)
{
    char *text = NULL;
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddNumberToObject(o, "v", TABLE_VERSION) &&
              add_str(o, "state", t->state) && add_str(o, "root", t->root_id) &&
              add_str(o, "deleteditems", t->deleted_id) && add_str(o, "calendar", t->calendar_id) &&
              (t->private_items < 0 ? cJSON_AddNullToObject(o, "private")
                                    : cJSON_AddBoolToObject(o, "private", t->private_items));
    cJSON *folders = ok ? cJSON_AddArrayToObject(o, "folders") : NULL;
    ok = folders != NULL;
    for (size_t i = 0; ok && i < t->n; i++) {
        if (t->v[i].dead)
            continue;
        cJSON *f = folder_encode(&t->v[i]);
        ok = f && cJSON_AddItemToArray(folders, f);
        if (!ok)
            cJSON_Delete(f);
    }
    if (ok)
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* A string member, NULL for null; false when the member is of another type. */
static bool get_str(const cJSON *o, const char *key, const char **out)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = cJSON_IsString(x) ? x->valuestring : NULL;
    return !x || cJSON_IsString(x) || cJSON_IsNull(x);
}

static enum mse_rc folder_decode(const cJSON *a, struct folder_table *t)
{
    const cJSON *x[6];
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 6)
        return MSE_ERR_INVALID;
    for (int i = 0; i < 6; i++)
        x[i] = cJSON_GetArrayItem(a, i);
    for (int i = 1; i < 4; i++) {
        if (!cJSON_IsString(x[i]) && !cJSON_IsNull(x[i]))
            return MSE_ERR_INVALID;
    }
    if (!cJSON_IsString(x[0]) || !cJSON_IsString(x[4]) || !cJSON_IsBool(x[5]) ||
        folder_table_find(t, x[0]->valuestring))
        return MSE_ERR_INVALID;
    struct hfolder *f = folder_table_add(t, x[0]->valuestring);
    if (!f)
        return MSE_ERR_NOMEM;
    snprintf(f->kind, sizeof(f->kind), "%s", x[4]->valuestring);
    f->replicated = cJSON_IsTrue(x[5]);
    if (folder_str_set(&f->parent_id, cJSON_IsString(x[1]) ? x[1]->valuestring : NULL) != MSE_OK ||
        folder_str_set(&f->name, cJSON_IsString(x[2]) ? x[2]->valuestring : NULL) != MSE_OK ||
        folder_str_set(&f->folder_class, cJSON_IsString(x[3]) ? x[3]->valuestring : NULL) != MSE_OK)
        return MSE_ERR_NOMEM;
    return MSE_OK;
}

enum mse_rc folder_table_decode(const char *text, struct folder_table *t)
{
    enum mse_rc rc = MSE_ERR_INVALID;
    cJSON *o = cJSON_Parse(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "v");
    const cJSON *folders = cJSON_GetObjectItemCaseSensitive(o, "folders");
    const char *state, *root, *del, *cal;
    if (!cJSON_IsObject(o) || !cJSON_IsNumber(v) || v->valueint != TABLE_VERSION ||
        !cJSON_IsArray(folders) || !get_str(o, "state", &state) || !get_str(o, "root", &root) ||
        !get_str(o, "deleteditems", &del) || !get_str(o, "calendar", &cal))
        goto out;
    const cJSON *priv = cJSON_GetObjectItemCaseSensitive(o, "private");
    if (priv && !cJSON_IsBool(priv) && !cJSON_IsNull(priv))
        goto out;
    t->private_items = cJSON_IsBool(priv) ? cJSON_IsTrue(priv) : -1;
    rc = MSE_ERR_NOMEM;
    if (folder_str_set(&t->state, state) != MSE_OK || folder_str_set(&t->root_id, root) != MSE_OK ||
        folder_str_set(&t->deleted_id, del) != MSE_OK ||
        folder_str_set(&t->calendar_id, cal) != MSE_OK)
        goto out;
    const cJSON *f;
    cJSON_ArrayForEach(f, folders)
    {
        rc = folder_decode(f, t);
        if (rc != MSE_OK)
            goto out;
    }
    rc = MSE_OK;
out:
    cJSON_Delete(o);
    if (rc != MSE_OK)
        folder_table_cleanup(t);
    return rc;
}
