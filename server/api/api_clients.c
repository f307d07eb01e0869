/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/v1/api-clients: OAuth clients (admin, read_only, journal, and mailbox_user: an end
 * user bound to one mailbox, with delegates). The secret is shown once, in the 201 of its
 * creation or the 200 of its rotation. Site clients are listed here but belong to their site.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_util.h"
#include "auth.h"
#include "db_client.h"
#include "group.h"
#include "http.h"
#include "jsonin.h"
#include "problem.h"
#include "query.h"
#include "server.h"
#include "tx.h"

#define CLIENT_CURSOR 'c'

#define ROLE_SITE_INDEX 2
#define ROLE_USER_INDEX 4
#define MAX_DELEGATES   100 /* as the schema's check */

static const char *const client_roles[] = { "admin",   "read_only",    "site",
                                            "journal", "mailbox_user", NULL };
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

/* Lower-cases an address in place (addresses are compared and stored in lower case). */
static void address_lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/*
 * A mailbox_user's "delegates": distinct addresses other than its own mailbox, as a JSON
 * array in lower case (*out, malloc'd; NULL when absent or invalid, with the problems in v).
 */
static void delegates_read(const cJSON *body, const char *own, struct verr *v, char **out)
{
    const cJSON *arr;
    char path[48];
    *out = NULL;
    if (jsonin_array(body, "", "delegates", MAX_DELEGATES, 0, v, &arr) != JF_OK)
        return;
    cJSON *list = cJSON_CreateArray();
    unsigned before = v->count;
    int i = 0;
    for (const cJSON *e = arr->child; e && list; e = e->next, i++) {
        snprintf(path, sizeof(path), "delegates[%d]", i);
        if (!cJSON_IsString(e) || !group_address_valid(e->valuestring)) {
            verr_add(v, path, "must be a mailbox address such as ann@example.com");
            continue;
        }
        bool dup = own && strcasecmp(e->valuestring, own) == 0;
        for (const cJSON *p = arr->child; p != e && !dup; p = p->next)
            dup = cJSON_IsString(p) && strcasecmp(p->valuestring, e->valuestring) == 0;
        if (dup) {
            verr_add(v, path, "is the user's own mailbox or listed before");
            continue;
        }
        cJSON *s = cJSON_CreateString(e->valuestring);
        if (s)
            address_lower(s->valuestring);
        if (!s || !cJSON_AddItemToArray(list, s))
            v->nomem = true;
    }
    if (!list)
        v->nomem = true;
    if (list && v->count == before && !v->nomem) {
        *out = cJSON_PrintUnformatted(list);
        v->nomem |= *out == NULL;
    }
    cJSON_Delete(list);
}

/* A mailbox_user's "mailbox" (required) and "delegates"; other roles may have neither. */
static void mailbox_read(const cJSON *body, int role, struct db_client_new *n, char *mailbox,
                         char **delegates, struct verr *v)
{
    const char *text = NULL;
    enum jf m = jsonin_str(body, "", "mailbox", MSE_MAX_ADDRESS,
                           role == ROLE_USER_INDEX ? JF_REQUIRED : 0, v, &text);
    if (role != ROLE_USER_INDEX) {
        if (m != JF_ABSENT)
            verr_add(v, "mailbox", "only mailbox_user clients are bound to a mailbox");
        if (cJSON_GetObjectItemCaseSensitive(body, "delegates"))
            verr_add(v, "delegates", "only mailbox_user clients have delegates");
        return;
    }
    if (m == JF_OK && !group_address_valid(text))
        verr_add(v, "mailbox", "must be a mailbox address such as ann@example.com");
    else if (m == JF_OK) {
        snprintf(mailbox, MSE_MAX_ADDRESS + 1, "%s", text);
        address_lower(mailbox);
        n->mailbox = mailbox;
    }
    delegates_read(body, n->mailbox, v, delegates);
    n->delegates = *delegates;
}

/*
 * The body of POST: name, role (admin | read_only | journal | mailbox_user), enabled, and a
 * mailbox_user's mailbox and delegates (*delegates malloc'd). False after answering.
 */
