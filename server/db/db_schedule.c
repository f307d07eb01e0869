/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of schedules, and of the next_run_at of the tasks that use one. */
#include "db_schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* The representation without next_runs (the handler adds them), then the rules as columns. */
#define SCHEDULE_COLUMNS                                                                           \
    "json_build_object('id', s.id, 'name', s.name, 'timezone', s.timezone, 'type', s.type,"        \
    " 'run_at', mse_ts(s.run_at), 'mode', s.mode, 'start_time', mse_hhmm(s.start_minute),"         \
    " 'end_time', mse_hhmm(s.end_minute), 'interval_minutes', s.interval_minutes,"                 \
    " 'days_of_week', mse_days_json(s.days_of_week), 'created_at', mse_ts(s.created_at),"          \
    " 'updated_at', mse_ts(s.updated_at), 'updated_by', s.updated_by)::text, s.version, s.seq,"    \
    " s.type, s.timezone, extract(epoch FROM s.run_at)::bigint, s.mode, s.start_minute,"           \
    " s.end_minute, s.interval_minutes, s.days_of_week"

DB_STMT(schedule_insert, 10, false,
        "INSERT INTO schedules (name, timezone, type, run_at, mode, start_minute, end_minute,"
        " interval_minutes, days_of_week, updated_by)"
        " VALUES ($1, $2, $3, to_timestamp($4::bigint), $5, $6, $7, $8, $9, $10) RETURNING id");
DB_STMT(schedule_get, 1, true, "SELECT " SCHEDULE_COLUMNS " FROM schedules s WHERE s.id = $1");
DB_STMT(schedule_get_lock, 1, false,
        "SELECT " SCHEDULE_COLUMNS " FROM schedules s WHERE s.id = $1 FOR UPDATE");
DB_STMT(schedule_get_share, 1, false,
        "SELECT " SCHEDULE_COLUMNS " FROM schedules s WHERE s.id = $1 FOR SHARE");
DB_STMT(schedule_list, 2, true,
        "SELECT " SCHEDULE_COLUMNS " FROM schedules s WHERE ($1::bigint IS NULL OR s.seq > $1)"
        " ORDER BY s.seq LIMIT $2");
DB_STMT(schedule_update, 11, false,
        "UPDATE schedules SET name = coalesce($2, name), timezone = $3, type = $4,"
        " run_at = to_timestamp($5::bigint), mode = $6, start_minute = $7, end_minute = $8,"
        " interval_minutes = $9, days_of_week = $10, updated_by = $11 WHERE id = $1");
DB_STMT(schedule_delete, 1, false, "DELETE FROM schedules WHERE id = $1");
DB_STMT(schedule_task_count, 1, false,
        "SELECT count(*) FROM exchange_tasks WHERE deleted_at IS NULL"
        " AND (schedule_id = $1 OR pending_changes->>'schedule_id' = $1::text)");
DB_STMT(schedule_tasks_next_run, 2, false,
        "UPDATE exchange_tasks SET next_run_at = to_timestamp($2::bigint)"
        " WHERE schedule_id = $1 AND deleted_at IS NULL AND enabled");

void db_schedule_cleanup(struct db_schedule *s)
{
    if (s)
        db_doc_cleanup(&s->doc);
}

static int64_t int_at(const struct db_res *res, int row, int col)
{
    int64_t v = 0;
    const char *s = db_res_get(res, row, col);
    if (s && mse_parse_int(s, INT64_MIN, INT64_MAX, &v) != MSE_OK)
        v = 0;
    return v;
}

/* Reads one row of SCHEDULE_COLUMNS. */
static enum mse_rc row_read(const struct db_res *res, int row, struct db_schedule *out)
{
    memset(out, 0, sizeof(*out));
    struct schedule *r = &out->rules;
    const char *json = db_res_get(res, row, 0), *type = db_res_get(res, row, 3);
    const char *mode = db_res_get(res, row, 6);
    if (!json || !type)
        return MSE_ERR_INTERNAL;
    out->doc.version = int_at(res, row, 1);
    out->seq = int_at(res, row, 2);
    r->type = !strcmp(type, "one_off") ? SCHEDULE_ONE_OFF
              : !strcmp(type, "daily") ? SCHEDULE_DAILY
                                       : SCHEDULE_WEEKLY;
    snprintf(r->timezone, sizeof(r->timezone), "%s", db_res_get(res, row, 4));
    r->run_at = (time_t)int_at(res, row, 5);
    r->mode = mode && !strcmp(mode, "many") ? SCHEDULE_MANY : SCHEDULE_ONCE;
    r->start_minute = (int)int_at(res, row, 7);
    r->end_minute = (int)int_at(res, row, 8);
    r->interval_minutes = (int)int_at(res, row, 9);
    r->days = (unsigned)int_at(res, row, 10);
    out->doc.json = strdup(json);
    return out->doc.json ? MSE_OK : MSE_ERR_NOMEM;
}

