/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libmicrohttpd glue: the request context handlers receive, capped body reading,
 * request ids, response helpers, and the access log.
 */
#include "http.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "blobstore.h"
#include "db.h"
#include "db_exec.h"
#include "ids.h"
#include "metrics.h"
#include "problem.h"
#include "routes.h"
#include "server.h"
#include "timefmt.h"

/* How long a request waits for a free database connection before answering 503. */
#define HTTP_DB_WAIT_MS 5000

const char *http_status_text(unsigned status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

const char *http_header(struct request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(struct request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

void http_add_header(struct request *req, const char *name, const char *value)
{
    if (req->nextra == HTTP_MAX_EXTRA_HEADERS)
        return;
    char *copy = strdup(value);
    if (!copy)
        return;
    struct http_header *h = &req->extra[req->nextra++];
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->value = copy;
}

static void extra_headers_free(struct request *req)
{
    for (unsigned i = 0; i < req->nextra; i++)
        free(req->extra[i].value);
    req->nextra = 0;
}

static enum mse_rc reply_queue(struct request *req, unsigned status, const char *content_type,
                               struct MHD_Response *resp, size_t len)
{
    if (!resp)
        return MSE_ERR_NOMEM;
    if (req->responded) {
        /* A second reply is a bug in a handler; keep the first. */
        MHD_destroy_response(resp);
        return MSE_ERR_INTERNAL;
    }
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (unsigned i = 0; i < req->nextra; i++)
        MHD_add_response_header(resp, req->extra[i].name, req->extra[i].value);
    if (atomic_load(&req->srv->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    extra_headers_free(req);
    enum MHD_Result ok = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    if (ok != MHD_YES)
        return MSE_ERR_IO;
    req->responded = true;
    req->status = status;
    req->response_bytes = len;
    return MSE_OK;
}

enum mse_rc http_reply(struct request *req, unsigned status, const char *content_type,
                       const char *body, size_t len)
{
    struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    return reply_queue(req, status, content_type, resp, len);
}

enum mse_rc http_reply_take(struct request *req, unsigned status, const char *content_type,
                            char *body, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(body);
    return reply_queue(req, status, content_type, resp, len);
}

enum mse_rc http_reply_fd(struct request *req, unsigned status, const char *content_type, int fd,
                          int64_t offset, int64_t len)
{
    struct MHD_Response *resp =
            MHD_create_response_from_fd_at_offset64((uint64_t)len, fd, (uint64_t)offset);
    if (!resp)
        close(fd);
    return reply_queue(req, status, content_type, resp, (size_t)len);
}

enum mse_rc http_reply_static(struct request *req, unsigned status, const char *content_type,
                              const char *body, size_t len)
{
    struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
    return reply_queue(req, status, content_type, resp, len);
}

/*
 * Every JSON answer is compact: documents PostgreSQL renders (json_build_object writes
 * `"id" : "…"`) would otherwise read differently from those cJSON prints.
 */
enum mse_rc http_reply_json(struct request *req, unsigned status, const char *json)
{
    char *copy = strdup(json);
    if (!copy)
        return MSE_ERR_NOMEM;
    return http_reply_json_take(req, status, copy);
}

enum mse_rc http_reply_json_take(struct request *req, unsigned status, char *json)
{
    cJSON_Minify(json);
    return http_reply_take(req, status, "application/json", json, strlen(json));
}

enum mse_rc http_reply_empty(struct request *req, unsigned status)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    return reply_queue(req, status, NULL, resp, 0);
}

enum mse_rc http_reply_not_modified(struct request *req)
{
    /* libmicrohttpd 0.9.75 puts "Content-Length: 0" on every response of known size; RFC
       9110 (8.6) would rather have none on a 304, but the alternative it offers (unknown
       size) adds "Transfer-Encoding: chunked", which RFC 9112 forbids there outright. */
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    return reply_queue(req, 304, NULL, resp, 0);
}

enum mse_rc http_db(struct request *req, struct db **out)
{
    if (req->db) {
        *out = req->db;
        return MSE_OK;
    }
    struct db_error err;
    enum mse_rc rc = db_pool_acquire(req->srv->pool, HTTP_DB_WAIT_MS, &req->db, &err);
    /* Said in the request's access-log line: one line per request, even in an outage. */
    if (rc != MSE_OK)
        snprintf(req->cause, sizeof(req->cause), "no database connection: %.200s", err.message);
    *out = req->db;
    return rc;
}

/* A client-supplied request id is kept when it is short and harmless in logs. */
static bool request_id_acceptable(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > MSE_MAX_REQUEST_ID)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)id[i]) && !strchr("-_.:", id[i]))
            return false;
    }
    return true;
}

