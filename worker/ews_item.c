/* SPDX-License-Identifier: Apache-2.0 */
/* Items as EWS reports them (messages, appointments), read from XML; the GetItem operation. */
#include "ews_item.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ews.h"
#include "mime_stream.h"
#include "timefmt.h"

/* How one child element of an item is read. */
enum field_kind {
    F_ID,          /* t:ItemId Id= ChangeKey= → id, change_key */
    F_FOLDER_ID,   /* t:ParentFolderId Id= → string */
    F_STR,         /* text */
    F_TIME,        /* xs:dateTime → RFC 3339 UTC */
    F_INT,         /* xs:int / xs:long */
    F_TRI,         /* xs:boolean */
    F_PERSON,      /* wrapper holding one t:Mailbox (From, Sender, Organizer) */
    F_PEOPLE,      /* list of t:Mailbox (ToRecipients, CcRecipients) */
    F_ATTENDEES,   /* list of t:Attendee (t:Mailbox + t:ResponseType) */
    F_RECURRENCE,  /* t:Recurrence */
    F_OCCURRENCES, /* t:ModifiedOccurrences / t:DeletedOccurrences */
    F_ATTACHMENTS, /* t:Attachments (FileAttachment / ItemAttachment summaries) */
};

struct field_def {
    const char *local;
    enum field_kind kind;
    size_t off;
};

#define FIELD(name, kind, member)                                                                  \
    {                                                                                              \
        name, kind, offsetof(struct ews_item, member)                                              \
    }

/* Every item property the worker reads; the index is the bit in ews_item.present. */
static const struct field_def item_fields[] = {
    FIELD("ItemId", F_ID, id),
    FIELD("ParentFolderId", F_FOLDER_ID, parent_folder_id),
    FIELD("ItemClass", F_STR, item_class),
    FIELD("Subject", F_STR, subject),
    FIELD("Sensitivity", F_STR, sensitivity),
    FIELD("Attachments", F_ATTACHMENTS, attachments),
    FIELD("DateTimeReceived", F_TIME, received),
    FIELD("Size", F_INT, size),
    FIELD("DateTimeSent", F_TIME, sent),
    FIELD("HasAttachments", F_TRI, has_attachments),
    FIELD("Sender", F_PERSON, sender),
    FIELD("ToRecipients", F_PEOPLE, to),
    FIELD("CcRecipients", F_PEOPLE, cc),
    FIELD("From", F_PERSON, from),
    FIELD("InternetMessageId", F_STR, internet_message_id),
    FIELD("IsRead", F_TRI, is_read),
    FIELD("UID", F_STR, uid),
    FIELD("Start", F_TIME, start),
    FIELD("End", F_TIME, end),
    FIELD("IsAllDayEvent", F_TRI, is_all_day),
    FIELD("Location", F_STR, location),
    FIELD("IsRecurring", F_TRI, is_recurring),
    FIELD("CalendarItemType", F_STR, calendar_item_type),
    FIELD("Organizer", F_PERSON, organizer),
    FIELD("RequiredAttendees", F_ATTENDEES, required),
    FIELD("OptionalAttendees", F_ATTENDEES, optional),
    FIELD("Recurrence", F_RECURRENCE, recurrence),
    FIELD("ModifiedOccurrences", F_OCCURRENCES, modified),
    FIELD("DeletedOccurrences", F_OCCURRENCES, deleted),
};

#define N_FIELDS (sizeof(item_fields) / sizeof(item_fields[0]))
_Static_assert(N_FIELDS <= 64, "ews_item.present has 64 bits");

#define MEMBER(item, def, type) ((type *)((char *)(item) + (def)->off))

void ews_item_init(struct ews_item *item)
{
    memset(item, 0, sizeof(*item));
    item->size = -1;
}

void ews_person_cleanup(struct ews_person *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->email);
    free(p->routing_type);
    free(p->mailbox_type);
    free(p->response);
    memset(p, 0, sizeof(*p));
}

void ews_people_cleanup(struct ews_people *pp)
{
    for (size_t i = 0; i < pp->n; i++)
        ews_person_cleanup(&pp->v[i]);
    free(pp->v);
    pp->v = NULL;
    pp->n = 0;
}

