/* SPDX-License-Identifier: Apache-2.0 */
/* Side sessions of a mailbox pass, and the threads that run EWS calls on them side by side. */
#ifndef MSE_EWS_POOL_H
#define MSE_EWS_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "ews.h"
#include "mse/rc.h"

struct ews_pool;

/*
 * One call of a map or of the background: runs request i on session s (one thread's own).
 * Returns false when the call failed in a way that makes the other calls of the same map
 * useless: the pool then cancels them (their requests in flight end, see
 * ews_session_set_cancel). The function must not touch state another call touches.
 */
typedef bool (*ews_pool_fn)(void *ctx, size_t i, struct ews_session *s);

/*
 * A pool of up to width sessions for maps and one for the background, cloned from main
 * (ews_session_clone) when first needed, so that a pass that never needs them opens no
 * connection. main is borrowed and must outlive the pool. MSE_ERR_NOMEM.
 */
enum mse_rc ews_pool_new(const struct ews_session *main, unsigned width,
                         struct ews_pool **out) MSE_WUR;
/* Waits for (and cancels) a background call still running. NULL is fine. */
void ews_pool_free(struct ews_pool *p);
/* Adds the counters of every session of the pool to sum. */
void ews_pool_stats_add(const struct ews_pool *p, struct ews_stats *sum);

/*
 * Runs fn(ctx, i, session) for every i below n, up to the pool's width at once (the calling
 * thread is one of the runners), and returns when every call has returned. Calls start in
 * the order of i; once one returns false, calls not started yet are not started and the
 * requests of those running are cancelled. MSE_OK when every call returned true (or n is
 * 0); MSE_ERR_UNAVAILABLE when one returned false or was not run; MSE_ERR_NOMEM when no
 * session could be created (nothing ran). A thread that cannot be created leaves its share to
 * the others.
 */
enum mse_rc ews_pool_map(struct ews_pool *p, size_t n, ews_pool_fn fn, void *ctx) MSE_WUR;

/*
 * Starts fn(ctx, 0, session) on a thread of its own with the background session, and returns
 * at once; ews_pool_wait collects it. One background call at a time: MSE_ERR_INVALID while
 * one is running. MSE_ERR_NOMEM when the session or the thread could not be created (fn did
 * not run: the caller runs the request itself).
 */
enum mse_rc ews_pool_start(struct ews_pool *p, ews_pool_fn fn, void *ctx) MSE_WUR;
/*
 * Waits for the background call to end; with cancel its requests end first (the call then
 * reports "cancelled"). Nothing to do when no call runs.
 */
void ews_pool_wait(struct ews_pool *p, bool cancel);
/* True while a background call has been started and not waited for. */
bool ews_pool_busy(const struct ews_pool *p);

#endif
