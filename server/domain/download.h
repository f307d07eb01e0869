/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Headers of a stored file's download: a media type safe to send, Content-Disposition with
 * the file's name (RFC 6266 with an RFC 8187 UTF-8 form), If-None-Match and Range (RFC 9110).
 */
#ifndef MSE_DOWNLOAD_H
#define MSE_DOWNLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mse/rc.h"

/* Longest file name put into a header, in bytes (a longer one is cut at a character). */
#define DOWNLOAD_NAME_MAX 255
/* Room for the longest Content-Disposition value download_disposition writes. */
#define DOWNLOAD_DISPOSITION_MAX (64 + 4 * DOWNLOAD_NAME_MAX)

/*
 * True when type is a media type (RFC 9110 §8.3.1: type "/" subtype, then parameters) made
 * of visible ASCII only, so it can be sent as Content-Type as it is. NULL is not one.
 */
bool download_media_type_ok(const char *type);

/*
 * Writes `attachment`, with the file name when name is a non-empty UTF-8 string:
 * `attachment; filename="<ASCII stand-in>"; filename*=UTF-8''<percent-encoded name>`. The
 * stand-in replaces what is not plain printable ASCII, quotes, backslashes, '%' and '/' with
 * '_'. out must hold DOWNLOAD_DISPOSITION_MAX bytes.
 */
void download_disposition(const char *name, char out[DOWNLOAD_DISPOSITION_MAX]);

/*
 * Evaluates an If-None-Match value (NULL = absent) against a resource's strong entity tag
 * (quotes included) with the weak comparison (RFC 9110 §13.1.2): true when the client's copy
 * is current ("*", or a listed tag with the same opaque value). A malformed value is false:
 * the request is then answered in full, as if the condition were absent.
 */
bool download_none_match(const char *header, const char *etag);

enum download_range {
    DOWNLOAD_RANGE_FULL,          /* 200 with everything */
    DOWNLOAD_RANGE_PARTIAL,       /* 206 with bytes first..last and Content-Range */
    DOWNLOAD_RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes *\/size */
};

/*
 * Evaluates Range (NULL = absent) for a representation of size bytes whose strong entity tag
 * is etag (RFC 9110 §14.2, §13.1.5). One byte range is served: "bytes=a-b", "bytes=a-" or
 * "bytes=-n" (the last n), a last position beyond the end being cut to it. FULL when the header
 * is absent, malformed, of another unit or asks several ranges (a server may ignore Range),
 * or when If-Range (NULL = absent) is not that strong tag. UNSATISFIABLE when the range starts
 * at or past the end, or asks the last 0 bytes. *first and *last (inclusive) are set on PARTIAL.
 */
enum download_range download_range(const char *range, const char *if_range, const char *etag,
                                   int64_t size, int64_t *first, int64_t *last);

#endif
