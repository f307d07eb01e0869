/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL of exports (schema 044): the records the API shows, the producer's claim, progress and
 * outcome, recovery of exports whose producer is gone, expiry, and the pages of messages and
 * appointments a selection names.
 */
#ifndef MSE_DB_EXPORT_H
#define MSE_DB_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "db.h"
#include "db_util.h"
#include "ics.h"
#include "mse/rc.h"

/* An export as the request asked for it (strings owned by the caller). */
struct db_export_in {
    const char *format;    /* eml_zip, mbox, ics */
    const char *mailbox;   /* lower case */
    const char *selection; /* JSON object text, as validated */
    const char *as_of;     /* RFC 3339, or NULL for the transaction's time */
    unsigned ttl_seconds;  /* the file is kept this long once completed */
};

/* *inserted false when as_of is after the database's now() (nothing inserted). */
enum mse_rc db_export_insert(struct db *db, const char *id, const struct db_export_in *in,
                             const char *actor, bool *inserted, struct db_error *err) MSE_WUR;
/* The rendered export; lock takes the row FOR UPDATE. NOT_FOUND when there is none. */
enum mse_rc db_export_get(struct db *db, const char *id, bool lock, struct db_doc *doc,
                          struct db_error *err) MSE_WUR;
/* A page of exports, newest last (by seq), optionally of one state. */
enum mse_rc db_export_list(struct db *db, const char *state, bool has_after, int64_t after,
                           unsigned limit, char **items, int64_t *last_seq, bool *more,
                           struct db_error *err) MSE_WUR;
/* Removes the row. NOT_FOUND when there is none. */
enum mse_rc db_export_delete(struct db *db, const char *id, struct db_error *err) MSE_WUR;

/* What the API needs to send a completed export's file. */
struct db_export_file {
    bool completed;
    char state[16];
    char sha256[65];
    char file_name[401];
    char media_type[32];
    int64_t bytes;
};
enum mse_rc db_export_file(struct db *db, const char *id, struct db_export_file *f,
                           struct db_error *err) MSE_WUR;

/* An export claimed for production (strings malloc'd; db_export_claimed_cleanup frees them). */
struct db_export_claimed {
    char id[37];
    int64_t seq;
    char format[16];
    char *selection; /* JSON text */
    char *as_of;     /* RFC 3339 with microseconds */
    char *mailbox;
    int64_t attempt; /* the claim's attempts: every update of the producer is fenced by it */
    char attempt_s[24];
};
void db_export_claimed_cleanup(struct db_export_claimed *c);

/*
 * Takes the oldest queued export: running, one more attempt, and this connection's session
 * advisory lock on it (held until db_export_release). *found false when none is queued.
 */
enum mse_rc db_export_claim(struct db *db, struct db_export_claimed *c, bool *found,
                            struct db_error *err) MSE_WUR;
/* Lets go of the claim's advisory lock (after the outcome is recorded). */
enum mse_rc db_export_release(struct db *db, int64_t seq, struct db_error *err) MSE_WUR;

/*
 * The producer's updates are fenced by the claim's attempt: a producer that lost its claim
 * (its session ended, another server recovered and claimed the export again) changes nothing.
 * Counts so far; *running false when the export was removed or claimed again (cancelled).
 */
struct db_export_counts {
    int64_t items, folders, skipped, bytes;
};
enum mse_rc db_export_progress(struct db *db, const struct db_export_claimed *c,
                               const struct db_export_counts *n, bool *running,
                               struct db_error *err) MSE_WUR;
/* In a transaction: locks the claim's row; *held false when the claim is no longer this one. */
enum mse_rc db_export_fence(struct db *db, const struct db_export_claimed *c, bool *held,
                            struct db_error *err) MSE_WUR;
/* Completed: file name, media type, sha256, expiring the export's ttl from now. */
enum mse_rc db_export_complete(struct db *db, const struct db_export_claimed *c,
                               const struct db_export_counts *n, const char *sha256,
                               const char *file_name, const char *media_type, bool *running,
                               struct db_error *err) MSE_WUR;
/* Failed with a reason (code and text). */
enum mse_rc db_export_fail(struct db *db, const struct db_export_claimed *c,
                           const struct db_export_counts *n, const char *code, const char *text,
                           struct db_error *err) MSE_WUR;
/* Records an item left out (the first 100 are kept), with a code and a detail. */
enum mse_rc db_export_error_add(struct db *db, const struct db_export_claimed *c,
                                const char *item_id, const char *folder_path, const char *code,
                                const char *detail, struct db_error *err) MSE_WUR;
/* Back to queued, its attempt not counted (the server is stopping). */
enum mse_rc db_export_requeue(struct db *db, const struct db_export_claimed *c,
                              struct db_error *err) MSE_WUR;
/* Keepalives on the producer's session, so a vanished server's locks do not outlast it long. */
enum mse_rc db_export_session(struct db *db, struct db_error *err) MSE_WUR;
/* The state ("" when there is no such export) and attempts of the export a file is named by. */
enum mse_rc db_export_file_owner(struct db *db, const char *id, char state[16], int64_t *attempts,
                                 struct db_error *err) MSE_WUR;

/*
 * Exports whose producer is gone (mse_exports_recover): fn is called with each id whose
 * staging files are to be removed. Completed ones past expires_at: fn removes the file
 * first, then the export is marked expired.
 */
typedef void (*db_export_id_fn)(void *arg, const char *id, int64_t attempts);
enum mse_rc db_export_recover(struct db *db, int max_attempts, db_export_id_fn fn, void *arg,
                              struct db_error *err) MSE_WUR;
enum mse_rc db_export_expire(struct db *db, db_export_id_fn fn, void *arg,
                             struct db_error *err) MSE_WUR;

/* How many distinct folders the selection's messages are in. */
enum mse_rc db_export_folder_count(struct db *db, const char *selection, const char *as_of,
                                   int64_t *n, struct db_error *err) MSE_WUR;

/* One selected message, pointing into a page's result. */
struct db_export_message {
    int64_t seq;
    const char *item_id;
    const char *folder_path;
    const char *sha256; /* NULL: archived without content */
    const char *sender; /* NULL when unknown */
    time_t at;          /* received (or sent); 0 when unknown */
    bool deleted;
};

/* A keyset page of the selection's messages after (after_path, after_seq); path NULL = first. */
enum mse_rc db_export_messages(struct db *db, const char *selection, const char *as_of,
                               const char *after_path, int64_t after_seq, unsigned limit,
                               struct db_res *res, struct db_error *err) MSE_WUR;
void db_export_message_at(const struct db_res *res, int row, struct db_export_message *m);

/* One selected appointment, its event built from the row (db_export_appointment_cleanup). */
struct db_export_appointment {
    int64_t seq;
    const char *folder_path;
    struct ics_event event;
    struct ics_person *people;
    time_t *times;
    struct ics_moved *moved;
};
enum mse_rc db_export_appointments(struct db *db, const char *selection, const char *after_path,
                                   int64_t after_seq, unsigned limit, struct db_res *res,
                                   struct db_error *err) MSE_WUR;
/* Reads row into *a; MSE_ERR_NOMEM. Pointers stay valid until the cleanup and db_res_clear. */
enum mse_rc db_export_appointment_at(const struct db_res *res, int row,
                                     struct db_export_appointment *a) MSE_WUR;
void db_export_appointment_cleanup(struct db_export_appointment *a);

#endif
