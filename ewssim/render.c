/* SPDX-License-Identifier: Apache-2.0 */
/* Items, folders, mailboxes and attachments as EWS XML, in the schema's element order. */
#include "render.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ewsid.h"
#include "gen.h"
#include "recur.h"
#include "mse/limits.h"
#include "soap.h"
#include "timefmt.h"

const char *const render_day_names[8] = { "Sunday",   "Monday", "Tuesday",  "Wednesday",
                                          "Thursday", "Friday", "Saturday", "Day" };
const char *const render_month_names[13] = { "",        "January",   "February", "March",
                                             "April",   "May",       "June",     "July",
                                             "August",  "September", "October",  "November",
                                             "December" };
const char *const render_week_index[6] = { "", "First", "Second", "Third", "Fourth", "Last" };

const char *render_sensitivity(enum sensitivity s)
{
    static const char *const names[] = { "Normal", "Personal", "Private", "Confidential" };
    return names[s];
}

const char *render_cal_type(enum cal_type t)
{
    static const char *const names[] = { "Single", "Occurrence", "Exception", "RecurringMaster" };
    return names[t];
}

const char *render_response(enum response_type r)
{
    static const char *const names[] = { "Unknown", "Organizer", "Tentative",
                                         "Accept",  "Decline",   "NoResponseReceived" };
    return names[r];
}

char *render_base64(const void *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    return out;
}

/* Id and ChangeKey attributes of an id element. */
static void id_attrs(xmlNodePtr n, const struct ewsid *id, enum ewsid_kind kind, uint64_t num,
                     uint32_t change_no)
{
    char text[EWSID_MAX], ck[EWSID_MAX];
    ewsid_format(id, text);
    ewsid_change_key(kind, num, change_no, ck);
    x_attr(n, "Id", text);
    x_attr(n, "ChangeKey", ck);
}

void render_item_id(xmlNodePtr parent, xmlNsPtr t, const char *el, const struct sim_item *it)
{
    struct ewsid id = { EWSID_ITEM, it->mbx->idx, it->num, 0 };
    id_attrs(x_el(parent, t, el), &id, EWSID_ITEM, it->num, it->change_no);
}

void render_occurrence_id(xmlNodePtr parent, xmlNsPtr t, const char *el, const struct sim_item *it,
                          time_t original_start)
{
    struct ewsid id = { EWSID_OCCURRENCE, it->mbx->idx, it->num, (uint64_t)original_start };
    id_attrs(x_el(parent, t, el), &id, EWSID_ITEM, it->num, it->change_no);
}

void render_folder_id(xmlNodePtr parent, xmlNsPtr t, const char *el, const struct sim_folder *f)
{
    struct ewsid id = { EWSID_FOLDER, f->mbx->idx, f->num, 0 };
    id_attrs(x_el(parent, t, el), &id, EWSID_FOLDER, f->num, f->change_no);
}

xmlNodePtr render_mailbox(xmlNodePtr parent, xmlNsPtr t, const char *el, const char *name,
                          const char *email, const char *mailbox_type)
{
    xmlNodePtr m = x_el(parent, t, el);
    if (name && name[0])
        x_text(m, t, "Name", name);
    x_text(m, t, "EmailAddress", email);
    x_text(m, t, "RoutingType", "SMTP");
    if (mailbox_type)
        x_text(m, t, "MailboxType", mailbox_type);
    return m;
}

/* From/Sender/Organizer: one t:Mailbox inside. */
static void person_single(xmlNodePtr parent, xmlNsPtr t, const char *el, const struct sim_person *p)
{
    if (p)
        render_mailbox(x_el(parent, t, el), t, "Mailbox", p->name, p->email, "Mailbox");
}

/* ToRecipients/CcRecipients: n t:Mailbox. */
static void person_list(xmlNodePtr parent, xmlNsPtr t, const char *el,
                        const struct sim_person *const *v, unsigned n)
{
    if (!n)
        return;
    xmlNodePtr list = x_el(parent, t, el);
    for (unsigned i = 0; i < n; i++)
        render_mailbox(list, t, "Mailbox", v[i]->name, v[i]->email, "Mailbox");
}

