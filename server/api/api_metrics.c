/* SPDX-License-Identifier: Apache-2.0 */
/* GET /metrics: Prometheus text exposition of this process's counters and the database's gauges. */
#include <stdlib.h>

#include "api.h"
#include "buf.h"
#include "db.h"
#include "db_exec.h"
#include "db_planning.h"
#include "http.h"
#include "metrics.h"
#include "problem.h"
#include "routes.h"
#include "server.h"

/* The labels of every route row, in table order, built once. */
static const char *route_methods[256], *route_patterns[256];

static void labels_init(void)
{
    for (size_t i = 0; i < routes_count && i < 256; i++) {
        route_methods[i] = routes_table[i].method;
        route_patterns[i] = routes_table[i].pattern;
    }
}

void api_metrics(struct request *req)
{
    struct mse_buf b;
    struct db *db = NULL;
    struct db_error err;
    char *gauges = NULL;
    unsigned in_use = 0, total = 0;
    labels_init();
    mse_buf_init(&b, 8u << 20);
    enum mse_rc rc = metrics_render(&b, route_methods, route_patterns);
    db_pool_usage(req->srv->pool, &in_use, &total);
    if (rc == MSE_OK)
        rc = mse_buf_printf(&b,
                            "# HELP mse_db_pool_connections PostgreSQL connections of the pool.\n"
                            "# TYPE mse_db_pool_connections gauge\n"
                            "mse_db_pool_connections{state=\"in_use\"} %u\n"
                            "mse_db_pool_connections{state=\"idle\"} %u\n"
                            "# HELP mse_http_in_flight Requests being served.\n"
                            "# TYPE mse_http_in_flight gauge\n"
                            "mse_http_in_flight %d\n"
                            "# HELP mse_http_parked Requests waiting for work (claims that wait).\n"
                            "# TYPE mse_http_parked gauge\n"
                            "mse_http_parked %u\n",
                            in_use, total - in_use, atomic_load(&req->srv->in_flight),
                            park_waiting(req->srv->park));
    /* The database's view (executions, mailboxes, sites) is shared by all servers. */
    if (rc == MSE_OK && http_db(req, &db) == MSE_OK &&
        db_exec_metrics(db, &gauges, &err) == MSE_OK && gauges)
        rc = mse_buf_puts(&b, gauges);
    free(gauges);
    gauges = NULL;
    /* Per task: its baselines and whether its group fits its schedule (docs/planning.md). */
    if (rc == MSE_OK && db && db_planning_metrics(db, &gauges, &err) == MSE_OK && gauges)
        rc = mse_buf_puts(&b, gauges);
    free(gauges);
    char *text = NULL;
    size_t len = 0;
    if (rc == MSE_OK)
        rc = mse_buf_take(&b, &text, &len);
    mse_buf_cleanup(&b);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
        return;
    }
    http_add_header(req, "Cache-Control", "no-store");
    (void)http_reply_take(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}
