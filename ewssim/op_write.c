/* SPDX-License-Identifier: Apache-2.0 */
/* Item writes: UpdateItem (SetItemField, AppendToItemField, DeleteItemField) and DeleteItem. */
#include <stdlib.h>
#include <string.h>

#include "sim_limits.h"
#include "ops.h"
#include "recur.h"
#include "render.h"
#include "timefmt.h"

/* Properties UpdateItem can change. */
enum upd_field {
    UF_SUBJECT,
    UF_BODY,
    UF_ITEM_CLASS,
    UF_SENSITIVITY,
    UF_IS_READ,
    UF_LOCATION,
    UF_START,
    UF_END,
    UF_EXTENDED,
    UF_UNKNOWN
};

static const struct {
    const char *uri;
    const char *element; /* the element inside the item that carries the value */
    enum upd_field field;
} upd_fields[] = {
    { "item:Subject", "Subject", UF_SUBJECT },
    { "item:Body", "Body", UF_BODY },
    { "item:ItemClass", "ItemClass", UF_ITEM_CLASS },
    { "item:Sensitivity", "Sensitivity", UF_SENSITIVITY },
    { "message:IsRead", "IsRead", UF_IS_READ },
    { "calendar:Location", "Location", UF_LOCATION },
    { "calendar:Start", "Start", UF_START },
    { "calendar:End", "End", UF_END },
};

struct update {
    enum upd_field field;
    int action; /* 0 set, 1 append, 2 delete */
    xmlNodePtr path;
    xmlNodePtr value; /* element carrying the value (set/append) */
};

/* The updatable property a path names, and the element carrying its value. */
static enum upd_field field_of(xmlNodePtr path, const char **element)
{
    char uri[64];
    if (x_is(path, NS_TYPES, "ExtendedFieldURI")) {
        *element = "ExtendedProperty";
        return UF_EXTENDED;
    }
    if (!x_is(path, NS_TYPES, "FieldURI") || !x_prop(path, "FieldURI", uri, sizeof(uri)))
        return UF_UNKNOWN;
    for (size_t i = 0; i < sizeof(upd_fields) / sizeof(upd_fields[0]); i++) {
        if (strcmp(upd_fields[i].uri, uri) == 0) {
            *element = upd_fields[i].element;
            return upd_fields[i].field;
        }
    }
    return UF_UNKNOWN;
}

/* Reads one t:SetItemField / AppendToItemField / DeleteItemField; false when unsupported. */
static bool update_read(xmlNodePtr u, const struct sim_item *it, struct update *out)
{
    const char *element = NULL;
    out->action = x_is(u, NS_TYPES, "SetItemField")        ? 0
                  : x_is(u, NS_TYPES, "AppendToItemField") ? 1
                                                           : 2;
    out->path = x_first(u);
    out->field = field_of(out->path, &element);
    out->value = NULL;
    if (out->field == UF_UNKNOWN)
        return false;
    bool cal_only = out->field == UF_LOCATION || out->field == UF_START || out->field == UF_END;
    if (cal_only && !it->cal)
        return false;
    if (out->action == 1 && out->field != UF_BODY)
        return false;
    if (out->action == 2)
        return out->field == UF_LOCATION || out->field == UF_EXTENDED || out->field == UF_BODY;
    out->value = x_child(x_next(out->path), NS_TYPES, element);
    return out->value != NULL;
}

/* Sensitivity by EWS name, -1 when unknown. */
static int sensitivity_parse(const char *s)
{
    for (int i = 0; i <= SENS_CONFIDENTIAL; i++) {
        if (strcmp(render_sensitivity((enum sensitivity)i), s) == 0)
            return i;
    }
    return -1;
}

/* Replaces a string field with the value element's text (NULL value = delete). */
static enum mse_rc str_replace(char **slot, xmlNodePtr value)
{
    char *v = value ? x_content_dup(value) : NULL;
    if (value && !v)
        return MSE_ERR_NOMEM;
    free(*slot);
    *slot = v;
    return MSE_OK;
}

