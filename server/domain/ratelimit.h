/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Failed-authentication back-off per key (an address, or a client id at an address). A key's
 * first `free` failures cost nothing; the free-th blocks it for base_ms, and each further one
 * doubles the wait up to max_ms. A blocked key is refused before it is verified, so retrying
 * while blocked neither counts nor lengthens the wait. A key quiet for forget_ms starts over.
 * In memory, per process; thread-safe.
 */
#ifndef MSE_RATELIMIT_H
#define MSE_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_KEY_MAX 96

struct ratelimit;

/*
 * base_ms in [1, max_ms]; forget_ms is raised to max_ms if shorter; keys tracked at most
 * max_keys (the least recently failing key is forgotten first when full). NULL on allocation
 * failure or a bad argument.
 */
struct ratelimit *ratelimit_new(int64_t base_ms, int64_t max_ms, int64_t forget_ms,
                                unsigned max_keys);
void ratelimit_free(struct ratelimit *rl);

/* The wait after `failures` consecutive failures of a key allowed `free` of them (pure). */
int64_t ratelimit_delay_ms(unsigned failures, unsigned free, int64_t base_ms, int64_t max_ms);

/* Milliseconds key must still wait at now_ms (> 0 when blocked), or 0 when not blocked. */
int64_t ratelimit_blocked(struct ratelimit *rl, const char *key, unsigned free, int64_t now_ms);
/* Records one failure for key at now_ms. Keys longer than RATELIMIT_KEY_MAX - 1 are cut. */
void ratelimit_fail(struct ratelimit *rl, const char *key, int64_t now_ms);
/* Forgets key's failures (it authenticated). */
void ratelimit_clear(struct ratelimit *rl, const char *key);

#endif
