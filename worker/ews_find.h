/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The EWS operations of Mailbox Storage Management: FindItem over one folder with the
 * candidates' restriction (received before, size at least, with attachments), paged with
 * IndexedPageItemView; DeleteItem of a batch of ids.
 */
#ifndef MSE_EWS_FIND_H
#define MSE_EWS_FIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ews_item.h"
#include "ews_response.h"
#include "mse/rc.h"

struct ews_session;
struct ews_xml_writer;

/* FindItem: one page of a folder's items that match every condition given. */
struct ews_find_items_args {
    const char *folder_id;
    const char *received_before; /* RFC 3339; item:DateTimeReceived < it */
    int64_t min_size;            /* item:Size >= it (bytes); 0 = no condition */
    bool with_attachments;       /* item:HasAttachments = true */
    unsigned offset;             /* IndexedPageItemView Offset from the beginning */
    unsigned max_entries;        /* MaxEntriesReturned (1–1000) */
    const char *const *fields;   /* AdditionalProperties */
    size_t n_fields;
};

struct ews_find_items_page {
    struct ews_item *v;
    size_t n;
    size_t cap;
    bool includes_last; /* RootFolder IncludesLastItemInRange */
    int64_t total;      /* TotalItemsInView, -1 when not sent */
};

void ews_find_items_page_cleanup(struct ews_find_items_page *p);
void ews_find_items_build(struct ews_xml_writer *wr, const void *args, const char *delegate);
enum mse_rc ews_find_items_parse(const char *xml, size_t len, void *page, struct ews_reply *reply,
                                 struct mse_err *err) MSE_WUR;
/* One FindItem call with the retry policy; page must be zeroed; the caller cleans up. */
enum mse_rc ews_find_items(struct ews_session *s, const struct ews_find_items_args *a,
                           struct ews_find_items_page *page, struct ews_reply *reply,
                           struct mse_err *err) MSE_WUR;

/* DeleteItem: ids to Deleted Items (MoveToDeletedItems) or gone (HardDelete). */
struct ews_delete_items_args {
    const char *const *ids;
    size_t n_ids;
    bool hard;
};

/* One status per id, in order. */
struct ews_delete_items {
    struct ews_status *v;
    size_t n;
};

void ews_delete_items_cleanup(struct ews_delete_items *res);
void ews_delete_items_build(struct ews_xml_writer *wr, const void *args, const char *delegate);
enum mse_rc ews_delete_items_parse(const char *xml, size_t len, void *res, struct ews_reply *reply,
                                   struct mse_err *err) MSE_WUR;
/*
 * One DeleteItem call with the retry policy: MSE_OK when Exchange answered one message per id
 * (each id's own status in res, ErrorItemNotFound for one gone meanwhile).
 */
enum mse_rc ews_delete_items(struct ews_session *s, const struct ews_delete_items_args *a,
                             struct ews_delete_items *res, struct ews_reply *reply,
                             struct mse_err *err) MSE_WUR;

#endif
