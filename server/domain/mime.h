/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the archive needs from an RFC 5322 message, read by GMime: the header fields that
 * identify and address it, its attachments (name, type, decoded size, SHA-256) and the plain
 * text of its body parts for full-text search. Pure: no socket, no database.
 */
#ifndef MSE_MIME_H
#define MSE_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mse/limits.h"
#include "mse/rc.h"

/* One mailbox of an address header; both strings valid UTF-8 (name may be ""). */
struct mime_address {
    char *name;
    char *email; /* as written, "" when the header held a group or an unparseable word */
};

struct mime_address_list {
    struct mime_address *v;
    size_t n;
};

/* A part that is not body text: Content-Disposition attachment, a file name, or not text. */
struct mime_attachment {
    char *name;         /* the file name, "" when the part has none */
    char *content_type; /* "type/subtype", lower case */
    uint64_t size;      /* decoded bytes */
    char sha256[65];    /* of the decoded bytes, lowercase hex */
};

/* Why a message cannot be archived (mime_parse's outcome). */
enum mime_outcome {
    MIME_PARSED,       /* the message was read (perhaps with warnings) */
    MIME_EMPTY,        /* no bytes */
    MIME_NOT_MESSAGE,  /* no header field at all: not an RFC 5322 message */
    MIME_NO_ORIGINATOR /* neither From nor Sender holds an address */
};

struct mime_message {
    char *message_id;  /* without angle brackets; NULL when absent */
    char *in_reply_to; /* likewise */
    char **references; /* message ids of References, oldest first */
    size_t nreferences;
    char *subject; /* decoded (RFC 2047); NULL when absent */
    bool has_date; /* Date present and parseable */
    time_t date;
    struct mime_address_list from, sender, to, cc, bcc;
    bool has_attachments;
    struct mime_attachment *attachments;
    size_t nattachments;
    /*
     * The text of the body parts (text/plain as is, text/html rendered to text), parts
     * separated by blank lines, valid UTF-8, at most MSE_MAX_MIME_TEXT bytes (cut at a
     * character boundary; text_truncated then).
     */
    char *text;
    size_t text_len;
    bool text_truncated;
    unsigned warnings; /* the parser's complaints (malformed but readable input) */
};

/* Initialises GMime once per process; safe to call from any thread, any number of times. */
void mime_init(void);

/*
 * Reads the message in data[0..len) into *out (caller's storage, cleaned by
 * mime_message_cleanup whatever the result). *outcome says whether it is archivable;
 * everything but MIME_PARSED leaves *out empty. MSE_ERR_NOMEM on allocation failure.
 * Never crashes and never reads outside data, whatever the bytes.
 */
enum mse_rc mime_parse(const void *data, size_t len, struct mime_message *out,
                       enum mime_outcome *outcome) MSE_WUR;
/*
 * As mime_parse, for content a mailbox holds rather than mail in transit, read from the file
 * fd (taken: closed whatever the result): a draft may name no originator, so
 * MIME_NO_ORIGINATOR is never the outcome; only the text is wanted, so attachments are noted
 * (has_attachments) but neither read nor listed, and memory does not grow with their size.
 */
enum mse_rc mime_parse_archived_fd(int fd, struct mime_message *out,
                                   enum mime_outcome *outcome) MSE_WUR;
void mime_message_cleanup(struct mime_message *m);

/* A stable sentence for an outcome other than MIME_PARSED, for a problem's detail. */
const char *mime_outcome_detail(enum mime_outcome outcome);

#endif
