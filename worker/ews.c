/* SPDX-License-Identifier: Apache-2.0 */
/* EWS transport: one libcurl handle per mailbox session, SOAP envelopes, the retry loop. */
#include "ews.h"
#include "ews_gate.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backoff.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "mse/limits.h"
#include "timefmt.h"

/* Longest mailbox address accepted (RFC 5321 path limit plus slack). */
#define EWS_MAX_ADDRESS 320
/* Response buffers bigger than this are released after each call instead of kept. */
#define EWS_KEEP_BUFFER (1024u * 1024u)
/* Granularity of interruptible waits. */
#define EWS_SLEEP_SLICE_MS 50

struct ews_session {
    const struct ews_config *cfg;
    CURL *curl;
    struct curl_slist *hdr_base;    /* Content-Type, Accept */
    struct curl_slist *hdr_mailbox; /* the same plus X-AnchorMailbox */
    char *mailbox;
    struct mse_buf body;    /* response of the current request */
    bool body_too_large;    /* the write callback hit the cap */
    bool body_nomem;        /* the write callback could not allocate */
    int64_t retry_after_ms; /* Retry-After of the current response, -1 when absent */
    char curl_err[CURL_ERROR_SIZE];
    const atomic_bool *stop;
    const atomic_bool *cancel;
    uint64_t seed;
    struct ews_stats stats;
    struct mse_log_ctx log;
};

void ews_config_defaults(struct ews_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->auth = EWS_AUTH_BASIC;
    cfg->impersonation = true;
    cfg->version = "Exchange2013_SP1";
    cfg->tls_verify = true;
    cfg->connect_timeout_ms = 15000;
    cfg->timeout_ms = 300000;
    cfg->max_response = MSE_EWS_MAX_RESPONSE_DEFAULT;
    cfg->retry_max = 10;
    cfg->retry_max_wait_ms = 15 * 60 * 1000;
    cfg->backoff_base_ms = 1000;
    cfg->backoff_cap_ms = 60000;
    cfg->backoff_hint_max_ms = 5 * 60 * 1000;
    cfg->auth_retries = 2;
    cfg->user_agent = "mse-worker/" MSE_VERSION;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct ews_session *s = ud;
    enum mse_rc rc = mse_buf_append(&s->body, p, size * n);
    if (rc == MSE_OK)
        return size * n;
    /* Returning less than offered makes libcurl abort the transfer with CURLE_WRITE_ERROR. */
    if (rc == MSE_ERR_TOO_LARGE)
        s->body_too_large = true;
    else
        s->body_nomem = true;
    return 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct ews_session *s = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        char v[32];
        size_t vl = len - (sizeof(name) - 1);
        if (vl >= sizeof(v))
            vl = sizeof(v) - 1;
        memcpy(v, p + sizeof(name) - 1, vl);
        v[vl] = '\0';
        char *a = v;
        while (*a == ' ' || *a == '\t')
            a++;
        char *e = a + strlen(a);
        while (e > a && isspace((unsigned char)e[-1]))
            *--e = '\0';
        int64_t secs;
        /* Only the delta-seconds form; an HTTP date falls back to exponential backoff. */
        if (mse_parse_int(a, 0, 86400, &secs) == MSE_OK)
            s->retry_after_ms = secs * 1000;
    }
    return len;
}

static bool address_ok(const char *a)
{
    size_t n = strlen(a);
    if (n == 0 || n > EWS_MAX_ADDRESS)
        return false;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++) {
        if (*p < 0x21 || *p == 0x7f)
            return false; /* no blanks, controls or line breaks: it goes into a header */
    }
    return true;
}

static struct curl_slist *headers_base(void)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: text/xml; charset=utf-8");
    struct curl_slist *t = h ? curl_slist_append(h, "Accept: text/xml") : NULL;
    /* libcurl would otherwise send "Expect: 100-continue" for big bodies and wait. */
    t = t ? curl_slist_append(t, "Expect:") : NULL;
    if (!t)
        curl_slist_free_all(h);
    return t ? h : NULL;
}

