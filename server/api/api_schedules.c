/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/v1/schedules: when tasks run. Each schedule shows its next runs, computed in its time
 * zone (schedule.c); changing one recomputes next_run_at of its tasks in the same transaction.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "api_util.h"
#include "buf.h"
#include "db_schedule.h"
#include "http.h"
#include "jsonin.h"
#include "problem.h"
#include "query.h"
#include "schedule.h"
#include "server.h"
#include "timefmt.h"
#include "tx.h"

#define SCHEDULE_CURSOR   'h'
#define NEXT_RUNS_DEFAULT 5

static const char *const schedule_fields[] = {
    "name",     "timezone",         "type",         "run_at", "mode", "start_time",
    "end_time", "interval_minutes", "days_of_week", NULL
};
static const char *const schedule_readonly[] = { "id",         "next_runs",  "created_at",
                                                 "updated_at", "updated_by", NULL };

/* ---- reading a request into a spec ---- */

static enum schedule_field field_of(enum jf r)
{
    switch (r) {
    case JF_OK:
        return SF_SET;
    case JF_NULL:
        return SF_NULL;
    case JF_BAD:
        return SF_BAD;
    case JF_ABSENT:
        break;
    }
    return SF_ABSENT;
}

static enum schedule_field time_field(const cJSON *body, const char *key, int *minute,
                                      struct verr *v)
{
    const char *s;
    enum jf r = jsonin_str(body, "", key, 5, JF_NULLABLE, v, &s);
    if (r == JF_OK && !schedule_time_parse(s, minute)) {
        verr_add(v, key, "must be a time of day as HH:MM (00:00 to 23:59)");
        return SF_BAD;
    }
    return field_of(r);
}

static enum schedule_field days_field(const cJSON *body, unsigned *days, struct verr *v)
{
    const cJSON *arr;
    enum jf r = jsonin_array(body, "", "days_of_week", 7, JF_NULLABLE, v, &arr);
    if (r != JF_OK)
        return field_of(r);
    *days = 0;
    int i = 0;
    unsigned before = v->count;
    for (const cJSON *d = arr->child; d; d = d->next, i++) {
        int day = -1;
        for (int k = 0; cJSON_IsString(d) && schedule_day_names[k]; k++) {
            if (!strcmp(d->valuestring, schedule_day_names[k]))
                day = k;
        }
        if (day < 0)
            verr_add(v, "days_of_week", "entry %d must be a day name such as monday", i + 1);
        else if (*days & (1u << day))
            verr_add(v, "days_of_week", "%s is listed more than once", schedule_day_names[day]);
        else
            *days |= 1u << day;
    }
    if (i == 0)
        verr_add(v, "days_of_week", "must name at least one day");
    return v->count == before ? SF_SET : SF_BAD;
}

/* Every schedule field of a request body into spec (type errors into v). */
static void spec_read(const cJSON *body, struct schedule_spec *spec, struct verr *v)
{
    struct schedule *s = &spec->v;
    int idx;
    int64_t n;
    const char *str;
    memset(spec, 0, sizeof(*spec));
    enum jf r = jsonin_enum(body, "", "type", schedule_type_names, JF_NULLABLE, v, &idx);
    s->type = (enum schedule_type)idx;
    spec->type_f = field_of(r);
    r = jsonin_str(body, "", "timezone", MSE_MAX_TIMEZONE, JF_NULLABLE, v, &str);
    if (r == JF_OK)
        snprintf(s->timezone, sizeof(s->timezone), "%s", str);
    spec->timezone_f = field_of(r);
    r = jsonin_str(body, "", "run_at", 64, JF_NULLABLE, v, &str);
    if (r == JF_OK && mse_time_parse(str, &s->run_at) != MSE_OK) {
        verr_add(v, "run_at", "must be an RFC 3339 date-time such as 2026-12-24T18:00:00+01:00");
        r = JF_BAD;
    }
    spec->run_at_f = field_of(r);
    r = jsonin_enum(body, "", "mode", schedule_mode_names, JF_NULLABLE, v, &idx);
    s->mode = (enum schedule_mode)idx;
    spec->mode_f = field_of(r);
    spec->start_f = time_field(body, "start_time", &s->start_minute, v);
    spec->end_f = time_field(body, "end_time", &s->end_minute, v);
    r = jsonin_int(body, "", "interval_minutes", 1, 1440, JF_NULLABLE, v, &n);
    s->interval_minutes = (int)n;
    spec->interval_f = field_of(r);
    spec->days_f = days_field(body, &s->days, v);
}

