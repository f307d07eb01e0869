/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of exports (schema 044): records, production, recovery, expiry, selected content. */
#include "db_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* 1297306968 is the advisory lock class of exports (schema 044, mse_exports_recover). */
/* as_of to the microsecond: an export must name exactly the instant that was read. */
#define EXPORT_JSON                                                                                \
    "json_build_object('id', e.id, 'format', e.format, 'state', e.state,"                          \
    " 'selection', e.selection, 'as_of', to_char(e.as_of AT TIME ZONE 'UTC',"                      \
    " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'attempts', e.attempts, 'items', e.items,"             \
    " 'folders', e.folders, 'skipped', e.skipped, 'bytes', e.bytes, 'sha256', e.sha256,"           \
    " 'file_name', e.file_name, 'media_type', e.media_type, 'content_url',"                        \
    " CASE WHEN e.state = 'completed' THEN '/api/v1/exports/' || e.id || '/content' END,"          \
    " 'errors', e.errors, 'error', CASE WHEN e.error_code IS NOT NULL"                             \
    " THEN json_build_object('code', e.error_code, 'text', e.error_text) END,"                     \
    " 'created_by', e.created_by, 'created_at', mse_ts(e.created_at),"                             \
    " 'started_at', mse_ts(e.started_at), 'finished_at', mse_ts(e.finished_at),"                   \
    " 'expires_at', mse_ts(e.expires_at), 'updated_at', mse_ts(e.updated_at))::text"
/* Every change stamps updated_at: its microseconds are the document's version. */
#define EXPORT_VERSION "(extract(epoch FROM e.updated_at) * 1000000)::bigint"

/* as_of is checked against the database's clock: the one every read of the export uses. */
DB_STMT(export_insert, 7, false,
        "INSERT INTO exports (id, format, mailbox, selection, as_of, created_by, ttl_seconds)"
        " SELECT $1, $2, $3, $4::jsonb, coalesce($5::timestamptz, now()), $6, $7::int"
        " WHERE $5::timestamptz IS NULL OR $5::timestamptz <= now()");
DB_STMT(export_get, 1, true,
        "SELECT " EXPORT_JSON ", " EXPORT_VERSION " FROM exports e WHERE e.id = $1");
DB_STMT(export_get_lock, 1, false,
        "SELECT " EXPORT_JSON ", " EXPORT_VERSION " FROM exports e WHERE e.id = $1 FOR UPDATE");
DB_STMT(export_list, 3, true,
        "SELECT " EXPORT_JSON ", e.seq FROM exports e WHERE ($1::text IS NULL OR e.state = $1)"
        " AND ($2::bigint IS NULL OR e.seq > $2) ORDER BY e.seq LIMIT $3");
DB_STMT(export_delete, 1, false, "DELETE FROM exports WHERE id = $1");
DB_STMT(export_file, 1, true,
        "SELECT e.state, e.sha256, e.file_name, e.media_type, e.bytes FROM exports e"
        " WHERE e.id = $1");

/* One statement: the state, the attempt and the lock are taken together. */
DB_STMT(export_claim, 0, false,
        "UPDATE exports e SET state = 'running', attempts = e.attempts + 1, started_at = now(),"
        " updated_at = now() WHERE e.id = (SELECT q.id FROM exports q WHERE q.state = 'queued'"
        " ORDER BY q.seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING e.id, e.seq, e.format, e.selection::text, to_char(e.as_of AT TIME ZONE"
        " 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), e.mailbox,"
        " pg_advisory_lock(1297306968, (e.seq % 2147483647)::int), e.attempts");
DB_STMT(export_release, 1, false,
        "SELECT pg_advisory_unlock(1297306968, ($1::bigint % 2147483647)::int)");
DB_STMT(export_progress, 6, false,
        "UPDATE exports SET items = $2::bigint, folders = $3::bigint, skipped = $4::bigint,"
        " bytes = $5::bigint, updated_at = now() WHERE id = $1 AND state = 'running' AND attempts "
        "= $6::int");