/* Required/OptionalAttendees: t:Attendee with Mailbox and ResponseType. */
static void attendees(xmlNodePtr parent, xmlNsPtr t, const char *el, const struct sim_attendee *v,
                      unsigned n)
{
    if (!n)
        return;
    xmlNodePtr list = x_el(parent, t, el);
    for (unsigned i = 0; i < n; i++) {
        xmlNodePtr a = x_el(list, t, "Attendee");
        render_mailbox(a, t, "Mailbox", v[i].who->name, v[i].who->email, "Mailbox");
        x_text(a, t, "ResponseType", render_response(v[i].response));
    }
}

/* "Alice; Bob" as DisplayTo/DisplayCc show recipients. */
static void display_list(xmlNodePtr parent, xmlNsPtr t, const char *el,
                         const struct sim_person *const *v, unsigned n)
{
    struct mse_buf b;
    mse_buf_init(&b, 64 * 1024);
    enum mse_rc rc = MSE_OK;
    for (unsigned i = 0; i < n && rc == MSE_OK; i++)
        rc = mse_buf_printf(&b, "%s%s", i ? "; " : "", v[i]->name[0] ? v[i]->name : v[i]->email);
    x_text(parent, t, el, b.data ? b.data : "");
    mse_buf_cleanup(&b);
}

enum mse_rc render_body_text(const struct sim_item *it, char **out)
{
    if (it->body) {
        *out = strdup(it->body);
        return *out ? MSE_OK : MSE_ERR_NOMEM;
    }
    if (!it->body_seed) {
        *out = strdup("");
        return *out ? MSE_OK : MSE_ERR_NOMEM;
    }
    return gen_body(it->body_seed, item_body_len(it), out);
}

/* Text ↔ HTML for BodyType; crude but faithful enough for an archive's needs. */
static enum mse_rc body_convert(const char *text, bool is_html, enum body_type want,
                                struct mse_buf *b)
{
    if (want == BODY_BEST || (want == BODY_HTML) == is_html)
        return mse_buf_puts(b, text);
    enum mse_rc rc = MSE_OK;
    if (want == BODY_HTML) {
        rc = mse_buf_puts(b, "<html><body><pre>");
        for (const char *p = text; *p && rc == MSE_OK; p++) {
            const char *e = *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '&' ? "&amp;" : NULL;
            rc = e ? mse_buf_puts(b, e) : mse_buf_append(b, p, 1);
        }
        return rc == MSE_OK ? mse_buf_puts(b, "</pre></body></html>") : rc;
    }
    bool in_tag = false;
    for (const char *p = text; *p && rc == MSE_OK; p++) {
        if (*p == '<')
            in_tag = true;
        else if (*p == '>')
            in_tag = false;
        else if (!in_tag)
            rc = mse_buf_append(b, p, 1);
    }
    return rc;
}

/* t:Body in the requested BodyType. */
static void body_render(xmlNodePtr parent, const struct render_ctx *rc, const struct sim_item *it)
{
    char *text = NULL;
    struct mse_buf b;
    mse_buf_init(&b, MSE_MAX_RESPONSE_BODY);
    if (render_body_text(it, &text) == MSE_OK &&
        body_convert(text, it->body_html, rc->shape->body_type, &b) == MSE_OK) {
        bool html = rc->shape->body_type == BODY_BEST ? it->body_html
                                                      : rc->shape->body_type == BODY_HTML;
        xmlNodePtr body = x_text(parent, rc->t, "Body", b.data ? b.data : "");
        x_attr(body, "BodyType", html ? "HTML" : "Text");
        x_attr(body, "IsTruncated", "false");
    }
    free(text);
    mse_buf_cleanup(&b);
}

/* t:MimeContent: the RFC 5322 text in base64. */
static void mime_render(xmlNodePtr parent, xmlNsPtr t, const struct sim_item *it)
{
    char *mime = NULL;
    size_t len = 0;
    if (render_mime(it, &mime, &len) != MSE_OK)
        return;
    char *b64 = render_base64(mime, len);
    if (b64)
        x_attr(x_text(parent, t, "MimeContent", b64), "CharacterSet", "UTF-8");
    free(b64);
    free(mime);
}

