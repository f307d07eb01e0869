/* SPDX-License-Identifier: Apache-2.0 */
/* Query-string parameters of list and read routes, checked strictly (unknown names → 400). */
#ifndef MSE_QUERY_H
#define MSE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "verr.h"

struct request;

struct page {
    unsigned limit; /* rows per page: MSE_PAGE_DEFAULT unless asked, at most MSE_PAGE_MAX */
    int64_t after;  /* key of the last row of the previous page; meaningful when has_after */
    bool has_after;
};

/* Reports every argument whose name is not in allowed (NULL-terminated) or that repeats. */
void query_check(struct request *req, const char *const *allowed, struct verr *v);
/* query_check, except that the names in repeatable (NULL-terminated) may repeat. */
void query_check_repeat(struct request *req, const char *const *allowed,
                        const char *const *repeatable, struct verr *v);
/*
 * The values of every occurrence of name, in order, into out[0..max); returns how many there
 * are (more than max when they did not all fit). The strings point into the request.
 */
size_t query_values(struct request *req, const char *name, const char **out, size_t max);
/* Reads `limit` and `cursor` (a cursor of list kind). */
void query_page(struct request *req, char kind, struct page *p, struct verr *v);
/* Each reader returns true when the argument is present and valid (out filled). */
bool query_uuid(struct request *req, const char *name, struct verr *v, char out[37]);
bool query_bool(struct request *req, const char *name, struct verr *v, bool *out);
bool query_enum(struct request *req, const char *name, const char *const *choices, struct verr *v,
                int *out);
bool query_time(struct request *req, const char *name, struct verr *v, time_t *out);
bool query_int(struct request *req, const char *name, int64_t min, int64_t max, struct verr *v,
               int64_t *out);
/* Any text of 1 to MSE_MAX_FILTER bytes; out points into the request. */
bool query_str(struct request *req, const char *name, struct verr *v, const char **out);

/* Sends 400 with the collected query errors. */
void query_fail(struct request *req, const struct verr *v);

#endif
