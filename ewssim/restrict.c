/* SPDX-License-Identifier: Apache-2.0 */
/* Evaluation of EWS Restriction filters (FindItem, FindFolder) over items and folders. */
#include "restrict.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "render.h"
#include "soap.h"
#include "timefmt.h"

/* Times compare as RFC 3339 text parsed back (see value_cmp). */
static const char *time_text(time_t t, char *buf, size_t size)
{
    mse_time_format(t, buf, size);
    return buf;
}

const char *restrict_item_field(const void *obj, const char *uri, char *buf, size_t size)
{
    const struct sim_item *it = obj;
    if (!strncmp(uri, RESTRICT_EXTENDED, sizeof(RESTRICT_EXTENDED) - 1)) {
        for (unsigned i = 0; i < it->nprops; i++)
            if (!strcmp(it->props[i].attrs, uri + sizeof(RESTRICT_EXTENDED) - 1))
                return it->props[i].value;
        return NULL;
    }
    if (!strcmp(uri, "item:Subject"))
        return it->subject;
    if (!strcmp(uri, "item:ItemClass"))
        return it->item_class;
    if (!strcmp(uri, "item:Sensitivity"))
        return render_sensitivity(it->sensitivity);
    if (!strcmp(uri, "item:DateTimeReceived"))
        return time_text(it->received, buf, size);
    if (!strcmp(uri, "item:DateTimeSent"))
        return time_text(it->sent, buf, size);
    if (!strcmp(uri, "item:Size")) {
        snprintf(buf, size, "%" PRId64, it->size);
        return buf;
    }
    if (!strcmp(uri, "item:HasAttachments"))
        return it->natts ? "true" : "false";
    if (!strcmp(uri, "message:IsRead"))
        return it->is_read ? "true" : "false";
    if (!strcmp(uri, "message:InternetMessageId"))
        return it->imid ? it->imid : "";
    if (!strcmp(uri, "message:From") || !strcmp(uri, "message:Sender")) {
        const struct sim_person *p = uri[8] == 'F' ? it->from : it->sender;
        return p ? p->email : "";
    }
    if (!it->cal)
        return strncmp(uri, "calendar:", 9) == 0 ? "" : NULL;
    if (!strcmp(uri, "calendar:Start"))
        return time_text(it->cal->start, buf, size);
    if (!strcmp(uri, "calendar:End"))
        return time_text(it->cal->end, buf, size);
    if (!strcmp(uri, "calendar:Location"))
        return it->cal->location ? it->cal->location : "";
    if (!strcmp(uri, "calendar:CalendarItemType"))
        return render_cal_type(it->cal->type);
    if (!strcmp(uri, "calendar:IsAllDayEvent"))
        return it->cal->all_day ? "true" : "false";
    return NULL;
}

const char *restrict_folder_field(const void *obj, const char *uri, char *buf, size_t size)
{
    const struct sim_folder *f = obj;
    if (!strcmp(uri, "folder:FolderClass"))
        return f->folder_class ? f->folder_class : "";
    if (!strcmp(uri, "folder:DisplayName"))
        return f->name;
    if (!strcmp(uri, "folder:TotalCount") || !strcmp(uri, "folder:ChildFolderCount") ||
        !strcmp(uri, "folder:UnreadCount")) {
        unsigned v = uri[7] == 'T' ? f->item_count : uri[7] == 'C' ? f->nchildren : f->unread_count;
        snprintf(buf, size, "%u", v);
        return buf;
    }
    return NULL;
}

/* Orders two values: numbers numerically, times chronologically, text case-insensitively. */
static int value_cmp(const char *a, const char *b)
{
    char *ea, *eb;
    double da = strtod(a, &ea), db = strtod(b, &eb);
    if (*a && *b && !*ea && !*eb)
        return da < db ? -1 : da > db;
    time_t ta, tb;
    if (mse_time_parse(a, &ta) == MSE_OK && mse_time_parse(b, &tb) == MSE_OK)
        return ta < tb ? -1 : ta > tb;
    return strcasecmp(a, b);
}

