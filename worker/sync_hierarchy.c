/* SPDX-License-Identifier: Apache-2.0 */
/* The folder hierarchy: its sync into the folder table, the replicated view, and its batch. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ews_folder.h"
#include "mse/limits.h"
#include "sync_batch.h"
#include "sync_hierarchy.h"
#include "sync_json.h"
#include "sync_source.h"

/* SyncFolderHierarchy pages read in one pass before giving up. */
#define HIERARCHY_MAX_PAGES 1000

static const char *const hierarchy_fields[] = { "folder:DisplayName", "folder:FolderClass",
                                                "folder:ParentFolderId", "folder:TotalCount" };

/* Paths ------------------------------------------------------------------------------------ */

/* "/A/B/C" from the live parents of f (a parent outside the table is the top). */
static char *path_of(const struct folder_table *t, const struct hfolder *f)
{
    const struct hfolder *chain[FOLDER_MAX_DEPTH];
    size_t n = 0;
    for (const struct hfolder *p = f; p && !p->dead && n < FOLDER_MAX_DEPTH;
         p = folder_table_find(t, p->parent_id))
        chain[n++] = p;
    struct mse_buf b;
    mse_buf_init(&b, 64 * 1024);
    enum mse_rc rc = MSE_OK;
    for (size_t i = n; rc == MSE_OK && i > 0; i--)
        rc = mse_buf_printf(&b, "/%s", chain[i - 1]->name ? chain[i - 1]->name : "");
    char *out = NULL;
    if (rc == MSE_OK && mse_buf_take(&b, &out, NULL) != MSE_OK)
        out = NULL;
    mse_buf_cleanup(&b);
    return out;
}

