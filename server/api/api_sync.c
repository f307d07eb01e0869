/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/v1/server-connections: the Exchange servers a site's workers reach for Sync & Recover
 * (the secret sealed at rest, never returned), their tests run by the site's workers, and the
 * worker side of those tests (docs/sync-recover.md).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "api_util.h"
#include "db_site.h"
#include "db_sync.h"
#include "group.h"
#include "http.h"
#include "ids.h"
#include "jsonin.h"
#include "log.h"
#include "problem.h"
#include "server.h"
#include "tx.h"

#define CONN_CURSOR  'k'
#define CONN_MAX_URL 2000
/* A service account: a UPN or DOMAIN\user, at most an address's length. */
#define CONN_MAX_ACCOUNT 320
/* Passwords are short; OAuth 2.0 bearer tokens (JWTs) are not. */
#define CONN_MAX_SECRET 8192
#define CONN_MAX_DETAIL 2000

static const char *const conn_auths[] = { "basic", "ntlm", "oauth2_bearer", NULL };
static const char *const conn_fields[] = { "name",           "site_id",         "ews_url",
                                           "authentication", "service_account", "secret",
                                           "impersonation",  "tls_verify",      NULL };
static const char *const conn_readonly[] = { "id",         "secret_set", "last_test", "created_at",
                                             "updated_at", "updated_by", NULL };

struct conn_input {
    struct db_sync_conn_in db;
    char site_id[37];
    const char *secret;
};

/* The secret's sealing is bound to the connection: a row copied elsewhere does not open. */
static void conn_aad(const char *id, char *aad, size_t size)
{
    snprintf(aad, size, "server_connection:%s", id);
}

static void url_read(const cJSON *body, unsigned flags, struct verr *v, const char **out)
{
    *out = NULL;
    if (jsonin_str(body, "", "ews_url", CONN_MAX_URL, flags, v, out) == JF_OK &&
        ((strncasecmp(*out, "https://", 8) != 0 && strncasecmp(*out, "http://", 7) != 0) ||
         strpbrk(*out, " \"<>\\")))
        verr_add(v, "ews_url",
                 "must be an http:// or https:// URL such as "
                 "https://mail.example.com/EWS/Exchange.asmx");
}

static int bool_read(const cJSON *body, const char *key, struct verr *v)
{
    bool b = false;
    return jsonin_bool(body, "", key, 0, v, &b) == JF_OK ? b : -1;
}

/* Reads a POST (create) or PATCH body into in; field errors into v. */
static void conn_read(const cJSON *body, bool create, struct conn_input *in, struct verr *v)
{
    unsigned req = create ? JF_REQUIRED : 0;
    int auth = -1;
    memset(in, 0, sizeof(*in));
    jsonin_members(body, "", conn_fields, conn_readonly, v);
    (void)jsonin_str(body, "", "name", MSE_MAX_NAME, req, v, &in->db.name);
    if (jsonin_uuid(body, "", "site_id", req, v, in->site_id) == JF_OK)
        in->db.site_id = in->site_id;
    url_read(body, req, v, &in->db.ews_url);
    if (jsonin_enum(body, "", "authentication", conn_auths, req, v, &auth) == JF_OK)
        in->db.authentication = conn_auths[auth];
    (void)jsonin_str(body, "", "service_account", CONN_MAX_ACCOUNT, req, v,
                     &in->db.service_account);
    (void)jsonin_str(body, "", "secret", CONN_MAX_SECRET, req | JF_PADDED, v, &in->secret);
    in->db.impersonation = bool_read(body, "impersonation", v);
    in->db.tls_verify = bool_read(body, "tls_verify", v);
}

/* Adds a field error unless the named site exists (share-locked until COMMIT). */
static enum mse_rc site_check(struct tx *tx, const char *site_id, struct verr *v)
{
    struct db_error err;
    bool exists = false;
    if (!site_id)
        return MSE_OK;
    enum mse_rc rc = db_site_exists(tx->db, site_id, true, &exists, &err);
    if (rc == MSE_OK && !exists)
        verr_add(v, "site_id", "names no site");
    return rc;
}

/* Seals the secret (when given) bound to the connection id. */
static enum mse_rc secret_seal(struct tx *tx, const char *id, struct conn_input *in, char **sealed)
{
    char aad[80];
    *sealed = NULL;
    if (!in->secret)
        return MSE_OK;
    conn_aad(id, aad, sizeof(aad));
    enum mse_rc rc =
            secrets_seal(&tx->req->srv->secrets, aad, in->secret, strlen(in->secret), sealed);
    in->db.secret_sealed = *sealed;
    return rc;
}

