/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the EWS transport over real HTTP: headers, auth, retries, caps, cut-offs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <libxml/parser.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#include "ews.h"
#include "ews_dl.h"
#include "ews_folder.h"
#include "timefmt.h"

/*
 * A scripted HTTP endpoint: each request takes the next scripted answer and is recorded. It
 * plays the part of an Exchange server's transport behaviour (status codes, Retry-After,
 * delays, bodies that stop early), not of any MSE component.
 */
enum answer_kind { A_BODY, A_CUT, A_DELAY };

struct answer {
    unsigned status;
    enum answer_kind kind;
    const char *body; /* NULL: a generated body of `size` bytes */
    size_t size;
    const char *retry_after;
    unsigned delay_ms;
};

struct recorded {
    char body[8192];
    char auth[256];
    char anchor[256];
    char content_type[128];
};

#define MAX_REQUESTS 16

static struct server {
    struct MHD_Daemon *d;
    unsigned port;
    pthread_mutex_t lock;
    const struct answer *script;
    size_t n_script;
    size_t next;
    struct recorded req[MAX_REQUESTS];
} srv;

struct conn {
    char body[8192];
    size_t len;
};

static const char *const ok_getfolder =
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        "<s:Body><m:GetFolderResponse "
        "xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" "
        "xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><m:ResponseMessages>"
        "<m:GetFolderResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError"
        "</m:ResponseCode><m:Folders><t:Folder><t:FolderId Id=\"F-ROOT\"/></t:Folder></m:Folders>"
        "</m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse></s:Body>"
        "</s:Envelope>";

static const char *const ok_expand =
        "<m:ExpandDLResponse "
        "xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" "
        "xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><m:ResponseMessages>"
        "<m:ExpandDLResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError"
        "</m:ResponseCode><m:DLExpansion TotalItemsInView=\"1\" IncludesLastItemInRange=\"true\">"
        "<t:Mailbox><t:EmailAddress>a@example.com</t:EmailAddress></t:Mailbox></m:DLExpansion>"
        "</m:ExpandDLResponseMessage></m:ResponseMessages></m:ExpandDLResponse>";

#define FAULT(code, extra)                                                                         \
    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault>"          \
    "<faultcode xmlns:a=\"http://schemas.microsoft.com/exchange/services/2006/types\">a:" code     \
    "</faultcode><faultstring>" code "</faultstring><detail><e:ResponseCode "                      \
    "xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">" code                 \
    "</e:ResponseCode>" extra "</detail></s:Fault></s:Body></s:Envelope>"

#define BACKOFF(ms)                                                                                \
    "<t:MessageXml xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\">"         \
    "<t:Value Name=\"BackOffMilliseconds\">" ms "</t:Value></t:MessageXml>"

static ssize_t cut_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    const char *body = cls;
    size_t half = strlen(body) / 2;
    if (pos >= half)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* the connection drops mid-body */
    size_t n = half - (size_t)pos < max ? half - (size_t)pos : max;
    memcpy(buf, body + pos, n);
    return (ssize_t)n;
}

