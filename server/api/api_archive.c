/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The archive view (admin and read_only): replicated mailboxes with their counts, their
 * folders, message metadata, appointments, and the content of appointments' attachments.
 * EWS ids may hold '/' and '+', so they travel in query parameters, never in the path.
 */
#include <ctype.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_download.h"
#include "api_util.h"
#include "api_worker.h"
#include "blobstore.h"
#include "crypto.h"
#include "db_archive.h"
#include "db_restore.h"
#include "db_journal.h"
#include "http.h"
#include "problem.h"
#include "server.h"
#include "query.h"

#define MAILBOX_LIST_CURSOR 'M'
#define FOLDER_CURSOR       'F'
#define ITEM_CURSOR         'I'
#define APPOINTMENT_CURSOR  'P'
#define SEARCH_CURSOR       'J'

/* A search query: a few words or phrases, not a document. */
#define SEARCH_MAX_QUERY 1000

/* EWS ids and folder paths in query parameters (ids are a few hundred bytes in practice). */
#define ARCHIVE_MAX_ID 1024

/* The {address} placeholder as stored (lower-case); false after answering 404. */
static bool path_address(struct request *req, char out[MSE_MAX_ADDRESS + 1])
{
    const char *s = req->nparams > 0 ? req->params[0] : "";
    if (!api_worker_address(s, out, MSE_MAX_ADDRESS + 1)) {
        problem_send(req, 404, "no replicated mailbox with this address");
        return false;
    }
    return true;
}

/* A UTF-8 text query parameter of 1 to max bytes; true when present and valid. */
static bool query_text(struct request *req, const char *name, size_t max, struct verr *v,
                       const char **out)
{
    const char *s = http_query(req, name);
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n == 0 || n > max) {
        verr_add(v, name, "must be 1 to %zu bytes long", max);
        return false;
    }
    if (!g_utf8_validate(s, (gssize)n, NULL)) {
        verr_add(v, name, "must be UTF-8 text");
        return false;
    }
    *out = s;
    return true;
}

/* Answers 400 with the collected query errors; true when there were none. */
static bool query_done(struct request *req, struct verr *v)
{
    bool ok = !verr_any(v);
    if (!ok)
        query_fail(req, v);
    verr_cleanup(v);
    return ok;
}

/* The request's connection, and 404 unless the archive holds the mailbox. */
static bool mailbox_known(struct request *req, const char *address, struct db **db)
{
    struct db_error err;
    bool known = false;
    enum mse_rc rc = http_db(req, db);
    if (rc == MSE_OK)
        rc = db_archive_mailbox_known(*db, address, &known, &err);
    if (rc != MSE_OK)
        problem_send_rc(req, rc, NULL);
    else if (!known)
        problem_send(req, 404, "no replicated mailbox with this address");
    return rc == MSE_OK && known;
}

void api_archive_mailboxes(struct request *req)
{
    static const char *const allowed[] = { "limit", "cursor", "prefix", NULL };
    struct verr v;
    struct page page;
    const char *prefix = NULL;
    char lower[MSE_MAX_ADDRESS + 1];
    verr_init(&v);
    query_check(req, allowed, &v);
    query_page(req, MAILBOX_LIST_CURSOR, &page, &v);
    if (query_text(req, "prefix", MSE_MAX_ADDRESS, &v, &prefix)) {
        /* Addresses are stored in lower case; ASCII is all an address holds. */
        for (size_t i = 0;; i++) {
            lower[i] = (char)tolower((unsigned char)prefix[i]);
            if (!prefix[i])
                break;
        }
        prefix = lower;
    }
    if (!query_done(req, &v))
        return;
    struct db *db;
    struct db_error err;
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_archive_mailbox_list(db, prefix, page.has_after, page.after, page.limit, &items,
                                     &last, &more, &err);
    api_reply_list(req, rc, items, more, last, MAILBOX_LIST_CURSOR);
}

