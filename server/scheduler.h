/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's background duties: executions for due tasks (skipped when one is still
 * active), re-queueing executions whose lease ran out, and expired records. Every server
 * runs one; row locks (SKIP LOCKED) keep several servers on one database from doing a thing
 * twice.
 */
#ifndef MSE_SCHEDULER_H
#define MSE_SCHEDULER_H

#include "mse/rc.h"

struct server_ctx;
struct scheduler;

/* Starts the scheduler thread with its own database connection (opened lazily). */
enum mse_rc scheduler_start(struct server_ctx *srv, struct scheduler **out,
                            struct mse_err *err) MSE_WUR;
/* Stops the thread (waiting for the tick in progress) and frees it. NULL is fine. */
void scheduler_stop(struct scheduler *s);

#endif
