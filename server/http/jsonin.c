/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request bodies: media type, UTF-8 and JSON checks, then typed member access that reports
 * every problem into a struct verr instead of stopping at the first.
 */
#include "jsonin.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "ids.h"
#include "problem.h"

void jsonin_path(char *out, size_t size, const char *prefix, const char *key)
{
    if (prefix && *prefix)
        snprintf(out, size, "%s.%s", prefix, key);
    else
        snprintf(out, size, "%s", key);
}

/* True for "type/subtype" optionally followed by parameters, of which only charset=utf-8. */
static bool media_type_is(const char *header, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(header, want, n) != 0)
        return false;
    const char *p = header + n;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return true;
    if (*p != ';')
        return false;
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    return strcasecmp(p, "charset=utf-8") == 0 || strcasecmp(p, "charset=\"utf-8\"") == 0;
}

static bool content_type_ok(struct request *req, unsigned flags)
{
    const char *ct = http_header(req, "Content-Type");
    if (ct && media_type_is(ct, "application/json"))
        return true;
    if (ct && (flags & JSONIN_PATCH) && media_type_is(ct, "application/merge-patch+json"))
        return true;
    if (flags & JSONIN_PATCH)
        http_add_header(req, "Accept-Patch", "application/json, application/merge-patch+json");
    /* The received type is named (capped: it is the client's text) so the fix is obvious;
       one that is not printable ASCII is not echoed. */
    bool printable = ct != NULL;
    for (const char *p = ct; p && *p; p++)
        printable = printable && *p >= 0x20 && *p < 0x7f;
    problem_send(req, 415, "the body must be application/json%s (got %s%.100s%s)",
                 (flags & JSONIN_PATCH) ? " or application/merge-patch+json" : "",
                 !ct         ? "no Content-Type"
                 : printable ? "\""
                             : "another media type",
                 printable ? ct : "", printable ? "\"" : "");
    return false;
}

/* PostgreSQL text cannot hold NUL, and cJSON would silently cut the string there. */
static bool has_nul_escape(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 5 < n && strncmp(s + i + 2, "0000", 4) == 0)
            return true;
        i++; /* skip the escaped character, so "\\u0000" text is not mistaken */
    }
    return false;
}

/*
 * Whether cJSON stopped at byte `at` because of its nesting limit: the open arrays and objects
 * there, outside strings, exceed CJSON_NESTING_LIMIT. cJSON reports only where it stopped.
 */
static bool json_too_deep(const char *s, size_t at)
{
    long depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < at; i++) {
        if (in_string) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_string = false;
        } else if (s[i] == '"') {
            in_string = true;
        } else if (s[i] == '[' || s[i] == '{') {
            depth++;
        } else if (s[i] == ']' || s[i] == '}') {
            depth--;
        }
    }
    return depth >= CJSON_NESTING_LIMIT;
}

bool jsonin_parse(struct request *req, unsigned flags, cJSON **out)
{
    *out = NULL;
    size_t len = req->body.len;
    if (len == 0 && (flags & JSONIN_OPTIONAL))
        return true;
    if (!content_type_ok(req, flags))
        return false;
    if (len == 0) {
        problem_send(req, 400, "a JSON object is required as the request body");
        return false;
    }
    const char *text = req->body.data;
    const gchar *bad = NULL;
    if (!g_utf8_validate(text, (gssize)len, &bad)) {
        problem_send(req, 400, "the body is not valid UTF-8 (byte %zu)", (size_t)(bad - text));
        return false;
    }
    if (has_nul_escape(text, len)) {
        problem_send(req, 400, "JSON strings must not contain \\u0000");
        return false;
    }
    const char *end = NULL;
    /* len + 1 includes the buffer's terminator, so trailing garbage is an error. */
    cJSON *doc = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
    if (!doc) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        if (json_too_deep(text, at))
            problem_send(req, 400, "JSON nested deeper than %d levels (at byte %zu)",
                         CJSON_NESTING_LIMIT, at);
        else
            problem_send(req, 400, "malformed JSON near byte %zu", at);
        return false;
    }
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        problem_send(req, 422, "the body must be a JSON object");
        return false;
    }
    *out = doc;
    return true;
}

