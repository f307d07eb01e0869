/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The producer of exports (docs/export.md): a thread of every server that claims queued
 * exports one at a time and writes each as a file under $MSE_DATA_DIR/exports, streamed (a
 * staging file renamed when complete); it also gives back exports whose producer is gone and
 * removes the files of expired ones.
 */
#ifndef MSE_EXPORTS_H
#define MSE_EXPORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mse/rc.h"

struct server_ctx;
struct exports;

/* Productions begun before an export interrupted by servers' ends is failed. */
#define EXPORTS_MAX_ATTEMPTS 3

/* Creates the exports directory and starts the thread (its own database connection). */
enum mse_rc exports_start(struct server_ctx *srv, struct exports **out,
                          struct mse_err *err) MSE_WUR;
/*
 * Stops the thread: an export in production is given back (queued) and its staging file
 * removed. NULL is fine.
 */
void exports_stop(struct exports *ex);

/*
 * The path of an export's file ($MSE_DATA_DIR/exports/<id>) or, attempt > 0, of that attempt's
 * staging file (<id>.<attempt>.part); false when it does not fit.
 */
#define EXPORTS_PATH_MAX 4096
bool exports_path(const char *data_dir, const char *id, int64_t attempt,
                  char out[EXPORTS_PATH_MAX]);

#endif
