/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's upkeep of archived content beyond serving requests: reading the text of newly
 * archived messages for the archive search, and purging what is outside the organisation's
 * retention (schema 046).
 */
#ifndef MSE_CONTENT_H
#define MSE_CONTENT_H

#include <stdbool.h>

#include "mse/rc.h"

struct db;
struct server_ctx;
struct db_error;

/* Contents read per round; a full round means more are waiting. */
#define CONTENT_INDEX_BATCH 32

/*
 * Reads the body text of up to CONTENT_INDEX_BATCH contents that versions name and whose text
 * is not known, with GMime from the blob store, and makes every version naming them
 * searchable; one transaction per content. `after` (65 bytes, "" at first) is the round's
 * position in address order, kept by the caller; *indexed says how many contents were
 * handled. Content the store cannot serve right now is skipped until the next pass.
 */
enum mse_rc content_index(struct server_ctx *srv, struct db *db, char *after, unsigned *indexed,
                          struct db_error *err) MSE_WUR;

#endif

/* Rows each retention batch takes per kind (versions, messages); one transaction each. */
#define RETENTION_BATCH 500
/* Batches per sweep: a long backlog is worked off over several sweeps, one each tick. */
#define RETENTION_SWEEP_BATCHES 20

/*
 * One sweep of retention (docs/retention.md): nothing when the organisation keeps everything;
 * else batches until nothing is left or RETENTION_SWEEP_BATCHES ran, each purging versions
 * and messages outside the window that are no longer current, then the content nothing
 * references any more (the store's object deleted before the batch commits), and an audit
 * event `retention.sweep` with the counts when anything went. *more: a backlog remains.
 */
enum mse_rc retention_sweep(struct server_ctx *srv, struct db *db, bool *more,
                            struct db_error *err) MSE_WUR;
