/* SPDX-License-Identifier: Apache-2.0 */
/* The first admin API client on an empty database: from the environment, or generated. */
#ifndef MSE_BOOTSTRAP_H
#define MSE_BOOTSTRAP_H

#include "mse/rc.h"

struct db;
struct server_config;

/* Where a generated client is written (mode 0600), relative to MSE_DATA_DIR. */
#define BOOTSTRAP_FILE "bootstrap-admin.json"

/*
 * When no API client exists: creates an admin client from MSE_BOOTSTRAP_CLIENT_ID/_SECRET,
 * or generates one, prints it once on stdout and writes it to <data_dir>/BOOTSTRAP_FILE.
 * Several servers starting together create one client (advisory lock). Does nothing when a
 * client exists.
 */
enum mse_rc bootstrap_run(struct db *db, const struct server_config *cfg,
                          struct mse_err *err) MSE_WUR;

#endif
