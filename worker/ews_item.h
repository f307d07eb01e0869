/* SPDX-License-Identifier: Apache-2.0 */
/* Items as EWS reports them (messages, appointments), read from XML; the GetItem operation. */
#ifndef MSE_EWS_ITEM_H
#define MSE_EWS_ITEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ews_response.h"
#include "mse/rc.h"

struct ews_session;

/* A boolean EWS may or may not have sent. */
enum ews_tri { EWS_UNSET = 0, EWS_FALSE, EWS_TRUE };

/* An EmailAddressType (t:Mailbox), or an attendee (then response may be set). */
struct ews_person {
    char *name;
    char *email;
    char *routing_type;
    char *mailbox_type;
    char *response; /* attendees: ResponseType (Accept, Decline, …) */
};

struct ews_people {
    struct ews_person *v;
    size_t n;
};

struct ews_attachment {
    char *id;
    char *name;
    char *content_type;
    int64_t size; /* -1 when not reported */
    bool is_item; /* t:ItemAttachment (an attached message or item) */
    bool is_inline;
};

/* One child of a recurrence pattern or range: its EWS element name and text. */
struct ews_field {
    char *name;
    char *value;
};

struct ews_fields {
    struct ews_field *v;
    size_t n;
};

/* t:Recurrence as EWS reports it: one pattern element and one range element. */
struct ews_recurrence {
    char *pattern; /* "WeeklyRecurrence", "AbsoluteMonthlyRecurrence", … */
    struct ews_fields pattern_fields;
    char *range; /* "NoEndRecurrence", "EndDateRecurrence", "NumberedRecurrence" */
    struct ews_fields range_fields;
};

/* t:Occurrence (ModifiedOccurrences) or t:DeletedOccurrence (only start is set). */
struct ews_occurrence {
    char *item_id;
    char *start;
    char *end;
    char *original_start;
};

struct ews_occurrences {
    struct ews_occurrence *v;
    size_t n;
};

enum ews_item_kind {
    EWS_ITEM_OTHER,    /* contacts, tasks, distribution lists … */
    EWS_ITEM_MESSAGE,  /* t:Message, meeting messages, t:PostItem, plain t:Item */
    EWS_ITEM_CALENDAR, /* t:CalendarItem */
};

/*
 * One item. Strings are malloc'd, NULL when EWS did not send them; times are RFC 3339 UTC
 * ("2024-05-01T08:30:00Z"). `present` has bit i set when field i of the item field table
 * was read (see ews_item.c), which is what ews_item_merge moves.
 */
struct ews_item {
    enum ews_item_kind kind;
    char element[32]; /* local name of the item element */
    char *id;
    char *change_key;
    char *parent_folder_id;
    char *item_class;
    char *subject;
    char *sensitivity; /* Normal | Personal | Private | Confidential */
    char *received;
    char *sent;
    int64_t size; /* -1 when not reported */
    enum ews_tri has_attachments;
    /* messages */
    char *internet_message_id;
    enum ews_tri is_read;
    struct ews_person *from;
    struct ews_person *sender;
    struct ews_people to;
    struct ews_people cc;
    /* appointments */
    char *uid;
    char *start;
    char *end;
    char *location;
    char *calendar_item_type; /* Single | Occurrence | Exception | RecurringMaster */
    enum ews_tri is_all_day;
    enum ews_tri is_recurring;
    struct ews_person *organizer;
    struct ews_people required;
    struct ews_people optional;
    struct ews_recurrence *recurrence;
    struct ews_occurrences modified;
    struct ews_occurrences deleted;
    struct ews_attachment *attachments;
    size_t n_attachments;
    /* sync & recover: the item's MIME content as stored ("" until it was read) */
    char content_sha256[65];
    uint64_t content_size;
    uint64_t present;
};

void ews_item_init(struct ews_item *item);
/* Frees every field; the item is empty (as after init) afterwards. NULL is fine. */
void ews_item_cleanup(struct ews_item *item);
/*
 * Reads an expanded item element (t:Message, t:CalendarItem, …) into item, which must be
 * initialised. Unknown children are ignored, as EWS clients must. MSE_ERR_NOMEM only.
 */
enum mse_rc ews_item_parse(const xmlNode *node, struct ews_item *item) MSE_WUR;
/* Moves every field present in src (except id and change key) into dst. src keeps the rest. */
void ews_item_merge(struct ews_item *dst, struct ews_item *src);
/* True when the attachments field was read (possibly empty). */
bool ews_item_has_attachment_list(const struct ews_item *item);
/* True for sensitivity Personal, Private or Confidential. */
bool ews_item_is_private(const struct ews_item *item);
/* Kind for an item element's local name. */
enum ews_item_kind ews_item_kind_of(const char *element);

/* GetItem: the given ids with BaseShape IdOnly plus the given FieldURIs. */
struct ews_get_items_args {
    const char *const *ids;
    size_t n_ids;
    const char *const *fields; /* "message:ToRecipients", … */
    size_t n_fields;
    bool mime; /* IncludeMimeContent: only with ews_get_items_mime */
};

/* One GetItem answer per requested id, in request order. */
struct ews_get_item_result {
    struct ews_item item;
    struct ews_status status; /* NoError, or why this id has no item */
};

struct ews_get_items {
    struct ews_get_item_result *v;
    size_t n;
};

void ews_get_items_cleanup(struct ews_get_items *res);
/* Writes the m:GetItem element. */
void ews_get_items_build(struct ews_xml_writer *wr, const void *args, const char *delegate);
/* Parses a GetItemResponse into res (void * so it fits struct ews_op). */
enum mse_rc ews_get_items_parse(const char *xml, size_t len, void *res, struct ews_reply *reply,
                                struct mse_err *err) MSE_WUR;
/* Runs GetItem with the retry policy (see ews_call). res must be zeroed; caller cleans up. */
enum mse_rc ews_get_items(struct ews_session *s, const struct ews_get_items_args *args,
                          struct ews_get_items *res, struct ews_reply *reply,
                          struct mse_err *err) MSE_WUR;

struct mime_stream;

/*
 * GetItem with IncludeMimeContent (args->mime set): the MIME content of each item is decoded,
 * hashed and spooled by ms while the response arrives (mime_stream.h), so no message is ever
 * held in memory whole; mime_stream_find(ms, i) gives the content of the i-th id. Otherwise
 * as ews_get_items; a response whose MIME cannot be read fails with ms's reason.
 */
enum mse_rc ews_get_items_mime(struct ews_session *s, const struct ews_get_items_args *args,
                               struct ews_get_items *res, struct mime_stream *ms,
                               struct ews_reply *reply, struct mse_err *err) MSE_WUR;

/* Shared with other parsers: t:Mailbox-like element → person; FieldURI list writing. */
enum mse_rc ews_person_parse(const xmlNode *mailbox, struct ews_person *p) MSE_WUR;
void ews_person_cleanup(struct ews_person *p);
void ews_people_cleanup(struct ews_people *pp);
/* Writes <t:AdditionalProperties> with one t:FieldURI per entry (nothing when n is 0). */
void ews_item_write_fields(struct ews_xml_writer *wr, const char *const *fields, size_t n);
/* Normalises an xs:dateTime to RFC 3339 UTC; NULL when it is not one (or no memory). */
char *ews_item_time(const char *xs_datetime);

#endif
