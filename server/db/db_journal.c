/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of the journal: journaled messages, their attribution, and the full-text search. */
#include "db_journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_util.h"

#define TEXT_ARRAY(p) "ARRAY(SELECT jsonb_array_elements_text(" p "::jsonb))"

/* A journaled message as the API shows it (schema JournalMessage). */
#define MESSAGE_JSON                                                                               \
    "json_build_object('id', m.id, 'sha256', m.sha256, 'size', m.size,"                            \
    " 'message_id', m.message_id, 'subject', m.subject, 'from', m.from_address,"                   \
    " 'from_name', m.from_name, 'to', to_json(m.to_addresses), 'cc', to_json(m.cc_addresses),"     \
    " 'date', mse_ts(m.sent_at), 'has_attachments', m.has_attachments,"                            \
    " 'envelope_sender', m.envelope_sender, 'envelope_recipients', to_json(m.envelope_rcpts),"     \
    " 'mailboxes', (SELECT coalesce(json_agg(b.address ORDER BY b.address), '[]')"                 \
    " FROM journal_mailboxes b WHERE b.message = m.id),"                                           \
    " 'received_at', mse_ts(m.received_at),"                                                       \
    " 'content_url', '/api/v1/archive/messages/' || m.sha256 || '/content')"

/*
 * The row of content the store now holds, referenced from here on: the collector never takes
 * it (it only deletes rows whose referenced_at is NULL, and waits for this lock).
 */
DB_STMT(journal_blob, 3, false,
        "INSERT INTO blobs (sha256, size, backend, referenced_at) VALUES ($1, $2, $3, now())"
        " ON CONFLICT (sha256) DO UPDATE SET referenced_at = coalesce(blobs.referenced_at, now())");
DB_STMT(journal_insert, 13, false,
        "INSERT INTO journal_messages (sha256, size, message_id, subject, from_address, from_name,"
        " to_addresses, cc_addresses, sent_at, has_attachments, body_text, envelope_sender,"
        " envelope_rcpts, search) SELECT $1::text, $2::bigint, $3::text, $4::text, $5::text,"
        " $6::text, t.a, c.a, $9::timestamptz, $10::boolean, $11::text, $12::text, " TEXT_ARRAY(
                "$13") ", setweight(to_tsvector('simple', coalesce($4, '')), 'A') ||"
                       " setweight(to_tsvector('simple', concat_ws(' ', $5, $6, "
                       "array_to_string(t.a || c.a,"
                       " ' '))), 'B') || setweight(to_tsvector('simple', $11), 'D')"
                       " FROM (SELECT " TEXT_ARRAY("$7") " AS a) t, (SELECT " TEXT_ARRAY(
                               "$8") " AS a) c"
                                     " ON CONFLICT (sha256) DO NOTHING RETURNING id");
/* Same content already journaled: the first post's row (its envelope stands). */
DB_STMT(journal_existing, 1, true, "SELECT id FROM journal_messages WHERE sha256 = $1");
/* Internal: an archived mailbox, or an address whose domain the operator listed. */
DB_STMT(journal_attribute, 3, false,
        "INSERT INTO journal_mailboxes (message, address)"
        " SELECT $1, c.a FROM (SELECT DISTINCT jsonb_array_elements_text($2::jsonb) AS a) c"
        " WHERE c.a <> '' AND (EXISTS (SELECT 1 FROM archive_mailboxes x WHERE x.address = c.a)"
        " OR regexp_replace(c.a, '^.*@', '') = ANY (string_to_array($3, ',')))"
        " ON CONFLICT DO NOTHING");
DB_STMT(journal_get, 1, true,
        "SELECT " MESSAGE_JSON "::text FROM journal_messages m WHERE m.id = $1");

