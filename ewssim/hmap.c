/* SPDX-License-Identifier: Apache-2.0 */
/* A small open-addressing hash map from case-insensitive strings to pointers. */
#include "hmap.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void hmap_init(struct hmap *m)
{
    memset(m, 0, sizeof(*m));
}

void hmap_cleanup(struct hmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    hmap_init(m);
}

/* FNV-1a over the lower-cased key. */
static uint64_t key_hash(const char *key)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= (uint64_t)tolower(*p);
        h *= 1099511628211ull;
    }
    return h;
}

/* Slot holding key, or the empty slot where it would go. cap must be non-zero. */
static struct hmap_slot *slot_find(struct hmap_slot *slots, size_t cap, const char *key)
{
    size_t i = (size_t)key_hash(key) & (cap - 1);
    while (slots[i].key && strcasecmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static enum mse_rc map_grow(struct hmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    struct hmap_slot *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return MSE_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key)
            *slot_find(slots, cap, m->slots[i].key) = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return MSE_OK;
}

enum mse_rc hmap_put(struct hmap *m, const char *key, void *value)
{
    if ((m->count + 1) * 2 > m->cap && map_grow(m) != MSE_OK)
        return MSE_ERR_NOMEM;
    struct hmap_slot *s = slot_find(m->slots, m->cap, key);
    if (s->key) {
        s->value = value;
        return MSE_OK;
    }
    char *copy = strdup(key);
    if (!copy)
        return MSE_ERR_NOMEM;
    for (char *p = copy; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    s->key = copy;
    s->value = value;
    m->count++;
    return MSE_OK;
}

void *hmap_get(const struct hmap *m, const char *key)
{
    if (!m->cap || !key)
        return NULL;
    return slot_find(m->slots, m->cap, key)->value;
}
