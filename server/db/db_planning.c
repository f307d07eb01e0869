/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of throughput planning (schema 042): measured fits, a task's group, the task gauges. */
#include "db_planning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"

DB_STMT(planning_fit, 2, true,
        "SELECT o_n, o_sizes, o_intercept_ms, o_ms_per_item, o_stderr_ms, o_r2, o_overhead_ms"
        " FROM mse_planning_fit($1, $2::boolean)");
DB_STMT(planning_group, 1, true,
        "SELECT t.type, count(m.address) FILTER (WHERE m.in_group),"
        " avg(m.first_full_sync_items) FILTER (WHERE m.in_group), t.max_parallel_mailboxes"
        " FROM exchange_tasks t LEFT JOIN task_mailboxes m ON m.task_id = t.id"
        " WHERE t.id = $1::uuid AND t.deleted_at IS NULL GROUP BY t.id");
DB_STMT(planning_metrics, 0, true,
        "SELECT task_id, type, execution_estimate_ms, interval_minutes, fits, tasks_needed,"
        " incremental_p50_ms, incremental_p95_ms, first_p50_ms, first_p95_ms"
        " FROM mse_planning_task_metrics()");

/* A nullable double cell: false for NULL. */
static bool cell_double(const struct db_res *res, int row, int col, double *out)
{
    const char *v = db_res_get(res, row, col);
    if (!v)
        return false;
    char *end;
    *out = strtod(v, &end);
    return end != v;
}

static int64_t cell_int(const struct db_res *res, int row, int col)
{
    int64_t n = 0;
    const char *v = db_res_get(res, row, col);
    if (v && mse_parse_int(v, INT64_MIN, INT64_MAX, &n) != MSE_OK)
        n = 0;
    return n;
}

enum mse_rc db_planning_fit(struct db *db, const char *type, bool first_pass,
                            struct planning_fit *out, struct db_error *err)
{
    struct db_res res;
    const char *params[] = { type, first_pass ? "true" : "false" };
    memset(out, 0, sizeof(*out));
    enum mse_rc rc = db_query(db, &planning_fit, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    if (db_res_rows(&res) == 1) {
        out->n = cell_int(&res, 0, 0);
        out->sizes = cell_int(&res, 0, 1);
        out->has_line = cell_double(&res, 0, 2, &out->intercept_ms) &&
                        cell_double(&res, 0, 3, &out->ms_per_item);
        out->has_stderr = cell_double(&res, 0, 4, &out->stderr_ms);
        out->has_r2 = cell_double(&res, 0, 5, &out->r2);
        out->has_overhead = cell_double(&res, 0, 6, &out->overhead_ms);
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_planning_group(struct db *db, const char *task_id, struct db_planning_group *out,
                              struct db_error *err)
{
    struct db_res res;
    const char *params[] = { task_id };
    memset(out, 0, sizeof(*out));
    enum mse_rc rc = db_query(db, &planning_group, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    rc = MSE_ERR_NOT_FOUND;
    if (db_res_rows(&res) == 1) {
        rc = MSE_OK;
        snprintf(out->type, sizeof(out->type), "%s", db_res_get(&res, 0, 0));
        out->mailboxes = cell_int(&res, 0, 1);
        out->has_items = cell_double(&res, 0, 2, &out->average_items);
        out->max_parallel = cell_int(&res, 0, 3);
    }
    db_res_clear(&res);
    return rc;
}

/* One gauge family over the task rows: column col, scaled (ms → s), rows with NULL left out. */
struct family {
    const char *name, *help;
    int col;
    double scale;
    /* A percentile label, or NULL. Not "quantile": that label belongs to summaries, and these
     * are gauges over the passes recorded (promtool refuses the mix). */
    const char *percentile;
};

static const struct family families[] = {
    { "mse_task_execution_estimate_seconds",
      "Estimated time one execution of the task's whole group takes (its baselines).", 2, 1e-3,
      NULL },
    { "mse_task_interval_seconds", "The time its schedule leaves one execution.", 3, 60, NULL },
    { "mse_task_fits", "1 when one execution of the group fits within the interval, else 0.", 4, 1,
      NULL },
    { "mse_task_tasks_needed", "Tasks of equal shares of the group that would each fit.", 5, 1,
      NULL },
    { "mse_task_incremental_pass_seconds", "Incremental passes of a mailbox: median and p95.", 6,
      1e-3, "50" },
    { "mse_task_incremental_pass_seconds", NULL, 7, 1e-3, "95" },
    { "mse_task_first_full_pass_seconds", "First full passes of a mailbox: median and p95.", 8,
      1e-3, "50" },
    { "mse_task_first_full_pass_seconds", NULL, 9, 1e-3, "95" },
};

static enum mse_rc family_render(struct mse_buf *b, const struct family *f,
                                 const struct db_res *res)
{
    enum mse_rc rc = MSE_OK;
    if (f->help)
        rc = mse_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", f->name, f->help, f->name);
    for (int i = 0; rc == MSE_OK && i < db_res_rows(res); i++) {
        const char *v = db_res_get(res, i, f->col);
        if (!v)
            continue;
        double value = v[0] == 't' ? 1 : v[0] == 'f' ? 0 : strtod(v, NULL) * f->scale;
        rc = mse_buf_printf(b, "%s{task_id=\"%s\",type=\"%s\"%s%s%s} %.17g\n", f->name,
                            db_res_get(res, i, 0), db_res_get(res, i, 1),
                            f->percentile ? ",percentile=\"" : "",
                            f->percentile ? f->percentile : "", f->percentile ? "\"" : "", value);
    }
    return rc;
}

enum mse_rc db_planning_metrics(struct db *db, char **text, struct db_error *err)
{
    struct db_res res;
    struct mse_buf b;
    *text = NULL;
    mse_buf_init(&b, 8u << 20);
    enum mse_rc rc = db_query(db, &planning_metrics, NULL, &res, err);
    if (rc != MSE_OK) {
        mse_buf_cleanup(&b);
        return rc;
    }
    int not_fitting = 0;
    for (int i = 0; i < db_res_rows(&res); i++) {
        const char *fits = db_res_get(&res, i, 4);
        not_fitting += fits && fits[0] == 'f';
    }
    for (size_t f = 0; rc == MSE_OK && f < sizeof(families) / sizeof(families[0]); f++)
        rc = family_render(&b, &families[f], &res);
    if (rc == MSE_OK)
        rc = mse_buf_printf(&b,
                            "# HELP mse_tasks_not_fitting Tasks whose group does not fit within "
                            "their schedule's interval.\n"
                            "# TYPE mse_tasks_not_fitting gauge\nmse_tasks_not_fitting %d\n",
                            not_fitting);
    db_res_clear(&res);
    if (rc == MSE_OK)
        rc = mse_buf_take(&b, text, NULL);
    mse_buf_cleanup(&b);
    return rc;
}
