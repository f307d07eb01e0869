/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON fixture format (docs/ews-sim.md): organisations, and items for the control API. */
#ifndef EWSSIM_FIXTURE_H
#define EWSSIM_FIXTURE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "sim_limits.h"
#include "mse/rc.h"
#include "store.h"

/* Reads and loads a fixture file. err says where a problem is ("mailboxes[2].folders[0]…"). */
enum mse_rc fixture_load(const char *path, struct org **out, struct mse_err *err) MSE_WUR;
enum mse_rc fixture_parse(const char *text, struct org **out, struct mse_err *err) MSE_WUR;

/*
 * Adds one message (appointment=false) or appointment described by a fixture object to folder
 * f. where names the object in errors. On MSE_ERR_INVALID nothing is left in the store.
 */
enum mse_rc fixture_item_add(struct org *o, struct sim_folder *f, const cJSON *obj,
                             bool appointment, const char *where, struct sim_item **out,
                             struct mse_err *err) MSE_WUR;
/* Adds a folder (with its sub-folders and items) below parent. */
enum mse_rc fixture_folder_add(struct org *o, struct sim_folder *parent, const cJSON *obj,
                               const char *where, struct sim_folder **out,
                               struct mse_err *err) MSE_WUR;
/* Sensitivity by EWS name; -1 when unknown. */
int fixture_sensitivity(const char *s);
/* A person from "addr", "Name <addr>" or {"name","email"}; NULL with err when invalid. */
const struct sim_person *fixture_person(struct org *o, const cJSON *v, const char *where,
                                        struct mse_err *err);

#endif
