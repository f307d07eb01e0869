/* SPDX-License-Identifier: Apache-2.0 */
/* Response shapes: which properties an ItemShape / FolderShape asks for. */
#include "shape.h"

#include <string.h>

#include "soap.h"

static const struct {
    const char *uri;
    uint64_t bit;
} item_uris[] = {
    { "item:ParentFolderId", P_PARENT_FOLDER_ID },
    { "item:ItemClass", P_ITEM_CLASS },
    { "item:Subject", P_SUBJECT },
    { "item:Sensitivity", P_SENSITIVITY },
    { "item:Body", P_BODY },
    { "item:Attachments", P_ATTACHMENTS },
    { "item:DateTimeReceived", P_RECEIVED },
    { "item:Size", P_SIZE },
    { "item:DateTimeSent", P_SENT },
    { "item:DateTimeCreated", P_CREATED },
    { "item:DisplayCc", P_DISPLAY_CC },
    { "item:DisplayTo", P_DISPLAY_TO },
    { "item:HasAttachments", P_HAS_ATTACHMENTS },
    { "item:LastModifiedTime", P_LAST_MODIFIED },
    { "item:MimeContent", P_MIME },
    { "item:Importance", P_IMPORTANCE },
    { "item:IsDraft", P_IS_DRAFT },
    { "message:Sender", P_SENDER },
    { "message:ToRecipients", P_TO },
    { "message:CcRecipients", P_CC },
    { "message:From", P_FROM },
    { "message:InternetMessageId", P_IMID },
    { "message:IsRead", P_IS_READ },
    { "calendar:UID", P_UID },
    { "calendar:Start", P_START },
    { "calendar:End", P_END },
    { "calendar:OriginalStart", P_ORIGINAL_START },
    { "calendar:IsAllDayEvent", P_ALL_DAY },
    { "calendar:LegacyFreeBusyStatus", P_FREE_BUSY },
    { "calendar:Location", P_LOCATION },
    { "calendar:IsMeeting", P_IS_MEETING },
    { "calendar:IsCancelled", P_IS_CANCELLED },
    { "calendar:IsRecurring", P_IS_RECURRING },
    { "calendar:CalendarItemType", P_CAL_TYPE },
    { "calendar:MyResponseType", P_MY_RESPONSE },
    { "calendar:Organizer", P_ORGANIZER },
    { "calendar:RequiredAttendees", P_REQUIRED },
    { "calendar:OptionalAttendees", P_OPTIONAL },
    { "calendar:Recurrence", P_RECURRENCE },
    { "calendar:ModifiedOccurrences", P_MODIFIED_OCC },
    { "calendar:DeletedOccurrences", P_DELETED_OCC },
    { "calendar:FirstOccurrence", P_FIRST_OCC },
    { "calendar:LastOccurrence", P_LAST_OCC },
};

static const struct {
    const char *uri;
    uint64_t bit;
} folder_uris[] = {
    { "folder:ParentFolderId", F_PARENT },     { "folder:FolderClass", F_CLASS },
    { "folder:DisplayName", F_NAME },          { "folder:TotalCount", F_TOTAL },
    { "folder:ChildFolderCount", F_CHILDREN }, { "folder:UnreadCount", F_UNREAD },
    { "folder:EffectiveRights", F_RIGHTS },    { "folder:DistinguishedFolderId", F_DISTINGUISHED },
};

#define ITEM_DEFAULT                                                                               \
    (P_PARENT_FOLDER_ID | P_ITEM_CLASS | P_SUBJECT | P_SENSITIVITY | P_BODY | P_ATTACHMENTS |      \
     P_RECEIVED | P_SIZE | P_SENT | P_HAS_ATTACHMENTS | P_FROM | P_TO | P_CC | P_IS_READ |         \
     P_IMID | P_START | P_END | P_LOCATION | P_ORGANIZER | P_CAL_TYPE | P_ALL_DAY |                \
     P_IS_RECURRING)
#define ITEM_ALL       ((P_DELETED_OCC << 1) - 1 - P_MIME)
#define FOLDER_DEFAULT (F_NAME | F_TOTAL | F_CHILDREN | F_UNREAD)
#define FOLDER_ALL     (F_PARENT | F_CLASS | F_NAME | F_TOTAL | F_CHILDREN | F_UNREAD | F_RIGHTS)

/* Properties of a BaseShape: IdOnly = none, Default = a summary, AllProperties. */
static uint64_t base_shape(xmlNodePtr shape_el, uint64_t def, uint64_t all)
{
    char buf[32];
    x_content(x_child(shape_el, NS_TYPES, "BaseShape"), buf, sizeof(buf));
    if (strcmp(buf, "Default") == 0)
        return def;
    if (strcmp(buf, "AllProperties") == 0)
        return all;
    return 0; /* IdOnly */
}

void shape_item_parse(xmlNodePtr shape_el, struct shape *out)
{
    char buf[64];
    memset(out, 0, sizeof(*out));
    out->props = base_shape(shape_el, ITEM_DEFAULT, ITEM_ALL | P_IMPORTANCE | P_IS_DRAFT);
    if (strcmp(x_content(x_child(shape_el, NS_TYPES, "IncludeMimeContent"), buf, sizeof(buf)),
               "true") == 0)
        out->props |= P_MIME;
    x_content(x_child(shape_el, NS_TYPES, "BodyType"), buf, sizeof(buf));
    out->body_type = strcmp(buf, "HTML") == 0   ? BODY_HTML
                     : strcmp(buf, "Text") == 0 ? BODY_TEXT
                                                : BODY_BEST;
    out->additional = x_child(shape_el, NS_TYPES, "AdditionalProperties");
    for (xmlNodePtr p = x_first(out->additional); p; p = x_next(p)) {
        if (!x_is(p, NS_TYPES, "FieldURI"))
            continue;
        x_prop(p, "FieldURI", buf, sizeof(buf));
        for (size_t i = 0; i < sizeof(item_uris) / sizeof(item_uris[0]); i++) {
            if (strcmp(item_uris[i].uri, buf) == 0)
                out->props |= item_uris[i].bit;
        }
    }
}

void shape_folder_parse(xmlNodePtr shape_el, struct shape *out)
{
    char buf[64];
    memset(out, 0, sizeof(*out));
    out->props = base_shape(shape_el, FOLDER_DEFAULT, FOLDER_ALL);
    out->additional = x_child(shape_el, NS_TYPES, "AdditionalProperties");
    for (xmlNodePtr p = x_first(out->additional); p; p = x_next(p)) {
        if (!x_is(p, NS_TYPES, "FieldURI"))
            continue;
        x_prop(p, "FieldURI", buf, sizeof(buf));
        for (size_t i = 0; i < sizeof(folder_uris) / sizeof(folder_uris[0]); i++) {
            if (strcmp(folder_uris[i].uri, buf) == 0)
                out->props |= folder_uris[i].bit;
        }
    }
}
