/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The producer of exports: claim, stream the selection into a staging file (ZIP of EML files,
 * mbox or a ZIP of them, iCalendar), rename it into place, record the outcome. A claim holds
 * the export's advisory lock on this thread's connection, so another server can tell a
 * producer that is gone from one that is working (schema 044).
 */
#include "exports.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blobstore.h"
#include "db.h"
#include "db_export.h"
#include "ics.h"
#include "log.h"
#include "mboxrd.h"
#include "server.h"

/* Room for a directory's name: what file systems take (255 bytes), less a uniquifier. */
#define ZIP_COMPONENT_MAX 240
#define ZIP_DIR_MAX       1024

/* A directory of the ZIP given to a folder path's prefix (both malloc'd). */
struct zip_named {
    char *path, *dir;
};

/* Rows per page of the selection, and how often progress (and cancellation) is looked at. */
#define EXPORTS_PAGE 200

struct exports {
    struct server_ctx *srv;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_bool stop;
    struct db *db;
    struct db *snap;   /* the reads of a production: one snapshot (a second connection) */
    bool swept;        /* the exports directory was swept since start-up */
    unsigned delay_ms; /* MSE_EXPORT_TEST_DELAY_MS: for tests only, a pause after each item */
};

bool exports_path(const char *data_dir, const char *id, int64_t attempt, char out[EXPORTS_PATH_MAX])
{
    int n = attempt > 0 ? snprintf(out, EXPORTS_PATH_MAX, "%s/exports/%s.%lld.part", data_dir, id,
                                   (long long)attempt)
                        : snprintf(out, EXPORTS_PATH_MAX, "%s/exports/%s", data_dir, id);
    return n > 0 && n < EXPORTS_PATH_MAX;
}

static void path_remove(const char *id, const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        LOG_WARN(NULL, "export %s: cannot remove %s: %s", id, path, strerror(errno));
}

/* Removes the staging files of an export's attempts 1 … upto (absent is fine). */
static void staging_remove(const struct exports *ex, const char *id, int64_t upto)
{
    char path[EXPORTS_PATH_MAX];
    for (int64_t k = 1; k <= upto; k++)
        if (exports_path(ex->srv->cfg.data_dir, id, k, path))
            path_remove(id, path);
}

/* A lost producer's export was recovered: the staging files of its attempts go. */
static void recovered_remove(void *arg, const char *id, int64_t attempts)
{
    staging_remove(arg, id, attempts);
}

/* An expiring export's file (absent is fine). */
static void final_remove(void *arg, const char *id, int64_t attempts)
{
    const struct exports *ex = arg;
    char path[EXPORTS_PATH_MAX];
    (void)attempts;
    if (exports_path(ex->srv->cfg.data_dir, id, 0, path))
        path_remove(id, path);
}

/*
 * At start-up: a file no row accounts for is removed (a crash between a row's change and its
 * file's removal left it). A file is an export's while it is completed or running (it is being
 * put in place, or it will be produced again); a staging file while its attempt runs.
 */
static enum mse_rc exports_sweep(struct exports *ex, struct db_error *err)
{
    char dir[EXPORTS_PATH_MAX], path[EXPORTS_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/exports", ex->srv->cfg.data_dir);
    DIR *d = opendir(dir);
    if (!d)
        return MSE_OK;
    enum mse_rc rc = MSE_OK;
    for (struct dirent *e; rc == MSE_OK && (e = readdir(d));) {
        char id[37], state[16];
        long long attempt = 0;
        int64_t attempts = 0;
        size_t len = strlen(e->d_name);
        if (len < 36 || e->d_name[0] == '.')
            continue;
        memcpy(id, e->d_name, 36);
        id[36] = '\0';
        bool staging = len > 36;
        /* <id>.<attempt>.part, or <id>.part as the first release named them (attempt 0). */
        if (staging && strcmp(e->d_name + 36, ".part") != 0) {
            char *end = NULL;
            attempt = e->d_name[36] == '.' ? strtoll(e->d_name + 37, &end, 10) : 0;
            if (attempt <= 0 || !end || strcmp(end, ".part") != 0)
                continue; /* not a name exports give */
        }
        rc = db_export_file_owner(ex->db, id, state, &attempts, err);
        if (rc == MSE_ERR_INVALID) { /* not a uuid: not ours */
            rc = MSE_OK;
            continue;
        }
        bool keep = staging ? strcmp(state, "running") == 0 && attempt == attempts
                            : strcmp(state, "completed") == 0 || strcmp(state, "running") == 0;
        if (rc == MSE_OK && !keep &&
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path)) {
            LOG_INFO(NULL, "export %s: removing %s, which no export accounts for", id, path);
            path_remove(id, path);
        }
    }
    closedir(d);
    return rc;
}

