/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /api/v1/worker/executions/{id}/submissions: a batch of replicated records with the
 * checkpoint it was built on and the one it leads to, applied exactly once (see
 * docs/worker-protocol.md). Every record is checked here so a bad one gets a 422 naming it.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_outcome.h"
#include "api.h"
#include "api_util.h"
#include "api_worker.h"
#include "config.h"
#include "db_submit.h"
#include "http.h"
#include "jsonin.h"
#include "metrics.h"
#include "problem.h"
#include "timefmt.h"

/* What a record field must be. */
enum ftype {
    F_STR,
    F_ID,
    F_BOOL,
    F_INT,
    F_TIME,
    F_PERSON,
    F_PEOPLE,
    F_OBJECT,      /* a JSON object (recurrence, as EWS reports it) */
    F_OCCURRENCES, /* modified occurrences: objects with start, end, original_start times */
    F_TIMES,       /* deleted occurrences: start times */
    F_ATTACHMENTS,
    F_SHA256, /* content in the blob store: 64 lowercase hex digits */
};

struct field {
    const char *name;
    enum ftype type;
    bool required;
};

/* The fields of each kind of record, as docs/worker.md lists them. */
static const struct field folder_fields[] = {
    { "folder_id", F_ID, true },
    { "change", F_STR, true },
    { "parent_folder_id", F_ID, false },
    { "display_name", F_STR, false },
    { "folder_class", F_STR, false },
    { "path", F_STR, false },
    { NULL, F_STR, false },
};
static const struct field item_fields[] = {
    { "item_id", F_ID, true },
    { "change", F_STR, true },
    { "change_key", F_STR, false },
    { "folder_id", F_ID, false },
    { "item_class", F_STR, false },
    { "internet_message_id", F_STR, false },
    { "subject", F_STR, false },
    { "sender", F_PERSON, false },
    { "from", F_PERSON, false },
    { "to", F_PEOPLE, false },
    { "cc", F_PEOPLE, false },
    { "sent", F_TIME, false },
    { "received", F_TIME, false },
    { "size", F_INT, false },
    { "is_read", F_BOOL, false },
    { "sensitivity", F_STR, false },
    { "has_attachments", F_BOOL, false },
    { "content_sha256", F_SHA256, false },
    { "content_size", F_INT, false },
    { NULL, F_STR, false },
};
static const struct field appointment_fields[] = {
    { "item_id", F_ID, true },
    { "change", F_STR, true },
    { "change_key", F_STR, false },
    { "folder_id", F_ID, false },
    { "item_class", F_STR, false },
    { "uid", F_STR, false },
    { "subject", F_STR, false },
    { "start", F_TIME, false },
    { "end", F_TIME, false },
    { "is_all_day", F_BOOL, false },
    { "location", F_STR, false },
    { "organizer", F_PERSON, false },
    { "required_attendees", F_PEOPLE, false },
    { "optional_attendees", F_PEOPLE, false },
    { "calendar_item_type", F_STR, false },
    { "is_recurring", F_BOOL, false },
    { "recurrence", F_OBJECT, false },
    { "modified_occurrences", F_OCCURRENCES, false },
    { "deleted_occurrences", F_TIMES, false },
    { "sensitivity", F_STR, false },
    { "has_attachments", F_BOOL, false },
    { "attachments", F_ATTACHMENTS, false },
    { NULL, F_STR, false },
};

/* Text that is shown and sent back in headers (file names, media types) has no controls. */
static bool text_clean(const cJSON *v)
{
    if (!cJSON_IsString(v))
        return false;
    for (const unsigned char *c = (const unsigned char *)v->valuestring; *c; c++) {
        if (*c < 0x20 || *c == 0x7f)
            return false;
    }
    return true;
}

static bool time_ok(const cJSON *v)
{
    time_t t;
    return cJSON_IsString(v) && mse_time_parse(v->valuestring, &t) == MSE_OK;
}

