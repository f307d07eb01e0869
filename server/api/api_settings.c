/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Organisation-wide settings: retention (docs/retention.md). One document per setting,
 * replaced whole by PUT, with the ETag and If-Match of every resource.
 */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "api_util.h"
#include "db_content.h"
#include "http.h"
#include "jsonin.h"
#include "problem.h"
#include "tx.h"

/* A century: any longer is a mistake for "forever", which is null. */
#define RETENTION_MAX_DAYS 36500

void api_settings_retention_get(struct request *req)
{
    if (!api_no_query(req))
        return;
    struct db *db;
    struct db_error err;
    struct db_doc doc = { 0 };
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_retention_get(db, false, &doc, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
        return;
    }
    api_reply_doc(req, &doc);
}

/* The body's retention_days into days ("" for null); false after answering 422. */
static bool retention_parse(struct request *req, const cJSON *body, char days[24])
{
    static const char *const fields[] = { "retention_days", NULL };
    static const char *const readonly[] = { "updated_at", "updated_by", NULL };
    struct verr v;
    int64_t n = 0;
    verr_init(&v);
    jsonin_members(body, "", fields, readonly, &v);
    enum jf f = jsonin_int(body, "", "retention_days", 1, RETENTION_MAX_DAYS,
                           JF_REQUIRED | JF_NULLABLE, &v, &n);
    days[0] = '\0';
    if (f == JF_OK)
        snprintf(days, 24, "%lld", (long long)n);
    bool ok = !verr_any(&v);
    if (!ok)
        problem_send_fields(req, 422, "the retention setting is not valid", &v);
    verr_cleanup(&v);
    return ok;
}

void api_settings_retention_put(struct request *req)
{
    if (!api_no_query(req))
        return;
    cJSON *body;
    if (!jsonin_parse(req, 0, &body))
        return;
    char days[24];
    struct tx tx;
    struct db_doc before = { 0 }, after = { 0 };
    struct db_error err;
    if (!retention_parse(req, body, days) || !tx_begin(req, &tx))
        goto out;
    enum mse_rc rc = db_retention_get(tx.db, true, &before, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, NULL);
        goto out;
    }
    if (!tx_if_match(&tx, before.version))
        goto out;
    rc = db_retention_set(tx.db, days[0] ? days : NULL, api_actor(req), &err);
    if (rc == MSE_OK)
        rc = db_retention_get(tx.db, false, &after, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, NULL);
        goto out;
    }
    if (tx_audit(&tx, "retention.update", "settings", "retention", before.json, after.json)) {
        tx_commit_reply(&tx, 200, after.json, NULL, after.version);
        after.json = NULL;
    }
out:
    cJSON_Delete(body);
    db_doc_cleanup(&before);
    db_doc_cleanup(&after);
}
