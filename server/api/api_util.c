/* SPDX-License-Identifier: Apache-2.0 */
/* Small pieces every resource handler uses: path ids, rendered documents, pages, splicing. */
#include "api_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "crypto.h"
#include "cursor.h"
#include "db_util.h"
#include "etag.h"
#include "group.h"
#include "http.h"
#include "ids.h"
#include "jsonin.h"
#include "mse/limits.h"
#include "problem.h"
#include "query.h"
#include "tx.h"

bool api_path_uuid(struct request *req, unsigned idx, const char *what, char out[37])
{
    const char *s = idx < req->nparams ? req->params[idx] : "";
    if (!mse_uuid_valid(s)) {
        problem_send(req, 404, "no %s with id %.64s", what, s);
        return false;
    }
    for (int i = 0; i < 36; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[36] = '\0';
    return true;
}

bool api_no_query(struct request *req)
{
    static const char *const none[] = { NULL };
    struct verr v;
    verr_init(&v);
    query_check(req, none, &v);
    bool ok = !verr_any(&v);
    if (!ok)
        query_fail(req, &v);
    verr_cleanup(&v);
    return ok;
}

bool api_no_fields(struct request *req)
{
    cJSON *body;
    if (!jsonin_parse(req, JSONIN_OPTIONAL, &body))
        return false;
    bool empty = !body || !body->child;
    cJSON_Delete(body);
    if (!empty)
        problem_send(req, 422, "this request takes no fields (send no body, or {})");
    return empty;
}

void api_reply_doc(struct request *req, struct db_doc *doc)
{
    char etag[ETAG_MAX];
    etag_format(doc->version, etag);
    http_add_header(req, "ETag", etag);
    (void)http_reply_json_take(req, 200, doc->json);
    doc->json = NULL;
}

/*
 * A page polled for changes (the console's dashboard): its ETag is a hash of the bytes, so an
 * unchanged page costs the client a 304 and no parsing. The query still runs; what is saved
 * is the transfer, and the page's redrawing in the browser.
 */
static void page_send(struct request *req, char *json, bool etag)
{
    if (etag) {
        char hex[65], tag[36];
        mse_crypto_sha256_hex(json, strlen(json), hex);
        snprintf(tag, sizeof(tag), "\"%.32s\"", hex);
        http_add_header(req, "ETag", tag);
        const char *inm = http_header(req, "If-None-Match");
        if (inm && strstr(inm, tag)) {
            free(json);
            (void)http_reply_not_modified(req);
            return;
        }
    }
    (void)http_reply_json_take(req, 200, json);
}

void api_reply_polled(struct request *req, enum mse_rc rc, char *json)
{
    if (rc != MSE_OK) {
        free(json);
        problem_send_rc(req, rc, NULL);
        return;
    }
    page_send(req, json, true);
}

static void page_reply(struct request *req, char *items, bool more, int64_t last_seq, char kind,
                       bool etag)
{
    char cursor[CURSOR_MAX];
    struct mse_buf b;
    char *out = NULL;
    mse_buf_init(&b, MSE_MAX_RESPONSE_BODY);
    enum mse_rc rc = mse_buf_puts(&b, "{\"items\":");
    if (rc == MSE_OK)
        rc = mse_buf_puts(&b, items);
    if (rc == MSE_OK && more) {
        cursor_encode(kind, last_seq, cursor);
        rc = mse_buf_printf(&b, ",\"next_cursor\":\"%s\"}", cursor);
    } else if (rc == MSE_OK) {
        rc = mse_buf_puts(&b, ",\"next_cursor\":null}");
    }
    if (rc == MSE_OK)
        rc = mse_buf_take(&b, &out, NULL);
    mse_buf_cleanup(&b);
    free(items);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
        return;
    }
    page_send(req, out, etag);
}

void api_reply_page(struct request *req, char *items, bool more, int64_t last_seq, char kind)
{
    page_reply(req, items, more, last_seq, kind, false);
}

void api_reply_list(struct request *req, enum mse_rc rc, char *items, bool more, int64_t last_seq,
                    char kind)
{
    if (rc != MSE_OK) {
        free(items);
        problem_send_rc(req, rc, NULL);
        return;
    }
    api_reply_page(req, items, more, last_seq, kind);
}

void api_reply_list_polled(struct request *req, enum mse_rc rc, char *items, bool more,
                           int64_t last_seq, char kind)
{
    if (rc != MSE_OK) {
        free(items);
        problem_send_rc(req, rc, NULL);
        return;
    }
    page_reply(req, items, more, last_seq, kind, true);
}

void api_list_by_enum(struct request *req, char kind, const char *name, const char *const *values,
                      api_list_fn list)
{
    const char *const allowed[] = { "limit", "cursor", name, NULL };
    struct verr v;
    struct page page;
    int value = -1;
    verr_init(&v);
    query_check(req, allowed, &v);
    query_page(req, kind, &page, &v);
    (void)query_enum(req, name, values, &v, &value);
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
        rc = list(db, value >= 0 ? values[value] : NULL, page.has_after, page.after, page.limit,
                  &items, &last, &more, &err);
    api_reply_list_polled(req, rc, items, more, last, kind);
}

