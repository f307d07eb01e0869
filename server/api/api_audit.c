/* SPDX-License-Identifier: Apache-2.0 */
/* GET /api/v1/audit-events: the audit log, newest first, filtered, in pages. */
#include <stdlib.h>

#include "api.h"
#include "api_util.h"
#include "db_audit.h"
#include "http.h"
#include "problem.h"
#include "query.h"

#define AUDIT_CURSOR 'a'

void api_audit_list(struct request *req)
{
    static const char *const allowed[] = { "limit",       "cursor", "action",     "resource_type",
                                           "resource_id", "actor",  "request_id", "since",
                                           "until",       NULL };
    struct verr v;
    struct page page;
    struct audit_filter f = { 0 };
    verr_init(&v);
    query_check(req, allowed, &v);
    query_page(req, AUDIT_CURSOR, &page, &v);
    (void)query_str(req, "action", &v, &f.action);
    (void)query_str(req, "resource_type", &v, &f.resource_type);
    (void)query_str(req, "resource_id", &v, &f.resource_id);
    (void)query_str(req, "actor", &v, &f.actor);
    (void)query_str(req, "request_id", &v, &f.request_id);
    f.has_since = query_time(req, "since", &v, &f.since);
    f.has_until = query_time(req, "until", &v, &f.until);
    if (verr_any(&v)) {
        query_fail(req, &v);
        verr_cleanup(&v);
        return;
    }
    f.has_before = page.has_after;
    f.before_seq = page.after;
    f.limit = page.limit;
    struct db *db;
    struct db_error err;
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_audit_list(db, &f, &items, &last, &more, &err);
    api_reply_list(req, rc, items, more, last, AUDIT_CURSOR);
}
