/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/v1/api-clients: admin and read_only OAuth clients. The secret is shown once, in the
 * 201 of its creation. Site clients are listed here but belong to their site.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_util.h"
#include "auth.h"
#include "db_client.h"
#include "http.h"
#include "jsonin.h"
#include "problem.h"
#include "query.h"
#include "server.h"
#include "tx.h"

#define CLIENT_CURSOR 'c'

static const char *const client_roles[] = { "admin", "read_only", "site", "journal", NULL };
static const char *const client_readonly[] = { "id",         "client_id",  "client_secret",
                                               "site_id",    "created_at", "updated_at",
                                               "updated_by", NULL };

void api_clients_list(struct request *req)
{
    api_list_by_enum(req, CLIENT_CURSOR, "role", client_roles, db_client_list);
}

void api_clients_get(struct request *req)
{
    api_get_doc(req, "API client", "no API client with this id", db_client_get);
}

/* The body of POST: name, role (admin | read_only | journal), enabled. False after answering. */
static bool create_parse(struct request *req, cJSON *body, struct db_client_new *n, bool *enabled)
{
    static const char *const allowed[] = { "name", "role", "enabled", NULL };
    struct verr v;
    int role = 0;
    verr_init(&v);
    *enabled = true;
    jsonin_members(body, "", allowed, client_readonly, &v);
    (void)jsonin_str(body, "", "name", MSE_MAX_NAME, JF_REQUIRED, &v, &n->name);
    if (jsonin_enum(body, "", "role", client_roles, JF_REQUIRED, &v, &role) == JF_OK && role == 2)
        verr_add(&v, "role", "site clients come with their site (POST /api/v1/sites)");
    (void)jsonin_bool(body, "", "enabled", 0, &v, enabled);
    n->role = client_roles[role];
    bool ok = !verr_any(&v);
    if (!ok)
        problem_send_fields(req, 422, "the API client is not valid", &v);
    verr_cleanup(&v);
    return ok;
}

/* Creates the client inside tx; *body_out gets the 201 body with the secret. */
static enum mse_rc create_store(struct tx *tx, struct db_client_new *n, bool enabled,
                                struct db_doc *doc, char id[37], char **body_out)
{
    char client_id[MSE_MAX_CLIENT_ID + 1], secret[AUTH_SECRET_SIZE], hash[AUTH_HASH_MAX];
    char fragment[128];
    struct db_error err;
    enum mse_rc rc = auth_client_id_new(client_id);
    if (rc == MSE_OK)
        rc = auth_secret_new(secret, hash);
    n->client_id = client_id;
    n->secret_hash = hash;
    n->actor = api_actor(tx->req);
    if (rc == MSE_OK)
        rc = db_client_insert(tx->db, n, id, &err);
    if (rc == MSE_OK && !enabled)
        rc = db_client_update(tx->db, id, NULL, 0, n->actor, &err);
    if (rc == MSE_OK)
        rc = db_client_get(tx->db, id, false, doc, &err);
    if (rc == MSE_OK) {
        snprintf(fragment, sizeof(fragment), "\"client_secret\":\"%s\"", secret);
        *body_out = api_splice(doc->json, fragment);
        rc = *body_out ? MSE_OK : MSE_ERR_NOMEM;
    }
    memset(secret, 0, sizeof(secret));
    return rc;
}

void api_clients_create(struct request *req)
{
    cJSON *body;
    if (!jsonin_parse(req, 0, &body))
        return;
    struct db_client_new n = { 0 };
    bool enabled;
    bool ok = create_parse(req, body, &n, &enabled);
    struct tx tx;
    if (!ok || !tx_begin(req, &tx)) {
        cJSON_Delete(body);
        return;
    }
    char id[37], location[96], *out = NULL;
    struct db_doc doc = { 0 };
    enum mse_rc rc = create_store(&tx, &n, enabled, &doc, id, &out);
    cJSON_Delete(body);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, NULL);
    } else if (tx_audit(&tx, "api_client.create", "api_client", id, NULL, doc.json)) {
        snprintf(location, sizeof(location), "/api/v1/api-clients/%s", id);
        tx_commit_reply(&tx, 201, out, location, doc.version);
        out = NULL;
    }
    free(out);
    db_doc_cleanup(&doc);
}