/* ---- the output: a file hashed and counted as it is written ---- */

struct out {
    int fd;
    EVP_MD_CTX *md;
    int64_t bytes;
    int error; /* errno of the first failed write */
};

static bool out_write(struct out *o, const void *data, size_t n)
{
    const char *p = data;
    for (size_t done = 0; done < n && !o->error;) {
        ssize_t w = write(o->fd, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            o->error = w < 0 ? errno : EIO;
        else
            done += (size_t)w;
    }
    if (o->error)
        return false;
    EVP_DigestUpdate(o->md, data, n);
    o->bytes += (int64_t)n;
    return true;
}

static la_ssize_t archive_out(struct archive *a, void *arg, const void *data, size_t n)
{
    (void)a;
    return out_write(arg, data, n) ? (la_ssize_t)n : -1;
}

/* ---- one production ---- */

enum outcome { OUT_DONE, OUT_CANCELLED, OUT_STOPPING, OUT_FAILED };

struct production {
    struct exports *ex;
    const struct db_export_claimed *c;
    struct db_export_counts n;
    struct out out;
    struct archive *zip; /* eml_zip, or mbox of several folders */
    bool entry_open;
    char folder[1024];         /* the folder being written (mbox: the entry's) */
    char dir[ZIP_DIR_MAX + 1]; /* its directory in the ZIP ("Inbox/Projects/") */
    struct zip_named *named;   /* the directories given so far */
    size_t n_named, cap_named;
    unsigned number; /* messages written, for entry names */
    struct mboxrd_quoter quoter;
    struct timespec progressed; /* when progress was last recorded */
    char code[64];
    char text[512];
    char buf[BLOBSTORE_CHUNK];
    char quoted[2 * BLOBSTORE_CHUNK + 128];
};

/* Records why the production failed (the first reason wins). */
__attribute__((format(printf, 3, 4))) static enum outcome
fail(struct production *p, const char *code, const char *fmt, ...)
{
    if (!p->code[0]) {
        va_list ap;
        va_start(ap, fmt);
        snprintf(p->code, sizeof(p->code), "%s", code);
        vsnprintf(p->text, sizeof(p->text), fmt, ap);
        va_end(ap);
    }
    return OUT_FAILED;
}

static enum outcome write_failed(struct production *p)
{
    if (p->out.error)
        return fail(p, p->out.error == ENOSPC ? "disk_full" : "io_error",
                    "writing the export's file failed: %s", strerror(p->out.error));
    return fail(p, "archive_error", "the ZIP could not be written: %s",
                p->zip ? archive_error_string(p->zip) : "?");
}

/* Records a problem with an item (the first ones are kept, with why). */
static enum outcome item_note(struct production *p, const char *item_id, const char *path,
                              const char *code, const char *detail)
{
    struct db_error err;
    if (db_export_error_add(p->ex->db, p->c, item_id, path, code, detail, &err) != MSE_OK)
        return fail(p, "database", "recording a skipped item failed: %s", err.message);
    return OUT_DONE;
}

/* An item left out of the file: counted and noted. */
static enum outcome item_skip(struct production *p, const char *item_id, const char *path,
                              const char *code, const char *detail)
{
    p->n.skipped++;
    return item_note(p, item_id, path, code, detail);
}

/*
 * One component of a folder path as every unpacker takes it: characters that are separators
 * or controls elsewhere become '_', trailing dots and spaces go (Windows drops them), one made
 * only of them is "_", and a long one is cut where a UTF-8 character begins.
 */
static size_t zip_component(const char *s, size_t len, char *out)
{
    size_t w = 0;
    if (len > ZIP_COMPONENT_MAX) {
        len = ZIP_COMPONENT_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        out[w++] = c < 0x20 || c == 0x7f || strchr("\\:*?\"<>|", c) ? '_' : (char)c;
    }
    while (w > 0 && (out[w - 1] == '.' || out[w - 1] == ' '))
        w--;
    if (w == 0)
        out[w++] = '_';
    out[w] = '\0';
    return w;
}

/* Whether a directory name is taken, case folded (unpackers on Windows and macOS fold). */
static bool zip_taken(const struct production *p, const char *dir)
{
    for (size_t i = 0; i < p->n_named; i++)
        if (strcasecmp(p->named[i].dir, dir) == 0)
            return true;
    return false;
}

/*
 * A folder path as ZIP entry directories ("Inbox/Projects/"), each prefix of the path given
 * its own: two folders whose names sanitise (or case fold) to one directory get "~2", "~3"…,
 * so neither's mail lands in the other's. false: out of memory.
 */
static bool zip_dir(struct production *p, const char *path, char out[ZIP_DIR_MAX])
{
    size_t w = 0;
    out[0] = '\0';
    for (const char *s = path; *s;) {
        s += strspn(s, "/");
        size_t len = strcspn(s, "/");
        if (len == 0)
            break;
        size_t prefix = (size_t)(s + len - path);
        struct zip_named *known = NULL;
        for (size_t i = 0; i < p->n_named && !known; i++)
            if (strncmp(p->named[i].path, path, prefix) == 0 && !p->named[i].path[prefix])
                known = &p->named[i];
        if (known) {
            w = (size_t)snprintf(out, ZIP_DIR_MAX, "%s", known->dir);
        } else {
            char comp[ZIP_COMPONENT_MAX + 1], dir[ZIP_DIR_MAX];
            zip_component(s, len, comp);
            int n = snprintf(dir, sizeof(dir), "%s%s%s", out, w ? "/" : "", comp);
            for (unsigned k = 2; n > 0 && n < (int)sizeof(dir) && zip_taken(p, dir); k++)
                n = snprintf(dir, sizeof(dir), "%s%s%s~%u", out, w ? "/" : "", comp, k);
            if (n < 0 || n >= (int)sizeof(dir) - 1)
                break; /* deeper than a name can be: the rest of the path is left out */
            if (p->n_named == p->cap_named) {
                size_t cap = p->cap_named ? 2 * p->cap_named : 16;
                struct zip_named *grown = realloc(p->named, cap * sizeof(*grown));
                if (!grown)
                    return false;
                p->named = grown;
                p->cap_named = cap;
            }
            struct zip_named *e = &p->named[p->n_named];
            e->path = strndup(path, prefix);
            e->dir = strdup(dir);
            if (!e->path || !e->dir) {
                free(e->path);
                free(e->dir);
                return false;
            }
            p->n_named++;
            w = (size_t)n;
            memcpy(out, dir, w + 1);
        }
        s += len;
    }
    if (w == 0)
        out[w++] = '_';
    out[w++] = '/';
    out[w] = '\0';
    return true;
}

static void zip_named_free(struct production *p)
{
    for (size_t i = 0; i < p->n_named; i++) {
        free(p->named[i].path);
        free(p->named[i].dir);
    }
    free(p->named);
}

/* Starts a ZIP entry (size < 0: unknown, written with a data descriptor). */
static bool entry_begin(struct production *p, const char *name, int64_t size, time_t mtime)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return false;
    archive_entry_set_pathname_utf8(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, mtime > 0 ? mtime : time(NULL), 0);
    if (size >= 0)
        archive_entry_set_size(e, size);
    bool ok = archive_write_header(p->zip, e) == ARCHIVE_OK;
    archive_entry_free(e);
    p->entry_open = ok;
    return ok;
}

