/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libmicrohttpd glue: the request context handlers receive, capped body reading,
 * request ids, response helpers, and the access log.
 */
#ifndef MSE_HTTP_H
#define MSE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "log.h"
#include "mse/limits.h"
#include "mse/rc.h"
#include "park.h"
#include "principal.h"
#include "routes.h"

struct server_ctx;
struct MHD_Connection;
struct route;
struct db;

#define HTTP_MAX_EXTRA_HEADERS 12

struct http_header {
    char name[32];
    char *value; /* owned */
};

struct request {
    struct server_ctx *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;     /* path, percent-decoded, without the query */
    const char *version; /* "HTTP/1.1", as libmicrohttpd read it */
    char request_id[MSE_MAX_REQUEST_ID + 1];
    char remote_addr[64]; /* the peer's IP address as text ("-" when unknown) */
    int64_t start_us;
    struct mse_log_ctx log;

    /* Body: kept up to the cap, counted and dropped beyond it. */
    struct mse_buf body;
    int body_fd;          /* spool routes: the body in an unlinked file; else -1 */
    size_t body_spooled;  /* bytes written to body_fd */
    int body_spool_errno; /* a write to body_fd failed (the request is answered 507/500) */
    bool authenticated;   /* auth_check passed already (spool routes check before the body) */
    size_t body_seen;
    bool body_too_large;
    bool first_call_done;
    bool dispatched;

    /* Routing: found before the body is read (its cap depends on the route), answered after. */
    enum route_result match_result;
    struct route_match match; /* params point into path_copy */
    /* The matched row and its {placeholders}, in pattern order, once the route is admitted. */
    const struct route *route;
    char *path_copy;
    const char *params[MSE_MAX_PATH_SEGMENTS];
    unsigned nparams;

    struct principal principal; /* filled by auth_check before the handler runs */
    struct db *db; /* acquired on demand by http_db(), released when the request ends */

    /* Response bookkeeping for the access log. */
    unsigned status;
    char detail[256]; /* the problem's detail, when the response was one */
    char cause[256];  /* why the server could not do its part (database unreachable …) */
    size_t response_bytes;
    bool responded;
    /* A routine answer a worker asks for every few seconds (an idle claim poll, a heartbeat):
     * its access-log line is debug, so that idle sites do not flood the log. */
    bool quiet;
    struct http_header extra[HTTP_MAX_EXTRA_HEADERS];
    unsigned nextra;

    /* A handler may park the request (park.h); it runs again when the request is woken. */
    struct park_entry park;
    bool parked; /* suspended now: the handler returned without a response */
};

/* Starts the daemon on cfg's address; fills srv->mhd and srv->port. */
enum mse_rc http_start(struct server_ctx *srv, struct mse_err *err) MSE_WUR;
/*
 * Stops accepting connections, lets in-flight requests finish for up to grace seconds,
 * then stops the daemon.
 */
void http_stop(struct server_ctx *srv, unsigned grace);

/* Header value from the request, or NULL. */
const char *http_header(struct request *req, const char *name);
/* Query-string argument, or NULL. */
const char *http_query(struct request *req, const char *name);
/* Adds a response header to the next reply (copied). Silently ignores overflow past the cap. */
void http_add_header(struct request *req, const char *name, const char *value);

/*
 * Sends body (len bytes, copied) with the given status and content type. Every reply carries
 * X-Request-Id and the headers added with http_add_header. Returns MSE_OK or MSE_ERR_NOMEM.
 */
enum mse_rc http_reply(struct request *req, unsigned status, const char *content_type,
                       const char *body, size_t len);
/* Same, taking ownership of a malloc'd body. */
enum mse_rc http_reply_take(struct request *req, unsigned status, const char *content_type,
                            char *body, size_t len);
/* Same, for data that outlives the server (compiled-in assets): nothing is copied. */
/*
 * Sends len bytes of the file fd from offset (libmicrohttpd reads it as the client takes it).
 * fd is taken: it is closed when the response is done, or now if it cannot be sent.
 */
enum mse_rc http_reply_fd(struct request *req, unsigned status, const char *content_type, int fd,
                          int64_t offset, int64_t len);
enum mse_rc http_reply_static(struct request *req, unsigned status, const char *content_type,
                              const char *body, size_t len);
/* Sends `{...}` JSON text. */
enum mse_rc http_reply_json(struct request *req, unsigned status, const char *json);
/* Sends a malloc'd JSON text, taking ownership of it. */
enum mse_rc http_reply_json_take(struct request *req, unsigned status, char *json);
/* Sends 304 Not Modified (the headers added with http_add_header, no body). */
enum mse_rc http_reply_not_modified(struct request *req);
/* Sends an empty response (204, or 200 with no body). */
enum mse_rc http_reply_empty(struct request *req, unsigned status);

/* Connection from the pool for this request (acquired once, released at the end). */
enum mse_rc http_db(struct request *req, struct db **out) MSE_WUR;

/* Reason phrase for a status code ("Not Found"). */
const char *http_status_text(unsigned status);

#endif