/* Locks the client and checks If-Match; *role and *enabled describe it. False after answering. */
static bool client_lock(struct tx *tx, const char *id, struct db_doc *before, char role[16],
                        bool *enabled)
{
    struct db_error err;
    enum mse_rc rc = db_client_get(tx->db, id, true, before, &err);
    if (rc == MSE_OK)
        rc = db_client_state(tx->db, id, role, enabled, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, "no API client with this id");
        return false;
    }
    return tx_if_match(tx, before->version);
}

/* Refuses to leave the server without an enabled admin client. False after answering 409. */
static bool admins_remain(struct tx *tx, const char *id)
{
    struct db_error err;
    int64_t others = 0;
    enum mse_rc rc = db_client_other_admins(tx->db, id, &others, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
        return false;
    }
    if (others == 0) {
        tx_fail(tx, 409, "this is the last enabled admin client; create another one first");
        return false;
    }
    return true;
}

static bool patch_parse(struct request *req, cJSON *body, const char **name, int *enabled)
{
    static const char *const allowed[] = { "name", "enabled", NULL };
    static const char *const readonly[] = { "id",         "client_id",  "client_secret",
                                            "site_id",    "role",       "created_at",
                                            "updated_at", "updated_by", NULL };
    struct verr v;
    bool en;
    verr_init(&v);
    *name = NULL;
    *enabled = -1;
    jsonin_members(body, "", allowed, readonly, &v);
    (void)jsonin_str(body, "", "name", MSE_MAX_NAME, 0, &v, name);
    if (jsonin_bool(body, "", "enabled", 0, &v, &en) == JF_OK)
        *enabled = en;
    bool ok = !verr_any(&v);
    if (!ok)
        problem_send_fields(req, 422, "the change is not valid", &v);
    verr_cleanup(&v);
    return ok;
}

void api_clients_patch(struct request *req)
{
    char id[37], role[16];
    if (!api_path_uuid(req, 0, "API client", id))
        return;
    cJSON *body;
    if (!jsonin_parse(req, JSONIN_PATCH, &body))
        return;
    const char *name;
    int enabled;
    bool was_enabled = false, ok = patch_parse(req, body, &name, &enabled);
    struct tx tx;
    struct db_doc before = { 0 }, after = { 0 };
    struct db_error err;
    if (!ok || !tx_begin(req, &tx) || !client_lock(&tx, id, &before, role, &was_enabled))
        goto out;
    if (enabled == 0 && was_enabled && strcmp(role, "admin") == 0 && !admins_remain(&tx, id))
        goto out;
    enum mse_rc rc = db_client_update(tx.db, id, name, enabled, api_actor(req), &err);
    if (rc == MSE_OK)
        rc = db_client_get(tx.db, id, false, &after, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, NULL);
        goto out;
    }
    if (!tx_audit(&tx, "api_client.update", "api_client", id, before.json, after.json))
        goto out;
    tx_commit_reply(&tx, 200, after.json, NULL, after.version);
    after.json = NULL;
    if (enabled == 0)
        auth_evict_client(req->srv, id);
out:
    cJSON_Delete(body);
    db_doc_cleanup(&before);
    db_doc_cleanup(&after);
}

void api_clients_delete(struct request *req)
{
    char id[37], role[16];
    if (!api_path_uuid(req, 0, "API client", id))
        return;
    struct tx tx;
    struct db_doc before = { 0 };
    struct db_error err;
    bool enabled = false;
    if (!tx_begin(req, &tx) || !client_lock(&tx, id, &before, role, &enabled))
        goto out;
    if (strcmp(role, "site") == 0) {
        tx_fail(&tx, 409,
                "site credentials belong to their site: delete the site, or rotate them with "
                "POST /api/v1/sites/{id}/credentials");
        goto out;
    }
    if (enabled && strcmp(role, "admin") == 0 && !admins_remain(&tx, id))
        goto out;
    enum mse_rc rc = db_client_delete(tx.db, id, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, NULL);
        goto out;
    }
    if (!tx_audit(&tx, "api_client.delete", "api_client", id, before.json, NULL))
        goto out;
    tx_commit_reply(&tx, 204, NULL, NULL, -1);
    auth_evict_client(req->srv, id);
out:
    db_doc_cleanup(&before);
}
