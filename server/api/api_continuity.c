/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Continuity (docs/continuity.md): events administrators start, extend, end and clone, and
 * the status a mailbox user's client polls. An event's state follows from its times, computed
 * by the database on every read, so no job has to change it and every server agrees on it.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "api_util.h"
#include "db_continuity.h"
#include "group.h"
#include "http.h"
#include "jsonin.h"
#include "problem.h"
#include "server.h"
#include "timefmt.h"
#include "tx.h"

#define EVENT_CURSOR 'C'
/* A start "now or later" allows for the administrator's clock being a little ahead. */
#define START_SKEW_SECONDS 60
#define TS_MAX             32

static const char *const event_states[] = { "scheduled", "active", "ended", NULL };
/* "all", then group_kind_names in their order: index i > 0 is group kind i - 1. */
static const char *const scope_kinds[] = { "all",     "ad_group",     "group_email",
                                           "mailbox", "mailbox_list", NULL };
static const char *const event_readonly[] = { "id",         "state",       "ended_at",
                                              "until",      "cloned_from", "scope_resolution",
                                              "created_at", "created_by",  "updated_at",
                                              "updated_by", NULL };

/* What a body gave: the fields (pointing into it or into the buffers here) and parsed times. */
struct event_in {
    struct db_cont_fields f;
    char *scope_value; /* malloc'd normal form */
    char start[TS_MAX], end[TS_MAX];
    time_t start_t, end_t;
    bool has_start, has_end;
};

static void event_in_cleanup(struct event_in *in)
{
    free(in->scope_value);
}

static void scope_read(const cJSON *body, struct event_in *in, unsigned flags, struct verr *v)
{
    static const char *const allowed[] = { "kind", "value", NULL };
    const cJSON *s;
    const char *text;
    int kind = -1;
    if (jsonin_object(body, "", "scope", flags, v, &s) != JF_OK)
        return;
    jsonin_members(s, "scope", allowed, NULL, v);
    enum jf k = jsonin_enum(s, "scope", "kind", scope_kinds, JF_REQUIRED, v, &kind);
    enum jf val =
            jsonin_str(s, "scope", "value", MSE_MAX_LIST_VALUE, JF_PADDED | JF_NULLABLE, v, &text);
    if (k != JF_OK)
        return;
    if (kind == 0) {
        if (val == JF_OK)
            verr_add(v, "scope.value", "must be absent or null for scope kind all");
        else
            in->f.scope_kind = scope_kinds[0];
        return;
    }
    if (val != JF_OK) {
        if (val != JF_BAD)
            verr_add(v, "scope.value", "is required for scope kind %s", scope_kinds[kind]);
        return;
    }
    enum group_kind g = (enum group_kind)(kind - 1);
    if (group_normalize(g, text, "scope.value", &in->scope_value, v)) {
        /* Addresses compare without case; stored lower, as mailboxes are everywhere. */
        for (char *c = in->scope_value; g != GROUP_AD_GROUP && *c; c++)
            *c = (char)tolower((unsigned char)*c);
        in->f.scope_kind = scope_kinds[kind];
        in->f.scope_value = in->scope_value;
    }
}

/* An RFC 3339 member into out (normalised to UTC seconds) and *t. JF_NULL for null. */
static enum jf time_read(const cJSON *body, const char *key, bool allow_now, char out[TS_MAX],
                         time_t *t, struct verr *v)
{
    const char *text;
    enum jf r = jsonin_str(body, "", key, TS_MAX, JF_NULLABLE, v, &text);
    if (r != JF_OK)
        return r;
    if (allow_now && strcmp(text, "now") == 0) {
        *t = time(NULL);
        out[0] = '\0';
        return JF_OK;
    }
    if (mse_time_parse(text, t) != MSE_OK) {
        verr_add(v, key,
                 allow_now ? "must be \"now\" or an RFC 3339 date-time"
                           : "must be an RFC 3339 date-time or null");
        return JF_BAD;
    }
    mse_time_format(*t, out, TS_MAX);
    return JF_OK;
}

/* start: "now" or later (within the skew); end: after start and in the future. */
static void times_check(struct event_in *in, time_t end_floor, struct verr *v)
{
    time_t now = time(NULL);
    if (in->has_start && in->start[0] && in->start_t < now - START_SKEW_SECONDS)
        verr_add(v, "start", "must be \"now\" or later");
    if (in->has_end && in->end_t <= (end_floor > now ? end_floor : now))
        verr_add(v, "end", "must be later than the start and than now");
}

