/* SPDX-License-Identifier: Apache-2.0 */
/* Entity tags from stored row versions, and If-Match evaluation (RFC 9110 §13.1.1). */
#ifndef MSE_ETAG_H
#define MSE_ETAG_H

#include <stdint.h>

#define ETAG_MAX 32

enum etag_match {
    ETAG_ABSENT,    /* no If-Match header: the change is unconditional */
    ETAG_MATCH,     /* "*" or one of the listed strong tags equals the current one */
    ETAG_MISMATCH,  /* → 412 Precondition Failed */
    ETAG_MALFORMED, /* not "*" nor a list of entity tags → 400 */
};

/* Writes the strong entity tag of a stored version, quotes included: "\"7\"". */
void etag_format(int64_t version, char out[ETAG_MAX]);

/*
 * Evaluates an If-Match header value (NULL = absent) against the resource's current
 * version with the strong comparison: weak tags (W/"…") never match.
 */
enum etag_match etag_if_match(const char *header, int64_t version);

#endif
