/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of authentication: client look-up by client_id, bearer tokens, the bootstrap client. */
#ifndef MSE_DB_AUTH_H
#define MSE_DB_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "mse/rc.h"
#include "principal.h"

/* What authenticating a client needs to know about it. */
struct db_auth_client {
    struct principal principal; /* kind, client_id, client_uuid, site_id */
    char secret_hash[192];
    bool enabled;
};

/* Finds a client by its public client_id. MSE_ERR_NOT_FOUND when unknown. */
enum mse_rc db_auth_client_find(struct db *db, const char *client_id, struct db_auth_client *out,
                                struct db_error *err) MSE_WUR;

/*
 * Stores a token's SHA-256 (64 hex digits) for a client, valid ttl seconds; drops the
 * client's tokens that expired over an hour ago on the way.
 */
enum mse_rc db_auth_token_insert(struct db *db, const char *hash_hex, const char *client_uuid,
                                 unsigned ttl, struct db_error *err) MSE_WUR;

/*
 * The principal of a live token (not expired, not revoked, client enabled) and how many
 * milliseconds it has left. MSE_ERR_NOT_FOUND otherwise. One indexed look-up.
 */
enum mse_rc db_auth_token_find(struct db *db, const char *hash_hex, struct principal *out,
                               int64_t *remaining_ms, struct db_error *err) MSE_WUR;

/* Revokes a token if it belongs to client_uuid; *revoked says whether it did. */
enum mse_rc db_auth_token_revoke(struct db *db, const char *hash_hex, const char *client_uuid,
                                 bool *revoked, struct db_error *err) MSE_WUR;

/* Revokes every token of a client (its secret changed). */
enum mse_rc db_auth_tokens_revoke_all(struct db *db, const char *client_uuid,
                                      struct db_error *err) MSE_WUR;

/* Whether any API client exists (bootstrap runs only on an empty database). */
enum mse_rc db_auth_any_client(struct db *db, bool *any, struct db_error *err) MSE_WUR;

/* Takes the bootstrap's transaction-scoped advisory lock (waits for another server's). */
enum mse_rc db_auth_bootstrap_lock(struct db *db, struct db_error *err) MSE_WUR;

#endif