static void header_copy(struct MHD_Connection *c, const char *name, char *out, size_t size)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(out, size, "%s", v ? v : "");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    struct conn *cn = *con_cls;
    if (!cn) {
        *con_cls = calloc(1, sizeof(struct conn));
        return MHD_YES;
    }
    if (*data_size) {
        size_t n = *data_size < sizeof(cn->body) - 1 - cn->len ? *data_size
                                                               : sizeof(cn->body) - 1 - cn->len;
        memcpy(cn->body + cn->len, data, n);
        cn->len += n;
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&srv.lock);
    size_t i = srv.next++;
    if (i < MAX_REQUESTS) {
        struct recorded *r = &srv.req[i];
        memcpy(r->body, cn->body, cn->len + 1);
        header_copy(c, "Authorization", r->auth, sizeof(r->auth));
        header_copy(c, "X-AnchorMailbox", r->anchor, sizeof(r->anchor));
        header_copy(c, "Content-Type", r->content_type, sizeof(r->content_type));
    }
    /* A copy: a slow answer may outlive the test (and the script on its stack). */
    struct answer copy = i < srv.n_script ? srv.script[i] : srv.script[srv.n_script - 1];
    const struct answer *a = &copy;
    pthread_mutex_unlock(&srv.lock);
    if (a->kind == A_DELAY) {
        struct timespec ts = { a->delay_ms / 1000, (long)(a->delay_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    struct MHD_Response *resp;
    if (a->kind == A_CUT) {
        resp = MHD_create_response_from_callback(strlen(a->body), 1024, cut_reader, (void *)a->body,
                                                 NULL);
    } else if (a->body) {
        resp = MHD_create_response_from_buffer(strlen(a->body), (void *)a->body,
                                               MHD_RESPMEM_PERSISTENT);
    } else {
        char *big = malloc(a->size);
        memset(big, 'x', a->size);
        resp = MHD_create_response_from_buffer(a->size, big, MHD_RESPMEM_MUST_FREE);
    }
    MHD_add_response_header(resp, "Content-Type", "text/xml; charset=utf-8");
    if (a->retry_after)
        MHD_add_response_header(resp, "Retry-After", a->retry_after);
    if (a->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Basic realm=\"ews\"");
    enum MHD_Result ret = MHD_queue_response(c, a->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static void script(const struct answer *a, size_t n)
{
    pthread_mutex_lock(&srv.lock);
    srv.script = a;
    srv.n_script = n;
    srv.next = 0;
    memset(srv.req, 0, sizeof(srv.req));
    pthread_mutex_unlock(&srv.lock);
}

static int server_start(void **state)
{
    (void)state;
    pthread_mutex_init(&srv.lock, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                     MHD_USE_ERROR_LOG,
                             0, NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED,
                             on_completed, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    if (!srv.d)
        return -1;
    srv.port = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

static int server_stop(void **state)
{
    (void)state;
    MHD_stop_daemon(srv.d);
    pthread_mutex_destroy(&srv.lock);
    curl_global_cleanup();
    return 0;
}

static char url[64];

/* A config for the scripted endpoint with short delays, so tests take milliseconds. */
static void config_for_tests(struct ews_config *c)
{
    ews_config_defaults(c);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/EWS/Exchange.asmx", srv.port);
    c->url = url;
    c->username = "svc@example.com";
    c->password = "s3cret:pw";
    c->backoff_base_ms = 20;
    c->backoff_cap_ms = 100;
    c->retry_max = 4;
    c->timeout_ms = 2000;
}

static enum mse_rc get_root(struct ews_session *s, struct ews_reply *reply, struct mse_err *err)
{
    static const char *const ids[] = { "msgfolderroot" };
    struct ews_get_folders_args a = { ids, 1, NULL, 0 };
    struct ews_get_folders res = { 0 };
    enum mse_rc rc = ews_get_folders(s, &a, &res, reply, err);
    if (rc == MSE_OK)
        assert_string_equal(res.v[0].folder.id, "F-ROOT");
    ews_get_folders_cleanup(&res);
    return rc;
}

static struct ews_session *session(const struct ews_config *c, const char *mailbox)
{
    struct ews_session *s;
    struct mse_err err;
    assert_int_equal(ews_session_new(c, &s, &err), MSE_OK);
    ews_session_set_seed(s, 1);
    if (mailbox)
        assert_int_equal(ews_session_set_mailbox(s, mailbox), MSE_OK);
    return s;
}

static void test_impersonation_headers(void **state)
{
    (void)state;
    static const struct answer a[] = { { 200, A_BODY, NULL, 0, NULL, 0 } };
    struct answer ok = a[0];
    ok.body = ok_getfolder;
    script(&ok, 1);
    struct ews_config c;
    config_for_tests(&c);
    struct ews_session *s = session(&c, "user1@example.com");
    struct ews_reply reply;
    struct mse_err err;
    assert_int_equal(get_root(s, &reply, &err), MSE_OK);
    const struct recorded *r = &srv.req[0];
    assert_string_equal(r->anchor, "user1@example.com");
    assert_string_equal(r->content_type, "text/xml; charset=utf-8");
    /* base64("svc@example.com:s3cret:pw") */
    assert_string_equal(r->auth, "Basic c3ZjQGV4YW1wbGUuY29tOnMzY3JldDpwdw==");
    assert_non_null(strstr(r->body, "<t:RequestServerVersion Version=\"Exchange2013_SP1\"/>"));
    assert_non_null(strstr(r->body, "<t:ExchangeImpersonation><t:ConnectingSID>"
                                    "<t:PrimarySmtpAddress>user1@example.com<"));
    assert_null(strstr(r->body, "<t:Mailbox>"));
    /* The mailbox cannot smuggle header lines. */
    assert_int_equal(ews_session_set_mailbox(s, "a@b.com\r\nX-Evil: 1"), MSE_ERR_INVALID);
    ews_session_free(s);

    /* Without impersonation the mailbox is named inside the distinguished folder id. */
    c.impersonation = false;
    c.version = "Exchange2016";
    script(&ok, 1);
    s = session(&c, "user2@example.com");
    assert_int_equal(get_root(s, &reply, &err), MSE_OK);
    r = &srv.req[0];
    assert_null(strstr(r->body, "ExchangeImpersonation"));
    assert_non_null(strstr(r->body, "<t:DistinguishedFolderId Id=\"msgfolderroot\"><t:Mailbox>"
                                    "<t:EmailAddress>user2@example.com<"));
    assert_non_null(strstr(r->body, "Version=\"Exchange2016\""));
    assert_string_equal(r->anchor, "user2@example.com");
    ews_session_free(s);
}

static void test_protocol_level_call_and_bearer(void **state)
{
    (void)state;
    struct answer ok = { 200, A_BODY, ok_expand, 0, NULL, 0 };
    script(&ok, 1);
    struct ews_config c;
    config_for_tests(&c);
    c.auth = EWS_AUTH_BEARER;
    c.bearer_token = "tok-123";
    struct ews_session *s = session(&c, "user1@example.com");
    struct ews_expand_dl_args a = { "team@example.com" };
    struct ews_dl_members m = { 0 };
    struct ews_reply reply;
    struct mse_err err;
    assert_int_equal(ews_expand_dl(s, &a, &m, &reply, &err), MSE_OK);
    assert_int_equal(m.members.n, 1);
    ews_dl_members_cleanup(&m);
    /* ExpandDL is not a mailbox call: no impersonation, no anchor. */
    assert_null(strstr(srv.req[0].body, "ExchangeImpersonation"));
    assert_string_equal(srv.req[0].anchor, "");
    assert_string_equal(srv.req[0].auth, "Bearer tok-123");
    ews_session_free(s);
    /* Misconfigured authentication is refused before any request. */
    c.bearer_token = NULL;
    struct ews_session *bad;
    assert_int_equal(ews_session_new(&c, &bad, &err), MSE_ERR_INVALID);
    assert_non_null(strstr(err.msg, "token"));
}

static void test_throttling_waits_backoff_hint(void **state)
{
    (void)state;
    static const struct answer a[] = {
        { 500, A_BODY, FAULT("ErrorServerBusy", BACKOFF("300")), 0, NULL, 0 },
        { 200, A_BODY, NULL, 0, NULL, 0 },
    };
    struct answer s2[2] = { a[0], a[1] };
    s2[1].body = ok_getfolder;
    script(s2, 2);
    struct ews_config c;
    config_for_tests(&c);
    struct ews_session *s = session(&c, "user1@example.com");
    struct ews_reply reply;
    struct mse_err err;
    int64_t t0 = mse_time_mono_ms();
    assert_int_equal(get_root(s, &reply, &err), MSE_OK);
    int64_t took = mse_time_mono_ms() - t0;
    assert_true(took >= 300); /* the server's BackOffMilliseconds, not the 20 ms base */
    assert_int_equal(srv.next, 2);
    assert_int_equal(ews_session_stats(s)->retries, 1);
    assert_int_equal(ews_session_stats(s)->throttled, 1);
    ews_session_free(s);
}

static void test_503_retry_after_and_budget(void **state)
{
    (void)state;
    struct answer a[2] = { { 503, A_BODY, "busy", 0, "1", 0 },
                           { 200, A_BODY, ok_getfolder, 0, NULL, 0 } };
    script(a, 2);
    struct ews_config c;
    config_for_tests(&c);
    struct ews_session *s = session(&c, "user1@example.com");
    struct ews_reply reply;
    struct mse_err err;
    int64_t t0 = mse_time_mono_ms();
    assert_int_equal(get_root(s, &reply, &err), MSE_OK);
    assert_true(mse_time_mono_ms() - t0 >= 1000); /* Retry-After: 1 */
    ews_session_free(s);

    /* Always busy: the attempts run out and the reason says why. */
    struct answer busy = { 503, A_BODY, "busy", 0, NULL, 0 };
    script(&busy, 1);
    s = session(&c, "user1@example.com");
    assert_int_equal(get_root(s, &reply, &err), MSE_ERR_UNAVAILABLE);
    assert_int_equal(srv.next, 4);
    assert_string_equal(reply.policy.reason, "ews_unavailable");
    assert_non_null(strstr(err.msg, "after 4 attempts"));
    ews_session_free(s);
}

static void test_401_burst_is_bounded(void **state)
{
    (void)state;
    struct answer a[3] = { { 401, A_BODY, "no", 0, NULL, 0 },
                           { 401, A_BODY, "no", 0, NULL, 0 },
                           { 200, A_BODY, ok_getfolder, 0, NULL, 0 } };
    script(a, 3);
    struct ews_config c;
    config_for_tests(&c);
    struct ews_session *s = session(&c, "user1@example.com");
    struct ews_reply reply;
    struct mse_err err;
    assert_int_equal(get_root(s, &reply, &err), MSE_OK); /* two sporadic 401s, then fine */
    ews_session_free(s);
    struct answer no = { 401, A_BODY, "no", 0, NULL, 0 };
    script(&no, 1);
    s = session(&c, "user1@example.com");
    assert_int_equal(get_root(s, &reply, &err), MSE_ERR_UNAVAILABLE);
    assert_int_equal(srv.next, 3); /* 1 + auth_retries (2) */
    assert_string_equal(reply.policy.reason, "ews_unauthorized");
    assert_null(strstr(err.msg, "s3cret"));
    ews_session_free(s);
}

static void test_mailbox_errors_are_not_retried(void **state)
{
    (void)state;
    struct answer a = { 500, A_BODY, FAULT("ErrorNonExistentMailbox", ""), 0, NULL, 0 };
    script(&a, 1);
    struct ews_config c;
    config_for_tests(&c);
    struct ews_session *s = session(&c, "ghost@example.com");
    struct ews_reply reply;
    struct mse_err err;
    assert_int_equal(get_root(s, &reply, &err), MSE_ERR_UNAVAILABLE);
    assert_int_equal(srv.next, 1);
    assert_int_equal(reply.policy.action, EWS_ACT_FAIL_MAILBOX);
    assert_string_equal(reply.policy.reason, "ews_mailbox_not_found");
    ews_session_free(s);
    /* ErrorMailboxMoveInProgress: give up now, retry on a later pass. */
    struct answer m = { 500, A_BODY, FAULT("ErrorMailboxMoveInProgress", ""), 0, NULL, 0 };
    script(&m, 1);
    s = session(&c, "moving@example.com");
    assert_int_equal(get_root(s, &reply, &err), MSE_ERR_UNAVAILABLE);
    assert_int_equal(srv.next, 1);
    assert_int_equal(reply.policy.action, EWS_ACT_RETRY_LATER);
    ews_session_free(s);
}

static void test_response_cap_aborts(void **state)
{
    (void)state;
    struct answer big = { 200, A_BODY, NULL, 512 * 1024, NULL, 0 };
    script(&big, 1);
    struct ews_config c;
    config_for_tests(&c);
    c.max_response = 64 * 1024;
    struct ews_session *s = session(&c, "user1@example.com");
    struct ews_reply reply;
    struct mse_err err;
    assert_int_equal(get_root(s, &reply, &err), MSE_ERR_TOO_LARGE);
    assert_int_equal(srv.next, 1); /* not retried: it would be as large again */
    assert_string_equal(reply.policy.reason, "ews_response_too_large");
    assert_true(ews_session_stats(s)->bytes_in <= 64 * 1024);
    ews_session_free(s);
}

static void test_cut_off_and_html_500_are_retried(void **state)
{
    (void)state;
    struct answer a[3] = { { 200, A_CUT, ok_getfolder, 0, NULL, 0 },
                           { 500, A_BODY, "<html><body>Server Error in '/EWS'</body></html>", 0,
                             NULL, 0 },
                           { 200, A_BODY, ok_getfolder, 0, NULL, 0 } };
    script(a, 3);
    struct ews_config c;
    config_for_tests(&c);
    struct ews_session *s = session(&c, "user1@example.com");
    struct ews_reply reply;
    struct mse_err err;
    assert_int_equal(get_root(s, &reply, &err), MSE_OK);
    assert_int_equal(srv.next, 3);
    assert_int_equal(ews_session_stats(s)->retries, 2);
    ews_session_free(s);
}

static void test_timeout_is_transient(void **state)
{
    (void)state;
    struct answer slow = { 200, A_DELAY, ok_getfolder, 0, NULL, 700 };
    script(&slow, 1);
    struct ews_config c;
    config_for_tests(&c);
    c.timeout_ms = 200;
    c.retry_max = 2;
    struct ews_session *s = session(&c, "user1@example.com");
    struct ews_reply reply;
    struct mse_err err;
    int64_t t0 = mse_time_mono_ms();
    assert_int_equal(get_root(s, &reply, &err), MSE_ERR_UNAVAILABLE);
    assert_true(mse_time_mono_ms() - t0 < 2000);
    assert_string_equal(reply.policy.reason, "ews_unavailable");
    assert_int_equal(srv.next, 2);
    ews_session_free(s);
}

static atomic_bool stop_flag;

static void *stop_later(void *arg)
{
    (void)arg;
    struct timespec ts = { 0, 150 * 1000000L };
    nanosleep(&ts, NULL);
    atomic_store(&stop_flag, true);
    return NULL;
}

static void test_stop_ends_a_long_wait(void **state)
{
    (void)state;
    struct answer a = { 500, A_BODY, FAULT("ErrorServerBusy", BACKOFF("30000")), 0, NULL, 0 };
    script(&a, 1);
    struct ews_config c;
    config_for_tests(&c);
    struct ews_session *s = session(&c, "user1@example.com");
    atomic_store(&stop_flag, false);
    ews_session_set_stop(s, &stop_flag);
    pthread_t t;
    pthread_create(&t, NULL, stop_later, NULL);
    struct ews_reply reply;
    struct mse_err err;
    int64_t t0 = mse_time_mono_ms();
    assert_int_equal(get_root(s, &reply, &err), MSE_ERR_UNAVAILABLE);
    assert_true(mse_time_mono_ms() - t0 < 2000);
    assert_string_equal(reply.policy.reason, "cancelled");
    pthread_join(t, NULL);
    ews_session_free(s);
}

int main(void)
{
    xmlInitParser();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_impersonation_headers),
        cmocka_unit_test(test_protocol_level_call_and_bearer),
        cmocka_unit_test(test_throttling_waits_backoff_hint),
        cmocka_unit_test(test_503_retry_after_and_budget),
        cmocka_unit_test(test_401_burst_is_bounded),
        cmocka_unit_test(test_mailbox_errors_are_not_retried),
        cmocka_unit_test(test_response_cap_aborts),
        cmocka_unit_test(test_cut_off_and_html_500_are_retried),
        cmocka_unit_test(test_timeout_is_transient),
        cmocka_unit_test(test_stop_ends_a_long_wait),
    };
    int rc = cmocka_run_group_tests(tests, server_start, server_stop);
    xmlCleanupParser();
    return rc;
}