enum mse_rc render_attachment(xmlNodePtr parent, xmlNsPtr t, const struct sim_item *it,
                              const struct sim_attachment *a, bool content)
{
    xmlNodePtr fa = x_el(parent, t, "FileAttachment");
    struct ewsid id = { EWSID_ATTACHMENT, it->mbx->idx, it->num, a->num };
    char text[EWSID_MAX];
    ewsid_format(&id, text);
    x_attr(x_el(fa, t, "AttachmentId"), "Id", text);
    x_text(fa, t, "Name", a->name);
    x_text(fa, t, "ContentType", a->content_type);
    if (a->content_id)
        x_text(fa, t, "ContentId", a->content_id);
    x_int(fa, t, "Size", (int64_t)a->size);
    x_time(fa, t, "LastModifiedTime", a->modified);
    x_bool(fa, t, "IsInline", a->is_inline);
    if (!content)
        return fa ? MSE_OK : MSE_ERR_NOMEM;
    uint8_t *bytes = NULL;
    enum mse_rc rc = gen_attachment_content(a, &bytes);
    if (rc != MSE_OK)
        return rc;
    char *b64 = render_base64(bytes, a->size);
    free(bytes);
    if (!b64)
        return MSE_ERR_NOMEM;
    x_text(fa, t, "Content", b64);
    free(b64);
    return fa ? MSE_OK : MSE_ERR_NOMEM;
}

static void ext_props(xmlNodePtr parent, const struct render_ctx *rc, const struct sim_item *it);

/* ItemType's elements, in schema order. */
static void item_base(xmlNodePtr n, const struct render_ctx *rc, const struct sim_item *it,
                      const struct occ_view *occ)
{
    uint64_t p = rc->shape->props;
    xmlNsPtr t = rc->t;
    if ((p & P_MIME) && !rc->summary)
        mime_render(n, t, it);
    if (occ)
        render_occurrence_id(n, t, "ItemId", it, occ->original_start);
    else
        render_item_id(n, t, "ItemId", it);
    if (p & P_PARENT_FOLDER_ID)
        render_folder_id(n, t, "ParentFolderId", it->folder);
    if (p & P_ITEM_CLASS)
        x_text(n, t, "ItemClass", it->item_class);
    if (p & P_SUBJECT)
        x_text(n, t, "Subject",
               occ && occ->exception && occ->exception->subject ? occ->exception->subject
                                                                : it->subject);
    if (p & P_SENSITIVITY)
        x_text(n, t, "Sensitivity", render_sensitivity(it->sensitivity));
    if ((p & P_BODY) && !rc->summary)
        body_render(n, rc, it);
    if ((p & P_ATTACHMENTS) && !rc->summary && it->natts) {
        xmlNodePtr atts = x_el(n, t, "Attachments");
        for (unsigned i = 0; i < it->natts; i++) {
            if (render_attachment(atts, t, it, &it->atts[i], false) != MSE_OK)
                break;
        }
    }
    if (p & P_RECEIVED)
        x_time(n, t, "DateTimeReceived", it->received);
    if (p & P_SIZE)
        x_int(n, t, "Size", it->size);
    if (p & P_IMPORTANCE)
        x_text(n, t, "Importance", "Normal");
    if (p & P_IS_DRAFT)
        x_bool(n, t, "IsDraft", false);
    if (p & P_SENT)
        x_time(n, t, "DateTimeSent", it->sent);
    if (p & P_CREATED)
        x_time(n, t, "DateTimeCreated", it->created);
    if (p & P_DISPLAY_CC)
        display_list(n, t, "DisplayCc", it->cc, it->ncc);
    if (p & P_DISPLAY_TO)
        display_list(n, t, "DisplayTo", it->to, it->nto);
    if (p & P_HAS_ATTACHMENTS)
        x_bool(n, t, "HasAttachments", it->natts > 0);
    ext_props(n, rc, it);
    if (p & P_LAST_MODIFIED)
        x_time(n, t, "LastModifiedTime", it->modified);
}

/* A PropertyTag as Exchange accepts it: "0x0E08" or "3592"; -1 when it is neither. */
static long prop_tag(const char *s)
{
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    char *end = NULL;
    unsigned long v = strtoul(hex ? s + 2 : s, &end, hex ? 16 : 10);
    return end && !*end && end != (hex ? s + 2 : s) && v <= 0xFFFF ? (long)v : -1;
}

