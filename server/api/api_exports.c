/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exports (docs/export.md): an administrator asks for a selection of one mailbox's archive as
 * it was at an instant, in a format; the server produces the file in the background
 * (exports.c); its state, its download (ETag, Range) and its removal.
 */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "api_download.h"
#include "api_selection.h"
#include "api_util.h"
#include "api_worker.h"
#include "db_archive.h"
#include "db_audit.h"
#include "db_export.h"
#include "exports.h"
#include "http.h"
#include "ids.h"
#include "jsonin.h"
#include "mse/limits.h"
#include "problem.h"
#include "query.h"
#include "server.h"
#include "timefmt.h"
#include "tx.h"

#define EXPORT_CURSOR 'e'

static const char *const formats[] = { "eml_zip", "mbox", "ics", NULL };
#define FORMAT_ICS 2 /* formats[2] */
static const char *const states[] = { "queued", "running", "completed", "failed", "expired", NULL };

/* The selection as validated, and the request's format and instant. */
struct export_input {
    int format;
    struct api_selection sel;
};

/* What only exports refuse: appointments have no versions and are not kept once deleted. */
static void selection_check(const struct export_input *in, struct verr *v)
{
    if (in->format == FORMAT_ICS && in->sel.as_of)
        verr_add(v, "selection.as_of",
                 "is not available for ics: appointments are archived as they are now");
    if (in->format == FORMAT_ICS && in->sel.include_deleted)
        verr_add(v, "selection.include_deleted",
                 "is not available for ics: deleted appointments are not kept");
}

static void input_read(const cJSON *body, struct export_input *in, struct verr *v)
{
    static const char *const allowed[] = { "format", "selection", NULL };
    jsonin_members(body, "", allowed, NULL, v);
    in->format = -1;
    (void)jsonin_enum(body, "", "format", formats, JF_REQUIRED, v, &in->format);
    api_selection_read(body, &in->sel, v);
    selection_check(in, v);
}

/* Writes the export as stored, with its audit event, and commits. */
static void export_reply(struct tx *tx, const char *id)
{
    struct db_doc doc = { 0 };
    struct db_error err;
    char location[96];
    enum mse_rc rc = db_export_get(tx->db, id, false, &doc, &err);
    snprintf(location, sizeof(location), "/api/v1/exports/%s", id);
    if (rc != MSE_OK) {
        tx_fail_rc(tx, rc, NULL);
    } else if (tx_audit(tx, "export.create", "export", id, NULL, doc.json)) {
        tx_commit_reply(tx, 201, doc.json, location, doc.version);
        doc.json = NULL;
    }
    db_doc_cleanup(&doc);
}

void api_exports_create(struct request *req)
{
    cJSON *body = NULL;
    if (!api_no_query(req) || !jsonin_parse(req, 0, &body))
        return;
    struct verr v;
    struct export_input in = { 0 };
    struct tx tx;
    struct db_error err;
    char id[37], *selection = NULL;
    verr_init(&v);
    input_read(body, &in, &v);
    /* Out of memory is never a narrower (or wider) export: nothing is queued. */
    if (v.nomem) {
        problem_send_rc(req, MSE_ERR_NOMEM, NULL);
        goto out;
    }
    if (verr_any(&v)) {
        problem_send_fields(req, 422, "the export is not valid", &v);
        goto out;
    }
    selection = cJSON_PrintUnformatted(in.sel.json);
    if (!selection) {
        problem_send_rc(req, MSE_ERR_NOMEM, NULL);
        goto out;
    }
    if (!tx_begin(req, &tx))
        goto out;
    enum mse_rc rc = api_selection_mailbox_check(tx.db, in.sel.mailbox, &v);
    if (rc == MSE_OK && verr_any(&v)) {
        tx_fail_fields(&tx, 422, "the export is not valid", &v);
        goto out;
    }
    struct db_export_in row = { formats[in.format], in.sel.mailbox, selection, in.sel.as_of,
                                req->srv->cfg.export_ttl_seconds };
    mse_uuid_new(id);
    bool inserted = false;
    if (rc == MSE_OK)
        rc = db_export_insert(tx.db, id, &row, api_actor(req), &inserted, &err);
    if (rc == MSE_OK && !inserted) {
        verr_add(&v, "selection.as_of", "must not be in the future (of the database's clock)");
        tx_fail_fields(&tx, 422, "the export is not valid", &v);
    } else if (rc != MSE_OK)
        tx_fail_rc(&tx, rc, NULL);
    else
        export_reply(&tx, id);
out:
    free(selection);
    api_selection_cleanup(&in.sel);
    verr_cleanup(&v);
    cJSON_Delete(body);
}

