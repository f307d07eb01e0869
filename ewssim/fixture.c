/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON fixture format (docs/ews-sim.md): organisations, and items for the control API. */
#include "fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "render.h"
#include "timefmt.h"

/* Fills err with "where: what" and returns MSE_ERR_INVALID. */
static enum mse_rc bad(struct mse_err *err, const char *where, const char *what)
{
    snprintf(err->msg, sizeof(err->msg), "%.150s: %.350s", where, what);
    return MSE_ERR_INVALID;
}

/* Optional string member: NULL when absent; err set when present but not valid text. */
static const char *opt_str(const cJSON *obj, const char *key, const char *where,
                           struct mse_err *err, bool *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v) || !store_text_ok(v->valuestring) ||
        strlen(v->valuestring) > SIM_TEXT_MAX) {
        char w[400];
        snprintf(w, sizeof(w), "%s.%s", where, key);
        bad(err, w, "must be a string of valid characters (at most 64 KiB)");
        *ok = false;
        return NULL;
    }
    return v->valuestring;
}

/* Optional boolean member with a default. */
static bool opt_bool(const cJSON *obj, const char *key, bool def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

/* Optional RFC 3339 member; def when absent. */
static enum mse_rc opt_time(const cJSON *obj, const char *key, time_t def, time_t *out,
                            const char *where, struct mse_err *err)
{
    bool ok = true;
    const char *s = opt_str(obj, key, where, err, &ok);
    *out = def;
    if (!ok)
        return MSE_ERR_INVALID;
    if (s && mse_time_parse(s, out) != MSE_OK) {
        char w[400];
        snprintf(w, sizeof(w), "%s.%s", where, key);
        return bad(err, w, "must be an RFC 3339 date-time such as 2024-05-06T09:00:00Z");
    }
    return MSE_OK;
}

int fixture_sensitivity(const char *s)
{
    for (int i = 0; i <= SENS_CONFIDENTIAL; i++) {
        if (strcasecmp(render_sensitivity((enum sensitivity)i), s) == 0)
            return i;
    }
    return -1;
}

/* A plausible SMTP address: local@domain, no spaces or angle brackets. */
static bool address_ok(const char *s)
{
    const char *at = strchr(s, '@');
    return at && at != s && at[1] && !strchr(at + 1, '@') && strlen(s) < 256 &&
           !strpbrk(s, " <>\"/\\") && store_text_ok(s);
}

const struct sim_person *fixture_person(struct org *o, const cJSON *v, const char *where,
                                        struct mse_err *err)
{
    const char *name = NULL, *email = NULL;
    char namebuf[256] = "", mailbuf[320] = "";
    if (cJSON_IsString(v)) {
        const char *lt = strchr(v->valuestring, '<');
        if (lt) { /* "Name <addr>" */
            snprintf(namebuf, sizeof(namebuf), "%.*s", (int)(lt - v->valuestring), v->valuestring);
            size_t n = strlen(namebuf);
            while (n && namebuf[n - 1] == ' ')
                namebuf[--n] = '\0';
            snprintf(mailbuf, sizeof(mailbuf), "%s", lt + 1);
            char *gt = strchr(mailbuf, '>');
            if (gt)
                *gt = '\0';
            name = namebuf;
            email = mailbuf;
        } else {
            email = v->valuestring;
        }
    } else if (cJSON_IsObject(v)) {
        bool ok = true;
        name = opt_str(v, "name", where, err, &ok);
        email = opt_str(v, "email", where, err, &ok);
        if (!ok)
            return NULL;
    }
    if (!email || !address_ok(email) || (name && !store_text_ok(name))) {
        bad(err, where, "must be an address, \"Name <address>\" or {\"name\", \"email\"}");
        return NULL;
    }
    if (!name || !name[0]) {
        const struct sim_mailbox *m = org_mailbox(o, email);
        name = m ? m->display_name : "";
    }
    const struct sim_person *p = org_person(o, name, email);
    if (!p)
        bad(err, where, "out of memory");
    return p;
}

/* An array of people → malloc'd vector. */
static enum mse_rc people(struct org *o, const cJSON *obj, const char *key, const char *where,
                          const struct sim_person ***out, unsigned *n, struct mse_err *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    *n = 0;
    if (!arr || cJSON_IsNull(arr))
        return MSE_OK;
    char w[400];
    snprintf(w, sizeof(w), "%s.%s", where, key);
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > 10000)
        return bad(err, w, "must be an array of people");
    int size = cJSON_GetArraySize(arr);
    *out = calloc(size ? (size_t)size : 1, sizeof(**out));
    if (!*out)
        return MSE_ERR_NOMEM;
    const cJSON *el;
    cJSON_ArrayForEach(el, arr)
    {
        char we[420];
        snprintf(we, sizeof(we), "%s[%u]", w, *n);
        if (!((*out)[*n] = fixture_person(o, el, we, err)))
            return MSE_ERR_INVALID;
        (*n)++;
    }
    return MSE_OK;
}