/*
 * Well-known MAPI properties answered from the store by PropertyTag: the value as EWS writes
 * it, or false when the tag is not one of them, the item lacks it or the type differs.
 */
static bool tag_value(const struct sim_item *it, long tag, const char *type, char *out, size_t size)
{
    bool integer = strcmp(type, "Integer") == 0, text = strcmp(type, "String") == 0;
    bool when = strcmp(type, "SystemTime") == 0, boolean = strcmp(type, "Boolean") == 0;
    time_t t = 0;
    switch (tag) {
    case 0x0E08: /* PR_MESSAGE_SIZE */
        return integer && snprintf(out, size, "%lld", (long long)it->size) > 0;
    case 0x0E07: /* PR_MESSAGE_FLAGS: MSGFLAG_READ, MSGFLAG_HASATTACH */
        return integer && snprintf(out, size, "%d", (it->is_read ? 1 : 0) | (it->natts ? 16 : 0));
    case 0x0036: /* PR_SENSITIVITY: the same order as EWS names them */
        return integer && snprintf(out, size, "%d", (int)it->sensitivity) > 0;
    case 0x0017: /* PR_IMPORTANCE: the simulator's items are all of normal importance */
        return integer && snprintf(out, size, "1") > 0;
    case 0x0E1B: /* PR_HASATTACH */
        return boolean && snprintf(out, size, "%s", it->natts ? "true" : "false") > 0;
    case 0x0037: /* PR_SUBJECT */
        return text && snprintf(out, size, "%s", it->subject ? it->subject : "") >= 0;
    case 0x001A: /* PR_MESSAGE_CLASS */
        return text && it->item_class && snprintf(out, size, "%s", it->item_class) >= 0;
    case 0x1035: /* PR_INTERNET_MESSAGE_ID */
        return text && it->imid && snprintf(out, size, "%s", it->imid) >= 0;
    case 0x0E06: /* PR_MESSAGE_DELIVERY_TIME */
        t = it->received;
        break;
    case 0x0039: /* PR_CLIENT_SUBMIT_TIME */
        t = it->sent;
        break;
    case 0x3007: /* PR_CREATION_TIME */
        t = it->created;
        break;
    case 0x3008: /* PR_LAST_MODIFICATION_TIME */
        t = it->modified;
        break;
    default:
        return false;
    }
    if (!when || !t)
        return false;
    mse_time_format(t, out, size);
    return true;
}

/* <t:ExtendedProperty> with the request's ExtendedFieldURI attributes and one value. */
static void ext_prop_render(xmlNodePtr parent, const struct render_ctx *rc, xmlNodePtr src,
                            const char *value)
{
    xmlNodePtr ep = x_el(parent, rc->t, "ExtendedProperty");
    xmlNodePtr uri = x_el(ep, rc->t, "ExtendedFieldURI");
    for (xmlAttrPtr a = src->properties; a; a = a->next) {
        xmlChar *v = xmlNodeListGetString(src->doc, a->children, 1);
        x_attr(uri, (const char *)a->name, v ? (const char *)v : "");
        xmlFree(v);
    }
    x_text(ep, rc->t, "Value", value);
}

/*
 * ExtendedProperty elements the shape asked for (by ExtendedFieldURI): those set on the item
 * (UpdateItem, CreateItem), else the well-known tags the store can answer.
 */
static void ext_props(xmlNodePtr parent, const struct render_ctx *rc, const struct sim_item *it)
{
    if (!rc->shape->additional)
        return;
    for (xmlNodePtr u = x_first(rc->shape->additional); u; u = x_next(u)) {
        if (!x_is(u, NS_TYPES, "ExtendedFieldURI"))
            continue;
        char *key = render_extprop_key(u);
        bool found = false;
        for (unsigned i = 0; key && i < it->nprops && !found; i++) {
            found = strcmp(key, it->props[i].attrs) == 0;
            if (found)
                ext_prop_render(parent, rc, u, it->props[i].value);
        }
        free(key);
        char tag[16], type[32], value[512];
        if (!found && x_prop(u, "PropertyTag", tag, sizeof(tag)) &&
            x_prop(u, "PropertyType", type, sizeof(type)) &&
            tag_value(it, prop_tag(tag), type, value, sizeof(value)))
            ext_prop_render(parent, rc, u, value);
    }
}

