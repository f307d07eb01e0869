/* SPDX-License-Identifier: Apache-2.0 */
/* A small open-addressing hash map from case-insensitive strings to pointers. */
#ifndef EWSSIM_HMAP_H
#define EWSSIM_HMAP_H

#include <stddef.h>

#include "mse/rc.h"

struct hmap_slot {
    char *key; /* lower-cased copy, owned by the map */
    void *value;
};

struct hmap {
    struct hmap_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t count;
};

/* Lifecycle: caller's storage; cleanup frees the keys, never the values. */
void hmap_init(struct hmap *m);
void hmap_cleanup(struct hmap *m);
/* Inserts or replaces key → value. MSE_ERR_NOMEM leaves the map unchanged. */
enum mse_rc hmap_put(struct hmap *m, const char *key, void *value) MSE_WUR;
/* Value for key (compared case-insensitively), or NULL. */
void *hmap_get(const struct hmap *m, const char *key);

#endif