static bool in_list(const char *name, const char *const *list)
{
    for (; list && *list; list++) {
        if (strcmp(name, *list) == 0)
            return true;
    }
    return false;
}

void jsonin_members(const cJSON *obj, const char *prefix, const char *const *allowed,
                    const char *const *readonly, struct verr *v)
{
    char path[160];
    int n = cJSON_GetArraySize(obj);
    if (n > MSE_MAX_JSON_MEMBERS) {
        verr_add(v, prefix && *prefix ? prefix : "body", "has %d members; at most %d are accepted",
                 n, MSE_MAX_JSON_MEMBERS);
        return;
    }
    for (const cJSON *m = obj->child; m; m = m->next) {
        jsonin_path(path, sizeof(path), prefix, m->string);
        if (in_list(m->string, readonly)) {
            verr_add(v, path, "is read-only");
            continue;
        }
        if (!in_list(m->string, allowed)) {
            verr_add(v, path, "unknown field");
            continue;
        }
        for (const cJSON *d = obj->child; d != m; d = d->next) {
            if (strcmp(d->string, m->string) == 0) {
                verr_add(v, path, "appears more than once");
                break;
            }
        }
    }
}

/* Finds key (exactly; cJSON's own lookup ignores case) and sorts out absent and null. */
static enum jf member(const cJSON *obj, const char *prefix, const char *key, unsigned flags,
                      struct verr *v, const cJSON **item, char *path, size_t path_size)
{
    jsonin_path(path, path_size, prefix, key);
    *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!*item) {
        if (flags & JF_REQUIRED)
            verr_add(v, path, "is required");
        return JF_ABSENT;
    }
    if (cJSON_IsNull(*item)) {
        if (flags & JF_NULLABLE)
            return JF_NULL;
        verr_add(v, path, "must not be null");
        return JF_BAD;
    }
    return JF_OK;
}

/*
 * Unicode's Bidi_Control characters. In a name they can make text display in another order
 * than it is stored ("invoice\u202Efdp.exe" shows as "invoiceexe.pdf"), so a name an operator
 * reads in a list or an audit trail could pass for another.
 */
static bool is_bidi_control(gunichar c)
{
    return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069);
}

/* The first Bidi_Control character in s (valid UTF-8), or 0. */
static gunichar first_bidi_control(const char *s)
{
    for (const char *p = s; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (is_bidi_control(c))
            return c;
    }
    return 0;
}

bool jsonin_str_ok(const char *s, const char *path, unsigned max, unsigned flags, struct verr *v)
{
    /* The whole body was checked for UTF-8 already; count characters, not bytes. */
    glong chars = g_utf8_strlen(s, -1);
    if (chars == 0 && !(flags & JF_EMPTY)) {
        verr_add(v, path, "must not be empty");
        return false;
    }
    if (chars > (glong)max) {
        verr_add(v, path, "is %ld characters long; at most %u are allowed", (long)chars, max);
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool allowed_ws = (flags & JF_MULTILINE) && (*p == '\t' || *p == '\n' || *p == '\r');
        if ((*p < 0x20 || *p == 0x7f) && !allowed_ws) {
            verr_add(v, path, "must not contain control characters");
            return false;
        }
    }
    /* Free text (JF_MULTILINE) keeps them: right-to-left prose may need its marks. */
    gunichar bidi = (flags & JF_MULTILINE) ? 0 : first_bidi_control(s);
    if (bidi) {
        verr_add(v, path, "must not contain bidirectional control characters (U+%04X)",
                 (unsigned)bidi);
        return false;
    }
    if (chars && !(flags & JF_PADDED) &&
        (isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1]))) {
        verr_add(v, path, "must not start or end with white space");
        return false;
    }
    return true;
}

enum jf jsonin_str(const cJSON *obj, const char *prefix, const char *key, unsigned max,
                   unsigned flags, struct verr *v, const char **out)
{
    char path[160];
    const cJSON *it;
    enum jf r = member(obj, prefix, key, flags, v, &it, path, sizeof(path));
    if (r != JF_OK)
        return r;
    if (!cJSON_IsString(it)) {
        verr_add(v, path, "must be a string");
        return JF_BAD;
    }
    if (!jsonin_str_ok(it->valuestring, path, max, flags, v))
        return JF_BAD;
    *out = it->valuestring;
    return JF_OK;
}

