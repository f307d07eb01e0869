/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request bodies: media type, UTF-8 and JSON checks, then typed member access that reports
 * every problem into a struct verr instead of stopping at the first.
 */
#ifndef MSE_JSONIN_H
#define MSE_JSONIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verr.h"

struct request;
struct cJSON;

/* jsonin_parse flags. */
#define JSONIN_PATCH    1u /* also accept application/merge-patch+json */
#define JSONIN_OPTIONAL 2u /* an empty body is fine: *out is NULL then */

/*
 * Parses the request body as one JSON object. Answers and returns false on: wrong or missing
 * Content-Type (415), empty body unless JSONIN_OPTIONAL, invalid UTF-8, malformed JSON, a
 * "\u0000" escape (400), or a value that is not an object (422). *out is owned by the caller.
 */
bool jsonin_parse(struct request *req, unsigned flags, struct cJSON **out);

/* Member flags. */
#define JF_REQUIRED  1u  /* absent → "is required" */
#define JF_NULLABLE  2u  /* null is a value (JF_NULL) rather than an error */
#define JF_MULTILINE 4u  /* strings: tabs and line breaks allowed */
#define JF_EMPTY     8u  /* strings: "" allowed */
#define JF_PADDED    16u /* strings: leading/trailing white space allowed */

/* What a member lookup found. Only JF_OK fills *out. */
enum jf { JF_ABSENT, JF_NULL, JF_OK, JF_BAD };

/*
 * Reports, under prefix ("" at top level), every member of obj that is not in allowed, those
 * in readonly as read-only, duplicates, and objects with more than MSE_MAX_JSON_MEMBERS members.
 * Both lists end with NULL; readonly may be NULL.
 */
void jsonin_members(const struct cJSON *obj, const char *prefix, const char *const *allowed,
                    const char *const *readonly, struct verr *v);

/*
 * A string of at most max characters without control characters, nor (unless JF_MULTILINE)
 * Unicode bidirectional controls such as U+202E (see flags).
 */
enum jf jsonin_str(const struct cJSON *obj, const char *prefix, const char *key, unsigned max,
                   unsigned flags, struct verr *v, const char **out);
enum jf jsonin_bool(const struct cJSON *obj, const char *prefix, const char *key, unsigned flags,
                    struct verr *v, bool *out);
/* An integral number in [min, max]. */
enum jf jsonin_int(const struct cJSON *obj, const char *prefix, const char *key, int64_t min,
                   int64_t max, unsigned flags, struct verr *v, int64_t *out);
/* A UUID string, written to out in lowercase. */
enum jf jsonin_uuid(const struct cJSON *obj, const char *prefix, const char *key, unsigned flags,
                    struct verr *v, char out[37]);
/* One of the strings in choices (NULL-terminated); *out is its index. */
enum jf jsonin_enum(const struct cJSON *obj, const char *prefix, const char *key,
                    const char *const *choices, unsigned flags, struct verr *v, int *out);
/* An array of at most max elements; *out points into obj. */
enum jf jsonin_array(const struct cJSON *obj, const char *prefix, const char *key, unsigned max,
                     unsigned flags, struct verr *v, const struct cJSON **out);
/* An object; *out points into obj. */
enum jf jsonin_object(const struct cJSON *obj, const char *prefix, const char *key, unsigned flags,
                      struct verr *v, const struct cJSON **out);

/*
 * Checks a string value already in hand (an array element, say) the way jsonin_str does;
 * path names it in errors. True when acceptable.
 */
bool jsonin_str_ok(const char *s, const char *path, unsigned max, unsigned flags, struct verr *v);

/* Writes "prefix.key" (or "key" when prefix is empty) into out. */
void jsonin_path(char *out, size_t size, const char *prefix, const char *key);

#endif