static enum MHD_Result header_size_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    size_t *total = cls;
    *total += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* What the header section says about framing and target, for the RFC 9112 checks. */
struct header_scan {
    unsigned content_length;    /* Content-Length fields */
    unsigned transfer_encoding; /* Transfer-Encoding fields */
    bool chunked_only;          /* the one Transfer-Encoding is exactly "chunked" */
    unsigned host;              /* Host fields */
    const char *spaced_name;    /* a field name with white space in it (before its colon) */
};

static enum MHD_Result header_scan_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct header_scan *f = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->content_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_encoding++;
        f->chunked_only = value && strcasecmp(value, "chunked") == 0;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
        f->host++;
    if (!f->spaced_name && strpbrk(key, " \t"))
        f->spaced_name = key;
    return MHD_YES;
}

/*
 * libmicrohttpd 0.9.75 frames the body by the first Content-Length (or by Transfer-Encoding,
 * ignoring Content-Length), and takes "Content-Length : 5" for a field named "Content-Length "
 * that frames nothing; a proxy in front may read either otherwise, and the bytes one of them
 * takes for body the other runs as a request. So anything but one unambiguous framing is
 * refused (RFC 9112 6.3, 5.1), as is an HTTP/1.1 request without exactly one Host (3.2).
 * Answering before the body is read makes libmicrohttpd close the connection, so nothing
 * after the headers is ever parsed.
 */
static bool headers_ok(struct request *req)
{
    struct header_scan f = { 0 };
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, header_scan_cb, &f);
    char why[160] = "";
    if (f.spaced_name)
        snprintf(why, sizeof(why), "the field name \"%.64s\" contains white space (RFC 9112, 5.1)",
                 f.spaced_name);
    else if (f.content_length > 1)
        snprintf(why, sizeof(why), "%s", "more than one Content-Length header (RFC 9112, 6.3)");
    else if (f.content_length && f.transfer_encoding)
        snprintf(why, sizeof(why), "%s",
                 "both Content-Length and Transfer-Encoding (RFC 9112, 6.3)");
    else if (f.transfer_encoding > 1 || (f.transfer_encoding && !f.chunked_only))
        snprintf(why, sizeof(why), "%s",
                 "a Transfer-Encoding other than one \"chunked\" (RFC 9112, 6.3)");
    else if (f.host > 1 || (f.host == 0 && req->version && strcmp(req->version, "HTTP/1.1") == 0))
        snprintf(why, sizeof(why), "%s",
                 "an HTTP/1.1 request needs exactly one Host header (RFC 9112, 3.2)");
    if (!why[0])
        return true;
    http_add_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
    problem_send(req, 400, "the request is ambiguous: %s", why);
    return false;
}

static void client_address(struct MHD_Connection *conn, char *out, size_t size)
{
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, size, "-");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)size);
}

/* The idle timeout of conn, in whole seconds (libmicrohttpd's unit), at least one. */
static void connection_timeout_set(struct MHD_Connection *conn, int64_t ms)
{
    unsigned s = ms <= 1000 ? 1u : (unsigned)((ms + 999) / 1000);
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, s);
}

/* Milliseconds left of MSE_REQUEST_TIMEOUT for req to arrive (negative: overdue). */
static int64_t request_time_left_ms(const struct request *req)
{
    int64_t spent = (mse_time_mono_us() - req->start_us) / 1000;
    return (int64_t)req->srv->cfg.request_timeout * 1000 - spent;
}

/*
 * Called by libmicrohttpd once a request line is in: the request's clock starts here, and the
 * connection's idle timeout is shortened to what is left of MSE_REQUEST_TIMEOUT. Its result
 * becomes *con_cls; on_completed frees it even when libmicrohttpd answers the request itself.
 */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)uri;
    struct server_ctx *srv = cls;
    struct request *req = calloc(1, sizeof(*req));
    if (req)
        req->body_fd = -1;
    if (!req)
        return NULL; /* on_request tries again */
    req->srv = srv;
    req->conn = conn;
    req->start_us = mse_time_mono_us();
    atomic_fetch_add(&srv->in_flight, 1);
    if (srv->cfg.request_timeout < srv->cfg.connection_timeout)
        connection_timeout_set(conn, (int64_t)srv->cfg.request_timeout * 1000);
    return req;
}