/* Attendee lists: people plus an optional EWS ResponseType. */
static enum mse_rc attendees(struct org *o, const cJSON *obj, const char *key, const char *where,
                             struct sim_attendee **out, unsigned *n, struct mse_err *err)
{
    const struct sim_person **v = NULL;
    enum mse_rc rc = people(o, obj, key, where, &v, n, err);
    if (rc != MSE_OK || !*n) {
        free(v);
        return rc;
    }
    *out = calloc(*n, sizeof(**out));
    if (!*out) {
        free(v);
        return MSE_ERR_NOMEM;
    }
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    for (unsigned i = 0; i < *n; i++) {
        const cJSON *el = cJSON_GetArrayItem(arr, (int)i);
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(el, "response");
        (*out)[i].who = v[i];
        (*out)[i].response = RESP_UNKNOWN;
        for (int k = 0; cJSON_IsString(r) && k <= RESP_NO_RESPONSE; k++) {
            if (strcmp(render_response((enum response_type)k), r->valuestring) == 0)
                (*out)[i].response = (enum response_type)k;
        }
    }
    free(v);
    return MSE_OK;
}

/* One attachment: stored bytes (base64 or text) or a size to generate. */
static enum mse_rc attachment_read(struct org *o, const cJSON *a, const char *where,
                                   struct sim_attachment *out, time_t when, struct mse_err *err)
{
    bool ok = true;
    const char *name = opt_str(a, "name", where, err, &ok);
    const char *ctype = opt_str(a, "content_type", where, err, &ok);
    const char *b64 = opt_str(a, "content_base64", where, err, &ok);
    const char *text = opt_str(a, "content_text", where, err, &ok);
    const char *cid = opt_str(a, "content_id", where, err, &ok);
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(a, "size");
    if (!ok)
        return MSE_ERR_INVALID;
    if (!name || !name[0])
        return bad(err, where, "an attachment needs a name");
    memset(out, 0, sizeof(*out));
    out->num = org_next_attachment(o);
    out->modified = when;
    out->is_inline = opt_bool(a, "is_inline", false);
    if (b64) {
        if (mse_crypto_b64_decode(b64, strlen(b64), &out->content, &out->size) != MSE_OK)
            return bad(err, where, "content_base64 is not valid base64");
    } else if (text) {
        out->size = strlen(text);
        out->content = malloc(out->size + 1);
        if (!out->content)
            return MSE_ERR_NOMEM;
        memcpy(out->content, text, out->size + 1);
    } else if (cJSON_IsNumber(size) && size->valuedouble >= 0 && size->valuedouble <= 64e6) {
        out->size = (size_t)size->valuedouble; /* generated bytes */
        out->gen_seed = out->num * 2654435761u + 1;
    } else {
        return bad(err, where, "give content_base64, content_text or size (generated bytes)");
    }
    out->name = strdup(name);
    out->content_type = strdup(ctype ? ctype : "application/octet-stream");
    out->content_id = cid ? strdup(cid) : NULL;
    return out->name && out->content_type && (!cid || out->content_id) ? MSE_OK : MSE_ERR_NOMEM;
}

