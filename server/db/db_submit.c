/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL that applies a worker's batch to the archive together with the checkpoint it leads to:
 * multi-row statements over the batch's JSON arrays, one transaction, exactly once.
 */
#include "db_submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db_util.h"

/*
 * Parameters shared by the record statements: $1 the archive partition of the submitting
 * execution's (site, task, mailbox, feature), $2 records, $3 folder, $4 epoch, $5 mailbox.
 * Every statement that reads or writes archive rows is confined to $1 (schema 027): a batch
 * can never reach rows another task, or another site, archived. Every field the batch format
 * allows to be null or absent has a value here that the table's constraints accept: a record
 * without folder_id belongs to the batch's folder.
 */

DB_STMT(submit_replayed, 2, false,
        "SELECT sequence FROM applied_batches WHERE execution_id = $1::uuid"
        " AND batch_id = $2::uuid");
DB_STMT(submit_locked, 2, false,
        "SELECT count(*) FROM mailbox_locks WHERE address = $1 AND execution_id = $2::uuid");
DB_STMT(submit_checkpoint, 4, false,
        "SELECT state, full_pass_epoch FROM sync_checkpoints WHERE site_id = $1::uuid"
        " AND task_id = $2::uuid AND mailbox = $3 AND scope = $4 FOR UPDATE");
/* Content is referenced only once this site has uploaded it (blob_holders, schema 027). */
DB_STMT(submit_missing_blob, 2, false,
        "SELECT h FROM unnest($2::text[]) AS h WHERE NOT EXISTS"
        " (SELECT 1 FROM blob_holders b WHERE b.site_id = $1::uuid AND b.sha256 = h) LIMIT 1");
/*
 * Marks the content the batch references as referenced, so that the collector of unreferenced
 * uploads leaves it alone from now on. Locks in address order (two batches naming the same new
 * blobs must not deadlock); a row the collector holds is waited for, then found gone, and the
 * missing check that follows names it.
 */
DB_STMT(submit_reference_blobs, 1, false,
        "UPDATE blobs SET referenced_at = now() WHERE sha256 IN (SELECT sha256 FROM blobs"
        " WHERE sha256 = ANY($1::text[]) AND referenced_at IS NULL ORDER BY sha256"
        " FOR NO KEY UPDATE)");
/*
 * Content referenced before is locked too, shared, until the batch commits: retention deletes
 * a content row only after locking it FOR UPDATE and finding nothing that references it, so
 * it waits for this batch and then sees its records; once retention has deleted the row, the
 * check that follows this lock finds the content gone (blob_holders go with the row).
 */
DB_STMT(submit_lock_blobs, 1, false,
        "SELECT 1 FROM blobs WHERE sha256 = ANY($1::text[]) ORDER BY sha256 FOR KEY SHARE");
/* The first item (0-based) whose message content this site has not uploaded (F7's rule). */
DB_STMT(submit_content_unheld, 2, false,
        "SELECT u.n - 1 FROM unnest($2::text[]) WITH ORDINALITY AS u (h, n) WHERE u.h IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM blob_holders b WHERE b.site_id = $1::uuid"
        " AND b.sha256 = u.h) ORDER BY u.n LIMIT 1");
DB_STMT(submit_epoch, 0, false, "SELECT nextval('mse_pass_epoch')");
DB_STMT(submit_mailbox, 1, false,
        "INSERT INTO archive_mailboxes (address) VALUES ($1) ON CONFLICT (address)"
        " DO UPDATE SET updated_at = now()");
DB_STMT(submit_partition, 4, false,
        "INSERT INTO archive_partitions AS p (mailbox, site_id, task_id, feature)"
        " VALUES ($1, $2::uuid, $3::uuid, $4)"
        " ON CONFLICT (site_id, task_id, mailbox, feature) DO UPDATE SET written_at = now()"
        " RETURNING p.id");

/* Folders of one feature ($3 source, $4 mailbox): upserts, then deletions (kept, marked). */
DB_STMT(submit_folders_upsert, 4, false,
        "INSERT INTO archive_folders AS a (partition_id, mailbox, source, folder_id,"
        " parent_folder_id, display_name, folder_class, path, deleted_at, updated_at)"
        " SELECT DISTINCT ON (r.folder_id) $1::bigint, $4, $3, r.folder_id, r.parent_folder_id,"
        " coalesce(r.display_name, ''), r.folder_class,"
        " coalesce(r.path, '/' || coalesce(r.display_name, '')),"
        " NULL, now()"
        " FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e (rec, n),"
        " jsonb_to_record(e.rec) AS r (folder_id text,"
        " parent_folder_id text, display_name text, folder_class text, path text, change text)"
        " WHERE r.change = 'upsert' ORDER BY r.folder_id, e.n DESC"
        " ON CONFLICT (partition_id, folder_id) DO UPDATE SET"
        " parent_folder_id = EXCLUDED.parent_folder_id, display_name = EXCLUDED.display_name,"
        " folder_class = EXCLUDED.folder_class, path = EXCLUDED.path, deleted_at = NULL,"
        " updated_at = now()");
