/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Failed-authentication back-off per key (an address, or a client id at an address). A key's
 * first `free` failures cost nothing; the free-th blocks it for base_ms, and each further one
 * doubles the wait up to max_ms. In memory, per process; thread-safe.
 */
#include "ratelimit.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rl_entry {
    char key[RATELIMIT_KEY_MAX]; /* "" = free */
    unsigned failures;           /* consecutive, since the key was last quiet or cleared */
    int64_t last_ms;             /* the latest failure */
};

struct ratelimit {
    pthread_mutex_t lock;
    int64_t base_ms, max_ms, forget_ms;
    unsigned nkeys;
    struct rl_entry *entries;
};

struct ratelimit *ratelimit_new(int64_t base_ms, int64_t max_ms, int64_t forget_ms,
                                unsigned max_keys)
{
    if (base_ms <= 0 || max_ms < base_ms || max_keys == 0)
        return NULL;
    struct ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    rl->base_ms = base_ms;
    rl->max_ms = max_ms;
    /* Forgetting a key while it is still blocked would cut its back-off short. */
    rl->forget_ms = forget_ms > max_ms ? forget_ms : max_ms;
    rl->nkeys = max_keys;
    rl->entries = calloc(max_keys, sizeof(*rl->entries));
    if (!rl->entries) {
        free(rl);
        return NULL;
    }
    pthread_mutex_init(&rl->lock, NULL);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl->entries);
    free(rl);
}

int64_t ratelimit_delay_ms(unsigned failures, unsigned free, int64_t base_ms, int64_t max_ms)
{
    if (free == 0 || failures < free)
        return 0;
    int64_t d = base_ms;
    for (unsigned n = free; n < failures && d < max_ms; n++)
        d *= 2; /* stops at max_ms, so it cannot overflow */
    return d < max_ms ? d : max_ms;
}

static struct rl_entry *find(struct ratelimit *rl, const char *key)
{
    for (unsigned i = 0; i < rl->nkeys; i++) {
        if (rl->entries[i].key[0] && strncmp(rl->entries[i].key, key, RATELIMIT_KEY_MAX - 1) == 0)
            return &rl->entries[i];
    }
    return NULL;
}

static bool quiet(const struct ratelimit *rl, const struct rl_entry *e, int64_t now_ms)
{
    return e->last_ms + rl->forget_ms <= now_ms;
}

int64_t ratelimit_blocked(struct ratelimit *rl, const char *key, unsigned free, int64_t now_ms)
{
    int64_t wait = 0;
    pthread_mutex_lock(&rl->lock);
    struct rl_entry *e = find(rl, key);
    if (e && !quiet(rl, e, now_ms)) {
        int64_t free_at =
                e->last_ms + ratelimit_delay_ms(e->failures, free, rl->base_ms, rl->max_ms);
        if (free_at > now_ms)
            wait = free_at - now_ms;
    }
    pthread_mutex_unlock(&rl->lock);
    return wait;
}

/* A free entry, else a quiet one, else the least recently failing one. */
static struct rl_entry *claim(struct ratelimit *rl, int64_t now_ms)
{
    struct rl_entry *victim = &rl->entries[0];
    for (unsigned i = 0; i < rl->nkeys; i++) {
        struct rl_entry *e = &rl->entries[i];
        if (!e->key[0] || quiet(rl, e, now_ms))
            return e;
        if (e->last_ms < victim->last_ms)
            victim = e;
    }
    return victim;
}

void ratelimit_fail(struct ratelimit *rl, const char *key, int64_t now_ms)
{
    pthread_mutex_lock(&rl->lock);
    struct rl_entry *e = find(rl, key);
    if (e && quiet(rl, e, now_ms))
        e->failures = 0;
    if (!e) {
        e = claim(rl, now_ms);
        snprintf(e->key, sizeof(e->key), "%s", key);
        e->failures = 0;
    }
    if (e->failures < UINT_MAX)
        e->failures++;
    e->last_ms = now_ms;
    pthread_mutex_unlock(&rl->lock);
}

void ratelimit_clear(struct ratelimit *rl, const char *key)
{
    pthread_mutex_lock(&rl->lock);
    struct rl_entry *e = find(rl, key);
    if (e)
        e->key[0] = '\0';
    pthread_mutex_unlock(&rl->lock);
}
