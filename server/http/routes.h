/* SPDX-License-Identifier: Apache-2.0 */
/* The one route table: method, path pattern, handler, and the role a caller needs. */
#ifndef MSE_ROUTES_H
#define MSE_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mse/limits.h"

struct request;

/* Who may call a route. */
enum route_role {
    ROLE_PUBLIC,  /* anyone, no token */
    ROLE_READ,    /* admin or read_only API clients */
    ROLE_ADMIN,   /* admin API clients */
    ROLE_SITE,    /* a site's own credential (worker protocol) */
    ROLE_METRICS, /* public, or ROLE_READ when MSE_METRICS_AUTH is set */
    ROLE_DOCS,    /* ROLE_READ, or public when MSE_DOCS_PUBLIC is set */
    ROLE_JOURNAL, /* admin or journal API clients (an MTA's journal feed) */
    ROLE_MAILBOX, /* mailbox_user clients: an end user's own mailbox and its delegates */
};

typedef void (*route_handler)(struct request *req);

/*
 * max_body of a route whose body goes to an unlinked file (request.body_fd) instead of
 * memory, capped by MSE_MAX_CONTENT_BYTES: content that may be far larger than any JSON body.
 * The client is authenticated before a byte of it is written, so only a site's own
 * credentials can fill the disk.
 */
#define ROUTE_BODY_SPOOLED SIZE_MAX

struct route {
    const char *method;  /* "GET", "POST", … (HEAD is served by GET routes) */
    const char *pattern; /* "/api/v1/sites/{id}": literal segments and {placeholders} */
    route_handler handler;
    enum route_role role;
    size_t max_body; /* request body cap for this route; 0 = MSE_MAX_BODY_BYTES */
};

enum route_result { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED };

struct route_match {
    const struct route *route;
    /* Placeholder values, pointing into the caller's path buffer (which gets split). */
    const char *params[MSE_MAX_PATH_SEGMENTS];
    unsigned nparams;
    char allow[128]; /* for ROUTE_METHOD_NOT_ALLOWED: "GET, HEAD, POST" */
};

/*
 * Finds the row of table matching method and path. path is modified (split at '/').
 * ROUTE_METHOD_NOT_ALLOWED when the path matches some row but not with this method.
 */
enum route_result route_find(const struct route *table, size_t n, const char *method, char *path,
                             struct route_match *m);

/* The server's table. */
extern const struct route routes_table[];
extern const size_t routes_count;

#endif
