/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OAuth 2.0 endpoints: client credentials grant (RFC 6749 §4.4) and token revocation
 * (RFC 7009). Their errors follow RFC 6749 §5.2: JSON {error, error_description}.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "auth.h"
#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "db_auth.h"
#include "http.h"
#include "problem.h"
#include "server.h"
#include "tx.h"

#define FORM_VALUE_MAX 1024 /* no parameter of ours is longer */

/* The parameters both endpoints understand; unknown ones are ignored (RFC 6749 §3.2). */
enum form_field { F_GRANT_TYPE, F_CLIENT_ID, F_CLIENT_SECRET, F_SCOPE, F_TOKEN, F_HINT, F_COUNT };
static const char *const form_names[F_COUNT] = { "grant_type", "client_id", "client_secret",
                                                 "scope",      "token",     "token_type_hint" };

struct form {
    char value[F_COUNT][FORM_VALUE_MAX + 1];
    size_t len[F_COUNT];
    bool seen[F_COUNT];
    const char *error; /* why the form is unacceptable, or NULL */
};

static enum MHD_Result form_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *content_type,
                                 const char *transfer_encoding, const char *data, uint64_t off,
                                 size_t size)
{
    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    struct form *f = cls;
    for (int i = 0; i < F_COUNT; i++) {
        if (strcmp(key, form_names[i]) != 0)
            continue;
        if (off == 0 && f->seen[i])
            f->error = "a parameter appears more than once";
        f->seen[i] = true;
        if (f->len[i] + size > FORM_VALUE_MAX) {
            f->error = "a parameter is too long";
            return MHD_YES;
        }
        memcpy(f->value[i] + f->len[i], data, size);
        f->len[i] += size;
        f->value[i][f->len[i]] = '\0';
    }
    return MHD_YES;
}

static void oauth_error(struct request *req, unsigned status, const char *error,
                        const char *description)
{
    char body[512];
    struct mse_buf b;
    mse_buf_init(&b, sizeof(body) - 1);
    if (mse_buf_printf(&b, "{\"error\":\"%s\",\"error_description\":\"", error) != MSE_OK ||
        mse_buf_json_escape(&b, description) != MSE_OK || mse_buf_puts(&b, "\"}") != MSE_OK) {
        mse_buf_cleanup(&b);
        problem_send(req, 500, "out of memory");
        return;
    }
    snprintf(body, sizeof(body), "%s", b.data);
    mse_buf_cleanup(&b);
    http_add_header(req, "Cache-Control", "no-store");
    http_add_header(req, "Pragma", "no-cache");
    (void)http_reply_json(req, status, body);
}

/* Parses the urlencoded body; false after answering invalid_request. */
static bool form_parse(struct request *req, struct form *f)
{
    memset(f, 0, sizeof(*f));
    const char *ct = http_header(req, "Content-Type");
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        oauth_error(req, 400, "invalid_request",
                    "the body must be application/x-www-form-urlencoded");
        return false;
    }
    struct MHD_PostProcessor *pp = MHD_create_post_processor(req->conn, 4096, form_iter, f);
    if (!pp) {
        oauth_error(req, 400, "invalid_request", "the form cannot be parsed");
        return false;
    }
    bool ok = req->body.len == 0 || MHD_post_process(pp, req->body.data, req->body.len) == MHD_YES;
    ok &= MHD_destroy_post_processor(pp) == MHD_YES;
    if (!ok || f->error) {
        oauth_error(req, 400, "invalid_request", f->error ? f->error : "malformed form body");
        return false;
    }
    for (int i = 0; i < F_COUNT; i++) {
        if (strlen(f->value[i]) != f->len[i]) {
            oauth_error(req, 400, "invalid_request", "parameters must not contain NUL");
            return false;
        }
    }
    return true;
}

/*
 * Client credentials from HTTP Basic (each part form-urlencoded, RFC 6749 §2.3.1) or the form;
 * false after answering. Using both methods at once is an error.
 */
static bool client_credentials(struct request *req, struct form *f, char *id, char *secret,
                               bool *basic)
{
    const char *h = http_header(req, "Authorization");
    *basic = h && strncasecmp(h, "Basic ", 6) == 0;
    if (*basic && (f->seen[F_CLIENT_ID] || f->seen[F_CLIENT_SECRET])) {
        oauth_error(req, 400, "invalid_request", "use HTTP Basic or form fields, not both");
        return false;
    }
    if (!*basic) {
        if (!f->seen[F_CLIENT_ID] || !f->seen[F_CLIENT_SECRET]) {
            http_add_header(req, "WWW-Authenticate", "Basic realm=\"mse\"");
            oauth_error(req, 401, "invalid_client", "client authentication is required");
            return false;
        }
        snprintf(id, FORM_VALUE_MAX + 1, "%s", f->value[F_CLIENT_ID]);
        snprintf(secret, FORM_VALUE_MAX + 1, "%s", f->value[F_CLIENT_SECRET]);
        return true;
    }
    const char *b64 = h + 6;
    while (*b64 == ' ')
        b64++;
    uint8_t *plain = NULL;
    size_t n = 0;
    char *colon = NULL;
    if (strlen(b64) <= 2 * FORM_VALUE_MAX &&
        mse_crypto_b64_decode(b64, strlen(b64), &plain, &n) == MSE_OK && n <= FORM_VALUE_MAX &&
        memchr(plain, '\0', n) == NULL) {
        plain[n] = '\0';
        colon = strchr((char *)plain, ':');
    }
    if (colon) {
        *colon = '\0';
        snprintf(id, FORM_VALUE_MAX + 1, "%s", (char *)plain);
        snprintf(secret, FORM_VALUE_MAX + 1, "%s", colon + 1);
        MHD_http_unescape(id);
        MHD_http_unescape(secret);
    }
    free(plain);
    if (!colon) {
        http_add_header(req, "WWW-Authenticate", "Basic realm=\"mse\"");
        oauth_error(req, 401, "invalid_client", "malformed HTTP Basic credentials");
    }
    return colon != NULL;
}

