/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One change = one transaction: Idempotency-Key handling on the way in, the audit event and the
 * stored response inside, the reply only after COMMIT. Every mutating handler goes through it.
 */
#include "tx.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "db_audit.h"
#include "db_idem.h"
#include "etag.h"
#include "http.h"
#include "problem.h"
#include "secrets.h"
#include "server.h"

/* The header's value is opaque to us, but it ends up in SQL text columns and logs. */
static bool idem_key_valid(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > MSE_MAX_IDEMPOTENCY_KEY)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (k[i] < 0x20 || k[i] > 0x7e)
            return false;
    }
    return true;
}

static void request_hash(struct request *req, char out[65])
{
    struct mse_buf b;
    mse_buf_init(&b, req->body.len + strlen(req->method) + strlen(req->url) + 8);
    if (mse_buf_printf(&b, "%s\n%s\n", req->method, req->url) == MSE_OK &&
        mse_buf_append(&b, req->body.data ? req->body.data : "", req->body.len) == MSE_OK)
        mse_crypto_sha256_hex(b.data, b.len, out);
    else
        snprintf(out, 65, "unhashable");
    mse_buf_cleanup(&b);
}

/* The sealed response is bound to its client and key. */
static void idem_aad(const struct tx *tx, char *out, size_t size)
{
    snprintf(out, size, "idem:%s:%s", tx->req->principal.client_uuid, tx->key);
}

static void replay(struct tx *tx, struct db_idem_row *row)
{
    char aad[512], *body = NULL;
    size_t len = 0;
    idem_aad(tx, aad, sizeof(aad));
    enum mse_rc rc = secrets_open(&tx->req->srv->secrets, aad, row->body, &body, &len);
    if (rc != MSE_OK) {
        tx_fail(tx, 409,
                "the response stored for this Idempotency-Key cannot be read (the server's "
                "master key changed); use a new key");
        return;
    }
    db_rollback(tx->db);
    tx->open = false;
    if (row->location)
        http_add_header(tx->req, "Location", row->location);
    if (row->etag)
        http_add_header(tx->req, "ETag", row->etag);
    http_add_header(tx->req, "Idempotent-Replayed", "true");
    (void)http_reply_take(tx->req, row->status, "application/json", body, len);
}

/* Returns true when the request should go on (no stored response applies). */
static bool idem_check(struct tx *tx)
{
    struct request *req = tx->req;
    struct db_error err;
    bool got = false;
    enum mse_rc rc = db_idem_lock(tx->db, req->principal.client_uuid, tx->key, &got, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
        return false;
    }
    if (!got) {
        http_add_header(req, "Retry-After", "1");
        tx_fail(tx, 409, "a request with this Idempotency-Key is still in progress");
        return false;
    }
    struct db_idem_row row;
    rc = db_idem_find(tx->db, req->principal.client_uuid, tx->key, &row, &err);
    if (rc == MSE_ERR_NOT_FOUND)
        return true;
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
    } else if (strcmp(row.request_hash, tx->hash) != 0) {
        tx_fail(tx, 422,
                "this Idempotency-Key was used with a different request in the last 24 hours");
    } else {
        replay(tx, &row);
    }
    db_idem_row_cleanup(&row);
    return false;
}

bool tx_begin(struct request *req, struct tx *tx)
{
    memset(tx, 0, sizeof(*tx));
    tx->req = req;
    const char *key = http_header(req, "Idempotency-Key");
    bool wants_idem =
            key && strcmp(req->method, "POST") == 0 && req->principal.kind != PRINCIPAL_NONE;
    if (wants_idem && !idem_key_valid(key)) {
        problem_send(req, 400, "Idempotency-Key must be 1 to %d visible ASCII characters",
                     MSE_MAX_IDEMPOTENCY_KEY);
        return false;
    }
    enum mse_rc rc = http_db(req, &tx->db);
    struct db_error err;
    if (rc == MSE_OK)
        rc = db_begin(tx->db, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
        return false;
    }
    tx->open = true;
    if (!wants_idem)
        return true;
    tx->idem = true;
    snprintf(tx->key, sizeof(tx->key), "%s", key);
    request_hash(req, tx->hash);
    return idem_check(tx);
}