static bool create_parse(struct request *req, cJSON *body, struct db_client_new *n, bool *enabled,
                         char *mailbox, char **delegates)
{
    static const char *const allowed[] = {
        "name", "role", "enabled", "mailbox", "delegates", NULL
    };
    struct verr v;
    int role = 0;
    verr_init(&v);
    *enabled = true;
    jsonin_members(body, "", allowed, client_readonly, &v);
    (void)jsonin_str(body, "", "name", MSE_MAX_NAME, JF_REQUIRED, &v, &n->name);
    if (jsonin_enum(body, "", "role", client_roles, JF_REQUIRED, &v, &role) == JF_OK &&
        role == ROLE_SITE_INDEX)
        verr_add(&v, "role", "site clients come with their site (POST /api/v1/sites)");
    (void)jsonin_bool(body, "", "enabled", 0, &v, enabled);
    n->role = client_roles[role];
    mailbox_read(body, role, n, mailbox, delegates, &v);
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
    char mailbox[MSE_MAX_ADDRESS + 1], *delegates = NULL;
    bool ok = create_parse(req, body, &n, &enabled, mailbox, &delegates);
    struct tx tx;
    if (!ok || !tx_begin(req, &tx)) {
        cJSON_Delete(body);
        free(delegates);
        return;
    }
    char id[37], location[96], *out = NULL;
    struct db_doc doc = { 0 };
    enum mse_rc rc = create_store(&tx, &n, enabled, &doc, id, &out);
    cJSON_Delete(body);
    free(delegates);
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

/* The body of PATCH: name, enabled, delegates (checked once the client is known). */
static bool patch_parse(struct request *req, cJSON *body, const char **name, int *enabled)
{
    static const char *const allowed[] = { "name", "enabled", "delegates", NULL };
    static const char *const readonly[] = { "id",         "client_id",  "client_secret",
                                            "site_id",    "role",       "mailbox",
                                            "created_at", "updated_at", "updated_by",
                                            NULL };
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

/*
 * A PATCH's delegates for the locked client (its document before): replaced when given, for
 * mailbox_user clients only. False after answering 422 or failing.
 */
static bool patch_delegates(struct tx *tx, cJSON *body, const char *id, const char *role,
                            const struct db_doc *before)
{
    if (!cJSON_GetObjectItemCaseSensitive(body, "delegates"))
        return true;
    struct verr v;
    struct db_error err;
    char *delegates = NULL;
    verr_init(&v);
    cJSON *doc = cJSON_Parse(before->json);
    const cJSON *own = cJSON_GetObjectItemCaseSensitive(doc, "mailbox");
    if (strcmp(role, "mailbox_user") != 0)
        verr_add(&v, "delegates", "only mailbox_user clients have delegates");
    else
        delegates_read(body, cJSON_IsString(own) ? own->valuestring : NULL, &v, &delegates);
    cJSON_Delete(doc);
    bool ok = !verr_any(&v);
    if (!ok)
        tx_fail_fields(tx, 422, "the change is not valid", &v);
    verr_cleanup(&v);
    if (ok) {
        enum mse_rc rc = db_client_set_delegates(tx->db, id, delegates, api_actor(tx->req), &err);
        if (rc != MSE_OK) {
            tx_fail_rc(tx, rc, NULL);
            ok = false;
        }
    }
    free(delegates);
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
    if (!patch_delegates(&tx, body, id, role, &before))
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

/*
 * A new secret for a client other than a site's (those rotate with their site); its tokens
 * are revoked in the same transaction. The 200 carries client_id and the secret, once.
 */
void api_clients_rotate(struct request *req)
{
    char id[37], role[16], secret[AUTH_SECRET_SIZE], hash[AUTH_HASH_MAX];
    if (!api_path_uuid(req, 0, "API client", id))
        return;
    if (!api_no_fields(req))
        return;
    bool enabled = false;
    struct tx tx;
    struct db_doc before = { 0 };
    struct db_error err;
    char *out = NULL;
    if (!tx_begin(req, &tx) || !client_lock(&tx, id, &before, role, &enabled))
        goto done;
    if (strcmp(role, "site") == 0) {
        tx_fail(&tx, 409, "site credentials rotate with POST /api/v1/sites/{id}/credentials");
        goto done;
    }
    enum mse_rc rc = auth_secret_new(secret, hash);
    if (rc == MSE_OK)
        rc = db_client_set_secret(tx.db, id, hash, api_actor(req), &err);
    cJSON *doc = rc == MSE_OK ? cJSON_Parse(before.json) : NULL;
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(doc, "client_id");
    cJSON *reply = cJSON_CreateObject();
    if (rc == MSE_OK && cJSON_IsString(cid) && reply &&
        cJSON_AddStringToObject(reply, "client_id", cid->valuestring) &&
        cJSON_AddStringToObject(reply, "client_secret", secret))
        out = cJSON_PrintUnformatted(reply);
    memset(secret, 0, sizeof(secret));
    if (reply && cJSON_GetObjectItemCaseSensitive(reply, "client_secret")) {
        char *s = cJSON_GetObjectItemCaseSensitive(reply, "client_secret")->valuestring;
        memset(s, 0, strlen(s));
    }
    cJSON_Delete(reply);
    cJSON_Delete(doc);
    if (rc == MSE_OK && !out)
        rc = MSE_ERR_NOMEM;
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, NULL);
    } else if (tx_audit(&tx, "api_client.credentials.rotate", "api_client", id, NULL,
                        before.json)) {
        tx_commit_reply(&tx, 200, out, NULL, -1);
        out = NULL;
        auth_evict_client(req->srv, id);
    }
done:
    if (out)
        memset(out, 0, strlen(out));
    free(out);
    db_doc_cleanup(&before);
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