char *render_extprop_key(const xmlNode *uri)
{
    static const char *const names[] = { "DistinguishedPropertySetId",
                                         "PropertySetId",
                                         "PropertyTag",
                                         "PropertyName",
                                         "PropertyId",
                                         "PropertyType" };
    struct mse_buf b;
    mse_buf_init(&b, 4096);
    char v[512];
    enum mse_rc rc = mse_buf_puts(&b, "");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && rc == MSE_OK; i++) {
        if (!x_prop(uri, names[i], v, sizeof(v)))
            continue;
        /* One tag, however it was written ("0x0E08", "0xe08", "3592"). */
        long tag = strcmp(names[i], "PropertyTag") == 0 ? prop_tag(v) : -1;
        rc = tag >= 0 ? mse_buf_printf(&b, "%s=%ld\n", names[i], tag)
                      : mse_buf_printf(&b, "%s=%s\n", names[i], v);
    }
    char *out = NULL;
    size_t len;
    if (rc != MSE_OK || mse_buf_take(&b, &out, &len) != MSE_OK)
        out = NULL;
    mse_buf_cleanup(&b);
    return out;
}

/* MessageType's elements, in schema order. */
static void message_fields(xmlNodePtr n, const struct render_ctx *rc, const struct sim_item *it)
{
    uint64_t p = rc->shape->props;
    xmlNsPtr t = rc->t;
    if (p & P_SENDER)
        person_single(n, t, "Sender", it->sender);
    /* FindItem and SyncFolderItems return no recipient lists, whatever is asked (as Body). */
    if ((p & P_TO) && !rc->summary)
        person_list(n, t, "ToRecipients", it->to, it->nto);
    if ((p & P_CC) && !rc->summary)
        person_list(n, t, "CcRecipients", it->cc, it->ncc);
    if (p & P_FROM)
        person_single(n, t, "From", it->from);
    if ((p & P_IMID) && it->imid)
        x_text(n, t, "InternetMessageId", it->imid);
    if (p & P_IS_READ)
        x_bool(n, t, "IsRead", it->is_read);
}

/* xs:date of a midnight-UTC time. */
static void date_text(xmlNodePtr parent, xmlNsPtr t, const char *el, time_t d)
{
    char buf[40];
    mse_time_format(d, buf, sizeof(buf));
    buf[10] = '\0'; /* YYYY-MM-DD */
    x_text(parent, t, el, buf);
}

/* DaysOfWeek as a list (weekly) or a single day (relative patterns). */
static void days_text(xmlNodePtr parent, xmlNsPtr t, uint8_t days, bool single)
{
    char buf[96] = "";
    size_t used = 0;
    for (int d = 0; d < 8; d++) {
        if (!(days & (1u << d)))
            continue;
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", used ? " " : "",
                                 render_day_names[d]);
        if (single || used >= sizeof(buf))
            break;
    }
    x_text(parent, t, "DaysOfWeek", buf);
}

