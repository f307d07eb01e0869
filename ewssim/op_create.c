/* SPDX-License-Identifier: Apache-2.0 */
/* Item and folder creation: CreateItem (messages from fields or MimeContent, calendar items)
 * and CreateFolder. Requests become fixture objects, so they obey the fixture's rules. */
#include <cjson/cJSON.h>
#include <gmime/gmime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fixture.h"
#include "ops.h"
#include "render.h"
#include "sim_limits.h"
#include "timefmt.h"

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_start(void)
{
    g_mime_init();
}

/* Adds text of child `el` of item as `key` (when present); a field given as an element
   replaces what the MIME headers said. */
static bool add_text(cJSON *obj, const char *key, xmlNodePtr item, const char *el)
{
    xmlNodePtr n = x_child(item, NS_TYPES, el);
    if (!n)
        return true;
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    char *v = x_content_dup(n);
    bool ok = v && cJSON_AddStringToObject(obj, key, v);
    free(v);
    return ok;
}

/* t:Mailbox → {"name", "email"}; NULL when it names no address. */
static cJSON *mailbox_json(xmlNodePtr mbx)
{
    char name[256] = "", email[320] = "";
    x_content(x_child(mbx, NS_TYPES, "Name"), name, sizeof(name));
    if (!x_content(x_child(mbx, NS_TYPES, "EmailAddress"), email, sizeof(email)) || !email[0])
        return NULL;
    cJSON *p = cJSON_CreateObject();
    if (p && name[0])
        cJSON_AddStringToObject(p, "name", name);
    if (p)
        cJSON_AddStringToObject(p, "email", email);
    return p;
}

/* t:ToRecipients etc. (t:Mailbox, or t:Attendee/t:Mailbox) → an array of people. */
static bool add_people(cJSON *obj, const char *key, xmlNodePtr item, const char *el)
{
    xmlNodePtr list = x_child(item, NS_TYPES, el);
    if (!list)
        return true;
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON *arr = cJSON_AddArrayToObject(obj, key);
    for (xmlNodePtr n = x_first(list); arr && n; n = x_next(n)) {
        xmlNodePtr mbx = x_is(n, NS_TYPES, "Attendee") ? x_child(n, NS_TYPES, "Mailbox") : n;
        cJSON *p = mailbox_json(mbx);
        if (!p || !cJSON_AddItemToArray(arr, p))
            return false;
    }
    return arr != NULL;
}

/* t:From / t:Sender: one t:Mailbox. */
static bool add_person(cJSON *obj, const char *key, xmlNodePtr item, const char *el)
{
    xmlNodePtr n = x_child(item, NS_TYPES, el);
    if (!n)
        return true;
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON *p = mailbox_json(x_child(n, NS_TYPES, "Mailbox"));
    return p && cJSON_AddItemToObject(obj, key, p);
}

/* An InternetAddressList → an array of people. */
static void mime_people(cJSON *obj, const char *key, InternetAddressList *list)
{
    int n = list ? internet_address_list_length(list) : 0;
    cJSON *arr = n > 0 ? cJSON_AddArrayToObject(obj, key) : NULL;
    for (int i = 0; arr && i < n; i++) {
        InternetAddress *ia = internet_address_list_get_address(list, i);
        if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
            continue; /* a group inside a header: its members are not recipients of record */
        const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
        const char *name = internet_address_get_name(ia);
        cJSON *p = cJSON_CreateObject();
        if (!p)
            return;
        if (name && *name)
            cJSON_AddStringToObject(p, "name", name);
        cJSON_AddStringToObject(p, "email", addr ? addr : "");
        cJSON_AddItemToArray(arr, p);
    }
}

/*
 * t:MimeContent (base64 RFC 5322) → the stored MIME and the fields Exchange takes from its
 * headers; fields given as elements override them (read afterwards). NULL or an error code.
 */