DB_STMT(submit_folders_delete, 2, false,
        "UPDATE archive_folders a SET deleted_at = coalesce(a.deleted_at, now()), updated_at = "
        "now()"
        " FROM jsonb_to_recordset($2::jsonb) AS r (folder_id text, change text)"
        " WHERE r.change = 'delete' AND a.partition_id = $1::bigint"
        " AND a.folder_id = r.folder_id");
/* A folder gone from the replica takes its messages along (kept, marked deleted). */
DB_STMT(submit_folders_items_gone, 2, false,
        "UPDATE archive_items a SET deleted_at = now(), updated_at = now()"
        " FROM jsonb_to_recordset($2::jsonb) AS r (folder_id text, change text)"
        " WHERE r.change = 'delete' AND a.partition_id = $1::bigint"
        " AND a.folder_id = r.folder_id AND a.deleted_at IS NULL");
/* A calendar gone from Exchange takes its appointments out of the replica. */
DB_STMT(submit_folders_appointments_gone, 2, false,
        "DELETE FROM archive_appointments a USING jsonb_to_recordset($2::jsonb) AS r (folder_id"
        " text, change text) WHERE r.change = 'delete' AND a.partition_id = $1::bigint"
        " AND a.folder_id = r.folder_id");
DB_STMT(submit_folders_checkpoints_gone, 4, false,
        "DELETE FROM sync_checkpoints c USING jsonb_to_recordset($4::jsonb) AS r (folder_id text,"
        " change text) WHERE r.change = 'delete' AND c.site_id = $1::uuid"
        " AND c.task_id = $2::uuid AND c.mailbox = $3 AND c.scope = r.folder_id");

DB_STMT(submit_items_upsert, 5, false,
        "INSERT INTO archive_items AS a (partition_id, mailbox, item_id, folder_id, change_key, "
        "item_class,"
        " internet_message_id, subject, sender, \"from\", to_recipients, cc_recipients, sent_at,"
        " received_at, size, is_read, sensitivity, has_attachments, deleted_at, pass_epoch,"
        " updated_at, content_sha256, content_size)"
        " SELECT DISTINCT ON (r.item_id) $1::bigint, $5, r.item_id, coalesce(r.folder_id, $3),"
        " r.change_key, r.item_class, r.internet_message_id, r.subject, r.sender, r.\"from\","
        " coalesce(r.\"to\", '[]'), coalesce(r.cc, '[]'), r.sent, r.received, r.size,"
        " r.is_read, r.sensitivity,"
        " r.has_attachments, NULL, $4::bigint, now(), r.content_sha256, r.content_size"
        " FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e (rec, n),"
        " jsonb_to_record(e.rec) AS r (item_id text, change text,"
        " folder_id text, change_key text, item_class text, internet_message_id text,"
        " subject text, sender jsonb, \"from\" jsonb, \"to\" jsonb, cc jsonb, sent timestamptz,"
        " received timestamptz, size bigint, is_read boolean, sensitivity text,"
        " has_attachments boolean, content_sha256 text, content_size bigint)"
        " WHERE r.change = 'upsert' AND $3::text IS NOT NULL ORDER BY r.item_id, e.n DESC"
        " ON CONFLICT (partition_id, item_id) DO UPDATE SET folder_id = EXCLUDED.folder_id,"
        " content_sha256 = EXCLUDED.content_sha256, content_size = EXCLUDED.content_size,"
        " change_key = EXCLUDED.change_key, item_class = EXCLUDED.item_class,"
        " internet_message_id = EXCLUDED.internet_message_id, subject = EXCLUDED.subject,"
        " sender = EXCLUDED.sender, \"from\" = EXCLUDED.\"from\","
        " to_recipients = EXCLUDED.to_recipients, cc_recipients = EXCLUDED.cc_recipients,"
        " sent_at = EXCLUDED.sent_at, received_at = EXCLUDED.received_at, size = EXCLUDED.size,"
        " is_read = EXCLUDED.is_read, sensitivity = EXCLUDED.sensitivity,"
        " has_attachments = EXCLUDED.has_attachments, deleted_at = NULL,"
        " pass_epoch = coalesce(EXCLUDED.pass_epoch, a.pass_epoch), updated_at = now()");