static bool entry_end(struct production *p)
{
    bool ok = !p->entry_open || archive_write_finish_entry(p->zip) == ARCHIVE_OK;
    p->entry_open = false;
    return ok;
}

/* Writes to the ZIP's current entry or, without a ZIP, to the file. */
static bool data_write(struct production *p, const void *data, size_t n)
{
    if (!p->zip)
        return out_write(&p->out, data, n);
    return n == 0 || archive_write_data(p->zip, data, n) == (la_ssize_t)n;
}

/*
 * Copies a message's verified content; an mbox message is quoted as it goes. Content the
 * store cannot give is a skipped item; an unreachable store fails the export.
 */
static enum outcome message_copy(struct production *p, const struct db_export_message *m, bool mbox)
{
    struct mse_err serr = { { 0 } };
    int fd = -1;
    int64_t size = 0;
    if (!m->sha256)
        return item_skip(p, m->item_id, m->folder_path, "no_content",
                         "archived without its MIME content");
    enum mse_rc rc = blobstore_open_verified(p->ex->srv->blobs, m->sha256, &fd, &size, &serr);
    if (rc == MSE_ERR_UNAVAILABLE)
        return fail(p, "store_unavailable", "the blob store cannot be reached: %s", serr.msg);
    if (rc != MSE_OK)
        return item_skip(p, m->item_id, m->folder_path,
                         rc == MSE_ERR_CRYPTO ? "content_corrupt" : "content_missing", serr.msg);
    bool ok = true;
    if (!mbox) {
        char name[ZIP_DIR_MAX + 64];
        snprintf(name, sizeof(name), "%s%06u-%.12s.eml", p->dir, ++p->number, m->sha256);
        ok = entry_begin(p, name, size, m->at);
    } else {
        char line[MBOXRD_FROM_LINE_MAX];
        size_t n = mboxrd_from_line(m->sender, m->at, line);
        ok = data_write(p, line, n);
        mboxrd_quoter_init(&p->quoter);
    }
    for (ssize_t r = 1; ok && r > 0;) {
        r = read(fd, p->buf, sizeof(p->buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close(fd);
            return fail(p, "io_error", "reading stored content failed: %s", strerror(errno));
        }
        if (!mbox)
            ok = data_write(p, p->buf, (size_t)r);
        else
            ok = data_write(p, p->quoted, mboxrd_quote(&p->quoter, p->buf, (size_t)r, p->quoted));
    }
    close(fd);
    if (ok && mbox)
        ok = data_write(p, p->quoted, mboxrd_finish(&p->quoter, p->quoted));
    if (ok && !mbox)
        ok = entry_end(p);
    if (!ok)
        return write_failed(p);
    p->n.items++;
    return OUT_DONE;
}

/* A new folder begins: counted, and in a ZIP of mbox files a new entry. */
static enum outcome folder_next(struct production *p, const char *path, bool mbox)
{
    if (strcmp(p->folder, path) == 0 && p->n.folders > 0)
        return OUT_DONE;
    /* One snapshot counted one folder: another one here means the reads disagree. */
    if (mbox && !p->zip && p->n.folders > 0)
        return fail(p, "inconsistent_read",
                    "a second folder (%s) appeared in a selection counted as one", path);
    snprintf(p->folder, sizeof(p->folder), "%s", path);
    p->n.folders++;
    if (!p->zip)
        return OUT_DONE;
    if (!zip_dir(p, path, p->dir))
        return fail(p, "out_of_memory", "%s", "out of memory");
    if (!mbox)
        return OUT_DONE;
    char name[ZIP_DIR_MAX + 8];
    /* "Inbox/Sub/" → "Inbox/Sub.mbox" */
    snprintf(name, sizeof(name), "%.*s.mbox", (int)strlen(p->dir) - 1, p->dir);
    if (!entry_end(p) || !entry_begin(p, name, -1, time(NULL)))
        return write_failed(p);
    return OUT_DONE;
}

/* Progress (the bytes written so far too), and whether to go on. */
static enum outcome progress(struct production *p)
{
    struct db_error err;
    bool running = false;
    p->n.bytes = p->out.bytes;
    clock_gettime(CLOCK_MONOTONIC, &p->progressed);
    if (db_export_progress(p->ex->db, p->c, &p->n, &running, &err) != MSE_OK)
        return fail(p, "database", "recording progress failed: %s", err.message);
    if (!running)
        return OUT_CANCELLED;
    return atomic_load(&p->ex->stop) ? OUT_STOPPING : OUT_DONE;
}

/* After an item: progress too when a second has passed since the last (a page may be long). */
static enum outcome item_done(struct production *p)
{
    struct timespec now;
    if (p->ex->delay_ms)
        usleep(p->ex->delay_ms * 1000u);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - p->progressed.tv_sec >= 1)
        return progress(p);
    return OUT_DONE;
}