/* From, else Sender, of version h, as {name, email}. */
#define HIT_ORIGINATOR "coalesce(mse_person(h.\"from\"), mse_person(h.sender))"
/* The lower-case addresses of a recipient list (a jsonb expression). */
#define EMAILS(list)                                                                               \
    "(SELECT coalesce(json_agg(lower(e.p ->> 'email') ORDER BY e.n), '[]')"                        \
    " FROM jsonb_array_elements(mse_people(" list ")) WITH ORDINALITY AS e (p, n)"                 \
    " WHERE e.p ->> 'email' <> '')"
#define HIT_TO EMAILS("h.to_recipients")
#define HIT_CC EMAILS("h.cc_recipients")

/*
 * A message a sync task archived, one version of it (alias h, p its partition); its content
 * is served by its address, whichever version it is.
 */
#define ITEM_HIT_JSON                                                                              \
    "json_build_object('mailbox', p.mailbox, 'item_id', h.item_id, 'folder_id', h.folder_id,"      \
    " 'folder_path', (SELECT f.path FROM archive_folders f WHERE f.partition_id = h.partition_id"  \
    " AND f.folder_id = h.folder_id), 'sha256', h.content_sha256, 'size', h.content_size,"         \
    " 'message_id', h.internet_message_id, 'subject', h.subject,"                                  \
    " 'date', mse_ts(h.sent_at), 'received_at', mse_ts(h.received_at),"                            \
    " 'has_attachments', coalesce(h.has_attachments, false),"                                      \
    " 'mailboxes', json_build_array(p.mailbox), 'current', h.valid_to IS NULL,"                    \
    " 'valid_from', mse_ts(h.valid_from), 'valid_to', mse_ts(h.valid_to),"                         \
    " 'content_url', '/api/v1/archive/messages/' || h.content_sha256 || '/content',"               \
    " 'from', lower(" HIT_ORIGINATOR " ->> 'email'),"                                              \
    " 'from_name', " HIT_ORIGINATOR " ->> 'name', 'to', " HIT_TO ", 'cc', " HIT_CC ")"

/*
 * Hits ordered by one bigint: the rank (normalised to [0, 1) by ts_rank's flag 32) in 23
 * bits above the sequence's 40 (journaled messages and message versions draw from one
 * generator, schema 046), so that equal ranks fall back to the newest and a cursor is one
 * number. Without q every rank is 0: newest first. Messages sync tasks archived are searched
 * in the partition a sync task wrote last for their mailbox (sp: the archive view's choice may
 * be an Exchange task's copy without content; one hit per message however many sync tasks
 * archive the mailbox), current versions only unless $11; journaled messages have no folder, so $10
 * leaves them out. The page is chosen by key first and rendered after, so only the hits shown are
 * turned into JSON.
 */
