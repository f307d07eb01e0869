/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /api/v1/planning/estimate (issue 18, seed 004's planning guide): for a feature, a group
 * (a mailbox count and average size, or an existing task's group) and a required interval, the
 * tasks and sites needed and a staggered start per task, from this organisation's measured
 * passes, or seed 004's defaults when too few are measured — which the answer says.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db_planning.h"
#include "http.h"
#include "jsonin.h"
#include "mse/limits.h"
#include "planning.h"
#include "problem.h"
#include "server.h"

static const char *const plan_types[] = { "mailbox_folder_replication", "calendar_replication",
                                          "mailbox_storage_management", "managed_folders", NULL };

struct plan_input {
    int type;
    char task_id[37]; /* "" when the group is given by size */
    struct planning_request req;
};

static void group_read(const cJSON *body, struct plan_input *in, struct verr *v)
{
    static const char *const allowed[] = { "task_id", "mailboxes", "average_items", NULL };
    const cJSON *g;
    if (jsonin_object(body, "", "group", JF_REQUIRED, v, &g) != JF_OK)
        return;
    jsonin_members(g, "group", allowed, NULL, v);
    int64_t n = 0, items = 0;
    enum jf id = jsonin_uuid(g, "group", "task_id", 0, v, in->task_id);
    enum jf nb = jsonin_int(g, "group", "mailboxes", 1, PLANNING_MAX_MAILBOXES, 0, v, &n);
    enum jf it = jsonin_int(g, "group", "average_items", 0, PLANNING_MAX_ITEMS, 0, v, &items);
    if (id != JF_OK)
        in->task_id[0] = '\0';
    if (id == JF_ABSENT && nb == JF_ABSENT)
        verr_add(v, "group", "needs task_id, or mailboxes and average_items");
    else if (id != JF_ABSENT && (nb != JF_ABSENT || it != JF_ABSENT))
        verr_add(v, "group", "takes task_id or mailboxes and average_items, not both");
    else if (id == JF_ABSENT && it == JF_ABSENT)
        verr_add(v, "group.average_items", "is required with mailboxes");
    in->req.mailboxes = n;
    in->req.average_items = (double)items;
}

static bool input_read(const cJSON *body, struct plan_input *in, struct verr *v)
{
    static const char *const allowed[] = {
        "type", "group", "interval_minutes", "tasks_per_site", "max_parallel_mailboxes", NULL
    };
    memset(in, 0, sizeof(*in));
    in->req.tasks_per_site = PLANNING_DEFAULT_TASKS_PER_SITE;
    in->req.parallel = 0; /* not given: 1, or the named task's */
    jsonin_members(body, "", allowed, NULL, v);
    (void)jsonin_enum(body, "", "type", plan_types, JF_REQUIRED, v, &in->type);
    group_read(body, in, v);
    (void)jsonin_int(body, "", "interval_minutes", 1, PLANNING_MAX_INTERVAL_MIN, JF_REQUIRED, v,
                     &in->req.interval_minutes);
    (void)jsonin_int(body, "", "tasks_per_site", 1, PLANNING_MAX_TASKS_PER_SITE, 0, v,
                     &in->req.tasks_per_site);
    (void)jsonin_int(body, "", "max_parallel_mailboxes", 1, MSE_MAX_PARALLEL_MAILBOXES, 0, v,
                     &in->req.parallel);
    return !verr_any(v);
}

/* Fills the group's size from the task named; field errors when it cannot plan from it. */
static enum mse_rc group_resolve(struct db *db, struct plan_input *in, struct verr *v)
{
    struct db_planning_group g;
    struct db_error err;
    enum mse_rc rc = db_planning_group(db, in->task_id, &g, &err);
    if (rc == MSE_ERR_NOT_FOUND) {
        verr_add(v, "group.task_id", "no exchange task has this id");
        return MSE_OK;
    }
    if (rc != MSE_OK)
        return rc;
    if (strcmp(g.type, plan_types[in->type]) != 0)
        verr_add(v, "type", "is not the type of the task named in group.task_id (%s)", g.type);
    else if (g.mailboxes < 1)
        verr_add(v, "group.task_id",
                 "the task's group has no members yet: run it once, or give "
                 "mailboxes and average_items");
    else if (!g.has_items)
        verr_add(v, "group.task_id",
                 "no mailbox of the task has completed a first full pass "
                 "yet, so their size is unknown: give average_items");
    in->req.mailboxes = g.mailboxes;
    in->req.average_items = g.average_items;
    if (in->req.parallel < 1)
        in->req.parallel = g.max_parallel;
    return MSE_OK;
}

static const char *basis_name(enum planning_basis b)
{
    return b == PLANNING_MEASURED ? "measured" : "default";
}

static cJSON *model_json(const struct planning_model *m, const struct planning_fit *fit,
                         bool first_pass)
{
    cJSON *o = cJSON_CreateObject();
    char why[256];
    cJSON_AddStringToObject(o, "basis", basis_name(m->basis));
    cJSON_AddNumberToObject(o, "measurements", (double)m->measurements);
    cJSON_AddNumberToObject(o, "intercept_ms", round(m->intercept_ms));
    cJSON_AddNumberToObject(o, "ms_per_item", m->ms_per_item);
    if (m->has_stderr)
        cJSON_AddNumberToObject(o, "standard_error_ms", round(m->stderr_ms));
    else
        cJSON_AddNullToObject(o, "standard_error_ms");
    if (m->basis == PLANNING_MEASURED && fit->has_r2)
        cJSON_AddNumberToObject(o, "r2", fit->r2);
    else
        cJSON_AddNullToObject(o, "r2");
    if (m->basis == PLANNING_MEASURED) {
        cJSON_AddNullToObject(o, "note");
        return o;
    }
    snprintf(why, sizeof(why),
             "%s: %lld measured %s pass(es)%s; seed 004's default is used (a mailbox of 10,000 "
             "items: %s)",
             m->basis == PLANNING_TOO_FEW ? "too few measurements" : "no spread of sizes",
             (long long)m->measurements, first_pass ? "first full" : "incremental",
             m->basis == PLANNING_TOO_FEW ? ", at least 3 are needed"
                                          : ", all of mailboxes of one size",
             first_pass ? "15 to 25 minutes the first time, 20 assumed" : "2 minutes");
    cJSON_AddStringToObject(o, "note", why);
    return o;
}

static cJSON *tasks_json(const struct planning_estimate *e, const struct planning_request *r)
{
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; i < e->tasks && i < PLANNING_MAX_LISTED_TASKS; i++) {
        cJSON *t = cJSON_CreateObject();
        int64_t boxes = planning_task_mailboxes(e, r->mailboxes, i);
        cJSON_AddNumberToObject(t, "task", (double)(i + 1));
        cJSON_AddNumberToObject(t, "mailboxes", (double)boxes);
        cJSON_AddNumberToObject(t, "start_offset_minutes",
                                (double)planning_task_offset_minutes(e, r->interval_minutes, i));
        cJSON_AddNumberToObject(
                t, "execution_ms",
                round(planning_execution_ms(e->incremental_mailbox_ms, boxes, e->parallel)));
        cJSON_AddNumberToObject(
                t, "first_execution_ms",
                round(planning_execution_ms(e->first_mailbox_ms, boxes, e->parallel)));
        cJSON_AddItemToArray(a, t);
    }
    return a;
}

static char *advice(const struct planning_estimate *e, const struct planning_request *r, char *out,
                    size_t size)
{
    if (!e->fits)
        snprintf(out, size,
                 "Even one mailbox takes longer than the interval of %lld minutes: no split of "
                 "the group fits; choose a longer interval.",
                 (long long)r->interval_minutes);
    else if (e->tasks == 1)
        snprintf(out, size,
                 "One task processes the whole group within the interval of %lld "
                 "minutes.",
                 (long long)r->interval_minutes);
    else
        snprintf(out, size,
                 "Split the group into %lld tasks of about %lld mailboxes on %lld site(s); "
                 "consider starting the tasks at different times, as listed.",
                 (long long)e->tasks, (long long)e->mailboxes_per_task, (long long)e->sites);
    return out;
}

static char *render(const struct plan_input *in, const struct planning_estimate *e,
                    const struct planning_model *first, const struct planning_fit *ffit,
                    const struct planning_model *inc, const struct planning_fit *ifit,
                    double overhead_ms)
{
    char text[320];
    cJSON *o = cJSON_CreateObject(), *g = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", plan_types[in->type]);
    if (in->task_id[0])
        cJSON_AddStringToObject(g, "task_id", in->task_id);
    else
        cJSON_AddNullToObject(g, "task_id");
    cJSON_AddNumberToObject(g, "mailboxes", (double)in->req.mailboxes);
    cJSON_AddNumberToObject(g, "average_items", round(in->req.average_items));
    cJSON_AddItemToObject(o, "group", g);
    cJSON_AddNumberToObject(o, "interval_minutes", (double)in->req.interval_minutes);
    cJSON_AddNumberToObject(o, "tasks_per_site", (double)in->req.tasks_per_site);
    cJSON_AddNumberToObject(o, "max_parallel_mailboxes", (double)e->parallel);
    cJSON_AddStringToObject(o, "basis",
                            first->basis == PLANNING_MEASURED && inc->basis == PLANNING_MEASURED
                                    ? "measured"
                                    : "default");
    cJSON_AddItemToObject(o, "first_pass", model_json(first, ffit, true));
    cJSON_AddItemToObject(o, "incremental", model_json(inc, ifit, false));
    cJSON_AddNumberToObject(o, "overhead_per_mailbox_ms", round(overhead_ms));
    cJSON_AddNumberToObject(o, "first_execution_ms", round(e->first_execution_ms));
    cJSON_AddNumberToObject(o, "execution_ms", round(e->incremental_execution_ms));
    cJSON_AddBoolToObject(o, "fits", e->fits);
    cJSON_AddNumberToObject(o, "tasks_needed", (double)e->tasks);
    cJSON_AddNumberToObject(o, "mailboxes_per_task", (double)e->mailboxes_per_task);
    cJSON_AddNumberToObject(o, "task_execution_ms", round(e->task_execution_ms));
    cJSON_AddNumberToObject(o, "task_first_execution_ms", round(e->task_first_execution_ms));
    cJSON_AddNumberToObject(o, "sites_needed", (double)e->sites);
    cJSON_AddItemToObject(o, "tasks", tasks_json(e, &in->req));
    cJSON_AddStringToObject(o, "advice", advice(e, &in->req, text, sizeof(text)));
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return json;
}

/* Reads both fits and answers the estimate. */
static void estimate_reply(struct request *req, struct db *db, const struct plan_input *in)
{
    struct planning_fit ffit, ifit;
    struct planning_model first, inc;
    struct planning_estimate e;
    struct db_error err;
    enum mse_rc rc = db_planning_fit(db, plan_types[in->type], true, &ffit, &err);
    if (rc == MSE_OK)
        rc = db_planning_fit(db, plan_types[in->type], false, &ifit, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
        return;
    }
    planning_model_choose(&ffit, true, &first);
    planning_model_choose(&ifit, false, &inc);
    /* Time between mailboxes is only known where executions were measured. */
    double overhead = ifit.has_overhead ? ifit.overhead_ms : 0;
    planning_estimate(&in->req, &first, &inc, overhead, &e);
    char *json = render(in, &e, &first, &ffit, &inc, &ifit, overhead);
    if (json)
        (void)http_reply_json_take(req, 200, json);
    else
        problem_send_rc(req, MSE_ERR_NOMEM, NULL);
}

void api_planning_estimate(struct request *req)
{
    cJSON *body;
    if (!jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    struct plan_input in;
    struct db *db = NULL;
    enum mse_rc rc = MSE_OK;
    verr_init(&v);
    if (input_read(body, &in, &v) && in.task_id[0]) {
        rc = http_db(req, &db);
        if (rc == MSE_OK)
            rc = group_resolve(db, &in, &v);
    }
    if (rc != MSE_OK)
        problem_send_rc(req, rc, NULL);
    else if (verr_any(&v))
        problem_send_fields(req, 422, "the estimate's input is not valid", &v);
    else if (!db && (rc = http_db(req, &db)) != MSE_OK)
        problem_send_rc(req, rc, NULL);
    else
        estimate_reply(req, db, &in);
    verr_cleanup(&v);
    cJSON_Delete(body);
}
