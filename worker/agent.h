/* SPDX-License-Identifier: Apache-2.0 */
/* The worker's service mode: heartbeats, claims, and executions run in parallel slots. */
#ifndef MSE_AGENT_H
#define MSE_AGENT_H

#include <stdatomic.h>

#include "mse/rc.h"

struct worker_config;

/*
 * Serves the site until *stop turns true: one heartbeat loop on the calling thread and
 * cfg->slots execution threads, each claiming executions from mse-server and replicating
 * their mailboxes one after another (docs/worker-protocol.md). On stop, a slot ends its
 * mailbox at the next batch boundary and hands its execution back to the server, which
 * re-queues it at once. MSE_ERR_IO when the server refuses the site credentials.
 */
enum mse_rc agent_run(const struct worker_config *cfg, const atomic_bool *stop,
                      struct mse_err *err) MSE_WUR;

#endif
