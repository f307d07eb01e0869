/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bearer tokens validated recently, kept in process for a few seconds so that most requests
 * authenticate without a database round trip. Thread-safe.
 */
#include "token_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct token_slot {
    uint8_t hash[MSE_SHA256_LEN];
    int64_t until_ms; /* 0 = empty */
    struct principal principal;
};

struct token_cache {
    pthread_mutex_t lock;
    unsigned nslots;
    int64_t ttl_ms;
    uint64_t generation; /* bumped by every eviction */
    struct token_slot *slots;
};

struct token_cache *token_cache_new(unsigned slots, int64_t ttl_ms)
{
    struct token_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->nslots = slots ? slots : 1;
    c->ttl_ms = ttl_ms;
    c->slots = calloc(c->nslots, sizeof(*c->slots));
    if (!c->slots) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void token_cache_free(struct token_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->slots);
    free(c);
}

/* The hash is uniformly random already: its first bytes pick the slot. */
static struct token_slot *slot_of(struct token_cache *c, const uint8_t hash[MSE_SHA256_LEN])
{
    uint32_t h;
    memcpy(&h, hash, sizeof(h));
    return &c->slots[h % c->nslots];
}

bool token_cache_get(struct token_cache *c, const uint8_t hash[MSE_SHA256_LEN], int64_t now_ms,
                     struct principal *out)
{
    bool hit = false;
    pthread_mutex_lock(&c->lock);
    struct token_slot *s = slot_of(c, hash);
    if (s->until_ms > now_ms && memcmp(s->hash, hash, MSE_SHA256_LEN) == 0) {
        *out = s->principal;
        hit = true;
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

uint64_t token_cache_generation(struct token_cache *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t g = c->generation;
    pthread_mutex_unlock(&c->lock);
    return g;
}

void token_cache_put(struct token_cache *c, const uint8_t hash[MSE_SHA256_LEN],
                     const struct principal *p, uint64_t generation, int64_t now_ms,
                     int64_t expires_ms)
{
    if (c->ttl_ms <= 0)
        return;
    int64_t until = now_ms + c->ttl_ms;
    if (expires_ms < until)
        until = expires_ms;
    if (until <= now_ms)
        return;
    pthread_mutex_lock(&c->lock);
    if (generation != c->generation) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    struct token_slot *s = slot_of(c, hash);
    memcpy(s->hash, hash, MSE_SHA256_LEN);
    s->principal = *p;
    s->until_ms = until;
    pthread_mutex_unlock(&c->lock);
}

void token_cache_evict_token(struct token_cache *c, const uint8_t hash[MSE_SHA256_LEN])
{
    pthread_mutex_lock(&c->lock);
    struct token_slot *s = slot_of(c, hash);
    c->generation++;
    if (memcmp(s->hash, hash, MSE_SHA256_LEN) == 0)
        s->until_ms = 0;
    pthread_mutex_unlock(&c->lock);
}

void token_cache_evict_client(struct token_cache *c, const char *client_uuid)
{
    pthread_mutex_lock(&c->lock);
    c->generation++;
    for (unsigned i = 0; i < c->nslots; i++) {
        struct token_slot *s = &c->slots[i];
        if (s->until_ms && strcmp(s->principal.client_uuid, client_uuid) == 0)
            s->until_ms = 0;
    }
    pthread_mutex_unlock(&c->lock);
}
