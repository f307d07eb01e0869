/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL of the journal: journaled messages (raw content in the blob store), the internal
 * mailboxes each is attributed to, and the full-text search over them.
 */
#ifndef MSE_DB_JOURNAL_H
#define MSE_DB_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "db.h"
#include "mse/rc.h"

/* What one journaled message records. Strings may be NULL where the column is nullable. */
struct journal_record {
    const char *sha256; /* of the raw message, which the blob store holds already */
    int64_t size;
    const char *backend; /* the store that holds it: "fs" or "s3" */
    const char *message_id;
    const char *subject;
    const char *from_address; /* lower case */
    const char *from_name;
    const char *to_json; /* JSON arrays of lower-case addresses */
    const char *cc_json;
    bool has_date;
    time_t date;
    bool has_attachments;
    const char *body_text;       /* never NULL ("" when the message has no text) */
    const char *envelope_sender; /* lower case */
    const char *rcpts_json;
    /* Sender and recipients (header and envelope), lower case: who it may be attributed to. */
    const char *candidates_json;
    const char *internal_domains; /* "a.example,b.example" or "" */
};

/*
 * Inside the caller's transaction: marks the blob referenced (recording its row when the
 * collector or nothing had), records the message unless the same content is recorded
 * already (*created false then, and nothing changes), and attributes a new one to every
 * candidate that is an archived mailbox or in an internal domain. *json (malloc'd) is the
 * message as GET shows it; id its id.
 */
enum mse_rc db_journal_insert(struct db *db, const struct journal_record *r, char id[37],
                              bool *created, char **json, struct db_error *err) MSE_WUR;

/* The search's filters; NULL / has_* false = not given. */
struct journal_search {
    const char *q; /* websearch syntax: words, "phrases", -not, or */
    const char *mailbox, *from, *to;
    bool has_after, has_before;
    time_t after, before;
    const char *has_attachments; /* "true", "false" or NULL */
    const char *folder;          /* a folder path: only messages sync tasks archived there */
    bool all_versions;           /* superseded and deleted versions of archived messages too */
    bool has_cursor;
    int64_t cursor; /* the key of the last hit of the previous page */
    unsigned limit;
};

/*
 * One page of hits over journaled messages and the messages sync tasks archived, best first
 * (then newest first). The key of each hit orders the whole
 * result: rank in its high bits, the message's sequence below, so a page resumes exactly.
 */
enum mse_rc db_journal_search(struct db *db, const struct journal_search *s, char **items,
                              int64_t *last_key, bool *more, struct db_error *err) MSE_WUR;

/* *found and the size of the journaled message with this content. */
enum mse_rc db_journal_content_find(struct db *db, const char *sha256, bool *found,
                                    struct db_error *err) MSE_WUR;

#endif
