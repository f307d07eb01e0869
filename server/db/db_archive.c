/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL of the archive view: replicated mailboxes with their counts, merged folders, messages,
 * appointments and attachment content, read in keyset pages and rendered by PostgreSQL.
 */
#include "db_archive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_util.h"

/*
 * Every task that replicates a mailbox keeps its own partition of it (schema 027); the view
 * shows, per feature, the partition written last. As scalar subqueries these are computed
 * once per statement; the cast keeps ANY () from reading the array as a subquery. $1 is the
 * mailbox in every statement that uses them.
 */
#define VIEW_PARTS    "((SELECT mse_view_partitions($1))::bigint[])"
#define VIEW_MAIL     "(SELECT mse_view_partition($1, 'mail'))"
#define VIEW_CALENDAR "(SELECT mse_view_partition($1, 'calendar'))"

/*
 * archive_folders keeps a row per feature that replicates a folder ('mail', 'calendar'). The
 * view shows one entry per folder id, described by its best row: a live one before a deleted
 * one, then the most recently written.
 */
#define BEST_FOLDER_ROW(parts, folder)                                                             \
    " FROM archive_folders f WHERE f.partition_id = ANY (" parts ") AND f.folder_id = " folder     \
    " ORDER BY f.deleted_at IS NULL DESC, f.updated_at DESC, f.seq DESC LIMIT 1"

/* The current path of the folder a record (alias r) is in, as the record's own partition has
 * it; NULL for a folder never listed. */
#define RECORD_FOLDER_PATH                                                                         \
    "(SELECT f.path FROM archive_folders f WHERE f.partition_id = r.partition_id"                  \
    " AND f.folder_id = r.folder_id)"

/* A mailbox (alias m) with its counts: folder rows are few, counts are kept by triggers. */
#define MAILBOX_JSON                                                                               \
    "json_build_object('address', m.address, 'folder_count', f.live,"                              \
    " 'deleted_folder_count', f.total - f.live, 'item_count', c.items,"                            \
    " 'deleted_item_count', c.deleted_items, 'appointment_count', c.appointments,"                 \
    " 'first_seen_at', mse_ts(m.first_seen_at), 'updated_at', mse_ts(m.updated_at),"               \
    " 'partitions', p.list)::text"
#define MAILBOX_FROM                                                                               \
    " FROM archive_mailboxes m CROSS JOIN LATERAL (SELECT mse_view_partitions(m.address)"          \
    " AS parts) v CROSS JOIN LATERAL (SELECT count(DISTINCT a.folder_id)"                          \
    " FILTER (WHERE a.deleted_at IS NULL) AS live, count(DISTINCT a.folder_id) AS total"           \
    " FROM archive_folders a WHERE a.partition_id = ANY (v.parts)) f"                              \
    " CROSS JOIN LATERAL (SELECT coalesce(sum(n.items), 0)::bigint AS items,"                      \
    " coalesce(sum(n.deleted_items), 0)::bigint AS deleted_items,"                                 \
    " coalesce(sum(n.appointments), 0)::bigint AS appointments"                                    \
    " FROM archive_folder_counts n WHERE n.partition_id = ANY (v.parts)) c"                        \
    " CROSS JOIN LATERAL (SELECT coalesce(json_agg(json_build_object('task_id', x.task_id,"        \
    " 'site_id', x.site_id, 'feature', x.feature, 'shown', x.id = ANY (v.parts),"                  \
    " 'written_at', mse_ts(x.written_at)) ORDER BY x.feature, x.written_at DESC, x.id DESC),"      \
    " '[]') AS list FROM archive_partitions x WHERE x.mailbox = m.address) p"

/* $1 prefix, $2 the seq of the previous page's last mailbox, $3 rows. */
DB_STMT(archive_mailbox_list, 3, true,
        "SELECT " MAILBOX_JSON ", m.seq" MAILBOX_FROM
        " WHERE ($1::text IS NULL OR starts_with(m.address, $1))"
        " AND ($2::bigint IS NULL OR m.address COLLATE \"C\" >"
        " (SELECT p.address FROM archive_mailboxes p WHERE p.seq = $2) COLLATE \"C\")"
        " ORDER BY m.address COLLATE \"C\" LIMIT $3");