static void fields_cleanup(struct ews_fields *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].name);
        free(f->v[i].value);
    }
    free(f->v);
    f->v = NULL;
    f->n = 0;
}

static void recurrence_free(struct ews_recurrence *r)
{
    if (!r)
        return;
    free(r->pattern);
    free(r->range);
    fields_cleanup(&r->pattern_fields);
    fields_cleanup(&r->range_fields);
    free(r);
}

static void occurrences_cleanup(struct ews_occurrences *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->v[i].item_id);
        free(o->v[i].start);
        free(o->v[i].end);
        free(o->v[i].original_start);
    }
    free(o->v);
    o->v = NULL;
    o->n = 0;
}

static void attachments_free(struct ews_item *item)
{
    for (size_t i = 0; i < item->n_attachments; i++) {
        free(item->attachments[i].id);
        free(item->attachments[i].name);
        free(item->attachments[i].content_type);
    }
    free(item->attachments);
    item->attachments = NULL;
    item->n_attachments = 0;
}

/* Releases one field of the table and leaves it as after init. */
static void field_clear(struct ews_item *item, const struct field_def *d)
{
    switch (d->kind) {
    case F_ID:
        free(item->id);
        free(item->change_key);
        item->id = item->change_key = NULL;
        break;
    case F_FOLDER_ID:
    case F_STR:
    case F_TIME:
        free(*MEMBER(item, d, char *));
        *MEMBER(item, d, char *) = NULL;
        break;
    case F_INT:
        *MEMBER(item, d, int64_t) = -1;
        break;
    case F_TRI:
        *MEMBER(item, d, enum ews_tri) = EWS_UNSET;
        break;
    case F_PERSON:
        ews_person_cleanup(*MEMBER(item, d, struct ews_person *));
        free(*MEMBER(item, d, struct ews_person *));
        *MEMBER(item, d, struct ews_person *) = NULL;
        break;
    case F_PEOPLE:
    case F_ATTENDEES:
        ews_people_cleanup(MEMBER(item, d, struct ews_people));
        break;
    case F_RECURRENCE:
        recurrence_free(item->recurrence);
        item->recurrence = NULL;
        break;
    case F_OCCURRENCES:
        occurrences_cleanup(MEMBER(item, d, struct ews_occurrences));
        break;
    case F_ATTACHMENTS:
        attachments_free(item);
        break;
    }
}

void ews_item_cleanup(struct ews_item *item)
{
    if (!item)
        return;
    for (size_t i = 0; i < N_FIELDS; i++)
        field_clear(item, &item_fields[i]);
    ews_item_init(item);
}

enum ews_item_kind ews_item_kind_of(const char *element)
{
    static const char *const messages[] = { "Message",
                                            "MeetingMessage",
                                            "MeetingRequest",
                                            "MeetingResponse",
                                            "MeetingCancellation",
                                            "PostItem",
                                            "Item" };
    if (strcmp(element, "CalendarItem") == 0)
        return EWS_ITEM_CALENDAR;
    for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
        if (strcmp(element, messages[i]) == 0)
            return EWS_ITEM_MESSAGE;
    }
    return EWS_ITEM_OTHER;
}

/* Two digits at s as a number, or -1. */
static int two_digits(const char *s)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/*
 * True when v is already what ews_item_time makes of it: "YYYY-MM-DDTHH:MM:SSZ", a real UTC
 * time from 1970 on (EWS sends nearly every time this way: no parsing and formatting then).
 */
static bool time_canonical(const char *v, size_t n)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (n != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (shape[i] == 'd' ? v[i] < '0' || v[i] > '9' : v[i] != shape[i])
            return false;
    }
    int y = two_digits(v) * 100 + two_digits(v + 2), mo = two_digits(v + 5);
    int d = two_digits(v + 8);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || two_digits(v + 11) > 23 ||
        two_digits(v + 14) > 59 || two_digits(v + 17) > 59)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= (mo == 2 && leap ? 29 : days[mo - 1]);
}