static void conn_fail(struct tx *tx, enum mse_rc rc)
{
    if (rc == MSE_ERR_CONFLICT)
        tx_fail(tx, 409, "a server connection with this name exists already");
    else
        tx_fail_rc(tx, rc, NULL);
}

/* Writes the connection as stored now, with its audit event, and commits. */
static void conn_reply(struct tx *tx, const char *id, unsigned status, const char *location,
                       const char *before)
{
    struct db_doc after = { 0 };
    struct db_error err;
    enum mse_rc rc = db_sync_conn_get(tx->db, id, false, &after, &err);
    const char *action = status == 201 ? "server_connection.create" : "server_connection.update";
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
    } else if (tx_audit(tx, action, "server_connection", id, before, after.json)) {
        tx_commit_reply(tx, status, after.json, location, after.version);
        after.json = NULL;
    }
    db_doc_cleanup(&after);
}

void api_sync_conn_list(struct request *req)
{
    api_list_by_enum(req, CONN_CURSOR, "authentication", conn_auths, db_sync_conn_list);
}

void api_sync_conn_get(struct request *req)
{
    api_get_doc(req, "server connection", "no server connection with this id", db_sync_conn_get);
}

void api_sync_conn_create(struct request *req)
{
    cJSON *body;
    if (!api_no_query(req) || !jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    struct conn_input in;
    struct tx tx;
    char id[37], location[96], *sealed = NULL;
    verr_init(&v);
    conn_read(body, true, &in, &v);
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the server connection is not valid", &v);
        goto out;
    }
    if (!tx_begin(req, &tx))
        goto out;
    enum mse_rc rc = site_check(&tx, in.db.site_id, &v);
    if (rc == MSE_OK && verr_any(&v)) {
        tx_fail_fields(&tx, 422, "the server connection is not valid", &v);
        goto out;
    }
    struct db_error err;
    mse_uuid_new(id);
    if (rc == MSE_OK)
        rc = secret_seal(&tx, id, &in, &sealed);
    if (rc == MSE_OK)
        rc = db_sync_conn_insert(tx.db, id, &in.db, api_actor(req), &err);
    if (rc != MSE_OK) {
        conn_fail(&tx, rc);
        goto out;
    }
    snprintf(location, sizeof(location), "/api/v1/server-connections/%s", id);
    conn_reply(&tx, id, 201, location, NULL);
out:
    free(sealed);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

void api_sync_conn_patch(struct request *req)
{
    char id[37], *sealed = NULL;
    cJSON *body = NULL;
    if (!api_path_uuid(req, 0, "server connection", id) || !api_no_query(req) ||
        !jsonin_parse(req, JSONIN_PATCH, &body))
        return;
    struct verr v;
    struct conn_input in;
    struct tx tx;
    struct db_doc before = { 0 };
    struct db_error err;
    verr_init(&v);
    conn_read(body, false, &in, &v);
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the change is not valid", &v);
        goto out;
    }
    if (!tx_begin(req, &tx))
        goto out;
    enum mse_rc rc = db_sync_conn_get(tx.db, id, true, &before, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, "no server connection with this id");
        goto out;
    }
    if (!tx_if_match(&tx, before.version))
        goto out;
    rc = site_check(&tx, in.db.site_id, &v);
    if (rc == MSE_OK && verr_any(&v)) {
        tx_fail_fields(&tx, 422, "the change is not valid", &v);
        goto out;
    }
    if (rc == MSE_OK)
        rc = secret_seal(&tx, id, &in, &sealed);
    if (rc == MSE_OK)
        rc = db_sync_conn_update(tx.db, id, &in.db, api_actor(req), &err);
    if (rc != MSE_OK)
        conn_fail(&tx, rc);
    else
        conn_reply(&tx, id, 200, NULL, before.json);
out:
    free(sealed);
    db_doc_cleanup(&before);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

void api_sync_conn_delete(struct request *req)
{
    static const struct api_referenced conn = {
        .kind = "server_connection",
        .missing = "no server connection with this id",
        .in_use = "use this server connection; change or delete them first",
        .referrers = "sync task(s)",
        .get = db_sync_conn_get,
        .tasks = db_sync_conn_task_count,
        .remove = db_sync_conn_delete,
    };
    api_delete_unreferenced(req, &conn);
}