void api_archive_mailbox(struct request *req)
{
    char address[MSE_MAX_ADDRESS + 1];
    if (!path_address(req, address) || !api_no_query(req))
        return;
    struct db *db;
    struct db_error err;
    char *json = NULL;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_archive_mailbox_get(db, address, &json, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, "no replicated mailbox with this address");
        return;
    }
    /* Counts change with every submission: the ETag is a hash of what is shown. */
    char hex[65], etag[36];
    mse_crypto_sha256_hex(json, strlen(json), hex);
    snprintf(etag, sizeof(etag), "\"%.32s\"", hex);
    http_add_header(req, "ETag", etag);
    (void)http_reply_json_take(req, 200, json);
}

/* A list below a mailbox: the query parameters it takes, its cursor kind, its query. */
struct archive_list {
    const char *const *args;
    char cursor;
    enum mse_rc (*run)(struct db *db, const struct archive_query *q, char **items,
                       int64_t *last_seq, bool *more, struct db_error *err);
};

static const char *const folder_args[] = { "limit", "cursor", "include_deleted", "as_of", NULL };
static const char *const item_args[] = { "limit",           "cursor", "folder_id", "folder_path",
                                         "include_deleted", "as_of",  NULL };
static const char *const appointment_args[] = { "limit", "cursor", "folder_id", "folder_path",
                                                "from",  "to",     NULL };
static const struct archive_list folder_list = { folder_args, FOLDER_CURSOR,
                                                 db_archive_folder_list };
static const struct archive_list item_list = { item_args, ITEM_CURSOR, db_archive_item_list };
static const struct archive_list appointment_list = { appointment_args, APPOINTMENT_CURSOR,
                                                      db_archive_appointment_list };

/*
 * The as_of parameter (a past instant: the archive as it was then), checked as RFC 3339 and
 * handed to PostgreSQL as given, fractions of a second included; NULL when absent.
 */
static const char *as_of_read(struct request *req, struct verr *v)
{
    time_t t;
    const char *s = NULL;
    if (!query_time(req, "as_of", v, &t))
        return NULL;
    return query_text(req, "as_of", 64, v, &s) ? s : NULL;
}

/* Reads a list's query parameters into q; false after answering 400. */
static bool list_query(struct request *req, const struct archive_list *l, struct archive_query *q)
{
    struct verr v;
    struct page page;
    verr_init(&v);
    query_check(req, l->args, &v);
    query_page(req, l->cursor, &page, &v);
    (void)query_text(req, "folder_id", ARCHIVE_MAX_ID, &v, &q->folder_id);
    (void)query_text(req, "folder_path", MSE_MAX_FOLDER_PATH, &v, &q->folder_path);
    (void)query_bool(req, "include_deleted", &v, &q->include_deleted);
    q->as_of = as_of_read(req, &v);
    q->has_from = query_time(req, "from", &v, &q->from);
    q->has_to = query_time(req, "to", &v, &q->to);
    if (q->has_from && q->has_to && q->from > q->to)
        verr_add(&v, "to", "must not be before from");
    q->has_after = page.has_after;
    q->after = page.after;
    q->limit = page.limit;
    return query_done(req, &v);
}

/* Reads a list's query and mailbox, then answers with the page. */
static void list_reply(struct request *req, const struct archive_list *l)
{
    char address[MSE_MAX_ADDRESS + 1];
    struct archive_query q = { 0 };
    struct db *db;
    if (!path_address(req, address) || !list_query(req, l, &q) || !mailbox_known(req, address, &db))
        return;
    q.address = address;
    struct db_error err;
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    enum mse_rc rc = l->run(db, &q, &items, &last, &more, &err);
    api_reply_list(req, rc, items, more, last, l->cursor);
}

void api_archive_folders(struct request *req)
{
    list_reply(req, &folder_list);
}

void api_archive_items(struct request *req)
{
    list_reply(req, &item_list);
}

void api_archive_appointments(struct request *req)
{
    list_reply(req, &appointment_list);
}

