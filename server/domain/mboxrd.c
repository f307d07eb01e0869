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

/* Writes the kept-back prefix of "From " as it was: the line is not one to quote. */
static size_t release(struct mboxrd_quoter *q, char *out)
{
    memcpy(out, from_word, q->word);
    size_t w = q->word;
    q->word = 0;
    q->in_gt = false;
    return w;
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
        if (q->word > 0) {
            if (c == from_word[q->word]) {
                if (++q->word == FROM_LEN) {
                    out[w++] = '>';
                    w += release(q, out + w);
                }
                continue;
            }
            w += release(q, out + w);
        } else if (q->bol || q->in_gt) {
            q->bol = false;
            if (c == '>') {
                q->in_gt = true;
                out[w++] = c;
                continue;
            }
            q->in_gt = false;
            if (c == from_word[0]) {
                q->word = 1;
                continue;
            }
        }
        out[w++] = c;
        q->bol = c == '\n';
    }
    return w;
}

size_t mboxrd_finish(struct mboxrd_quoter *q, char *out)
{
    size_t w = release(q, out);
    if (q->any && !q->last_lf)
        out[w++] = '\n';
    out[w++] = '\n';
    mboxrd_quoter_init(q);
    return w;
}
