/* SPDX-License-Identifier: Apache-2.0 */
/* Field errors collected during validation, so that one 422 can list every one of them. */
#ifndef MSE_VERR_H
#define MSE_VERR_H

#include <stdbool.h>

#include "mse/limits.h"

struct verr_entry {
    char field[96]; /* a dotted path such as "group.value" or "policies[2].folder" */
    char message[256];
};

/*
 * Plain C (no cJSON) so that domain code can report into it. Entries past
 * MSE_MAX_FIELD_ERRORS are counted but not kept.
 */
struct verr {
    struct verr_entry *list; /* malloc'd, grows as needed */
    unsigned count;          /* errors reported, kept or not */
    unsigned kept;           /* entries in list */
    unsigned size;
    bool nomem;
};

void verr_init(struct verr *v);
/* Frees the entries. NULL is fine. */
void verr_cleanup(struct verr *v);
/* Records that field is wrong and why (printf-style message). */
void verr_add(struct verr *v, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* True once anything was reported. */
bool verr_any(const struct verr *v);
/* True when field (exactly) already has an error: later checks of it can be skipped. */
bool verr_has(const struct verr *v, const char *field);

#endif