#define SEARCH_SQL(match_j, rank_j, match_i, rank_i)                                               \
    "WITH q AS (SELECT websearch_to_tsquery('simple', coalesce($1::text, '')) AS tsq),"            \
    " jh AS (SELECT m.id, m.seq, " rank_j " AS rank FROM journal_messages m, q"                    \
    " WHERE $10::text IS NULL AND " match_j                                                        \
    " AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM journal_mailboxes b"                          \
    " WHERE b.message = m.id AND b.address = $2))"                                                 \
    " AND ($3::text IS NULL OR m.from_address = $3)"                                               \
    " AND ($4::text IS NULL OR (m.to_addresses || m.cc_addresses) @> ARRAY[$4::text])"             \
    " AND ($5::timestamptz IS NULL OR m.sent_at >= $5)"                                            \
    " AND ($6::timestamptz IS NULL OR m.sent_at < $6)"                                             \
    " AND ($7::boolean IS NULL OR m.has_attachments = $7)),"                                       \
    " sp AS (SELECT DISTINCT ON (p.mailbox) p.id, p.mailbox FROM archive_partitions p"             \
    " JOIN exchange_tasks t ON t.id = p.task_id WHERE p.feature = 'mail'"                          \
    " AND t.type = 'sync_recover' AND ($2::text IS NULL OR p.mailbox = $2)"                        \
    " ORDER BY p.mailbox, p.written_at DESC, p.id DESC),"                                          \
    " ih AS (SELECT v.partition_id, v.item_id, v.valid_from, v.search_seq AS seq"                  \
    ", " rank_i " AS rank"                                                                         \
    " FROM archive_item_versions v JOIN sp ON sp.id = v.partition_id, q"                           \
    " WHERE v.search IS NOT NULL AND " match_i " AND ($11::boolean OR v.valid_to IS NULL)"         \
    " AND ($3::text IS NULL OR lower(coalesce(mse_person(v.\"from\"), mse_person(v.sender))"       \
    " ->> 'email') = $3)"                                                                          \
    " AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements("                        \
    "mse_people(v.to_recipients) || mse_people(v.cc_recipients)) AS e (p)"                         \
    " WHERE lower(e.p ->> 'email') = $4))"                                                         \
    " AND ($5::timestamptz IS NULL OR v.sent_at >= $5)"                                            \
    " AND ($6::timestamptz IS NULL OR v.sent_at < $6)"                                             \
    " AND ($7::boolean IS NULL OR coalesce(v.has_attachments, false) = $7)"                        \
    " AND ($10::text IS NULL OR EXISTS (SELECT 1 FROM archive_folders f"                           \
    " WHERE f.partition_id = v.partition_id AND f.folder_id = v.folder_id"                         \
    " AND lower(f.path) = lower($10)))),"                                                          \
    " page AS (SELECT * FROM (SELECT a.*,"                                                         \
    " (floor(a.rank * 8388608)::bigint << 40) | a.seq AS key FROM ("                               \
    "SELECT id, NULL::bigint AS part, NULL::text AS item, NULL::timestamptz AS vf, seq, rank"      \
    " FROM jh UNION ALL SELECT NULL, partition_id, item_id, valid_from, seq, rank FROM ih) a"      \
    ") k WHERE ($8::bigint IS NULL OR k.key < $8) ORDER BY k.key DESC LIMIT $9)"                   \
    " SELECT CASE WHEN g.id IS NOT NULL THEN (SELECT json_build_object("                           \
    "'rank', round(g.rank::numeric, 6), 'source', 'journal', 'message', " MESSAGE_JSON ")"         \
    " FROM journal_messages m WHERE m.id = g.id) ELSE (SELECT json_build_object("                  \
    "'rank', round(g.rank::numeric, 6), 'source', 'mailbox', 'message', " ITEM_HIT_JSON ")"        \
    " FROM archive_item_versions h JOIN archive_partitions p ON p.id = h.partition_id"             \
    " WHERE h.partition_id = g.part AND h.item_id = g.item AND h.valid_from = g.vf)"               \
    " END::text,"                                                                                  \
    " g.key FROM page g ORDER BY g.key DESC"
/*
 * Two statements, so that each gets a plan that fits: with words, the full-text indexes
 * select (a "no words" alternative in the condition would keep the planner from them).
 */
DB_STMT(journal_search, 11, true,
        SEARCH_SQL("m.search @@ q.tsq", "ts_rank(m.search, q.tsq, 32)", "v.search @@ q.tsq",
                   "ts_rank(v.search, q.tsq, 32)"));
DB_STMT(journal_search_filters, 11, true,
        SEARCH_SQL("$1::text IS NULL", "0::real", "$1::text IS NULL", "0::real"));
/* Content a journaled message or any version of an archived message has. */
DB_STMT(journal_content, 1, true,
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM journal_messages WHERE sha256 = $1)"
        " OR EXISTS (SELECT 1 FROM archive_item_versions WHERE content_sha256 = $1)"
        " OR EXISTS (SELECT 1 FROM archive_items WHERE content_sha256 = $1)");

