/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Graph backend of the replication engine: mail folders and messages read through
 * Microsoft Graph delta queries, handed to the engine as the pages EWS would give
 * (sync_source.h). Delta links are the sync states, so they are what the checkpoints hold.
 * Mailbox Folder Replication only, so far.
 */
#ifndef MSE_SYNC_GRAPH_H
#define MSE_SYNC_GRAPH_H

#include "graph_client.h"
#include "sync_source.h"

struct sync_graph;

/* A backend over a new Graph client (cfg borrowed). Errors as graph_client_new. */
enum mse_rc sync_graph_new(const struct graph_client_config *cfg, struct sync_graph **out,
                           struct mse_err *err) MSE_WUR;
void sync_graph_free(struct sync_graph *sg);
void sync_graph_set_stop(struct sync_graph *sg, const atomic_bool *stop);
/* The engine's view of it (borrows sg). */
struct sync_source sync_graph_source(struct sync_graph *sg);

/*
 * Reads one Graph message object (a delta entry) into item, which must be initialised:
 * the fields Mailbox Folder Replication records, with class, size and sensitivity from
 * their MAPI properties. MSE_ERR_NOMEM only. Exposed for the unit tests.
 */
enum mse_rc sync_graph_message(const struct cJSON *m, struct ews_item *item) MSE_WUR;

#endif
