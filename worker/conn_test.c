/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of Sync & Recover server connections: reach Exchange as configured, report the outcome. */
#include "conn_test.h"

#include <cjson/cJSON.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <string.h>

#include "ews_folder.h"
#include "log.h"
#include "server_client.h"
#include "timefmt.h"

#define CONN_TEST_PATH "/api/v1/worker/server-connection-tests"
/* Bounds on one test, which runs on the heartbeat thread. */
#define CONN_TEST_CONNECT_MS 10000
#define CONN_TEST_TIMEOUT_MS 20000

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool conn_test_config(const cJSON *conn, const struct ews_config *base, struct ews_config *cfg)
{
    const char *auth = str_of(conn, "authentication");
    *cfg = *base;
    cfg->url = str_of(conn, "ews_url");
    cfg->username = str_of(conn, "service_account");
    cfg->password = cfg->bearer_token = NULL;
    cfg->impersonation = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(conn, "impersonation"));
    cfg->tls_verify = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(conn, "tls_verify"));
    if (!auth || !cfg->url || !cfg->username)
        return false;
    if (!strcmp(auth, "basic"))
        cfg->auth = EWS_AUTH_BASIC;
    else if (!strcmp(auth, "ntlm"))
        cfg->auth = EWS_AUTH_NTLM;
    else if (!strcmp(auth, "oauth2_bearer"))
        cfg->auth = EWS_AUTH_BEARER;
    else
        return false;
    if (cfg->auth == EWS_AUTH_BEARER)
        cfg->bearer_token = str_of(conn, "secret");
    else
        cfg->password = str_of(conn, "secret");
    return true;
}

/* The connection of test t over base; false when its authentication is unknown. */
static bool config_of(const cJSON *t, const struct ews_config *base, struct ews_config *cfg)
{
    if (!conn_test_config(t, base, cfg))
        return false;
    /* An administrator waits for the answer: one attempt, its exact error. */
    cfg->retry_max = 1;
    cfg->auth_retries = 0;
    if (cfg->connect_timeout_ms <= 0 || cfg->connect_timeout_ms > CONN_TEST_CONNECT_MS)
        cfg->connect_timeout_ms = CONN_TEST_CONNECT_MS;
    if (cfg->timeout_ms <= 0 || cfg->timeout_ms > CONN_TEST_TIMEOUT_MS)
        cfg->timeout_ms = CONN_TEST_TIMEOUT_MS;
    return true;
}

/* GetFolder's answer and the version the server stated in its SOAP header. */
struct inbox_reply {
    struct ews_get_folders res;
    char version[200];
};

static const char *attr_or(xmlNode *n, const char *name, char *buf, size_t size)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    snprintf(buf, size, "%s", v ? (const char *)v : "?");
    xmlFree(v);
    return buf;
}