/* The attachments array of a message or appointment. */
static enum mse_rc attachments_read(struct org *o, const cJSON *obj, const char *where,
                                    struct sim_item *it, struct mse_err *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "attachments");
    if (!arr || cJSON_IsNull(arr))
        return MSE_OK;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > 1000)
        return bad(err, where, "attachments must be an array");
    int n = cJSON_GetArraySize(arr);
    it->atts = calloc(n ? (size_t)n : 1, sizeof(*it->atts));
    if (!it->atts)
        return MSE_ERR_NOMEM;
    const cJSON *a;
    cJSON_ArrayForEach(a, arr)
    {
        char w[420];
        snprintf(w, sizeof(w), "%s.attachments[%u]", where, it->natts);
        enum mse_rc rc = attachment_read(o, a, w, &it->atts[it->natts], it->received, err);
        it->natts++; /* counted even when half-filled, so item_free frees it */
        if (rc != MSE_OK)
            return rc;
    }
    return MSE_OK;
}

/* ---- recurrence ---- */

/* Index of s in an EWS name table (case-insensitive), or -1. */
static int name_index(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++) {
        if (strcasecmp(names[i], s) == 0)
            return i;
    }
    return -1;
}

/* A YYYY-MM-DD member as midnight UTC. */
static enum mse_rc date_read(const cJSON *obj, const char *key, time_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char buf[40];
    if (!cJSON_IsString(v) || strlen(v->valuestring) != 10)
        return MSE_ERR_INVALID;
    snprintf(buf, sizeof(buf), "%sT00:00:00Z", v->valuestring);
    return mse_time_parse(buf, out);
}

/* Integer member in [lo, hi]; INT32_MIN when present but out of range. */
static int int_member(const cJSON *obj, const char *key, int def, int lo, int hi)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return def;
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
        return INT32_MIN;
    return v->valueint;
}

/* Recurrence pattern in EWS terms (type names are the EWS element names). */
static enum mse_rc pattern_read(const cJSON *p, struct sim_recurrence *r)
{
    static const char *const types[] = { "DailyRecurrence",           "WeeklyRecurrence",
                                         "AbsoluteMonthlyRecurrence", "RelativeMonthlyRecurrence",
                                         "AbsoluteYearlyRecurrence",  "RelativeYearlyRecurrence" };
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
    int t = cJSON_IsString(type) ? name_index(types, 6, type->valuestring) : -1;
    if (t < 0)
        return MSE_ERR_INVALID;
    r->pattern = (enum pattern_type)(t + 1);
    r->interval = int_member(p, "interval", 1, 1, 999);
    r->day_of_month = int_member(p, "day_of_month", 1, 1, 31);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, "month");
    r->month = cJSON_IsString(v) ? name_index(render_month_names, 13, v->valuestring) : 1;
    v = cJSON_GetObjectItemCaseSensitive(p, "day_of_week_index");
    r->day_of_week_index = cJSON_IsString(v) ? name_index(render_week_index, 6, v->valuestring) : 1;
    v = cJSON_GetObjectItemCaseSensitive(p, "first_day_of_week");
    r->first_day_of_week = cJSON_IsString(v) ? name_index(render_day_names, 7, v->valuestring) : -1;
    const cJSON *days = cJSON_GetObjectItemCaseSensitive(p, "days_of_week"), *d;
    r->days = 0;
    cJSON_ArrayForEach(d, days)
    {
        int i = cJSON_IsString(d) ? name_index(render_day_names, 8, d->valuestring) : -1;
        if (i < 0)
            return MSE_ERR_INVALID;
        r->days |= (uint8_t)(1u << i);
    }
    bool needs_days = r->pattern == PAT_WEEKLY || r->pattern == PAT_REL_MONTHLY ||
                      r->pattern == PAT_REL_YEARLY;
    if (r->interval == INT32_MIN || r->day_of_month == INT32_MIN || r->month <= 0 ||
        r->day_of_week_index <= 0 || (needs_days && !r->days) ||
        (cJSON_IsString(v) && r->first_day_of_week < 0))
        return MSE_ERR_INVALID;
    return MSE_OK;
}

