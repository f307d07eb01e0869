/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL of the archive view: replicated mailboxes with their counts, merged folders, messages,
 * appointments and attachment content, read in keyset pages and rendered by PostgreSQL.
 */
#ifndef MSE_DB_ARCHIVE_H
#define MSE_DB_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "db.h"
#include "mse/rc.h"

/* One page of a mailbox's folders, messages or appointments, and what narrows it. */
struct archive_query {
    const char *address;     /* lower-case, as stored */
    const char *folder_id;   /* NULL: every folder */
    const char *folder_path; /* NULL: every folder; else the folders with this path (any case) */
    bool include_deleted;    /* folders and messages deleted in Exchange, kept and marked */
    bool has_from, has_to;   /* appointments overlapping [from, to) */
    time_t from, to;
    bool has_after; /* keyset: rows after this seq (the previous page's last) */
    int64_t after;
    unsigned limit;
    const char *as_of; /* RFC 3339: folders and messages as they were then (NULL: now) */
};

/*
 * Every page function fills *items (a malloc'd JSON array text), *last_seq (the key of the
 * page's last row) and *more (another page follows). Errors as db_query reports them.
 */

/* Replicated mailboxes by address (bytewise), those starting with prefix when it is set. */
enum mse_rc db_archive_mailbox_list(struct db *db, const char *prefix, bool has_after,
                                    int64_t after, unsigned limit, char **items, int64_t *last_seq,
                                    bool *more, struct db_error *err) MSE_WUR;
/* One mailbox as the list shows it (*json malloc'd). MSE_ERR_NOT_FOUND when not replicated. */
enum mse_rc db_archive_mailbox_get(struct db *db, const char *address, char **json,
                                   struct db_error *err) MSE_WUR;
/* *known: the archive holds this mailbox. */
enum mse_rc db_archive_mailbox_known(struct db *db, const char *address, bool *known,
                                     struct db_error *err) MSE_WUR;

/* Folders, one entry per EWS folder id whichever features replicate it, in first-seen order. */
enum mse_rc db_archive_folder_list(struct db *db, const struct archive_query *q, char **items,
                                   int64_t *last_seq, bool *more, struct db_error *err) MSE_WUR;
/* Message metadata in replication order. */
enum mse_rc db_archive_item_list(struct db *db, const struct archive_query *q, char **items,
                                 int64_t *last_seq, bool *more, struct db_error *err) MSE_WUR;
/*
 * Appointments in replication order. A recurring series overlaps a time range when any of its
 * occurrences may (its span, from the first occurrence to the end of its recurrence range).
 */
enum mse_rc db_archive_appointment_list(struct db *db, const struct archive_query *q, char **items,
                                        int64_t *last_seq, bool *more,
                                        struct db_error *err) MSE_WUR;

/*
 * The message content (SHA-256) of the mailbox's item, as it is or, with as_of, as it was
 * then. MSE_ERR_NOT_FOUND when the view has no such item, or it had no content.
 */
enum mse_rc db_archive_item_content(struct db *db, const char *address, const char *item_id,
                                    const char *as_of, char sha256[65],
                                    struct db_error *err) MSE_WUR;

/* An attachment record: what its content is called and what type it has (malloc'd, or NULL). */
struct archive_attachment {
    char *name;
    char *content_type;
};
void archive_attachment_cleanup(struct archive_attachment *a);

/*
 * The first attachment of the mailbox's appointments (in replication order) whose content has
 * this SHA-256, and whose attachment_id is the given one unless that is NULL.
 * MSE_ERR_NOT_FOUND when no appointment of the mailbox references the content.
 */
enum mse_rc db_archive_attachment_find(struct db *db, const char *address, const char *sha256,
                                       const char *attachment_id, struct archive_attachment *out,
                                       struct db_error *err) MSE_WUR;
#endif