/* ServerVersionInfo of soap:Header, as "15.1.2507.6 (Exchange2016)"; "" when absent. */
static void version_read(const char *xml, size_t len, char *out, size_t size)
{
    out[0] = '\0';
    if (len > INT32_MAX)
        return;
    xmlDoc *doc = xmlReadMemory(xml, (int)len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    for (xmlNode *h = root ? root->children : NULL; h; h = h->next) {
        if (h->type != XML_ELEMENT_NODE || xmlStrcmp(h->name, (const xmlChar *)"Header"))
            continue;
        for (xmlNode *v = h->children; v; v = v->next) {
            char a[16], b[16], c[16], d[16], name[64];
            if (v->type != XML_ELEMENT_NODE ||
                xmlStrcmp(v->name, (const xmlChar *)"ServerVersionInfo"))
                continue;
            snprintf(out, size, "%s.%s.%s.%s (%s)", attr_or(v, "MajorVersion", a, sizeof(a)),
                     attr_or(v, "MinorVersion", b, sizeof(b)),
                     attr_or(v, "MajorBuildNumber", c, sizeof(c)),
                     attr_or(v, "MinorBuildNumber", d, sizeof(d)),
                     attr_or(v, "Version", name, sizeof(name)));
        }
    }
    xmlFreeDoc(doc);
}

static enum mse_rc inbox_parse(const char *xml, size_t len, void *out, struct ews_reply *reply,
                               struct mse_err *err)
{
    struct inbox_reply *r = out;
    version_read(xml, len, r->version, sizeof(r->version));
    return ews_get_folders_parse(xml, len, &r->res, reply, err);
}

static void inbox_reset(void *out)
{
    struct inbox_reply *r = out;
    ews_get_folders_cleanup(&r->res);
    r->version[0] = '\0';
}

/* GetFolder as ews_folder.c runs it, keeping the server's version too. */
static const struct ews_op op_inbox = {
    .name = "GetFolder",
    .mailbox = true,
    .build = ews_get_folders_build,
    .parse = inbox_parse,
    .reset = inbox_reset,
};

/* Opens the mailbox's inbox; *reason and why say what failed. */
static enum mse_rc inbox_open(const struct ews_config *cfg, const char *mailbox,
                              const atomic_bool *stop, char *version, size_t vsize,
                              const char **reason, struct mse_err *why)
{
    static const char *const inbox[] = { "inbox" };
    static const char *const fields[] = { "folder:DisplayName" };
    struct ews_session *s = NULL;
    struct inbox_reply r = { 0 };
    struct ews_reply reply;
    struct ews_get_folders_args args = { inbox, 1, fields, 1 };
    *reason = "invalid_configuration";
    ews_reply_init(&reply);
    enum mse_rc rc = ews_session_new(cfg, &s, why);
    if (rc == MSE_OK) {
        ews_session_set_stop(s, stop);
        rc = ews_session_set_mailbox(s, mailbox);
        *reason = "invalid_mailbox";
    }
    if (rc == MSE_OK) {
        rc = ews_call(s, &op_inbox, &args, &r, &reply, why);
        *reason = reply.policy.reason ? reply.policy.reason : "ews_error";
        snprintf(version, vsize, "%s", r.version);
    }
    if (rc == MSE_OK && (r.res.n != 1 || !r.res.v[0].folder.id)) {
        const struct ews_status *st = r.res.n == 1 ? &r.res.v[0].status : &reply.status;
        snprintf(why->msg, sizeof(why->msg), "GetFolder inbox of %s: %s: %s", mailbox, st->code,
                 st->text);
        *reason = "mailbox_not_found";
        rc = MSE_ERR_UNAVAILABLE;
    }
    ews_get_folders_cleanup(&r.res);
    ews_session_free(s);
    return rc;
}

/* Runs test t and builds the result body. */
static cJSON *test_run(const cJSON *t, const struct ews_config *base, const char *worker_id,
                       const atomic_bool *stop)
{
    struct ews_config cfg;
    struct mse_err why = { { 0 } };
    char version[200] = "";
    const char *reason = "invalid_configuration";
    const char *mailbox = str_of(t, "mailbox");
    enum mse_rc rc = MSE_ERR_INVALID;
    int64_t t0 = mse_time_mono_ms();
    if (config_of(t, base, &cfg))
        rc = inbox_open(&cfg, mailbox ? mailbox : cfg.username, stop, version, sizeof(version),
                        &reason, &why);
    else
        snprintf(why.msg, sizeof(why.msg), "the connection's settings are incomplete");
    int64_t latency = mse_time_mono_ms() - t0;
    cJSON *body = cJSON_CreateObject();
    if (!body)
        return NULL;
    cJSON_AddBoolToObject(body, "ok", rc == MSE_OK);
    cJSON_AddNumberToObject(body, "latency_ms", (double)(latency > 0 ? latency : 0));
    if (version[0])
        cJSON_AddStringToObject(body, "server_version", version);
    if (rc != MSE_OK) {
        cJSON_AddStringToObject(body, "reason_code", reason);
        cJSON_AddStringToObject(body, "detail", why.msg);
    }
    cJSON_AddStringToObject(body, "worker_id", worker_id);
    LOG_INFO(NULL, "server connection test %s: %s", str_of(t, "id"), rc == MSE_OK ? "ok" : why.msg);
    return body;
}

enum mse_rc conn_test_poll(struct srv_client *srv, const struct ews_config *base,
                           const char *worker_id, const atomic_bool *stop, struct mse_err *err)
{
    struct srv_reply r;
    char path[160];
    enum mse_rc rc = srv_call(srv, "GET", CONN_TEST_PATH, NULL, &r, err);
    if (rc == MSE_OK && r.status != 200) {
        snprintf(err->msg, sizeof(err->msg), "connection tests: HTTP %ld %s", r.status, r.detail);
        rc = MSE_ERR_UNAVAILABLE;
    }
    const cJSON *tests = rc == MSE_OK ? cJSON_GetObjectItemCaseSensitive(r.body, "tests") : NULL;
    const cJSON *t = cJSON_IsArray(tests) ? tests->child : NULL;
    const char *id = t ? str_of(t, "id") : NULL;
    cJSON *body = id ? test_run(t, base, worker_id, stop) : NULL;
    if (id)
        snprintf(path, sizeof(path), "%s/%s", CONN_TEST_PATH, id);
    srv_reply_cleanup(&r);
    if (!body)
        return rc == MSE_OK && id ? MSE_ERR_NOMEM : rc;
    rc = srv_call(srv, "POST", path, body, &r, err);
    cJSON_Delete(body);
    /* 404: another worker of the site answered the test first. */
    if (rc == MSE_OK && r.status != 204 && r.status != 404) {
        snprintf(err->msg, sizeof(err->msg), "connection test result: HTTP %ld %s", r.status,
                 r.detail);
        rc = MSE_ERR_UNAVAILABLE;
    }
    srv_reply_cleanup(&r);
    return rc;
}
