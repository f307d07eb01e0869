/* SPDX-License-Identifier: Apache-2.0 */
/* The folder table: the mailbox hierarchy as the engine remembers it between passes. */
#ifndef MSE_FOLDER_TABLE_H
#define MSE_FOLDER_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mse/rc.h"

/* What a folder looked like in the replica when the pass began (for the hierarchy diff). */
struct hfolder_was {
    char *parent_id;
    char *name;
    char *folder_class;
    char *path;
    bool replicated;
};

/* One folder of the mailbox as the engine remembers it between passes. */
struct hfolder {
    char *id;
    char *parent_id;
    char *name;
    char *folder_class;
    char kind[24];   /* EWS element: Folder, CalendarFolder, SearchFolder, … */
    bool replicated; /* part of the replica: sent as an upsert, not deleted since */
    bool dead;       /* deleted during this pass; dropped when the table is compacted */
    int64_t total;   /* TotalCount from this pass's hierarchy sync, -1 when unknown */
    char *path;      /* "/Inbox/Projects", computed after the hierarchy sync */
    struct hfolder_was was;
};

/* The folder table: the mailbox hierarchy below msgfolderroot and the EWS hierarchy state. */
struct folder_table {
    struct hfolder *v;
    size_t n;
    size_t cap;
    size_t *index; /* open-addressing map id → position in v (SIZE_MAX = empty) */
    size_t index_cap;
    char *state;       /* SyncFolderHierarchy SyncState */
    char *root_id;     /* msgfolderroot */
    char *deleted_id;  /* deleteditems */
    char *calendar_id; /* the default calendar */
    int private_items; /* include_private_items the replica was built with; -1 unknown */
};

/* Folder nesting followed when computing paths. */
#define FOLDER_MAX_DEPTH 64

void folder_was_cleanup(struct hfolder_was *w);
void folder_table_cleanup(struct folder_table *t);
/* Appends a folder with this id (copied); NULL when out of memory or over the cap. */
struct hfolder *folder_table_add(struct folder_table *t, const char *id);
/* Drops dead entries and rebuilds the index. */
enum mse_rc folder_table_compact(struct folder_table *t) MSE_WUR;
/* Replaces *dst with a copy of src (NULL allowed); MSE_ERR_NOMEM leaves *dst as it was. */
enum mse_rc folder_str_set(char **dst, const char *src) MSE_WUR;
/* The folder with this id, or NULL. */
struct hfolder *folder_table_find(const struct folder_table *t, const char *id);
/* True when f is id or lies below the folder with that id. */
bool folder_table_within(const struct folder_table *t, const struct hfolder *f, const char *id);
/* Serialises the table (the hierarchy checkpoint); NULL when out of memory. */
char *folder_table_encode(const struct folder_table *t);
/* Loads a checkpoint made by folder_table_encode. MSE_ERR_INVALID when it is not one. */
enum mse_rc folder_table_decode(const char *text, struct folder_table *t) MSE_WUR;

#endif