/* Recurrence range: NoEnd, EndDate or Numbered. */
static enum mse_rc range_read(const cJSON *g, struct sim_recurrence *r)
{
    static const char *const types[] = { "NoEndRecurrence", "EndDateRecurrence",
                                         "NumberedRecurrence" };
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(g, "type");
    int t = cJSON_IsString(type) ? name_index(types, 3, type->valuestring) : -1;
    if (t < 0 || date_read(g, "start_date", &r->start_date) != MSE_OK)
        return MSE_ERR_INVALID;
    r->range = (enum range_type)t;
    if (r->range == RANGE_END_DATE &&
        (date_read(g, "end_date", &r->end_date) != MSE_OK || r->end_date < r->start_date))
        return MSE_ERR_INVALID;
    if (r->range == RANGE_NUMBERED &&
        (r->count = int_member(g, "number_of_occurrences", -1, 1, 999)) < 1)
        return MSE_ERR_INVALID;
    return MSE_OK;
}

/* Modified occurrences (by original start) and deleted ones. */
static enum mse_rc exceptions_read(const cJSON *obj, struct sim_calendar *c, const char *where,
                                   struct mse_err *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "exceptions"), *e;
    const cJSON *del = cJSON_GetObjectItemCaseSensitive(obj, "deleted_occurrences");
    int ne = cJSON_GetArraySize(arr), nd = cJSON_GetArraySize(del);
    c->exceptions = calloc((size_t)ne + 1, sizeof(*c->exceptions));
    c->deleted = calloc((size_t)nd + 1, sizeof(*c->deleted));
    if (!c->exceptions || !c->deleted)
        return MSE_ERR_NOMEM;
    cJSON_ArrayForEach(e, arr)
    {
        char w[420];
        snprintf(w, sizeof(w), "%s.exceptions[%u]", where, c->nexceptions);
        struct sim_exception *x = &c->exceptions[c->nexceptions++];
        bool ok = true;
        const char *subject = opt_str(e, "subject", w, err, &ok);
        const char *location = opt_str(e, "location", w, err, &ok);
        if (!ok || opt_time(e, "original_start", 0, &x->original_start, w, err) != MSE_OK ||
            opt_time(e, "start", x->original_start, &x->start, w, err) != MSE_OK ||
            opt_time(e, "end", x->start + (c->end - c->start), &x->end, w, err) != MSE_OK)
            return MSE_ERR_INVALID;
        if (!x->original_start)
            return bad(err, w, "original_start is required");
        x->subject = subject ? strdup(subject) : NULL;
        x->location = location ? strdup(location) : NULL;
    }
    cJSON_ArrayForEach(e, del)
    {
        if (!cJSON_IsString(e) ||
            mse_time_parse(e->valuestring, &c->deleted[c->ndeleted]) != MSE_OK)
            return bad(err, where, "deleted_occurrences must hold RFC 3339 date-times");
        c->ndeleted++;
    }
    return MSE_OK;
}

/* The calendar part of an appointment; the organizer defaults to the owner. */
static enum mse_rc calendar_read(struct org *o, const cJSON *obj, const char *where,
                                 struct sim_item *it, struct mse_err *err)
{
    struct sim_calendar *c = it->cal;
    bool ok = true;
    const char *loc = opt_str(obj, "location", where, err, &ok);
    const char *uid = opt_str(obj, "uid", where, err, &ok);
    if (!ok || opt_time(obj, "start", 0, &c->start, where, err) != MSE_OK ||
        opt_time(obj, "end", c->start + 3600, &c->end, where, err) != MSE_OK)
        return MSE_ERR_INVALID;
    if (!c->start || c->end < c->start)
        return bad(err, where, "an appointment needs start and an end not before it");
    c->all_day = opt_bool(obj, "is_all_day", false);
    c->location = loc ? strdup(loc) : NULL;
    c->uid = uid ? strdup(uid) : NULL;
    const cJSON *org = cJSON_GetObjectItemCaseSensitive(obj, "organizer");
    char w[420];
    snprintf(w, sizeof(w), "%s.organizer", where);
    if (org && !(c->organizer = fixture_person(o, org, w, err)))
        return MSE_ERR_INVALID;
    if (!org)
        c->organizer = org_person(o, it->mbx->display_name, it->mbx->address);
    enum mse_rc rc =
            attendees(o, obj, "required_attendees", where, &c->required, &c->nrequired, err);
    if (rc == MSE_OK)
        rc = attendees(o, obj, "optional_attendees", where, &c->optional, &c->noptional, err);
    if (rc != MSE_OK)
        return rc;
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(obj, "recurrence");
    if (!rec || cJSON_IsNull(rec))
        return MSE_OK;
    c->type = CAL_RECURRING_MASTER;
    snprintf(w, sizeof(w), "%s.recurrence", where);
    if (pattern_read(cJSON_GetObjectItemCaseSensitive(rec, "pattern"), &c->rec) != MSE_OK ||
        range_read(cJSON_GetObjectItemCaseSensitive(rec, "range"), &c->rec) != MSE_OK)
        return bad(err, w,
                   "needs pattern {type, interval, days_of_week, …} and range {type, "
                   "start_date, …} as docs/ews-sim.md describes");
    return exceptions_read(obj, c, where, err);
}

