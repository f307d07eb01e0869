/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A site's Active Directory: the configuration administrators set (the bind password sealed at
 * rest, never returned), tests and group look-ups the site's workers answer, membership
 * refreshes, and the worker side of all three (docs/directory.md).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "api_util.h"
#include "db_directory.h"
#include "db_site.h"
#include "group.h"
#include "http.h"
#include "jsonin.h"
#include "problem.h"
#include "query.h"
#include "server.h"
#include "tx.h"

#define GROUP_CURSOR 'g'
/* URLs one directory may list (tried in order). */
#define DIRECTORY_MAX_URLS 8
#define DIRECTORY_MAX_URL  512
#define DIRECTORY_MAX_DN   2000
/* Groups and OUs one catalogue may carry. */
#define DIRECTORY_MAX_GROUPS 20000

static const char *const directory_fields[] = { "urls",       "bind_dn",   "password", "base_dn",
                                                "tls_verify", "page_size", NULL };
static const char *const directory_readonly[] = {
    "site_id",    "password_set", "last_test", "created_at", "groups_reported_at",
    "updated_at", "updated_by",   NULL
};

struct directory_input {
    struct db_directory_in db;
    const char *password;
    char *urls_json; /* owned */
};

/* The password's sealing is bound to the site: a row copied to another site does not open. */
static void directory_aad(const char *site_id, char *aad, size_t size)
{
    snprintf(aad, size, "site_directory:%s", site_id);
}

static void urls_parse(const cJSON *body, struct verr *v, struct directory_input *in)
{
    const cJSON *urls = NULL, *u;
    if (jsonin_array(body, "", "urls", DIRECTORY_MAX_URLS, JF_REQUIRED, v, &urls) != JF_OK)
        return;
    if (cJSON_GetArraySize(urls) == 0)
        verr_add(v, "urls", "must list at least one URL");
    int i = 0;
    cJSON_ArrayForEach(u, urls)
    {
        char path[32];
        snprintf(path, sizeof(path), "urls[%d]", i++);
        if (!cJSON_IsString(u))
            verr_add(v, path, "must be a string");
        else if (jsonin_str_ok(u->valuestring, path, DIRECTORY_MAX_URL, 0, v) &&
                 ((strncasecmp(u->valuestring, "ldap://", 7) != 0 &&
                   strncasecmp(u->valuestring, "ldaps://", 8) != 0) ||
                  strchr(u->valuestring, ' ')))
            verr_add(v, path, "must be an ldap:// (StartTLS) or ldaps:// URL");
    }
    in->urls_json = cJSON_PrintUnformatted(urls);
}

static void dn_parse(const cJSON *body, const char *key, unsigned flags, struct verr *v,
                     const char **out)
{
    if (jsonin_str(body, "", key, DIRECTORY_MAX_DN, flags, v, out) == JF_OK &&
        !group_dn_valid(*out))
        verr_add(v, key, "must be a distinguished name (RFC 4514)");
}

/* Reads the body of a PUT; false after answering 422. */
static bool directory_parse(struct request *req, const cJSON *body, struct directory_input *in)
{
    struct verr v;
    int64_t page = 500;
    bool tls = true;
    verr_init(&v);
    memset(in, 0, sizeof(*in));
    jsonin_members(body, "", directory_fields, directory_readonly, &v);
    urls_parse(body, &v, in);
    dn_parse(body, "bind_dn", JF_REQUIRED, &v, &in->db.bind_dn);
    dn_parse(body, "base_dn", JF_REQUIRED, &v, &in->db.base_dn);
    (void)jsonin_str(body, "", "password", 256, JF_PADDED, &v, &in->password);
    (void)jsonin_bool(body, "", "tls_verify", 0, &v, &tls);
    (void)jsonin_int(body, "", "page_size", 1, 5000, 0, &v, &page);
    in->db.tls_verify = tls;
    in->db.page_size = (unsigned)page;
    in->db.urls_json = in->urls_json;
    bool ok = !verr_any(&v);
    if (!ok)
        problem_send_fields(req, 422, "the directory is not valid", &v);
    else if (!in->urls_json)
        problem_send(req, 500, "out of memory");
    verr_cleanup(&v);
    return ok && in->urls_json;
}

/* Answers 404 unless the path's site exists; false after answering. */
static bool site_found(struct request *req, struct db *db, const char *site_id)
{
    struct db_error err;
    bool exists = false;
    enum mse_rc rc = db_site_exists(db, site_id, false, &exists, &err);
    if (rc == MSE_OK && exists)
        return true;
    problem_send_rc(req, rc == MSE_OK ? MSE_ERR_NOT_FOUND : rc, "no site with this id");
    return false;
}

