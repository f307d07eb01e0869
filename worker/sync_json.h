/* SPDX-License-Identifier: Apache-2.0 */
/* The records of a replication batch: folders, message metadata, appointments, as cJSON. */
#ifndef MSE_SYNC_JSON_H
#define MSE_SYNC_JSON_H

#include <stddef.h>

#include "ews_folder.h"
#include "ews_item.h"

struct cJSON;

/*
 * Every function returns a new cJSON object owned by the caller, or NULL when memory ran out.
 * Absent EWS values become JSON null (strings, numbers, booleans) or [] (lists), so every
 * record of a kind has the same keys. Times are RFC 3339 UTC.
 */

/* {"name","email"} or null when p is NULL. */
struct cJSON *sync_json_person(const struct ews_person *p);
/* A folder upsert: {folder_id, parent_folder_id, display_name, folder_class, path, change}. */
struct cJSON *sync_json_folder(const char *id, const char *parent_id, const char *name,
                               const char *folder_class, const char *path);
/* {"<key>": id, "change": change} for deletions and removals; key must be a string literal. */
struct cJSON *sync_json_tombstone(const char *key, const char *id, const char *change);
/* A message upsert with the metadata of issue #6 (see docs/worker.md). */
struct cJSON *sync_json_message(const struct ews_item *item, const char *folder_id);
/*
 * An appointment upsert. sha256[i] is the content hash of item->attachments[i], or NULL for
 * an attachment whose content could not be read (it is then left out). sha256 may be NULL.
 */
struct cJSON *sync_json_appointment(const struct ews_item *item, const char *folder_id,
                                    const char *const *sha256);
/* t:Recurrence as {"pattern": {"type", …}, "range": {"type", …}}, or null. */
struct cJSON *sync_json_recurrence(const struct ews_recurrence *r);

#endif