DB_STMT(submit_items_read_flag, 3, false,
        "UPDATE archive_items a SET is_read = r.is_read, updated_at = now()"
        " FROM jsonb_to_recordset($2::jsonb) AS r (item_id text, change text, is_read boolean)"
        " WHERE r.change = 'read_flag' AND a.partition_id = $1::bigint AND a.item_id = r.item_id"
        " AND a.folder_id = $3");
/* Deletions apply only to items still in the batch's folder: a move's create may come first. */
DB_STMT(submit_items_delete, 3, false,
        "UPDATE archive_items a SET deleted_at = now(), updated_at = now()"
        " FROM jsonb_to_recordset($2::jsonb) AS r (item_id text, change text)"
        " WHERE r.change = 'delete' AND a.partition_id = $1::bigint AND a.item_id = r.item_id"
        " AND a.folder_id = $3 AND a.deleted_at IS NULL");
/* An item that became private leaves no trace. */
DB_STMT(submit_items_remove, 3, false,
        "DELETE FROM archive_items a USING jsonb_to_recordset($2::jsonb) AS r (item_id text,"
        " change text) WHERE r.change = 'remove' AND a.partition_id = $1::bigint"
        " AND a.item_id = r.item_id"
        " AND a.folder_id = $3");
DB_STMT(submit_items_sweep, 3, false,
        "UPDATE archive_items SET deleted_at = now(), updated_at = now() WHERE partition_id = "
        "$1::bigint"
        " AND folder_id = $2 AND deleted_at IS NULL AND (pass_epoch IS NULL OR pass_epoch < $3)");

DB_STMT(submit_appointments_upsert, 5, false,
        "INSERT INTO archive_appointments AS a (partition_id, mailbox, item_id, folder_id, "
        "change_key,"
        " item_class, uid, subject, start_at, end_at, is_all_day, location, organizer,"
        " required_attendees, optional_attendees, calendar_item_type, is_recurring, recurrence,"
        " modified_occurrences, deleted_occurrences, sensitivity, has_attachments, attachments,"
        " pass_epoch, updated_at)"
        " SELECT DISTINCT ON (r.item_id) $1::bigint, $5, r.item_id, coalesce(r.folder_id, $3),"
        " r.change_key, r.item_class, r.uid, r.subject, r.start, r.\"end\", r.is_all_day, "
        "r.location,"
        " r.organizer,"
        " coalesce(r.required_attendees, '[]'), coalesce(r.optional_attendees, '[]'),"
        " r.calendar_item_type, r.is_recurring, r.recurrence,"
        " coalesce(r.modified_occurrences, '[]'), coalesce(r.deleted_occurrences, '[]'),"
        " r.sensitivity, r.has_attachments, coalesce(r.attachments, '[]'), $4::bigint, now()"
        " FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e (rec, n),"
        " jsonb_to_record(e.rec) AS r (item_id text, change text,"
        " folder_id text, change_key text, item_class text, uid text, subject text,"
        " start timestamptz, \"end\" timestamptz, is_all_day boolean, location text,"
        " organizer jsonb, required_attendees jsonb, optional_attendees jsonb,"
        " calendar_item_type text, is_recurring boolean, recurrence jsonb,"
        " modified_occurrences jsonb, deleted_occurrences jsonb, sensitivity text,"
        " has_attachments boolean, attachments jsonb)"
        " WHERE r.change = 'upsert' AND $3::text IS NOT NULL ORDER BY r.item_id, e.n DESC"
        " ON CONFLICT (partition_id, item_id) DO UPDATE SET folder_id = EXCLUDED.folder_id,"
        " change_key = EXCLUDED.change_key, item_class = EXCLUDED.item_class,"
        " uid = EXCLUDED.uid, subject = EXCLUDED.subject, start_at = EXCLUDED.start_at,"
        " end_at = EXCLUDED.end_at, is_all_day = EXCLUDED.is_all_day,"
        " location = EXCLUDED.location, organizer = EXCLUDED.organizer,"
        " required_attendees = EXCLUDED.required_attendees,"
        " optional_attendees = EXCLUDED.optional_attendees,"
        " calendar_item_type = EXCLUDED.calendar_item_type,"
        " is_recurring = EXCLUDED.is_recurring, recurrence = EXCLUDED.recurrence,"
        " modified_occurrences = EXCLUDED.modified_occurrences,"
        " deleted_occurrences = EXCLUDED.deleted_occurrences,"
        " sensitivity = EXCLUDED.sensitivity, has_attachments = EXCLUDED.has_attachments,"
        " attachments = EXCLUDED.attachments,"
        " pass_epoch = coalesce(EXCLUDED.pass_epoch, a.pass_epoch), updated_at = now()");
