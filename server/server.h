/* SPDX-License-Identifier: Apache-2.0 */
/* The server's process-wide context, passed explicitly to every layer that needs it. */
#ifndef MSE_SERVER_H
#define MSE_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config_server.h"
#include "secrets.h"

struct db_pool;
struct MHD_Daemon;
struct token_cache;
struct ratelimit;
struct blobstore;
struct park;

struct server_ctx {
    struct server_config cfg;
    struct db_pool *pool;
    struct MHD_Daemon *mhd;
    uint16_t port;        /* bound port (differs from cfg when 0 was asked) */
    atomic_int in_flight; /* requests accepted and not yet completed */
    atomic_bool stopping; /* set by SIGTERM/SIGINT */
    int64_t started_mono_ms;
    struct secrets secrets;          /* master key for data sealed at rest */
    struct token_cache *tokens;      /* bearer tokens validated recently */
    struct ratelimit *auth_failures; /* failure back-off per address and (client id, address) */
    struct blobstore *blobs;         /* all content: attachments (fs or s3) */
    struct park *park;               /* requests waiting for a notification (claims) */
};

#endif