/* Fields messages and appointments share. */
static enum mse_rc common_read(struct org *o, const cJSON *obj, const char *where,
                               struct sim_item *it, bool appointment, struct mse_err *err)
{
    bool ok = true;
    const char *subject = opt_str(obj, "subject", where, err, &ok);
    const char *klass = opt_str(obj, "item_class", where, err, &ok);
    const char *body = opt_str(obj, "body", where, err, &ok);
    const char *btype = opt_str(obj, "body_type", where, err, &ok);
    const char *sens = opt_str(obj, "sensitivity", where, err, &ok);
    if (!ok)
        return MSE_ERR_INVALID;
    int s = sens ? fixture_sensitivity(sens) : SENS_NORMAL;
    if (s < 0)
        return bad(err, where, "sensitivity must be Normal, Personal, Private or Confidential");
    it->sensitivity = (enum sensitivity)s;
    it->subject = strdup(subject ? subject : "");
    it->item_class = strdup(klass ? klass : appointment ? "IPM.Appointment" : "IPM.Note");
    it->body = strdup(body ? body : "");
    it->body_html = btype && strcasecmp(btype, "html") == 0;
    if (!it->subject || !it->item_class || !it->body)
        return MSE_ERR_NOMEM;
    time_t now = time(NULL);
    enum mse_rc rc = opt_time(obj, "received", now, &it->received, where, err);
    if (rc == MSE_OK)
        rc = opt_time(obj, "sent", it->received, &it->sent, where, err);
    it->created = it->modified = it->received;
    if (rc == MSE_OK)
        rc = attachments_read(o, obj, where, it, err);
    return rc;
}

/* Message fields; the sender defaults to from. */
static enum mse_rc message_read(struct org *o, const cJSON *obj, const char *where,
                                struct sim_item *it, struct mse_err *err)
{
    bool ok = true;
    const char *imid = opt_str(obj, "internet_message_id", where, err, &ok);
    const char *mime = opt_str(obj, "mime", where, err, &ok);
    if (!ok)
        return MSE_ERR_INVALID;
    char gen[96];
    snprintf(gen, sizeof(gen), "<sim.%llu@%s>", (unsigned long long)it->num,
             strchr(it->mbx->address, '@') + 1);
    it->imid = strdup(imid ? imid : gen);
    it->mime = mime ? strdup(mime) : NULL;
    if (!it->imid || (mime && !it->mime))
        return MSE_ERR_NOMEM;
    char w[420];
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(obj, "from");
    const cJSON *sender = cJSON_GetObjectItemCaseSensitive(obj, "sender");
    snprintf(w, sizeof(w), "%s.from", where);
    if (from && !(it->from = fixture_person(o, from, w, err)))
        return MSE_ERR_INVALID;
    snprintf(w, sizeof(w), "%s.sender", where);
    if (sender && !(it->sender = fixture_person(o, sender, w, err)))
        return MSE_ERR_INVALID;
    if (!sender)
        it->sender = it->from;
    enum mse_rc rc = people(o, obj, "to", where, &it->to, &it->nto, err);
    if (rc == MSE_OK)
        rc = people(o, obj, "cc", where, &it->cc, &it->ncc, err);
    item_set_read(it, opt_bool(obj, "is_read", false));
    return rc;
}