void api_directory_get(struct request *req)
{
    char site[37];
    struct db *db;
    struct db_error err;
    struct db_doc doc = { 0 };
    if (!api_path_uuid(req, 0, "site", site) || !api_no_query(req))
        return;
    enum mse_rc rc = http_db(req, &db);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
        return;
    }
    if (!site_found(req, db, site))
        return;
    rc = db_directory_get(db, site, false, &doc, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, "the site has no directory");
        db_doc_cleanup(&doc);
        return;
    }
    api_reply_doc(req, &doc);
}

/* Seals the password (when given) and stores the directory; *after is its new rendering. */
static enum mse_rc directory_store(struct tx *tx, const char *site, struct directory_input *in,
                                   struct db_doc *after)
{
    char aad[64];
    char *sealed = NULL;
    struct db_error err;
    enum mse_rc rc = MSE_OK;
    directory_aad(site, aad, sizeof(aad));
    if (in->password)
        rc = secrets_seal(&tx->req->srv->secrets, aad, in->password, strlen(in->password), &sealed);
    in->db.password_sealed = sealed;
    if (rc == MSE_OK)
        rc = db_directory_put(tx->db, site, &in->db, api_actor(tx->req), &err);
    if (rc == MSE_OK)
        rc = db_directory_get(tx->db, site, false, after, &err);
    free(sealed);
    return rc;
}

void api_directory_put(struct request *req)
{
    char site[37];
    cJSON *body = NULL;
    struct directory_input in = { 0 };
    struct tx tx;
    struct db_doc before = { 0 }, after = { 0 };
    struct db_error err;
    bool exists = false;
    if (!api_path_uuid(req, 0, "site", site) || !api_no_query(req) ||
        !jsonin_parse(req, 0, &body) || !directory_parse(req, body, &in) || !tx_begin(req, &tx))
        goto out;
    enum mse_rc rc = db_site_exists(tx.db, site, true, &exists, &err);
    if (rc != MSE_OK || !exists) {
        tx_fail_rc(&tx, rc == MSE_OK ? MSE_ERR_NOT_FOUND : rc, "no site with this id");
        goto out;
    }
    rc = db_directory_get(tx.db, site, true, &before, &err);
    if (rc != MSE_OK && rc != MSE_ERR_NOT_FOUND) {
        tx_fail_rc(&tx, rc, NULL);
        goto out;
    }
    if (rc == MSE_OK && !tx_if_match(&tx, before.version))
        goto out;
    if (rc == MSE_ERR_NOT_FOUND && !in.password) {
        struct verr v;
        verr_init(&v);
        verr_add(&v, "password", "is required when the site has no directory yet");
        tx_fail_fields(&tx, 422, "the directory is not valid", &v);
        verr_cleanup(&v);
        goto out;
    }
    rc = directory_store(&tx, site, &in, &after);
    if (rc != MSE_OK)
        tx_fail_rc(&tx, rc, NULL);
    else if (tx_audit(&tx, "site.directory.update", "site", site, before.json, after.json)) {
        tx_commit_reply(&tx, 200, after.json, NULL, after.version);
        after.json = NULL;
    }
out:
    cJSON_Delete(body);
    free(in.urls_json);
    db_doc_cleanup(&before);
    db_doc_cleanup(&after);
}

void api_directory_test(struct request *req)
{
    char site[37], location[160], *json = NULL;
    struct tx tx;
    struct db_doc dir = { 0 };
    struct db_error err;
    if (!api_path_uuid(req, 0, "site", site) || !api_no_query(req) || !tx_begin(req, &tx))
        return;
    enum mse_rc rc = db_directory_get(tx.db, site, false, &dir, &err);
    if (rc == MSE_OK)
        rc = db_directory_test_insert(tx.db, site, &json, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, "the site has no directory to test");
    } else if (tx_audit(&tx, "site.directory.test", "site", site, NULL, json)) {
        cJSON *doc = cJSON_Parse(json);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
        snprintf(location, sizeof(location), "/api/v1/sites/%s/directory/tests/%s", site,
                 cJSON_IsString(id) ? id->valuestring : "");
        cJSON_Delete(doc);
        tx_commit_reply(&tx, 202, json, location, -1);
        json = NULL;
    }
    free(json);
    db_doc_cleanup(&dir);
}