DB_STMT(archive_mailbox_get, 1, true,
        "SELECT " MAILBOX_JSON ", m.seq" MAILBOX_FROM " WHERE m.address = $1");
DB_STMT(archive_mailbox_known, 1, true,
        "SELECT count(*) FROM archive_mailboxes WHERE address = $1");

/* A folder (anchored at alias x) described by its best row, and what all its rows say. */
#define FOLDER_BEST_ROW                                                                            \
    " CROSS JOIN LATERAL (SELECT f.*" BEST_FOLDER_ROW("v.parts", "x.folder_id") ") b"
#define FOLDER_ALL_ROWS                                                                            \
    " CROSS JOIN LATERAL (SELECT json_agg(f.source ORDER BY f.source) AS sources,"                 \
    " bool_or(f.deleted_at IS NULL) AS live, max(f.deleted_at) AS deleted_at,"                     \
    " max(f.updated_at) AS updated_at FROM archive_folders f"                                      \
    " WHERE f.partition_id = ANY (v.parts) AND f.folder_id = x.folder_id) s"

/* The view's partitions of $1 (v) and the page's folder anchors (x). */
#define FOLDER_ANCHORS                                                                             \
    "WITH v AS (SELECT " VIEW_PARTS " AS parts),"                                                  \
    " x AS (SELECT a.folder_id, a.seq FROM v, archive_folders a"                                   \
    " WHERE a.partition_id = ANY (v.parts) AND ($2::bigint IS NULL OR a.seq > $2)"                 \
    " AND NOT EXISTS (SELECT 1 FROM archive_folders o WHERE o.partition_id = ANY (v.parts)"        \
    " AND o.folder_id = a.folder_id AND o.seq < a.seq)"                                            \
    " AND ($3::boolean OR EXISTS (SELECT 1 FROM archive_folders l"                                 \
    " WHERE l.partition_id = ANY (v.parts) AND l.folder_id = a.folder_id"                          \
    " AND l.deleted_at IS NULL)) ORDER BY a.seq LIMIT $4)"
/* A folder's counts summed over the view's partitions. */
#define FOLDER_COUNTS                                                                              \
    " CROSS JOIN LATERAL (SELECT sum(n.items) AS items, sum(n.deleted_items) AS deleted_items,"    \
    " sum(n.appointments) AS appointments FROM archive_folder_counts n"                            \
    " WHERE n.partition_id = ANY (v.parts) AND n.folder_id = x.folder_id) c"
#define FOLDER_JSON                                                                                \
    "json_build_object('folder_id', x.folder_id, 'parent_folder_id', b.parent_folder_id,"          \
    " 'path', b.path, 'display_name', b.display_name, 'folder_class', b.folder_class,"             \
    " 'sources', s.sources, 'item_count', coalesce(c.items + c.appointments, 0),"                  \
    " 'deleted_item_count', coalesce(c.deleted_items, 0), 'deleted', NOT s.live,"                  \
    " 'deleted_at', CASE WHEN s.live THEN NULL ELSE mse_ts(s.deleted_at) END,"                     \
    " 'updated_at', mse_ts(s.updated_at))::text"

/*
 * A folder's anchor is its first row (lowest seq): rows are never deleted, so anchors are
 * stable keys for pages. $1 mailbox, $2 after, $3 include deleted, $4 rows.
 */
DB_STMT(archive_folder_list, 4, true,
        FOLDER_ANCHORS " SELECT " FOLDER_JSON
                       ", x.seq FROM v, x" FOLDER_BEST_ROW FOLDER_ALL_ROWS FOLDER_COUNTS
                       " ORDER BY x.seq");

/*
 * The folders a filter names ($2 folder id, $3 path; at least one set): an id alone needs no
 * folder row, so records of a folder the hierarchy never listed can still be found.
 */