/* Completes (or, when on_request_line could not, allocates) the context once headers are in. */
static struct request *request_new(struct server_ctx *srv, struct MHD_Connection *conn,
                                   struct request *req, const char *url, const char *method,
                                   const char *version)
{
    if (!req) {
        req = on_request_line(srv, url, conn);
        if (!req)
            return NULL;
    }
    req->url = url;
    req->method = method;
    req->version = version;
    mse_buf_init(&req->body, srv->cfg.max_body);
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && request_id_acceptable(rid))
        snprintf(req->request_id, sizeof(req->request_id), "%s", rid);
    else
        mse_uuid_new(req->request_id);
    mse_log_ctx_add(&req->log, "request_id", req->request_id);
    client_address(conn, req->remote_addr, sizeof(req->remote_addr));
    return req;
}

static void request_free(struct request *req)
{
    if (!req)
        return;
    park_disarm(req);
    db_pool_release(req->srv->pool, req->db);
    extra_headers_free(req);
    mse_buf_cleanup(&req->body);
    if (req->body_fd >= 0)
        close(req->body_fd);
    free(req->path_copy);
    atomic_fetch_sub(&req->srv->in_flight, 1);
    free(req);
}

/*
 * A spool route's client is authenticated and authorised before its body is read, and the
 * body then goes to an unlinked file in the blob store's staging directory. false when a
 * response (401, 403, 500) was queued.
 */
static bool spool_open(struct request *req)
{
    const struct route_match *m = &req->match;
    req->route = m->route;
    memcpy(req->params, m->params, sizeof(req->params));
    req->nparams = m->nparams;
    if (!auth_check(req))
        return false;
    req->authenticated = true;
    req->body_fd = blobstore_tmpfile(req->srv->blobs);
    if (req->body_fd < 0) {
        snprintf(req->cause, sizeof(req->cause), "cannot create a spool file: %s", strerror(errno));
        problem_send(req, 500, "the content could not be received");
        return false;
    }
    return true;
}

/* Checks made before any body byte is read. Returns false when a response was queued. */
static bool request_precheck(struct request *req)
{
    size_t header_bytes = 0;
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, header_size_cb, &header_bytes);
    if (header_bytes > MSE_MAX_REQUEST_HEADERS) {
        problem_send(req, 431, "request headers total %zu bytes; the limit is %u", header_bytes,
                     MSE_MAX_REQUEST_HEADERS);
        return false;
    }
    if (!headers_ok(req))
        return false;
    int64_t left = request_time_left_ms(req);
    if (left <= 0) {
        http_add_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
        problem_send(req, 408, "the request headers took longer than %u s to arrive",
                     req->srv->cfg.request_timeout);
        return false;
    }
    /* A body that stalls ends when the request's time is up, not after the idle timeout. */
    if (left < (int64_t)req->srv->cfg.connection_timeout * 1000)
        connection_timeout_set(req->conn, left);
    /* The route is found once, here; dispatch() answers from it after the body is read. */
    req->path_copy = strdup(req->url);
    if (!req->path_copy) {
        problem_send(req, 500, "out of memory");
        return false;
    }
    req->match_result =
            route_find(routes_table, routes_count, req->method, req->path_copy, &req->match);
    /* Routes that take bulk data (worker submissions, attachment content) set their own cap. */
    size_t cap = req->srv->cfg.max_body;
    if (req->match_result == ROUTE_FOUND && req->match.route->max_body)
        cap = req->match.route->max_body;
    bool spooled = req->match_result == ROUTE_FOUND && cap == ROUTE_BODY_SPOOLED;
    if (spooled)
        cap = req->srv->cfg.max_content;
    req->body.max = cap;
    if (spooled && !spool_open(req))
        return false;
    const char *cl = http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        unsigned long long n = strtoull(cl, NULL, 10);
        if (n > cap)
            req->body_too_large = true;
        /* Far too large to drain politely: answer now, libmicrohttpd then closes. */
        if ((n > MSE_MAX_DISCARD_BODY && n > cap) || (n > cap && cap > MSE_MAX_DISCARD_BODY / 2)) {
            problem_send(req, 413, "request body of %llu bytes exceeds the limit of %zu bytes", n,
                         cap);
            return false;
        }
    }
    return true;
}

