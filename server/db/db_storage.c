/* SPDX-License-Identifier: Apache-2.0 */
/* SQL of Mailbox Storage Management: the archive's confirmation of candidates (schema 047). */
#include "db_storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db_util.h"

/*
 * Where one candidate (alias c: mid, sha, snd) is archived, best first: rank 0 in this
 * mailbox's own archive, 1 elsewhere but addressed to or from the mailbox's user (an archived
 * copy naming them, or a journaled message attributed to them), 2 elsewhere only. A content
 * hash, when given, decides alone; else the Message-ID, with the From address when the worker
 * gave one (so that a reused Message-ID of another sender confirms nothing). Only content the
 * blob store still records counts. Each branch has its index (archive_items_content,
 * archive_items_message_id, the journal's sha256 and message_id).
 */
#define CANDIDATE_MATCH                                                                            \
    "SELECT y.sha, y.rank FROM ("                                                                  \
    " SELECT i.content_sha256 AS sha, CASE WHEN i.mailbox = $4 THEN 0 WHEN"                        \
    "  mse_archive_addressed(i.sender, i.\"from\", i.to_recipients || i.cc_recipients, $4)"        \
    "  THEN 1 ELSE 2 END AS rank"                                                                  \
    "  FROM archive_items i WHERE i.content_sha256 = c.sha"                                        \
    " UNION ALL SELECT i.content_sha256, CASE WHEN i.mailbox = $4 THEN 0 WHEN"                     \
    "  mse_archive_addressed(i.sender, i.\"from\", i.to_recipients || i.cc_recipients, $4)"        \
    "  THEN 1 ELSE 2 END"                                                                          \
    "  FROM archive_items i WHERE c.sha IS NULL AND i.internet_message_id = c.mid"                 \
    "  AND i.content_sha256 IS NOT NULL AND (c.snd IS NULL"                                        \
    "  OR c.snd IN (lower(i.\"from\"->>'email'), lower(i.sender->>'email')))"                      \
    " UNION ALL SELECT j.sha256, CASE WHEN EXISTS (SELECT 1 FROM journal_mailboxes a"              \
    "  WHERE a.message = j.id AND a.address = $4) THEN 1 ELSE 2 END"                               \
    "  FROM journal_messages j WHERE j.sha256 = c.sha"                                             \
    " UNION ALL SELECT j.sha256, CASE WHEN EXISTS (SELECT 1 FROM journal_mailboxes a"              \
    "  WHERE a.message = j.id AND a.address = $4) THEN 1 ELSE 2 END"                               \
    "  FROM journal_messages j WHERE c.sha IS NULL AND j.message_id = btrim(c.mid, '<>')"          \
    "  AND (c.snd IS NULL OR c.snd = j.from_address)"                                              \
    ") y WHERE EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = y.sha) ORDER BY y.rank LIMIT 1"

/*
 * One round trip: the fence, the lock, and every candidate ($5..$7: text[] of Message-IDs,
 * hashes and senders, NULL where unknown) answered in request order.
 */
DB_STMT(storage_confirm, 7, true,
        "WITH x AS (SELECT e.id FROM executions e WHERE " DB_EXEC_FENCE "),"
        " l AS (SELECT 1 FROM mailbox_locks k JOIN x ON k.execution_id = x.id"
        " WHERE k.address = $4),"
        " c AS (SELECT u.n, u.mid, u.sha, u.snd"
        " FROM unnest($5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS u(mid, sha, snd, n)"
        " WHERE EXISTS (SELECT 1 FROM l))"
        " SELECT EXISTS (SELECT 1 FROM x), EXISTS (SELECT 1 FROM l),"
        " (SELECT coalesce(json_agg(json_build_object('outcome', CASE WHEN m.rank < 2"
        " THEN 'confirmed' WHEN m.rank = 2 THEN 'no_permission' ELSE 'not_archived' END,"
        " 'content_sha256', CASE WHEN m.rank < 2 THEN m.sha END) ORDER BY c.n), '[]')::text"
        " FROM c LEFT JOIN LATERAL (" CANDIDATE_MATCH ") m ON true)");

/* Appends s to a PostgreSQL array literal as a quoted element (NULL: the NULL element). */
static bool array_add(struct mse_buf *b, bool first, const char *s)
{
    if (!first && mse_buf_puts(b, ",") != MSE_OK)
        return false;
    if (!s)
        return mse_buf_puts(b, "NULL") == MSE_OK;
    if (mse_buf_puts(b, "\"") != MSE_OK)
        return false;
    for (const char *p = s; *p; p++) {
        if ((*p == '"' || *p == '\\') && mse_buf_puts(b, "\\") != MSE_OK)
            return false;
        if (mse_buf_append(b, p, 1) != MSE_OK)
            return false;
    }
    return mse_buf_puts(b, "\"") == MSE_OK;
}

/* The three array literals of the candidates. */
static bool candidate_arrays(const struct storage_candidate *c, size_t n, struct mse_buf a[3])
{
    bool ok = true;
    for (int k = 0; k < 3 && ok; k++)
        ok = mse_buf_puts(&a[k], "{") == MSE_OK;
    for (size_t i = 0; i < n && ok; i++)
        ok = array_add(&a[0], i == 0, c[i].message_id) && array_add(&a[1], i == 0, c[i].sha256) &&
             array_add(&a[2], i == 0, c[i].sender);
    for (int k = 0; k < 3 && ok; k++)
        ok = mse_buf_puts(&a[k], "}") == MSE_OK;
    return ok;
}