/* Every selected message, folder by folder (eml_zip and mbox). */
static enum outcome messages_write(struct production *p, bool mbox)
{
    char *after = NULL;
    int64_t after_seq = 0;
    enum outcome o = OUT_DONE;
    for (int rows = EXPORTS_PAGE; o == OUT_DONE && rows == EXPORTS_PAGE;) {
        struct db_res res;
        struct db_error err;
        if (db_export_messages(p->ex->snap, p->c->selection, p->c->as_of, after, after_seq,
                               EXPORTS_PAGE, &res, &err) != MSE_OK) {
            o = fail(p, "database", "reading the selection failed: %s", err.message);
            break;
        }
        rows = db_res_rows(&res);
        for (int i = 0; o == OUT_DONE && i < rows; i++) {
            struct db_export_message m;
            db_export_message_at(&res, i, &m);
            o = folder_next(p, m.folder_path, mbox);
            if (o == OUT_DONE)
                o = message_copy(p, &m, mbox);
            if (o == OUT_DONE)
                o = item_done(p);
            /* A message may be large: a stopping server does not wait for the page's end. */
            if (o == OUT_DONE && atomic_load(&p->ex->stop))
                o = OUT_STOPPING;
            if (i == rows - 1) {
                free(after);
                after = strdup(m.folder_path);
                after_seq = m.seq;
                if (!after)
                    o = fail(p, "out_of_memory", "%s", "out of memory");
            }
        }
        db_res_clear(&res);
        if (o == OUT_DONE)
            o = progress(p);
    }
    free(after);
    return o;
}

