/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who is calling and whether the route admits them: bearer tokens (cached briefly in process),
 * client credentials for the token endpoint, failed-attempt limits and their audit events.
 */
#ifndef MSE_AUTH_H
#define MSE_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "mse/limits.h"
#include "mse/rc.h"
#include "principal.h"

struct request;
struct server_ctx;

/* Creates the token cache and the failure limiter from srv->cfg. */
enum mse_rc auth_setup(struct server_ctx *srv) MSE_WUR;
void auth_teardown(struct server_ctx *srv);

/*
 * Authenticates the request against req->route's role and fills req->principal.
 * Returns false after answering 401 (no or bad token, with WWW-Authenticate: Bearer),
 * 403 (the role does not admit the principal), 429 (too many failures) or 503.
 */
bool auth_check(struct request *req);

enum auth_verdict {
    AUTH_OK,
    AUTH_INVALID, /* unknown client, wrong secret or disabled client (indistinguishable) */
    AUTH_BLOCKED, /* backed off: this client id at this address, or this address */
    AUTH_ERROR,   /* database trouble */
};

/*
 * Verifies client credentials (token and revocation endpoints). A failure is counted against
 * the (client id, address) pair and the address and written to the audit log; a success
 * clears the pair. On AUTH_BLOCKED *retry_after
 * holds the seconds to wait.
 */
enum auth_verdict auth_client_verify(struct request *req, const char *client_id, const char *secret,
                                     struct principal *out, unsigned *retry_after);

/* Forgets cached tokens of a client whose tokens were revoked, or which was disabled/deleted. */
void auth_evict_client(struct server_ctx *srv, const char *client_uuid);
/* Forgets one cached token (revoked). */
void auth_evict_token(struct server_ctx *srv, const char *token);

/* Hashes a token for storage: SHA-256 as 64 hex digits. */
void auth_token_hash(const char *token, char out[65]);

#define AUTH_SECRET_LEN  43 /* 256 random bits as base64url characters */
#define AUTH_SECRET_SIZE 48 /* a buffer for one, with room for the encoder's terminator */
#define AUTH_HASH_MAX    192

/* A new client_id: "mse_" and 32 random hex digits. */
enum mse_rc auth_client_id_new(char out[MSE_MAX_CLIENT_ID + 1]) MSE_WUR;
/* A new 256-bit client secret and its PBKDF2 hash. */
enum mse_rc auth_secret_new(char secret[AUTH_SECRET_SIZE], char hash[AUTH_HASH_MAX]) MSE_WUR;

#endif
