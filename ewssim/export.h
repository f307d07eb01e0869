/* SPDX-License-Identifier: Apache-2.0 */
/* The canonical JSON snapshot of one mailbox that a perfect replica must equal. */
#ifndef EWSSIM_EXPORT_H
#define EWSSIM_EXPORT_H

#include <cjson/cJSON.h>

#include "mse/rc.h"
#include "store.h"

/*
 * Builds the snapshot (format in docs/ews-sim.md): folders below msgfolderroot sorted by path,
 * messages and appointments sorted by folder path then item id. Caller holds a read lock and
 * frees *out with cJSON_Delete.
 */
enum mse_rc export_mailbox(const struct org *o, const struct sim_mailbox *m, cJSON **out) MSE_WUR;
/* {"name","email"} or null. */
cJSON *export_person(const struct sim_person *p);
/* Recurrence as EWS reports it: {"pattern": {...}, "range": {...}}. */
cJSON *export_recurrence(const struct sim_recurrence *r);

#endif
