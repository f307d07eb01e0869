/* SPDX-License-Identifier: Apache-2.0 */
/* EWS operation handlers: each builds its response into c->resp. */
#ifndef EWSSIM_OPS_H
#define EWSSIM_OPS_H

#include "ews.h"

/* Every handler returns MSE_OK once the response (success or per-item errors) is built. */
enum mse_rc op_get_folder(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_find_folder(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_sync_folder_hierarchy(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_sync_folder_items(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_get_item(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_find_item(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_update_item(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_create_item(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_create_folder(struct ews_ctx *c) MSE_WUR;
/*
 * Sets the extended property a t:ExtendedFieldURI names to the text of value_el (NULL
 * deletes it) on the item (op_write.c). MSE_ERR_INVALID without a URI.
 */
enum mse_rc op_extprop_set(struct sim_item *it, xmlNodePtr uri, xmlNodePtr value_el) MSE_WUR;
enum mse_rc op_delete_item(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_get_attachment(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_create_attachment(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_delete_attachment(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_expand_dl(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_resolve_names(struct ews_ctx *c) MSE_WUR;
enum mse_rc op_convert_id(struct ews_ctx *c) MSE_WUR;

/* Shared by the two Sync operations (op_sync.c). */
#include "syncstate.h"
/*
 * Reads m:SyncState (NULL or empty = first sync: watermark 0). Returns NULL or
 * "ErrorInvalidSyncStateData" for a state that is not this folder's, from before a reset or
 * invalidation, or tampered with.
 */
const char *op_state_read(struct ews_ctx *c, xmlNodePtr state_el, enum syncstate_scope scope,
                          const struct sim_folder *f, uint64_t *watermark);
/* Appends <m:SyncState> for folder f at the given watermark. */
void op_state_write(struct ews_ctx *c, xmlNodePtr msg, enum syncstate_scope scope,
                    const struct sim_folder *f, uint64_t watermark);
/* IndexedPage*View (Offset, MaxEntriesReturned ≤ 1000, BasePoint) → [first, end) of n
 * (op_folder.c). */
void op_page_window(xmlNodePtr view, size_t n, size_t *first, size_t *end);

#endif