enum jf jsonin_bool(const cJSON *obj, const char *prefix, const char *key, unsigned flags,
                    struct verr *v, bool *out)
{
    char path[160];
    const cJSON *it;
    enum jf r = member(obj, prefix, key, flags, v, &it, path, sizeof(path));
    if (r != JF_OK)
        return r;
    if (!cJSON_IsBool(it)) {
        verr_add(v, path, "must be true or false");
        return JF_BAD;
    }
    *out = cJSON_IsTrue(it);
    return JF_OK;
}

enum jf jsonin_int(const cJSON *obj, const char *prefix, const char *key, int64_t min, int64_t max,
                   unsigned flags, struct verr *v, int64_t *out)
{
    char path[160];
    const cJSON *it;
    enum jf r = member(obj, prefix, key, flags, v, &it, path, sizeof(path));
    if (r != JF_OK)
        return r;
    double d = it->valuedouble;
    /* Compare as doubles first: casting an out-of-range double to an integer is undefined. */
    if (!cJSON_IsNumber(it) || !isfinite(d) || d != floor(d)) {
        verr_add(v, path, "must be an integer");
        return JF_BAD;
    }
    if (d < (double)min || d > (double)max) {
        verr_add(v, path, "must be from %lld to %lld", (long long)min, (long long)max);
        return JF_BAD;
    }
    *out = (int64_t)d;
    return JF_OK;
}

enum jf jsonin_uuid(const cJSON *obj, const char *prefix, const char *key, unsigned flags,
                    struct verr *v, char out[37])
{
    char path[160];
    const cJSON *it;
    enum jf r = member(obj, prefix, key, flags, v, &it, path, sizeof(path));
    if (r != JF_OK)
        return r;
    if (!cJSON_IsString(it) || !mse_uuid_valid(it->valuestring)) {
        verr_add(v, path, "must be a UUID");
        return JF_BAD;
    }
    for (int i = 0; i < 36; i++)
        out[i] = (char)tolower((unsigned char)it->valuestring[i]);
    out[36] = '\0';
    return JF_OK;
}

enum jf jsonin_enum(const cJSON *obj, const char *prefix, const char *key,
                    const char *const *choices, unsigned flags, struct verr *v, int *out)
{
    char path[160];
    const cJSON *it;
    enum jf r = member(obj, prefix, key, flags, v, &it, path, sizeof(path));
    if (r != JF_OK)
        return r;
    if (cJSON_IsString(it)) {
        for (int i = 0; choices[i]; i++) {
            if (strcmp(it->valuestring, choices[i]) == 0) {
                *out = i;
                return JF_OK;
            }
        }
    }
    char list[512] = "";
    size_t used = 0;
    for (int i = 0; choices[i] && used < sizeof(list); i++)
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
                                 choices[i]);
    verr_add(v, path, "must be one of: %s", list);
    return JF_BAD;
}

enum jf jsonin_array(const cJSON *obj, const char *prefix, const char *key, unsigned max,
                     unsigned flags, struct verr *v, const cJSON **out)
{
    char path[160];
    const cJSON *it;
    enum jf r = member(obj, prefix, key, flags, v, &it, path, sizeof(path));
    if (r != JF_OK)
        return r;
    if (!cJSON_IsArray(it)) {
        verr_add(v, path, "must be an array");
        return JF_BAD;
    }
    int n = cJSON_GetArraySize(it);
    if ((unsigned)n > max) {
        verr_add(v, path, "has %d entries; at most %u are allowed", n, max);
        return JF_BAD;
    }
    *out = it;
    return JF_OK;
}

enum jf jsonin_object(const cJSON *obj, const char *prefix, const char *key, unsigned flags,
                      struct verr *v, const cJSON **out)
{
    char path[160];
    const cJSON *it;
    enum jf r = member(obj, prefix, key, flags, v, &it, path, sizeof(path));
    if (r != JF_OK)
        return r;
    if (!cJSON_IsObject(it)) {
        verr_add(v, path, "must be an object");
        return JF_BAD;
    }
    *out = it;
    return JF_OK;
}