/* The optional body of a test request: {"mailbox": address}. False after answering 422. */
static bool test_body(struct request *req, const cJSON *body, const char **mailbox)
{
    static const char *const allowed[] = { "mailbox", NULL };
    struct verr v;
    *mailbox = NULL;
    if (!body)
        return true;
    verr_init(&v);
    jsonin_members(body, "", allowed, NULL, &v);
    if (jsonin_str(body, "", "mailbox", MSE_MAX_ADDRESS, 0, &v, mailbox) == JF_OK &&
        !group_address_valid(*mailbox))
        verr_add(&v, "mailbox", "must be an e-mail address such as alice@example.com");
    bool ok = !verr_any(&v);
    if (!ok)
        problem_send_fields(req, 422, "the test request is not valid", &v);
    verr_cleanup(&v);
    return ok;
}

void api_sync_conn_test(struct request *req)
{
    char id[37], location[160], *json = NULL;
    cJSON *body = NULL;
    const char *mailbox;
    struct tx tx;
    struct db_error err;
    if (!api_path_uuid(req, 0, "server connection", id) || !api_no_query(req) ||
        !jsonin_parse(req, JSONIN_OPTIONAL, &body) || !test_body(req, body, &mailbox) ||
        !tx_begin(req, &tx))
        goto out;
    enum mse_rc rc = db_sync_test_insert(tx.db, id, mailbox, &json, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, "no server connection with this id");
    } else if (tx_audit(&tx, "server_connection.test", "server_connection", id, NULL, json)) {
        cJSON *doc = cJSON_Parse(json);
        const cJSON *tid = cJSON_GetObjectItemCaseSensitive(doc, "id");
        snprintf(location, sizeof(location), "/api/v1/server-connections/%s/tests/%s", id,
                 cJSON_IsString(tid) ? tid->valuestring : "");
        cJSON_Delete(doc);
        tx_commit_reply(&tx, 202, json, location, -1);
        json = NULL;
    }
out:
    free(json);
    cJSON_Delete(body);
}

void api_sync_conn_test_get(struct request *req)
{
    char id[37], test[37];
    struct db *db;
    struct db_error err;
    struct db_doc doc = { 0 };
    if (!api_path_uuid(req, 0, "server connection", id) ||
        !api_path_uuid(req, 1, "connection test", test) || !api_no_query(req))
        return;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_sync_test_get(db, id, test, &doc, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, "no test with this id for this server connection");
        db_doc_cleanup(&doc);
        return;
    }
    api_reply_doc(req, &doc); /* the ETag changes once, when the test ends */
}

/* ---- the worker side ---- */

enum mse_rc api_sync_conn_secret(struct request *req, struct db *db, const char *conn_id,
                                 char **secret, size_t *len)
{
    struct db_error err;
    char aad[80], *sealed = NULL;
    *secret = NULL;
    *len = 0;
    enum mse_rc rc = db_sync_conn_sealed(db, conn_id, &sealed, &err);
    conn_aad(conn_id, aad, sizeof(aad));
    if (rc == MSE_OK)
        rc = secrets_open(&req->srv->secrets, aad, sealed, secret, len);
    free(sealed);
    return rc;
}

void api_sync_conn_unreadable(struct db *db, const char *conn_id, char *out, size_t size)
{
    struct db_doc d = { 0 };
    struct db_error err;
    cJSON *c =
            db_sync_conn_get(db, conn_id, false, &d, &err) == MSE_OK ? cJSON_Parse(d.json) : NULL;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
    snprintf(out, size,
             "the secret of server connection \"%s\" (%s) cannot be opened with this server's "
             "master key (sealed under another key, or damaged); an administrator must enter "
             "the connection's secret again (PATCH /api/v1/server-connections/%s with \"secret\")",
             cJSON_IsString(name) ? name->valuestring : "?", conn_id, conn_id);
    cJSON_Delete(c);
    db_doc_cleanup(&d);
}

/*
 * Ends a pending test whose connection's secret does not open, failed with why: no worker
 * could run it, and left pending it would be offered, and fail to open, on every poll.
 */
static enum mse_rc test_refuse(struct request *req, struct db *db, const char *id,
                               const char *conn_id)
{
    char text[600];
    struct db_error err;
    api_sync_conn_unreadable(db, conn_id, text, sizeof(text));
    LOG_WARN(&req->log, "connection test %s ended (%s): %s", id, API_SYNC_SECRET_UNREADABLE, text);
    struct db_sync_test_result r = { false, -1, NULL, API_SYNC_SECRET_UNREADABLE, text, NULL };
    enum mse_rc rc = db_sync_test_finish(db, req->principal.site_id, id, &r, &err);
    /* Another poll may have ended it first. */
    return rc == MSE_ERR_NOT_FOUND ? MSE_OK : rc;
}

/*
 * Replaces each test's secret_sealed by the opened secret; a test whose secret does not open
 * is ended failed (test_refuse) and left out of the list.
 */