static enum mse_rc curl_setup_auth(struct ews_session *s, struct mse_err *err)
{
    const struct ews_config *c = s->cfg;
    CURLcode cc = CURLE_OK;
    switch (c->auth) {
    case EWS_AUTH_NONE:
        return MSE_OK;
    case EWS_AUTH_BASIC:
    case EWS_AUTH_NTLM:
        if (!c->username || !c->password) {
            snprintf(err->msg, sizeof(err->msg),
                     "EWS %s authentication needs a username and "
                     "a password",
                     c->auth == EWS_AUTH_BASIC ? "basic" : "NTLM");
            return MSE_ERR_INVALID;
        }
        cc = curl_easy_setopt(s->curl, CURLOPT_HTTPAUTH,
                              c->auth == EWS_AUTH_BASIC ? CURLAUTH_BASIC : CURLAUTH_NTLM);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(s->curl, CURLOPT_USERNAME, c->username);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(s->curl, CURLOPT_PASSWORD, c->password);
        break;
    case EWS_AUTH_BEARER:
        if (!c->bearer_token || !*c->bearer_token) {
            snprintf(err->msg, sizeof(err->msg), "EWS bearer authentication needs a token");
            return MSE_ERR_INVALID;
        }
        cc = curl_easy_setopt(s->curl, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(s->curl, CURLOPT_XOAUTH2_BEARER, c->bearer_token);
        break;
    }
    if (cc != CURLE_OK) {
        snprintf(err->msg, sizeof(err->msg), "libcurl refused the authentication settings: %s",
                 curl_easy_strerror(cc));
        return MSE_ERR_INVALID;
    }
    return MSE_OK;
}

static bool stopped(const struct ews_session *s)
{
    return (s->stop && atomic_load(s->stop)) || (s->cancel && atomic_load(s->cancel));
}

/* Ends a transfer in flight once the session is told to stop (shutdown, lost lease). */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return stopped(ud) ? 1 : 0;
}

/* Every option that does not change between requests. */
static enum mse_rc curl_setup(struct ews_session *s, struct mse_err *err)
{
    const struct ews_config *c = s->cfg;
    CURL *h = s->curl;
    CURLcode cc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = curl_easy_setopt(h, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_URL, c->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L); /* never replay a POST elsewhere */
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, s);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, s);
    SET(CURLOPT_ERRORBUFFER, s->curl_err);
    /* Called at least once a second, also while the server is silent. */
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, (void *)s);
    SET(CURLOPT_ACCEPT_ENCODING, ""); /* gzip/deflate; the cap applies to decoded bytes */
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_USERAGENT, c->user_agent);
    SET(CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    if (c->ca_file && *c->ca_file)
        SET(CURLOPT_CAINFO, c->ca_file);
#undef SET
    if (cc != CURLE_OK) {
        snprintf(err->msg, sizeof(err->msg), "libcurl refused an option: %s",
                 curl_easy_strerror(cc));
        return MSE_ERR_INVALID;
    }
    return curl_setup_auth(s, err);
}

enum mse_rc ews_session_new(const struct ews_config *cfg, struct ews_session **out,
                            struct mse_err *err)
{
    enum mse_rc rc = MSE_ERR_NOMEM;
    *out = NULL;
    if (!cfg->url || !*cfg->url) {
        snprintf(err->msg, sizeof(err->msg), "no EWS URL configured");
        return MSE_ERR_INVALID;
    }
    struct ews_session *s = calloc(1, sizeof(*s));
    if (!s)
        return MSE_ERR_NOMEM;
    s->cfg = cfg;
    s->retry_after_ms = -1;
    mse_buf_init(&s->body, cfg->max_response ? cfg->max_response : MSE_EWS_MAX_RESPONSE_DEFAULT);
    s->curl = curl_easy_init();
    s->hdr_base = headers_base();
    if (!s->curl || !s->hdr_base)
        goto out;
    rc = curl_setup(s, err);
out:
    if (rc != MSE_OK) {
        if (rc == MSE_ERR_NOMEM)
            snprintf(err->msg, sizeof(err->msg), "out of memory creating an EWS session");
        ews_session_free(s);
        return rc;
    }
    *out = s;
    return MSE_OK;
}

void ews_session_free(struct ews_session *s)
{
    if (!s)
        return;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    curl_slist_free_all(s->hdr_base);
    curl_slist_free_all(s->hdr_mailbox);
    free(s->mailbox);
    mse_buf_cleanup(&s->body);
    free(s);
}

enum mse_rc ews_session_set_mailbox(struct ews_session *s, const char *address)
{
    curl_slist_free_all(s->hdr_mailbox);
    s->hdr_mailbox = NULL;
    free(s->mailbox);
    s->mailbox = NULL;
    s->log.fields[0] = '\0';
    if (!address)
        return MSE_OK;
    if (!address_ok(address))
        return MSE_ERR_INVALID;
    char line[EWS_MAX_ADDRESS + 32];
    snprintf(line, sizeof(line), "X-AnchorMailbox: %s", address);
    s->mailbox = strdup(address);
    s->hdr_mailbox = headers_base();
    struct curl_slist *t = s->hdr_mailbox ? curl_slist_append(s->hdr_mailbox, line) : NULL;
    if (!s->mailbox || !t) {
        free(s->mailbox);
        s->mailbox = NULL;
        curl_slist_free_all(s->hdr_mailbox);
        s->hdr_mailbox = NULL;
        return MSE_ERR_NOMEM;
    }
    mse_log_ctx_add(&s->log, "mailbox", address);
    return MSE_OK;
}

