/* SPDX-License-Identifier: Apache-2.0 */
/* Every internal interface of the engine in one include, for the unit tests that reach in. */
#ifndef MSE_SYNC_INTERNAL_H
#define MSE_SYNC_INTERNAL_H

#include "folder_table.h"
#include "sync_batch.h"
#include "sync_ctx.h"
#include "sync_folder.h"
#include "sync_hierarchy.h"
#include "sync_page.h"

#endif