/* Set or append the body; stored MIME no longer matches, so it is dropped. */
static enum mse_rc body_update(struct sim_item *it, const struct update *u)
{
    char *text = NULL;
    if (u->action == 1 && render_body_text(it, &text) != MSE_OK)
        return MSE_ERR_NOMEM;
    char *add = u->value ? x_content_dup(u->value) : strdup("");
    if (!add) {
        free(text);
        return MSE_ERR_NOMEM;
    }
    if (u->action == 1) {
        size_t a = strlen(text), b = strlen(add);
        char *joined = realloc(text, a + b + 1);
        if (!joined) {
            free(text);
            free(add);
            return MSE_ERR_NOMEM;
        }
        memcpy(joined + a, add, b + 1);
        free(add);
        add = joined;
    } else if (u->value) {
        char kind[16];
        it->body_html =
                x_prop(u->value, "BodyType", kind, sizeof(kind)) && strcmp(kind, "HTML") == 0;
    }
    free(it->body);
    it->body = add;
    it->body_seed = 0;
    free(it->mime); /* the stored MIME no longer matches; synthesise from now on */
    it->mime = NULL;
    return MSE_OK;
}

/* Set or delete an extended property, keyed by its path attributes. */
static enum mse_rc extended_update(struct sim_item *it, const struct update *u)
{
    return op_extprop_set(it, u->path,
                          u->action == 2 ? NULL : x_child(u->value, NS_TYPES, "Value"));
}

enum mse_rc op_extprop_set(struct sim_item *it, xmlNodePtr uri, xmlNodePtr value_el)
{
    char *key = uri ? render_extprop_key(uri) : NULL;
    if (!key)
        return uri ? MSE_ERR_NOMEM : MSE_ERR_INVALID;
    unsigned i;
    for (i = 0; i < it->nprops && strcmp(it->props[i].attrs, key) != 0; i++)
        ;
    if (!value_el) {
        if (i < it->nprops) {
            free(it->props[i].attrs);
            free(it->props[i].value);
            it->props[i] = it->props[--it->nprops];
        }
        free(key);
        return MSE_OK;
    }
    char *value = x_content_dup(value_el);
    if (i == it->nprops) {
        struct sim_extprop *g = realloc(it->props, (it->nprops + 1) * sizeof(*g));
        if (!g || !value) {
            free(key);
            free(value);
            return MSE_ERR_NOMEM;
        }
        it->props = g;
        it->props[it->nprops].attrs = key;
        it->props[it->nprops++].value = value;
        return MSE_OK;
    }
    free(key);
    free(it->props[i].value);
    it->props[i].value = value;
    return value ? MSE_OK : MSE_ERR_NOMEM;
}

/* Applies one checked update to the item. */
static enum mse_rc update_apply(struct sim_item *it, const struct update *u)
{
    char buf[64];
    time_t t;
    switch (u->field) {
    case UF_SUBJECT:
        return str_replace(&it->subject, u->value);
    case UF_ITEM_CLASS:
        return str_replace(&it->item_class, u->value);
    case UF_LOCATION:
        return str_replace(&it->cal->location, u->value);
    case UF_BODY:
        return body_update(it, u);
    case UF_EXTENDED:
        return extended_update(it, u);
    case UF_SENSITIVITY:
        it->sensitivity =
                (enum sensitivity)sensitivity_parse(x_content(u->value, buf, sizeof(buf)));
        return MSE_OK;
    case UF_IS_READ:
        item_set_read(it, strcmp(x_content(u->value, buf, sizeof(buf)), "true") == 0 ||
                                  strcmp(buf, "1") == 0);
        return MSE_OK;
    case UF_START:
    case UF_END:
        if (mse_time_parse(x_content(u->value, buf, sizeof(buf)), &t) != MSE_OK)
            return MSE_ERR_INVALID;
        *(u->field == UF_START ? &it->cal->start : &it->cal->end) = t;
        return MSE_OK;
    default:
        return MSE_ERR_INVALID;
    }
}