static void body_feed(struct request *req, const char *data, size_t n)
{
    req->body_seen += n;
    if (req->body_too_large)
        return; /* drained so the client can read our 413 */
    if (req->body_fd >= 0) {
        if (req->body_spooled + n > req->body.max) {
            req->body_too_large = true;
            return;
        }
        while (n && !req->body_spool_errno) {
            ssize_t w = write(req->body_fd, data, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                req->body_spool_errno = w < 0 ? errno : EIO;
                break;
            }
            data += w;
            n -= (size_t)w;
            req->body_spooled += (size_t)w;
        }
        return;
    }
    if (mse_buf_append(&req->body, data, n) != MSE_OK)
        req->body_too_large = true;
}

static void dispatch(struct request *req)
{
    if (req->body_too_large) {
        problem_send(req, 413, "request body exceeds the limit of %zu bytes", req->body.max);
        return;
    }
    if (req->body_spool_errno) {
        snprintf(req->cause, sizeof(req->cause), "spooling the body: %s",
                 strerror(req->body_spool_errno));
        problem_send(req, req->body_spool_errno == ENOSPC ? 507 : 500,
                     "the content could not be received");
        return;
    }
    const struct route_match *m = &req->match;
    switch (req->match_result) {
    case ROUTE_NOT_FOUND:
        problem_send(req, 404, "no resource at %s", req->url);
        return;
    case ROUTE_METHOD_NOT_ALLOWED:
        http_add_header(req, "Allow", m->allow);
        problem_send(req, 405, "%s is not allowed here; allowed: %s", req->method, m->allow);
        return;
    case ROUTE_FOUND:
        break;
    }
    req->route = m->route;
    memcpy(req->params, m->params, sizeof(req->params));
    req->nparams = m->nparams;
    if (!req->authenticated && !auth_check(req))
        return; /* auth_check answered 401/403/429 */
    /*
     * Changes take everything from the body; a query string there is a client's mistake. The
     * journal is the exception: its body is the message as is, so the envelope cannot be in it.
     */
    if (m->route->role != ROLE_PUBLIC && m->route->role != ROLE_JOURNAL &&
        strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
        MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0) {
        problem_send(req, 400, "%s takes no query parameters", req->method);
        return;
    }
    m->route->handler(req);
    if (!req->responded && !req->parked)
        problem_send(req, 500, "the handler produced no response");
}

/* A parked request was woken (park.h): its handler answers, or parks it again. */
static void dispatch_resumed(struct request *req)
{
    req->parked = false;
    LOG_DEBUG(&req->log, "parked request woken");
    req->route->handler(req);
    if (!req->responded && !req->parked)
        problem_send(req, 500, "the handler produced no response");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct request *req = *con_cls;
    if (!req || !req->method) {
        req = request_new(cls, conn, req, url, method, version);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        if (!request_precheck(req))
            req->dispatched = true;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* A body trickling in keeps the idle timeout from firing; the total time cap ends
           it. libmicrohttpd 0.9.75 takes no response in mid-body, so the connection closes. */
        /* Content (a spool route) may take long on a slow link: only the idle timeout ends it. */
        if (!req->dispatched && req->body_fd < 0 && request_time_left_ms(req) <= 0) {
            req->status = 408; /* for the access log: no response can be sent */
            return MHD_NO;
        }
        body_feed(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->dispatched) {
        if (req->parked && !req->responded)
            dispatch_resumed(req);
        return MHD_YES;
    }
    req->dispatched = true;
    /* The request is in: what remains (handler, response) gets the ordinary idle timeout. */
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                              req->srv->cfg.connection_timeout);
    dispatch(req);
    return req->responded || req->parked ? MHD_YES : MHD_NO;
}

/* Appends `,"key":"value"` with value escaped and redacted. */
static enum mse_rc log_field(struct mse_buf *b, const char *key, const char *value)
{
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", value);
    enum mse_rc rc = mse_buf_printf(b, ",\"%s\":\"", key);
    if (rc == MSE_OK)
        rc = mse_buf_json_escape(b, mse_log_redact(copy));
    return rc == MSE_OK ? mse_buf_puts(b, "\"") : rc;
}

/*
 * One JSON access-log line per request, written when libmicrohttpd is done with it; it carries
 * the problem's detail and the cause of a failure, which are therefore not logged apart.
 */