void api_exports_list(struct request *req)
{
    api_list_by_enum(req, EXPORT_CURSOR, "state", states, db_export_list);
}

void api_exports_get(struct request *req)
{
    api_get_doc(req, "export", "no export with this id", db_export_get);
}

/*
 * Removes an export's file. A running production's staging file is its producer's to remove
 * (it sees the row gone); one a crash left behind goes at the next start-up's sweep.
 */
static void export_file_remove(struct request *req, const char *id)
{
    char path[EXPORTS_PATH_MAX];
    if (exports_path(req->srv->cfg.data_dir, id, 0, path))
        (void)unlink(path);
}

void api_exports_delete(struct request *req)
{
    char id[37];
    struct tx tx;
    struct db_doc before = { 0 };
    struct db_error err;
    if (!api_path_uuid(req, 0, "export", id) || !api_no_query(req) || !tx_begin(req, &tx))
        return;
    enum mse_rc rc = db_export_get(tx.db, id, true, &before, &err);
    if (rc == MSE_OK && !tx_if_match(&tx, before.version))
        goto out;
    if (rc == MSE_OK)
        rc = db_export_delete(tx.db, id, &err);
    if (rc != MSE_OK)
        tx_fail_rc(&tx, rc, "no export with this id");
    else if (tx_audit(&tx, "export.delete", "export", id, before.json, NULL)) {
        /* A running production sees its row gone at its next page and stops. */
        tx_commit_reply(&tx, 204, NULL, NULL, -1);
        export_file_remove(req, id);
    }
out:
    db_doc_cleanup(&before);
}

/* Content leaves the system: every download is in the audit trail, with the range asked. */
static enum mse_rc download_audit(struct request *req, struct db *db, const char *id)
{
    struct db_error err;
    cJSON *o = cJSON_CreateObject();
    const char *range = http_header(req, "Range");
    bool ok = o && (!range || strlen(range) >= 200 || cJSON_AddStringToObject(o, "range", range));
    char *after = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!after)
        return MSE_ERR_NOMEM;
    struct audit_event e = { "export.download", "export", id, NULL, after };
    enum mse_rc rc =
            db_audit_insert(db, &req->principal, req->request_id, req->remote_addr, &e, &err);
    free(after);
    return rc;
}

/* Opens the completed export's file; false after answering (the file went meanwhile: 404). */
static bool file_open(struct request *req, const char *id, const struct db_export_file *f, int *fd)
{
    char path[EXPORTS_PATH_MAX];
    struct stat st;
    *fd = exports_path(req->srv->cfg.data_dir, id, 0, path) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (*fd >= 0 && fstat(*fd, &st) == 0 && st.st_size == f->bytes)
        return true;
    if (*fd >= 0)
        close(*fd);
    problem_send(req, 404, "the export's file is not on this server's data directory");
    return false;
}

void api_exports_content(struct request *req)
{
    char id[37], etag[68];
    struct db *db;
    struct db_error err;
    struct db_export_file f;
    if (!api_path_uuid(req, 0, "export", id) || !api_no_query(req))
        return;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_export_file(db, id, &f, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, "no export with this id");
        return;
    }
    if (!f.completed) {
        problem_send(req, 409, "the export is %s: only a completed export has content", f.state);
        return;
    }
    snprintf(etag, sizeof(etag), "\"%s\"", f.sha256);
    int fd = -1;
    if (api_download_not_modified(req, etag) || !file_open(req, id, &f, &fd))
        return;
    rc = download_audit(req, db, id);
    if (rc != MSE_OK) {
        close(fd);
        problem_send_rc(req, rc, NULL);
        return;
    }
    api_download_send(req, fd, f.bytes, etag, f.media_type, f.file_name);
}