void api_directory_test_get(struct request *req)
{
    char site[37], id[37];
    struct db *db;
    struct db_error err;
    struct db_doc doc = { 0 };
    if (!api_path_uuid(req, 0, "site", site) || !api_path_uuid(req, 1, "directory test", id) ||
        !api_no_query(req))
        return;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_directory_test_get(db, site, id, &doc, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, "no directory test with this id for this site");
        db_doc_cleanup(&doc);
        return;
    }
    api_reply_doc(req, &doc); /* the ETag changes once, when the test ends */
}

void api_directory_groups(struct request *req)
{
    static const char *const allowed[] = { "q", "limit", "cursor", NULL };
    char site[37];
    struct verr v;
    struct page page;
    const char *q = NULL;
    if (!api_path_uuid(req, 0, "site", site))
        return;
    verr_init(&v);
    query_check(req, allowed, &v);
    query_page(req, GROUP_CURSOR, &page, &v);
    (void)query_str(req, "q", &v, &q);
    if (verr_any(&v)) {
        query_fail(req, &v);
        verr_cleanup(&v);
        return;
    }
    verr_cleanup(&v);
    struct db *db;
    struct db_error err;
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    enum mse_rc rc = http_db(req, &db);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
        return;
    }
    if (!site_found(req, db, site))
        return;
    rc = db_directory_groups_search(db, site, q, page.has_after, page.after, page.limit, &items,
                                    &last, &more, &err);
    api_reply_list(req, rc, items, more, last, GROUP_CURSOR);
}

static void membership_refresh(struct request *req, bool sync)
{
    char id[37], *json = NULL;
    struct tx tx;
    struct db_error err;
    const char *what = sync ? "sync task" : "exchange task";
    if (!api_path_uuid(req, 0, what, id) || !api_no_query(req) || !tx_begin(req, &tx))
        return;
    enum mse_rc rc = db_directory_refresh_insert(tx.db, sync, id, api_actor(req), &json, &err);
    if (rc != MSE_OK)
        tx_fail_rc(&tx, rc, sync ? "no sync task with this id" : "no exchange task with this id");
    else if (tx_audit(&tx,
                      sync ? "sync_task.membership_refresh" : "exchange_task.membership_refresh",
                      sync ? "sync_task" : "exchange_task", id, NULL, json)) {
        tx_commit_reply(&tx, 202, json, NULL, -1);
        json = NULL;
    }
    free(json);
}

void api_tasks_membership_refresh(struct request *req)
{
    membership_refresh(req, false);
}

void api_sync_tasks_membership_refresh(struct request *req)
{
    membership_refresh(req, true);
}

/* ---- the worker side ---- */

/* The worker's view: the configuration with the password opened, or null. */
static cJSON *worker_directory(struct request *req, const struct db_directory_worker *w)
{
    char aad[64], *password = NULL;
    size_t len = 0;
    if (!w->json)
        return cJSON_CreateNull();
    cJSON *d = cJSON_Parse(w->json);
    directory_aad(req->principal.site_id, aad, sizeof(aad));
    if (!d ||
        secrets_open(&req->srv->secrets, aad, w->password_sealed, &password, &len) != MSE_OK ||
        !cJSON_AddStringToObject(d, "password", password)) {
        cJSON_Delete(d);
        d = NULL;
    }
    if (password) {
        explicit_bzero(password, len);
        free(password);
    }
    return d;
}

void api_worker_directory(struct request *req)
{
    static const char *const allowed[] = { "refresh_after", NULL };
    struct verr v;
    int64_t after = -1;
    verr_init(&v);
    query_check(req, allowed, &v);
    (void)query_int(req, "refresh_after", 0, INT64_MAX, &v, &after);
    if (verr_any(&v)) {
        query_fail(req, &v);
        verr_cleanup(&v);
        return;
    }
    verr_cleanup(&v);
    struct db *db;
    struct db_error err;
    struct db_directory_worker w = { 0 };
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_directory_worker_get(db, req->principal.site_id, after, &w, &err);
    cJSON *out = rc == MSE_OK ? cJSON_CreateObject() : NULL;
    cJSON *dir = out ? worker_directory(req, &w) : NULL;
    char *json = NULL;
    if (dir && cJSON_AddItemToObject(out, "directory", dir)) {
        dir = NULL;
        cJSON_AddItemToObject(out, "tests", cJSON_Parse(w.tests));
        cJSON_AddItemToObject(out, "refreshes", cJSON_Parse(w.refreshes));
        cJSON_AddNumberToObject(out, "refresh_seq", (double)w.refresh_seq);
        json = cJSON_PrintUnformatted(out);
    }
    cJSON_Delete(dir);
    cJSON_Delete(out);
    db_directory_worker_cleanup(&w);
    if (json)
        (void)http_reply_json_take(req, 200, json);
    else
        problem_send_rc(req, rc == MSE_OK ? MSE_ERR_NOMEM : rc, NULL);
}

