/* SPDX-License-Identifier: Apache-2.0 */
/* The site's directory as the server configures it: tests, refreshes, the group catalogue. */
#ifndef MSE_DIRECTORY_SYNC_H
#define MSE_DIRECTORY_SYNC_H

#include <stdatomic.h>
#include <stdint.h>

#include "groups.h"
#include "mse/rc.h"

struct srv_client;
struct srv_config;
struct directory_sync;

/*
 * NULL on allocation failure. cache (borrowed) loses the entries of refreshed groups and all of
 * them when the directory changes; the catalogue is sent again every catalogue_ms. Tests and
 * catalogues run on a thread of their own with a client made from srv (borrowed, like stop),
 * so that a slow or unreachable directory never delays heartbeats.
 */
struct directory_sync *directory_sync_new(struct group_cache *cache, int64_t catalogue_ms,
                                          const struct srv_config *srv, const atomic_bool *stop);
/* Waits for a running test or catalogue to end (bounded by the LDAP timeouts). */
void directory_sync_free(struct directory_sync *d);

/*
 * Asks the server for the directory (GET /api/v1/worker/directory) and drops refreshed groups
 * from the cache; the tests it lists and, when due, the catalogue of groups and OUs go to the
 * directory thread. Called on the heartbeat thread after each heartbeat. err says what failed.
 */
enum mse_rc directory_sync_poll(struct directory_sync *d, struct srv_client *srv,
                                struct mse_err *err) MSE_WUR;

/* Points x's directory hook at d, for ad_group resolution (any slot thread). */
void directory_sync_expander(struct directory_sync *d, struct group_expander *x);

#endif