/* ---- rendering ---- */

/* Writes "next_runs":[…] (count instants after `after`) into b. */
static enum mse_rc next_runs_put(struct mse_buf *b, const struct schedule *rules, time_t after,
                                 unsigned count)
{
    time_t runs[MSE_MAX_NEXT_RUNS];
    unsigned n = 0;
    if (schedule_next_runs(rules, after, runs, count, &n) != MSE_OK)
        n = 0; /* a zone that vanished from the tz database: no runs to show */
    enum mse_rc rc = mse_buf_puts(b, "\"next_runs\":[");
    for (unsigned i = 0; rc == MSE_OK && i < n; i++) {
        char t[32];
        mse_time_format(runs[i], t, sizeof(t));
        rc = mse_buf_printf(b, "%s\"%s\"", i ? "," : "", t);
    }
    return rc == MSE_OK ? mse_buf_puts(b, "]") : rc;
}

/* Adds "next_runs" (count instants after `after`) to a rendered schedule. */
static char *with_next_runs(const struct db_schedule *s, time_t after, unsigned count)
{
    struct mse_buf b;
    char *out = NULL;
    mse_buf_init(&b, 64 + (size_t)MSE_MAX_NEXT_RUNS * 32);
    if (next_runs_put(&b, &s->rules, after, count) == MSE_OK)
        out = api_splice(s->doc.json, b.data);
    mse_buf_cleanup(&b);
    return out;
}

void api_schedules_list(struct request *req)
{
    struct page page;
    if (!api_page_only(req, SCHEDULE_CURSOR, &page))
        return;
    struct db *db;
    struct db_error err;
    struct db_schedule *rows = NULL;
    unsigned n = 0;
    bool more = false;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_schedule_list(db, page.has_after, page.after, page.limit, &rows, &n, &more, &err);
    struct mse_buf b;
    mse_buf_init(&b, MSE_MAX_RESPONSE_BODY);
    if (rc == MSE_OK)
        rc = mse_buf_puts(&b, "[");
    time_t now = time(NULL);
    for (unsigned i = 0; rc == MSE_OK && i < n; i++) {
        char *doc = with_next_runs(&rows[i], now, NEXT_RUNS_DEFAULT);
        rc = doc ? mse_buf_printf(&b, "%s%s", i ? "," : "", doc) : MSE_ERR_NOMEM;
        free(doc);
    }
    char *items = NULL;
    if (rc == MSE_OK)
        rc = mse_buf_puts(&b, "]");
    if (rc == MSE_OK)
        rc = mse_buf_take(&b, &items, NULL);
    int64_t last = n ? rows[n - 1].seq : 0;
    for (unsigned i = 0; i < n; i++)
        db_schedule_cleanup(&rows[i]);
    free(rows);
    mse_buf_cleanup(&b);
    api_reply_list_polled(req, rc, items, more, last, SCHEDULE_CURSOR);
}

/* ?from= (default now) and ?count= (default 5) of a single schedule's next_runs. */
static bool next_runs_params(struct request *req, time_t *from, unsigned *count)
{
    static const char *const allowed[] = { "from", "count", NULL };
    struct verr v;
    int64_t n;
    verr_init(&v);
    *from = time(NULL);
    *count = NEXT_RUNS_DEFAULT;
    query_check(req, allowed, &v);
    (void)query_time(req, "from", &v, from);
    if (query_int(req, "count", 1, MSE_MAX_NEXT_RUNS, &v, &n))
        *count = (unsigned)n;
    bool ok = !verr_any(&v);
    if (!ok)
        query_fail(req, &v);
    verr_cleanup(&v);
    return ok;
}

void api_schedules_get(struct request *req)
{
    char id[37];
    time_t from;
    unsigned count;
    if (!api_path_uuid(req, 0, "schedule", id) || !next_runs_params(req, &from, &count))
        return;
    struct db *db;
    struct db_error err;
    struct db_schedule s;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_schedule_get(db, id, false, false, &s, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, "no schedule with this id");
        return;
    }
    char *doc = with_next_runs(&s, from, count);
    struct db_doc out = { .json = doc, .version = s.doc.version };
    db_schedule_cleanup(&s);
    if (!doc) {
        problem_send_rc(req, MSE_ERR_NOMEM, NULL);
        return;
    }
    api_reply_doc(req, &out);
}