static enum mse_rc paths_compute(struct folder_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        struct hfolder *f = &t->v[i];
        free(f->path);
        f->path = f->dead ? NULL : path_of(t, f);
        if (!f->dead && !f->path)
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

/* Remembers what every folder looked like before the pass changes anything. */
static enum mse_rc snapshot_take(struct folder_table *t)
{
    enum mse_rc rc = paths_compute(t);
    for (size_t i = 0; rc == MSE_OK && i < t->n; i++) {
        struct hfolder *f = &t->v[i];
        folder_was_cleanup(&f->was);
        f->was.replicated = f->replicated;
        if (!f->replicated)
            continue;
        if (folder_str_set(&f->was.parent_id, f->parent_id) != MSE_OK ||
            folder_str_set(&f->was.name, f->name) != MSE_OK ||
            folder_str_set(&f->was.folder_class, f->folder_class) != MSE_OK ||
            folder_str_set(&f->was.path, f->path) != MSE_OK)
            rc = MSE_ERR_NOMEM;
    }
    return rc;
}

/* The hierarchy sync ----------------------------------------------------------------------- */

static enum mse_rc change_apply(struct folder_table *t, const struct ews_folder_change *ch)
{
    const struct ews_folder *src = &ch->folder;
    if (!src->id)
        return MSE_OK;
    struct hfolder *f = folder_table_find(t, src->id);
    if (ch->type == EWS_CHANGE_DELETE) {
        if (f)
            f->dead = true;
        return MSE_OK;
    }
    if (!f && !(f = folder_table_add(t, src->id)))
        return t->n >= MSE_EWS_MAX_FOLDERS ? MSE_ERR_TOO_LARGE : MSE_ERR_NOMEM;
    f->dead = false;
    f->total = src->total_count;
    snprintf(f->kind, sizeof(f->kind), "%s", src->kind);
    if (folder_str_set(&f->parent_id, src->parent_id) != MSE_OK ||
        folder_str_set(&f->name, src->display_name) != MSE_OK ||
        folder_str_set(&f->folder_class, src->folder_class) != MSE_OK)
        return MSE_ERR_NOMEM;
    return MSE_OK;
}

/* Children of folders deleted this pass go with them (EWS may report only the top one). */
static void orphans_bury(struct folder_table *t)
{
    bool changed = true;
    for (int round = 0; changed && round < FOLDER_MAX_DEPTH; round++) {
        changed = false;
        for (size_t i = 0; i < t->n; i++) {
            struct hfolder *f = &t->v[i];
            struct hfolder *p = f->dead ? NULL : folder_table_find(t, f->parent_id);
            if (p && p->dead) {
                f->dead = true;
                changed = true;
            }
        }
    }
}

/* Learns msgfolderroot, deleteditems and calendar ids (once; kept in the checkpoint). */
static enum mse_rc distinguished_learn(struct sync_ctx *c)
{
    static const char *const ids[] = { "msgfolderroot", "deleteditems", "calendar" };
    struct ews_get_folders_args a = { ids, 3, NULL, 0 };
    struct ews_get_folders res = { 0 };
    struct ews_reply reply;
    struct mse_err err;
    enum mse_rc rc = sync_source_get_folders(c, &a, &res, &reply, &err);
    if (rc != MSE_OK) {
        rc = sync_fail_ews(c, rc, &reply, &err);
        goto out;
    }
    rc = MSE_ERR_UNAVAILABLE;
    if (!res.v[0].folder.id) {
        rc = sync_fail(c, rc, "ews_mailbox_not_found", "the mailbox has no folder root (%s)",
                       res.v[0].status.code);
        goto out;
    }
    rc = MSE_ERR_NOMEM;
    if (folder_str_set(&c->table.root_id, res.v[0].folder.id) != MSE_OK ||
        folder_str_set(&c->table.deleted_id, res.v[1].folder.id) != MSE_OK ||
        folder_str_set(&c->table.calendar_id, res.v[2].folder.id) != MSE_OK) {
        rc = sync_fail(c, rc, "internal", "out of memory");
        goto out;
    }
    rc = MSE_OK;
out:
    ews_get_folders_cleanup(&res);
    return rc;
}

/* Applies one page; false and a failed pass when it cannot. */
static enum mse_rc page_apply(struct sync_ctx *c, const struct ews_hierarchy_page *p)
{
    for (size_t i = 0; i < p->n; i++) {
        enum mse_rc rc = change_apply(&c->table, &p->v[i]);
        if (rc == MSE_ERR_TOO_LARGE)
            return sync_fail(c, rc, "too_many_folders", "the mailbox has more than %u folders",
                             MSE_EWS_MAX_FOLDERS);
        if (rc != MSE_OK)
            return sync_fail(c, rc, "internal", "out of memory");
    }
    return folder_str_set(&c->table.state, p->sync_state) == MSE_OK
                   ? MSE_OK
                   : sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
}

/* Starts the hierarchy over: every folder counts as gone until the new listing names it. */
static void hierarchy_reset(struct sync_ctx *c)
{
    for (size_t i = 0; i < c->table.n; i++)
        c->table.v[i].dead = true;
    free(c->table.state);
    c->table.state = NULL;
    c->out->resyncs++;
    sync_warn(c, "sync_state_reset",
              "the folder hierarchy's sync state was refused; it was read again from scratch");
}

/* Runs SyncFolderHierarchy until the last page, starting over once if the state is refused. */
static enum mse_rc hierarchy_fetch(struct sync_ctx *c)
{
    for (int pages = 0; pages < HIERARCHY_MAX_PAGES; pages++) {
        struct ews_sync_hierarchy_args a = { "msgfolderroot", c->table.state, hierarchy_fields,
                                             sizeof(hierarchy_fields) / sizeof(char *) };
        struct ews_hierarchy_page p = { 0 };
        struct ews_reply reply;
        struct mse_err err;
        enum mse_rc rc = sync_source_hierarchy(c, &a, &p, &reply, &err);
        if (rc == MSE_OK && reply.policy.action == EWS_ACT_RESYNC && c->table.state) {
            hierarchy_reset(c);
        } else if (rc == MSE_OK && reply.policy.action != EWS_ACT_OK) {
            rc = sync_fail(c, MSE_ERR_UNAVAILABLE, reply.policy.reason,
                           "SyncFolderHierarchy: %s %s", reply.status.code, reply.status.text);
        } else if (rc != MSE_OK) {
            rc = sync_fail_ews(c, rc, &reply, &err);
        } else {
            rc = page_apply(c, &p);
            if (rc == MSE_OK && p.includes_last) {
                ews_hierarchy_page_cleanup(&p);
                return MSE_OK;
            }
        }
        ews_hierarchy_page_cleanup(&p);
        if (rc != MSE_OK)
            return rc;
    }
    return sync_fail(c, MSE_ERR_UNAVAILABLE, "ews_bad_response",
                     "SyncFolderHierarchy did not finish after %d pages", HIERARCHY_MAX_PAGES);
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Adds the upserts and deletions that turn the old view into the new one. */
static enum mse_rc view_diff(struct sync_ctx *c, cJSON *batch, uint64_t *records)
{
    for (size_t i = 0; i < c->table.n; i++) {
        struct hfolder *f = &c->table.v[i];
        cJSON *rec = NULL;
        bool now = !f->dead && f->replicated;
        if (now && (!f->was.replicated || !str_eq(f->parent_id, f->was.parent_id) ||
                    !str_eq(f->name, f->was.name) ||
                    !str_eq(f->folder_class, f->was.folder_class) || !str_eq(f->path, f->was.path)))
            rec = sync_json_folder(f->id, f->parent_id, f->name, f->folder_class, f->path);
        else if (!now && f->was.replicated)
            rec = sync_json_tombstone("folder_id", f->id, "delete");
        else
            continue;
        if (!sync_batch_add(batch, "folders", rec))
            return MSE_ERR_NOMEM;
        (*records)++;
    }
    return MSE_OK;
}

/* Sets each folder's replicated flag by the feature and definition. */
static void view_select(struct sync_ctx *c)
{
    for (size_t i = 0; i < c->table.n; i++) {
        struct hfolder *f = &c->table.v[i];
        f->replicated = !f->dead && c->feature->folder_replicated(c, f);
    }
}

/* Folders that left the replica lose their item checkpoints, as the server drops them. */
static enum mse_rc checkpoints_forget(struct sync_ctx *c)
{
    for (size_t i = 0; i < c->table.n; i++) {
        const struct hfolder *f = &c->table.v[i];
        if ((f->dead || !f->replicated) && sync_checkpoints_get(c->job->checkpoints, f->id) &&
            sync_checkpoints_set(c->job->checkpoints, f->id, NULL) != MSE_OK)
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

/*
 * True when the table differs from the stored checkpoint in its EWS state alone: then the old
 * checkpoint is still good (EWS states are cumulative) and nothing needs storing.
 */
static bool only_state_moved(struct sync_ctx *c, const char *base, const char *old_state)
{
    char *now = c->table.state;
    c->table.state = (char *)old_state;
    char *text = folder_table_encode(&c->table);
    c->table.state = now;
    bool same = text && strcmp(text, base) == 0;
    free(text);
    return same;
}

/*
 * Builds and submits the hierarchy batch when anything changed. It always carries the whole
 * difference between the old and new replicated views, so it never needs "reset".
 */
static enum mse_rc hierarchy_submit(struct sync_ctx *c, const char *base, const char *old_state)
{
    uint64_t records = 0;
    char *next = folder_table_encode(&c->table);
    cJSON *batch = NULL;
    enum mse_rc rc = MSE_ERR_NOMEM;
    if (!next)
        goto out;
    if (strlen(next) > MSE_CHECKPOINT_MAX) {
        rc = sync_fail(c, MSE_ERR_TOO_LARGE, "too_many_folders",
                       "the folder hierarchy does not fit in a checkpoint");
        goto out;
    }
    batch = sync_batch_new(c, "hierarchy", NULL, base, next, true, false);
    if (!batch || view_diff(c, batch, &records) != MSE_OK)
        goto out;
    rc = MSE_OK;
    if (records || !base || !only_state_moved(c, base, old_state)) {
        rc = sync_batch_submit(c, batch, NULL, next);
        if (rc == MSE_OK)
            c->out->folders += records;
    }
out:
    if (rc == MSE_ERR_NOMEM)
        rc = sync_fail(c, rc, "internal", "out of memory");
    cJSON_Delete(batch);
    free(next);
    return rc;
}

/*
 * A replica built with other item filters (include_private_items) cannot be patched by later
 * changes alone: every folder is read again, and the new enumeration removes what no longer
 * belongs. Only mailbox folder replication filters items.
 */
static void item_filters_check(struct sync_ctx *c)
{
    int want = c->job->def->type == SYNC_MFR ? c->job->def->include_private_items : -1;
    if (c->table.private_items >= 0 && want >= 0 && c->table.private_items != want) {
        c->reread_items = true;
        sync_warn(c, "definition_changed",
                  "include_private_items changed; every folder was read again");
    }
    c->table.private_items = want;
}

enum mse_rc sync_hierarchy_run(struct sync_ctx *c)
{
    const char *base = c->job->checkpoints->hierarchy;
    c->out->full = base == NULL;
    c->table.private_items = -1;
    if (base && folder_table_decode(base, &c->table) != MSE_OK) {
        /* Not ours (another version, damaged): read everything again, diffing from nothing. */
        folder_table_cleanup(&c->table);
        c->table.private_items = -1;
        sync_warn(c, "checkpoint_unreadable",
                  "the stored hierarchy checkpoint could not be read; the hierarchy was read "
                  "again from scratch");
    }
    item_filters_check(c);
    sync_progress(c, "Replicating folders", "Reading the folder hierarchy");
    if (snapshot_take(&c->table) != MSE_OK)
        return sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    enum mse_rc rc = MSE_OK;
    if (!c->table.root_id)
        rc = distinguished_learn(c);
    char *old_state = NULL;
    if (rc == MSE_OK && c->table.state && !(old_state = strdup(c->table.state)))
        rc = sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    if (rc == MSE_OK)
        rc = hierarchy_fetch(c);
    if (rc != MSE_OK) {
        free(old_state);
        return rc;
    }
    orphans_bury(&c->table);
    if (paths_compute(&c->table) != MSE_OK) {
        free(old_state);
        return sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    }
    view_select(c);
    rc = hierarchy_submit(c, base, old_state);
    free(old_state);
    if (rc == MSE_OK && checkpoints_forget(c) != MSE_OK)
        rc = sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    if (rc == MSE_OK && folder_table_compact(&c->table) != MSE_OK)
        rc = sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    return rc;
}

enum mse_rc sync_hierarchy_read(struct sync_ctx *c)
{
    enum mse_rc rc = distinguished_learn(c);
    if (rc == MSE_OK)
        rc = hierarchy_fetch(c);
    if (rc != MSE_OK)
        return rc;
    orphans_bury(&c->table);
    return paths_compute(&c->table) == MSE_OK
                   ? MSE_OK
                   : sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
}