#define FILTER_FOLDERS                                                                             \
    "WITH ids AS (SELECT $2::text AS folder_id WHERE $2::text IS NOT NULL AND $3::text IS NULL"    \
    " UNION SELECT f.folder_id FROM archive_folders f WHERE $3::text IS NOT NULL"                  \
    " AND f.partition_id = ANY " VIEW_PARTS " AND lower(f.path) = lower($3)"                       \
    " AND ($2::text IS NULL OR f.folder_id = $2)) "

/*
 * Where a message's content is downloaded (NULL without content). EWS ids hold '/', which a
 * path segment cannot carry even percent-encoded (the path is decoded before routing): it is
 * written '~', a character neither base64 alphabet uses, and read back by the route.
 */
#define ITEM_CONTENT_URL(alias)                                                                    \
    "CASE WHEN " alias ".content_sha256 IS NOT NULL THEN '/api/v1/mailboxes/' ||"                  \
    " mse_url_encode(r.mailbox, '@') || '/items/' || mse_url_encode(replace(r.item_id, '/',"       \
    " '~'), '~') || '/content' END"

#define ITEM_JSON                                                                                  \
    "json_build_object('item_id', r.item_id, 'folder_id', r.folder_id, "                           \
    "'folder_path', " RECORD_FOLDER_PATH                                                           \
    ", 'change_key', r.change_key, 'item_class', r.item_class,"                                    \
    " 'internet_message_id', r.internet_message_id, 'subject', r.subject,"                         \
    " 'sender', mse_person(r.sender), 'from', mse_person(r.\"from\"),"                             \
    " 'to', mse_people(r.to_recipients), 'cc', mse_people(r.cc_recipients),"                       \
    " 'sent', mse_ts(r.sent_at), 'received', mse_ts(r.received_at), 'size', r.size,"               \
    " 'is_read', r.is_read, 'sensitivity', r.sensitivity, 'has_attachments',"                      \
    " r.has_attachments, 'content_sha256', r.content_sha256, 'content_size', r.content_size,"      \
    " 'content_url', " ITEM_CONTENT_URL("r") ", 'deleted', r.deleted_at IS NOT NULL,"              \
                                             " 'deleted_at', mse_ts(r.deleted_at), 'updated_at', " \
                                             "mse_ts(r.updated_at))::text, r.seq"

/* $1 mailbox, $2 include deleted, $3 after, $4 rows. */
DB_STMT(archive_item_list, 4, true,
        "SELECT " ITEM_JSON " FROM archive_items r WHERE r.partition_id = " VIEW_MAIL
        " AND ($2::boolean OR r.deleted_at IS NULL) AND ($3::bigint IS NULL "
        "OR r.seq > $3)"
        " ORDER BY r.seq LIMIT $4");
/* $1 mailbox, $2 folder id, $3 folder path, $4 include deleted, $5 after, $6 rows. */
DB_STMT(archive_item_list_in, 6, true,
        FILTER_FOLDERS "SELECT " ITEM_JSON " FROM ids JOIN archive_items r"
                       " ON r.partition_id = " VIEW_MAIL
                       " AND r.folder_id = ids.folder_id WHERE ($4::boolean OR r.deleted_at "
                       "IS NULL)"
                       " AND ($5::bigint IS NULL OR r.seq > $5) ORDER BY r.seq LIMIT $6");

/*
 * A message as it was at t (alias v: its latest version begun by then, r: the item): present
 * when that version was still current, else deleted then, at its last-known folder.
 */