char *api_splice(const char *object, const char *fragment)
{
    size_t n = strlen(object);
    while (n && object[n - 1] != '}')
        n--;
    if (n == 0)
        return NULL;
    size_t m = strlen(fragment);
    char *out = malloc(n + m + 2);
    if (!out)
        return NULL;
    memcpy(out, object, n - 1);
    /* An empty object "{}" takes the fragment without a separating comma. */
    size_t at = n - 1, k = at;
    while (k > 0 && isspace((unsigned char)object[k - 1]))
        k--;
    bool empty = k > 0 && object[k - 1] == '{';
    if (!empty)
        out[at++] = ',';
    memcpy(out + at, fragment, m);
    out[at + m] = '}';
    out[at + m + 1] = '\0';
    return out;
}

const char *api_actor(struct request *req)
{
    return req->principal.client_id[0] ? req->principal.client_id : NULL;
}

void api_get_doc(struct request *req, const char *what, const char *missing, api_doc_get_fn get)
{
    char id[37];
    if (!api_path_uuid(req, 0, what, id) || !api_no_query(req))
        return;
    struct db *db;
    struct db_error err;
    struct db_doc doc = { 0 };
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = get(db, id, false, &doc, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, missing);
        db_doc_cleanup(&doc);
        return;
    }
    api_reply_doc(req, &doc);
}

bool api_delete_allowed(struct tx *tx, const char *id, const struct api_referenced *r,
                        struct db_doc *before)
{
    struct db_error err;
    int64_t tasks = 0;
    enum mse_rc rc = r->get(tx->db, id, true, before, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, r->missing);
        return false;
    }
    if (!tx_if_match(tx, before->version))
        return false;
    rc = r->tasks(tx->db, id, &tasks, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
        return false;
    }
    if (tasks > 0) {
        tx_fail(tx, 409, "%lld %s %s", (long long)tasks,
                r->referrers ? r->referrers : "exchange task(s)", r->in_use);
        return false;
    }
    return true;
}

void api_delete_unreferenced(struct request *req, const struct api_referenced *r)
{
    char id[37], action[64];
    struct tx tx;
    struct db_doc before = { 0 };
    struct db_error err;
    if (!api_path_uuid(req, 0, r->kind, id) || !tx_begin(req, &tx))
        return;
    if (api_delete_allowed(&tx, id, r, &before)) {
        enum mse_rc rc = r->remove(tx.db, id, &err);
        snprintf(action, sizeof(action), "%s.delete", r->kind);
        if (rc != MSE_OK)
            tx_fail_rc(&tx, rc, NULL);
        else if (tx_audit(&tx, action, r->kind, id, before.json, NULL))
            tx_commit_reply(&tx, 204, NULL, NULL, -1);
    }
    db_doc_cleanup(&before);
}

/* The enum of an index into group_kind_names. */
static enum group_kind group_kind_of(int index)
{
    return (enum group_kind)index;
}

void api_group_read(const cJSON *body, int *kind, char **value, struct verr *v)
{
    static const char *const allowed[] = { "kind", "value", NULL };
    const cJSON *g;
    const char *text;
    *kind = -1;
    *value = NULL;
    if (jsonin_object(body, "", "group", JF_REQUIRED, v, &g) != JF_OK)
        return;
    jsonin_members(g, "group", allowed, NULL, v);
    enum jf k = jsonin_enum(g, "group", "kind", group_kind_names, JF_REQUIRED, v, kind);
    enum jf val = jsonin_str(g, "group", "value", MSE_MAX_LIST_VALUE, JF_PADDED, v, &text);
    if (k != JF_OK)
        *kind = -1;
    if (k == JF_OK && val == JF_ABSENT)
        verr_add(v, "group.value", "is required");
    if (k == JF_OK && val == JF_OK)
        (void)group_normalize(group_kind_of(*kind), text, "group.value", value, v);
}

bool api_page_only(struct request *req, char kind, struct page *page)
{
    static const char *const allowed[] = { "limit", "cursor", NULL };
    struct verr v;
    verr_init(&v);
    query_check(req, allowed, &v);
    query_page(req, kind, page, &v);
    bool ok = !verr_any(&v);
    if (!ok)
        query_fail(req, &v);
    verr_cleanup(&v);
    return ok;
}

void api_blob_problem(struct request *req, enum mse_rc rc, const struct mse_err *err,
                      const char *not_found)
{
    snprintf(req->cause, sizeof(req->cause), "blob store: %.240s", err->msg);
    if (rc == MSE_ERR_NOT_FOUND) {
        problem_send(req, 404, "%s", not_found);
    } else if (rc == MSE_ERR_UNAVAILABLE) {
        http_add_header(req, "Retry-After", "5");
        problem_send(req, 503, "the content store is unavailable; retry shortly");
    } else if (rc == MSE_ERR_CRYPTO) {
        problem_send(req, 500, "the stored content does not match its SHA-256 (request id %s)",
                     req->request_id);
    } else {
        problem_send_rc(req, rc, NULL);
    }
}
