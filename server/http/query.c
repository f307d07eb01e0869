/* SPDX-License-Identifier: Apache-2.0 */
/* Query-string parameters of list and read routes, checked strictly (unknown names → 400). */
#include "query.h"

#include <ctype.h>
#include <glib.h>
#include <microhttpd.h>
#include <string.h>

#include "config.h"
#include "cursor.h"
#include "http.h"
#include "ids.h"
#include "mse/limits.h"
#include "problem.h"
#include "timefmt.h"

struct check_ctx {
    const char *const *allowed;
    const char *const *repeatable; /* names that may appear more than once; may be NULL */
    struct verr *v;
    const char *seen[MSE_MAX_JSON_MEMBERS];
    unsigned nseen;
};

static enum MHD_Result check_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    (void)value;
    struct check_ctx *c = cls;
    bool known = false;
    for (const char *const *a = c->allowed; *a; a++)
        known |= strcmp(*a, key) == 0;
    if (!known) {
        verr_add(c->v, key, "unknown query parameter");
        return MHD_YES;
    }
    for (const char *const *r = c->repeatable; r && *r; r++)
        if (strcmp(*r, key) == 0)
            return MHD_YES;
    for (unsigned i = 0; i < c->nseen; i++) {
        if (strcmp(c->seen[i], key) == 0) {
            verr_add(c->v, key, "is given more than once");
            return MHD_YES;
        }
    }
    if (c->nseen < MSE_MAX_JSON_MEMBERS)
        c->seen[c->nseen++] = key;
    return MHD_YES;
}

void query_check(struct request *req, const char *const *allowed, struct verr *v)
{
    struct check_ctx c = { .allowed = allowed, .v = v };
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_one, &c);
}

void query_check_repeat(struct request *req, const char *const *allowed,
                        const char *const *repeatable, struct verr *v)
{
    struct check_ctx c = { .allowed = allowed, .repeatable = repeatable, .v = v };
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_one, &c);
}

struct values_ctx {
    const char *name;
    const char **out;
    size_t max, n;
};

static enum MHD_Result value_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    struct values_ctx *c = cls;
    if (strcmp(key, c->name) != 0)
        return MHD_YES;
    if (c->n < c->max)
        c->out[c->n] = value ? value : "";
    c->n++;
    return MHD_YES;
}

size_t query_values(struct request *req, const char *name, const char **out, size_t max)
{
    struct values_ctx c = { .name = name, .out = out, .max = max };
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, value_one, &c);
    return c.n;
}

static const char *arg(struct request *req, const char *name)
{
    return http_query(req, name);
}

void query_page(struct request *req, char kind, struct page *p, struct verr *v)
{
    int64_t n;
    p->limit = MSE_PAGE_DEFAULT;
    p->has_after = false;
    p->after = 0;
    if (query_int(req, "limit", 1, MSE_PAGE_MAX, v, &n))
        p->limit = (unsigned)n;
    const char *c = arg(req, "cursor");
    if (!c)
        return;
    if (cursor_decode(c, kind, &p->after) != MSE_OK)
        verr_add(v, "cursor", "is not a cursor this list handed out");
    else
        p->has_after = true;
}

bool query_uuid(struct request *req, const char *name, struct verr *v, char out[37])
{
    const char *s = arg(req, name);
    if (!s)
        return false;
    if (!mse_uuid_valid(s)) {
        verr_add(v, name, "must be a UUID");
        return false;
    }
    for (int i = 0; i < 36; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[36] = '\0';
    return true;
}

bool query_bool(struct request *req, const char *name, struct verr *v, bool *out)
{
    const char *s = arg(req, name);
    if (!s)
        return false;
    if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
        *out = s[0] == 't';
        return true;
    }
    verr_add(v, name, "must be true or false");
    return false;
}

bool query_enum(struct request *req, const char *name, const char *const *choices, struct verr *v,
                int *out)
{
    const char *s = arg(req, name);
    if (!s)
        return false;
    for (int i = 0; choices[i]; i++) {
        if (strcmp(s, choices[i]) == 0) {
            *out = i;
            return true;
        }
    }
    verr_add(v, name, "is not one of the accepted values");
    return false;
}

bool query_time(struct request *req, const char *name, struct verr *v, time_t *out)
{
    const char *s = arg(req, name);
    if (!s)
        return false;
    if (mse_time_parse(s, out) != MSE_OK) {
        verr_add(v, name, "must be an RFC 3339 date-time such as 2026-03-29T01:00:00Z");
        return false;
    }
    return true;
}

bool query_int(struct request *req, const char *name, int64_t min, int64_t max, struct verr *v,
               int64_t *out)
{
    const char *s = arg(req, name);
    if (!s)
        return false;
    /* Digits only: strtoll would also take signs and leading blanks. */
    bool digits = *s != '\0';
    for (const char *p = s; *p; p++)
        digits &= *p >= '0' && *p <= '9';
    if (!digits || strlen(s) > 18 || mse_parse_int(s, min, max, out) != MSE_OK) {
        verr_add(v, name, "must be an integer from %lld to %lld", (long long)min, (long long)max);
        return false;
    }
    return true;
}

bool query_str(struct request *req, const char *name, struct verr *v, const char **out)
{
    const char *s = arg(req, name);
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n == 0 || n > MSE_MAX_FILTER) {
        verr_add(v, name, "must be 1 to %u bytes long", MSE_MAX_FILTER);
        return false;
    }
    if (!g_utf8_validate(s, (gssize)n, NULL)) {
        verr_add(v, name, "must be UTF-8 text");
        return false;
    }
    *out = s;
    return true;
}

void query_fail(struct request *req, const struct verr *v)
{
    problem_send_fields(req, 400, "invalid query parameters", v);
}
