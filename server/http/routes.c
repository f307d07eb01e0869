/* SPDX-License-Identifier: Apache-2.0 */
/* Matching a request's method and path against the route table (api/route_table.c). */
#include "routes.h"

#include <stdio.h>
#include <string.h>

/* Splits "/a/b/c" into segments in place; false when there are too many or empty ones. */
static bool split_path(char *path, char **segs, unsigned *n)
{
    *n = 0;
    if (path[0] != '/')
        return false;
    if (path[1] == '\0')
        return true;
    char *p = path + 1;
    for (;;) {
        if (*n == MSE_MAX_PATH_SEGMENTS)
            return false;
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (*p == '\0')
            return false; /* "//" or a trailing slash: no route has empty segments */
        segs[(*n)++] = p;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

/* Compares a pattern with split segments, collecting placeholder values. */
static bool pattern_matches(const char *pattern, char **segs, unsigned n, struct route_match *m)
{
    const char *p = pattern + 1;
    unsigned i = 0;
    m->nparams = 0;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (i >= n)
            return false;
        if (p[0] == '{')
            m->params[m->nparams++] = segs[i];
        else if (strlen(segs[i]) != len || memcmp(segs[i], p, len) != 0)
            return false;
        i++;
        p += len;
        if (*p == '/')
            p++;
    }
    return i == n;
}

static void allow_add(struct route_match *m, const char *method)
{
    if (strstr(m->allow, method))
        return;
    size_t used = strlen(m->allow);
    snprintf(m->allow + used, sizeof(m->allow) - used, "%s%s", used ? ", " : "", method);
}

enum route_result route_find(const struct route *table, size_t n, const char *method, char *path,
                             struct route_match *m)
{
    char *segs[MSE_MAX_PATH_SEGMENTS];
    unsigned nsegs;
    memset(m, 0, sizeof(*m));
    if (!split_path(path, segs, &nsegs))
        return ROUTE_NOT_FOUND;
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    bool path_known = false;
    for (size_t i = 0; i < n; i++) {
        struct route_match cand;
        if (!pattern_matches(table[i].pattern, segs, nsegs, &cand))
            continue;
        path_known = true;
        allow_add(m, table[i].method);
        if (strcmp(table[i].method, "GET") == 0)
            allow_add(m, "HEAD");
        if (!m->route && strcmp(table[i].method, want) == 0) {
            char allow[sizeof(m->allow)];
            memcpy(allow, m->allow, sizeof(allow));
            *m = cand;
            memcpy(m->allow, allow, sizeof(allow));
            m->route = &table[i];
        }
    }
    if (m->route)
        return ROUTE_FOUND;
    return path_known ? ROUTE_METHOD_NOT_ALLOWED : ROUTE_NOT_FOUND;
}