/* A modified occurrence: its times, and its own item id when EWS gave one. */
static bool occurrence_ok(const cJSON *o)
{
    static const char *const times[] = { "start", "end", "original_start" };
    if (!cJSON_IsObject(o))
        return false;
    for (int i = 0; i < 3; i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, times[i]);
        if (t && !cJSON_IsNull(t) && !time_ok(t))
            return false;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "item_id");
    return !id || cJSON_IsNull(id) || cJSON_IsString(id);
}

static bool person_ok(const cJSON *p)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
    const cJSON *email = cJSON_GetObjectItemCaseSensitive(p, "email");
    return cJSON_IsObject(p) && (!name || cJSON_IsString(name) || cJSON_IsNull(name)) &&
           (!email || cJSON_IsString(email) || cJSON_IsNull(email));
}

/* Checks one attachment reference and appends its hash to the batch's list. */
static void attachment_check(const cJSON *a, const char *path, struct mse_buf *shas, struct verr *v)
{
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(a, "sha256");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(a, "size");
    bool ok = cJSON_IsString(sha) && strlen(sha->valuestring) == 64 &&
              strspn(sha->valuestring, "0123456789abcdef") == 64;
    if (!cJSON_IsObject(a) || !ok) {
        verr_add(v, path, "must be an attachment with a lowercase hex sha256");
        return;
    }
    if (size && (!cJSON_IsNumber(size) || size->valuedouble < 0))
        verr_add(v, path, "size must be a non-negative number");
    static const char *const texts[] = { "name", "content_type", "attachment_id" };
    for (int i = 0; i < 3; i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(a, texts[i]);
        if (t && !cJSON_IsNull(t) && !text_clean(t))
            verr_add(v, path, "%s must be text without control characters", texts[i]);
    }
    if (!shas->data || !strstr(shas->data, sha->valuestring))
        if (mse_buf_printf(shas, "%s%s", shas->len > 1 ? "," : "", sha->valuestring) != MSE_OK)
            v->nomem = true;
}

static void field_check(const cJSON *rec, const struct field *fd, const char *path,
                        struct mse_buf *shas, struct verr *v)
{
    char at[160];
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(rec, fd->name);
    snprintf(at, sizeof(at), "%s.%s", path, fd->name);
    if (!val || cJSON_IsNull(val)) {
        if (fd->required)
            verr_add(v, at, "is required");
        return;
    }
    bool ok = true;
    switch (fd->type) {
    case F_STR:
        ok = cJSON_IsString(val);
        break;
    case F_ID:
        ok = cJSON_IsString(val) && val->valuestring[0] && strlen(val->valuestring) <= 1024;
        break;
    case F_BOOL:
        ok = cJSON_IsBool(val);
        break;
    case F_INT:
        ok = cJSON_IsNumber(val) && val->valuedouble >= 0 && val->valuedouble < 9e15;
        break;
    case F_TIME:
        ok = time_ok(val);
        break;
    case F_PERSON:
        ok = person_ok(val);
        break;
    case F_PEOPLE:
        ok = cJSON_IsArray(val);
        for (const cJSON *p = ok ? val->child : NULL; p && ok; p = p->next)
            ok = person_ok(p);
        break;
    case F_OBJECT:
        ok = cJSON_IsObject(val);
        break;
    case F_OCCURRENCES:
        ok = cJSON_IsArray(val);
        for (const cJSON *o = ok ? val->child : NULL; o && ok; o = o->next)
            ok = occurrence_ok(o);
        break;
    case F_TIMES:
        ok = cJSON_IsArray(val);
        for (const cJSON *o = ok ? val->child : NULL; o && ok; o = o->next)
            ok = time_ok(o);
        break;
    case F_ATTACHMENTS:
        ok = cJSON_IsArray(val);
        for (const cJSON *a = ok ? val->child : NULL; a; a = a->next)
            attachment_check(a, at, shas, v);
        break;
    case F_SHA256:
        ok = cJSON_IsString(val) && strlen(val->valuestring) == 64 &&
             strspn(val->valuestring, "0123456789abcdef") == 64;
        break;
    }
    if (!ok)
        verr_add(v, at, "has the wrong type or format");
}