/* The message's row after the insert (new or not): id and JSON. */
static enum mse_rc render(struct db *db, const char *id, char **json, struct db_error *err)
{
    struct db_res res;
    const char *p[] = { id };
    enum mse_rc rc = db_query(db, &journal_get, p, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) != 1)
        rc = MSE_ERR_INTERNAL;
    if (rc == MSE_OK && !(*json = strdup(db_res_get(&res, 0, 0))))
        rc = MSE_ERR_NOMEM;
    db_res_clear(&res);
    return rc;
}

/* The id of the row with r's content; *created when this call wrote it. */
static enum mse_rc insert_row(struct db *db, const struct journal_record *r, char id[37],
                              bool *created, struct db_error *err)
{
    char size[24], date[40];
    struct db_res res;
    snprintf(size, sizeof(size), "%lld", (long long)r->size);
    db_param_time(r->has_date, r->date, date, sizeof(date));
    const char *p[] = { r->sha256,
                        size,
                        r->message_id,
                        r->subject,
                        r->from_address,
                        r->from_name,
                        r->to_json,
                        r->cc_json,
                        r->has_date ? date : NULL,
                        r->has_attachments ? "true" : "false",
                        r->body_text,
                        r->envelope_sender,
                        r->rcpts_json };
    enum mse_rc rc = db_query(db, &journal_insert, p, &res, err);
    *created = rc == MSE_OK && db_res_rows(&res) == 1;
    if (*created)
        snprintf(id, 37, "%s", db_res_get(&res, 0, 0));
    db_res_clear(&res);
    if (rc != MSE_OK || *created)
        return rc;
    const char *q[] = { r->sha256 };
    rc = db_query(db, &journal_existing, q, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) != 1)
        rc = MSE_ERR_INTERNAL;
    if (rc == MSE_OK)
        snprintf(id, 37, "%s", db_res_get(&res, 0, 0));
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_journal_insert(struct db *db, const struct journal_record *r, char id[37],
                              bool *created, char **json, struct db_error *err)
{
    char size[24];
    struct db_res res;
    *json = NULL;
    *created = false;
    snprintf(size, sizeof(size), "%lld", (long long)r->size);
    const char *b[] = { r->sha256, size, r->backend };
    enum mse_rc rc = db_query(db, &journal_blob, b, &res, err);
    db_res_clear(&res);
    if (rc == MSE_OK)
        rc = insert_row(db, r, id, created, err);
    if (rc == MSE_OK && *created) {
        const char *a[] = { id, r->candidates_json, r->internal_domains };
        rc = db_query(db, &journal_attribute, a, &res, err);
        db_res_clear(&res);
    }
    return rc == MSE_OK ? render(db, id, json, err) : rc;
}

enum mse_rc db_journal_search(struct db *db, const struct journal_search *s, char **items,
                              int64_t *last_key, bool *more, struct db_error *err)
{
    char after[40], before[40], cursor[24], rows[16];
    db_param_time(s->has_after, s->after, after, sizeof(after));
    db_param_time(s->has_before, s->before, before, sizeof(before));
    snprintf(cursor, sizeof(cursor), "%lld", (long long)s->cursor);
    snprintf(rows, sizeof(rows), "%u", s->limit + 1);
    const char *p[] = { s->q,
                        s->mailbox,
                        s->from,
                        s->to,
                        s->has_after ? after : NULL,
                        s->has_before ? before : NULL,
                        s->has_attachments,
                        s->has_cursor ? cursor : NULL,
                        rows,
                        s->folder,
                        s->all_versions ? "true" : "false" };
    return db_page_query(db, s->q ? &journal_search : &journal_search_filters, p, s->limit, items,
                         last_key, more, err);
}

enum mse_rc db_journal_content_find(struct db *db, const char *sha256, bool *found,
                                    struct db_error *err)
{
    struct db_res res;
    const char *p[] = { sha256 };
    enum mse_rc rc = db_query(db, &journal_content, p, &res, err);
    *found = rc == MSE_OK && db_res_rows(&res) == 1;
    db_res_clear(&res);
    return rc;
}