#define ITEM_AS_OF_JSON(t)                                                                         \
    "json_build_object('item_id', r.item_id, 'folder_id', v.folder_id,"                            \
    " 'folder_path', (SELECT f.path FROM archive_folder_versions f"                                \
    " WHERE f.partition_id = r.partition_id AND f.folder_id = v.folder_id"                         \
    " AND f.valid_from <= " t " ORDER BY f.valid_from DESC LIMIT 1),"                              \
    " 'change_key', NULL, 'item_class', v.item_class,"                                             \
    " 'internet_message_id', v.internet_message_id, 'subject', v.subject,"                         \
    " 'sender', mse_person(v.sender), 'from', mse_person(v.\"from\"),"                             \
    " 'to', mse_people(v.to_recipients), 'cc', mse_people(v.cc_recipients),"                       \
    " 'sent', mse_ts(v.sent_at), 'received', mse_ts(v.received_at), 'size', v.size,"               \
    " 'is_read', v.is_read, 'sensitivity', v.sensitivity, 'has_attachments',"                      \
    " v.has_attachments, 'content_sha256', v.content_sha256, 'content_size', v.content_size,"      \
    " 'content_url', " ITEM_CONTENT_URL(                                                           \
            "v") " || '?as_of=' || mse_url_encode(to_char(" t                                      \
                 " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), ''),"                 \
                 " 'deleted', coalesce(v.valid_to <= " t                                           \
                 ", false), 'deleted_at', CASE WHEN v.valid_to <= " t                              \
                 " THEN mse_ts(v.valid_to) END, 'updated_at', mse_ts(v.valid_from))::text, r.seq"
/* The latest version of item r begun by t. */
#define ITEM_VERSION_AT(t)                                                                         \
    " CROSS JOIN LATERAL (SELECT * FROM archive_item_versions x WHERE x.partition_id ="            \
    " r.partition_id AND x.item_id = r.item_id AND x.valid_from <= " t                             \
    " ORDER BY x.valid_from DESC LIMIT 1) v"

/* $1 mailbox, $2 include deleted, $3 after, $4 rows, $5 as of. */
DB_STMT(archive_item_list_as_of, 5, true,
        "SELECT " ITEM_AS_OF_JSON("$5::timestamptz") " FROM archive_items r" ITEM_VERSION_AT(
                "$5::timestamptz") " WHERE r.partition_id = " VIEW_MAIL
                                   " AND ($2::boolean OR v.valid_to IS NULL OR v.valid_to > "
                                   "$5::timestamptz)"
                                   " AND ($3::bigint IS NULL OR r.seq > $3) ORDER BY r.seq LIMIT "
                                   "$4");
/* $1 mailbox, $2 folder id, $3 folder path, $4 include deleted, $5 after, $6 rows, $7 as of. */
DB_STMT(archive_item_list_in_as_of, 7, true,
        FILTER_FOLDERS
        "SELECT " ITEM_AS_OF_JSON("$7::timestamptz") " FROM archive_items r" ITEM_VERSION_AT(
                "$7::timestamptz") " JOIN ids ON ids.folder_id = v.folder_id"
                                   " WHERE r.partition_id = " VIEW_MAIL
                                   " AND ($4::boolean OR v.valid_to IS NULL OR v.valid_to > "
                                   "$7::timestamptz)"
                                   " AND ($5::bigint IS NULL OR r.seq > $5) ORDER BY r.seq LIMIT "
                                   "$6");

/* The content of item $2 now, or with $3 as it was then. */
DB_STMT(archive_item_content, 3, true,
        "SELECT CASE WHEN $3::timestamptz IS NULL THEN r.content_sha256 ELSE (SELECT"
        " x.content_sha256 FROM archive_item_versions x WHERE x.partition_id = r.partition_id"
        " AND x.item_id = r.item_id AND x.valid_from <= $3::timestamptz"
        " AND (x.valid_to IS NULL OR x.valid_to > $3::timestamptz)) END"
        " FROM archive_items r WHERE r.partition_id = " VIEW_MAIL " AND r.item_id = $2");

/*
 * Folders as they were at $5: those with a version current then (with $3, also those deleted
 * by then, marked), each described by its latest version begun by then (the mail feature's
 * first), their messages counted from the messages' versions. Appointments have no versions:
 * a past listing counts messages only.
 */
