/* SPDX-License-Identifier: Apache-2.0 */
/* Growable byte buffers with a hard cap, always NUL-terminated. */
#ifndef MSE_BUF_H
#define MSE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "mse/rc.h"

struct mse_buf {
    char *data;  /* NUL-terminated when non-NULL */
    size_t len;  /* bytes used, excluding the terminator */
    size_t size; /* bytes allocated */
    size_t max;  /* len never exceeds this: appends past it fail with MSE_ERR_TOO_LARGE */
};

/* Prepares an empty buffer that may grow to max bytes. Allocates nothing. */
void mse_buf_init(struct mse_buf *b, size_t max);
/* Frees the storage; the buffer is empty and reusable afterwards. NULL is fine. */
void mse_buf_cleanup(struct mse_buf *b);
/* Empties the buffer, keeping its storage. */
void mse_buf_reset(struct mse_buf *b);

/* Appends n bytes. On MSE_ERR_TOO_LARGE or MSE_ERR_NOMEM the buffer is unchanged. */
enum mse_rc mse_buf_append(struct mse_buf *b, const void *p, size_t n) MSE_WUR;
enum mse_rc mse_buf_puts(struct mse_buf *b, const char *s) MSE_WUR;
enum mse_rc mse_buf_printf(struct mse_buf *b, const char *fmt, ...) MSE_WUR MSE_PRINTF(2, 3);
enum mse_rc mse_buf_vprintf(struct mse_buf *b, const char *fmt, va_list ap) MSE_WUR;
/* Appends s as the body of a JSON string (without quotes), escaping as RFC 8259 requires. */
enum mse_rc mse_buf_json_escape(struct mse_buf *b, const char *s) MSE_WUR;

/* Hands the storage to the caller (free() it); the buffer is left empty. Never NULL on MSE_OK. */
enum mse_rc mse_buf_take(struct mse_buf *b, char **out, size_t *len) MSE_WUR;

#endif