DB_STMT(export_complete, 9, false,
        "UPDATE exports SET state = 'completed', items = $2::bigint, folders = $3::bigint,"
        " skipped = $4::bigint, bytes = $5::bigint, sha256 = $6, file_name = $7,"
        " media_type = $8, finished_at = now(), updated_at = now(),"
        " expires_at = now() + make_interval(secs => ttl_seconds)"
        " WHERE id = $1 AND state = 'running' AND attempts = $9::int");
DB_STMT(export_fail, 8, false,
        "UPDATE exports SET state = 'failed', items = $2::bigint, folders = $3::bigint,"
        " skipped = $4::bigint, bytes = $5::bigint, error_code = $6,"
        " error_text = left($7, 2000), finished_at = now(), updated_at = now()"
        " WHERE id = $1 AND state = 'running' AND attempts = $8::int");
/* The first 100 items left out are kept; the count says how many there were. */
DB_STMT(export_error_add, 6, false,
        "UPDATE exports SET errors = errors || jsonb_build_array(jsonb_build_object('item_id',"
        " $2::text, 'folder_path', $3::text, 'code', $4::text, 'detail', left($5, 500)))"
        " WHERE id = $1 AND state = 'running' AND attempts = $6::int AND "
        "jsonb_array_length(errors) < 100");
DB_STMT(export_requeue, 2, false,
        "UPDATE exports SET state = 'queued', attempts = greatest(attempts - 1, 0), items = 0,"
        " folders = 0, skipped = 0, bytes = NULL, errors = '[]', updated_at = now()"
        " WHERE id = $1 AND state = 'running' AND attempts = $2::int");
/* With the attempts the lost producer had: its staging files are the ones up to that number. */
DB_STMT(export_recover, 1, false,
        "SELECT r.id, e.attempts FROM mse_exports_recover($1::int) r JOIN exports e USING (id)");
/* Expiry removes the file first, then marks the row (a crash between leaves a row to retry). */
DB_STMT(export_expiring, 0, false,
        "SELECT id FROM exports WHERE state = 'completed' AND expires_at <= now()"
        " ORDER BY expires_at LIMIT 100");
DB_STMT(export_expire, 1, false,
        "UPDATE exports SET state = 'expired', updated_at = now() WHERE id = $1"
        " AND state = 'completed' AND expires_at <= now()");
/* The row of the claim, locked while its file is put in place: no other attempt's can be. */
DB_STMT(export_fence, 2, false,
        "SELECT 1 FROM exports WHERE id = $1 AND state = 'running' AND attempts = $2::int"
        " FOR UPDATE");
/*
 * A producer's lock lasts as long as its session: a peer that vanished (no FIN) is noticed by
 * keepalives and the unacknowledged-data timeout within minutes, not the kernel's hours.
 */
DB_STMT(export_session, 0, false,
        "SELECT set_config('tcp_keepalives_idle', '30', false),"
        " set_config('tcp_keepalives_interval', '10', false),"
        " set_config('tcp_keepalives_count', '3', false),"
        " set_config('tcp_user_timeout', '60000', false)");
/* What a file in the exports directory belongs to: the state and attempts of its row. */
DB_STMT(export_file_owner, 1, false, "SELECT state, attempts FROM exports WHERE id = $1::uuid");

DB_STMT(export_folder_count, 2, true,
        "SELECT count(DISTINCT folder_path) FROM mse_selection_messages($1::jsonb,"
        " $2::timestamptz, NULL, NULL, NULL)");
DB_STMT(export_messages, 5, true,
        "SELECT seq, item_id, folder_path, content_sha256, sender,"
        " coalesce(extract(epoch FROM at)::bigint, 0), deleted"
        " FROM mse_selection_messages($1::jsonb, $2::timestamptz, $3, $4::bigint, $5::int)");