#define FOLDER_BEGUN(alias, t)                                                                     \
    alias ".partition_id = ANY (v.parts) AND " alias ".folder_id = x.folder_id AND " alias         \
          ".valid_from <= " t
#define FOLDER_AT(alias, t)                                                                        \
    FOLDER_BEGUN(alias, t) " AND (" alias ".valid_to IS NULL OR " alias ".valid_to > " t ")"
DB_STMT(archive_folder_list_as_of, 5, true,
        "WITH v AS (SELECT " VIEW_PARTS " AS parts),"
        " x AS (SELECT a.folder_id, a.seq FROM v, archive_folders a"
        " WHERE a.partition_id = ANY (v.parts) AND ($2::bigint IS NULL OR a.seq > $2)"
        " AND NOT EXISTS (SELECT 1 FROM archive_folders o WHERE o.partition_id = ANY (v.parts)"
        " AND o.folder_id = a.folder_id AND o.seq < a.seq)"
        " AND EXISTS (SELECT 1 FROM archive_folder_versions f WHERE f.partition_id = ANY (v.parts)"
        " AND f.folder_id = a.folder_id AND f.valid_from <= $5::timestamptz"
        " AND ($3::boolean OR f.valid_to IS NULL OR f.valid_to > $5::timestamptz))"
        " ORDER BY a.seq LIMIT $4),"
        " y AS (SELECT x.folder_id, x.seq, EXISTS (SELECT 1 FROM v, archive_folder_versions f"
        " WHERE " FOLDER_AT(
                "f",
                "$5::timestamptz") ") AS live FROM x)"
                                   " SELECT json_build_object('folder_id', x.folder_id, "
                                   "'parent_folder_id',"
                                   " b.parent_folder_id, 'path', b.path, 'display_name', "
                                   "b.display_name, 'folder_class',"
                                   " b.folder_class, 'sources', (SELECT json_agg(DISTINCT "
                                   "f.source) FROM"
                                   " archive_folder_versions f WHERE " FOLDER_BEGUN(
                                           "f",
                                           "$5::timestamptz") "),"
                                                              " 'item_count', (SELECT count(*) "
                                                              "FROM archive_item_versions i "
                                                              "WHERE " FOLDER_AT(
                                                                      "i",
                                                                      "$5::timestamptz") "),"
                                                                                         " '"
                                                                                         "deleted_"
                                                                                         "item_"
                                                                                         "count', "
                                                                                         "(SELECT "
                                                                                         "count(*) "
                                                                                         "FROM "
                                                                                         "archive_"
                                                                                         "item_"
                                                                                         "versions "
                                                                                         "i"
                                                                                         " WHERE "
                                                                                         "i."
                                                                                         "partition"
                                                                                         "_id = "
                                                                                         "ANY "
                                                                                         "(v.parts)"
                                                                                         " AND "
                                                                                         "i.folder_"
                                                                                         "id = "
                                                                                         "x.folder_"
                                                                                         "id"
                                                                                         " AND "
                                                                                         "i.valid_"
                                                                                         "to <= "
                                                                                         "$5::"
                                                                                         "timestamp"
                                                                                         "tz AND "
                                                                                         "NOT "
                                                                                         "EXISTS "
                                                                                         "(SELECT "
                                                                                         "1 FROM "
                                                                                         "archive_"
                                                                                         "item_"
                                                                                         "versions "
                                                                                         "n"
                                                                                         " WHERE "
                                                                                         "n."
                                                                                         "partition"
                                                                                         "_id = "
                                                                                         "i."
                                                                                         "partition"
                                                                                         "_id AND "
                                                                                         "n.item_"
                                                                                         "id = "
                                                                                         "i.item_id"
                                                                                         " AND "
                                                                                         "n.valid_"
                                                                                         "from >= "
                                                                                         "i.valid_"
                                                                                         "to AND "
                                                                                         "n.valid_"
                                                                                         "from <= "
                                                                                         "$5::"
                                                                                         "timestamp"
                                                                                         "tz)),"
                                                                                         " '"
                                                                                         "deleted',"
                                                                                         " NOT "
                                                                                         "x.live, "
                                                                                         "'deleted_"
                                                                                         "at', "
                                                                                         "CASE "
                                                                                         "WHEN "
                                                                                         "x.live "
                                                                                         "THEN NULL"
                                                                                         " ELSE "
                                                                                         "mse_ts(b."
                                                                                         "valid_to)"
                                                                                         " END, "
                                                                                         "'updated_"
                                                                                         "at', "
                                                                                         "mse_ts(b."
                                                                                         "valid_"
                                                                                         "from))::"
                                                                                         "text, "
                                                                                         "x.seq"
                                                                                         " FROM v, "
                                                                                         "y x "
                                                                                         "CROSS "
                                                                                         "JOIN "
                                                                                         "LATERAL "
                                                                                         "(SELECT "
                                                                                         "f.* FROM "
                                                                                         "archive_"
                                                                                         "folder_"
                                                                                         "versions "
                                                                                         "f "
                                                                                         "WHERE"
                                                                                         " " FOLDER_BEGUN(
                                                                                                 "f",
                                                                                                 "$"
                                                                                                 "5"
                                                                                                 ":"
                                                                                                 ":"
                                                                                                 "t"
                                                                                                 "i"
                                                                                                 "m"
                                                                                                 "e"
                                                                                                 "s"
                                                                                                 "t"
                                                                                                 "a"
                                                                                                 "m"
                                                                                                 "p"
                                                                                                 "t"
                                                                                                 "z") " ORDER BY f.source = 'mail' DESC,"
                                                                                                      " f.valid_from DESC LIMIT 1) b ORDER BY x.seq");