/* The enum batch_change bit of a `change` value. */
static unsigned change_bit(const char *change)
{
    if (strcmp(change, "upsert") == 0)
        return BATCH_UPSERT;
    if (strcmp(change, "delete") == 0)
        return BATCH_DELETE;
    if (strcmp(change, "read_flag") == 0)
        return BATCH_READ_FLAG;
    return BATCH_REMOVE;
}

/*
 * Checks every record of one array; the allowed `change` values depend on the kind. Returns
 * the number of records; *kinds gets the enum batch_change bits of the changes seen, and
 * *upserts is increased by the number of upserts.
 */
static unsigned records_check(const cJSON *arr, const char *name, const struct field *fields,
                              const char *const *changes, struct mse_buf *shas, struct verr *v,
                              unsigned *kinds, unsigned *upserts)
{
    unsigned i = 0;
    *kinds = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, arr)
    {
        char path[64];
        snprintf(path, sizeof(path), "%s[%u]", name, i++);
        if (!cJSON_IsObject(rec)) {
            verr_add(v, path, "must be an object");
            continue;
        }
        int change;
        if (jsonin_enum(rec, path, "change", changes, JF_REQUIRED, v, &change) != JF_OK)
            continue;
        *kinds |= change_bit(changes[change]);
        if (strcmp(changes[change], "upsert") != 0) {
            /* Deletions and flags name the record; nothing else is needed. */
            char at[96];
            const cJSON *idv = cJSON_GetObjectItemCaseSensitive(rec, fields[0].name);
            snprintf(at, sizeof(at), "%s.%s", path, fields[0].name);
            if (!cJSON_IsString(idv) || !idv->valuestring[0])
                verr_add(v, at, "is required");
            continue;
        }
        ++*upserts;
        for (const struct field *fd = fields; fd->name; fd++)
            field_check(rec, fd, path, shas, v);
    }
    return i;
}

/* Reads and checks the whole batch; arrays come back re-printed for the SQL. */
static void batch_read(const cJSON *body, struct batch *b, char batch_id[37], struct mse_buf *shas,
                       struct verr *v)
{
    static const char *const allowed[] = { "batch_id",  "mailbox",         "scope",
                                           "folder_id", "base_checkpoint", "new_checkpoint",
                                           "complete",  "reset",           "folders",
                                           "items",     "appointments",    NULL };
    static const char *const scopes[] = { "hierarchy", "folder", NULL };
    static const char *const folder_changes[] = { "upsert", "delete", NULL };
    static const char *const item_changes[] = { "upsert", "delete", "read_flag", "remove", NULL };
    static const char *const appt_changes[] = { "upsert", "delete", "remove", NULL };
    int scope = -1;
    const cJSON *folders = NULL, *items = NULL, *appts = NULL;
    jsonin_members(body, "", allowed, NULL, v);
    if (jsonin_uuid(body, "", "batch_id", JF_REQUIRED, v, batch_id) == JF_OK)
        b->batch_id = batch_id;
    (void)jsonin_str(body, "", "mailbox", MSE_MAX_ADDRESS, JF_REQUIRED, v, &b->mailbox);
    (void)jsonin_enum(body, "", "scope", scopes, JF_REQUIRED, v, &scope);
    (void)jsonin_str(body, "", "folder_id", 1024, JF_NULLABLE, v, &b->folder_id);
    (void)jsonin_str(body, "", "base_checkpoint", MSE_MAX_CHECKPOINT, JF_NULLABLE | JF_EMPTY, v,
                     &b->base_checkpoint);
    (void)jsonin_str(body, "", "new_checkpoint", MSE_MAX_CHECKPOINT, JF_REQUIRED | JF_EMPTY, v,
                     &b->new_checkpoint);
    (void)jsonin_bool(body, "", "complete", JF_REQUIRED, v, &b->complete);
    (void)jsonin_bool(body, "", "reset", 0, v, &b->reset);
    (void)jsonin_array(body, "", "folders", MSE_MAX_BATCH_RECORDS, JF_NULLABLE, v, &folders);
    (void)jsonin_array(body, "", "items", MSE_MAX_BATCH_RECORDS, JF_NULLABLE, v, &items);
    (void)jsonin_array(body, "", "appointments", MSE_MAX_BATCH_RECORDS, JF_NULLABLE, v, &appts);
    b->hierarchy = scope == 0;
    if (scope == 1 && !b->folder_id)
        verr_add(v, "folder_id", "is required for a folder batch");
    if (scope == 0 && (cJSON_GetArraySize(items) || cJSON_GetArraySize(appts)))
        verr_add(v, "items", "a hierarchy batch carries folders only");
    if (scope == 1 && cJSON_GetArraySize(folders))
        verr_add(v, "folders", "a folder batch carries items or appointments only");
    if (mse_buf_puts(shas, "{") != MSE_OK)
        v->nomem = true;
    unsigned folder_upserts = 0; /* folders are not items */
    b->upserts = 0;
    b->records = records_check(folders, "folders", folder_fields, folder_changes, shas, v,
                               &b->folder_changes, &folder_upserts) +
                 records_check(items, "items", item_fields, item_changes, shas, v, &b->item_changes,
                               &b->upserts) +
                 records_check(appts, "appointments", appointment_fields, appt_changes, shas, v,
                               &b->appointment_changes, &b->upserts);
    if (mse_buf_puts(shas, "}") != MSE_OK)
        v->nomem = true;
}