void api_worker_directory_test(struct request *req)
{
    static const char *const allowed[] = { "ok", "reason_code", "detail", "worker_id", NULL };
    char id[37];
    cJSON *body;
    if (!api_path_uuid(req, 0, "directory test", id) || !jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    bool ok = false;
    const char *reason = NULL, *detail = NULL, *worker = NULL;
    verr_init(&v);
    jsonin_members(body, "", allowed, NULL, &v);
    (void)jsonin_bool(body, "", "ok", JF_REQUIRED, &v, &ok);
    (void)jsonin_str(body, "", "reason_code", 64, 0, &v, &reason);
    (void)jsonin_str(body, "", "detail", 2000, JF_PADDED | JF_EMPTY | JF_MULTILINE, &v, &detail);
    (void)jsonin_str(body, "", "worker_id", 200, 0, &v, &worker);
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the test result is not valid", &v);
    } else {
        struct db *db;
        struct db_error err;
        enum mse_rc rc = http_db(req, &db);
        if (rc == MSE_OK)
            rc = db_directory_test_finish(db, req->principal.site_id, id, ok, ok ? NULL : reason,
                                          ok ? NULL : detail, worker, &err);
        if (rc == MSE_OK)
            (void)http_reply_empty(req, 204);
        else
            problem_send_rc(req, rc, "no pending directory test with this id for this site");
    }
    verr_cleanup(&v);
    cJSON_Delete(body);
}

/* Checks one catalogue entry; path names it in errors. */
static void group_check(const cJSON *g, const char *path, struct verr *v)
{
    static const char *const allowed[] = { "dn", "name", "mail", "kind", "member_count", NULL };
    static const char *const kinds[] = { "security_group", "distribution_group", "ou", NULL };
    const char *s;
    int k;
    int64_t n;
    if (!cJSON_IsObject(g)) {
        verr_add(v, path, "must be an object");
        return;
    }
    jsonin_members(g, path, allowed, NULL, v);
    (void)jsonin_str(g, path, "dn", DIRECTORY_MAX_DN, JF_REQUIRED | JF_PADDED, v, &s);
    (void)jsonin_str(g, path, "name", 1000, JF_NULLABLE | JF_PADDED | JF_EMPTY, v, &s);
    (void)jsonin_str(g, path, "mail", 1000, JF_NULLABLE | JF_PADDED | JF_EMPTY, v, &s);
    (void)jsonin_enum(g, path, "kind", kinds, JF_REQUIRED, v, &k);
    (void)jsonin_int(g, path, "member_count", 0, INT32_MAX, JF_NULLABLE, v, &n);
}

void api_worker_directory_groups(struct request *req)
{
    static const char *const allowed[] = { "groups", NULL };
    cJSON *body;
    if (!api_no_query(req) || !jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    const cJSON *groups = NULL, *g;
    verr_init(&v);
    jsonin_members(body, "", allowed, NULL, &v);
    if (jsonin_array(body, "", "groups", DIRECTORY_MAX_GROUPS, JF_REQUIRED, &v, &groups) == JF_OK) {
        int i = 0;
        cJSON_ArrayForEach(g, groups)
        {
            char path[32];
            snprintf(path, sizeof(path), "groups[%d]", i++);
            group_check(g, path, &v);
            if (verr_any(&v))
                break; /* one bad entry says enough; a catalogue is all or nothing */
        }
    }
    char *json = !verr_any(&v) ? cJSON_PrintUnformatted(groups) : NULL;
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the catalogue is not valid", &v);
    } else if (!json) {
        problem_send(req, 500, "out of memory");
    } else {
        struct db *db;
        struct db_error err;
        enum mse_rc rc = http_db(req, &db);
        if (rc == MSE_OK)
            rc = db_directory_groups_replace(db, req->principal.site_id, json, &err);
        if (rc == MSE_OK)
            (void)http_reply_empty(req, 204);
        else
            problem_send_rc(req, rc, NULL);
    }
    free(json);
    verr_cleanup(&v);
    cJSON_Delete(body);
}