enum mse_rc fixture_item_add(struct org *o, struct sim_folder *f, const cJSON *obj,
                             bool appointment, const char *where, struct sim_item **out,
                             struct mse_err *err)
{
    if (!cJSON_IsObject(obj))
        return bad(err, where, "must be an object");
    struct sim_item *it;
    enum mse_rc rc = item_new(o, f, appointment ? ITEM_CALENDAR : ITEM_MESSAGE, &it);
    if (rc != MSE_OK)
        return rc;
    rc = common_read(o, obj, where, it, appointment, err);
    if (rc == MSE_OK)
        rc = appointment ? calendar_read(o, obj, where, it, err)
                         : message_read(o, obj, where, it, err);
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(obj, "size");
    item_size_update(it);
    if (rc == MSE_OK && cJSON_IsNumber(size) && size->valuedouble > 0 && size->valuedouble < 1e12)
        it->size = (int64_t)size->valuedouble;
    if (rc != MSE_OK) {
        if (item_delete(o, it) != MSE_OK) /* leaves a tombstone: harmless, never seen */
            return MSE_ERR_NOMEM;
        return rc;
    }
    if (out)
        *out = it;
    return MSE_OK;
}

/* A folder's "messages" or "appointments" array. */
static enum mse_rc items_add(struct org *o, struct sim_folder *f, const cJSON *obj, const char *key,
                             bool appointment, const char *where, struct mse_err *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key), *el;
    if (arr && !cJSON_IsArray(arr))
        return bad(err, where, "messages and appointments must be arrays");
    unsigned i = 0;
    cJSON_ArrayForEach(el, arr)
    {
        char w[420];
        snprintf(w, sizeof(w), "%s.%s[%u]", where, key, i++);
        enum mse_rc rc = fixture_item_add(o, f, el, appointment, w, NULL, err);
        if (rc != MSE_OK)
            return rc;
    }
    return MSE_OK;
}

enum mse_rc fixture_folder_add(struct org *o, struct sim_folder *parent, const cJSON *obj,
                               const char *where, struct sim_folder **out, struct mse_err *err)
{
    bool ok = true;
    const char *name = opt_str(obj, "name", where, err, &ok);
    const char *klass = opt_str(obj, "folder_class", where, err, &ok);
    const char *dist = opt_str(obj, "distinguished_id", where, err, &ok);
    if (!ok)
        return MSE_ERR_INVALID;
    if (!name || !name[0] || strchr(name, '/') || strlen(name) > 255)
        return bad(err, where, "a folder needs a name (1-255 characters, no '/')");
    int d = dist ? store_distinguished_lookup(dist) : -1;
    if (dist && (d < 2 || mailbox_distinguished(parent->mbx, dist)))
        return bad(err, where, "distinguished_id is unknown or already taken");
    for (unsigned i = 0; i < parent->nchildren; i++) {
        if (strcmp(parent->children[i]->name, name) == 0)
            return bad(err, where, "a folder of that name already exists there");
    }
    struct sim_folder *f;
    enum mse_rc rc = folder_create(o, parent, name, klass ? klass : "IPF.Note", d, &f);
    if (rc == MSE_OK)
        rc = items_add(o, f, obj, "messages", false, where, err);
    if (rc == MSE_OK)
        rc = items_add(o, f, obj, "appointments", true, where, err);
    const cJSON *subs = cJSON_GetObjectItemCaseSensitive(obj, "folders"), *s;
    unsigned i = 0;
    cJSON_ArrayForEach(s, subs)
    {
        char w[420];
        snprintf(w, sizeof(w), "%s.folders[%u]", where, i++);
        if (rc == MSE_OK)
            rc = fixture_folder_add(o, f, s, w, NULL, err);
    }
    if (rc == MSE_OK && out)
        *out = f;
    return rc;
}