char *ews_item_time(const char *v)
{
    char buf[64];
    time_t t;
    size_t n = strlen(v);
    if (time_canonical(v, n))
        return strdup(v);
    if (n == 0 || n > 40)
        return NULL;
    /* EWS sends UTC with "Z"; a value without a zone is taken as UTC. */
    char last = v[n - 1];
    bool zoned = last == 'Z' || last == 'z' || (n > 6 && (v[n - 6] == '+' || v[n - 6] == '-'));
    snprintf(buf, sizeof(buf), "%s%s", v, zoned ? "" : "Z");
    if (mse_time_parse(buf, &t) != MSE_OK)
        return NULL;
    mse_time_format(t, buf, sizeof(buf));
    return strdup(buf);
}

/* Sets *dst to the malloc'd text of a child element, if present. */
static enum mse_rc child_text(const xmlNode *n, const char *local, char **dst)
{
    xmlNode *c = ews_xml_child(n, EWS_NS_T, local);
    if (!c)
        return MSE_OK;
    free(*dst);
    *dst = ews_xml_text(c);
    return *dst ? MSE_OK : MSE_ERR_NOMEM;
}

enum mse_rc ews_person_parse(const xmlNode *mailbox, struct ews_person *p)
{
    if (child_text(mailbox, "Name", &p->name) != MSE_OK ||
        child_text(mailbox, "EmailAddress", &p->email) != MSE_OK ||
        child_text(mailbox, "RoutingType", &p->routing_type) != MSE_OK ||
        child_text(mailbox, "MailboxType", &p->mailbox_type) != MSE_OK)
        return MSE_ERR_NOMEM;
    return MSE_OK;
}

static size_t count_children(const xmlNode *n, const char *local)
{
    size_t c = 0;
    for (xmlNode *e = ews_xml_first_elem(n); e; e = ews_xml_next_elem(e))
        c += ews_xml_is(e, EWS_NS_T, local);
    return c;
}