/*
 * The message content each item record names, as a PostgreSQL text[] literal with one entry
 * per record of `items` (NULL where it names none), and the index of the first upsert that
 * names none (-1): a sync task's upserts must (the server learns the task's type later).
 */
static void contents_read(const cJSON *body, struct batch *b, struct mse_buf *out, struct verr *v)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(body, "items"), *rec;
    bool any = false;
    unsigned i = 0;
    b->content_missing = -1;
    if (mse_buf_puts(out, "{") != MSE_OK)
        v->nomem = true;
    cJSON_ArrayForEach(rec, items)
    {
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(rec, "content_sha256");
        const cJSON *change = cJSON_GetObjectItemCaseSensitive(rec, "change");
        bool has = cJSON_IsString(sha);
        if (!has && b->content_missing < 0 && cJSON_IsString(change) &&
            strcmp(change->valuestring, "upsert") == 0)
            b->content_missing = (int)i;
        if (mse_buf_printf(out, "%s%s", i ? "," : "", has ? sha->valuestring : "NULL") != MSE_OK)
            v->nomem = true;
        any |= has;
        i++;
    }
    if (mse_buf_puts(out, "}") != MSE_OK)
        v->nomem = true;
    b->contents = any ? out->data : NULL;
}

static char *array_text(const cJSON *body, const char *key)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(body, key);
    return cJSON_GetArraySize(a) > 0 ? cJSON_PrintUnformatted(a) : NULL;
}

/* Counts what an applied batch stored, by kind; a replay stored nothing. */
static void submit_count(const cJSON *body)
{
    metrics_count(METRIC_FOLDERS_APPLIED,
                  (uint64_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body, "folders")));
    metrics_count(METRIC_ITEMS_APPLIED,
                  (uint64_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body, "items")));
    metrics_count(
            METRIC_APPOINTMENTS_APPLIED,
            (uint64_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body, "appointments")));
}

static void submit_reply(struct request *req, struct db *db, const struct batch_result *r,
                         const cJSON *body)
{
    struct db_error err;
    char json[128];
    if (!r->replayed && db_commit(db, &err) != MSE_OK) {
        problem_send_rc(req, MSE_ERR_UNAVAILABLE, NULL);
        return;
    }
    if (r->replayed)
        db_rollback(db);
    metrics_count(r->replayed ? METRIC_SUBMISSIONS_REPLAYED : METRIC_SUBMISSIONS_APPLIED, 1);
    if (!r->replayed)
        submit_count(body);
    snprintf(json, sizeof(json), "{\"applied\":%s,\"replayed\":%s,\"sequence\":%lld}",
             r->replayed ? "false" : "true", r->replayed ? "true" : "false",
             (long long)r->sequence);
    (void)http_reply_json(req, 200, json);
}