/* Answers a change with the schedule as stored now (next runs from now). */
static void reply_changed(struct tx *tx, const char *id, unsigned status, const char *location,
                          const char *before)
{
    struct db_schedule after;
    struct db_error err;
    enum mse_rc rc = db_schedule_get(tx->db, id, false, false, &after, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
        return;
    }
    char *doc = with_next_runs(&after, time(NULL), NEXT_RUNS_DEFAULT);
    const char *action = status == 201 ? "schedule.create" : "schedule.update";
    if (!doc)
        tx_fail_rc(tx, MSE_ERR_NOMEM, NULL);
    else if (tx_audit(tx, action, "schedule", id, before, after.doc.json)) {
        tx_commit_reply(tx, status, doc, location, after.doc.version);
        doc = NULL;
    }
    free(doc);
    db_schedule_cleanup(&after);
}

static void conflict_or(struct tx *tx, enum mse_rc rc)
{
    if (rc == MSE_ERR_CONFLICT)
        tx_fail(tx, 409, "a schedule with this name exists already");
    else
        tx_fail_rc(tx, rc, NULL);
}

/* Parses a body into name + spec; false after answering 422. */
static bool body_read(struct request *req, const cJSON *body, bool create, const char **name,
                      struct schedule_spec *spec, struct verr *v)
{
    jsonin_members(body, "", schedule_fields, schedule_readonly, v);
    *name = NULL;
    (void)jsonin_str(body, "", "name", MSE_MAX_NAME, create ? JF_REQUIRED : 0, v, name);
    spec_read(body, spec, v);
    (void)req;
    return !verr_any(v);
}