static enum mse_rc tests_open(struct request *req, struct db *db, cJSON *tests)
{
    cJSON *t = tests ? tests->child : NULL;
    while (t) {
        cJSON *next = t->next;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
        const cJSON *conn = cJSON_GetObjectItemCaseSensitive(t, "connection_id");
        const cJSON *sealed = cJSON_GetObjectItemCaseSensitive(t, "secret_sealed");
        char aad[80], *secret = NULL;
        size_t len = 0;
        if (!cJSON_IsString(id) || !cJSON_IsString(conn) || !cJSON_IsString(sealed))
            return MSE_ERR_INTERNAL;
        conn_aad(conn->valuestring, aad, sizeof(aad));
        enum mse_rc rc = secrets_open(&req->srv->secrets, aad, sealed->valuestring, &secret, &len);
        if (rc == MSE_OK && !cJSON_AddStringToObject(t, "secret", secret))
            rc = MSE_ERR_NOMEM;
        if (secret) {
            explicit_bzero(secret, len);
            free(secret);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(t, "secret_sealed");
        if (rc == MSE_ERR_CRYPTO) {
            rc = test_refuse(req, db, id->valuestring, conn->valuestring);
            cJSON_Delete(cJSON_DetachItemViaPointer(tests, t));
        }
        if (rc != MSE_OK)
            return rc;
        t = next;
    }
    return MSE_OK;
}

void api_worker_sync_tests(struct request *req)
{
    struct db *db;
    struct db_error err;
    char *pending = NULL, *json = NULL;
    if (!api_no_query(req))
        return;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_sync_tests_pending(db, req->principal.site_id, &pending, &err);
    cJSON *tests = rc == MSE_OK ? cJSON_Parse(pending) : NULL;
    cJSON *out = tests ? cJSON_CreateObject() : NULL;
    if (out && rc == MSE_OK)
        rc = tests_open(req, db, tests);
    if (out && rc == MSE_OK && cJSON_AddItemToObject(out, "tests", tests)) {
        tests = NULL;
        json = cJSON_PrintUnformatted(out);
    }
    cJSON_Delete(tests);
    cJSON_Delete(out);
    free(pending);
    if (json)
        (void)http_reply_json_take(req, 200, json);
    else
        problem_send_rc(req, rc == MSE_OK ? MSE_ERR_INTERNAL : rc, NULL);
}

/* Reads a worker's outcome; false after answering 422. */
static bool result_read(struct request *req, const cJSON *body, struct db_sync_test_result *r)
{
    static const char *const allowed[] = { "ok",          "latency_ms", "server_version",
                                           "reason_code", "detail",     "worker_id",
                                           NULL };
    struct verr v;
    const unsigned text = JF_PADDED | JF_EMPTY | JF_MULTILINE | JF_NULLABLE;
    memset(r, 0, sizeof(*r));
    r->latency_ms = -1;
    verr_init(&v);
    jsonin_members(body, "", allowed, NULL, &v);
    (void)jsonin_bool(body, "", "ok", JF_REQUIRED, &v, &r->ok);
    (void)jsonin_int(body, "", "latency_ms", 0, INT32_MAX, JF_NULLABLE, &v, &r->latency_ms);
    (void)jsonin_str(body, "", "server_version", 200, text, &v, &r->server_version);
    (void)jsonin_str(body, "", "reason_code", 64, JF_NULLABLE, &v, &r->reason_code);
    (void)jsonin_str(body, "", "detail", CONN_MAX_DETAIL, text, &v, &r->detail);
    (void)jsonin_str(body, "", "worker_id", 200, 0, &v, &r->worker_id);
    bool ok = !verr_any(&v);
    if (!ok)
        problem_send_fields(req, 422, "the test result is not valid", &v);
    verr_cleanup(&v);
    return ok;
}

void api_worker_sync_test_finish(struct request *req)
{
    char id[37];
    cJSON *body;
    struct db_sync_test_result r;
    if (!api_path_uuid(req, 0, "connection test", id) || !api_no_query(req) ||
        !jsonin_parse(req, 0, &body))
        return;
    if (result_read(req, body, &r)) {
        struct db *db;
        struct db_error err;
        enum mse_rc rc = http_db(req, &db);
        if (rc == MSE_OK)
            rc = db_sync_test_finish(db, req->principal.site_id, id, &r, &err);
        if (rc == MSE_OK)
            (void)http_reply_empty(req, 204);
        else
            problem_send_rc(req, rc, "no pending connection test with this id for this site");
    }
    cJSON_Delete(body);
}