/* Answers 422 naming the item whose message content is absent or not this site's. */
static void content_refuse(struct request *req, const struct batch_result *r)
{
    struct verr v;
    char path[48];
    verr_init(&v);
    snprintf(path, sizeof(path), "items[%d].content_sha256", r->content_index);
    if (r->content_absent)
        verr_add(&v, path, "is required: a sync task archives each message's content");
    else
        verr_add(&v, path, "names content this site has not uploaded; upload it first");
    problem_send_fields(req, 422, "the batch is not valid", &v);
    verr_cleanup(&v);
}

/* Answers a batch that was not applied: the machinery's failure (rc) or the outcome. */
static void submit_fail(struct request *req, enum mse_rc rc, enum exec_outcome o,
                        const struct batch_result *r, const struct batch *b)
{
    char detail[MSE_MAX_ADDRESS + 128];
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, NULL);
        return;
    }
    switch (o) {
    case EXO_LEASE_LOST:
        metrics_count(METRIC_FENCING_REJECTIONS, 1);
        api_outcome_send(req, o, NULL);
        return;
    case EXO_CHECKPOINT_CONFLICT:
        metrics_count(METRIC_SUBMISSIONS_CONFLICTS, 1);
        snprintf(detail, sizeof(detail),
                 "the base checkpoint is not the stored one (stored: %s); nothing was applied",
                 r->stored[0] ? r->stored : "another");
        break;
    case EXO_NOT_LOCKED:
        snprintf(detail, sizeof(detail),
                 "this execution does not hold the lock of %s; take it first", b->mailbox);
        break;
    case EXO_MISSING_CONTENT:
        if (r->content_index >= 0) {
            content_refuse(req, r);
            return;
        }
        snprintf(detail, sizeof(detail), "attachment content %s was not uploaded before the batch",
                 r->missing);
        break;
    default:
        api_outcome_send(req, o, NULL);
        return;
    }
    api_outcome_send(req, o, detail);
}

void api_worker_submit(struct request *req)
{
    char id[37], token[24];
    struct fence f;
    cJSON *body;
    if (!api_worker_fence(req, &f, id, token) || !jsonin_parse(req, 0, &body))
        return;
    struct batch b = { 0 };
    struct verr v;
    struct mse_buf shas;
    char mailbox[MSE_MAX_ADDRESS + 1] = "", batch_id[37];
    verr_init(&v);
    struct mse_buf contents;
    mse_buf_init(&shas, 70u * MSE_MAX_BATCH_RECORDS * 4 + 16);
    mse_buf_init(&contents, 70u * MSE_MAX_BATCH_RECORDS + 16);
    batch_read(body, &b, batch_id, &shas, &v);
    if (!verr_any(&v))
        contents_read(body, &b, &contents, &v);
    if (b.mailbox && !api_worker_address(b.mailbox, mailbox, sizeof(mailbox)))
        verr_add(&v, "mailbox", "must be an e-mail address");
    b.mailbox = mailbox;
    char *folders = NULL, *items = NULL, *appts = NULL;
    if (!verr_any(&v)) {
        folders = array_text(body, "folders");
        items = array_text(body, "items");
        appts = array_text(body, "appointments");
    }
    b.folders = folders;
    b.items = items;
    b.appointments = appts;
    b.shas = shas.len > 2 ? shas.data : NULL;
    struct db *db;
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the batch is not valid", &v);
    } else if (api_worker_begin(req, &db)) {
        struct batch_result r;
        struct db_error err;
        enum exec_outcome o = EXO_DONE;
        enum mse_rc rc = db_submit_apply(db, &f, &b, &r, &o, &err);
        if (rc == MSE_OK && o == EXO_DONE)
            submit_reply(req, db, &r, body);
        else
            submit_fail(req, rc, o, &r, &b);
    }
    free(folders);
    free(items);
    free(appts);
    mse_buf_cleanup(&shas);
    mse_buf_cleanup(&contents);
    verr_cleanup(&v);
    cJSON_Delete(body);
}
