/* SPDX-License-Identifier: Apache-2.0 */
/* Downloads of stored files: validators, ranges, the headers of an attachment. */
#include "api_download.h"

#include <stdio.h>
#include <unistd.h>

#include "download.h"
#include "http.h"
#include "problem.h"

bool api_download_not_modified(struct request *req, const char *etag)
{
    http_add_header(req, "ETag", etag);
    http_add_header(req, "Cache-Control", "no-cache");
    http_add_header(req, "X-Content-Type-Options", "nosniff");
    if (!download_none_match(http_header(req, "If-None-Match"), etag))
        return false;
    (void)http_reply_not_modified(req);
    return true;
}

/* Answers 416 for a range the file's size cannot satisfy (fd is closed). */
static void range_refuse(struct request *req, int fd, int64_t size)
{
    char cr[48];
    close(fd);
    snprintf(cr, sizeof(cr), "bytes */%lld", (long long)size);
    http_add_header(req, "Content-Range", cr);
    problem_send(req, 416, "the range starts at or beyond the end of the %lld bytes of content",
                 (long long)size);
}

void api_download_send(struct request *req, int fd, int64_t size, const char *etag,
                       const char *type, const char *name)
{
    char disposition[DOWNLOAD_DISPOSITION_MAX], cr[80];
    int64_t first = 0, last = 0;
    download_disposition(name, disposition);
    http_add_header(req, "Content-Disposition", disposition);
    /* Stored content is the mailbox's, not ours: a browser must never run it as a page. */
    http_add_header(req, "Content-Security-Policy", "default-src 'none'; sandbox");
    http_add_header(req, "Accept-Ranges", "bytes");
    if (!download_media_type_ok(type))
        type = "application/octet-stream";
    switch (download_range(http_header(req, "Range"), http_header(req, "If-Range"), etag, size,
                           &first, &last)) {
    case DOWNLOAD_RANGE_UNSATISFIABLE:
        range_refuse(req, fd, size);
        break;
    case DOWNLOAD_RANGE_PARTIAL:
        snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld", (long long)first, (long long)last,
                 (long long)size);
        http_add_header(req, "Content-Range", cr);
        (void)http_reply_fd(req, 206, type, fd, first, last - first + 1);
        break;
    case DOWNLOAD_RANGE_FULL:
        (void)http_reply_fd(req, 200, type, fd, 0, size);
        break;
    }
}
