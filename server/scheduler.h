/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's background duties: executions for due tasks (skipped when one is still
 * active), re-queueing executions whose lease ran out, expired records, and unreferenced
 * uploads past their grace period. Every server
 * runs one; row locks (SKIP LOCKED) keep several servers on one database from doing a thing
 * twice.
 */
#ifndef MSE_SCHEDULER_H
#define MSE_SCHEDULER_H

#include "mse/rc.h"

struct db;
struct server_ctx;
struct scheduler;

/* Starts the scheduler thread with its own database connection (opened lazily). */
enum mse_rc scheduler_start(struct server_ctx *srv, struct scheduler **out,
                            struct mse_err *err) MSE_WUR;
/*
 * The pool's connect callback (srv is the struct server_ctx): a connection opened after an
 * outage extends the lapsed leases before its first request can find them lapsed.
 */
void scheduler_on_connect(struct db *db, void *srv);
/* Stops the thread (waiting for the tick in progress) and frees it. NULL is fine. */
void scheduler_stop(struct scheduler *s);

#endif