/* Text parameters of the rules: 8 strings in column order (NULL where a field does not apply). */
struct rule_params {
    char run_at[24], start[8], end[8], interval[8], days[8];
    const char *p[8];
};

static void rule_params(const struct schedule *r, struct rule_params *o)
{
    bool recurring = r->type != SCHEDULE_ONE_OFF, many = recurring && r->mode == SCHEDULE_MANY;
    snprintf(o->run_at, sizeof(o->run_at), "%lld", (long long)r->run_at);
    snprintf(o->start, sizeof(o->start), "%d", r->start_minute);
    snprintf(o->end, sizeof(o->end), "%d", r->end_minute);
    snprintf(o->interval, sizeof(o->interval), "%d", r->interval_minutes);
    snprintf(o->days, sizeof(o->days), "%u", r->days);
    o->p[0] = r->timezone;
    o->p[1] = schedule_type_names[r->type];
    o->p[2] = recurring ? NULL : o->run_at;
    o->p[3] = recurring ? schedule_mode_names[r->mode] : NULL;
    o->p[4] = recurring ? o->start : NULL;
    o->p[5] = many ? o->end : NULL;
    o->p[6] = many ? o->interval : NULL;
    o->p[7] = r->type == SCHEDULE_WEEKLY ? o->days : NULL;
}

enum mse_rc db_schedule_insert(struct db *db, const char *name, const struct schedule *rules,
                               const char *actor, char id[37], struct db_error *err)
{
    struct rule_params rp;
    struct db_res res;
    rule_params(rules, &rp);
    const char *params[] = { name,    rp.p[0], rp.p[1], rp.p[2], rp.p[3],
                             rp.p[4], rp.p[5], rp.p[6], rp.p[7], actor };
    enum mse_rc rc = db_query(db, &schedule_insert, params, &res, err);
    if (rc == MSE_OK)
        snprintf(id, 37, "%s", db_res_get(&res, 0, 0));
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_schedule_get(struct db *db, const char *id, bool lock, bool share,
                            struct db_schedule *out, struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id };
    struct db_stmt *st = lock ? &schedule_get_lock : share ? &schedule_get_share : &schedule_get;
    memset(out, 0, sizeof(*out));
    enum mse_rc rc = db_query(db, st, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    rc = db_res_rows(&res) == 1 ? row_read(&res, 0, out) : MSE_ERR_NOT_FOUND;
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_schedule_list(struct db *db, bool has_after, int64_t after, unsigned limit,
                             struct db_schedule **rows, unsigned *n, bool *more,
                             struct db_error *err)
{
    char after_s[24], limit_s[16];
    struct db_res res;
    snprintf(after_s, sizeof(after_s), "%lld", (long long)after);
    snprintf(limit_s, sizeof(limit_s), "%u", limit + 1);
    const char *params[] = { has_after ? after_s : NULL, limit_s };
    *rows = NULL;
    *n = 0;
    enum mse_rc rc = db_query(db, &schedule_list, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    int total = db_res_rows(&res);
    unsigned keep = total > (int)limit ? limit : (unsigned)total;
    *more = total > (int)limit;
    *rows = calloc(keep ? keep : 1, sizeof(**rows));
    rc = *rows ? MSE_OK : MSE_ERR_NOMEM;
    for (unsigned i = 0; rc == MSE_OK && i < keep; i++) {
        rc = row_read(&res, (int)i, &(*rows)[i]);
        if (rc == MSE_OK)
            (*n)++;
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_schedule_update(struct db *db, const char *id, const char *name,
                               const struct schedule *rules, const char *actor,
                               struct db_error *err)
{
    struct rule_params rp;
    rule_params(rules, &rp);
    const char *params[] = { id,      name,    rp.p[0], rp.p[1], rp.p[2], rp.p[3],
                             rp.p[4], rp.p[5], rp.p[6], rp.p[7], actor };
    return db_run(db, &schedule_update, params, err);
}

enum mse_rc db_schedule_delete(struct db *db, const char *id, struct db_error *err)
{
    const char *params[] = { id };
    return db_run(db, &schedule_delete, params, err);
}

enum mse_rc db_schedule_task_count(struct db *db, const char *id, int64_t *n, struct db_error *err)
{
    const char *params[] = { id };
    return db_int_query(db, &schedule_task_count, params, n, err);
}

enum mse_rc db_schedule_tasks_next_run(struct db *db, const char *id, bool has_next, time_t next,
                                       struct db_error *err)
{
    char t[24];
    snprintf(t, sizeof(t), "%lld", (long long)next);
    const char *params[] = { id, has_next ? t : NULL };
    return db_run(db, &schedule_tasks_next_run, params, err);
}