/* The {sha256} placeholder at index i: 64 lowercase hex digits; false after answering 404. */
static bool path_sha256_at(struct request *req, unsigned i, char out[65])
{
    const char *s = req->nparams > i ? req->params[i] : "";
    bool ok = strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
    if (!ok) {
        problem_send(req, 404, "content is addressed by its SHA-256 in lowercase hex");
        return false;
    }
    memcpy(out, s, 65);
    return true;
}

static bool path_sha256(struct request *req, char out[65])
{
    return path_sha256_at(req, 1, out);
}

/* Sends the content, verified against its address (the validators were added already). */
static void content_send(struct request *req, const char *sha, const char *etag,
                         const struct archive_attachment *a)
{
    struct mse_err serr = { { 0 } };
    int fd = -1;
    int64_t size = 0;
    enum mse_rc rc = blobstore_open_verified(req->srv->blobs, sha, &fd, &size, &serr);
    if (rc != MSE_OK) {
        api_blob_problem(req, rc, &serr, "the attachment's content is not stored");
        return;
    }
    api_download_send(req, fd, size, etag, a->content_type, a->name);
}

/*
 * Answers a download of stored content: content-addressed, so the hash is a strong validator
 * that never changes (ETag, If-None-Match → 304), then the content whole or the range asked.
 */
static void content_download(struct request *req, const char *sha,
                             const struct archive_attachment *a)
{
    char etag[68];
    snprintf(etag, sizeof(etag), "\"%s\"", sha);
    if (!api_download_not_modified(req, etag))
        content_send(req, sha, etag, a);
}

/* A message's content as a file: message/rfc822 named after its hash. */
static void message_download(struct request *req, const char *sha)
{
    char name[80];
    snprintf(name, sizeof(name), "%.16s.eml", sha);
    struct archive_attachment a = { .name = name, .content_type = "message/rfc822" };
    content_download(req, sha, &a);
}

void api_archive_attachment(struct request *req)
{
    static const char *const allowed[] = { "attachment_id", NULL };
    char address[MSE_MAX_ADDRESS + 1], sha[65];
    const char *attachment_id = NULL;
    struct verr v;
    if (!path_address(req, address) || !path_sha256(req, sha))
        return;
    verr_init(&v);
    query_check(req, allowed, &v);
    (void)query_text(req, "attachment_id", ARCHIVE_MAX_ID, &v, &attachment_id);
    if (!query_done(req, &v))
        return;
    struct db *db;
    struct db_error err;
    struct archive_attachment a;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_archive_attachment_find(db, address, sha, attachment_id, &a, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc, "no appointment of this mailbox has this attachment");
        return;
    }
    content_download(req, sha, &a);
    archive_attachment_cleanup(&a);
}