/*
 * The members of a create (all = true: name and scope required) or a patch. start "now" is
 * stored as f.start NULL on insert (the database's now()).
 */
static void event_read(const cJSON *body, bool all, struct event_in *in, struct verr *v)
{
    static const char *const create_allowed[] = {
        "name", "scope", "start", "end", "expand_distribution_lists", NULL
    };
    static const char *const patch_allowed[] = { "name", "scope", "start",
                                                 "expand_distribution_lists", NULL };
    static const char *const patch_readonly[] = { "end", NULL };
    bool expand;
    memset(in, 0, sizeof(*in));
    in->f.expand = -1;
    jsonin_members(body, "", all ? create_allowed : patch_allowed, event_readonly, v);
    if (!all)
        for (const char *const *r = patch_readonly; *r; r++)
            if (cJSON_GetObjectItemCaseSensitive(body, *r))
                verr_add(v, *r, "changes with POST …/extend or POST …/end");
    (void)jsonin_str(body, "", "name", MSE_MAX_NAME, all ? JF_REQUIRED : 0, v, &in->f.name);
    scope_read(body, in, all ? JF_REQUIRED : 0, v);
    enum jf s = time_read(body, "start", true, in->start, &in->start_t, v);
    if (s == JF_NULL)
        verr_add(v, "start", "must be \"now\" or an RFC 3339 date-time");
    in->has_start = s == JF_OK;
    if (in->has_start && in->start[0])
        in->f.start = in->start;
    if (!in->has_start)
        in->start_t = time(NULL);
    if (all) {
        in->has_end = time_read(body, "end", false, in->end, &in->end_t, v) == JF_OK;
        in->f.end = in->has_end ? in->end : NULL;
    }
    if (jsonin_bool(body, "", "expand_distribution_lists", 0, v, &expand) == JF_OK)
        in->f.expand = expand;
    else if (all)
        in->f.expand = 0;
    times_check(in, in->start_t, v);
}

/* Reads the request body with event_read; false after answering (body freed then). */
static bool event_parse(struct request *req, bool all, unsigned flags, cJSON **body,
                        struct event_in *in)
{
    if (!jsonin_parse(req, flags, body))
        return false;
    struct verr v;
    verr_init(&v);
    event_read(*body ? *body : NULL, all, in, &v);
    bool ok = !verr_any(&v);
    if (!ok) {
        problem_send_fields(req, 422, "the continuity event is not valid", &v);
        event_in_cleanup(in);
        cJSON_Delete(*body);
        *body = NULL;
    }
    verr_cleanup(&v);
    return ok;
}

void api_cont_list(struct request *req)
{
    api_list_by_enum(req, EVENT_CURSOR, "state", event_states, db_cont_list);
}

void api_cont_get(struct request *req)
{
    api_get_doc(req, "continuity event", "no continuity event with this id", db_cont_get);
}

/* Inserts the event and answers 201 with it, audited as action. Inside tx. */
static void event_store(struct tx *tx, const struct db_cont_fields *f, const char *action)
{
    char id[37], location[96];
    struct db_doc doc = { 0 };
    struct db_error err;
    enum mse_rc rc = db_cont_insert(tx->db, f, api_actor(tx->req), id, &err);
    if (rc == MSE_OK)
        rc = db_cont_get(tx->db, id, false, &doc, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
    } else if (tx_audit(tx, action, "continuity_event", id, NULL, doc.json)) {
        snprintf(location, sizeof(location), "/api/v1/continuity-events/%s", id);
        tx_commit_reply(tx, 201, doc.json, location, doc.version);
        doc.json = NULL;
    }
    db_doc_cleanup(&doc);
}

void api_cont_create(struct request *req)
{
    cJSON *body;
    struct event_in in;
    struct tx tx;
    if (!event_parse(req, true, 0, &body, &in))
        return;
    if (tx_begin(req, &tx))
        event_store(&tx, &in.f, "continuity_event.create");
    event_in_cleanup(&in);
    cJSON_Delete(body);
}

/* What a locked event's document says: its state and its times (0 when null). */
struct event_now {
    char state[16];
    time_t start, end, until;
};

