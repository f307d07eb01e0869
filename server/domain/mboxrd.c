/* SPDX-License-Identifier: Apache-2.0 */
/* mboxrd separator lines and "From " quoting, streamed (see mboxrd.h). */
#include "mboxrd.h"

#include <stdio.h>
#include <string.h>

static const char from_word[] = "From ";
#define FROM_LEN (sizeof(from_word) - 1)

size_t mboxrd_from_line(const char *sender, time_t at, char out[MBOXRD_FROM_LINE_MAX])
{
    bool plain = sender && *sender && strlen(sender) <= 320;
    for (const char *p = sender; plain && *p; p++)
        plain = (unsigned char)*p > 0x20 && *p != 0x7f;
    struct tm tm;
    char date[32] = "Thu Jan  1 00:00:00 1970";
    /* The form RFC 4155 shows ("Mon Jan  5 10:00:05 2026"), written with strftime. */
    if (gmtime_r(&at, &tm))
        strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
    int n = snprintf(out, MBOXRD_FROM_LINE_MAX, "From %s %s\n", plain ? sender : "MAILER-DAEMON",
                     date);
    return n < 0 ? 0 : (size_t)n;
}

void mboxrd_quoter_init(struct mboxrd_quoter *q)
{
    memset(q, 0, sizeof(*q));
    q->bol = true;
}

/* Moves the held bytes to out, quoted when they are a whole "^>*From ". */
static size_t release(struct mboxrd_quoter *q, char *out, bool quote)
{
    size_t w = 0;
    if (quote)
        out[w++] = '>';
    memcpy(out + w, q->hold, q->held);
    w += q->held;
    q->held = 0;
    q->gt = 0;
    return w;
}

/* Takes c while a line may still be "^>*From "; false when c decides it is not. */
static bool candidate(struct mboxrd_quoter *q, char c, char *out, size_t *w)
{
    size_t word = q->held - q->gt; /* bytes of "From " matched */
    if (word == 0 && c == '>' && q->held < sizeof(q->hold) - FROM_LEN) {
        q->hold[q->held++] = c;
        q->gt++;
        return true;
    }
    if (c != from_word[word])
        return false;
    q->hold[q->held++] = c;
    if (word + 1 == FROM_LEN)
        *w += release(q, out + *w, true);
    return true;
}

size_t mboxrd_quote(struct mboxrd_quoter *q, const char *in, size_t n, char *out)
{
    size_t w = 0;
    if (n > 0) {
        q->any = true;
        q->last_lf = in[n - 1] == '\n';
    }
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (q->bol || q->held > 0) {
            q->bol = false;
            if (candidate(q, c, out, &w))
                continue;
            w += release(q, out + w, false);
        }
        out[w++] = c;
        q->bol = c == '\n';
    }
    return w;
}

size_t mboxrd_finish(struct mboxrd_quoter *q, char *out)
{
    size_t w = release(q, out, false);
    if (q->any && !q->last_lf)
        out[w++] = '\n';
    out[w++] = '\n';
    mboxrd_quoter_init(q);
    return w;
}