/* Checks a value before anything is applied, so an ItemChange applies whole or not at all. */
static bool update_value_ok(const struct update *u)
{
    char buf[64];
    time_t t;
    if (u->action == 2)
        return true;
    if (u->field == UF_SENSITIVITY)
        return sensitivity_parse(x_content(u->value, buf, sizeof(buf))) >= 0;
    if (u->field == UF_START || u->field == UF_END)
        return mse_time_parse(x_content(u->value, buf, sizeof(buf)), &t) == MSE_OK;
    return true;
}

struct update_opts {
    bool always_overwrite;
    bool has_disposition;
    bool has_invitations;
};

/* ChangeKey and disposition rules; NULL when the change may go ahead. */
static const char *change_allowed(const struct update_opts *o, xmlNodePtr id_el,
                                  const struct sim_item *it)
{
    if (it->kind == ITEM_MESSAGE && !o->has_disposition)
        return "ErrorMessageDispositionRequired";
    if (it->kind == ITEM_CALENDAR && !o->has_invitations)
        return "ErrorSendMeetingInvitationsOrCancellationsRequired";
    char ck[128], cur[EWSID_MAX];
    if (!x_prop(id_el, "ChangeKey", ck, sizeof(ck)))
        return o->always_overwrite ? NULL : "ErrorChangeKeyRequiredForWriteOperations";
    ewsid_change_key(EWSID_ITEM, it->num, it->change_no, cur);
    if (strcmp(ck, cur) != 0 && !o->always_overwrite)
        return "ErrorIrresolvableConflict";
    return NULL;
}

/* One t:ItemChange: checks every update first, then applies them all (all or nothing). */
static const char *item_change(struct ews_ctx *c, const struct update_opts *o, xmlNodePtr change,
                               struct sim_item **out)
{
    xmlNodePtr id_el = x_child(change, NS_TYPES, "ItemId");
    struct ewsid id;
    struct sim_item *it = NULL;
    const char *code = id_el ? ews_item_lookup(c, id_el, &it, &id) : "ErrorInvalidOperation";
    if (code)
        return code;
    if (id.kind == EWSID_OCCURRENCE)
        return "ErrorInvalidOperation"; /* occurrences are changed through their master */
    if ((code = change_allowed(o, id_el, it)))
        return code;
    struct update ups[SIM_UPDATE_MAX_FIELDS];
    unsigned n = 0;
    bool content = false;
    for (xmlNodePtr u = x_first(x_child(change, NS_TYPES, "Updates")); u; u = x_next(u)) {
        if (n == SIM_UPDATE_MAX_FIELDS || !update_read(u, it, &ups[n]) || !update_value_ok(&ups[n]))
            return "ErrorInvalidPropertySet";
        content |= ups[n].field != UF_IS_READ;
        n++;
    }
    for (unsigned i = 0; i < n; i++) {
        if (update_apply(it, &ups[i]) != MSE_OK)
            return "ErrorInternalServerError";
    }
    if (n && item_touch(it, content) != MSE_OK)
        return "ErrorInternalServerError";
    if (content)
        item_size_update(it);
    *out = it;
    return NULL;
}

