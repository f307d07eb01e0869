/* SPDX-License-Identifier: Apache-2.0 */
/* What the engine's modules share: the pass context, folder table, features, batch helpers. */
#ifndef MSE_SYNC_INTERNAL_H
#define MSE_SYNC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ews_sync.h"
#include "log.h"
#include "sync.h"

struct cJSON;
struct ews_pool;
struct sync_ctx;

/* What a folder looked like in the replica when the pass began (for the hierarchy diff). */
struct hfolder_was {
    char *parent_id;
    char *name;
    char *folder_class;
    char *path;
    bool replicated;
};

/* One folder of the mailbox as the engine remembers it between passes. */
struct hfolder {
    char *id;
    char *parent_id;
    char *name;
    char *folder_class;
    char kind[24];   /* EWS element: Folder, CalendarFolder, SearchFolder, … */
    bool replicated; /* part of the replica: sent as an upsert, not deleted since */
    bool dead;       /* deleted during this pass; dropped when the table is compacted */
    int64_t total;   /* TotalCount from this pass's hierarchy sync, -1 when unknown */
    char *path;      /* "/Inbox/Projects", computed after the hierarchy sync */
    struct hfolder_was was;
};

/* The folder table: the mailbox hierarchy below msgfolderroot and the EWS hierarchy state. */
struct folder_table {
    struct hfolder *v;
    size_t n;
    size_t cap;
    size_t *index; /* open-addressing map id → position in v (SIZE_MAX = empty) */
    size_t index_cap;
    char *state;       /* SyncFolderHierarchy SyncState */
    char *root_id;     /* msgfolderroot */
    char *deleted_id;  /* deleteditems */
    char *calendar_id; /* the default calendar */
    int private_items; /* include_private_items the replica was built with; -1 unknown */
};

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
};

extern const struct sync_feature sync_feature_mfr;
extern const struct sync_feature sync_feature_calendar;

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
/* "10,000" */
void sync_format_count(uint64_t n, char *out, size_t size);

/* Batches --------------------------------------------------------------------------------- */

/*
 * A new batch object with batch_id, mailbox, scope, folder_id, base and new checkpoints,
 * complete, reset, and empty folders/items/appointments arrays. NULL when out of memory.
 */
struct cJSON *sync_batch_new(struct sync_ctx *c, const char *scope, const char *folder_id,
                             const char *base, const char *next, bool complete, bool reset);
/* Appends rec (taking it) to the batch's array; false when out of memory. */
bool sync_batch_add(struct cJSON *batch, const char *array, struct cJSON *rec);
/*
 * Hands the batch to the sink; on success stores next as the checkpoint of folder_id (NULL
 * = hierarchy) in the job. Failures stop the pass (sync_fail). The batch stays the caller's.
 */
enum mse_rc sync_batch_submit(struct sync_ctx *c, struct cJSON *batch, const char *folder_id,
                              const char *next) MSE_WUR;
/*
 * Waits for the folder batch still being submitted, if any, and takes its outcome as
 * sync_batch_submit would. Every other use of the sink waits for it first (a sink serves one
 * call at a time). MSE_OK when nothing was pending.
 */
enum mse_rc sync_submit_wait(struct sync_ctx *c) MSE_WUR;

/* Hierarchy ------------------------------------------------------------------------------- */

/*
 * Loads the table from the stored hierarchy checkpoint, learns the distinguished folders,
 * runs SyncFolderHierarchy to the end, submits the changed view of the replicated folders as
 * the hierarchy batch, and leaves the table ready (paths computed, replicated flags set).
 */
enum mse_rc sync_hierarchy_run(struct sync_ctx *c) MSE_WUR;
void folder_table_cleanup(struct folder_table *t);
/* The folder with this id, or NULL. */
struct hfolder *folder_table_find(const struct folder_table *t, const char *id);
/* True when f is id or lies below the folder with that id. */
bool folder_table_within(const struct folder_table *t, const struct hfolder *f, const char *id);
/* Serialises the table (the hierarchy checkpoint); NULL when out of memory. */
char *folder_table_encode(const struct folder_table *t);
/* Loads a checkpoint made by folder_table_encode. MSE_ERR_INVALID when it is not one. */
enum mse_rc folder_table_decode(const char *text, struct folder_table *t) MSE_WUR;

/* Items ----------------------------------------------------------------------------------- */

/* Reads one folder's item changes to the end, page by page, one batch per page. */
enum mse_rc sync_folder_run(struct sync_ctx *c, const struct hfolder *f) MSE_WUR;

#endif