static const char *mime_read(xmlNodePtr mime_el, cJSON *obj)
{
    char *b64 = x_content_dup(mime_el);
    uint8_t *raw = NULL;
    size_t len = 0;
    bool ok = b64 && mse_crypto_b64_decode(b64, strlen(b64), &raw, &len) == MSE_OK && len > 0 &&
              len <= SIM_MAX_BODY_DEFAULT;
    free(b64);
    if (!ok) {
        free(raw);
        return "ErrorMimeContentConversionFailed";
    }
    pthread_once(&gmime_once, gmime_start);
    GMimeStream *st = g_mime_stream_mem_new_with_buffer((const char *)raw, len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
    const char *code = msg ? NULL : "ErrorMimeContentConversionFailed";
    char *text = msg ? malloc(len + 1) : NULL;
    if (msg && !text)
        code = "ErrorInternalServerError";
    if (!code) {
        memcpy(text, raw, len);
        text[len] = '\0';
        cJSON_AddStringToObject(obj, "mime", text);
        const char *subject = g_mime_message_get_subject(msg);
        const char *id = g_mime_message_get_message_id(msg);
        cJSON_AddStringToObject(obj, "subject", subject ? subject : "");
        cJSON_AddStringToObject(obj, "body", "");
        if (id) {
            char imid[1024];
            snprintf(imid, sizeof(imid), "<%s>", id);
            cJSON_AddStringToObject(obj, "internet_message_id", imid);
        }
        GDateTime *d = g_mime_message_get_date(msg);
        if (d) {
            char sent[32];
            mse_time_format((time_t)g_date_time_to_unix(d), sent, sizeof(sent));
            cJSON_AddStringToObject(obj, "sent", sent);
        }
        InternetAddressList *from = g_mime_message_get_from(msg);
        if (from && internet_address_list_length(from) > 0) {
            cJSON *tmp = cJSON_CreateObject();
            mime_people(tmp, "from", from);
            cJSON *first = cJSON_DetachItemFromArray(cJSON_GetObjectItem(tmp, "from"), 0);
            if (first)
                cJSON_AddItemToObject(obj, "from", first);
            cJSON_Delete(tmp);
        }
        mime_people(obj, "to", g_mime_message_get_to(msg));
        mime_people(obj, "cc", g_mime_message_get_cc(msg));
    }
    free(text);
    if (msg)
        g_object_unref(msg);
    g_object_unref(p);
    g_object_unref(st);
    free(raw);
    return code;
}

/* A t:Message or t:CalendarItem of the request → a fixture object; NULL or an error code. */
static const char *item_json(xmlNodePtr item, bool calendar, cJSON *obj)
{
    xmlNodePtr mime = x_child(item, NS_TYPES, "MimeContent");
    if (mime && calendar)
        return "ErrorInvalidOperation"; /* calendar items from iCalendar MIME: not simulated */
    const char *code = mime ? mime_read(mime, obj) : NULL;
    if (code)
        return code;
    if (x_child(item, NS_TYPES, "Recurrence"))
        return "ErrorCalendarInvalidRecurrence"; /* series are created through the control API */
    xmlNodePtr body = x_child(item, NS_TYPES, "Body");
    char type[16] = "";
    if (body && x_prop(body, "BodyType", type, sizeof(type)))
        cJSON_AddStringToObject(obj, "body_type", strcmp(type, "HTML") == 0 ? "html" : "text");
    bool ok = add_text(obj, "item_class", item, "ItemClass") &&
              add_text(obj, "subject", item, "Subject") &&
              add_text(obj, "sensitivity", item, "Sensitivity") &&
              add_text(obj, "body", item, "Body");
    if (calendar) {
        ok = ok && add_text(obj, "start", item, "Start") && add_text(obj, "end", item, "End") &&
             add_text(obj, "location", item, "Location") &&
             add_people(obj, "required_attendees", item, "RequiredAttendees") &&
             add_people(obj, "optional_attendees", item, "OptionalAttendees");
        char allday[8] = "";
        if (x_content(x_child(item, NS_TYPES, "IsAllDayEvent"), allday, sizeof(allday)))
            cJSON_AddBoolToObject(obj, "is_all_day", strcmp(allday, "true") == 0);
    } else {
        ok = ok && add_person(obj, "sender", item, "Sender") &&
             add_people(obj, "to", item, "ToRecipients") &&
             add_people(obj, "cc", item, "CcRecipients") && add_person(obj, "from", item, "From") &&
             add_text(obj, "internet_message_id", item, "InternetMessageId");
        char read[8] = "";
        if (x_content(x_child(item, NS_TYPES, "IsRead"), read, sizeof(read)))
            cJSON_AddBoolToObject(obj, "is_read", strcmp(read, "true") == 0);
    }
    return ok ? NULL : "ErrorInternalServerError";
}

/* The folder an item is saved in: SavedItemFolderId, else Drafts / Calendar. */
static const char *target_folder(struct ews_ctx *c, bool calendar, struct sim_folder **f)
{
    xmlNodePtr saved = x_child(c->req->op, NS_MESSAGES, "SavedItemFolderId");
    if (saved)
        return ews_folder_lookup(c, x_first(saved), f);
    *f = c->mbx ? mailbox_distinguished(c->mbx, calendar ? "calendar" : "drafts") : NULL;
    return *f ? NULL : "ErrorFolderNotFound";
}

/* Extended properties of the request's item, set on the new one as UpdateItem sets them. */
static enum mse_rc item_extprops(struct sim_item *it, xmlNodePtr item)
{
    enum mse_rc rc = MSE_OK;
    for (xmlNodePtr n = x_first(item); n && rc == MSE_OK; n = x_next(n)) {
        if (!x_is(n, NS_TYPES, "ExtendedProperty"))
            continue;
        rc = op_extprop_set(it, x_child(n, NS_TYPES, "ExtendedFieldURI"),
                            x_child(n, NS_TYPES, "Value"));
    }
    return rc;
}

/* One item of CreateItem; *out the stored item. NULL or an error code. */
static const char *create_one(struct ews_ctx *c, xmlNodePtr item, const char *disposition,
                              bool invitations, struct sim_item **out)
{
    bool calendar = x_is(item, NS_TYPES, "CalendarItem");
    if (!calendar && !x_is(item, NS_TYPES, "Message"))
        return "ErrorInvalidOperation"; /* contacts, tasks, posts: not simulated */
    if (!calendar && !disposition)
        return "ErrorMessageDispositionRequired";
    if (!calendar && strcmp(disposition, "SaveOnly") != 0)
        return "ErrorInvalidOperation"; /* the simulator delivers no mail */
    if (calendar && !invitations)
        return "ErrorSendMeetingInvitationsRequired";
    struct sim_folder *f = NULL;
    const char *code = target_folder(c, calendar, &f);
    if (code)
        return code;
    cJSON *obj = cJSON_CreateObject();
    code = obj ? item_json(item, calendar, obj) : "ErrorInternalServerError";
    struct mse_err err = { { 0 } };
    enum mse_rc rc = MSE_OK;
    if (!code) {
        rc = fixture_item_add(c->org, f, obj, calendar, "item", out, &err);
        code = rc == MSE_OK          ? NULL
               : rc == MSE_ERR_NOMEM ? "ErrorInternalServerError"
                                     : "ErrorInvalidRequest";
    }
    cJSON_Delete(obj);
    if (!code && item_extprops(*out, item) != MSE_OK)
        code = "ErrorInternalServerError";
    return code;
}

enum mse_rc op_create_item(struct ews_ctx *c)
{
    char disposition[32], invitations[32];
    const char *d = x_prop(c->req->op, "MessageDisposition", disposition, sizeof(disposition));
    bool inv = x_prop(c->req->op, "SendMeetingInvitations", invitations, sizeof(invitations));
    xmlNodePtr msgs = soap_messages(c->resp, "CreateItem");
    struct shape idonly = { 0 };
    struct render_ctx rc = { .t = c->resp->t, .shape = &idonly, .summary = true };
    for (xmlNodePtr item = x_first(x_child(c->req->op, NS_MESSAGES, "Items")); item;
         item = x_next(item)) {
        struct sim_item *it = NULL;
        const char *code = create_one(c, item, d, inv, &it);
        xmlNodePtr m = soap_message(c->resp, msgs, "CreateItem", code);
        xmlNodePtr items = x_el(m, c->resp->m, "Items");
        if (!code)
            render_item(items, &rc, it, NULL);
    }
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}

/* One folder of CreateFolder under parent. NULL or an error code. */
static const char *folder_one(struct ews_ctx *c, struct sim_folder *parent, xmlNodePtr folder,
                              struct sim_folder **out)
{
    char name[512] = "", klass[256] = "";
    x_content(x_child(folder, NS_TYPES, "DisplayName"), name, sizeof(name));
    x_content(x_child(folder, NS_TYPES, "FolderClass"), klass, sizeof(klass));
    for (unsigned i = 0; i < parent->nchildren; i++) {
        if (strcasecmp(parent->children[i]->name, name) == 0)
            return "ErrorFolderExists";
    }
    /* Without a FolderClass the element says what it is, as in Exchange. */
    const char *by_el = x_is(folder, NS_TYPES, "CalendarFolder")   ? "IPF.Appointment"
                        : x_is(folder, NS_TYPES, "ContactsFolder") ? "IPF.Contact"
                        : x_is(folder, NS_TYPES, "TasksFolder")    ? "IPF.Task"
                                                                   : "IPF.Note";
    cJSON *obj = cJSON_CreateObject();
    if (!obj || !cJSON_AddStringToObject(obj, "name", name) ||
        !cJSON_AddStringToObject(obj, "folder_class", klass[0] ? klass : by_el)) {
        cJSON_Delete(obj);
        return "ErrorInternalServerError";
    }
    struct mse_err err = { { 0 } };
    enum mse_rc rc = fixture_folder_add(c->org, parent, obj, "folder", out, &err);
    cJSON_Delete(obj);
    return rc == MSE_OK          ? NULL
           : rc == MSE_ERR_NOMEM ? "ErrorInternalServerError"
                                 : "ErrorInvalidFolderId";
}

enum mse_rc op_create_folder(struct ews_ctx *c)
{
    struct sim_folder *parent = NULL;
    const char *pcode = ews_folder_lookup(
            c, x_first(x_child(c->req->op, NS_MESSAGES, "ParentFolderId")), &parent);
    xmlNodePtr msgs = soap_messages(c->resp, "CreateFolder");
    struct shape idonly = { 0 };
    for (xmlNodePtr f = x_first(x_child(c->req->op, NS_MESSAGES, "Folders")); f; f = x_next(f)) {
        struct sim_folder *made = NULL;
        const char *code = pcode ? pcode : folder_one(c, parent, f, &made);
        xmlNodePtr m = soap_message(c->resp, msgs, "CreateFolder", code);
        xmlNodePtr folders = x_el(m, c->resp->m, "Folders");
        if (!code)
            render_folder(folders, c->resp->t, &idonly, made);
    }
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}
