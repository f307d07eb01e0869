/* SPDX-License-Identifier: Apache-2.0 */
/* A GetItem response read as it arrives: MimeContent decoded, hashed and spooled, the rest kept. */
#ifndef MSE_MIME_STREAM_H
#define MSE_MIME_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mse/rc.h"

/*
 * One t:MimeContent met in the response: the decoded bytes are in the spool file at
 * [offset, offset + size); message is the index of the ResponseMessage holding it.
 */
struct mime_extent {
    unsigned message;
    off_t offset;
    uint64_t size;
    char sha256[65]; /* lowercase hex of the decoded bytes */
};

struct mime_stream_impl;

/*
 * The state of one response. libxml2's push parser (SAX2) reads the pieces handed to
 * mime_stream_feed; the text of every t:MimeContent goes through OpenSSL's base64 decoder
 * into a SHA-256 digest and an unlinked spool file, everything else builds a small document
 * (the response without its MIME text) for the operation's usual parser. Memory does not
 * depend on the size of the messages, only on the rest of the response.
 */
struct mime_stream {
    int fd;                /* the spool (unlinked; -1 before the first begin) */
    off_t end;             /* bytes written to it in this attempt */
    struct mime_extent *v; /* MimeContent elements in document order */
    size_t n, cap;
    uint64_t max_mime;     /* one message's decoded size beyond which the response fails */
    size_t max_rest;       /* bytes of the response outside MimeContent beyond which it fails */
    const char *spool_dir; /* borrowed */
    char err[256];         /* why the stream failed ("" while it has not) */
    enum mse_rc rc;        /* MSE_OK until something failed */
    struct mime_stream_impl *p;
};

/*
 * Prepares ms; nothing is opened yet. spool_dir NULL = $TMPDIR or /tmp. max_mime 0 = no cap
 * beyond the file system's, max_rest 0 = MSE_EWS_MAX_RESPONSE_DEFAULT. The directory name is
 * borrowed.
 */
void mime_stream_init(struct mime_stream *ms, const char *spool_dir, uint64_t max_mime,
                      size_t max_rest);
/* Closes the spool and frees everything; NULL and an initialised, unused ms are fine. */
void mime_stream_cleanup(struct mime_stream *ms);
/*
 * Starts reading a new response (a first attempt or a retry): the spool is emptied (created
 * on first use), extents and document forgotten. MSE_ERR_IO when the spool cannot be created,
 * MSE_ERR_NOMEM; ms->err says which.
 */
enum mse_rc mime_stream_begin(struct mime_stream *ms) MSE_WUR;
/*
 * Hands over the next n bytes of the response, cut anywhere. After a failure every call
 * returns the same code: MSE_ERR_INVALID (malformed XML, invalid base64 — ms->err names the
 * element and says what was wrong), MSE_ERR_TOO_LARGE (a cap), MSE_ERR_IO (spool write),
 * MSE_ERR_NOMEM.
 */
enum mse_rc mime_stream_feed(struct mime_stream *ms, const char *p, size_t n) MSE_WUR;
/*
 * Ends the response: checks it was complete, flushes the spool and writes the kept document
 * (the response with every MimeContent emptied) with libxml2's serialiser. *xml stays ms's
 * until the next begin or cleanup. The errors of feed, plus MSE_ERR_INVALID for a response
 * that ends early.
 */
enum mse_rc mime_stream_finish(struct mime_stream *ms, const char **xml, size_t *len) MSE_WUR;
/* The extent of the MimeContent in ResponseMessage `message`, or NULL. */
const struct mime_extent *mime_stream_find(const struct mime_stream *ms, unsigned message);

#endif
