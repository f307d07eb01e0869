/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restores (docs/restore.md): an administrator asks for a selection of one mailbox's archive,
 * as it was at an instant, to be written back into a mailbox in Exchange; the restore is
 * recorded with the messages it names and the site whose workers reach the target. Its state,
 * its per-item results, its cancellation.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_selection.h"
#include "api_util.h"
#include "api_worker.h"
#include "db_audit.h"
#include "db_restore.h"
#include "http.h"
#include "ids.h"
#include "jsonin.h"
#include "mse/limits.h"
#include "problem.h"
#include "query.h"
#include "tx.h"

#define RESTORE_CURSOR      'R'
#define RESTORE_ITEM_CURSOR 'N'
/* Exchange limits a folder's display name to 255 characters. */
#define RESTORE_MAX_FOLDER_NAME 255

static const char *const states[] = {
    "queued", "running", "completed", "failed", "cancelled", NULL
};
static const char *const item_states[] = { "pending", "restored", "skipped", "failed", NULL };
static const char *const destinations[] = { "original", "folder", NULL };
#define DESTINATION_FOLDER 1 /* destinations[1] */
static const char *const conflicts[] = { "skip", "copy", NULL };

struct restore_input {
    struct api_selection sel;
    char target[MSE_MAX_ADDRESS + 1];
    int destination, on_conflict;
    const char *folder_name; /* points into the body; NULL = the default name */
    char connection_id[37];  /* "" = the one of the sync tasks that archived the target */
};

/* One folder's display name: no path separator, since it is created as one folder. */
static void folder_name_read(const cJSON *body, struct restore_input *in, struct verr *v)
{
    enum jf f =
            jsonin_str(body, "", "folder_name", RESTORE_MAX_FOLDER_NAME, 0, v, &in->folder_name);
    if (f != JF_OK)
        return;
    if (strchr(in->folder_name, '/'))
        verr_add(v, "folder_name", "must be one folder's name, without '/'");
    else if (in->destination != DESTINATION_FOLDER)
        verr_add(v, "folder_name", "is only taken with destination folder");
}

static void input_read(const cJSON *body, struct restore_input *in, struct verr *v)
{
    static const char *const allowed[] = {
        "selection",   "target_mailbox", "destination",          "folder_name",
        "on_conflict", "appointments",   "server_connection_id", NULL
    };
    const char *target = NULL;
    bool appointments = false;
    jsonin_members(body, "", allowed, NULL, v);
    api_selection_read(body, &in->sel, v);
    if (jsonin_str(body, "", "target_mailbox", MSE_MAX_ADDRESS, 0, v, &target) == JF_OK &&
        !api_worker_address(target, in->target, sizeof(in->target)))
        verr_add(v, "target_mailbox", "must be an e-mail address");
    if (!target)
        snprintf(in->target, sizeof(in->target), "%s", in->sel.mailbox);
    (void)jsonin_enum(body, "", "destination", destinations, 0, v, &in->destination);
    (void)jsonin_enum(body, "", "on_conflict", conflicts, 0, v, &in->on_conflict);
    folder_name_read(body, in, v);
    (void)jsonin_uuid(body, "", "server_connection_id", 0, v, in->connection_id);
    /* Said where the administrator looks rather than leaving appointments out silently. */
    if (jsonin_bool(body, "", "appointments", 0, v, &appointments) == JF_OK && appointments)
        verr_add(v, "appointments",
                 "restoring calendar items is not implemented in this engine version: only "
                 "messages are restored");
}

/*
 * The server connection that reaches the target: the one named, or the one of the sync tasks
 * that archived the target mailbox. Problems go into v.
 */
static enum mse_rc connection_resolve(struct tx *tx, struct restore_input *in, struct verr *v)
{
    struct db_error err;
    enum mse_rc rc;
    if (in->connection_id[0]) {
        bool known = false;
        rc = db_restore_connection_known(tx->db, in->connection_id, &known, &err);
        if (rc == MSE_OK && !known)
            verr_add(v, "server_connection_id", "names no server connection");
        return rc;
    }
    int n = 0;
    rc = db_restore_connection_of(tx->db, in->target, &n, in->connection_id, &err);
    if (rc == MSE_OK && n == 0)
        verr_add(v, "server_connection_id",
                 "is required: no sync task archived the target mailbox, so no server "
                 "connection is known to reach it");
    else if (rc == MSE_OK && n > 1)
        verr_add(v, "server_connection_id",
                 "is required: sync tasks of several server connections archived the target "
                 "mailbox; name the one that reaches it");
    return rc;
}

/* Writes the restore as stored, with its audit event, and commits. */
static void restore_reply(struct tx *tx, const char *id, unsigned status, const char *action,
                          const char *before)
{
    struct db_doc doc = { 0 };
    struct db_error err;
    char location[96];
    enum mse_rc rc = db_restore_get(tx->db, id, false, &doc, &err);
    snprintf(location, sizeof(location), "/api/v1/restores/%s", id);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
    } else if (tx_audit(tx, action, "restore", id, before, doc.json)) {
        tx_commit_reply(tx, status, doc.json, status == 201 ? location : NULL, doc.version);
        doc.json = NULL;
    }
    db_doc_cleanup(&doc);
}

