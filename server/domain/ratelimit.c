/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Failed-authentication limiter: a sliding window per key (a client id or an address). A key
 * with `limit` failures inside the last `window_ms` is blocked until the oldest of them ages
 * out. In memory, per process; thread-safe.
 */
#include "ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mse/limits.h"

struct rl_entry {
    char key[RATELIMIT_KEY_MAX]; /* "" = free */
    int64_t *times;              /* ring of the last `limit` failure times */
    unsigned next;               /* ring position of the next failure */
    unsigned count;              /* failures recorded, at most limit */
    int64_t last_ms;
};

struct ratelimit {
    pthread_mutex_t lock;
    unsigned limit;
    int64_t window_ms;
    unsigned nkeys;
    struct rl_entry *entries;
    int64_t *times; /* one allocation for every ring */
};

struct ratelimit *ratelimit_new(unsigned limit, int64_t window_ms, unsigned max_keys)
{
    if (limit == 0 || limit > MSE_RATELIMIT_MAX || window_ms <= 0 || max_keys == 0)
        return NULL;
    struct ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    rl->limit = limit;
    rl->window_ms = window_ms;
    rl->nkeys = max_keys;
    rl->entries = calloc(max_keys, sizeof(*rl->entries));
    rl->times = calloc((size_t)max_keys * limit, sizeof(*rl->times));
    if (!rl->entries || !rl->times) {
        ratelimit_free(rl);
        return NULL;
    }
    for (unsigned i = 0; i < max_keys; i++)
        rl->entries[i].times = rl->times + (size_t)i * limit;
    pthread_mutex_init(&rl->lock, NULL);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    if (rl->entries && rl->times)
        pthread_mutex_destroy(&rl->lock);
    free(rl->entries);
    free(rl->times);
    free(rl);
}

static struct rl_entry *find(struct ratelimit *rl, const char *key)
{
    for (unsigned i = 0; i < rl->nkeys; i++) {
        if (rl->entries[i].key[0] && strncmp(rl->entries[i].key, key, RATELIMIT_KEY_MAX - 1) == 0)
            return &rl->entries[i];
    }
    return NULL;
}

/* The oldest failure still remembered (the ring's next slot once it is full). */
static int64_t oldest(const struct ratelimit *rl, const struct rl_entry *e)
{
    return e->count < rl->limit ? e->times[0] : e->times[e->next];
}

int64_t ratelimit_blocked(struct ratelimit *rl, const char *key, int64_t now_ms)
{
    int64_t wait = 0;
    pthread_mutex_lock(&rl->lock);
    struct rl_entry *e = find(rl, key);
    if (e && e->count == rl->limit) {
        int64_t free_at = oldest(rl, e) + rl->window_ms;
        if (free_at > now_ms)
            wait = free_at - now_ms;
    }
    pthread_mutex_unlock(&rl->lock);
    return wait;
}

/* A free entry, else one whose failures all aged out, else the least recently failing one. */
static struct rl_entry *claim(struct ratelimit *rl, int64_t now_ms)
{
    struct rl_entry *victim = &rl->entries[0];
    for (unsigned i = 0; i < rl->nkeys; i++) {
        struct rl_entry *e = &rl->entries[i];
        if (!e->key[0] || e->last_ms + rl->window_ms <= now_ms)
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
    if (!e) {
        e = claim(rl, now_ms);
        snprintf(e->key, sizeof(e->key), "%s", key);
        e->next = 0;
        e->count = 0;
    }
    e->times[e->next] = now_ms;
    e->next = (e->next + 1) % rl->limit;
    if (e->count < rl->limit)
        e->count++;
    e->last_ms = now_ms;
    pthread_mutex_unlock(&rl->lock);
}
