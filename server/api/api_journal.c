/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /api/v1/journal: an MTA's journal feed. The raw message goes into the blob store
 * first, then its row (headers, addresses, body text for search, attribution) in one
 * transaction. The same content posted again is stored once: 200 with the first post's row.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "api_util.h"
#include "blobstore.h"
#include "buf.h"
#include "db_journal.h"
#include "http.h"
#include "mime.h"
#include "problem.h"
#include "query.h"
#include "server.h"
#include "tx.h"

/* The media type of a Content-Type value without parameters, for the 415's detail. */
static void media_type(const char *ct, char out[128])
{
    size_t n = ct ? strcspn(ct, ";") : 0;
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n >= 128)
        n = 127;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)ct[i]);
    out[n] = '\0';
}

/* An envelope address: 1 to MSE_MAX_ADDRESS printable bytes with an '@'. */
static bool envelope_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MSE_MAX_ADDRESS || !strchr(s, '@'))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    return true;
}

struct envelope {
    const char *sender; /* NULL: none given, or the null sender <> */
    const char *rcpt[MSE_MAX_JOURNAL_RECIPIENTS];
    size_t nrcpt;
};

/* Reads sender= and rcpt= (repeated); false after answering 400 naming each bad one. */
static bool envelope_read(struct request *req, struct envelope *e)
{
    static const char *const allowed[] = { "sender", "rcpt", NULL };
    static const char *const repeatable[] = { "rcpt", NULL };
    struct verr v;
    verr_init(&v);
    query_check_repeat(req, allowed, repeatable, &v);
    e->sender = http_query(req, "sender");
    if (e->sender && !e->sender[0])
        e->sender = NULL; /* bounces come from the null sender */
    if (e->sender && !envelope_ok(e->sender))
        verr_add(&v, "sender", "must be an address (local@domain) of at most %d bytes",
                 MSE_MAX_ADDRESS);
    size_t n = query_values(req, "rcpt", e->rcpt, MSE_MAX_JOURNAL_RECIPIENTS);
    if (n > MSE_MAX_JOURNAL_RECIPIENTS)
        verr_add(&v, "rcpt", "at most %d recipients", MSE_MAX_JOURNAL_RECIPIENTS);
    e->nrcpt = n > MSE_MAX_JOURNAL_RECIPIENTS ? MSE_MAX_JOURNAL_RECIPIENTS : n;
    for (size_t i = 0; i < e->nrcpt; i++)
        if (!envelope_ok(e->rcpt[i])) {
            verr_add(&v, "rcpt", "\"%.64s\" is not an address (local@domain) of at most %d bytes",
                     e->rcpt[i], MSE_MAX_ADDRESS);
            break;
        }
    bool ok = !verr_any(&v);
    if (!ok)
        query_fail(req, &v);
    verr_cleanup(&v);
    return ok;
}

/* Appends "s" in lower case (ASCII: what the archive compares addresses in) to a JSON array. */
static enum mse_rc json_address(struct mse_buf *b, const char *s)
{
    char low[MSE_MAX_ADDRESS + 1];
    size_t n = strlen(s);
    if (n > MSE_MAX_ADDRESS)
        n = MSE_MAX_ADDRESS;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    low[n] = '\0';
    enum mse_rc rc = mse_buf_puts(b, b->len > 1 ? ",\"" : "\"");
    if (rc == MSE_OK)
        rc = mse_buf_json_escape(b, low);
    return rc == MSE_OK ? mse_buf_puts(b, "\"") : rc;
}

static enum mse_rc json_list(struct mse_buf *b, const struct mime_address_list *l)
{
    enum mse_rc rc = MSE_OK;
    for (size_t i = 0; rc == MSE_OK && i < l->n; i++)
        if (l->v[i].email && l->v[i].email[0])
            rc = json_address(b, l->v[i].email);
    return rc;
}

/* The JSON arrays and lower-case copies a record points to; freed by addresses_cleanup. */
struct addresses {
    struct mse_buf to, cc, rcpts, candidates;
    char from[MSE_MAX_ADDRESS + 1], sender[MSE_MAX_ADDRESS + 1];
};

