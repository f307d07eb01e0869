/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Headers of a stored file's download: a media type safe to send, Content-Disposition with
 * the file's name (RFC 6266 with an RFC 8187 UTF-8 form), and If-None-Match (RFC 9110).
 */
#ifndef MSE_DOWNLOAD_H
#define MSE_DOWNLOAD_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