bool tx_audit(struct tx *tx, const char *action, const char *resource_type, const char *resource_id,
              const char *before, const char *after)
{
    struct request *req = tx->req;
    struct db_error err;
    struct audit_event e = { action, resource_type, resource_id, before, after };
    enum mse_rc rc =
            db_audit_insert(tx->db, &req->principal, req->request_id, req->remote_addr, &e, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc == MSE_ERR_UNAVAILABLE ? rc : MSE_ERR_DB, NULL);
        return false;
    }
    return true;
}

static enum mse_rc idem_store(struct tx *tx, unsigned status, const char *body,
                              const char *location, const char *etag)
{
    char aad[512];
    struct db_idem_row row = { .status = status };
    struct db_error err;
    idem_aad(tx, aad, sizeof(aad));
    snprintf(row.request_hash, sizeof(row.request_hash), "%s", tx->hash);
    row.location = (char *)location;
    row.etag = (char *)etag;
    enum mse_rc rc = secrets_seal(&tx->req->srv->secrets, aad, body ? body : "",
                                  body ? strlen(body) : 0, &row.body);
    if (rc == MSE_OK)
        rc = db_idem_store(tx->db, tx->req->principal.client_uuid, tx->key, &row, &err);
    free(row.body);
    return rc;
}

void tx_commit_reply(struct tx *tx, unsigned status, char *body, const char *location,
                     int64_t version)
{
    struct request *req = tx->req;
    char etag[ETAG_MAX];
    struct db_error err;
    if (version >= 0)
        etag_format(version, etag);
    enum mse_rc rc = MSE_OK;
    if (body) /* compact, as every answer; a replay sends what is stored */
        cJSON_Minify(body);
    /* Only successes are remembered: a failed request changed nothing and may be retried. */
    if (tx->idem && status < 300)
        rc = idem_store(tx, status, body, location, version >= 0 ? etag : NULL);
    if (rc == MSE_OK)
        rc = db_commit(tx->db, &err);
    tx->open = false;
    if (rc != MSE_OK) {
        db_rollback(tx->db);
        free(body);
        problem_send_rc(req, rc, "a concurrent change conflicted with this one; retry");
        return;
    }
    if (location)
        http_add_header(req, "Location", location);
    if (version >= 0)
        http_add_header(req, "ETag", etag);
    if (body)
        (void)http_reply_json_take(req, status, body);
    else
        (void)http_reply_empty(req, status);
}

static void tx_rollback(struct tx *tx)
{
    if (tx->open && tx->db)
        db_rollback(tx->db);
    tx->open = false;
}

void tx_fail(struct tx *tx, unsigned status, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    tx_rollback(tx);
    problem_send(tx->req, status, "%s", detail);
}

void tx_fail_rc(struct tx *tx, enum mse_rc rc, const char *detail)
{
    tx_rollback(tx);
    problem_send_rc(tx->req, rc, detail);
}

void tx_fail_fields(struct tx *tx, unsigned status, const char *detail, const struct verr *v)
{
    tx_rollback(tx);
    problem_send_fields(tx->req, status, detail, v);
}

bool tx_if_match(struct tx *tx, int64_t version)
{
    switch (etag_if_match(http_header(tx->req, "If-Match"), version)) {
    case ETAG_ABSENT:
    case ETAG_MATCH:
        return true;
    case ETAG_MISMATCH:
        tx_fail(tx, 412, "If-Match does not match the current ETag; read the resource again");
        return false;
    case ETAG_MALFORMED:
        break;
    }
    tx_fail(tx, 400, "If-Match must be * or a list of entity tags");
    return false;
}