void api_schedules_create(struct request *req)
{
    cJSON *body;
    if (!jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    struct schedule_spec spec;
    struct schedule rules;
    const char *name;
    verr_init(&v);
    bool ok = body_read(req, body, true, &name, &spec, &v);
    /* Rules are checked even when a field had the wrong type: all errors in one answer. */
    if (!schedule_check(&spec, time(NULL), true, &v, &rules) || !ok) {
        problem_send_fields(req, 422, "the schedule is not valid", &v);
        goto out;
    }
    struct tx tx;
    if (!tx_begin(req, &tx))
        goto out;
    char id[37], location[96];
    struct db_error err;
    enum mse_rc rc = db_schedule_insert(tx.db, name, &rules, api_actor(req), id, &err);
    if (rc != MSE_OK) {
        conflict_or(&tx, rc);
        goto out;
    }
    snprintf(location, sizeof(location), "/api/v1/schedules/%s", id);
    reply_changed(&tx, id, 201, location, NULL);
out:
    verr_cleanup(&v);
    cJSON_Delete(body);
}

/* A preview's body: a schedule's fields, and from/count as GET …/schedules/{id} takes them. */
static const char *const preview_fields[] = {
    "name",     "timezone",         "type",         "run_at", "mode",  "start_time",
    "end_time", "interval_minutes", "days_of_week", "from",   "count", NULL
};

/*
 * The next runs of a schedule that is not stored: the console previews them as an
 * administrator types. The fields are checked as a creation's are (name optional), so the
 * same errors appear at the same fields before anything is saved.
 */
void api_schedules_preview(struct request *req)
{
    cJSON *body;
    if (!jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    struct schedule_spec spec;
    struct schedule rules;
    const char *str;
    int64_t n = NEXT_RUNS_DEFAULT;
    time_t from = time(NULL);
    verr_init(&v);
    jsonin_members(body, "", preview_fields, NULL, &v);
    (void)jsonin_str(body, "", "name", MSE_MAX_NAME, 0, &v, &str);
    spec_read(body, &spec, &v);
    if (jsonin_str(body, "", "from", 64, 0, &v, &str) == JF_OK &&
        mse_time_parse(str, &from) != MSE_OK)
        verr_add(&v, "from", "must be an RFC 3339 date-time such as 2026-12-24T18:00:00+01:00");
    (void)jsonin_int(body, "", "count", 1, MSE_MAX_NEXT_RUNS, 0, &v, &n);
    bool ok = !verr_any(&v);
    if (!schedule_check(&spec, from, true, &v, &rules) || !ok) {
        problem_send_fields(req, 422, "the schedule is not valid", &v);
    } else {
        struct mse_buf b;
        char *out = NULL;
        mse_buf_init(&b, 64 + (size_t)MSE_MAX_NEXT_RUNS * 32);
        enum mse_rc rc = mse_buf_puts(&b, "{");
        if (rc == MSE_OK)
            rc = next_runs_put(&b, &rules, from, (unsigned)n);
        if (rc == MSE_OK)
            rc = mse_buf_puts(&b, "}");
        if (rc == MSE_OK)
            rc = mse_buf_take(&b, &out, NULL);
        mse_buf_cleanup(&b);
        if (rc == MSE_OK)
            (void)http_reply_json_take(req, 200, out);
        else
            problem_send_rc(req, rc, NULL);
    }
    verr_cleanup(&v);
    cJSON_Delete(body);
}

/* The next run of the schedule's tasks from now, written to every enabled live task. */
static enum mse_rc tasks_recompute(struct tx *tx, const char *id, const struct schedule *rules)
{
    time_t next;
    unsigned n = 0;
    struct db_error err;
    enum mse_rc rc = schedule_next_runs(rules, time(NULL), &next, 1, &n);
    if (rc == MSE_OK)
        rc = db_schedule_tasks_next_run(tx->db, id, n == 1, next, &err);
    return rc;
}

/* Merges the patch into the locked schedule and checks the result; false after answering. */
static bool patch_rules(struct tx *tx, const struct db_schedule *stored,
                        const struct schedule_spec *patch, struct schedule *rules)
{
    struct schedule_spec old, merged;
    struct verr v;
    verr_init(&v);
    schedule_spec_of(&stored->rules, &old);
    schedule_spec_merge(&old, patch, &merged);
    bool ok = schedule_check(&merged, time(NULL), patch->run_at_f == SF_SET, &v, rules);
    if (!ok)
        tx_fail_fields(tx, 422, "the changed schedule would not be valid", &v);
    verr_cleanup(&v);
    return ok;
}

void api_schedules_patch(struct request *req)
{
    char id[37];
    if (!api_path_uuid(req, 0, "schedule", id))
        return;
    cJSON *body;
    if (!jsonin_parse(req, JSONIN_PATCH, &body))
        return;
    struct verr v;
    struct schedule_spec patch;
    struct schedule rules;
    struct db_schedule stored = { 0 };
    struct db_error err;
    struct tx tx;
    const char *name;
    verr_init(&v);
    if (!body_read(req, body, false, &name, &patch, &v)) {
        problem_send_fields(req, 422, "the change is not valid", &v);
        goto out;
    }
    if (!tx_begin(req, &tx))
        goto out;
    enum mse_rc rc = db_schedule_get(tx.db, id, true, false, &stored, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, "no schedule with this id");
        goto out;
    }
    if (!tx_if_match(&tx, stored.doc.version) || !patch_rules(&tx, &stored, &patch, &rules))
        goto out;
    rc = db_schedule_update(tx.db, id, name, &rules, api_actor(req), &err);
    if (rc == MSE_OK)
        rc = tasks_recompute(&tx, id, &rules);
    if (rc != MSE_OK) {
        conflict_or(&tx, rc);
        goto out;
    }
    reply_changed(&tx, id, 200, NULL, stored.doc.json);
out:
    db_schedule_cleanup(&stored);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

/* The schedule's rendered document, as the generic DELETE reads it. */
static enum mse_rc schedule_doc(struct db *db, const char *id, bool lock, struct db_doc *doc,
                                struct db_error *err)
{
    struct db_schedule stored = { 0 };
    enum mse_rc rc = db_schedule_get(db, id, lock, false, &stored, err);
    *doc = stored.doc;
    stored.doc.json = NULL;
    db_schedule_cleanup(&stored);
    return rc;
}

void api_schedules_delete(struct request *req)
{
    static const struct api_referenced schedule = {
        .kind = "schedule",
        .missing = "no schedule with this id",
        .in_use = "use this schedule; change or delete them first",
        .get = schedule_doc,
        .tasks = db_schedule_task_count,
        .remove = db_schedule_delete,
    };
    api_delete_unreferenced(req, &schedule);
}