/* Every selected appointment as VEVENTs between libical's calendar lines. */
static enum outcome events_write(struct production *p)
{
    char *head = NULL, *tail = NULL, *after = NULL;
    int64_t after_seq = 0;
    if (ics_envelope(&head, &tail) != MSE_OK)
        return fail(p, "out_of_memory", "%s", "out of memory");
    enum outcome o = out_write(&p->out, head, strlen(head)) ? OUT_DONE : write_failed(p);
    for (int rows = EXPORTS_PAGE; o == OUT_DONE && rows == EXPORTS_PAGE;) {
        struct db_res res;
        struct db_error err;
        if (db_export_appointments(p->ex->snap, p->c->selection, after, after_seq, EXPORTS_PAGE,
                                   &res, &err) != MSE_OK) {
            o = fail(p, "database", "reading the selection failed: %s", err.message);
            break;
        }
        rows = db_res_rows(&res);
        for (int i = 0; o == OUT_DONE && i < rows; i++) {
            struct db_export_appointment a;
            char *text = NULL;
            bool approximate = false;
            if (db_export_appointment_at(&res, i, &a) != MSE_OK ||
                ics_event_text(&a.event, &text, &approximate) != MSE_OK)
                o = fail(p, "out_of_memory", "%s", "out of memory");
            if (o == OUT_DONE)
                o = folder_next(p, a.folder_path, false);
            if (o == OUT_DONE && !out_write(&p->out, text, strlen(text)))
                o = write_failed(p);
            if (o == OUT_DONE)
                p->n.items++;
            if (o == OUT_DONE)
                o = item_done(p);
            /* Written, but its recurrence is not: say so where the administrator looks. */
            if (o == OUT_DONE && approximate)
                o = item_note(p, a.event.item_id, a.folder_path, "recurrence_not_exported",
                              "the series' pattern has no iCalendar form here: only its first "
                              "occurrence is in the file");
            if (i == rows - 1 && o == OUT_DONE) {
                free(after);
                after = strdup(a.folder_path);
                after_seq = a.seq;
                if (!after)
                    o = fail(p, "out_of_memory", "%s", "out of memory");
            }
            free(text);
            db_export_appointment_cleanup(&a);
        }
        db_res_clear(&res);
        if (o == OUT_DONE)
            o = progress(p);
    }
    if (o == OUT_DONE && !out_write(&p->out, tail, strlen(tail)))
        o = write_failed(p);
    free(head);
    free(tail);
    free(after);
    return o;
}

