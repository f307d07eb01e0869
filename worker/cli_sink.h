/* SPDX-License-Identifier: Apache-2.0 */
/* The command line's sink: batches as JSON lines on stdout, checkpoints in a state file. */
#ifndef MSE_CLI_SINK_H
#define MSE_CLI_SINK_H

#include <stdint.h>
#include <stdio.h>

#include "mse/rc.h"
#include "sync.h"

/*
 * Emulates the server's contract locally, for debugging and for tests against ews-sim:
 * each batch is accepted only when its base_checkpoint equals the one stored in the state
 * file at that moment (read again under a lock, so several processes on one file behave like
 * workers on one server; else MSE_ERR_CONFLICT), then printed as one line {"batch": …} and
 * the state file is replaced atomically with the new checkpoint. A hierarchy batch's folder
 * deletions drop the folders' checkpoints, as the server does. Attachment contents are printed as
 * {"content": {"sha256", "content_type", "size"}} and, with a content directory, written there
 * under their hash.
 */
struct cli_sink {
    const char *state_path;  /* NULL: checkpoints are not kept between runs */
    const char *content_dir; /* NULL: contents are hashed and counted only */
    FILE *out;
    struct sync_checkpoints stored; /* what the state file holds */
};

/* Loads the state file (a missing file is an empty state) into sink->stored and a copy into
 * *start for the engine. */
enum mse_rc cli_sink_open(struct cli_sink *sink, const char *state_path, const char *content_dir,
                          FILE *out, struct sync_checkpoints *start, struct mse_err *err) MSE_WUR;
void cli_sink_close(struct cli_sink *sink);
/* The engine-facing interface over sink. */
struct sync_sink cli_sink_interface(struct cli_sink *sink);

#endif
