/* SPDX-License-Identifier: Apache-2.0 */
/* Field errors collected during validation, so that one 422 can list every one of them. */
#include "verr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void verr_init(struct verr *v)
{
    memset(v, 0, sizeof(*v));
}

void verr_cleanup(struct verr *v)
{
    if (!v)
        return;
    free(v->list);
    verr_init(v);
}

void verr_add(struct verr *v, const char *field, const char *fmt, ...)
{
    v->count++;
    if (v->kept == MSE_MAX_FIELD_ERRORS)
        return;
    if (v->kept == v->size) {
        unsigned size = v->size ? v->size * 2 : 8;
        struct verr_entry *p = realloc(v->list, size * sizeof(*p));
        if (!p) {
            v->nomem = true;
            return;
        }
        v->list = p;
        v->size = size;
    }
    struct verr_entry *e = &v->list[v->kept++];
    snprintf(e->field, sizeof(e->field), "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

bool verr_any(const struct verr *v)
{
    return v->count > 0;
}

bool verr_has(const struct verr *v, const char *field)
{
    for (unsigned i = 0; i < v->kept; i++) {
        if (strcmp(v->list[i].field, field) == 0)
            return true;
    }
    return false;
}
