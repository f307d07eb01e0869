/* SPDX-License-Identifier: Apache-2.0 */
/* SyncFolderHierarchy and SyncFolderItems: requests, streamed responses, change pages. */
#ifndef MSE_EWS_SYNC_H
#define MSE_EWS_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "ews_folder.h"
#include "ews_item.h"
#include "ews_response.h"
#include "mse/rc.h"

struct ews_session;

enum ews_change_type {
    EWS_CHANGE_CREATE,
    EWS_CHANGE_UPDATE,
    EWS_CHANGE_DELETE,
    EWS_CHANGE_READ_FLAG, /* items only */
};

/* SyncFolderHierarchy ------------------------------------------------------------------- */

struct ews_sync_hierarchy_args {
    const char *root;       /* distinguished id of the synced subtree ("msgfolderroot") */
    const char *sync_state; /* NULL for a first sync */
    const char *const *fields;
    size_t n_fields;
};

/* A created/updated folder carries every field; a deleted one only its id. */
struct ews_folder_change {
    enum ews_change_type type;
    struct ews_folder folder;
};

struct ews_hierarchy_page {
    char *sync_state; /* the state after these changes ("" in error responses) */
    bool includes_last;
    struct ews_folder_change *v;
    size_t n;
    size_t cap;
};

void ews_hierarchy_page_cleanup(struct ews_hierarchy_page *p);
void ews_sync_hierarchy_build(struct ews_xml_writer *wr, const void *args, const char *delegate);
enum mse_rc ews_sync_hierarchy_parse(const char *xml, size_t len, void *page,
                                     struct ews_reply *reply, struct mse_err *err) MSE_WUR;
/* One SyncFolderHierarchy call with the retry policy. page must be zeroed; caller cleans up. */
enum mse_rc ews_sync_hierarchy(struct ews_session *s, const struct ews_sync_hierarchy_args *a,
                               struct ews_hierarchy_page *page, struct ews_reply *reply,
                               struct mse_err *err) MSE_WUR;

/* SyncFolderItems ----------------------------------------------------------------------- */

struct ews_sync_items_args {
    const char *folder_id;     /* the folder's id, or NULL when distinguished is set */
    const char *distinguished; /* "inbox", … */
    const char *sync_state;    /* NULL for a first sync */
    unsigned max_changes;      /* 1..512 */
    const char *const *fields; /* properties to return besides the id */
    size_t n_fields;
};

/*
 * One item change. Create/Update carry the item's properties; Delete and ReadFlagChange carry
 * only item.id (and change key); ReadFlagChange also is_read.
 */
struct ews_item_change {
    enum ews_change_type type;
    struct ews_item item;
    bool is_read;
};

struct ews_items_page {
    char *sync_state;
    bool includes_last;
    struct ews_item_change *v;
    size_t n;
    size_t cap;
};

void ews_items_page_cleanup(struct ews_items_page *p);
void ews_sync_items_build(struct ews_xml_writer *wr, const void *args, const char *delegate);
enum mse_rc ews_sync_items_parse(const char *xml, size_t len, void *page, struct ews_reply *reply,
                                 struct mse_err *err) MSE_WUR;
/* One SyncFolderItems call with the retry policy. page must be zeroed; caller cleans up. */
enum mse_rc ews_sync_items(struct ews_session *s, const struct ews_sync_items_args *a,
                           struct ews_items_page *page, struct ews_reply *reply,
                           struct mse_err *err) MSE_WUR;

/* Name of a change type for JSON and logs ("create", …). */
const char *ews_change_str(enum ews_change_type t);

#endif
