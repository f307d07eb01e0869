/* SPDX-License-Identifier: Apache-2.0 */
/* Retry delays: exponential backoff with jitter and a cap, and server-given back-off hints. */
#ifndef MSE_BACKOFF_H
#define MSE_BACKOFF_H

#include <stdint.h>

struct backoff {
    int64_t base_ms;  /* first delay before jitter */
    int64_t cap_ms;   /* no delay exceeds this */
    unsigned attempt; /* delays handed out so far */
    uint64_t rng;     /* xorshift state; never 0 */
};

/*
 * Prepares a sequence of delays base, 2·base, 4·base … capped at cap_ms, each with "equal
 * jitter": a delay d is drawn uniformly from [d/2, d], so that workers throttled together do
 * not retry together. seed 0 draws a random seed.
 */
void backoff_init(struct backoff *b, int64_t base_ms, int64_t cap_ms, uint64_t seed);
/* The next delay in milliseconds (always >= 1 unless base_ms is 0). */
int64_t backoff_next(struct backoff *b);
/* Starts the sequence over (after a success). */
void backoff_reset(struct backoff *b);
/*
 * Delay for a server-given hint (BackOffMilliseconds, Retry-After): the hint plus up to 10%
 * jitter, at most max_ms. A negative hint means none was given: the next exponential delay.
 */
int64_t backoff_hinted(struct backoff *b, int64_t hint_ms, int64_t max_ms);

#endif
