/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/v1/sites: engine instances that run tasks. Creating one issues its worker credentials
 * (the secret only in that 201 and in rotations); deleting one is refused while tasks use it.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_util.h"
#include "auth.h"
#include "db_client.h"
#include "db_site.h"
#include "http.h"
#include "jsonin.h"
#include "problem.h"
#include "query.h"
#include "server.h"
#include "tx.h"

#define SITE_CURSOR 's'
#define TEXT_FLAGS  (JF_NULLABLE | JF_MULTILINE | JF_EMPTY | JF_PADDED)

static const char *const site_fields[] = { "name", "description", "enabled", NULL };
static const char *const site_readonly[] = { "id",          "status",     "last_seen_at",
                                             "version",     "host",       "workers",
                                             "credentials", "created_at", "updated_at",
                                             "updated_by",  NULL };

struct site_input {
    const char *name;
    const char *description;
    bool set_description; /* description given (NULL = null) */
    int enabled;          /* -1 = not given */
};

/* Reads the writable fields; create requires a name. False after answering 422. */
static bool site_parse(struct request *req, cJSON *body, bool create, struct site_input *in)
{
    struct verr v;
    bool en;
    verr_init(&v);
    memset(in, 0, sizeof(*in));
    in->enabled = -1;
    jsonin_members(body, "", site_fields, site_readonly, &v);
    (void)jsonin_str(body, "", "name", MSE_MAX_NAME, create ? JF_REQUIRED : 0, &v, &in->name);
    enum jf d = jsonin_str(body, "", "description", MSE_MAX_DESCRIPTION, TEXT_FLAGS, &v,
                           &in->description);
    in->set_description = d == JF_OK || d == JF_NULL;
    if (jsonin_bool(body, "", "enabled", 0, &v, &en) == JF_OK)
        in->enabled = en;
    bool ok = !verr_any(&v);
    if (!ok)
        problem_send_fields(req, 422, create ? "the site is not valid" : "the change is not valid",
                            &v);
    verr_cleanup(&v);
    return ok;
}

static void conflict_or(struct tx *tx, enum mse_rc rc)
{
    if (rc == MSE_ERR_CONFLICT)
        tx_fail(tx, 409, "a site with this name exists already");
    else
        tx_fail_rc(tx, rc, NULL);
}

void api_sites_list(struct request *req)
{
    static const char *const allowed[] = { "limit", "cursor", "enabled", NULL };
    struct verr v;
    struct page page;
    bool en;
    int enabled = -1;
    verr_init(&v);
    query_check(req, allowed, &v);
    query_page(req, SITE_CURSOR, &page, &v);
    if (query_bool(req, "enabled", &v, &en))
        enabled = en;
    if (verr_any(&v)) {
        query_fail(req, &v);
        verr_cleanup(&v);
        return;
    }
    struct db *db;
    struct db_error err;
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_site_list(db, enabled, page.has_after, page.after, page.limit, &items, &last, &more,
                          &err);
    api_reply_list_polled(req, rc, items, more, last, SITE_CURSOR);
}

void api_sites_get(struct request *req)
{
    api_get_doc(req, "site", "no site with this id", db_site_get);
}

/* Adds the secret to the credentials object of a rendered site: the 201 body. */
static char *with_secret(const char *site_json, const char *secret)
{
    cJSON *doc = cJSON_Parse(site_json);
    cJSON *cred = cJSON_GetObjectItemCaseSensitive(doc, "credentials");
    char *out = NULL;
    if (cred && cJSON_AddStringToObject(cred, "client_secret", secret))
        out = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return out;
}

/* Inserts the site and its site client; *doc is its representation. */
static enum mse_rc site_store(struct tx *tx, const struct site_input *in, char id[37],
                              char secret[AUTH_SECRET_SIZE], struct db_doc *doc)
{
    char client_id[MSE_MAX_CLIENT_ID + 1], hash[AUTH_HASH_MAX], client_uuid[37];
    struct db_error err;
    const char *actor = api_actor(tx->req);
    enum mse_rc rc =
            db_site_insert(tx->db, in->name, in->description, in->enabled != 0, actor, id, &err);
    if (rc == MSE_OK)
        rc = auth_client_id_new(client_id);
    if (rc == MSE_OK)
        rc = auth_secret_new(secret, hash);
    struct db_client_new n = { .client_id = client_id,
                               .name = in->name,
                               .role = "site",
                               .site_id = id,
                               .secret_hash = hash,
                               .actor = actor };
    if (rc == MSE_OK)
        rc = db_client_insert(tx->db, &n, client_uuid, &err);
    if (rc == MSE_OK)
        rc = db_site_get(tx->db, id, false, doc, &err);
    return rc;
}

void api_sites_create(struct request *req)
{
    cJSON *body;
    struct site_input in;
    if (!jsonin_parse(req, 0, &body))
        return;
    struct tx tx;
    if (!site_parse(req, body, true, &in) || !tx_begin(req, &tx)) {
        cJSON_Delete(body);
        return;
    }
    char id[37], secret[AUTH_SECRET_SIZE] = "", location[96];
    struct db_doc doc = { 0 };
    enum mse_rc rc = site_store(&tx, &in, id, secret, &doc);
    cJSON_Delete(body);
    char *out = rc == MSE_OK ? with_secret(doc.json, secret) : NULL;
    memset(secret, 0, sizeof(secret));
    if (rc == MSE_OK && !out)
        rc = MSE_ERR_NOMEM;
    if (rc != MSE_OK) {
        conflict_or(&tx, rc);
    } else if (tx_audit(&tx, "site.create", "site", id, NULL, doc.json)) {
        snprintf(location, sizeof(location), "/api/v1/sites/%s", id);
        tx_commit_reply(&tx, 201, out, location, doc.version);
        out = NULL;
    }
    free(out);
    db_doc_cleanup(&doc);
}