void ews_session_set_stop(struct ews_session *s, const atomic_bool *stop)
{
    s->stop = stop;
}

void ews_session_set_cancel(struct ews_session *s, const atomic_bool *cancel)
{
    s->cancel = cancel;
}

enum mse_rc ews_session_clone(const struct ews_session *s, struct ews_session **out,
                              struct mse_err *err)
{
    struct ews_session *c = NULL;
    enum mse_rc rc = ews_session_new(s->cfg, &c, err);
    if (rc == MSE_OK && ews_session_set_mailbox(c, s->mailbox) != MSE_OK) {
        /* s's address was accepted already: only memory can fail */
        snprintf(err->msg, sizeof(err->msg), "out of memory creating an EWS session");
        rc = MSE_ERR_NOMEM;
    }
    if (rc != MSE_OK) {
        ews_session_free(c);
        *out = NULL;
        return rc;
    }
    c->stop = s->stop;
    c->seed = s->seed;
    c->log = s->log;
    *out = c;
    return MSE_OK;
}

void ews_stats_add(struct ews_stats *sum, const struct ews_stats *add)
{
    sum->requests += add->requests;
    sum->retries += add->retries;
    sum->bytes_in += add->bytes_in;
    sum->waited_ms += add->waited_ms;
    sum->throttled += add->throttled;
}

void ews_session_set_seed(struct ews_session *s, uint64_t seed)
{
    s->seed = seed;
}

const struct ews_stats *ews_session_stats(const struct ews_session *s)
{
    return &s->stats;
}

bool ews_session_sleep(struct ews_session *s, int64_t ms)
{
    int64_t end = mse_time_mono_ms() + ms;
    for (;;) {
        if (stopped(s))
            return false;
        int64_t left = end - mse_time_mono_ms();
        if (left <= 0)
            return true;
        if (left > EWS_SLEEP_SLICE_MS)
            left = EWS_SLEEP_SLICE_MS;
        struct timespec ts = { .tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
}

enum mse_rc ews_request_build(struct ews_xml_writer *wr, const struct ews_op *op, const void *args,
                              const char *version, const char *impersonate, const char *delegate,
                              const char **xml, size_t *len)
{
    ews_xml_start(wr, "soap:Envelope");
    ews_xml_attr_write(wr, "xmlns:soap", EWS_NS_SOAP);
    ews_xml_attr_write(wr, "xmlns:m", EWS_NS_M);
    ews_xml_attr_write(wr, "xmlns:t", EWS_NS_T);
    ews_xml_start(wr, "soap:Header");
    ews_xml_empty_elem(wr, "t:RequestServerVersion", "Version", version);
    if (impersonate) {
        ews_xml_start(wr, "t:ExchangeImpersonation");
        ews_xml_start(wr, "t:ConnectingSID");
        ews_xml_text_elem(wr, "t:PrimarySmtpAddress", impersonate);
        ews_xml_end(wr);
        ews_xml_end(wr);
    }
    ews_xml_end(wr);
    ews_xml_start(wr, "soap:Body");
    op->build(wr, args, delegate);
    return ews_xml_writer_finish(wr, xml, len);
}

static enum ews_transport transport_of(CURLcode cc)
{
    switch (cc) {
    case CURLE_OK:
        return EWS_TR_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return EWS_TR_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return EWS_TR_CONNECT;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
        return EWS_TR_CUT_OFF;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return EWS_TR_TLS;
    default:
        return EWS_TR_OTHER;
    }
}

/* One HTTP exchange. MSE_ERR_NOMEM when the response could not be stored; else MSE_OK. */
static enum mse_rc http_post(struct ews_session *s, const struct ews_op *op, const char *xml,
                             size_t len, enum ews_transport *tr, long *status)
{
    mse_buf_reset(&s->body);
    s->body_too_large = s->body_nomem = false;
    s->retry_after_ms = -1;
    s->curl_err[0] = '\0';
    *status = 0;
    struct curl_slist *h = op->mailbox && s->hdr_mailbox ? s->hdr_mailbox : s->hdr_base;
    CURLcode cc = curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, xml);
    int64_t t0 = mse_time_mono_ms();
    LOG_DEBUG(&s->log, "EWS %s: sending %zu bytes", op->name, len);
    struct ews_gate *gate = s->cfg->gate;
    bool entered = false;
    if (cc == CURLE_OK && gate) {
        entered = ews_gate_enter(gate, s->stop, s->cancel);
        if (!entered)
            cc = CURLE_ABORTED_BY_CALLBACK; /* told to stop while waiting: as if cut short */
    }
    if (cc == CURLE_OK)
        cc = curl_easy_perform(s->curl);
    if (entered)
        ews_gate_leave(gate);
    s->stats.requests++;
    s->stats.bytes_in += s->body.len;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, status);
    if (s->body_nomem)
        return MSE_ERR_NOMEM;
    *tr = s->body_too_large ? EWS_TR_TOO_LARGE : transport_of(cc);
    LOG_DEBUG(&s->log, "EWS %s: HTTP %ld, %zu bytes, %lld ms%s%s", op->name, *status, s->body.len,
              (long long)(mse_time_mono_ms() - t0), cc ? ", " : "",
              cc ? (s->curl_err[0] ? s->curl_err : curl_easy_strerror(cc)) : "");
    return MSE_OK;
}