static void lower_copy(char out[MSE_MAX_ADDRESS + 1], const char *s)
{
    size_t i = 0;
    for (; s[i] && i < MSE_MAX_ADDRESS; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

static void addresses_cleanup(struct addresses *a)
{
    mse_buf_cleanup(&a->to);
    mse_buf_cleanup(&a->cc);
    mse_buf_cleanup(&a->rcpts);
    mse_buf_cleanup(&a->candidates);
}

static enum mse_rc addresses_build(struct addresses *a, const struct mime_message *m,
                                   const struct envelope *e)
{
    struct mse_buf *bufs[] = { &a->to, &a->cc, &a->rcpts, &a->candidates };
    enum mse_rc rc = MSE_OK;
    for (size_t i = 0; i < 4; i++) {
        mse_buf_init(bufs[i], MSE_MAX_RESPONSE_BODY);
        if (rc == MSE_OK)
            rc = mse_buf_puts(bufs[i], "[");
    }
    const struct mime_address_list *origin = m->from.n ? &m->from : &m->sender;
    a->from[0] = a->sender[0] = '\0';
    if (origin->n && origin->v[0].email)
        lower_copy(a->from, origin->v[0].email);
    if (e->sender)
        lower_copy(a->sender, e->sender);
    if (rc == MSE_OK)
        rc = json_list(&a->to, &m->to);
    if (rc == MSE_OK)
        rc = json_list(&a->cc, &m->cc);
    for (size_t i = 0; rc == MSE_OK && i < e->nrcpt; i++)
        rc = json_address(&a->rcpts, e->rcpt[i]);
    /* Attribution looks at everyone the message names or was delivered to. */
    const struct mime_address_list *all[] = { &m->from, &m->sender, &m->to, &m->cc, &m->bcc };
    for (size_t i = 0; rc == MSE_OK && i < 5; i++)
        rc = json_list(&a->candidates, all[i]);
    if (rc == MSE_OK && e->sender)
        rc = json_address(&a->candidates, e->sender);
    for (size_t i = 0; rc == MSE_OK && i < e->nrcpt; i++)
        rc = json_address(&a->candidates, e->rcpt[i]);
    for (size_t i = 0; rc == MSE_OK && i < 4; i++)
        rc = mse_buf_puts(bufs[i], "]");
    return rc;
}

/*
 * A collector that removed this content (unreferenced, past its grace) while our row insert
 * waited for its lock took the object with it: the content is written once more.
 */
static bool content_still_stored(struct request *req, const char *sha)
{
    struct mse_err serr = { { 0 } };
    char got[BLOBSTORE_SHA_HEX];
    bool present = false;
    int64_t size = 0;
    enum mse_rc rc = blobstore_stat(req->srv->blobs, sha, &present, &size, &serr);
    if (rc == MSE_OK && !present)
        rc = blobstore_put(req->srv->blobs, req->body.data, req->body.len, sha, got, &serr);
    if (rc != MSE_OK)
        snprintf(req->cause, sizeof(req->cause), "blob store: %.240s", serr.msg);
    return rc == MSE_OK;
}

/* The row of the message whose content is in the store; answers 201, 200 or a problem. */
static void journal_record(struct request *req, const struct mime_message *m,
                           const struct envelope *e, const char *sha)
{
    struct addresses a;
    struct tx tx;
    enum mse_rc rc = addresses_build(&a, m, e);
    if (rc != MSE_OK) {
        addresses_cleanup(&a);
        problem_send_rc(req, rc, NULL);
        return;
    }
    const char *from_name =
            m->from.n && m->from.v[0].name && m->from.v[0].name[0] ? m->from.v[0].name : NULL;
    struct journal_record r = {
        .sha256 = sha,
        .size = (int64_t)req->body.len,
        .backend = blobstore_backend_name(req->srv->blobs),
        .message_id = m->message_id,
        .subject = m->subject,
        .from_address = a.from[0] ? a.from : NULL,
        .from_name = from_name,
        .to_json = a.to.data,
        .cc_json = a.cc.data,
        .has_date = m->has_date,
        .date = m->date,
        .has_attachments = m->has_attachments,
        .body_text = m->text ? m->text : "",
        .envelope_sender = a.sender[0] ? a.sender : NULL,
        .rcpts_json = a.rcpts.data,
        .candidates_json = a.candidates.data,
        .internal_domains = req->srv->cfg.internal_domains,
    };
    char id[37];
    bool created = false;
    char *json = NULL;
    struct db_error err;
    if (!tx_begin(req, &tx)) {
        addresses_cleanup(&a);
        return;
    }
    rc = db_journal_insert(tx.db, &r, id, &created, &json, &err);
    addresses_cleanup(&a);
    if (rc == MSE_OK && !content_still_stored(req, sha)) {
        free(json);
        tx_fail(&tx, 503, "the content store is unavailable; retry shortly");
        return;
    }
    if (rc == MSE_OK && created &&
        !tx_audit(&tx, "journal.ingest", "journal_message", id, NULL, NULL)) {
        free(json);
        return;
    }
    if (rc != MSE_OK)
        tx_fail_rc(&tx, rc, NULL);
    else
        tx_commit_reply(&tx, created ? 201 : 200, json, NULL, -1);
}

void api_journal_post(struct request *req)
{
    char type[128];
    media_type(http_header(req, "Content-Type"), type);
    if (strcmp(type, "message/rfc822") != 0) {
        problem_send(req, 415, "a journaled message must be sent as message/rfc822, not %s",
                     type[0] ? type : "a body without Content-Type");
        return;
    }
    struct envelope e;
    if (!envelope_read(req, &e))
        return;
    struct mime_message m;
    enum mime_outcome outcome = MIME_EMPTY;
    enum mse_rc rc = mime_parse(req->body.data ? req->body.data : "", req->body.len, &m, &outcome);
    if (rc != MSE_OK) {
        mime_message_cleanup(&m);
        problem_send_rc(req, rc, NULL);
        return;
    }
    if (outcome != MIME_PARSED) {
        mime_message_cleanup(&m);
        problem_send(req, 422, "the body is not a message that can be journaled: %s",
                     mime_outcome_detail(outcome));
        return;
    }
    /* Content before rows: nothing may reference what the store does not hold. */
    char sha[BLOBSTORE_SHA_HEX];
    struct mse_err serr = { { 0 } };
    rc = blobstore_put(req->srv->blobs, req->body.data, req->body.len, NULL, sha, &serr);
    if (rc != MSE_OK)
        api_blob_problem(req, rc, &serr, "the message could not be stored");
    else
        journal_record(req, &m, &e, sha);
    mime_message_cleanup(&m);
}