#define APPOINTMENT_JSON                                                                           \
    "json_build_object('item_id', r.item_id, 'folder_id', r.folder_id, "                           \
    "'folder_path', " RECORD_FOLDER_PATH                                                           \
    ", 'change_key', r.change_key, 'item_class', r.item_class,"                                    \
    " 'uid', r.uid, 'subject', r.subject, 'start', mse_ts(r.start_at), 'end',"                     \
    " mse_ts(r.end_at), 'is_all_day', r.is_all_day, 'location', r.location,"                       \
    " 'organizer', mse_person(r.organizer),"                                                       \
    " 'required_attendees', mse_people(r.required_attendees),"                                     \
    " 'optional_attendees', mse_people(r.optional_attendees),"                                     \
    " 'calendar_item_type', r.calendar_item_type, 'is_recurring', r.is_recurring,"                 \
    " 'recurrence', mse_recurrence(r.recurrence),"                                                 \
    " 'modified_occurrences', mse_modified_occurrences(r.modified_occurrences),"                   \
    " 'deleted_occurrences', mse_deleted_occurrences(r.deleted_occurrences),"                      \
    " 'sensitivity', r.sensitivity, 'has_attachments', r.has_attachments,"                         \
    " 'attachments', mse_attachments(r.mailbox, r.attachments),"                                   \
    " 'updated_at', mse_ts(r.updated_at))::text, r.seq"

/*
 * Overlap with [from, to): an appointment's own times first (cheap, most rows), a series'
 * span only for the recurring masters that are left. A zero-length appointment at from
 * overlaps.
 */
#define APPOINTMENT_RANGE(from, to)                                                                \
    " AND (" from "::timestamptz IS NULL OR r.end_at > " from " OR r.start_at >= " from            \
    " OR (r.calendar_item_type = 'RecurringMaster' AND mse_series_end(r.start_at, r.end_at,"       \
    " r.recurrence, r.modified_occurrences) > " from "))"                                          \
    " AND (" to "::timestamptz IS NULL OR r.start_at < " to " OR (r.calendar_item_type ="          \
    " 'RecurringMaster' AND mse_series_start(r.start_at, r.modified_occurrences) < " to "))"

