/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbox files in the mboxrd convention (RFC 4155 and its "From " quoting): the separator line
 * of each message, and a streaming quoter that prefixes one '>' to every line of a message
 * matching ^>*From , so a reader that strips one '>' from such lines gets the bytes back.
 */
#ifndef MSE_MBOXRD_H
#define MSE_MBOXRD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Room for a separator line: "From " + address (cut to 320 bytes) + " " + date + LF. */
#define MBOXRD_FROM_LINE_MAX 360

/*
 * Writes the separator line "From <sender> <date>\n" (the date in the C library's ctime form, UTC).
 * A sender that is empty, NULL or holds white space or control characters is written as
 * MAILER-DAEMON, as RFC 4155 suggests. Returns its length.
 */
size_t mboxrd_from_line(const char *sender, time_t at, char out[MBOXRD_FROM_LINE_MAX]);

/* At most this many bytes are kept back: a prefix of "From " after a line's leading '>'s. */
#define MBOXRD_HELD_MAX 5

/*
 * The quoter's state across the chunks of one message. A line's leading '>'s are written as
 * they come (however many): a quoted line has one more of them, wherever it goes in the run.
 */
struct mboxrd_quoter {
    bool bol;     /* at the beginning of a line */
    bool in_gt;   /* inside the line's leading run of '>' */
    size_t word;  /* bytes of "From " matched after that run, kept back */
    bool last_lf; /* the last byte taken was a line feed */
    bool any;     /* some byte was taken */
};

void mboxrd_quoter_init(struct mboxrd_quoter *q);

/*
 * Quotes n bytes of a message into out, which must hold 2 * n + MBOXRD_HELD_MAX + 1 bytes;
 * returns how many bytes were written. Bytes that may start a line to be quoted are kept
 * back until they decide it.
 */
size_t mboxrd_quote(struct mboxrd_quoter *q, const char *in, size_t n, char *out);

/*
 * Ends a message: writes what was kept back, a line feed when the message did not end with
 * one, and the empty line that separates it from the next. out must hold MBOXRD_HELD_MAX +
 * 2 bytes; returns how many were written.
 */
size_t mboxrd_finish(struct mboxrd_quoter *q, char *out);

#endif