/* An array of addresses as strings. */
static enum mse_rc strv_read(const cJSON *arr, char ***out, unsigned *n)
{
    int size = cJSON_GetArraySize(arr);
    *out = calloc((size_t)size + 1, sizeof(**out));
    if (!*out)
        return MSE_ERR_NOMEM;
    const cJSON *el;
    cJSON_ArrayForEach(el, arr)
    {
        if (!cJSON_IsString(el) || !address_ok(el->valuestring))
            return MSE_ERR_INVALID;
        if (!((*out)[(*n)++] = strdup(el->valuestring)))
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

/* An account (or a mailbox owner's login): password, rights, bearer tokens. */
static enum mse_rc account_read(struct org *o, const cJSON *a, const char *where,
                                struct mse_err *err)
{
    bool ok = true;
    const char *addr = opt_str(a, "address", where, err, &ok);
    const char *pw = opt_str(a, "password", where, err, &ok);
    if (!ok)
        return MSE_ERR_INVALID;
    if (!addr || !address_ok(addr))
        return bad(err, where, "address must be an e-mail address");
    struct sim_account *acct = org_account(o, addr);
    if (!acct && org_account_add(o, addr, pw, &acct) != MSE_OK)
        return MSE_ERR_NOMEM;
    const cJSON *imp = cJSON_GetObjectItemCaseSensitive(a, "impersonate");
    acct->impersonate_all = cJSON_IsTrue(imp);
    if (cJSON_IsArray(imp) && strv_read(imp, &acct->impersonate, &acct->nimpersonate) != MSE_OK)
        return bad(err, where, "impersonate must be true or an array of addresses");
    const cJSON *fa = cJSON_GetObjectItemCaseSensitive(a, "full_access");
    if (cJSON_IsArray(fa) && strv_read(fa, &acct->full_access, &acct->nfull_access) != MSE_OK)
        return bad(err, where, "full_access must be an array of addresses");
    const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(a, "tokens"), *t;
    cJSON_ArrayForEach(t, tokens)
    {
        if (!cJSON_IsString(t) || strlen(t->valuestring) < 16)
            return bad(err, where, "tokens must be strings of at least 16 characters");
        if (org_token_add(o, t->valuestring, acct) != MSE_OK)
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

/* First pass: every mailbox exists before any item names its people. */
static enum mse_rc mailbox_create(struct org *o, const cJSON *mb, const char *where,
                                  struct mse_err *err)
{
    bool ok = true;
    const char *addr = opt_str(mb, "address", where, err, &ok);
    const char *name = opt_str(mb, "display_name", where, err, &ok);
    if (!ok)
        return MSE_ERR_INVALID;
    if (!addr || !address_ok(addr))
        return bad(err, where, "address must be an e-mail address");
    struct sim_mailbox *m;
    enum mse_rc rc = org_mailbox_add(o, addr, name, &m);
    if (rc == MSE_ERR_CONFLICT)
        return bad(err, where, "a mailbox with this address exists already");
    if (rc == MSE_OK && cJSON_GetObjectItemCaseSensitive(mb, "password"))
        rc = account_read(o, mb, where, err);
    return rc;
}

/* Second pass: folders and items. */
static enum mse_rc mailbox_fill(struct org *o, const cJSON *mb, const char *where,
                                struct mse_err *err)
{
    struct sim_mailbox *m =
            org_mailbox(o, cJSON_GetObjectItemCaseSensitive(mb, "address")->valuestring);
    enum mse_rc rc = MSE_OK;
    const cJSON *folders = cJSON_GetObjectItemCaseSensitive(mb, "folders"), *f;
    if (folders && !cJSON_IsArray(folders))
        return bad(err, where, "folders must be an array");
    unsigned i = 0;
    cJSON_ArrayForEach(f, folders)
    {
        char w[420];
        snprintf(w, sizeof(w), "%s.folders[%u]", where, i++);
        if (rc == MSE_OK)
            rc = fixture_folder_add(o, m->msgroot, f, w, NULL, err);
    }
    /* Standard folders the fixture did not list are added after its own. */
    if (rc == MSE_OK)
        rc = org_mailbox_finish(o, m);
    return rc;
}

/* A distribution group; members may be groups (cycles allowed) or outsiders. */
static enum mse_rc group_read(struct org *o, const cJSON *g, const char *where, struct mse_err *err)
{
    bool ok = true;
    const char *addr = opt_str(g, "address", where, err, &ok);
    const char *name = opt_str(g, "name", where, err, &ok);
    if (!ok)
        return MSE_ERR_INVALID;
    if (!addr || !address_ok(addr))
        return bad(err, where, "address must be an e-mail address");
    char **members = NULL;
    unsigned n = 0;
    struct sim_group *grp;
    enum mse_rc rc = strv_read(cJSON_GetObjectItemCaseSensitive(g, "members"), &members, &n);
    if (rc == MSE_ERR_INVALID)
        bad(err, where, "members must be an array of addresses");
    if (rc == MSE_OK && (rc = org_group_add(o, addr, name, &grp)) == MSE_ERR_CONFLICT)
        bad(err, where, "a group with this address exists already");
    if (rc == MSE_OK)
        rc = org_group_set_members(grp, (const char *const *)members, n);
    for (unsigned i = 0; i < n; i++)
        free(members[i]);
    free(members);
    return rc;
}

typedef enum mse_rc (*section_fn)(struct org *o, const cJSON *el, const char *where,
                                  struct mse_err *err);

/* Runs fn over every object of a top-level array, naming it in errors. */
static enum mse_rc section(struct org *o, const cJSON *root, const char *key, section_fn fn,
                           struct mse_err *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key), *el;
    if (arr && !cJSON_IsArray(arr))
        return bad(err, key, "must be an array");
    unsigned i = 0;
    cJSON_ArrayForEach(el, arr)
    {
        char w[64];
        snprintf(w, sizeof(w), "%s[%u]", key, i++);
        if (!cJSON_IsObject(el))
            return bad(err, w, "must be an object");
        enum mse_rc rc = fn(o, el, w, err);
        if (rc != MSE_OK)
            return rc;
    }
    return MSE_OK;
}

enum mse_rc fixture_parse(const char *text, struct org **out, struct mse_err *err)
{
    cJSON *root = cJSON_Parse(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bad(err, "fixture", "is not a JSON object");
    }
    struct org *o = org_new();
    enum mse_rc rc = o ? MSE_OK : MSE_ERR_NOMEM;
    /* Mailboxes before accounts, so accounts find their mailbox; groups last. */
    if (rc == MSE_OK)
        rc = section(o, root, "mailboxes", mailbox_create, err);
    if (rc == MSE_OK)
        rc = section(o, root, "mailboxes", mailbox_fill, err);
    if (rc == MSE_OK)
        rc = section(o, root, "accounts", account_read, err);
    if (rc == MSE_OK)
        rc = section(o, root, "groups", group_read, err);
    cJSON_Delete(root);
    if (rc != MSE_OK) {
        if (rc == MSE_ERR_NOMEM && !err->msg[0])
            snprintf(err->msg, sizeof(err->msg), "out of memory loading the fixture");
        org_free(o);
        return rc;
    }
    *out = o;
    return MSE_OK;
}

enum mse_rc fixture_load(const char *path, struct org **out, struct mse_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->msg, sizeof(err->msg), "cannot open fixture %s: %s", path, strerror(errno));
        return MSE_ERR_IO;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    rewind(f);
    if (size < 0 || (unsigned long)size > SIM_FIXTURE_MAX_BYTES) {
        fclose(f);
        snprintf(err->msg, sizeof(err->msg), "fixture %s is unreadable or larger than %u bytes",
                 path, SIM_FIXTURE_MAX_BYTES);
        return MSE_ERR_TOO_LARGE;
    }
    char *text = malloc((size_t)size + 1);
    size_t n = text ? fread(text, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!text) {
        snprintf(err->msg, sizeof(err->msg), "out of memory reading %s", path);
        return MSE_ERR_NOMEM;
    }
    text[n] = '\0';
    enum mse_rc rc = fixture_parse(text, out, err);
    free(text);
    return rc;
}