/* $1 mailbox, $2 from, $3 to, $4 after, $5 rows. */
DB_STMT(archive_appointment_list, 5, true,
        "SELECT " APPOINTMENT_JSON
        " FROM archive_appointments r WHERE r.partition_id = " VIEW_CALENDAR APPOINTMENT_RANGE(
                "$2", "$3") " AND ($4::bigint IS NULL OR r.seq > $4)"
                            " ORDER BY r.seq LIMIT $5");
/* $1 mailbox, $2 folder id, $3 folder path, $4 from, $5 to, $6 after, $7 rows. */
DB_STMT(archive_appointment_list_in, 7, true,
        FILTER_FOLDERS
        "SELECT " APPOINTMENT_JSON " FROM ids JOIN archive_appointments r"
        " ON r.partition_id = " VIEW_CALENDAR " AND r.folder_id = ids.folder_id"
        " WHERE true" APPOINTMENT_RANGE("$4", "$5") " AND ($6::bigint IS NULL OR r.seq > $6)"
                                                    " ORDER BY r.seq LIMIT $7");

/* The GIN index on attachments finds the few appointments that reference the content. */
DB_STMT(archive_attachment_find, 3, true,
        "SELECT t.x ->> 'name', t.x ->> 'content_type' FROM archive_appointments a"
        " CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(a.attachments) = 'array'"
        " THEN a.attachments ELSE '[]' END) WITH ORDINALITY AS t (x, n)"
        " WHERE a.partition_id = " VIEW_CALENDAR
        " AND a.attachments @> jsonb_build_array(jsonb_build_object("
        "'sha256', $2::text)) AND t.x ->> 'sha256' = $2"
        " AND ($3::text IS NULL OR t.x ->> 'attachment_id' = $3) ORDER "
        "BY a.seq, t.n LIMIT 1");

/* Formats a page's keyset parameters: after (empty when none) and limit + 1 rows. */
static void page_params(bool has_after, int64_t after, unsigned limit, char after_s[24],
                        char rows_s[16])
{
    after_s[0] = '\0';
    if (has_after)
        snprintf(after_s, 24, "%lld", (long long)after);
    snprintf(rows_s, 16, "%u", limit + 1);
}

enum mse_rc db_archive_mailbox_list(struct db *db, const char *prefix, bool has_after,
                                    int64_t after, unsigned limit, char **items, int64_t *last_seq,
                                    bool *more, struct db_error *err)
{
    char after_s[24], rows_s[16];
    page_params(has_after, after, limit, after_s, rows_s);
    const char *params[] = { prefix, has_after ? after_s : NULL, rows_s };
    return db_page_query(db, &archive_mailbox_list, params, limit, items, last_seq, more, err);
}

enum mse_rc db_archive_mailbox_get(struct db *db, const char *address, char **json,
                                   struct db_error *err)
{
    struct db_doc doc;
    const char *params[] = { address };
    enum mse_rc rc = db_doc_query(db, &archive_mailbox_get, params, &doc, err);
    *json = rc == MSE_OK ? doc.json : NULL;
    return rc;
}

enum mse_rc db_archive_mailbox_known(struct db *db, const char *address, bool *known,
                                     struct db_error *err)
{
    int64_t n = 0;
    const char *params[] = { address };
    enum mse_rc rc = db_int_query(db, &archive_mailbox_known, params, &n, err);
    *known = rc == MSE_OK && n == 1;
    return rc;
}

enum mse_rc db_archive_folder_list(struct db *db, const struct archive_query *q, char **items,
                                   int64_t *last_seq, bool *more, struct db_error *err)
{
    char after_s[24], rows_s[16];
    page_params(q->has_after, q->after, q->limit, after_s, rows_s);
    const char *params[] = { q->address, q->has_after ? after_s : NULL,
                             q->include_deleted ? "true" : "false", rows_s, q->as_of };
    return db_page_query(db, q->as_of ? &archive_folder_list_as_of : &archive_folder_list, params,
                         q->limit, items, last_seq, more, err);
}

