/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The selection of one mailbox's archive that exports and restores take (docs/export.md,
 * schema 044): read from a request body's "selection" member and checked, field by field.
 */
#ifndef MSE_API_SELECTION_H
#define MSE_API_SELECTION_H

#include <stdbool.h>

#include "mse/limits.h"
#include "mse/rc.h"
#include "verr.h"

struct cJSON;
struct db;

/* A selection as validated. */
struct api_selection {
    char mailbox[MSE_MAX_ADDRESS + 1]; /* lower case */
    const char *as_of;                 /* points into the body; NULL = now */
    bool include_deleted;
    struct cJSON *json; /* what is stored (as_of apart); owned, api_selection_cleanup */
};

/* Reads body's required "selection" member into *sel; every problem goes into v. */
void api_selection_read(const struct cJSON *body, struct api_selection *sel, struct verr *v);
void api_selection_cleanup(struct api_selection *sel);

/* Adds a 422 error naming selection.mailbox unless the archive holds that mailbox. */
enum mse_rc api_selection_mailbox_check(struct db *db, const char *address, struct verr *v) MSE_WUR;

#endif