/* t:Recurrence: one pattern element and one range element, as EWS reports them. */
static void recurrence_render(xmlNodePtr parent, xmlNsPtr t, const struct sim_recurrence *r)
{
    static const char *const pattern_names[] = { "",
                                                 "DailyRecurrence",
                                                 "WeeklyRecurrence",
                                                 "AbsoluteMonthlyRecurrence",
                                                 "RelativeMonthlyRecurrence",
                                                 "AbsoluteYearlyRecurrence",
                                                 "RelativeYearlyRecurrence" };
    xmlNodePtr rec = x_el(parent, t, "Recurrence");
    xmlNodePtr p = x_el(rec, t, pattern_names[r->pattern]);
    if (r->pattern == PAT_DAILY || r->pattern == PAT_WEEKLY || r->pattern == PAT_ABS_MONTHLY ||
        r->pattern == PAT_REL_MONTHLY)
        x_int(p, t, "Interval", r->interval);
    if (r->pattern == PAT_WEEKLY) {
        days_text(p, t, r->days, false);
        if (r->first_day_of_week >= 0)
            x_text(p, t, "FirstDayOfWeek", render_day_names[r->first_day_of_week]);
    }
    if (r->pattern == PAT_REL_MONTHLY || r->pattern == PAT_REL_YEARLY) {
        days_text(p, t, r->days, true);
        x_text(p, t, "DayOfWeekIndex", render_week_index[r->day_of_week_index]);
    }
    if (r->pattern == PAT_ABS_MONTHLY || r->pattern == PAT_ABS_YEARLY)
        x_int(p, t, "DayOfMonth", r->day_of_month);
    if (r->pattern == PAT_ABS_YEARLY || r->pattern == PAT_REL_YEARLY)
        x_text(p, t, "Month", render_month_names[r->month]);
    static const char *const range_names[] = { "NoEndRecurrence", "EndDateRecurrence",
                                               "NumberedRecurrence" };
    xmlNodePtr range = x_el(rec, t, range_names[r->range]);
    date_text(range, t, "StartDate", r->start_date);
    if (r->range == RANGE_END_DATE)
        date_text(range, t, "EndDate", r->end_date);
    if (r->range == RANGE_NUMBERED)
        x_int(range, t, "NumberOfOccurrences", r->count);
}

/* One t:OccurrenceInfoType: occurrence id, start, end, original start. */
static void occurrence_info(xmlNodePtr parent, xmlNsPtr t, const char *el,
                            const struct sim_item *it, time_t original_start)
{
    time_t start, end;
    recur_occurrence_times(it->cal, original_start, &start, &end);
    xmlNodePtr o = x_el(parent, t, el);
    render_occurrence_id(o, t, "ItemId", it, original_start);
    x_time(o, t, "Start", start);
    x_time(o, t, "End", end);
    x_time(o, t, "OriginalStart", original_start);
}

/*
 * FirstOccurrence and LastOccurrence (not deleted ones), ModifiedOccurrences with their
 * occurrence ids, and DeletedOccurrences. A series without end has no LastOccurrence.
 */
static void occurrences_render(xmlNodePtr n, const struct render_ctx *rc, const struct sim_item *it)
{
    const struct sim_calendar *c = it->cal;
    xmlNsPtr t = rc->t;
    time_t first, last;
    bool has_last = false;
    if ((rc->shape->props & (P_FIRST_OCC | P_LAST_OCC)) &&
        recur_first_last(c, &first, &last, &has_last)) {
        if (rc->shape->props & P_FIRST_OCC)
            occurrence_info(n, t, "FirstOccurrence", it, first);
        if ((rc->shape->props & P_LAST_OCC) && has_last)
            occurrence_info(n, t, "LastOccurrence", it, last);
    }
    if ((rc->shape->props & P_MODIFIED_OCC) && c->nexceptions) {
        xmlNodePtr list = x_el(n, t, "ModifiedOccurrences");
        for (unsigned i = 0; i < c->nexceptions; i++)
            occurrence_info(list, t, "Occurrence", it, c->exceptions[i].original_start);
    }
    if ((rc->shape->props & P_DELETED_OCC) && c->ndeleted) {
        xmlNodePtr list = x_el(n, t, "DeletedOccurrences");
        for (unsigned i = 0; i < c->ndeleted; i++)
            x_time(x_el(list, t, "DeletedOccurrence"), t, "Start", c->deleted[i]);
    }
}