enum mse_rc op_update_item(struct ews_ctx *c)
{
    char buf[64];
    struct update_opts o = { 0 };
    o.always_overwrite =
            strcmp(x_prop(c->req->op, "ConflictResolution", buf, sizeof(buf)) ? buf : "",
                   "AlwaysOverwrite") == 0;
    o.has_disposition = x_prop(c->req->op, "MessageDisposition", buf, sizeof(buf)) != NULL;
    o.has_invitations =
            x_prop(c->req->op, "SendMeetingInvitationsOrCancellations", buf, sizeof(buf)) != NULL;
    xmlNodePtr msgs = soap_messages(c->resp, "UpdateItem");
    struct shape idonly = { 0 };
    struct render_ctx rc = { .t = c->resp->t, .shape = &idonly, .summary = true };
    for (xmlNodePtr ch = x_first(x_child(c->req->op, NS_MESSAGES, "ItemChanges")); ch;
         ch = x_next(ch)) {
        struct sim_item *it = NULL;
        const char *code = item_change(c, &o, ch, &it);
        xmlNodePtr m = soap_message(c->resp, msgs, "UpdateItem", code);
        xmlNodePtr items = x_el(m, c->resp->m, "Items");
        if (!code) {
            render_item(items, &rc, it, NULL);
            x_int(x_el(m, c->resp->m, "ConflictResults"), c->resp->t, "Count", 0);
        }
    }
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}

/* ---- DeleteItem ---- */

/* Deleting one occurrence adds it to the master's DeletedOccurrences. */
static const char *occurrence_delete(struct sim_item *it, time_t original_start)
{
    struct sim_calendar *cal = it->cal;
    if (recur_is_deleted(cal, original_start) ||
        (!recur_exception(cal, original_start) && !recur_is_occurrence(cal, original_start)))
        return "ErrorItemNotFound";
    time_t *g = realloc(cal->deleted, (cal->ndeleted + 1) * sizeof(*g));
    if (!g)
        return "ErrorInternalServerError";
    cal->deleted = g;
    cal->deleted[cal->ndeleted++] = original_start;
    for (unsigned i = 0; i < cal->nexceptions; i++) {
        if (cal->exceptions[i].original_start == original_start) {
            free(cal->exceptions[i].subject);
            free(cal->exceptions[i].location);
            cal->exceptions[i] = cal->exceptions[--cal->nexceptions];
            break;
        }
    }
    return item_touch(it, true) == MSE_OK ? NULL : "ErrorInternalServerError";
}

/* One id of DeleteItem: MoveToDeletedItems moves, the other types delete. */
static const char *delete_one(struct ews_ctx *c, xmlNodePtr id_el, const char *type,
                              bool has_cancellations)
{
    struct ewsid id;
    struct sim_item *it = NULL;
    const char *code = ews_item_lookup(c, id_el, &it, &id);
    if (code)
        return code;
    if (it->kind == ITEM_CALENDAR && !has_cancellations)
        return "ErrorSendMeetingCancellationsRequired";
    if (id.kind == EWSID_OCCURRENCE)
        return occurrence_delete(it, (time_t)id.extra);
    /* MoveToDeletedItems: to Deleted Items (from there: for good). SoftDelete: to the dumpster
     * (Recoverable Items/Deletions, outside the user-visible tree), as Exchange 2010 and later
     * do. HardDelete: gone. */
    bool soft = strcmp(type, "SoftDelete") == 0;
    struct sim_folder *to =
            mailbox_distinguished(it->mbx, soft ? "recoverableitemsdeletions" : "deleteditems");
    enum mse_rc rc;
    if (strcmp(type, "HardDelete") != 0 && to && it->folder != to)
        rc = item_move(it, to);
    else
        rc = item_delete(c->org, it);
    return rc == MSE_OK ? NULL : "ErrorInternalServerError";
}

enum mse_rc op_delete_item(struct ews_ctx *c)
{
    char type[32], buf[32];
    x_prop(c->req->op, "DeleteType", type, sizeof(type));
    bool cancellations = x_prop(c->req->op, "SendMeetingCancellations", buf, sizeof(buf)) != NULL;
    xmlNodePtr msgs = soap_messages(c->resp, "DeleteItem");
    for (xmlNodePtr id = x_first(x_child(c->req->op, NS_MESSAGES, "ItemIds")); id;
         id = x_next(id)) {
        const char *code = x_is(id, NS_TYPES, "ItemId") ? delete_one(c, id, type, cancellations)
                                                        : "ErrorInvalidOperation";
        soap_message(c->resp, msgs, "DeleteItem", code);
    }
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}
