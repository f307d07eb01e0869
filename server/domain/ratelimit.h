/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Failed-authentication limiter: a sliding window per key (a client id or an address). A key
 * with `limit` failures inside the last `window_ms` is blocked until the oldest of them ages
 * out. In memory, per process; thread-safe.
 */
#ifndef MSE_RATELIMIT_H
#define MSE_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_KEY_MAX 96

struct ratelimit;

/*
 * limit in [1, MSE_RATELIMIT_MAX]; keys tracked at most max_keys (the least recently failing
 * key is forgotten first when full). NULL on allocation failure or a bad argument.
 */
struct ratelimit *ratelimit_new(unsigned limit, int64_t window_ms, unsigned max_keys);
void ratelimit_free(struct ratelimit *rl);

/* Milliseconds key must still wait at now_ms (> 0 when blocked), or 0 when not blocked. */
int64_t ratelimit_blocked(struct ratelimit *rl, const char *key, int64_t now_ms);
/* Records one failure for key at now_ms. Keys longer than RATELIMIT_KEY_MAX - 1 are cut. */
void ratelimit_fail(struct ratelimit *rl, const char *key, int64_t now_ms);

#endif