/*
 * The appointment flattened for the event builder: people as lines of "R|O<TAB>email<TAB>
 * name" (tabs and line breaks in names become spaces), days of the week as one line of words,
 * cancelled occurrences as epoch seconds, moved ones as "original start end" triples, each
 * list one per line.
 */
DB_STMT(export_appointments, 4, true,
        "SELECT r.seq, r.folder_path, a.item_id, a.uid, a.subject, a.location, a.sensitivity,"
        " coalesce(a.is_all_day, false), coalesce(extract(epoch FROM a.start_at)::bigint, 0),"
        " coalesce(extract(epoch FROM a.end_at)::bigint, 0),"
        " extract(epoch FROM a.updated_at)::bigint,"
        " a.calendar_item_type = 'RecurringMaster' AND a.recurrence IS NOT NULL,"
        " a.organizer ->> 'name', a.organizer ->> 'email',"
        " (SELECT string_agg(p.role || E'\\t' || coalesce(p.x ->> 'email', '') || E'\\t'"
        " || translate(coalesce(p.x ->> 'name', ''), E'\\t\\n\\r', '   '), E'\\n')"
        " FROM (SELECT 'R' AS role, x FROM jsonb_array_elements(mse_people(a.required_attendees))"
        " x UNION ALL SELECT 'O', x FROM jsonb_array_elements(mse_people(a.optional_attendees)) x)"
        " p),"
        " a.recurrence #>> '{pattern,type}', a.recurrence #>> '{pattern,interval}',"
        " CASE jsonb_typeof(a.recurrence #> '{pattern,days_of_week}')"
        " WHEN 'string' THEN a.recurrence #>> '{pattern,days_of_week}'"
        " WHEN 'array' THEN (SELECT string_agg(d, ' ') FROM"
        " jsonb_array_elements_text(a.recurrence #> '{pattern,days_of_week}') d) END,"
        " a.recurrence #>> '{pattern,first_day_of_week}',"
        " a.recurrence #>> '{pattern,day_of_week_index}',"
        " a.recurrence #>> '{pattern,day_of_month}', a.recurrence #>> '{pattern,month}',"
        " a.recurrence #>> '{range,type}', a.recurrence #>> '{range,end_date}',"
        " a.recurrence #>> '{range,number_of_occurrences}',"
        " (SELECT string_agg(extract(epoch FROM x::timestamptz)::bigint::text, E'\\n')"
        " FROM jsonb_array_elements_text(mse_deleted_occurrences(a.deleted_occurrences)) x),"
        " (SELECT string_agg(concat_ws(' ', extract(epoch FROM (m ->> 'original_start')"
        "::timestamptz)::bigint, extract(epoch FROM (m ->> 'start')::timestamptz)::bigint,"
        " extract(epoch FROM (m ->> 'end')::timestamptz)::bigint), E'\\n')"
        " FROM jsonb_array_elements(mse_modified_occurrences(a.modified_occurrences)) m"
        " WHERE m ? 'original_start' AND m ? 'start' AND m ? 'end')"
        " FROM mse_selection_appointments($1::jsonb, $2, $3::bigint, $4::int) r,"
        " LATERAL (SELECT (r.a).*) a");

static enum mse_rc run_one(struct db *db, struct db_stmt *st, const char *const *params,
                           bool *touched, struct db_error *err);

enum mse_rc db_export_insert(struct db *db, const char *id, const struct db_export_in *in,
                             const char *actor, bool *inserted, struct db_error *err)
{
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%u", in->ttl_seconds);
    const char *params[] = { id, in->format, in->mailbox, in->selection, in->as_of, actor, ttl };
    return run_one(db, &export_insert, params, inserted, err);
}

enum mse_rc db_export_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                          struct db_error *err)
{
    const char *params[] = { id };
    return db_doc_query(db, lock ? &export_get_lock : &export_get, params, doc, err);
}