enum mse_rc db_storage_confirm(struct db *db, const struct fence *f, const char *mailbox,
                               const struct storage_candidate *c, size_t n, char **json,
                               enum exec_outcome *out, struct db_error *err)
{
    struct mse_buf a[3];
    struct db_res res;
    enum mse_rc rc = MSE_ERR_NOMEM;
    *json = NULL;
    *out = EXO_DONE;
    for (int k = 0; k < 3; k++)
        mse_buf_init(&a[k], SIZE_MAX / 2);
    if (!candidate_arrays(c, n, a))
        goto out;
    const char *p[] = { f->execution_id, f->site_id, f->token, mailbox,
                        a[0].data,       a[1].data,  a[2].data };
    rc = db_query(db, &storage_confirm, p, &res, err);
    if (rc != MSE_OK)
        goto out;
    bool fenced = db_res_rows(&res) == 1 && !strcmp(db_res_get(&res, 0, 0), "t");
    bool locked = fenced && !strcmp(db_res_get(&res, 0, 1), "t");
    if (locked && db_res_get(&res, 0, 2) && !(*json = strdup(db_res_get(&res, 0, 2))))
        rc = MSE_ERR_NOMEM;
    db_res_clear(&res);
    if (rc == MSE_OK && !fenced)
        rc = db_exec_fence_failure(db, f, out, err);
    else if (rc == MSE_OK && !locked)
        *out = EXO_NOT_LOCKED;
out:
    for (int k = 0; k < 3; k++)
        mse_buf_cleanup(&a[k]);
    return rc;
}

DB_STMT(storage_set_report, 1, false,
        "INSERT INTO storage_executions (execution_id, mode) SELECT e.id, 'report'"
        " FROM executions e JOIN exchange_tasks t ON t.id = e.task_id"
        " WHERE e.id = $1::uuid AND t.type = 'mailbox_storage_management'"
        " RETURNING 1");
DB_STMT(storage_mode, 1, true,
        "SELECT coalesce((SELECT mode FROM storage_executions WHERE execution_id = $1::uuid),"
        " 'run')");
DB_STMT(storage_report_put, 5, false,
        "WITH x AS (SELECT e.id FROM executions e WHERE " DB_EXEC_FENCE "),"
        " l AS (SELECT k.execution_id FROM mailbox_locks k JOIN x ON k.execution_id = x.id"
        " WHERE k.address = $4),"
        " w AS (INSERT INTO storage_reports (execution_id, mailbox, report)"
        " SELECT l.execution_id, $4, $5::jsonb FROM l"
        " ON CONFLICT (execution_id, mailbox) DO UPDATE SET report = EXCLUDED.report,"
        " reported_at = now() RETURNING 1)"
        " SELECT EXISTS (SELECT 1 FROM x), EXISTS (SELECT 1 FROM w)");
DB_STMT(storage_reports_page, 3, true,
        "SELECT json_build_object('mailbox', r.mailbox, 'reported_at', mse_ts(r.reported_at),"
        " 'report', r.report)::text, r.seq FROM storage_reports r WHERE r.execution_id = $1::uuid"
        " AND ($2::bigint IS NULL OR r.seq > $2::bigint) ORDER BY r.seq LIMIT $3::int");

enum mse_rc db_storage_set_report(struct db *db, const char *execution_id, bool *ok,
                                  struct db_error *err)
{
    struct db_res res;
    const char *p[] = { execution_id };
    enum mse_rc rc = db_query(db, &storage_set_report, p, &res, err);
    *ok = rc == MSE_OK && db_res_rows(&res) == 1;
    if (rc == MSE_OK)
        db_res_clear(&res);
    return rc;
}

enum mse_rc db_storage_mode(struct db *db, const char *execution_id, char mode[8],
                            struct db_error *err)
{
    struct db_res res;
    const char *p[] = { execution_id };
    enum mse_rc rc = db_query(db, &storage_mode, p, &res, err);
    if (rc != MSE_OK)
        return rc;
    snprintf(mode, 8, "%s", db_res_rows(&res) == 1 ? db_res_get(&res, 0, 0) : "run");
    db_res_clear(&res);
    return MSE_OK;
}

enum mse_rc db_storage_report_put(struct db *db, const struct fence *f, const char *mailbox,
                                  const char *report, enum exec_outcome *out, struct db_error *err)
{
    struct db_res res;
    const char *p[] = { f->execution_id, f->site_id, f->token, mailbox, report };
    *out = EXO_DONE;
    enum mse_rc rc = db_query(db, &storage_report_put, p, &res, err);
    if (rc != MSE_OK)
        return rc;
    bool fenced = db_res_rows(&res) == 1 && !strcmp(db_res_get(&res, 0, 0), "t");
    bool written = fenced && !strcmp(db_res_get(&res, 0, 1), "t");
    db_res_clear(&res);
    if (!fenced)
        return db_exec_fence_failure(db, f, out, err);
    if (!written)
        *out = EXO_NOT_LOCKED;
    return MSE_OK;
}

enum mse_rc db_storage_reports(struct db *db, const char *execution_id, bool has_after,
                               int64_t after, unsigned limit, char **items, int64_t *last_seq,
                               bool *more, struct db_error *err)
{
    char a[24], l[16];
    snprintf(a, sizeof(a), "%lld", (long long)after);
    snprintf(l, sizeof(l), "%u", limit + 1);
    const char *p[] = { execution_id, has_after ? a : NULL, l };
    return db_page_query(db, &storage_reports_page, p, limit, items, last_seq, more, err);
}
