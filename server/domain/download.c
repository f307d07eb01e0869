/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Headers of a stored file's download: a media type safe to send, Content-Disposition with
 * the file's name (RFC 6266 with an RFC 8187 UTF-8 form), and If-None-Match (RFC 9110).
 */
#include "download.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* RFC 9110 §5.6.2 tchar. */
static bool tchar(char c)
{
    return g_ascii_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Skips a token; returns where it ends (== p when there is none). */
static const char *token_end(const char *p)
{
    while (tchar(*p))
        p++;
    return p;
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A quoted-string of visible ASCII at p; returns its end, or NULL when malformed. */
static const char *quoted_end(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p && *p != '"'; p++) {
        if (*p == '\\')
            p++;
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f || (unsigned char)*p >= 0x80)
            return NULL;
    }
    return *p == '"' ? p + 1 : NULL;
}

bool download_media_type_ok(const char *type)
{
    if (!type)
        return false;
    const char *p = token_end(type);
    if (p == type || *p != '/')
        return false;
    const char *sub = p + 1;
    p = token_end(sub);
    if (p == sub)
        return false;
    /* *( OWS ";" OWS [ token "=" ( token / quoted-string ) ] ) */
    for (p = skip_ows(p); *p; p = skip_ows(p)) {
        if (*p != ';')
            return false;
        p = skip_ows(p + 1);
        if (*p == ';' || !*p)
            continue;
        const char *name = p;
        p = token_end(p);
        if (p == name || *p != '=')
            return false;
        const char *value = p + 1;
        p = *value == '"' ? quoted_end(value) : token_end(value);
        if (!p || p == value)
            return false;
    }
    return true;
}

/* RFC 8187 attr-char: what stays unencoded in an ext-value. */
static bool attr_char(unsigned char c)
{
    return g_ascii_isalnum(c) || (c && strchr("!#$&+-.^_`|~", c));
}

/* The longest prefix of name that is valid UTF-8, at most DOWNLOAD_NAME_MAX bytes. */
static size_t name_length(const char *name)
{
    const char *end = NULL;
    size_t n = strlen(name);
    (void)g_utf8_validate(name, (gssize)n, &end);
    n = (size_t)(end - name);
    if (n <= DOWNLOAD_NAME_MAX)
        return n;
    /* Cut before the character that crosses the limit. */
    const char *cut = g_utf8_find_prev_char(name, name + DOWNLOAD_NAME_MAX + 1);
    return cut ? (size_t)(cut - name) : 0;
}

void download_disposition(const char *name, char out[DOWNLOAD_DISPOSITION_MAX])
{
    size_t n = name ? name_length(name) : 0;
    size_t at = (size_t)snprintf(out, DOWNLOAD_DISPOSITION_MAX, "attachment");
    if (n == 0)
        return;
    at += (size_t)snprintf(out + at, DOWNLOAD_DISPOSITION_MAX - at, "; filename=\"");
    /* The stand-in: one character per character of the name. */
    for (const char *p = name; p < name + n; p = g_utf8_next_char(p)) {
        unsigned char c = (unsigned char)*p;
        bool plain = c >= 0x20 && c < 0x7f && !strchr("\"\\%/", c);
        out[at++] = plain ? (char)c : '_';
    }
    at += (size_t)snprintf(out + at, DOWNLOAD_DISPOSITION_MAX - at, "\"; filename*=UTF-8''");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (attr_char(c))
            out[at++] = (char)c;
        else
            at += (size_t)snprintf(out + at, DOWNLOAD_DISPOSITION_MAX - at, "%%%02X", c);
    }
    out[at] = '\0';
}

/*
 * Reads one entity-tag at p ([W/] DQUOTE *etagc DQUOTE). Returns where it ends, or NULL when
 * malformed; *opaque and *len give the quoted part.
 */
static const char *etag_scan(const char *p, const char **opaque, size_t *len)
{
    if (p[0] == 'W' && p[1] == '/')
        p += 2;
    if (*p != '"')
        return NULL;
    const char *q = p + 1;
    while (*q && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c < 0x21 || c == 0x7f)
            return NULL;
        q++;
    }
    if (*q != '"')
        return NULL;
    *opaque = p;
    *len = (size_t)(q + 1 - p);
    return q + 1;
}

bool download_none_match(const char *header, const char *etag)
{
    if (!header)
        return false;
    const char *p = skip_ows(header);
    if (*p == '*')
        return *skip_ows(p + 1) == '\0';
    bool match = false, seen = false;
    size_t want = strlen(etag);
    while (*p) {
        const char *opaque;
        size_t len;
        p = etag_scan(p, &opaque, &len);
        if (!p)
            return false;
        match |= len == want && memcmp(opaque, etag, len) == 0;
        seen = true;
        p = skip_ows(p);
        if (*p == ',')
            p = skip_ows(p + 1);
        else if (*p)
            return false;
    }
    return seen && match;
}

/*
 * Reads 1DIGIT+ at *p into *out, saturating at INT64_MAX (a position past any representation
 * means the same as the largest one). False when there is no digit.
 */
static bool range_int(const char **p, int64_t *out)
{
    const char *q = *p;
    int64_t v = 0;
    for (; g_ascii_isdigit(*q); q++)
        v = v > (INT64_MAX - 9) / 10 ? INT64_MAX : v * 10 + (*q - '0');
    if (q == *p)
        return false;
    *p = q;
    *out = v;
    return true;
}

enum download_range download_range(const char *range, const char *if_range, const char *etag,
                                   int64_t size, int64_t *first, int64_t *last)
{
    if (!range || g_ascii_strncasecmp(range, "bytes=", 6) != 0)
        return DOWNLOAD_RANGE_FULL;
    /* If-Range with anything but the current strong tag: the client's part is stale. */
    if (if_range && strcmp(skip_ows(if_range), etag) != 0)
        return DOWNLOAD_RANGE_FULL;
    const char *p = skip_ows(range + 6);
    int64_t a = -1, b = -1;
    bool suffix = *p == '-';
    if (suffix)
        p++;
    if (!range_int(&p, suffix ? &b : &a))
        return DOWNLOAD_RANGE_FULL;
    if (!suffix && *p++ != '-')
        return DOWNLOAD_RANGE_FULL;
    if (!suffix && g_ascii_isdigit(*p) && !range_int(&p, &b))
        return DOWNLOAD_RANGE_FULL;
    if (*skip_ows(p) != '\0' || (!suffix && b >= 0 && b < a))
        return DOWNLOAD_RANGE_FULL; /* several ranges, or not a range at all */
    if (suffix) {
        if (b == 0 || size == 0)
            return DOWNLOAD_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return DOWNLOAD_RANGE_PARTIAL;
    }
    if (a >= size)
        return DOWNLOAD_RANGE_UNSATISFIABLE;
    *first = a;
    *last = b < 0 || b >= size ? size - 1 : b;
    return DOWNLOAD_RANGE_PARTIAL;
}