static void access_log(struct request *req, enum MHD_RequestTerminationCode toe)
{
    struct mse_buf b;
    double ms = (double)(mse_time_mono_us() - req->start_us) / 1000.0;
    mse_buf_init(&b, 8192);
    enum mse_rc rc = mse_buf_printf(&b, "\"request_id\":\"%s\",\"method\":\"", req->request_id);
    if (rc == MSE_OK)
        rc = mse_buf_json_escape(&b, req->method);
    if (rc == MSE_OK)
        rc = mse_buf_puts(&b, "\",\"path\":\"");
    if (rc == MSE_OK)
        rc = mse_buf_json_escape(&b, req->url);
    if (rc == MSE_OK)
        rc = mse_buf_printf(
                &b,
                "\",\"route\":\"%s\",\"status\":%u,\"duration_ms\":%.3f,"
                "\"bytes_in\":%zu,\"bytes_out\":%zu,\"remote\":\"%s\",\"client\":\"%s\"",
                req->route ? req->route->pattern : "", req->status, ms, req->body_seen,
                req->response_bytes, req->remote_addr, req->principal.client_id);
    if (rc == MSE_OK && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        rc = mse_buf_printf(&b, ",\"aborted\":%d", (int)toe);
    if (rc == MSE_OK && req->detail[0])
        rc = log_field(&b, "detail", req->detail);
    if (rc == MSE_OK && req->cause[0])
        rc = log_field(&b, "cause", req->cause);
    /* A server-side failure is an error line, so that MSE_LOG_LEVEL=error still shows it. */
    if (rc == MSE_OK)
        mse_log_fields(req->status >= 500                ? MSE_LOG_ERROR
                       : req->quiet && req->status < 300 ? MSE_LOG_DEBUG
                                                         : MSE_LOG_INFO,
                       b.data);
    mse_buf_cleanup(&b);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    struct request *req = *con_cls;
    if (!req)
        return;
    if (!req->method) {
        /* libmicrohttpd answered the request line or headers itself (and logged why). */
        request_free(req);
        *con_cls = NULL;
        return;
    }
    access_log(req, toe);
    size_t row = req->route ? (size_t)(req->route - routes_table) : SIZE_MAX;
    metrics_observe_request(row, req->status, mse_time_mono_us() - req->start_us);
    request_free(req);
    *con_cls = NULL;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    /* Limited per libmicrohttpd message, not as one "libmicrohttpd: %s" for all of them. */
    mse_log_write_keyed(MSE_LOG_WARN, NULL, fmt, "libmicrohttpd: %s", msg);
}

enum mse_rc http_start(struct server_ctx *srv, struct mse_err *err)
{
    const struct server_config *cfg = &srv->cfg;
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
    struct addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%u", cfg->listen_port);
    int gai = getaddrinfo(cfg->listen_host, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot resolve %.100s: %s", cfg->listen_host,
                 gai_strerror(gai));
        return MSE_ERR_INVALID;
    }
    if (park_start(cfg->database_url, DB_EXEC_CLAIMABLE_CHANNEL, &srv->park, err) != MSE_OK) {
        freeaddrinfo(ai);
        return MSE_ERR_NOMEM;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->mhd = MHD_start_daemon(
            flags, cfg->listen_port, NULL, NULL, on_request, srv,
            /* The logger must come first to catch messages about the other options. */
            MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)cfg->connection_timeout, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            (unsigned)cfg->per_ip_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)MSE_MHD_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
            MHD_OPTION_URI_LOG_CALLBACK, on_request_line, srv, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!srv->mhd) {
        snprintf(err->msg, sizeof(err->msg), "cannot listen on %.100s:%u (in use or not permitted)",
                 cfg->listen_host, cfg->listen_port);
        return MSE_ERR_IO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : cfg->listen_port;
    return MSE_OK;
}

void http_stop(struct server_ctx *srv, unsigned grace)
{
    if (!srv->mhd) {
        park_free(srv->park);
        srv->park = NULL;
        return;
    }
    /* Close the listening socket first so new clients are refused at once. */
    MHD_socket fd = MHD_quiesce_daemon(srv->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    /* Parked requests answer now, and none parks any more: libmicrohttpd refuses to stop
       while a connection is suspended, and a parked claim must not outlast the grace. */
    park_shutdown(srv->park);
    int64_t deadline = mse_time_mono_ms() + (int64_t)grace * 1000;
    while (atomic_load(&srv->in_flight) > 0 && mse_time_mono_ms() < deadline)
        usleep(20 * 1000);
    int left = atomic_load(&srv->in_flight);
    if (left > 0)
        LOG_WARN(NULL, "shutdown grace period over; %d requests cut off", left);
    MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
    /* Only now: until the daemon stopped, finishing requests still leave the park. */
    park_free(srv->park);
    srv->park = NULL;
}
