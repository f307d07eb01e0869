/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Downloads of stored files (archived content, exports): the validators, then the file whole
 * or the one byte range asked, as docs/blobs.md describes for content.
 */
#ifndef MSE_API_DOWNLOAD_H
#define MSE_API_DOWNLOAD_H

#include <stdbool.h>
#include <stdint.h>

struct request;

/*
 * Adds the strong ETag (quotes included), Cache-Control: no-cache and nosniff; answers 304
 * and returns true when If-None-Match holds the tag (the caller sends nothing more).
 */
bool api_download_not_modified(struct request *req, const char *etag);

/*
 * Sends size bytes of fd (taken: closed when sent, or now) as an attachment named name, of
 * media type type (application/octet-stream when not a safe one), never to be run as a page:
 * 200 whole, 206 with the one range Range asks (If-Range honoured), 416 past the end.
 */
void api_download_send(struct request *req, int fd, int64_t size, const char *etag,
                       const char *type, const char *name);

#endif