DB_STMT(submit_appointments_delete, 3, false,
        "DELETE FROM archive_appointments a USING jsonb_to_recordset($2::jsonb) AS r (item_id"
        " text, change text) WHERE r.change IN ('delete', 'remove') AND a.partition_id = $1::bigint"
        " AND a.item_id = r.item_id AND a.folder_id = $3");
DB_STMT(submit_appointments_sweep, 3, false,
        "DELETE FROM archive_appointments WHERE partition_id = $1::bigint AND folder_id = $2"
        " AND (pass_epoch IS NULL OR pass_epoch < $3)");

DB_STMT(submit_store_checkpoint, 7, false,
        "INSERT INTO sync_checkpoints (site_id, task_id, mailbox, scope, state, full_pass_epoch,"
        " batch_id) VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6::bigint, $7::uuid)"
        " ON CONFLICT (site_id, task_id, mailbox, scope) DO UPDATE SET state = EXCLUDED.state,"
        " full_pass_epoch = EXCLUDED.full_pass_epoch, batch_id = EXCLUDED.batch_id,"
        " updated_at = now()");
/*
 * An applied batch counts its items ($7) where they are shown, once, whichever attempt sent
 * it (schema 026); while the mailbox has no baseline they also belong to its first full pass.
 */
DB_STMT(submit_sequence, 7, false,
        "WITH t AS (UPDATE exchange_tasks SET sequence = sequence + 1 WHERE id = $2::uuid"
        " RETURNING sequence),"
        " b AS (INSERT INTO applied_batches (batch_id, execution_id, task_id, mailbox, scope,"
        " sequence, records) SELECT $1::uuid, $3::uuid, $2::uuid, $4, $5, t.sequence, $6::int"
        " FROM t),"
        " x AS (UPDATE executions SET submissions = submissions + 1, items = items + $7::int"
        " WHERE id = $3::uuid),"
        " m AS (UPDATE execution_mailboxes SET items = items + $7::int, last_applied_at = now()"
        " WHERE execution_id = $3::uuid AND address = $4),"
        " tm AS (UPDATE task_mailboxes SET items_replicated = items_replicated + $7::int,"
        " full_pass_items = full_pass_items"
        " + CASE WHEN first_full_sync_at IS NULL THEN $7::int ELSE 0 END"
        " WHERE task_id = $2::uuid AND address = $4 AND $7::int > 0)"
        " SELECT sequence FROM t");

/*
 * Runs a record statement when its array holds records of a kind it applies (`present` and
 * `kinds` share a bit). Skipping matters: such a statement joins the array to the archive,
 * and with nothing to match it still reads the folder's rows (milliseconds per batch).
 */
static enum mse_rc records_run(struct db *db, struct db_stmt *st, const char *const *params,
                               unsigned present, unsigned kinds, struct db_error *err)
{
    if (!params[1] || !(present & kinds))
        return MSE_OK;
    return db_run(db, st, params, err);
}

/* Checks lock, replay, base checkpoint and uploads; EXO_DONE in *out when all hold. */
/*
 * A sync task's item upserts name their message content, and every content a batch names must
 * be this site's upload (F7): EXO_MISSING_CONTENT with r->content_index otherwise. The content
 * is then marked referenced, in the batch's transaction.
 */
static enum mse_rc contents_check(struct db *db, const struct fence *f, const struct batch *b,
                                  bool sync, struct batch_result *r, enum exec_outcome *out,
                                  struct db_error *err)
{
    struct db_res res;
    if (sync && b->content_missing >= 0) {
        r->content_index = b->content_missing;
        r->content_absent = true;
        *out = EXO_MISSING_CONTENT;
        return MSE_OK;
    }
    if (!b->contents)
        return MSE_OK;
    const char *p[] = { f->site_id, b->contents };
    enum mse_rc rc = db_run(db, &submit_lock_blobs, p + 1, err);
    if (rc != MSE_OK)
        return rc;
    rc = db_query(db, &submit_content_unheld, p, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) == 1) {
        int64_t i = 0;
        rc = mse_parse_int(db_res_get(&res, 0, 0), 0, INT32_MAX, &i);
        r->content_index = (int)i;
        *out = EXO_MISSING_CONTENT;
    }
    db_res_clear(&res);
    if (rc == MSE_OK && *out == EXO_DONE)
        rc = db_run(db, &submit_reference_blobs, p + 1, err);
    return rc;
}