void api_sites_patch(struct request *req)
{
    char id[37];
    if (!api_path_uuid(req, 0, "site", id))
        return;
    cJSON *body;
    if (!jsonin_parse(req, JSONIN_PATCH, &body))
        return;
    struct site_input in;
    struct tx tx;
    struct db_doc before = { 0 }, after = { 0 };
    struct db_error err;
    if (!site_parse(req, body, false, &in) || !tx_begin(req, &tx))
        goto out;
    enum mse_rc rc = db_site_get(tx.db, id, true, &before, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, "no site with this id");
        goto out;
    }
    if (!tx_if_match(&tx, before.version))
        goto out;
    rc = db_site_update(tx.db, id, in.name, in.set_description, in.description, in.enabled,
                        api_actor(req), &err);
    if (rc == MSE_OK)
        rc = db_site_get(tx.db, id, false, &after, &err);
    if (rc != MSE_OK) {
        conflict_or(&tx, rc);
        goto out;
    }
    if (tx_audit(&tx, "site.update", "site", id, before.json, after.json)) {
        tx_commit_reply(&tx, 200, after.json, NULL, after.version);
        after.json = NULL;
    }
out:
    cJSON_Delete(body);
    db_doc_cleanup(&before);
    db_doc_cleanup(&after);
}

void api_sites_delete(struct request *req)
{
    char id[37], client_uuid[37] = "";
    if (!api_path_uuid(req, 0, "site", id))
        return;
    struct tx tx;
    struct db_doc before = { 0 };
    struct db_error err;
    static const struct api_referenced site = {
        .kind = "site",
        .missing = "no site with this id",
        .in_use = "run on this site; delete them first",
        .get = db_site_get,
        .tasks = db_site_task_count,
    };
    if (!tx_begin(req, &tx) || !api_delete_allowed(&tx, id, &site, &before))
        goto out;
    enum mse_rc rc = db_site_client(tx.db, id, client_uuid, &err);
    if (rc == MSE_OK || rc == MSE_ERR_NOT_FOUND)
        rc = db_site_delete(tx.db, id, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, NULL);
        goto out;
    }
    if (!tx_audit(&tx, "site.delete", "site", id, before.json, NULL))
        goto out;
    tx_commit_reply(&tx, 204, NULL, NULL, -1);
    if (client_uuid[0])
        auth_evict_client(req->srv, client_uuid);
out:
    db_doc_cleanup(&before);
}

/*
 * Gives the locked site's client a new secret (revoking its tokens); *out is the 200 body
 * {client_id, client_secret}, *public the same without the secret (for the audit log).
 */
static enum mse_rc rotate_store(struct tx *tx, const char *id, char client_uuid[37], char **out,
                                char **public)
{
    char secret[AUTH_SECRET_SIZE], hash[AUTH_HASH_MAX];
    struct db_doc site = { 0 };
    struct db_error err;
    cJSON *cred = NULL;
    enum mse_rc rc = db_site_get(tx->db, id, true, &site, &err);
    if (rc == MSE_OK)
        rc = db_site_client(tx->db, id, client_uuid, &err);
    if (rc == MSE_OK)
        rc = auth_secret_new(secret, hash);
    if (rc == MSE_OK)
        rc = db_client_set_secret(tx->db, client_uuid, hash, api_actor(tx->req), &err);
    if (rc == MSE_OK) {
        cJSON *doc = cJSON_Parse(site.json);
        cred = cJSON_DetachItemFromObjectCaseSensitive(doc, "credentials");
        cJSON_Delete(doc);
        *public = cred ? cJSON_PrintUnformatted(cred) : NULL;
        if (*public && cJSON_AddStringToObject(cred, "client_secret", secret))
            *out = cJSON_PrintUnformatted(cred);
        rc = *out ? MSE_OK : MSE_ERR_NOMEM;
    }
    memset(secret, 0, sizeof(secret));
    cJSON_Delete(cred);
    db_doc_cleanup(&site);
    return rc;
}

/* New secret for the site's client; its tokens are revoked in the same transaction. */
void api_sites_rotate(struct request *req)
{
    char id[37], client_uuid[37];
    if (!api_path_uuid(req, 0, "site", id))
        return;
    if (!api_no_fields(req))
        return;
    struct tx tx;
    char *out = NULL, *public = NULL;
    if (!tx_begin(req, &tx))
        return;
    enum mse_rc rc = rotate_store(&tx, id, client_uuid, &out, &public);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, "no site with this id");
    } else if (tx_audit(&tx, "site.credentials.rotate", "site", id, NULL, public)) {
        tx_commit_reply(&tx, 200, out, NULL, -1);
        out = NULL;
        auth_evict_client(req->srv, client_uuid);
    }
    free(out);
    free(public);
}