enum mse_rc db_archive_item_list(struct db *db, const struct archive_query *q, char **items,
                                 int64_t *last_seq, bool *more, struct db_error *err)
{
    char after_s[24], rows_s[16];
    page_params(q->has_after, q->after, q->limit, after_s, rows_s);
    const char *deleted = q->include_deleted ? "true" : "false";
    const char *after = q->has_after ? after_s : NULL;
    if (!q->folder_id && !q->folder_path) {
        const char *all[] = { q->address, deleted, after, rows_s, q->as_of };
        return db_page_query(db, q->as_of ? &archive_item_list_as_of : &archive_item_list, all,
                             q->limit, items, last_seq, more, err);
    }
    const char *in[] = {
        q->address, q->folder_id, q->folder_path, deleted, after, rows_s, q->as_of
    };
    return db_page_query(db, q->as_of ? &archive_item_list_in_as_of : &archive_item_list_in, in,
                         q->limit, items, last_seq, more, err);
}

enum mse_rc db_archive_appointment_list(struct db *db, const struct archive_query *q, char **items,
                                        int64_t *last_seq, bool *more, struct db_error *err)
{
    char after_s[24], rows_s[16], from_s[40], to_s[40];
    page_params(q->has_after, q->after, q->limit, after_s, rows_s);
    db_param_time(q->has_from, q->from, from_s, sizeof(from_s));
    db_param_time(q->has_to, q->to, to_s, sizeof(to_s));
    const char *from = q->has_from ? from_s : NULL, *to = q->has_to ? to_s : NULL;
    const char *after = q->has_after ? after_s : NULL;
    if (!q->folder_id && !q->folder_path) {
        const char *all[] = { q->address, from, to, after, rows_s };
        return db_page_query(db, &archive_appointment_list, all, q->limit, items, last_seq, more,
                             err);
    }
    const char *in[] = { q->address, q->folder_id, q->folder_path, from, to, after, rows_s };
    return db_page_query(db, &archive_appointment_list_in, in, q->limit, items, last_seq, more,
                         err);
}

enum mse_rc db_archive_item_content(struct db *db, const char *address, const char *item_id,
                                    const char *as_of, char sha256[65], struct db_error *err)
{
    struct db_res res;
    const char *params[] = { address, item_id, as_of };
    sha256[0] = '\0';
    enum mse_rc rc = db_query(db, &archive_item_content, params, &res, err);
    if (rc == MSE_OK && (db_res_rows(&res) != 1 || !db_res_get(&res, 0, 0)))
        rc = MSE_ERR_NOT_FOUND;
    if (rc == MSE_OK)
        snprintf(sha256, 65, "%s", db_res_get(&res, 0, 0));
    db_res_clear(&res);
    return rc;
}

void archive_attachment_cleanup(struct archive_attachment *a)
{
    if (!a)
        return;
    free(a->name);
    free(a->content_type);
    a->name = a->content_type = NULL;
}

/* A copy of a nullable cell; false when out of memory. */
static bool cell_dup(const struct db_res *res, int col, char **out)
{
    const char *v = db_res_get(res, 0, col);
    *out = v ? strdup(v) : NULL;
    return !v || *out;
}

enum mse_rc db_archive_attachment_find(struct db *db, const char *address, const char *sha256,
                                       const char *attachment_id, struct archive_attachment *out,
                                       struct db_error *err)
{
    struct db_res res;
    const char *params[] = { address, sha256, attachment_id };
    out->name = out->content_type = NULL;
    enum mse_rc rc = db_query(db, &archive_attachment_find, params, &res, err);
    if (rc != MSE_OK)
        return rc;
    rc = MSE_ERR_NOT_FOUND;
    if (db_res_rows(&res) == 1) {
        rc = cell_dup(&res, 0, &out->name) && cell_dup(&res, 1, &out->content_type) ? MSE_OK
                                                                                    : MSE_ERR_NOMEM;
    }
    db_res_clear(&res);
    if (rc != MSE_OK)
        archive_attachment_cleanup(out);
    return rc;
}