static enum mse_rc batch_preconditions(struct db *db, const struct fence *f, const struct batch *b,
                                       const char *task, const char *scope, bool sync,
                                       struct batch_result *r, enum exec_outcome *out,
                                       bool *have_epoch, int64_t *epoch, struct db_error *err)
{
    struct db_res res;
    const char *p1[] = { f->execution_id, b->batch_id };
    enum mse_rc rc = db_query(db, &submit_replayed, p1, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) == 1) {
        r->replayed = true;
        rc = mse_parse_int(db_res_get(&res, 0, 0), 0, INT64_MAX, &r->sequence);
    }
    db_res_clear(&res);
    if (rc != MSE_OK || r->replayed)
        return rc;
    int64_t held = 0;
    const char *p2[] = { b->mailbox, f->execution_id };
    rc = db_int_query(db, &submit_locked, p2, &held, err);
    if (rc == MSE_OK && held != 1) {
        *out = EXO_NOT_LOCKED;
        return MSE_OK;
    }
    const char *p3[] = { f->site_id, task, b->mailbox, scope };
    if (rc == MSE_OK)
        rc = db_query(db, &submit_checkpoint, p3, &res, err);
    if (rc != MSE_OK)
        return rc;
    const char *stored = db_res_rows(&res) == 1 ? db_res_get(&res, 0, 0) : NULL;
    const char *stored_epoch = db_res_rows(&res) == 1 ? db_res_get(&res, 0, 1) : NULL;
    bool same = (!stored && !b->base_checkpoint) ||
                (stored && b->base_checkpoint && strcmp(stored, b->base_checkpoint) == 0);
    if (!same)
        snprintf(r->stored, sizeof(r->stored), "%s", stored ? "another" : "none");
    *have_epoch = same && stored_epoch && !b->reset;
    if (*have_epoch)
        rc = mse_parse_int(stored_epoch, 0, INT64_MAX, epoch);
    db_res_clear(&res);
    if (rc == MSE_OK && !same)
        *out = EXO_CHECKPOINT_CONFLICT;
    if (rc != MSE_OK || !same)
        return rc;
    rc = contents_check(db, f, b, sync, r, out, err);
    if (rc != MSE_OK || *out != EXO_DONE)
        return rc;
    const char *p4[] = { f->site_id, b->shas };
    if (b->shas) {
        rc = db_run(db, &submit_lock_blobs, p4 + 1, err);
        if (rc == MSE_OK)
            rc = db_run(db, &submit_reference_blobs, p4 + 1, err);
        if (rc != MSE_OK)
            return rc;
        rc = db_query(db, &submit_missing_blob, p4, &res, err);
        if (rc == MSE_OK && db_res_rows(&res) == 1) {
            snprintf(r->missing, sizeof(r->missing), "%s", db_res_get(&res, 0, 0));
            *out = EXO_MISSING_CONTENT;
        }
        db_res_clear(&res);
    }
    return rc;
}

static enum mse_rc apply_hierarchy(struct db *db, const struct fence *f, const char *task,
                                   const char *partition, const struct batch *b, bool calendar,
                                   struct db_error *err)
{
    const char *source = calendar ? "calendar" : "mail";
    const char *p[] = { partition, b->folders, source, b->mailbox };
    unsigned k = b->folder_changes;
    enum mse_rc rc = records_run(db, &submit_folders_upsert, p, k, BATCH_UPSERT, err);
    if (rc == MSE_OK)
        rc = records_run(db, &submit_folders_delete, p, k, BATCH_DELETE, err);
    if (rc == MSE_OK)
        rc = records_run(db,
                         calendar ? &submit_folders_appointments_gone : &submit_folders_items_gone,
                         p, k, BATCH_DELETE, err);
    const char *c[] = { f->site_id, task, b->mailbox, b->folders };
    if (rc == MSE_OK)
        rc = records_run(db, &submit_folders_checkpoints_gone, c, k, BATCH_DELETE, err);
    return rc;
}