/* CalendarItemType's elements in schema order, for a master or one occurrence. */
static void calendar_fields(xmlNodePtr n, const struct render_ctx *rc, const struct sim_item *it,
                            const struct occ_view *occ)
{
    const struct sim_calendar *c = it->cal;
    uint64_t p = rc->shape->props;
    xmlNsPtr t = rc->t;
    const struct sim_exception *ex = occ ? occ->exception : NULL;
    if ((p & P_UID) && c->uid)
        x_text(n, t, "UID", c->uid);
    if (p & P_START)
        x_time(n, t, "Start", occ ? occ->start : c->start);
    if (p & P_END)
        x_time(n, t, "End", occ ? occ->end : c->end);
    if ((p & P_ORIGINAL_START) && occ)
        x_time(n, t, "OriginalStart", occ->original_start);
    if (p & P_ALL_DAY)
        x_bool(n, t, "IsAllDayEvent", c->all_day);
    if (p & P_FREE_BUSY)
        x_text(n, t, "LegacyFreeBusyStatus", "Busy");
    if ((p & P_LOCATION) && ((ex && ex->location) || c->location))
        x_text(n, t, "Location", ex && ex->location ? ex->location : c->location);
    if (p & P_IS_MEETING)
        x_bool(n, t, "IsMeeting", c->nrequired + c->noptional > 0);
    if (p & P_IS_CANCELLED)
        x_bool(n, t, "IsCancelled", false);
    /* Exchange reports IsRecurring=false on the master itself (a documented quirk). */
    if (p & P_IS_RECURRING)
        x_bool(n, t, "IsRecurring", occ != NULL);
    if (p & P_CAL_TYPE)
        x_text(n, t, "CalendarItemType",
               render_cal_type(occ ? (ex ? CAL_EXCEPTION : CAL_OCCURRENCE) : c->type));
    if (p & P_MY_RESPONSE)
        x_text(n, t, "MyResponseType", "Organizer");
    if (p & P_ORGANIZER)
        person_single(n, t, "Organizer", c->organizer);
    if (p & P_REQUIRED)
        attendees(n, t, "RequiredAttendees", c->required, c->nrequired);
    if (p & P_OPTIONAL)
        attendees(n, t, "OptionalAttendees", c->optional, c->noptional);
    if (!occ && c->type == CAL_RECURRING_MASTER) {
        if (p & P_RECURRENCE)
            recurrence_render(n, t, &c->rec);
        occurrences_render(n, rc, it);
    }
}

xmlNodePtr render_item(xmlNodePtr parent, const struct render_ctx *rc, const struct sim_item *it,
                       const struct occ_view *occ)
{
    bool cal = it->kind == ITEM_CALENDAR;
    xmlNodePtr n = x_el(parent, rc->t, cal ? "CalendarItem" : "Message");
    item_base(n, rc, it, occ);
    if (cal)
        calendar_fields(n, rc, it, occ);
    else
        message_fields(n, rc, it);
    return n;
}

/* The element EWS uses for a folder of this class. */
static const char *folder_element(const struct sim_folder *f)
{
    const char *c = f->folder_class ? f->folder_class : "";
    if (strncmp(c, "IPF.Appointment", 15) == 0)
        return "CalendarFolder";
    if (strncmp(c, "IPF.Contact", 11) == 0)
        return "ContactsFolder";
    if (strncmp(c, "IPF.Task", 8) == 0)
        return "TasksFolder";
    return "Folder";
}