/* The verdict on one exchange: the response's own status when it could be read. */
static enum mse_rc attempt_judge(struct ews_session *s, const struct ews_op *op, void *out,
                                 enum ews_transport tr, long status, struct ews_reply *reply,
                                 struct mse_err *err)
{
    ews_reply_init(reply);
    if (tr == EWS_TR_OK && (status == 200 || status == 500)) {
        enum mse_rc rc = op->parse(s->body.data ? s->body.data : "", s->body.len, out, reply, err);
        if (rc == MSE_ERR_NOMEM)
            return rc;
        if (rc == MSE_OK && (status == 200 || reply->fault))
            return MSE_OK;
        /* A body that ends early (cut off) or an HTML error page: try again later. */
        ews_reply_init(reply);
        reply->policy =
                (struct ews_policy){ EWS_ACT_RETRY_TRANSIENT,
                                     status == 200 ? "ews_bad_response" : "ews_unavailable" };
        snprintf(reply->status.code, sizeof(reply->status.code), "HTTP %ld", status);
        snprintf(reply->status.text, sizeof(reply->status.text), "%.*s",
                 (int)sizeof(reply->status.text) - 1,
                 rc == MSE_OK ? "no SOAP fault in an HTTP 500 response" : err->msg);
        return MSE_OK;
    }
    reply->policy = ews_error_classify_http(tr, status);
    if (tr == EWS_TR_OK)
        snprintf(reply->status.code, sizeof(reply->status.code), "HTTP %ld", status);
    else
        snprintf(reply->status.code, sizeof(reply->status.code), "transport");
    snprintf(reply->status.text, sizeof(reply->status.text), "%s",
             tr == EWS_TR_TOO_LARGE ? "response larger than the configured cap"
             : s->curl_err[0]       ? s->curl_err
                                    : "unexpected HTTP status");
    reply->status.cls = EWS_CLASS_ERROR;
    return MSE_OK;
}

/* How long to wait before retrying, by the action that failed. */
static int64_t retry_delay(struct ews_session *s, struct backoff *b, const struct ews_reply *r)
{
    const struct ews_config *c = s->cfg;
    if (r->policy.action == EWS_ACT_RETRY_THROTTLED) {
        s->stats.throttled++;
        int64_t hint = r->status.backoff_ms >= 0 ? r->status.backoff_ms : s->retry_after_ms;
        int64_t delay = backoff_hinted(b, hint, c->backoff_hint_max_ms);
        if (c->gate) /* Exchange throttles the account: every session waits, not just this one */
            ews_gate_throttled(c->gate, delay);
        return delay;
    }
    if (s->retry_after_ms >= 0) /* a 503 with Retry-After */
        return backoff_hinted(b, s->retry_after_ms, c->backoff_hint_max_ms);
    return backoff_next(b);
}

static enum mse_rc call_fail(struct ews_session *s, const struct ews_op *op,
                             struct ews_reply *reply, struct mse_err *err, unsigned attempts,
                             const char *why)
{
    snprintf(err->msg, sizeof(err->msg), "EWS %s failed%s%s after %u attempt%s: %s%s%s", op->name,
             why ? " " : "", why ? why : "", attempts, attempts == 1 ? "" : "s", reply->status.code,
             reply->status.text[0] ? " — " : "", reply->status.text);
    mse_log_redact(err->msg);
    LOG_WARN(&s->log, "%s (%s)", err->msg, reply->policy.reason);
    return MSE_ERR_UNAVAILABLE;
}

