/* SPDX-License-Identifier: Apache-2.0 */
/* Small pieces every resource handler uses: path ids, rendered documents, pages, splicing. */
#ifndef MSE_API_UTIL_H
#define MSE_API_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "mse/rc.h"
#include "verr.h"

struct request;
struct db;
struct db_doc;
struct db_error;
struct tx;

/*
 * The route's placeholder number idx as a UUID (lowercased into out). False after answering
 * 404: a malformed id names no resource.
 */
bool api_path_uuid(struct request *req, unsigned idx, const char *what, char out[37]);

/* Refuses any query parameter (400). False after answering. */
bool api_no_query(struct request *req);

/* An action's body must be absent or {} (422 otherwise). False after answering. */
bool api_no_fields(struct request *req);

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
/* Answers a list request: the page as api_reply_page does, or the problem for rc. Takes items. */
void api_reply_list(struct request *req, enum mse_rc rc, char *items, bool more, int64_t last_seq,
                    char kind);
/* As api_reply_list, with an ETag of the page and 304 when If-None-Match holds it. */
void api_reply_list_polled(struct request *req, enum mse_rc rc, char *items, bool more,
                           int64_t last_seq, char kind);

/* Answers 200 with a polled document (takes json), its ETag a hash of it (304 on a match). */
void api_reply_polled(struct request *req, enum mse_rc rc, char *json);

/* A collection's list statement with one optional filter value (NULL = all). */
typedef enum mse_rc (*api_list_fn)(struct db *db, const char *filter, bool has_after, int64_t after,
                                   unsigned limit, char **items, int64_t *last_seq, bool *more,
                                   struct db_error *err);
/*
 * GET of a collection paged by cursor kind whose one filter is the query parameter `name`,
 * one of values (NULL-terminated): checks the query (422 naming the parameter) and answers.
 */
void api_list_by_enum(struct request *req, char kind, const char *name, const char *const *values,
                      api_list_fn list);

/* The client_id of the caller, for updated_by columns. */
const char *api_actor(struct request *req);

/* Reads a resource's rendered document by id, locked FOR UPDATE with lock; NOT_FOUND: none. */
typedef enum mse_rc (*api_doc_get_fn)(struct db *db, const char *id, bool lock, struct db_doc *doc,
                                      struct db_error *err);

/*
 * GET of one resource: the path's id (`what` names the resource in a 404 for a malformed id),
 * no query parameters, then 200 with the document and its ETag, or the problem for the
 * lookup's result (`missing` the 404's detail).
 */
void api_get_doc(struct request *req, const char *what, const char *missing, api_doc_get_fn get);

/* A resource exchange tasks may refer to, as deleting it sees it. */
struct api_referenced {
    const char *kind;      /* "definition": the path's noun, the audit's resource type */
    const char *missing;   /* 404 detail */
    const char *in_use;    /* 409 detail, after "N exchange task(s) " */
    const char *referrers; /* what refers to it, "sync task(s)"; NULL = "exchange task(s)" */
    api_doc_get_fn get;
    enum mse_rc (*tasks)(struct db *db, const char *id, int64_t *n, struct db_error *err);
    enum mse_rc (*remove)(struct db *db, const char *id, struct db_error *err);
};

/*
 * Locks the resource (*before receives its document), checks If-Match and that no exchange
 * task refers to it. False after rolling back and answering 404, 400/412 or 409.
 */
bool api_delete_allowed(struct tx *tx, const char *id, const struct api_referenced *r,
                        struct db_doc *before);

/*
 * DELETE of a resource only exchange tasks refer to: api_delete_allowed, then r->remove, the
 * audit event "<kind>.delete" and 204, all in one transaction.
 */
void api_delete_unreferenced(struct request *req, const struct api_referenced *r);

/*
 * A task's required "group" member {kind, value} as exchange and sync tasks take it: *kind the
 * index in group_kind_names (-1 when absent or invalid), *value the normalised value
 * (malloc'd, NULL when invalid). Errors name group, group.kind, group.value.
 */
struct cJSON;
void api_group_read(const struct cJSON *body, int *kind, char **value, struct verr *v);

/*
 * The query of a list with no filter: only limit and cursor (of list kind) into *page. False
 * after answering 400/422 naming the parameter.
 */
struct page;
bool api_page_only(struct request *req, char kind, struct page *page);

/*
 * Answers a blob store failure: 404 with not_found, 503 (Retry-After) when the store is
 * unreachable, 500 otherwise (corrupt content included). The store's message goes into the
 * access log as the cause, never to the client.
 */
void api_blob_problem(struct request *req, enum mse_rc rc, const struct mse_err *err,
                      const char *not_found);

#endif
