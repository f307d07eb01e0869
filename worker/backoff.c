/* SPDX-License-Identifier: Apache-2.0 */
/* Retry delays: exponential backoff with jitter and a cap, and server-given back-off hints. */
#include "backoff.h"

#include "crypto.h"
#include "timefmt.h"

static uint64_t rng_next(struct backoff *b)
{
    /* xorshift64*: plenty for jitter, and reproducible from a seed in tests. */
    uint64_t x = b->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    b->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [lo, hi]. */
static int64_t rng_range(struct backoff *b, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int64_t)(rng_next(b) % (uint64_t)(hi - lo + 1));
}

void backoff_init(struct backoff *b, int64_t base_ms, int64_t cap_ms, uint64_t seed)
{
    b->base_ms = base_ms < 0 ? 0 : base_ms;
    b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
    b->attempt = 0;
    if (seed == 0 && mse_crypto_random(&seed, sizeof(seed)) != MSE_OK)
        seed = (uint64_t)mse_time_mono_us();
    b->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

void backoff_reset(struct backoff *b)
{
    b->attempt = 0;
}

int64_t backoff_next(struct backoff *b)
{
    int64_t d = b->base_ms;
    for (unsigned i = 0; i < b->attempt && d < b->cap_ms; i++)
        d *= 2;
    if (d > b->cap_ms)
        d = b->cap_ms;
    if (b->attempt < 64)
        b->attempt++;
    return rng_range(b, d - d / 2, d);
}

int64_t backoff_hinted(struct backoff *b, int64_t hint_ms, int64_t max_ms)
{
    if (hint_ms < 0)
        return backoff_next(b);
    int64_t d = hint_ms + rng_range(b, 0, hint_ms / 10);
    return d > max_ms ? max_ms : d;
}