/* EffectiveRights: a mailbox owner may do everything in their folders. */
static void rights_render(xmlNodePtr n, xmlNsPtr t)
{
    xmlNodePtr r = x_el(n, t, "EffectiveRights");
    static const char *const names[] = { "CreateAssociated", "CreateContents", "CreateHierarchy",
                                         "Delete",           "Modify",         "Read",
                                         "ViewPrivateItems" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        x_bool(r, t, names[i], true);
}

xmlNodePtr render_folder(xmlNodePtr parent, xmlNsPtr t, const struct shape *s,
                         const struct sim_folder *f)
{
    const char *el = folder_element(f);
    xmlNodePtr n = x_el(parent, t, el);
    uint64_t p = s->props;
    render_folder_id(n, t, "FolderId", f);
    if ((p & F_PARENT) && f->parent)
        render_folder_id(n, t, "ParentFolderId", f->parent);
    if ((p & F_CLASS) && f->folder_class)
        x_text(n, t, "FolderClass", f->folder_class);
    if (p & F_NAME)
        x_text(n, t, "DisplayName", f->name);
    if (p & F_TOTAL)
        x_int(n, t, "TotalCount", f->item_count);
    if (p & F_CHILDREN)
        x_int(n, t, "ChildFolderCount", f->nchildren);
    if (p & F_RIGHTS)
        rights_render(n, t);
    if ((p & F_DISTINGUISHED) && f->distinguished >= 0)
        x_text(n, t, "DistinguishedFolderId", store_distinguished_names[f->distinguished]);
    if ((p & F_UNREAD) && strcmp(el, "Folder") == 0)
        x_int(n, t, "UnreadCount", f->unread_count);
    return n;
}

/* RFC 5322 date ("Mon, 06 May 2024 09:00:00 +0000"). */
static void mime_date(time_t t, char *out, size_t size)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* An address header ("To: \"Name\" <addr>, …"). */
static enum mse_rc mime_addresses(struct mse_buf *b, const char *hdr,
                                  const struct sim_person *const *v, unsigned n)
{
    if (!n)
        return MSE_OK;
    enum mse_rc rc = mse_buf_printf(b, "%s: ", hdr);
    for (unsigned i = 0; i < n && rc == MSE_OK; i++)
        rc = mse_buf_printf(b, "%s\"%s\" <%s>", i ? ", " : "", v[i]->name, v[i]->email);
    return rc == MSE_OK ? mse_buf_puts(b, "\r\n") : rc;
}

/* The headers of a synthesised message. */
static enum mse_rc mime_headers(struct mse_buf *b, const struct sim_item *it)
{
    char date[64];
    mime_date(it->sent ? it->sent : it->received, date, sizeof(date));
    const struct sim_person *from = it->from ? it->from : it->sender;
    enum mse_rc rc = MSE_OK;
    if (from)
        rc = mime_addresses(b, "From", &from, 1);
    if (rc == MSE_OK)
        rc = mime_addresses(b, "To", it->to, it->nto);
    if (rc == MSE_OK)
        rc = mime_addresses(b, "Cc", it->cc, it->ncc);
    if (rc == MSE_OK)
        rc = mse_buf_printf(b, "Subject: %s\r\nDate: %s\r\n", it->subject ? it->subject : "", date);
    if (rc == MSE_OK && it->imid)
        rc = mse_buf_printf(b, "Message-ID: %s\r\n", it->imid);
    if (rc == MSE_OK)
        rc = mse_buf_puts(b, "MIME-Version: 1.0\r\n");
    return rc;
}

/* One base64 part of a multipart/mixed message. */
static enum mse_rc mime_attachment(struct mse_buf *b, const struct sim_attachment *a)
{
    uint8_t *bytes = NULL;
    enum mse_rc rc = gen_attachment_content(a, &bytes);
    if (rc != MSE_OK)
        return rc;
    char *b64 = render_base64(bytes, a->size);
    free(bytes);
    if (!b64)
        return MSE_ERR_NOMEM;
    rc = mse_buf_printf(b,
                        "--mse-boundary\r\nContent-Type: %s; name=\"%s\"\r\n"
                        "Content-Disposition: attachment; filename=\"%s\"\r\n"
                        "Content-Transfer-Encoding: base64\r\n\r\n",
                        a->content_type, a->name, a->name);
    for (size_t off = 0, n = strlen(b64); rc == MSE_OK && off < n; off += 76)
        rc = mse_buf_printf(b, "%.76s\r\n", b64 + off);
    free(b64);
    return rc;
}

enum mse_rc render_mime(const struct sim_item *it, char **out, size_t *len)
{
    if (it->mime) {
        *len = strlen(it->mime);
        *out = strdup(it->mime);
        return *out ? MSE_OK : MSE_ERR_NOMEM;
    }
    struct mse_buf b;
    mse_buf_init(&b, MSE_MAX_RESPONSE_BODY);
    char *body = NULL;
    const char *ctype = it->body_html ? "text/html" : "text/plain";
    enum mse_rc rc = render_body_text(it, &body);
    if (rc == MSE_OK)
        rc = mime_headers(&b, it);
    if (rc == MSE_OK && it->natts)
        rc = mse_buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"mse-boundary\"\r\n\r\n"
                                "--mse-boundary\r\n");
    if (rc == MSE_OK)
        rc = mse_buf_printf(&b,
                            "Content-Type: %s; charset=utf-8\r\n"
                            "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
                            ctype, body);
    for (unsigned i = 0; i < it->natts && rc == MSE_OK; i++)
        rc = mime_attachment(&b, &it->atts[i]);
    if (rc == MSE_OK && it->natts)
        rc = mse_buf_puts(&b, "--mse-boundary--\r\n");
    if (rc == MSE_OK)
        rc = mse_buf_take(&b, out, len);
    free(body);
    mse_buf_cleanup(&b);
    return rc;
}
