/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mailbox Storage Management's worker route (docs/storage-management.md): before it deletes or
 * stubs anything, a worker asks whether the archive holds each candidate and whether the
 * mailbox's user may see the archived copy. Only under the mailbox's lock, with the claim's
 * fencing token; reads only.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_outcome.h"
#include "api_worker.h"
#include "db_storage.h"
#include "http.h"
#include "jsonin.h"
#include "mse/protocol.h"
#include "problem.h"
#include "server.h"

/* A content hash as the archive names it: 64 lowercase hex digits. */
static bool sha256_ok(const char *s)
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/*
 * Reads one candidate into *c; senders are lowered into sender (the caller's storage, which
 * must outlive *c). Problems go to v under items[i].
 */
static void candidate_read(const cJSON *e, unsigned i, struct storage_candidate *c,
                           char sender[MSE_MAX_ADDRESS + 1], struct verr *v)
{
    static const char *const allowed[] = { "internet_message_id", "content_sha256", "sender",
                                           NULL };
    char prefix[32], path[64];
    const char *mid = NULL, *sha = NULL, *from = NULL;
    snprintf(prefix, sizeof(prefix), "items[%u]", i);
    memset(c, 0, sizeof(*c));
    if (!cJSON_IsObject(e)) {
        verr_add(v, prefix, "must be an object {internet_message_id, content_sha256, sender}");
        return;
    }
    jsonin_members(e, prefix, allowed, NULL, v);
    enum jf mf = jsonin_str(e, prefix, "internet_message_id", MSE_PROTO_MAX_MESSAGE_ID, JF_NULLABLE,
                            v, &mid);
    enum jf hf = jsonin_str(e, prefix, "content_sha256", 64, JF_NULLABLE, v, &sha);
    enum jf sf = jsonin_str(e, prefix, "sender", MSE_MAX_ADDRESS, JF_NULLABLE, v, &from);
    if (hf == JF_OK && !sha256_ok(sha)) {
        jsonin_path(path, sizeof(path), prefix, "content_sha256");
        verr_add(v, path, "must be 64 lowercase hex digits");
    }
    if (sf == JF_OK && !api_worker_address(from, sender, MSE_MAX_ADDRESS + 1)) {
        jsonin_path(path, sizeof(path), prefix, "sender");
        verr_add(v, path, "must be an e-mail address");
    }
    if (mf != JF_OK && hf != JF_OK && mf != JF_BAD && hf != JF_BAD) {
        jsonin_path(path, sizeof(path), prefix, "internet_message_id");
        verr_add(v, path, "is required unless content_sha256 names the content");
    }
    c->message_id = mf == JF_OK ? mid : NULL;
    c->sha256 = hf == JF_OK ? sha : NULL;
    c->sender = sf == JF_OK ? sender : NULL;
}

/* Runs the confirmation of n read candidates and answers. */
static void confirm_answer(struct request *req, const struct fence *f, const char *addr,
                           const struct storage_candidate *c, size_t n)
{
    struct db *db;
    struct db_error err;
    char *items = NULL;
    enum exec_outcome o = EXO_DONE;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_storage_confirm(db, f, addr, c, n, &items, &o, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
    } else if (o != EXO_DONE) {
        char detail[MSE_MAX_ADDRESS + 96];
        snprintf(detail, sizeof(detail),
                 "this execution does not hold the lock of %s: lock the mailbox first", addr);
        api_outcome_send(req, o, o == EXO_NOT_LOCKED ? detail : NULL);
    } else {
        size_t len = strlen(items) + 16;
        char *json = malloc(len);
        if (json) {
            snprintf(json, len, "{\"items\":%s}", items);
            (void)http_reply_json_take(req, 200, json);
        } else {
            problem_send(req, 500, "out of memory");
        }
    }
    free(items);
}

void api_worker_confirm(struct request *req)
{
    static const char *const allowed[] = { "items", NULL };
    struct fence f;
    char id[37], token[24], addr[MSE_MAX_ADDRESS + 1];
    cJSON *body;
    if (!api_worker_fence(req, &f, id, token) || !api_worker_path_address(req, addr) ||
        !jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    const cJSON *list = NULL;
    verr_init(&v);
    jsonin_members(body, "", allowed, NULL, &v);
    (void)jsonin_array(body, "", "items", MSE_PROTO_MAX_CONFIRMATIONS, JF_REQUIRED, &v, &list);
    size_t n = list ? (size_t)cJSON_GetArraySize(list) : 0;
    if (list && n == 0)
        verr_add(&v, "items", "must hold at least one candidate");
    struct storage_candidate *c = n ? calloc(n, sizeof(*c)) : NULL;
    char(*senders)[MSE_MAX_ADDRESS + 1] = n ? calloc(n, sizeof(*senders)) : NULL;
    unsigned i = 0;
    const cJSON *e;
    if (c && senders)
        cJSON_ArrayForEach(e, list)
        {
            candidate_read(e, i, &c[i], senders[i], &v);
            i++;
        }
    if (n && (!c || !senders))
        problem_send(req, 500, "out of memory");
    else if (verr_any(&v))
        problem_send_fields(req, 422, "the confirmation request is not valid", &v);
    else
        confirm_answer(req, &f, addr, c, n);
    free(c);
    free(senders);
    verr_cleanup(&v);
    cJSON_Delete(body);
}