static time_t doc_time(const cJSON *doc, const char *key)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, key);
    time_t t = 0;
    if (cJSON_IsString(s) && mse_time_parse(s->valuestring, &t) != MSE_OK)
        t = 0;
    return t;
}

/*
 * Locks the event (before gets its document), checks If-Match, and reads its state. False
 * after answering 404 or 412.
 */
static bool event_lock(struct tx *tx, const char *id, struct db_doc *before, struct event_now *n)
{
    struct db_error err;
    enum mse_rc rc = db_cont_get(tx->db, id, true, before, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, "no continuity event with this id");
        return false;
    }
    if (!tx_if_match(tx, before->version))
        return false;
    cJSON *doc = cJSON_Parse(before->json);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "state");
    snprintf(n->state, sizeof(n->state), "%s", cJSON_IsString(st) ? st->valuestring : "");
    n->start = doc_time(doc, "start");
    n->end = doc_time(doc, "end");
    n->until = doc_time(doc, "until");
    cJSON_Delete(doc);
    return true;
}

/*
 * After a change's statement (its result rc): reads the changed document, audits action and
 * answers 200 with it, or fails. Inside tx.
 */
static void event_changed(struct tx *tx, enum mse_rc rc, const char *id,
                          const struct db_doc *before, const char *action)
{
    struct db_doc after = { 0 };
    struct db_error err;
    if (rc == MSE_OK)
        rc = db_cont_get(tx->db, id, false, &after, &err);
    if (rc != MSE_OK)
        tx_fail_rc(tx, rc, NULL);
    else if (tx_audit(tx, action, "continuity_event", id, before->json, after.json)) {
        tx_commit_reply(tx, 200, after.json, NULL, after.version);
        after.json = NULL;
    }
    db_doc_cleanup(&after);
}

void api_cont_patch(struct request *req)
{
    char id[37];
    if (!api_path_uuid(req, 0, "continuity event", id))
        return;
    cJSON *body;
    struct event_in in;
    if (!event_parse(req, false, JSONIN_PATCH, &body, &in))
        return;
    struct tx tx;
    struct db_doc before = { 0 };
    struct event_now n;
    struct db_error err;
    if (!tx_begin(req, &tx) || !event_lock(&tx, id, &before, &n))
        goto out;
    if (in.has_start && strcmp(n.state, "scheduled") != 0) {
        tx_fail(&tx, 409, "the event is %s: only a scheduled event's start can change", n.state);
        goto out;
    }
    if (in.has_start && n.end && in.start_t >= n.end) {
        struct verr v;
        verr_init(&v);
        verr_add(&v, "start", "must be before the event's end");
        tx_fail_fields(&tx, 422, "the continuity event is not valid", &v);
        verr_cleanup(&v);
        goto out;
    }
    if (in.has_start && !in.f.start)
        in.f.start = "now";
    event_changed(&tx, db_cont_update(tx.db, id, &in.f, api_actor(req), &err), id, &before,
                  "continuity_event.update");
out:
    event_in_cleanup(&in);
    cJSON_Delete(body);
    db_doc_cleanup(&before);
}

void api_cont_extend(struct request *req)
{
    static const char *const allowed[] = { "end", NULL };
    char id[37], end[TS_MAX];
    if (!api_path_uuid(req, 0, "continuity event", id))
        return;
    cJSON *body;
    if (!jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    time_t end_t = 0;
    verr_init(&v);
    jsonin_members(body, "", allowed, NULL, &v);
    enum jf e = time_read(body, "end", false, end, &end_t, &v);
    if (e == JF_ABSENT)
        verr_add(&v, "end", "is required (null: open until ended)");
    struct tx tx;
    struct db_doc before = { 0 };
    struct event_now n;
    struct db_error err;
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the extension is not valid", &v);
        goto out;
    }
    if (!tx_begin(req, &tx) || !event_lock(&tx, id, &before, &n))
        goto out;
    if (strcmp(n.state, "ended") == 0) {
        tx_fail(&tx, 409, "the event has ended: clone it to start another");
        goto out;
    }
    time_t floor = n.start > time(NULL) ? n.start : time(NULL);
    if (e == JF_OK && (end_t <= floor || (n.end && end_t <= n.end))) {
        verr_add(&v, "end", "must be later than the event's current end, its start and now");
        tx_fail_fields(&tx, 422, "the extension is not valid", &v);
        goto out;
    }
    event_changed(&tx, db_cont_extend(tx.db, id, e == JF_OK ? end : NULL, api_actor(req), &err), id,
                  &before, "continuity_event.extend");
out:
    verr_cleanup(&v);
    cJSON_Delete(body);
    db_doc_cleanup(&before);
}