/* Opens the ZIP writer over the output. */
static bool zip_open(struct production *p)
{
    p->zip = archive_write_new();
    if (!p->zip || archive_write_set_format_zip(p->zip) != ARCHIVE_OK)
        return false;
    /* Names are UTF-8 (the ZIP's language encoding flag says so); no padding at the end. */
    (void)archive_write_set_option(p->zip, "zip", "hdrcharset", "UTF-8");
    archive_write_set_bytes_in_last_block(p->zip, 1);
    return archive_write_open(p->zip, &p->out, NULL, archive_out, NULL) == ARCHIVE_OK;
}

static bool zip_close(struct production *p)
{
    bool ok = entry_end(p) && archive_write_close(p->zip) == ARCHIVE_OK;
    archive_write_free(p->zip);
    p->zip = NULL;
    return ok;
}

/* Writes the file's content in the export's format; *media_type and *ext say what it is. */
static enum outcome content_write(struct production *p, const char **media_type, const char **ext)
{
    const char *format = p->c->format;
    if (strcmp(format, "ics") == 0) {
        *media_type = "text/calendar";
        *ext = "ics";
        return events_write(p);
    }
    bool mbox = strcmp(format, "mbox") == 0;
    int64_t folders = 0;
    struct db_error err;
    if (mbox &&
        db_export_folder_count(p->ex->snap, p->c->selection, p->c->as_of, &folders, &err) != MSE_OK)
        return fail(p, "database", "reading the selection failed: %s", err.message);
    /* One folder is one mbox file; several are a ZIP of them. */
    bool zip = !mbox || folders > 1;
    *media_type = zip ? "application/zip" : "application/mbox";
    *ext = zip ? "zip" : "mbox";
    if (zip && !zip_open(p))
        return write_failed(p);
    enum outcome o = messages_write(p, mbox);
    if (zip && !zip_close(p) && o == OUT_DONE)
        o = write_failed(p);
    return o;
}

/* The download's name: <mailbox>-<as_of to the second>.<ext>, from as_of's digits. */
static void file_name(const struct db_export_claimed *c, const char *ext, char *out, size_t size)
{
    char stamp[24];
    size_t w = 0;
    for (const char *s = c->as_of; *s && *s != '.' && w < 15; s++)
        if ((*s >= '0' && *s <= '9') || *s == 'T')
            stamp[w++] = *s;
    stamp[w] = '\0';
    snprintf(out, size, "%s-%sZ.%s", c->mailbox, stamp, ext);
}

/*
 * Puts the staging file in place and records the export completed, both under its row's lock
 * and only while the claim is still this attempt's: a producer that lost its claim never
 * replaces another attempt's file. OUT_CANCELLED when the claim is gone.
 */