enum mse_rc db_export_list(struct db *db, const char *state, bool has_after, int64_t after,
                           unsigned limit, char **items, int64_t *last_seq, bool *more,
                           struct db_error *err)
{
    return db_filtered_page(db, &export_list, state, has_after, after, limit, items, last_seq, more,
                            err);
}

/* Runs a statement on one row; NOT_FOUND (or *touched false) when it touched none. */
static enum mse_rc run_one(struct db *db, struct db_stmt *st, const char *const *params,
                           bool *touched, struct db_error *err)
{
    struct db_res res;
    enum mse_rc rc = db_query(db, st, params, &res, err);
    bool one = rc == MSE_OK && db_res_affected(&res) > 0;
    db_res_clear(&res);
    if (touched)
        *touched = one;
    else if (rc == MSE_OK && !one)
        rc = MSE_ERR_NOT_FOUND;
    return rc;
}

enum mse_rc db_export_delete(struct db *db, const char *id, struct db_error *err)
{
    const char *params[] = { id };
    return run_one(db, &export_delete, params, NULL, err);
}

/* Copies a result column into a fixed buffer ("" for NULL). */
static void copy_col(const struct db_res *res, int row, int col, char *out, size_t size)
{
    const char *s = db_res_get(res, row, col);
    snprintf(out, size, "%s", s ? s : "");
}

enum mse_rc db_export_file(struct db *db, const char *id, struct db_export_file *f,
                           struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id };
    memset(f, 0, sizeof(*f));
    enum mse_rc rc = db_query(db, &export_file, params, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) != 1)
        rc = MSE_ERR_NOT_FOUND;
    if (rc == MSE_OK) {
        copy_col(&res, 0, 0, f->state, sizeof(f->state));
        copy_col(&res, 0, 1, f->sha256, sizeof(f->sha256));
        copy_col(&res, 0, 2, f->file_name, sizeof(f->file_name));
        copy_col(&res, 0, 3, f->media_type, sizeof(f->media_type));
        f->completed = strcmp(f->state, "completed") == 0;
        if (f->completed)
            rc = mse_parse_int(db_res_get(&res, 0, 4), 0, INT64_MAX, &f->bytes);
    }
    db_res_clear(&res);
    return rc;
}

void db_export_claimed_cleanup(struct db_export_claimed *c)
{
    if (!c)
        return;
    free(c->selection);
    free(c->as_of);
    free(c->mailbox);
    c->selection = c->as_of = c->mailbox = NULL;
}