/* Reads a list of t:Mailbox (or of t:Attendee when attendees). */
static enum mse_rc people_parse(const xmlNode *n, bool attendees, struct ews_people *pp)
{
    const char *entry = attendees ? "Attendee" : "Mailbox";
    size_t count = count_children(n, entry);
    ews_people_cleanup(pp);
    if (count == 0)
        return MSE_OK;
    pp->v = calloc(count, sizeof(*pp->v));
    if (!pp->v)
        return MSE_ERR_NOMEM;
    for (xmlNode *e = ews_xml_first_elem(n); e; e = ews_xml_next_elem(e)) {
        if (!ews_xml_is(e, EWS_NS_T, entry))
            continue;
        struct ews_person *p = &pp->v[pp->n++];
        const xmlNode *mbx = attendees ? ews_xml_child(e, EWS_NS_T, "Mailbox") : e;
        if (mbx && ews_person_parse(mbx, p) != MSE_OK)
            return MSE_ERR_NOMEM;
        if (attendees && child_text(e, "ResponseType", &p->response) != MSE_OK)
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

static enum mse_rc person_field(const xmlNode *n, struct ews_person **dst)
{
    const xmlNode *mbx = ews_xml_child(n, EWS_NS_T, "Mailbox");
    if (!mbx)
        return MSE_OK;
    struct ews_person *p = calloc(1, sizeof(*p));
    if (!p)
        return MSE_ERR_NOMEM;
    *dst = p; /* owned by the item from here on, even when parsing fails */
    return ews_person_parse(mbx, p);
}

/* Every element child of n as a (name, text) pair. */
static enum mse_rc fields_parse(const xmlNode *n, struct ews_fields *f)
{
    size_t count = 0;
    for (xmlNode *e = ews_xml_first_elem(n); e; e = ews_xml_next_elem(e))
        count++;
    if (count == 0)
        return MSE_OK;
    f->v = calloc(count, sizeof(*f->v));
    if (!f->v)
        return MSE_ERR_NOMEM;
    for (xmlNode *e = ews_xml_first_elem(n); e; e = ews_xml_next_elem(e)) {
        struct ews_field *fd = &f->v[f->n++];
        fd->name = strdup((const char *)e->name);
        fd->value = ews_xml_text(e);
        if (!fd->name || !fd->value)
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

static enum mse_rc recurrence_parse(const xmlNode *n, struct ews_item *item)
{
    const xmlNode *pattern = ews_xml_first_elem(n);
    const xmlNode *range = ews_xml_next_elem(pattern);
    if (!pattern)
        return MSE_OK;
    struct ews_recurrence *r = calloc(1, sizeof(*r));
    if (!r)
        return MSE_ERR_NOMEM;
    item->recurrence = r;
    r->pattern = strdup((const char *)pattern->name);
    if (!r->pattern || fields_parse(pattern, &r->pattern_fields) != MSE_OK)
        return MSE_ERR_NOMEM;
    if (range) {
        r->range = strdup((const char *)range->name);
        if (!r->range || fields_parse(range, &r->range_fields) != MSE_OK)
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

static enum mse_rc time_child(const xmlNode *n, const char *local, char **dst)
{
    xmlNode *c = ews_xml_child(n, EWS_NS_T, local);
    if (!c)
        return MSE_OK;
    char *raw = ews_xml_text(c);
    if (!raw)
        return MSE_ERR_NOMEM;
    *dst = ews_item_time(raw);
    free(raw);
    return MSE_OK; /* an unreadable time stays NULL */
}

static enum mse_rc occurrences_parse(const xmlNode *n, struct ews_occurrences *o)
{
    size_t count = 0;
    for (xmlNode *e = ews_xml_first_elem(n); e; e = ews_xml_next_elem(e))
        count++;
    if (count == 0)
        return MSE_OK;
    o->v = calloc(count, sizeof(*o->v));
    if (!o->v)
        return MSE_ERR_NOMEM;
    for (xmlNode *e = ews_xml_first_elem(n); e; e = ews_xml_next_elem(e)) {
        struct ews_occurrence *oc = &o->v[o->n++];
        xmlNode *id = ews_xml_child(e, EWS_NS_T, "ItemId");
        if (id && ews_xml_attr(id, "Id", &oc->item_id) != MSE_OK)
            return MSE_ERR_NOMEM;
        if (time_child(e, "Start", &oc->start) != MSE_OK ||
            time_child(e, "End", &oc->end) != MSE_OK ||
            time_child(e, "OriginalStart", &oc->original_start) != MSE_OK)
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

static enum mse_rc attachment_parse(const xmlNode *e, struct ews_attachment *a)
{
    a->size = -1;
    a->is_item = ews_xml_is(e, EWS_NS_T, "ItemAttachment");
    xmlNode *id = ews_xml_child(e, EWS_NS_T, "AttachmentId");
    if (id && ews_xml_attr(id, "Id", &a->id) != MSE_OK)
        return MSE_ERR_NOMEM;
    if (child_text(e, "Name", &a->name) != MSE_OK ||
        child_text(e, "ContentType", &a->content_type) != MSE_OK)
        return MSE_ERR_NOMEM;
    xmlNode *c = ews_xml_child(e, EWS_NS_T, "Size");
    int64_t v;
    if (c && ews_xml_int(c, &v) == MSE_OK && v >= 0)
        a->size = v;
    c = ews_xml_child(e, EWS_NS_T, "IsInline");
    bool b;
    if (c && ews_xml_bool(c, &b) == MSE_OK)
        a->is_inline = b;
    return MSE_OK;
}

static enum mse_rc attachments_parse(const xmlNode *n, struct ews_item *item)
{
    size_t count = count_children(n, "FileAttachment") + count_children(n, "ItemAttachment");
    if (count == 0)
        return MSE_OK;
    item->attachments = calloc(count, sizeof(*item->attachments));
    if (!item->attachments)
        return MSE_ERR_NOMEM;
    for (xmlNode *e = ews_xml_first_elem(n); e; e = ews_xml_next_elem(e)) {
        if (!ews_xml_is(e, EWS_NS_T, "FileAttachment") &&
            !ews_xml_is(e, EWS_NS_T, "ItemAttachment"))
            continue;
        if (attachment_parse(e, &item->attachments[item->n_attachments++]) != MSE_OK)
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

/* Reads one child into its field. Malformed scalar values leave the field unset. */
static enum mse_rc field_parse(const xmlNode *n, const struct field_def *d, struct ews_item *item,
                               bool *set)
{
    *set = true;
    field_clear(item, d);
    switch (d->kind) {
    case F_ID:
        if (ews_xml_attr(n, "Id", &item->id) != MSE_OK ||
            ews_xml_attr(n, "ChangeKey", &item->change_key) != MSE_OK)
            return MSE_ERR_NOMEM;
        return MSE_OK;
    case F_FOLDER_ID:
        return ews_xml_attr(n, "Id", MEMBER(item, d, char *));
    case F_STR:
        *MEMBER(item, d, char *) = ews_xml_text(n);
        return *MEMBER(item, d, char *) ? MSE_OK : MSE_ERR_NOMEM;
    case F_TIME: {
        char *raw = ews_xml_text(n);
        if (!raw)
            return MSE_ERR_NOMEM;
        *MEMBER(item, d, char *) = ews_item_time(raw);
        *set = *MEMBER(item, d, char *) != NULL;
        free(raw);
        return MSE_OK;
    }
    case F_INT:
        *set = ews_xml_int(n, MEMBER(item, d, int64_t)) == MSE_OK;
        return MSE_OK;
    case F_TRI: {
        bool b;
        *set = ews_xml_bool(n, &b) == MSE_OK;
        if (*set)
            *MEMBER(item, d, enum ews_tri) = b ? EWS_TRUE : EWS_FALSE;
        return MSE_OK;
    }
    case F_PERSON:
        return person_field(n, MEMBER(item, d, struct ews_person *));
    case F_PEOPLE:
        return people_parse(n, false, MEMBER(item, d, struct ews_people));
    case F_ATTENDEES:
        return people_parse(n, true, MEMBER(item, d, struct ews_people));
    case F_RECURRENCE:
        return recurrence_parse(n, item);
    case F_OCCURRENCES:
        return occurrences_parse(n, MEMBER(item, d, struct ews_occurrences));
    case F_ATTACHMENTS:
        return attachments_parse(n, item);
    }
    return MSE_OK;
}

static const struct field_def *field_find(const xmlNode *n, size_t *index)
{
    if (!n->ns || strcmp((const char *)n->ns->href, EWS_NS_T) != 0)
        return NULL;
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (strcmp(item_fields[i].local, (const char *)n->name) == 0) {
            *index = i;
            return &item_fields[i];
        }
    }
    return NULL;
}

enum mse_rc ews_item_parse(const xmlNode *node, struct ews_item *item)
{
    snprintf(item->element, sizeof(item->element), "%s", (const char *)node->name);
    item->kind = ews_item_kind_of(item->element);
    for (xmlNode *c = ews_xml_first_elem(node); c; c = ews_xml_next_elem(c)) {
        size_t i;
        const struct field_def *d = field_find(c, &i);
        if (!d)
            continue;
        bool set;
        if (field_parse(c, d, item, &set) != MSE_OK)
            return MSE_ERR_NOMEM;
        if (set)
            item->present |= 1ULL << i;
    }
    return MSE_OK;
}

/* Swaps field d between two items (both stay valid). */
static void field_swap(struct ews_item *a, struct ews_item *b, const struct field_def *d)
{
    size_t size;
    switch (d->kind) {
    case F_INT:
        size = sizeof(int64_t);
        break;
    case F_TRI:
        size = sizeof(enum ews_tri);
        break;
    case F_PEOPLE:
    case F_ATTENDEES:
        size = sizeof(struct ews_people);
        break;
    case F_OCCURRENCES:
        size = sizeof(struct ews_occurrences);
        break;
    case F_ATTACHMENTS: {
        struct ews_attachment *v = a->attachments;
        size_t n = a->n_attachments;
        a->attachments = b->attachments;
        a->n_attachments = b->n_attachments;
        b->attachments = v;
        b->n_attachments = n;
        return;
    }
    default:
        size = sizeof(void *);
    }
    unsigned char tmp[sizeof(struct ews_occurrences) > sizeof(struct ews_people)
                              ? sizeof(struct ews_occurrences)
                              : sizeof(struct ews_people)];
    _Static_assert(sizeof(tmp) >= sizeof(int64_t) && sizeof(tmp) >= sizeof(void *), "tmp");
    memcpy(tmp, (char *)a + d->off, size);
    memcpy((char *)a + d->off, (char *)b + d->off, size);
    memcpy((char *)b + d->off, tmp, size);
}

void ews_item_merge(struct ews_item *dst, struct ews_item *src)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        const struct field_def *d = &item_fields[i];
        if (d->kind == F_ID || !(src->present & (1ULL << i)))
            continue;
        field_swap(dst, src, d);
        dst->present |= 1ULL << i;
        src->present &= ~(1ULL << i);
    }
}

bool ews_item_has_attachment_list(const struct ews_item *item)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (item_fields[i].kind == F_ATTACHMENTS)
            return (item->present >> i) & 1;
    }
    return false;
}

bool ews_item_is_private(const struct ews_item *item)
{
    const char *s = item->sensitivity;
    return s && (strcmp(s, "Personal") == 0 || strcmp(s, "Private") == 0 ||
                 strcmp(s, "Confidential") == 0);
}

void ews_item_write_fields(struct ews_xml_writer *wr, const char *const *fields, size_t n)
{
    if (n == 0)
        return;
    ews_xml_start(wr, "t:AdditionalProperties");
    for (size_t i = 0; i < n; i++)
        ews_xml_empty_elem(wr, "t:FieldURI", "FieldURI", fields[i]);
    ews_xml_end(wr);
}

/* GetItem ---------------------------------------------------------------------------------- */

void ews_get_items_build(struct ews_xml_writer *wr, const void *args, const char *delegate)
{
    const struct ews_get_items_args *a = args;
    (void)delegate; /* item ids address their mailbox themselves */
    ews_xml_start(wr, "m:GetItem");
    ews_xml_start(wr, "m:ItemShape");
    ews_xml_text_elem(wr, "t:BaseShape", "IdOnly");
    if (a->mime)
        ews_xml_text_elem(wr, "t:IncludeMimeContent", "true");
    ews_item_write_fields(wr, a->fields, a->n_fields);
    ews_xml_end(wr);
    ews_xml_start(wr, "m:ItemIds");
    for (size_t i = 0; i < a->n_ids; i++)
        ews_xml_empty_elem(wr, "t:ItemId", "Id", a->ids[i]);
    ews_xml_end(wr);
    ews_xml_end(wr);
}

void ews_get_items_cleanup(struct ews_get_items *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n; i++)
        ews_item_cleanup(&res->v[i].item);
    free(res->v);
    res->v = NULL;
    res->n = 0;
}

struct get_items_ctx {
    struct ews_get_items *res;
    size_t cap;
};

/* Makes sure result slot index exists. */
static enum mse_rc result_slot(struct get_items_ctx *c, unsigned index)
{
    if (index < c->res->n)
        return MSE_OK;
    if (index >= c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        while (cap <= index)
            cap *= 2;
        struct ews_get_item_result *v = realloc(c->res->v, cap * sizeof(*v));
        if (!v)
            return MSE_ERR_NOMEM;
        c->res->v = v;
        c->cap = cap;
    }
    while (c->res->n <= index) {
        struct ews_get_item_result *r = &c->res->v[c->res->n++];
        ews_item_init(&r->item);
        ews_status_init(&r->status);
    }
    return MSE_OK;
}

static enum mse_rc get_items_payload(void *ctx, unsigned index, const struct ews_status *st,
                                     xmlTextReaderPtr r, struct mse_err *err)
{
    struct get_items_ctx *c = ctx;
    (void)st;
    (void)err;
    if (!ews_xml_at(r, EWS_NS_M, "Items"))
        return MSE_OK;
    if (result_slot(c, index) != MSE_OK)
        return MSE_ERR_NOMEM;
    struct ews_xml_iter it;
    ews_xml_iter_init(&it, r);
    int ret;
    /* One item per message; if a server sent more, the last one wins. */
    while ((ret = ews_xml_iter_next(&it)) == 1) {
        xmlNode *n = xmlTextReaderExpand(r);
        if (!n)
            return MSE_ERR_INVALID;
        struct ews_item *item = &c->res->v[index].item;
        ews_item_cleanup(item);
        if (ews_item_parse(n, item) != MSE_OK)
            return MSE_ERR_NOMEM;
    }
    return ret < 0 ? MSE_ERR_INVALID : MSE_OK;
}

static enum mse_rc get_items_end(void *ctx, unsigned index, const struct ews_status *st,
                                 struct mse_err *err)
{
    struct get_items_ctx *c = ctx;
    (void)err;
    if (result_slot(c, index) != MSE_OK)
        return MSE_ERR_NOMEM;
    c->res->v[index].status = *st;
    return MSE_OK;
}

enum mse_rc ews_get_items_parse(const char *xml, size_t len, void *out, struct ews_reply *reply,
                                struct mse_err *err)
{
    struct get_items_ctx c = { .res = out, .cap = ((struct ews_get_items *)out)->n };
    struct ews_walk walk = { .response = "GetItemResponse",
                             .on_payload = get_items_payload,
                             .on_message_end = get_items_end,
                             .ctx = &c };
    return ews_response_walk(xml, len, &walk, reply, err);
}

static void get_items_reset(void *out)
{
    ews_get_items_cleanup(out);
}

static const struct ews_op op_get_items = {
    .name = "GetItem",
    .mailbox = true,
    .build = ews_get_items_build,
    .parse = ews_get_items_parse,
    .reset = get_items_reset,
};

enum mse_rc ews_get_items(struct ews_session *s, const struct ews_get_items_args *args,
                          struct ews_get_items *res, struct ews_reply *reply, struct mse_err *err)
{
    enum mse_rc rc = ews_call(s, &op_get_items, args, res, reply, err);
    if (rc == MSE_OK && res->n != args->n_ids) {
        /* One message per id is the protocol; anything else cannot be matched up safely. */
        snprintf(err->msg, sizeof(err->msg), "GetItem answered %zu messages for %zu ids", res->n,
                 args->n_ids);
        reply->policy = (struct ews_policy){ EWS_ACT_FAIL, "ews_bad_response" };
        rc = MSE_ERR_UNAVAILABLE;
    }
    return rc;
}

/* GetItem with MIME content, streamed ----------------------------------------------------- */

struct get_items_mime {
    struct ews_get_items *items;
    struct mime_stream *ms;
};

static enum mse_rc mime_begin(void *out)
{
    return mime_stream_begin(((struct get_items_mime *)out)->ms);
}

static enum mse_rc mime_feed(void *out, const char *p, size_t n)
{
    return mime_stream_feed(((struct get_items_mime *)out)->ms, p, n);
}

static enum mse_rc mime_finish(void *out, const char **xml, size_t *len)
{
    return mime_stream_finish(((struct get_items_mime *)out)->ms, xml, len);
}

static enum mse_rc mime_parse(const char *xml, size_t len, void *out, struct ews_reply *reply,
                              struct mse_err *err)
{
    struct get_items_mime *g = out;
    if (g->ms->rc != MSE_OK) {
        snprintf(err->msg, sizeof(err->msg), "%s", g->ms->err);
        return g->ms->rc == MSE_ERR_NOMEM ? MSE_ERR_NOMEM : MSE_ERR_INVALID;
    }
    return ews_get_items_parse(xml, len, g->items, reply, err);
}

static void mime_reset(void *out)
{
    ews_get_items_cleanup(((struct get_items_mime *)out)->items);
}

static const struct ews_op op_get_items_mime = {
    .name = "GetItem",
    .mailbox = true,
    .build = ews_get_items_build,
    .parse = mime_parse,
    .reset = mime_reset,
    .stream_begin = mime_begin,
    .stream_feed = mime_feed,
    .stream_finish = mime_finish,
};

enum mse_rc ews_get_items_mime(struct ews_session *s, const struct ews_get_items_args *args,
                               struct ews_get_items *res, struct mime_stream *ms,
                               struct ews_reply *reply, struct mse_err *err)
{
    struct get_items_mime g = { res, ms };
    enum mse_rc rc = ews_call(s, &op_get_items_mime, args, &g, reply, err);
    if (rc == MSE_OK && res->n != args->n_ids) {
        snprintf(err->msg, sizeof(err->msg), "GetItem answered %zu messages for %zu ids", res->n,
                 args->n_ids);
        reply->policy = (struct ews_policy){ EWS_ACT_FAIL, "ews_bad_response" };
        rc = MSE_ERR_UNAVAILABLE;
    }
    return rc;
}
