/* SPDX-License-Identifier: Apache-2.0 */
/* Entity tags from stored row versions, and If-Match evaluation (RFC 9110 §13.1.1). */
#include "etag.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void etag_format(int64_t version, char out[ETAG_MAX])
{
    snprintf(out, ETAG_MAX, "\"%lld\"", (long long)version);
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/*
 * Reads one entity-tag at p: [W/] DQUOTE *etagc DQUOTE. On success *end points past it and
 * *matches tells whether it is strong and equal to want. False when malformed.
 */
static bool etag_read(const char *p, const char *want, const char **end, bool *matches)
{
    bool weak = false;
    if (p[0] == 'W' && p[1] == '/') {
        weak = true;
        p += 2;
    }
    if (*p != '"')
        return false;
    const char *open = ++p;
    /* etagc = %x21 / %x23-7E / obs-text: anything visible but the quote. */
    while (*p && *p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x21 || c == 0x7f)
            return false;
        p++;
    }
    if (*p != '"')
        return false;
    size_t len = (size_t)(p - open) + 2;
    *matches = !weak && strlen(want) == len && memcmp(open - 1, want, len) == 0;
    *end = p + 1;
    return true;
}

enum etag_match etag_if_match(const char *header, int64_t version)
{
    if (!header)
        return ETAG_ABSENT;
    const char *p = skip_ows(header);
    if (*p == '*')
        return *skip_ows(p + 1) == '\0' ? ETAG_MATCH : ETAG_MALFORMED;
    char want[ETAG_MAX];
    etag_format(version, want);
    bool any = false, seen = false;
    while (*p) {
        bool m;
        if (!etag_read(p, want, &p, &m))
            return ETAG_MALFORMED;
        any |= m;
        seen = true;
        p = skip_ows(p);
        if (*p == ',')
            p = skip_ows(p + 1);
        else if (*p)
            return ETAG_MALFORMED;
    }
    if (!seen)
        return ETAG_MALFORMED;
    return any ? ETAG_MATCH : ETAG_MISMATCH;
}
