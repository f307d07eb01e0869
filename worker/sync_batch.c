/* SPDX-License-Identifier: Apache-2.0 */
/* Batches: building one, handing it to the sink, and the folder batch submitted on a thread. */
#include "sync_batch.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"

/* Batches ---------------------------------------------------------------------------------- */

cJSON *sync_batch_new(struct sync_ctx *c, const char *scope, const char *folder_id,
                      const char *base, const char *next, bool complete, bool reset)
{
    char id[MSE_UUID_STR_LEN + 1];
    mse_uuid_new(id);
    cJSON *b = cJSON_CreateObject();
    cJSON *fid = folder_id ? cJSON_CreateString(folder_id) : cJSON_CreateNull();
    cJSON *bc = base ? cJSON_CreateString(base) : cJSON_CreateNull();
    bool ok = b && fid && bc && cJSON_AddStringToObject(b, "batch_id", id) &&
              cJSON_AddStringToObject(b, "mailbox", c->job->mailbox) &&
              cJSON_AddStringToObject(b, "scope", scope);
    ok = ok && cJSON_AddItemToObject(b, "folder_id", fid);
    if (!ok)
        cJSON_Delete(fid);
    bool ok2 = ok && cJSON_AddItemToObject(b, "base_checkpoint", bc);
    if (!ok2)
        cJSON_Delete(bc);
    ok = ok2 && cJSON_AddStringToObject(b, "new_checkpoint", next) &&
         cJSON_AddBoolToObject(b, "complete", complete) &&
         cJSON_AddBoolToObject(b, "reset", reset) && cJSON_AddArrayToObject(b, "folders") &&
         cJSON_AddArrayToObject(b, "items") && cJSON_AddArrayToObject(b, "appointments");
    if (!ok) {
        cJSON_Delete(b);
        return NULL;
    }
    return b;
}

bool sync_batch_add(cJSON *batch, const char *array, cJSON *rec)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(batch, array);
    if (!rec || !a || !cJSON_AddItemToArray(a, rec)) {
        cJSON_Delete(rec);
        return false;
    }
    return true;
}

/* Takes the sink's answer to a batch (see sync_batch_submit). */
static enum mse_rc submit_taken(struct sync_ctx *c, enum mse_rc rc, const struct mse_err *err,
                                const char *folder_id, const char *next)
{
    if (rc == MSE_ERR_CONFLICT)
        return sync_fail(c, rc, "checkpoint_conflict",
                         "the stored checkpoint changed under this pass: %s", err->msg);
    if (rc != MSE_OK)
        return sync_fail(c, rc, "submit_failed", "a batch could not be stored: %s", err->msg);
    c->out->batches++;
    if (sync_checkpoints_set(c->job->checkpoints, folder_id, next) != MSE_OK)
        return sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    return MSE_OK;
}

enum mse_rc sync_batch_submit(struct sync_ctx *c, cJSON *batch, const char *folder_id,
                              const char *next)
{
    struct mse_err err = { { 0 } };
    const struct sync_sink *s = c->job->sink;
    enum mse_rc rc = sync_submit_wait(c);
    if (rc == MSE_OK)
        rc = submit_taken(c, s->submit(s->ctx, batch, &err), &err, folder_id, next);
    return rc;
}

/* Submissions on their own thread ---------------------------------------------------------- */

static void *submit_thread(void *arg)
{
    struct sync_submission *sub = arg;
    const struct sync_sink *s = sub->c->job->sink;
    sub->rc = s->submit(s->ctx, sub->batch, &sub->err);
    return NULL;
}

static void submission_clear(struct sync_submission *sub)
{
    cJSON_Delete(sub->batch);
    free(sub->next);
    sub->batch = NULL;
    sub->next = NULL;
    sub->active = false;
}

enum mse_rc sync_submit_wait(struct sync_ctx *c)
{
    struct sync_submission *sub = &c->sub;
    if (!sub->active)
        return MSE_OK;
    pthread_join(sub->thread, NULL);
    sub->active = false; /* before the progress report below, which uses the sink */
    enum mse_rc rc = submit_taken(c, sub->rc, &sub->err, sub->f->id, sub->next);
    if (rc == MSE_OK)
        sync_folder_progress(c, sub->f, sub->done, sub->full);
    submission_clear(sub);
    return rc;
}

/*
 * Submits a folder batch (taken) after the one before it was accepted, its base being what
 * that one stored: on a thread of its own when the pass has a pool (collected by
 * sync_submit_wait), else at once.
 */
enum mse_rc sync_batch_submit_folder(struct sync_ctx *c, cJSON *batch, const struct hfolder *f,
                                     const char *next, uint64_t done, bool full)
{
    struct sync_submission *sub = &c->sub;
    enum mse_rc rc = sync_submit_wait(c);
    const char *base = sync_checkpoints_get(c->job->checkpoints, f->id);
    cJSON *bc = base ? cJSON_CreateString(base) : cJSON_CreateNull();
    if (rc == MSE_OK &&
        (!bc || !cJSON_ReplaceItemInObjectCaseSensitive(batch, "base_checkpoint", bc))) {
        cJSON_Delete(bc);
        rc = sync_fail(c, MSE_ERR_NOMEM, "internal", "out of memory");
    } else if (rc != MSE_OK) {
        cJSON_Delete(bc);
    }
    if (rc == MSE_OK && c->pool) {
        *sub = (struct sync_submission){
            .c = c, .batch = batch, .f = f, .next = strdup(next), .done = done, .full = full
        };
        if (sub->next && pthread_create(&sub->thread, NULL, submit_thread, sub) == 0) {
            sub->active = true;
            return MSE_OK;
        }
        free(sub->next);
        *sub = (struct sync_submission){ 0 }; /* no thread: submitted at once below */
    }
    if (rc == MSE_OK)
        rc = sync_batch_submit(c, batch, f->id, next);
    if (rc == MSE_OK)
        sync_folder_progress(c, f, done, full);
    cJSON_Delete(batch);
    return rc;
}