/* Checks what needs the database, records the restore and its items, answers. */
static void restore_insert(struct request *req, struct tx *tx, struct restore_input *in,
                           const char *selection, struct verr *v)
{
    struct db_error err;
    char id[37];
    int64_t items = 0;
    enum mse_rc rc = api_selection_mailbox_check(tx->db, in->sel.mailbox, v);
    if (rc == MSE_OK)
        rc = connection_resolve(tx, in, v);
    if (rc == MSE_OK && verr_any(v)) {
        tx_fail_fields(tx, 422, "the restore is not valid", v);
        return;
    }
    struct db_restore_in row = { in->sel.mailbox,
                                 selection,
                                 in->sel.as_of,
                                 in->target,
                                 destinations[in->destination],
                                 in->destination == DESTINATION_FOLDER ? in->folder_name : NULL,
                                 conflicts[in->on_conflict],
                                 in->connection_id };
    mse_uuid_new(id);
    if (rc == MSE_OK)
        rc = db_restore_insert(tx->db, id, &row, api_actor(req), &items, &err);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
    } else if (items == 0) {
        /* Nothing to write back is more likely a mistaken selection than an intent. */
        verr_add(v, "selection", "names no archived message as of the restore's instant");
        tx_fail_fields(tx, 422, "the restore is not valid", v);
    } else {
        restore_reply(tx, id, 201, "restore.create", NULL);
    }
}

void api_restores_create(struct request *req)
{
    cJSON *body = NULL;
    if (!api_no_query(req) || !jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    struct restore_input in = { 0 };
    struct tx tx;
    char *selection = NULL;
    verr_init(&v);
    input_read(body, &in, &v);
    /* Out of memory is never a narrower (or wider) restore: nothing is recorded. */
    if (v.nomem) {
        problem_send_rc(req, MSE_ERR_NOMEM, NULL);
        goto out;
    }
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the restore is not valid", &v);
        goto out;
    }
    selection = cJSON_PrintUnformatted(in.sel.json);
    if (!selection)
        problem_send_rc(req, MSE_ERR_NOMEM, NULL);
    else if (tx_begin(req, &tx))
        restore_insert(req, &tx, &in, selection, &v);
out:
    free(selection);
    api_selection_cleanup(&in.sel);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

void api_restores_list(struct request *req)
{
    api_list_by_enum(req, RESTORE_CURSOR, "state", states, db_restore_list);
}

void api_restores_get(struct request *req)
{
    api_get_doc(req, "restore", "no restore with this id", db_restore_get);
}

void api_restores_items(struct request *req)
{
    static const char *const allowed[] = { "limit", "cursor", "state", NULL };
    char id[37];
    struct verr v;
    struct page page;
    int state = -1;
    if (!api_path_uuid(req, 0, "restore", id))
        return;
    verr_init(&v);
    query_check(req, allowed, &v);
    query_page(req, RESTORE_ITEM_CURSOR, &page, &v);
    (void)query_enum(req, "state", item_states, &v, &state);
    if (verr_any(&v)) {
        query_fail(req, &v);
        verr_cleanup(&v);
        return;
    }
    struct db *db;
    struct db_error err;
    struct db_doc doc = { 0 };
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_restore_get(db, id, false, &doc, &err);
    db_doc_cleanup(&doc);
    if (rc == MSE_OK)
        rc = db_restore_items(db, id, state >= 0 ? item_states[state] : NULL, page.has_after,
                              page.after, page.limit, &items, &last, &more, &err);
    if (rc == MSE_ERR_NOT_FOUND)
        problem_send(req, 404, "no restore with this id");
    else
        api_reply_list_polled(req, rc, items, more, last, RESTORE_ITEM_CURSOR);
}

/* Items not yet written stay pending; a worker executing it stops at its next batch. */
void api_restores_cancel(struct request *req)
{
    char id[37];
    struct tx tx;
    struct db_doc before = { 0 };
    struct db_error err;
    bool cancelled = false;
    if (!api_path_uuid(req, 0, "restore", id) || !api_no_query(req) || !tx_begin(req, &tx))
        return;
    enum mse_rc rc = db_restore_get(tx.db, id, true, &before, &err);
    if (rc == MSE_OK && !tx_if_match(&tx, before.version))
        goto out;
    if (rc == MSE_OK)
        rc = db_restore_cancel(tx.db, id, &cancelled, &err);
    if (rc != MSE_OK)
        tx_fail_rc(&tx, rc, "no restore with this id");
    else if (!cancelled)
        tx_fail(&tx, 409, "the restore has ended: only a queued or running restore is cancelled");
    else
        restore_reply(&tx, id, 200, "restore.cancel", before.json);
out:
    db_doc_cleanup(&before);
}