static enum outcome complete(struct production *p, const char *staging, const char *final,
                             const char *media_type, const char *ext, const char *sha)
{
    struct db *db = p->ex->db;
    struct db_error err;
    bool held = false, running = false;
    char name[400], dir[EXPORTS_PATH_MAX];
    if (fsync(p->out.fd) != 0) {
        p->out.error = errno;
        return write_failed(p);
    }
    file_name(p->c, ext, name, sizeof(name));
    if (db_begin(db, &err) != MSE_OK || db_export_fence(db, p->c, &held, &err) != MSE_OK) {
        db_rollback(db);
        return fail(p, "database", "recording the outcome failed: %s", err.message);
    }
    if (!held) {
        db_rollback(db);
        return OUT_CANCELLED;
    }
    if (rename(staging, final) != 0) {
        p->out.error = errno;
        db_rollback(db);
        return write_failed(p);
    }
    snprintf(dir, sizeof(dir), "%s/exports", p->ex->srv->cfg.data_dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    if (db_export_complete(db, p->c, &p->n, sha, name, media_type, &running, &err) != MSE_OK ||
        db_commit(db, &err) != MSE_OK) {
        db_rollback(db);
        /* The file stays: whether the row says completed is not known here. Should it not, the
         * export is produced again over it (or the start-up sweep removes it). */
        LOG_WARN(NULL, "export %s: its completion was not recorded: %s", p->c->id, err.message);
        return OUT_DONE;
    }
    LOG_INFO(NULL, "export %s completed: %lld item(s), %lld byte(s)", p->c->id,
             (long long)p->n.items, (long long)p->out.bytes);
    return OUT_DONE;
}

/*
 * Records an outcome other than completion. The staging file is this attempt's alone (its
 * name carries the attempt, created exclusively): removed before the row is given back, so a
 * next claim of the same attempt number finds its name free.
 */
static void outcome_record(struct production *p, enum outcome o, const char *staging)
{
    const struct db_export_claimed *c = p->c;
    struct db_error err = { .message = "" };
    enum mse_rc rc = MSE_OK;
    if (p->out.fd >= 0)
        path_remove(c->id, staging);
    p->n.bytes = p->out.bytes;
    if (o == OUT_STOPPING) {
        rc = db_export_requeue(p->ex->db, c, &err);
    } else if (o == OUT_FAILED) {
        LOG_WARN(NULL, "export %s failed: %s (%s)", c->id, p->text, p->code);
        rc = db_export_fail(p->ex->db, c, &p->n, p->code, p->text, &err);
    }
    if (rc != MSE_OK)
        LOG_WARN(NULL, "export %s: its outcome was not recorded: %s", c->id, err.message);
}

/*
 * Opens the production's snapshot: the folder count and every page are read as of one
 * instant, so the file is the selection as one consistent state of the archive (at the cost
 * of holding back vacuum's horizon while the export runs).
 */
static enum mse_rc snapshot_begin(struct exports *ex, struct db_error *err)
{
    enum mse_rc rc = MSE_OK;
    if (!ex->snap)
        rc = db_connect(ex->srv->cfg.database_url, &ex->snap, err);
    if (rc == MSE_OK)
        rc = db_begin(ex->snap, err);
    if (rc == MSE_OK)
        rc = db_exec_script(ex->snap, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                            err);
    if (rc != MSE_OK && ex->snap) {
        db_close(ex->snap); /* a broken one is opened again next time */
        ex->snap = NULL;
    }
    return rc;
}

static void produce(struct exports *ex, const struct db_export_claimed *c)
{
    struct production *p = calloc(1, sizeof(*p));
    char staging[EXPORTS_PATH_MAX], final[EXPORTS_PATH_MAX], sha[65] = "";
    const char *media_type = NULL, *ext = NULL;
    enum outcome o = OUT_FAILED;
    struct db_error err;
    if (!p) {
        LOG_WARN(NULL, "export %s: out of memory; it is given back", c->id);
        return;
    }
    p->ex = ex;
    p->c = c;
    p->out.fd = -1;
    p->out.md = EVP_MD_CTX_new();
    clock_gettime(CLOCK_MONOTONIC, &p->progressed);
    LOG_INFO(NULL, "export %s (%s of %s as of %s) started", c->id, c->format, c->mailbox, c->as_of);
    if (!exports_path(ex->srv->cfg.data_dir, c->id, c->attempt, staging) ||
        !exports_path(ex->srv->cfg.data_dir, c->id, 0, final)) {
        o = fail(p, "io_error", "%s", "the data directory's path is too long");
    } else if (!p->out.md || !EVP_DigestInit_ex(p->out.md, EVP_sha256(), NULL)) {
        o = fail(p, "out_of_memory", "%s", "out of memory");
    } else if ((p->out.fd = open(staging, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        o = fail(p, "io_error", "the export's file cannot be created: %s", strerror(errno));
    } else if (snapshot_begin(ex, &err) != MSE_OK) {
        o = fail(p, "database", "reading the selection failed: %s", err.message);
    } else {
        o = content_write(p, &media_type, &ext);
    }
    if (ex->snap)
        db_rollback(ex->snap); /* read only: nothing to keep */
    if (o == OUT_DONE) {
        unsigned char digest[32];
        unsigned len = 0;
        EVP_DigestFinal_ex(p->out.md, digest, &len);
        for (unsigned i = 0; i < 32; i++)
            snprintf(sha + 2 * i, 3, "%02x", digest[i]);
        p->n.bytes = p->out.bytes;
        o = complete(p, staging, final, media_type, ext, sha);
    }
    if (o != OUT_DONE)
        outcome_record(p, o, staging);
    if (p->out.fd >= 0)
        close(p->out.fd);
    if (p->zip)
        archive_write_free(p->zip);
    EVP_MD_CTX_free(p->out.md);
    zip_named_free(p);
    free(p);
}

/* One round: expiry, recovery, then at most one production. */
static enum mse_rc exports_tick(struct exports *ex, struct db_error *err)
{
    enum mse_rc rc = MSE_OK;
    if (!ex->db) {
        rc = db_connect(ex->srv->cfg.database_url, &ex->db, err);
        if (rc == MSE_OK)
            rc = db_export_session(ex->db, err);
    }
    if (rc == MSE_OK && !ex->swept) {
        rc = exports_sweep(ex, err);
        ex->swept = rc == MSE_OK;
    }
    if (rc == MSE_OK)
        rc = db_export_expire(ex->db, final_remove, ex, err);
    /* This connection holds no export's lock now: every lock it can take is a lost one's. */
    if (rc == MSE_OK)
        rc = db_export_recover(ex->db, EXPORTS_MAX_ATTEMPTS, recovered_remove, ex, err);
    struct db_export_claimed c;
    bool found = false;
    if (rc == MSE_OK)
        rc = db_export_claim(ex->db, &c, &found, err);
    if (rc == MSE_OK && found) {
        produce(ex, &c);
        rc = db_export_release(ex->db, c.seq, err);
    }
    if (found)
        db_export_claimed_cleanup(&c);
    return rc;
}

static void *exports_main(void *arg)
{
    struct exports *ex = arg;
    pthread_mutex_lock(&ex->lock);
    while (!atomic_load(&ex->stop)) {
        pthread_mutex_unlock(&ex->lock);
        struct db_error err;
        if (exports_tick(ex, &err) != MSE_OK) {
            LOG_WARN(NULL, "exports: %s; retrying", err.message);
            db_close(ex->db); /* closing it lets go of any lock it held */
            ex->db = NULL;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + (int64_t)ex->srv->cfg.scheduler_ms * 1000000;
        until.tv_sec += ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        pthread_mutex_lock(&ex->lock);
        while (!atomic_load(&ex->stop) &&
               pthread_cond_timedwait(&ex->wake, &ex->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&ex->lock);
    return NULL;
}

enum mse_rc exports_start(struct server_ctx *srv, struct exports **out, struct mse_err *err)
{
    char dir[EXPORTS_PATH_MAX];
    *out = NULL;
    snprintf(dir, sizeof(dir), "%s/exports", srv->cfg.data_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err->msg, sizeof(err->msg), "cannot create %.400s: %s", dir, strerror(errno));
        return MSE_ERR_IO;
    }
    struct exports *ex = calloc(1, sizeof(*ex));
    if (!ex)
        return MSE_ERR_NOMEM;
    ex->srv = srv;
    /* For tests only (docs/export.md): keeps a production running long enough to be seen. */
    const char *delay = getenv("MSE_EXPORT_TEST_DELAY_MS");
    ex->delay_ms = delay ? (unsigned)strtoul(delay, NULL, 10) % 60000u : 0;
    pthread_mutex_init(&ex->lock, NULL);
    pthread_cond_init(&ex->wake, NULL);
    if (pthread_create(&ex->thread, NULL, exports_main, ex) != 0) {
        snprintf(err->msg, sizeof(err->msg), "cannot start the exports thread");
        pthread_mutex_destroy(&ex->lock);
        pthread_cond_destroy(&ex->wake);
        free(ex);
        return MSE_ERR_NOMEM;
    }
    *out = ex;
    return MSE_OK;
}

void exports_stop(struct exports *ex)
{
    if (!ex)
        return;
    pthread_mutex_lock(&ex->lock);
    atomic_store(&ex->stop, true);
    pthread_cond_signal(&ex->wake);
    pthread_mutex_unlock(&ex->lock);
    pthread_join(ex->thread, NULL);
    db_close(ex->db);
    db_close(ex->snap);
    pthread_mutex_destroy(&ex->lock);
    pthread_cond_destroy(&ex->wake);
    free(ex);
}