void api_cont_end(struct request *req)
{
    char id[37];
    if (!api_path_uuid(req, 0, "continuity event", id))
        return;
    if (!api_no_fields(req))
        return;
    struct tx tx;
    struct db_doc before = { 0 };
    struct event_now n;
    struct db_error err;
    if (!tx_begin(req, &tx) || !event_lock(&tx, id, &before, &n))
        goto out;
    if (strcmp(n.state, "ended") == 0) {
        tx_fail(&tx, 409, "the event has already ended");
        goto out;
    }
    event_changed(&tx, db_cont_end(tx.db, id, api_actor(req), &err), id, &before,
                  "continuity_event.end");
out:
    db_doc_cleanup(&before);
}

/* Clone: the source's scope and expand_distribution_lists; name, start and end from the body. */
void api_cont_clone(struct request *req)
{
    static const char *const allowed[] = { "name", "start", "end", NULL };
    char id[37];
    if (!api_path_uuid(req, 0, "continuity event", id))
        return;
    cJSON *body;
    if (!jsonin_parse(req, JSONIN_OPTIONAL, &body))
        return;
    struct event_in in;
    struct verr v;
    memset(&in, 0, sizeof(in));
    verr_init(&v);
    if (body) {
        jsonin_members(body, "", allowed, event_readonly, &v);
        (void)jsonin_str(body, "", "name", MSE_MAX_NAME, 0, &v, &in.f.name);
        in.has_start = time_read(body, "start", true, in.start, &in.start_t, &v) == JF_OK;
        in.has_end = time_read(body, "end", false, in.end, &in.end_t, &v) == JF_OK;
    }
    if (!in.has_start)
        in.start_t = time(NULL);
    in.f.start = in.has_start && in.start[0] ? in.start : NULL;
    in.f.end = in.has_end ? in.end : NULL;
    times_check(&in, in.start_t, &v);
    struct tx tx;
    struct db_doc src = { 0 };
    struct db_error err;
    cJSON *doc = NULL;
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the clone is not valid", &v);
        goto out;
    }
    if (!tx_begin(req, &tx))
        goto out;
    enum mse_rc rc = db_cont_get(tx.db, id, false, &src, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(&tx, rc, "no continuity event with this id");
        goto out;
    }
    doc = cJSON_Parse(src.json);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
    const cJSON *scope = cJSON_GetObjectItemCaseSensitive(doc, "scope");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(scope, "kind");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(scope, "value");
    const cJSON *expand = cJSON_GetObjectItemCaseSensitive(doc, "expand_distribution_lists");
    if (!cJSON_IsString(name) || !cJSON_IsString(kind)) {
        tx_fail_rc(&tx, doc ? MSE_ERR_INTERNAL : MSE_ERR_NOMEM, NULL);
        goto out;
    }
    if (!in.f.name)
        in.f.name = name->valuestring;
    in.f.scope_kind = kind->valuestring;
    in.f.scope_value = cJSON_IsString(value) ? value->valuestring : NULL;
    in.f.expand = cJSON_IsTrue(expand);
    in.f.cloned_from = id;
    event_store(&tx, &in.f, "continuity_event.clone");
out:
    verr_cleanup(&v);
    cJSON_Delete(doc);
    cJSON_Delete(body);
    db_doc_cleanup(&src);
}

/*
 * The client's poll: one query, answered 304 when the document is unchanged. The document
 * holds no "now"-relative value, so its ETag changes only when the status does.
 */
void api_me_continuity(struct request *req)
{
    if (!api_no_query(req))
        return;
    struct db *db;
    struct db_error err;
    char *json = NULL;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_cont_status(db, req->principal.client_uuid, &json, &err);
    /* A client that polls must ask again, not reuse an answer an intermediary kept. */
    http_add_header(req, "Cache-Control", "no-cache");
    api_reply_polled(req, rc, json);
}
