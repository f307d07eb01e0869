/* SPDX-License-Identifier: Apache-2.0 */
/* Growable byte buffers with a hard cap, always NUL-terminated. */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mse_buf_init(struct mse_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->size = 0;
    b->max = max;
}

void mse_buf_cleanup(struct mse_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->size = 0;
}

void mse_buf_reset(struct mse_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Makes room for `extra` more bytes plus the terminator. */
static enum mse_rc buf_reserve(struct mse_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return MSE_ERR_TOO_LARGE;
    size_t need = b->len + extra + 1;
    if (need <= b->size)
        return MSE_OK;
    size_t size = b->size ? b->size : 256;
    while (size < need)
        size = size > SIZE_MAX / 2 ? need : size * 2;
    char *p = realloc(b->data, size);
    if (!p)
        return MSE_ERR_NOMEM;
    b->data = p;
    b->size = size;
    return MSE_OK;
}

enum mse_rc mse_buf_append(struct mse_buf *b, const void *p, size_t n)
{
    enum mse_rc rc = buf_reserve(b, n);
    if (rc != MSE_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return MSE_OK;
}

enum mse_rc mse_buf_puts(struct mse_buf *b, const char *s)
{
    return mse_buf_append(b, s, strlen(s));
}

enum mse_rc mse_buf_vprintf(struct mse_buf *b, const char *fmt, va_list ap)
{
    /* Formats into the spare room first: most texts fit, and formatting twice costs. */
    enum mse_rc rc = buf_reserve(b, 0);
    if (rc != MSE_OK)
        return rc;
    size_t room = b->size - b->len;
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(b->data + b->len, room, fmt, copy);
    va_end(copy);
    if (n >= 0 && (size_t)n < room && (size_t)n <= b->max - b->len) {
        b->len += (size_t)n;
        return MSE_OK;
    }
    b->data[b->len] = '\0'; /* all or nothing: drop what did not fit */
    if (n < 0)
        return MSE_ERR_INVALID;
    rc = buf_reserve(b, (size_t)n);
    if (rc != MSE_OK)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return MSE_OK;
}

enum mse_rc mse_buf_printf(struct mse_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum mse_rc rc = mse_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

enum mse_rc mse_buf_json_escape(struct mse_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = b->len;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[7];
        const char *out = esc;
        size_t n = 2;
        esc[0] = '\\';
        switch (*p) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            if (*p < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 15];
                n = 6;
            } else {
                out = (const char *)p;
                n = 1;
            }
        }
        enum mse_rc rc = mse_buf_append(b, out, n);
        if (rc != MSE_OK) {
            b->len = start; /* all or nothing */
            if (b->data)
                b->data[start] = '\0';
            return rc;
        }
    }
    return MSE_OK;
}

enum mse_rc mse_buf_take(struct mse_buf *b, char **out, size_t *len)
{
    if (!b->data) {
        enum mse_rc rc = buf_reserve(b, 0);
        if (rc != MSE_OK)
            return rc;
        b->data[0] = '\0';
    }
    *out = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->size = 0;
    return MSE_OK;
}
