/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL that applies a worker's batch to the archive together with the checkpoint it leads to:
 * multi-row statements over the batch's JSON arrays, one transaction, exactly once.
 */
#ifndef MSE_DB_SUBMIT_H
#define MSE_DB_SUBMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "db_exec.h"
#include "mse/rc.h"

/* A validated batch (see docs/worker-protocol.md). JSON arrays are texts. */
/* Kinds of records (their `change`), as bits: a statement for a kind the batch lacks is skipped. */
enum batch_change {
    BATCH_UPSERT = 1u << 0,
    BATCH_DELETE = 1u << 1,
    BATCH_READ_FLAG = 1u << 2,
    BATCH_REMOVE = 1u << 3,
};

struct batch {
    const char *batch_id;
    const char *mailbox; /* lower-case */
    bool hierarchy;      /* scope "hierarchy" (else "folder") */
    const char *folder_id;
    const char *base_checkpoint; /* NULL = none stored yet */
    const char *new_checkpoint;
    bool complete;
    bool reset;
    const char *folders;      /* JSON array text or NULL */
    const char *items;        /* JSON array text or NULL */
    const char *appointments; /* JSON array text or NULL */
    const char *shas;         /* PostgreSQL text[] literal of referenced attachment hashes */
    /* Message content per item record (text[] literal, NULL entries; NULL when none). */
    const char *contents;
    int content_missing; /* the first item upsert without content_sha256, or -1 */
    unsigned records;
    unsigned upserts; /* item and appointment upserts: what the batch adds to `items` */
    /* enum batch_change bits of the records each array holds. */
    unsigned folder_changes, item_changes, appointment_changes;
};

struct batch_result {
    bool replayed;
    int64_t sequence; /* the task's sequence after the batch */
    char missing[65]; /* an attachment hash the batch references but nobody uploaded */
    char stored[32];  /* for conflicts: "none" or "another" (never the state itself) */
    /* EXO_MISSING_CONTENT about message content: the item's index (else -1), and whether
       its content_sha256 is absent (a sync task's upsert) rather than not this site's. */
    int content_index;
    bool content_absent;
};

/*
 * Applies the batch for the fenced execution, inside the caller's transaction; outcomes as
 * in db_exec.h: the fence failures, EXO_NOT_LOCKED (the mailbox lock is not held by this
 * execution), EXO_CHECKPOINT_CONFLICT (the stored checkpoint differs; result->stored says how),
 * EXO_MISSING_CONTENT (an attachment hash nobody uploaded: result->missing; or message content
 * an item upsert of a sync task lacks, or that this site never uploaded: result->content_index).
 * Nothing applied unless EXO_DONE.
 */
enum mse_rc db_submit_apply(struct db *db, const struct fence *f, const struct batch *b,
                            struct batch_result *result, enum exec_outcome *out,
                            struct db_error *err) MSE_WUR;

#endif
