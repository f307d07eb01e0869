/* SPDX-License-Identifier: Apache-2.0 */
/* Small pieces every resource handler uses: path ids, rendered documents, pages, splicing. */
#ifndef MSE_API_UTIL_H
#define MSE_API_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "mse/rc.h"

struct request;
struct db_doc;

/*
 * The route's placeholder number idx as a UUID (lowercased into out). False after answering
 * 404: a malformed id names no resource.
 */
bool api_path_uuid(struct request *req, unsigned idx, const char *what, char out[37]);

/* Refuses any query parameter (400). False after answering. */
bool api_no_query(struct request *req);

/* Replies 200 with a rendered resource and its ETag. Takes doc->json. */
void api_reply_doc(struct request *req, struct db_doc *doc);

/*
 * Replies 200 with {"items": items, "next_cursor": …} where the cursor (of list kind) points
 * after last_seq when more rows exist, else null. Takes items.
 */
void api_reply_page(struct request *req, char *items, bool more, int64_t last_seq, char kind);

/*
 * Returns a malloc'd copy of a JSON object text with `fragment` (`"k":v,…`) added as its
 * last members, or NULL on allocation failure.
 */
char *api_splice(const char *object, const char *fragment);

/* The client_id of the caller, for updated_by columns. */
const char *api_actor(struct request *req);

#endif
