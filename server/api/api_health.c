/* SPDX-License-Identifier: Apache-2.0 */
/* /healthz (the process answers) and /readyz (database reachable, schema current). */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "http.h"
#include "migrate.h"
#include "problem.h"
#include "server.h"

DB_STMT(health_schema, 1, true, "SELECT 1 FROM schema_migrations WHERE version = $1");

void api_health_live(struct request *req)
{
    (void)http_reply_json(req, 200, "{\"status\":\"ok\"}");
}

static void not_ready(struct request *req, const char *why)
{
    http_add_header(req, "Retry-After", "5");
    http_add_header(req, "Cache-Control", "no-store");
    problem_send(req, 503, "not ready: %s", why);
}

void api_health_ready(struct request *req)
{
    if (atomic_load(&req->srv->stopping)) {
        not_ready(req, "shutting down");
        return;
    }
    struct db *db;
    if (http_db(req, &db) != MSE_OK) {
        not_ready(req, "database unreachable");
        return;
    }
    struct db_res res;
    struct db_error err;
    const char *latest = migrate_latest();
    const char *params[] = { latest };
    enum mse_rc rc = db_query(db, &health_schema, params, &res, &err);
    int rows = db_res_rows(&res);
    db_res_clear(&res);
    if (rc == MSE_ERR_UNAVAILABLE) {
        not_ready(req, "database unreachable");
        return;
    }
    if (rc != MSE_OK || rows != 1) {
        not_ready(req, "schema migrations are not current");
        return;
    }
    char body[160];
    snprintf(body, sizeof(body), "{\"status\":\"ready\",\"schema\":\"%s\"}", latest);
    http_add_header(req, "Cache-Control", "no-store");
    (void)http_reply_json(req, 200, body);
}
