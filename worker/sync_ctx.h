/* SPDX-License-Identifier: Apache-2.0 */
/* The state of one pass that the engine's modules share: context, features, outcome helpers. */
#ifndef MSE_SYNC_CTX_H
#define MSE_SYNC_CTX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ews_sync.h"
#include "folder_table.h"
#include "log.h"
#include "sync.h"

struct cJSON;
struct ews_pool;
struct sync_ctx;

/* What becomes of a created or updated item. */
enum item_verdict {
    ITEM_KEEP,   /* fetch what the sync lacks, replicate */
    ITEM_SKIP,   /* not part of this replica (another item type, or private) */
    ITEM_REMOVE, /* must leave the replica (it became private): a "remove" record */
};

/* What differs between mailbox folder replication and calendar replication. */
struct sync_feature {
    const char *command;            /* progress command while reading items */
    const char *unit;               /* "items" / "appointments" (progress) */
    const char *array;              /* batch array the records go to */
    const char *const *sync_fields; /* SyncFolderItems AdditionalProperties */
    size_t n_sync_fields;
    const char *const *get_fields; /* GetItem AdditionalProperties (what the sync lacks) */
    size_t n_get_fields;
    bool read_flags; /* ReadFlagChange records are replicated */
    bool mime;       /* GetItem streams each item's MIME content, stored before the batch */
    /* Folder is part of this replica (hierarchy view). */
    bool (*folder_replicated)(const struct sync_ctx *c, const struct hfolder *f);
    /* Folder's items are read (a subset of the replicated folders). */
    bool (*folder_has_items)(const struct sync_ctx *c, const struct hfolder *f);
    /*
     * Decides a created/updated item from what SyncFolderItems sent. ITEM_REMOVE for a created
     * item is taken as ITEM_SKIP (it was never in the replica).
     */
    enum item_verdict (*classify)(const struct sync_ctx *c, const struct ews_item *it);
    /* Builds the upsert record for a complete item (may call EWS and the sink). */
    enum mse_rc (*record)(struct sync_ctx *c, struct ews_item *it, const char *folder_id,
                          struct cJSON **out);
    /*
     * Optional: the feature that reads this folder's items, when a pass mixes kinds (sync &
     * recover reads mail folders as messages and the calendar as appointments).
     */
    const struct sync_feature *(*for_folder)(const struct sync_ctx *c, const struct hfolder *f);
};

extern const struct sync_feature sync_feature_mfr;
extern const struct sync_feature sync_feature_calendar;
/* Sync & Recover: the pass's feature (sync_recover.c). */
const struct sync_feature *sync_feature_recover(void);

/* The feature that reads f's items. */
static inline const struct sync_feature *sync_feature_of(const struct sync_ctx *c,
                                                         const struct hfolder *f);

/*
 * The SyncFolderItems request read ahead while the page before it is handled: the folder and
 * the state it was asked from, and what came back. Its result is only used when the pass
 * asks for that very page next; anything else cancels and drops it.
 */
struct sync_readahead {
    const struct hfolder *f;
    char *state; /* NULL: from scratch */
    struct ews_sync_items_args args;
    struct ews_items_page page;
    struct ews_reply reply;
    struct mse_err err;
    enum mse_rc rc;
};

/*
 * The folder batch handed to the sink on a thread of its own while the next page is read
 * (with a pool only). One at a time: the next batch's base is what this one stores.
 */
struct sync_submission {
    bool active; /* a thread runs the submission; sync_submit_wait collects it */
    pthread_t thread;
    struct sync_ctx *c;
    struct cJSON *batch;
    const struct hfolder *f;
    char *next; /* the checkpoint the batch stores */
    uint64_t done;
    bool full;
    enum mse_rc rc;
    struct mse_err err;
};

/* The state of one pass. */
struct sync_ctx {
    struct sync_job *job;
    struct sync_outcome *out;
    const struct sync_feature *feature;
    struct folder_table table;
    bool reread_items;        /* a setting that filters items changed: every folder starts over */
    struct ews_pool *pool;    /* side sessions (NULL: one request at a time) */
    struct sync_readahead ra; /* valid while the pool's background call is busy */
    struct sync_submission sub;
    unsigned folder_no, folder_count; /* the folder being read, of those this pass reads */
    struct mse_log_ctx log;
};

static inline const struct sync_feature *sync_feature_of(const struct sync_ctx *c,
                                                         const struct hfolder *f)
{
    return c->feature->for_folder ? c->feature->for_folder(c, f) : c->feature;
}

/* Outcome helpers ------------------------------------------------------------------------ */

/* Marks the pass failed (first failure wins) and returns rc. */
enum mse_rc sync_fail(struct sync_ctx *c, enum mse_rc rc, const char *reason, const char *fmt, ...)
        MSE_PRINTF(4, 5);
/* Fails the pass with what an EWS call reported. */
enum mse_rc sync_fail_ews(struct sync_ctx *c, enum mse_rc rc, const struct ews_reply *reply,
                          const struct mse_err *err);
/* Records a warning (the first one sets reason and text unless the pass already failed). */
void sync_warn(struct sync_ctx *c, const char *reason, const char *fmt, ...) MSE_PRINTF(3, 4);
/* Reports progress through the sink. */
void sync_progress(struct sync_ctx *c, const char *command, const char *fmt, ...) MSE_PRINTF(3, 4);
/* True once the job's stop flag is set. */
bool sync_stopped(const struct sync_ctx *c);
/*
 * Whether the configured path (exclude_folders, folders) covers the folder path: the folder
 * itself or one below it, compared case-insensitively, '/' optional at the ends; "/" alone
 * covers nothing.
 */
bool sync_path_covers(const char *configured, const char *path);
/* "10,000" */
void sync_format_count(uint64_t n, char *out, size_t size);
/* "Folder 3 of 12, Inbox/Projects" (without the count outside a pass over folders). */
void sync_folder_label(const struct sync_ctx *c, const struct hfolder *f, char *out, size_t size);
/* Progress after a page: "Folder 3 of 12, Inbox: 1,536 of 10,000 items" on a full read. */
void sync_folder_progress(struct sync_ctx *c, const struct hfolder *f, uint64_t done, bool full);

#endif
