/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bearer tokens validated recently, kept in process for a few seconds so that most requests
 * authenticate without a database round trip. Thread-safe.
 */
#ifndef MSE_TOKEN_CACHE_H
#define MSE_TOKEN_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "principal.h"

struct token_cache;

/*
 * A direct-mapped cache of slots entries (a power of two is not required), each kept at most
 * ttl_ms. ttl_ms 0 disables caching (every lookup misses). NULL on allocation failure.
 */
struct token_cache *token_cache_new(unsigned slots, int64_t ttl_ms);
void token_cache_free(struct token_cache *c);

/* Finds the principal for a token's SHA-256, if cached and not stale at now_ms. */
bool token_cache_get(struct token_cache *c, const uint8_t hash[MSE_SHA256_LEN], int64_t now_ms,
                     struct principal *out);
/*
 * Eviction count. Read it before looking a token up in the database and pass it to
 * token_cache_put: an eviction in between (a revocation committed meanwhile) makes the put a
 * no-op, so a stale answer can never be cached.
 */
uint64_t token_cache_generation(struct token_cache *c);
/*
 * Remembers a validated token until min(now_ms + ttl, expires_ms), where expires_ms is the
 * token's own expiry on the same clock. A colliding older entry is replaced.
 */
void token_cache_put(struct token_cache *c, const uint8_t hash[MSE_SHA256_LEN],
                     const struct principal *p, uint64_t generation, int64_t now_ms,
                     int64_t expires_ms);
/* Forgets one token (revoked). */
void token_cache_evict_token(struct token_cache *c, const uint8_t hash[MSE_SHA256_LEN]);
/* Forgets every token of a client (disabled, deleted, secret rotated). */
void token_cache_evict_client(struct token_cache *c, const char *client_uuid);

#endif