/* An address filter in lower case, the form the archive stores; true when present and valid. */
static bool query_address(struct request *req, const char *name, struct verr *v,
                          char out[MSE_MAX_ADDRESS + 1])
{
    const char *s = NULL;
    if (!query_text(req, name, MSE_MAX_ADDRESS, v, &s))
        return false;
    size_t i = 0;
    for (; s[i]; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
    return true;
}

/* Reads the search's query parameters into *s; false after answering 400. */
static bool search_query(struct request *req, struct journal_search *s,
                         char addr[3][MSE_MAX_ADDRESS + 1])
{
    static const char *const allowed[] = { "q",      "mailbox",  "from",
                                           "to",     "after",    "before",
                                           "folder", "versions", "has_attachments",
                                           "limit",  "cursor",   NULL };
    static const char *const versions[] = { "current", "all", NULL };
    struct verr v;
    struct page page;
    bool attachments = false;
    int which = 0;
    verr_init(&v);
    query_check(req, allowed, &v);
    query_page(req, SEARCH_CURSOR, &page, &v);
    (void)query_text(req, "q", SEARCH_MAX_QUERY, &v, &s->q);
    if (query_address(req, "mailbox", &v, addr[0]))
        s->mailbox = addr[0];
    if (query_address(req, "from", &v, addr[1]))
        s->from = addr[1];
    if (query_address(req, "to", &v, addr[2]))
        s->to = addr[2];
    s->has_after = query_time(req, "after", &v, &s->after);
    s->has_before = query_time(req, "before", &v, &s->before);
    if (s->has_after && s->has_before && s->after > s->before)
        verr_add(&v, "before", "must not be before after");
    if (query_bool(req, "has_attachments", &v, &attachments))
        s->has_attachments = attachments ? "true" : "false";
    (void)query_text(req, "folder", MSE_MAX_FOLDER_PATH, &v, &s->folder);
    if (query_enum(req, "versions", versions, &v, &which))
        s->all_versions = which == 1;
    s->has_cursor = page.has_after;
    s->cursor = page.after;
    s->limit = page.limit;
    return query_done(req, &v);
}

void api_archive_search(struct request *req)
{
    struct journal_search s = { 0 };
    char addr[3][MSE_MAX_ADDRESS + 1];
    if (!search_query(req, &s, addr))
        return;
    struct db *db;
    struct db_error err;
    char *items = NULL;
    int64_t last = 0;
    bool more = false;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_journal_search(db, &s, &items, &last, &more, &err);
    api_reply_list(req, rc, items, more, last, SEARCH_CURSOR);
}

void api_archive_message_content(struct request *req)
{
    char sha[65];
    if (!path_sha256_at(req, 0, sha) || !api_no_query(req))
        return;
    struct db *db;
    struct db_error err;
    bool found = false;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_journal_content_find(db, sha, &found, &err);
    if (rc != MSE_OK || !found) {
        problem_send_rc(req, rc == MSE_OK ? MSE_ERR_NOT_FOUND : rc,
                        "no archived message has this content");
        return;
    }
    message_download(req, sha);
}

/*
 * A restore's message content for the site executing it (docs/restore.md): only the content of
 * the items of a restore assigned to the caller's site, while the restore is to be executed.
 * Anything else is 404 alike, so a site cannot probe what other sites' restores hold.
 */
void api_worker_restore_content(struct request *req)
{
    char id[37], sha[65], state[16];
    if (!api_path_uuid(req, 0, "restore", id) || !path_sha256_at(req, 1, sha) || !api_no_query(req))
        return;
    struct db *db;
    struct db_error err;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_restore_content_state(db, id, req->principal.site_id, sha, state, &err);
    if (rc != MSE_OK)
        problem_send_rc(req, rc, "no restore assigned to this site has an item with this content");
    else if (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0)
        problem_send(req, 409, "the restore is %s: its content is read while it is executed",
                     state);
    else
        message_download(req, sha);
}

/*
 * The {item_id} placeholder: an EWS id whose '/' the content URL writes as '~' (a path
 * segment cannot carry '/'); false after answering 404.
 */
static bool path_item_id(struct request *req, char out[ARCHIVE_MAX_ID + 1])
{
    const char *s = req->nparams > 1 ? req->params[1] : "";
    size_t n = strlen(s);
    if (n == 0 || n > ARCHIVE_MAX_ID) {
        problem_send(req, 404, "no archived message of this mailbox has this id");
        return false;
    }
    for (size_t i = 0; i <= n; i++)
        out[i] = s[i] == '~' ? '/' : s[i];
    return true;
}

void api_archive_item_content(struct request *req)
{
    static const char *const allowed[] = { "as_of", NULL };
    char address[MSE_MAX_ADDRESS + 1], item_id[ARCHIVE_MAX_ID + 1], sha[65];
    struct verr v;
    if (!path_address(req, address) || !path_item_id(req, item_id))
        return;
    verr_init(&v);
    query_check(req, allowed, &v);
    const char *as_of = as_of_read(req, &v);
    if (!query_done(req, &v))
        return;
    struct db *db;
    struct db_error err;
    enum mse_rc rc = http_db(req, &db);
    if (rc == MSE_OK)
        rc = db_archive_item_content(db, address, item_id, as_of, sha, &err);
    if (rc != MSE_OK) {
        problem_send_rc(req, rc,
                        as_of ? "no archived message of this mailbox had this id and "
                                "content then"
                              : "no archived message of this mailbox has this id and "
                                "content");
        return;
    }
    message_download(req, sha);
}