/* Where one request stands in its retry budget. */
struct retry {
    struct backoff b;
    unsigned attempts;
    unsigned auth_failures;
    int64_t waited_ms;
};

/*
 * After a failed attempt: waits and returns NULL to retry, or returns why not ("" when the
 * action does not retry at all). Sets the reply's reason when the wait is cancelled.
 */
static const char *retry_wait(struct ews_session *s, const struct ews_op *op, struct retry *rt,
                              struct ews_reply *reply)
{
    const struct ews_config *c = s->cfg;
    enum ews_action act = reply->policy.action;
    if (!ews_action_retries(act))
        return "";
    if (act == EWS_ACT_RETRY_AUTH && ++rt->auth_failures > c->auth_retries)
        return "(authentication refused)";
    if (rt->attempts >= c->retry_max)
        return "(retries exhausted)";
    int64_t delay = retry_delay(s, &rt->b, reply);
    if (rt->waited_ms + delay > c->retry_max_wait_ms)
        return "(retry time exhausted)";
    LOG_WARN(&s->log, "EWS %s: %s (%s), retrying in %lld ms", op->name, reply->status.code,
             ews_action_str(act), (long long)delay);
    if (!ews_session_sleep(s, delay)) {
        reply->policy = (struct ews_policy){ EWS_ACT_FAIL, "cancelled" };
        return "(cancelled)";
    }
    rt->waited_ms += delay;
    s->stats.waited_ms += delay;
    s->stats.retries++;
    return NULL;
}

/* Sends the built request until a verdict that ends it (see ews_call). */
static enum mse_rc call_loop(struct ews_session *s, const struct ews_op *op, const char *xml,
                             size_t len, void *out, struct ews_reply *reply, struct mse_err *err)
{
    struct retry rt = { .attempts = 0 };
    backoff_init(&rt.b, s->cfg->backoff_base_ms, s->cfg->backoff_cap_ms, s->seed);
    for (;;) {
        enum ews_transport tr = EWS_TR_OTHER;
        long status = 0;
        rt.attempts++;
        if (op->reset)
            op->reset(out);
        enum mse_rc rc = http_post(s, op, xml, len, &tr, &status);
        if (rc == MSE_OK)
            rc = attempt_judge(s, op, out, tr, status, reply, err);
        if (rc != MSE_OK)
            return rc;
        enum ews_action act = reply->policy.action;
        if (act == EWS_ACT_OK || act == EWS_ACT_ITEM_GONE || act == EWS_ACT_RESYNC)
            return MSE_OK;
        if (tr == EWS_TR_TOO_LARGE) { /* as large again next time: never retried */
            (void)call_fail(s, op, reply, err, rt.attempts, NULL);
            return MSE_ERR_TOO_LARGE;
        }
        const char *why = retry_wait(s, op, &rt, reply);
        if (why)
            return call_fail(s, op, reply, err, rt.attempts, why[0] ? why : NULL);
    }
}

enum mse_rc ews_call(struct ews_session *s, const struct ews_op *op, const void *args, void *out,
                     struct ews_reply *reply, struct mse_err *err)
{
    const struct ews_config *c = s->cfg;
    struct ews_xml_writer wr;
    const char *xml;
    size_t len;
    err->msg[0] = '\0';
    ews_reply_init(reply);
    if (op->mailbox && !s->mailbox) {
        snprintf(err->msg, sizeof(err->msg), "EWS %s needs a mailbox", op->name);
        reply->policy = (struct ews_policy){ EWS_ACT_FAIL, "internal" };
        return MSE_ERR_UNAVAILABLE;
    }
    if (ews_xml_writer_init(&wr) != MSE_OK)
        return MSE_ERR_NOMEM;
    const char *imp = op->mailbox && c->impersonation ? s->mailbox : NULL;
    const char *delegate = op->mailbox && !c->impersonation ? s->mailbox : NULL;
    enum mse_rc rc = ews_request_build(&wr, op, args, c->version, imp, delegate, &xml, &len);
    if (rc == MSE_OK)
        rc = call_loop(s, op, xml, len, out, reply, err);
    ews_xml_writer_cleanup(&wr);
    if (s->body.size > EWS_KEEP_BUFFER)
        mse_buf_cleanup(&s->body);
    if (rc == MSE_ERR_NOMEM && !err->msg[0])
        snprintf(err->msg, sizeof(err->msg), "out of memory during EWS %s", op->name);
    return rc;
}