/* t:Contains with ContainmentMode (FullString, Prefixed, Substring…) and IgnoreCase. */
static int contains(xmlNodePtr r, const char *value, const char *constant)
{
    char mode[32] = "Substring", cmp[64] = "IgnoreCase";
    x_prop(r, "ContainmentMode", mode, sizeof(mode));
    x_prop(r, "ContainmentComparison", cmp, sizeof(cmp));
    bool nocase = strstr(cmp, "IgnoreCase") != NULL;
    size_t n = strlen(constant);
    if (!strcmp(mode, "FullString"))
        return nocase ? !strcasecmp(value, constant) : !strcmp(value, constant);
    if (!strcmp(mode, "Prefixed"))
        return nocase ? !strncasecmp(value, constant, n) : !strncmp(value, constant, n);
    return (nocase ? strcasestr(value, constant) : strstr(value, constant)) != NULL;
}

/* The constant a comparison compares with (t:FieldURIOrConstant/t:Constant or t:Constant). */
static bool constant_of(xmlNodePtr r, char *buf, size_t size)
{
    xmlNodePtr c = x_child(x_child(r, NS_TYPES, "FieldURIOrConstant"), NS_TYPES, "Constant");
    if (!c)
        c = x_child(r, NS_TYPES, "Constant");
    return c && x_prop(c, "Value", buf, size);
}

/* And, Or, Not; an unsupported branch makes the whole filter unsupported. */
static int logic_eval(xmlNodePtr r, restrict_field_fn get, const void *obj)
{
    if (x_is(r, NS_TYPES, "Not")) {
        int v = restrict_eval(x_first(r), get, obj);
        return v < 0 ? v : !v;
    }
    bool is_and = x_is(r, NS_TYPES, "And");
    for (xmlNodePtr ch = x_first(r); ch; ch = x_next(ch)) {
        int v = restrict_eval(ch, get, obj);
        if (v < 0 || v == (is_and ? 0 : 1))
            return v;
    }
    return is_and ? 1 : 0;
}

/*
 * An extended property's value for obj, by its ExtendedFieldURI; *absent when obj does not
 * have it. -1 when out of memory.
 */
static int extended_value(xmlNodePtr path, restrict_field_fn get, const void *obj, char *buf,
                          size_t size, const char **value)
{
    char *key = render_extprop_key(path);
    size_t n = key ? sizeof(RESTRICT_EXTENDED) + strlen(key) : 0;
    char *uri = key ? malloc(n) : NULL;
    if (!uri) {
        free(key);
        return -1;
    }
    snprintf(uri, n, "%s%s", RESTRICT_EXTENDED, key);
    *value = get(obj, uri, buf, size);
    free(uri);
    free(key);
    return 0;
}

int restrict_eval(xmlNodePtr r, restrict_field_fn get, const void *obj)
{
    char uri[64], buf[64], constant[1024];
    if (x_is(r, NS_TYPES, "And") || x_is(r, NS_TYPES, "Or") || x_is(r, NS_TYPES, "Not"))
        return logic_eval(r, get, obj);
    const char *value = NULL;
    xmlNodePtr ext = x_child(r, NS_TYPES, "ExtendedFieldURI");
    if (ext) {
        /* As Exchange: an item without the property matches no comparison, and Exists is false. */
        if (extended_value(ext, get, obj, buf, sizeof(buf), &value) < 0)
            return -1;
        if (!value)
            return 0;
    } else {
        xmlNodePtr path = x_child(r, NS_TYPES, "FieldURI");
        value = path && x_prop(path, "FieldURI", uri, sizeof(uri)) ? get(obj, uri, buf, sizeof(buf))
                                                                   : NULL;
    }
    if (!value)
        return -1;
    if (x_is(r, NS_TYPES, "Exists"))
        return 1;
    if (!constant_of(r, constant, sizeof(constant)))
        return -1;
    if (x_is(r, NS_TYPES, "Contains"))
        return contains(r, value, constant);
    int c = value_cmp(value, constant);
    if (x_is(r, NS_TYPES, "IsEqualTo"))
        return c == 0;
    if (x_is(r, NS_TYPES, "IsNotEqualTo"))
        return c != 0;
    if (x_is(r, NS_TYPES, "IsGreaterThan"))
        return c > 0;
    if (x_is(r, NS_TYPES, "IsGreaterThanOrEqualTo"))
        return c >= 0;
    if (x_is(r, NS_TYPES, "IsLessThan"))
        return c < 0;
    if (x_is(r, NS_TYPES, "IsLessThanOrEqualTo"))
        return c <= 0;
    return -1;
}
