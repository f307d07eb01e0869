/* SPDX-License-Identifier: Apache-2.0 */
/* Every cap on a growable buffer or list, in one place (see STYLE.md). */
#ifndef MSE_LIMITS_H
#define MSE_LIMITS_H

/* HTTP requests the server accepts. */
#define MSE_MAX_REQUEST_BODY      (1024u * 1024u)       /* larger → 413 */
#define MSE_MAX_DISCARD_BODY      (64u * 1024u * 1024u) /* beyond this the connection is dropped */
#define MSE_MAX_REQUEST_HEADERS   (16u * 1024u)         /* sum of header lines; larger → 431 */
#define MSE_MHD_CONNECTION_MEMORY (64u * 1024u)         /* libmicrohttpd's per-connection pool */
#define MSE_MAX_PATH_SEGMENTS     16
#define MSE_MAX_REQUEST_ID        64

/* Pagination. */
#define MSE_PAGE_DEFAULT 50
#define MSE_PAGE_MAX     500

/* JSON documents built for responses. */
#define MSE_MAX_RESPONSE_BODY (64u * 1024u * 1024u)

#endif
