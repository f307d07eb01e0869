/* SPDX-License-Identifier: Apache-2.0 */
/* libmicrohttpd glue: a thread pool serving /EWS/Exchange.asmx and the /_sim/ control API. */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "control.h"
#include "crypto.h"
#include "ews.h"
#include "graph.h"
#include "ids.h"
#include "sim_limits.h"
#include "timefmt.h"

struct conn {
    struct sim *sim;
    struct MHD_Connection *mc;
    struct mse_buf body;
    bool too_large;
    bool answered;
    char request_id[MSE_UUID_STR_LEN + 1];
    struct mse_log_ctx log;
    int64_t start_us;
    unsigned status;
    size_t bytes_out;
    unsigned account_slot;        /* realism_leave when the request ends */
    struct MHD_Response *pending; /* a reply waiting out its latency (suspended) */
};

/* The cut-off fault: half of the body, then the connection is dropped. */
struct cutoff {
    char *body;
    size_t len;
};

/* Delivers the first half, then ends with an error: libmicrohttpd drops the connection. */
static ssize_t cutoff_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct cutoff *c = cls;
    size_t half = c->len / 2;
    if (pos >= half)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = half - (size_t)pos < max ? half - (size_t)pos : max;
    memcpy(buf, c->body + pos, n);
    return (ssize_t)n;
}

/* Frees the cut-off response state (called by libmicrohttpd). */
static void cutoff_free(void *cls)
{
    struct cutoff *c = cls;
    free(c->body);
    free(c);
}

/* A response owning r->body; the cut-off fault gets a callback response. */
static struct MHD_Response *response_make(struct ews_reply *r)
{
    if (!r->cutoff)
        return MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
    struct cutoff *c = malloc(sizeof(*c));
    if (!c)
        return NULL;
    c->body = r->body;
    c->len = r->len;
    struct MHD_Response *resp =
            MHD_create_response_from_callback(r->len, 4096, cutoff_read, c, cutoff_free);
    if (!resp)
        free(c);
    return resp;
}

/* Exchange's budget counts a request until its answer goes out, not until the client has it. */
static void account_release(struct conn *c)
{
    realism_leave(&c->sim->realism, c->account_slot);
    c->account_slot = 0;
}

