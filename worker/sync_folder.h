/* SPDX-License-Identifier: Apache-2.0 */
/* The folder step of a pass: every selected folder's item changes, page by page. */
#ifndef MSE_SYNC_FOLDER_H
#define MSE_SYNC_FOLDER_H

#include "sync_ctx.h"

/* Reads one folder's item changes to the end, page by page, one batch per page. */
enum mse_rc sync_folder_run(struct sync_ctx *c, const struct hfolder *f) MSE_WUR;
/* Reads every folder whose items this pass reads, in table order, with progress per folder. */
enum mse_rc sync_folders_run(struct sync_ctx *c) MSE_WUR;
/* Drops the page read ahead, if any; a request still in flight is ended first. */
void sync_readahead_drop(struct sync_ctx *c);

#endif