/* Authenticates the client; false after answering 401, 429 or 5xx. */
static bool client_authenticate(struct request *req, struct form *f, struct principal *p)
{
    char id[FORM_VALUE_MAX + 1], secret[FORM_VALUE_MAX + 1];
    bool basic;
    if (!client_credentials(req, f, id, secret, &basic))
        return false;
    unsigned wait = 0;
    enum auth_verdict v = auth_client_verify(req, id, secret, p, &wait);
    memset(secret, 0, sizeof(secret));
    switch (v) {
    case AUTH_OK:
        return true;
    case AUTH_BLOCKED: {
        char secs[16];
        snprintf(secs, sizeof(secs), "%u", wait);
        http_add_header(req, "Retry-After", secs);
        problem_send(req, 429, "too many failed authentications; retry in %u s", wait);
        return false;
    }
    case AUTH_INVALID:
        if (basic)
            http_add_header(req, "WWW-Authenticate", "Basic realm=\"mse\"");
        oauth_error(req, 401, "invalid_client", "unknown client, wrong secret or disabled client");
        return false;
    case AUTH_ERROR:
        break;
    }
    problem_send_rc(req, MSE_ERR_UNAVAILABLE, NULL);
    return false;
}

/* A fresh 256-bit token, base64url (43 characters). */
static enum mse_rc token_new(char out[64])
{
    uint8_t raw[32];
    enum mse_rc rc = mse_crypto_random(raw, sizeof(raw));
    if (rc == MSE_OK)
        mse_crypto_b64url(raw, sizeof(raw), out, 64);
    return rc;
}

void api_oauth_token(struct request *req)
{
    struct form f;
    if (!form_parse(req, &f))
        return;
    if (!f.seen[F_GRANT_TYPE]) {
        oauth_error(req, 400, "invalid_request", "grant_type is required");
        return;
    }
    if (strcmp(f.value[F_GRANT_TYPE], "client_credentials") != 0) {
        oauth_error(req, 400, "unsupported_grant_type", "only client_credentials is supported");
        return;
    }
    struct principal p;
    if (!client_authenticate(req, &f, &p))
        return;
    char token[64], hash[65], body[256];
    struct db *db;
    struct db_error err;
    enum mse_rc rc = token_new(token);
    auth_token_hash(token, hash);
    if (rc == MSE_OK)
        rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_auth_token_insert(db, hash, p.client_uuid, req->srv->cfg.token_ttl, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
        return;
    }
    req->principal = p;
    snprintf(body, sizeof(body),
             "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":%u}", token,
             req->srv->cfg.token_ttl);
    memset(token, 0, sizeof(token));
    http_add_header(req, "Cache-Control", "no-store");
    http_add_header(req, "Pragma", "no-cache");
    (void)http_reply_json(req, 200, body);
    memset(body, 0, sizeof(body));
}

/* RFC 7009: a client revokes one of its own tokens; unknown tokens are not an error. */
void api_oauth_revoke(struct request *req)
{
    struct form f;
    if (!form_parse(req, &f))
        return;
    if (!f.seen[F_TOKEN] || f.value[F_TOKEN][0] == '\0') {
        oauth_error(req, 400, "invalid_request", "token is required");
        return;
    }
    struct principal p;
    if (!client_authenticate(req, &f, &p))
        return;
    req->principal = p;
    char hash[65];
    bool revoked = false;
    struct db_error err;
    struct tx tx;
    auth_token_hash(f.value[F_TOKEN], hash);
    if (!tx_begin(req, &tx))
        return;
    enum mse_rc rc = db_auth_token_revoke(tx.db, hash, p.client_uuid, &revoked, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, NULL);
        return;
    }
    if (revoked && !tx_audit(&tx, "access_token.revoke", "api_client", p.client_uuid, NULL, NULL))
        return;
    http_add_header(req, "Cache-Control", "no-store");
    tx_commit_reply(&tx, 200, NULL, NULL, -1);
    /* After COMMIT: a request racing with this one may have cached the token meanwhile. */
    if (revoked)
        auth_evict_token(req->srv, f.value[F_TOKEN]);
}