/* Queues r with its headers; the body now belongs to libmicrohttpd. */
static enum MHD_Result reply_send(struct conn *c, struct ews_reply *r)
{
    struct MHD_Response *resp = response_make(r);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    r->body = NULL; /* owned by the response now */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(resp, "X-Request-Id", c->request_id);
    if (r->www_authenticate)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"ews-sim\"");
    if (r->retry_after) {
        char v[16];
        snprintf(v, sizeof(v), "%u", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    if (atomic_load(&c->sim->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    c->status = r->status;
    c->bytes_out = r->len;
    c->answered = true;
    int64_t delay = r->paced ? realism_delay_us(&c->sim->realism, r->len) : 0;
    if (delay > 0) {
        /* Suspended before the pacer can resume it; on_request sends it when resumed. */
        c->pending = resp;
        MHD_suspend_connection(c->mc);
        if (!realism_schedule(&c->sim->realism, c, delay))
            MHD_resume_connection(c->mc);
        return MHD_YES;
    }
    account_release(c);
    enum MHD_Result ok = MHD_queue_response(c->mc, r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* The pacer's call: the reply's time has come. */
static void conn_resume(void *conn)
{
    struct conn *c = conn;
    MHD_resume_connection(c->mc);
}

/* Sends the reply that waited out its latency. */
static enum MHD_Result pending_send(struct conn *c)
{
    struct MHD_Response *resp = c->pending;
    c->pending = NULL;
    account_release(c);
    enum MHD_Result ok = MHD_queue_response(c->mc, c->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* Text replies of the HTTP layer itself (404, 405, 413, 403). */
static enum MHD_Result reply_plain(struct conn *c, unsigned status, const char *text,
                                   const char *allow)
{
    struct ews_reply r = { .status = status, .content_type = "text/plain; charset=utf-8" };
    r.body = strdup(text);
    r.len = r.body ? strlen(text) : 0;
    if (!r.body)
        return MHD_NO;
    struct MHD_Response *resp = response_make(&r);
    if (!resp) {
        free(r.body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    c->status = status;
    c->answered = true;
    enum MHD_Result ok = MHD_queue_response(c->mc, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* Request header or NULL. */
static const char *header(struct conn *c, const char *name)
{
    return MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, name);
}

/* Query-string look-up handed to the control API. */
static const char *query_get(void *cls, const char *name)
{
    return MHD_lookup_connection_value(cls, MHD_GET_ARGUMENT_KIND, name);
}

/* 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
static bool client_is_loopback(struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return false;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* Control access: the bearer token when one is configured, else loopback clients only. */
static bool control_allowed(struct conn *c)
{
    const char *token = c->sim->cfg.control_token;
    if (!token[0])
        return client_is_loopback(c->mc);
    const char *auth = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
    size_t n = strlen(token);
    return auth && strncasecmp(auth, "Bearer ", 7) == 0 && strlen(auth + 7) == n &&
           mse_crypto_equal(auth + 7, token, n);
}

/* Percent-encodes s onto b (all but RFC 3986 unreserved characters). */
static enum mse_rc query_escape_append(struct mse_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~' ||
                     ch == '$';
        enum mse_rc rc = plain ? mse_buf_append(b, s, 1) : mse_buf_printf(b, "%%%02X", ch);
        if (rc != MSE_OK)
            return rc;
    }
    return MSE_OK;
}

/* Appends one query argument to the raw query string being rebuilt (cls is a struct mse_buf). */
static enum MHD_Result query_collect(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct mse_buf *b = cls;
    if ((b->len && mse_buf_append(b, "&", 1) != MSE_OK) || query_escape_append(b, key) != MSE_OK ||
        (value && (mse_buf_append(b, "=", 1) != MSE_OK || query_escape_append(b, value) != MSE_OK)))
        return MHD_NO;
    return MHD_YES;
}

/* A Graph or identity-platform request: the raw query string rebuilt, then graph_process. */
static enum mse_rc graph_request(struct conn *c, const char *url, const char *method,
                                 struct ews_reply *r)
{
    struct mse_buf q;
    mse_buf_init(&q, 8192);
    MHD_get_connection_values(c->mc, MHD_GET_ARGUMENT_KIND, query_collect, &q);
    /* Behind a TLS-terminating proxy the links Graph returns name the proxy, as clients need. */
    const char *fwd_host = header(c, "X-Forwarded-Host"),
               *fwd_proto = header(c, "X-Forwarded-Proto");
    if (fwd_proto && strcmp(fwd_proto, "https") != 0 && strcmp(fwd_proto, "http") != 0)
        fwd_proto = NULL;
    struct graph_request rq = { .method = method,
                                .path = url,
                                .query = q.data ? q.data : "",
                                .authorization = header(c, MHD_HTTP_HEADER_AUTHORIZATION),
                                .prefer = header(c, "Prefer"),
                                .host = fwd_host ? fwd_host : header(c, MHD_HTTP_HEADER_HOST),
                                .scheme = fwd_proto ? fwd_proto : "http",
                                .body = c->body.data ? c->body.data : "",
                                .len = c->body.len };
    enum mse_rc rc = graph_process(c->sim, &rq, &c->log, r);
    c->account_slot = r->account_slot;
    mse_buf_cleanup(&q);
    return rc;
}

/* Routes a complete request: EWS, the control API, or 404. */
static enum MHD_Result dispatch(struct conn *c, const char *url, const char *method)
{
    struct ews_reply r;
    enum mse_rc rc;
    if (c->too_large)
        return reply_plain(c, 413, "request body too large\n", NULL);
    if (strcasecmp(url, "/EWS/Exchange.asmx") == 0) {
        if (strcmp(method, "POST") != 0)
            return reply_plain(c, 405, "EWS takes SOAP requests by POST\n", "POST");
        rc = ews_process(c->sim, header(c, MHD_HTTP_HEADER_AUTHORIZATION),
                         header(c, "X-AnchorMailbox"), c->body.data ? c->body.data : "",
                         c->body.len, &c->log, &r);
        r.paced = true;
        c->account_slot = r.account_slot;
    } else if (strncmp(url, "/_sim/", 6) == 0 || strcmp(url, "/_sim") == 0) {
        if (!control_allowed(c))
            return reply_plain(c, 403,
                               "the control API answers loopback clients, or the bearer token "
                               "EWS_SIM_CONTROL_TOKEN\n",
                               NULL);
        struct control_query q = { query_get, c->mc };
        rc = control_handle(c->sim, method, url, &q, c->body.data ? c->body.data : "", c->body.len,
                            &c->log, &r);
    } else if (graph_path(url)) {
        rc = graph_request(c, url, method, &r);
    } else {
        return reply_plain(c, 404, "not found (EWS is at /EWS/Exchange.asmx)\n", NULL);
    }
    if (rc != MSE_OK && !r.body)
        return MHD_NO;
    return reply_send(c, &r);
}

/* Per-request state; an announced body over the cap is refused once read. */
static struct conn *conn_new(struct sim *sim, struct MHD_Connection *mc)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->sim = sim;
    c->mc = mc;
    c->start_us = mse_time_mono_us();
    mse_buf_init(&c->body, sim->cfg.max_body);
    mse_uuid_new(c->request_id);
    mse_log_ctx_add(&c->log, "request_id", c->request_id);
    const char *cl =
            MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > sim->cfg.max_body)
        c->too_large = true;
    atomic_fetch_add(&sim->in_flight, 1);
    return c;
}

/* libmicrohttpd's request callback: header pass, body chunks, then dispatch. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    (void)version;
    struct conn *c = *con_cls;
    if (!c) {
        *con_cls = c = conn_new(cls, mc);
        return c ? MHD_YES : MHD_NO;
    }
    if (*data_size) {
        if (!c->too_large && mse_buf_append(&c->body, data, *data_size) != MSE_OK)
            c->too_large = true;
        *data_size = 0;
        return MHD_YES;
    }
    if (c->pending)
        return pending_send(c);
    if (c->answered)
        return MHD_YES;
    return dispatch(c, url, method);
}

/* The debug access-log line, then the request state is freed. */
static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)mc;
    struct sim *sim = cls;
    struct conn *c = *con_cls;
    if (!c)
        return;
    double ms = (double)(mse_time_mono_us() - c->start_us) / 1000.0;
    char fields[256];
    snprintf(fields, sizeof(fields),
             "\"request_id\":\"%s\",\"status\":%u,\"duration_ms\":%.3f,\"bytes_in\":%zu,"
             "\"bytes_out\":%zu%s",
             c->request_id, c->status, ms, c->body.len, c->bytes_out,
             toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : ",\"aborted\":true");
    mse_log_fields(MSE_LOG_DEBUG, fields);
    realism_leave(&sim->realism, c->account_slot); /* a request that never got its answer */
    if (c->pending)
        MHD_destroy_response(c->pending);
    mse_buf_cleanup(&c->body);
    free(c);
    *con_cls = NULL;
    atomic_fetch_sub(&sim->in_flight, 1);
}

/* libmicrohttpd's own messages go through our log. */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    LOG_WARN(NULL, "libmicrohttpd: %s", msg);
}

enum mse_rc http_start(struct sim *sim, struct mse_err *err)
{
    const struct sim_config *cfg = &sim->cfg;
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
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    sim->mhd = MHD_start_daemon(flags, cfg->listen_port, NULL, NULL, on_request, sim,
                                MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_SOCK_ADDR,
                                ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
                                MHD_OPTION_CONNECTION_TIMEOUT, SIM_CONNECTION_TIMEOUT,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SIM_CONNECTION_MEMORY,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, sim, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!sim->mhd) {
        snprintf(err->msg, sizeof(err->msg), "cannot listen on %.100s:%u (in use or not permitted)",
                 cfg->listen_host, cfg->listen_port);
        return MSE_ERR_IO;
    }
    if (realism_start(&sim->realism, conn_resume) != MSE_OK) {
        MHD_stop_daemon(sim->mhd);
        sim->mhd = NULL;
        snprintf(err->msg, sizeof(err->msg), "cannot start the latency pacer's thread");
        return MSE_ERR_NOMEM;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(sim->mhd, MHD_DAEMON_INFO_BIND_PORT);
    sim->port = di ? di->port : cfg->listen_port;
    return MSE_OK;
}

void http_stop(struct sim *sim)
{
    if (!sim->mhd)
        return;
    /* Replies waiting out latency go now: libmicrohttpd must not stop with suspended ones. */
    realism_stop(&sim->realism);
    MHD_socket fd = MHD_quiesce_daemon(sim->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    int64_t deadline = mse_time_mono_ms() + SIM_STOP_GRACE_MS;
    while (atomic_load(&sim->in_flight) > 0 && mse_time_mono_ms() < deadline)
        usleep(10 * 1000);
    MHD_stop_daemon(sim->mhd);
    sim->mhd = NULL;
}