enum mse_rc db_export_claim(struct db *db, struct db_export_claimed *c, bool *found,
                            struct db_error *err)
{
    struct db_res res;
    memset(c, 0, sizeof(*c));
    *found = false;
    enum mse_rc rc = db_query(db, &export_claim, NULL, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) == 1) {
        copy_col(&res, 0, 0, c->id, sizeof(c->id));
        copy_col(&res, 0, 2, c->format, sizeof(c->format));
        rc = mse_parse_int(db_res_get(&res, 0, 1), 1, INT64_MAX, &c->seq);
        c->selection = strdup(db_res_get(&res, 0, 3));
        c->as_of = strdup(db_res_get(&res, 0, 4));
        c->mailbox = strdup(db_res_get(&res, 0, 5));
        copy_col(&res, 0, 7, c->attempt_s, sizeof(c->attempt_s));
        if (rc == MSE_OK)
            rc = mse_parse_int(c->attempt_s, 1, INT32_MAX, &c->attempt);
        if (rc == MSE_OK && (!c->selection || !c->as_of || !c->mailbox))
            rc = MSE_ERR_NOMEM;
        *found = true;
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_export_release(struct db *db, int64_t seq, struct db_error *err)
{
    char s[24];
    snprintf(s, sizeof(s), "%lld", (long long)seq);
    const char *params[] = { s };
    return db_run(db, &export_release, params, err);
}

/* The counts as parameters $2 … $5. */
struct counts_s {
    char items[24], folders[24], skipped[24], bytes[24];
};
static void counts_fmt(const struct db_export_counts *n, struct counts_s *s)
{
    snprintf(s->items, sizeof(s->items), "%lld", (long long)n->items);
    snprintf(s->folders, sizeof(s->folders), "%lld", (long long)n->folders);
    snprintf(s->skipped, sizeof(s->skipped), "%lld", (long long)n->skipped);
    snprintf(s->bytes, sizeof(s->bytes), "%lld", (long long)n->bytes);
}

enum mse_rc db_export_progress(struct db *db, const struct db_export_claimed *c,
                               const struct db_export_counts *n, bool *running,
                               struct db_error *err)
{
    struct counts_s s;
    counts_fmt(n, &s);
    const char *params[] = { c->id, s.items, s.folders, s.skipped, s.bytes, c->attempt_s };
    return run_one(db, &export_progress, params, running, err);
}

enum mse_rc db_export_fence(struct db *db, const struct db_export_claimed *c, bool *held,
                            struct db_error *err)
{
    struct db_res res;
    const char *params[] = { c->id, c->attempt_s };
    enum mse_rc rc = db_query(db, &export_fence, params, &res, err);
    *held = rc == MSE_OK && db_res_rows(&res) == 1;
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_export_complete(struct db *db, const struct db_export_claimed *c,
                               const struct db_export_counts *n, const char *sha256,
                               const char *file_name, const char *media_type, bool *running,
                               struct db_error *err)
{
    struct counts_s s;
    counts_fmt(n, &s);
    const char *params[] = { c->id,  s.items,   s.folders,  s.skipped,   s.bytes,
                             sha256, file_name, media_type, c->attempt_s };
    return run_one(db, &export_complete, params, running, err);
}

enum mse_rc db_export_fail(struct db *db, const struct db_export_claimed *c,
                           const struct db_export_counts *n, const char *code, const char *text,
                           struct db_error *err)
{
    struct counts_s s;
    bool touched;
    counts_fmt(n, &s);
    const char *params[] = {
        c->id, s.items, s.folders, s.skipped, s.bytes, code, text, c->attempt_s
    };
    return run_one(db, &export_fail, params, &touched, err);
}

enum mse_rc db_export_error_add(struct db *db, const struct db_export_claimed *c,
                                const char *item_id, const char *folder_path, const char *code,
                                const char *detail, struct db_error *err)
{
    bool touched;
    const char *params[] = { c->id, item_id, folder_path, code, detail, c->attempt_s };
    return run_one(db, &export_error_add, params, &touched, err);
}

enum mse_rc db_export_requeue(struct db *db, const struct db_export_claimed *c,
                              struct db_error *err)
{
    bool touched;
    const char *params[] = { c->id, c->attempt_s };
    return run_one(db, &export_requeue, params, &touched, err);
}

enum mse_rc db_export_session(struct db *db, struct db_error *err)
{
    return db_run(db, &export_session, NULL, err);
}

enum mse_rc db_export_file_owner(struct db *db, const char *id, char state[16], int64_t *attempts,
                                 struct db_error *err)
{
    struct db_res res;
    const char *params[] = { id };
    enum mse_rc rc = db_query(db, &export_file_owner, params, &res, err);
    state[0] = '\0';
    *attempts = 0;
    if (rc == MSE_OK && db_res_rows(&res) == 1) {
        copy_col(&res, 0, 0, state, 16);
        rc = mse_parse_int(db_res_get(&res, 0, 1), 0, INT64_MAX, attempts);
    }
    db_res_clear(&res);
    return rc;
}

/* Runs a statement whose rows' first column is an export id, calling fn with each. */
static enum mse_rc each_id(struct db *db, struct db_stmt *st, const char *const *params,
                           db_export_id_fn fn, void *arg, struct db_error *err)
{
    struct db_res res;
    enum mse_rc rc = db_query(db, st, params, &res, err);
    for (int i = 0; rc == MSE_OK && i < db_res_rows(&res); i++) {
        int64_t attempts = 0;
        rc = mse_parse_int(db_res_get(&res, i, 1), 0, INT32_MAX, &attempts);
        if (rc == MSE_OK)
            fn(arg, db_res_get(&res, i, 0), attempts);
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_export_recover(struct db *db, int max_attempts, db_export_id_fn fn, void *arg,
                              struct db_error *err)
{
    char n[16];
    snprintf(n, sizeof(n), "%d", max_attempts);
    const char *params[] = { n };
    return each_id(db, &export_recover, params, fn, arg, err);
}

enum mse_rc db_export_expire(struct db *db, db_export_id_fn fn, void *arg, struct db_error *err)
{
    struct db_res res;
    enum mse_rc rc = db_query(db, &export_expiring, NULL, &res, err);
    for (int i = 0; rc == MSE_OK && i < db_res_rows(&res); i++) {
        const char *params[] = { db_res_get(&res, i, 0) };
        fn(arg, params[0], 0);
        rc = db_run(db, &export_expire, params, err);
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_export_folder_count(struct db *db, const char *selection, const char *as_of,
                                   int64_t *n, struct db_error *err)
{
    const char *params[] = { selection, as_of };
    return db_int_query(db, &export_folder_count, params, n, err);
}

enum mse_rc db_export_messages(struct db *db, const char *selection, const char *as_of,
                               const char *after_path, int64_t after_seq, unsigned limit,
                               struct db_res *res, struct db_error *err)
{
    char seq_s[24], limit_s[16];
    snprintf(seq_s, sizeof(seq_s), "%lld", (long long)after_seq);
    snprintf(limit_s, sizeof(limit_s), "%u", limit);
    const char *params[] = { selection, as_of, after_path, after_path ? seq_s : NULL, limit_s };
    return db_query(db, &export_messages, params, res, err);
}

/* A bigint column; 0 for NULL or anything unreadable. */
static int64_t col_int(const struct db_res *res, int row, int col)
{
    int64_t v = 0;
    const char *s = db_res_get(res, row, col);
    if (!s || mse_parse_int(s, INT64_MIN, INT64_MAX, &v) != MSE_OK)
        return 0;
    return v;
}

static bool col_bool(const struct db_res *res, int row, int col)
{
    const char *s = db_res_get(res, row, col);
    return s && s[0] == 't';
}

void db_export_message_at(const struct db_res *res, int row, struct db_export_message *m)
{
    m->seq = col_int(res, row, 0);
    m->item_id = db_res_get(res, row, 1);
    m->folder_path = db_res_get(res, row, 2);
    m->sha256 = db_res_get(res, row, 3);
    m->sender = db_res_get(res, row, 4);
    m->at = (time_t)col_int(res, row, 5);
    m->deleted = col_bool(res, row, 6);
}

enum mse_rc db_export_appointments(struct db *db, const char *selection, const char *after_path,
                                   int64_t after_seq, unsigned limit, struct db_res *res,
                                   struct db_error *err)
{
    char seq_s[24], limit_s[16];
    snprintf(seq_s, sizeof(seq_s), "%lld", (long long)after_seq);
    snprintf(limit_s, sizeof(limit_s), "%u", limit);
    const char *params[] = { selection, after_path, after_path ? seq_s : NULL, limit_s };
    return db_query(db, &export_appointments, params, res, err);
}

/* Lines in s (NULL = none). */
static size_t line_count(const char *s)
{
    size_t n = s && *s ? 1 : 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* The attendees' lines "R|O\temail\tname" into people (strings point into a copy in buf). */
static size_t people_read(char *buf, struct ics_person *people)
{
    size_t n = 0;
    for (char *line = buf; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *email = strchr(line, '\t');
        char *name = email ? strchr(email + 1, '\t') : NULL;
        if (email && name) {
            *email++ = '\0';
            *name++ = '\0';
            people[n++] = (struct ics_person){ name, email, line[0] == 'O' };
        }
        line = next;
    }
    return n;
}

/* Whitespace-separated epoch seconds. */
static size_t times_read(const char *s, time_t *out, size_t max)
{
    size_t n = 0;
    while (s && *s && n < max) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s)
            break;
        out[n++] = (time_t)v;
        s = end;
    }
    return n;
}

/* A recurrence member's integer ("" or absent = 0). */
static int small_int(const struct db_res *res, int row, int col)
{
    int64_t v = col_int(res, row, col);
    return v < 0 || v > 100000 ? 0 : (int)v;
}

enum mse_rc db_export_appointment_at(const struct db_res *res, int row,
                                     struct db_export_appointment *a)
{
    memset(a, 0, sizeof(*a));
    struct ics_event *e = &a->event;
    a->seq = col_int(res, row, 0);
    a->folder_path = db_res_get(res, row, 1);
    e->item_id = db_res_get(res, row, 2);
    e->uid = db_res_get(res, row, 3);
    e->subject = db_res_get(res, row, 4);
    e->location = db_res_get(res, row, 5);
    e->sensitivity = db_res_get(res, row, 6);
    e->all_day = col_bool(res, row, 7);
    e->start = (time_t)col_int(res, row, 8);
    e->end = (time_t)col_int(res, row, 9);
    e->stamp = (time_t)col_int(res, row, 10);
    e->series = col_bool(res, row, 11);
    e->organizer = (struct ics_person){ db_res_get(res, row, 12), db_res_get(res, row, 13), false };
    const char *people = db_res_get(res, row, 14);
    e->rec = (struct ics_recurrence){ .pattern = db_res_get(res, row, 15),
                                      .interval = small_int(res, row, 16),
                                      .days_of_week = db_res_get(res, row, 17),
                                      .first_day_of_week = db_res_get(res, row, 18),
                                      .day_of_week_index = db_res_get(res, row, 19),
                                      .day_of_month = small_int(res, row, 20),
                                      .month = db_res_get(res, row, 21),
                                      .range = db_res_get(res, row, 22),
                                      .end_date = db_res_get(res, row, 23),
                                      .count = small_int(res, row, 24) };
    const char *deleted = db_res_get(res, row, 25), *moved = db_res_get(res, row, 26);
    size_t n_people = line_count(people), n_deleted = line_count(deleted);
    size_t n_moved = line_count(moved), len = people ? strlen(people) + 1 : 1;
    /* One allocation for the people and a copy of their text, one for the times. */
    a->people = malloc(n_people * sizeof(*a->people) + len);
    a->times = malloc((n_deleted + 3 * n_moved + 1) * sizeof(*a->times));
    a->moved = malloc((n_moved + 1) * sizeof(*a->moved));
    if (!a->people || !a->times || !a->moved) {
        db_export_appointment_cleanup(a);
        return MSE_ERR_NOMEM;
    }
    char *text = (char *)(a->people + n_people);
    memcpy(text, people ? people : "", len);
    e->attendees = a->people;
    e->n_attendees = people_read(text, a->people);
    e->deleted = a->times;
    e->n_deleted = times_read(deleted, a->times, n_deleted);
    time_t *triples = a->times + n_deleted;
    size_t k = times_read(moved, triples, 3 * n_moved) / 3;
    for (size_t i = 0; i < k; i++)
        a->moved[i] = (struct ics_moved){ triples[3 * i], triples[3 * i + 1], triples[3 * i + 2] };
    e->moved = a->moved;
    e->n_moved = k;
    return MSE_OK;
}

void db_export_appointment_cleanup(struct db_export_appointment *a)
{
    if (!a)
        return;
    free(a->people);
    free(a->times);
    free(a->moved);
    a->people = NULL;
    a->times = NULL;
    a->moved = NULL;
}