static enum mse_rc apply_folder(struct db *db, const char *partition, const struct batch *b,
                                bool calendar, const char *epoch, bool sweep, struct db_error *err)
{
    enum mse_rc rc;
    if (calendar) {
        const char *p[] = { partition, b->appointments, b->folder_id, epoch, b->mailbox };
        unsigned k = b->appointment_changes;
        rc = records_run(db, &submit_appointments_upsert, p, k, BATCH_UPSERT, err);
        if (rc == MSE_OK)
            rc = records_run(db, &submit_appointments_delete, p, k, BATCH_DELETE | BATCH_REMOVE,
                             err);
    } else {
        const char *p[] = { partition, b->items, b->folder_id, epoch, b->mailbox };
        unsigned k = b->item_changes;
        rc = records_run(db, &submit_items_upsert, p, k, BATCH_UPSERT, err);
        if (rc == MSE_OK)
            rc = records_run(db, &submit_items_read_flag, p, k, BATCH_READ_FLAG, err);
        if (rc == MSE_OK)
            rc = records_run(db, &submit_items_delete, p, k, BATCH_DELETE, err);
        if (rc == MSE_OK)
            rc = records_run(db, &submit_items_remove, p, k, BATCH_REMOVE, err);
    }
    /* The last page of a full pass: whatever the pass did not report is gone. */
    const char *s[] = { partition, b->folder_id, epoch };
    if (rc == MSE_OK && sweep)
        rc = db_run(db, calendar ? &submit_appointments_sweep : &submit_items_sweep, s, err);
    return rc;
}

enum mse_rc db_submit_apply(struct db *db, const struct fence *f, const struct batch *b,
                            struct batch_result *r, enum exec_outcome *out, struct db_error *err)
{
    char task[37], type[40], epoch_s[24] = "", partition[24] = "";
    const char *scope = b->hierarchy ? "#hierarchy" : b->folder_id;
    bool have_epoch = false;
    int64_t epoch = 0;
    memset(r, 0, sizeof(*r));
    r->content_index = -1;
    enum mse_rc rc = db_exec_lock_row(db, f, task, type, out, err);
    bool sync = rc == MSE_OK && strcmp(type, "sync_recover") == 0;
    if (rc == MSE_OK && *out == EXO_DONE)
        rc = batch_preconditions(db, f, b, task, scope, sync, r, out, &have_epoch, &epoch, err);
    if (rc != MSE_OK || *out != EXO_DONE || r->replayed)
        return rc;
    /* A sync task archives calendars too: a folder batch of appointments is its calendar's. */
    bool calendar = strcmp(type, "calendar_replication") == 0 ||
                    (sync && !b->hierarchy && b->appointments && !b->items);
    /* A folder read from the start (first pass, or a reset) opens a new full pass. */
    if (!b->hierarchy && !have_epoch && (!b->base_checkpoint || b->reset))
        rc = db_int_query(db, &submit_epoch, NULL, &epoch, err), have_epoch = rc == MSE_OK;
    if (have_epoch)
        snprintf(epoch_s, sizeof(epoch_s), "%lld", (long long)epoch);
    const char *pm[] = { b->mailbox };
    if (rc == MSE_OK)
        rc = db_run(db, &submit_mailbox, pm, err);
    const char *pp[] = { b->mailbox, f->site_id, task, calendar ? "calendar" : "mail" };
    int64_t partition_id = 0;
    if (rc == MSE_OK)
        rc = db_int_query(db, &submit_partition, pp, &partition_id, err);
    snprintf(partition, sizeof(partition), "%lld", (long long)partition_id);
    if (rc == MSE_OK && b->hierarchy)
        rc = apply_hierarchy(db, f, task, partition, b, calendar, err);
    else if (rc == MSE_OK)
        rc = apply_folder(db, partition, b, calendar, have_epoch ? epoch_s : NULL,
                          have_epoch && b->complete, err);
    bool pass_open = have_epoch && !b->complete;
    const char *cp[] = { f->site_id,        task,
                         b->mailbox,        scope,
                         b->new_checkpoint, pass_open ? epoch_s : NULL,
                         b->batch_id };
    if (rc == MSE_OK)
        rc = db_run(db, &submit_store_checkpoint, cp, err);
    char records[16], upserts[16];
    snprintf(records, sizeof(records), "%u", b->records);
    snprintf(upserts, sizeof(upserts), "%u", b->upserts);
    const char *sq[] = { b->batch_id, task, f->execution_id, b->mailbox, scope, records, upserts };
    if (rc == MSE_OK)
        rc = db_int_query(db, &submit_sequence, sq, &r->sequence, err);
    return rc;
}
