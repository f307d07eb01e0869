/* SPDX-License-Identifier: Apache-2.0 */
/* Items, folders, mailboxes and attachments as EWS XML, in the schema's element order. */
#ifndef EWSSIM_RENDER_H
#define EWSSIM_RENDER_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <time.h>

#include "shape.h"
#include "store.h"

/* One occurrence of a recurring master, for CalendarView and occurrence ids. */
struct occ_view {
    time_t original_start;
    time_t start, end;
    const struct sim_exception *exception; /* NULL for a plain occurrence */
};

struct render_ctx {
    xmlNsPtr t;
    const struct shape *shape;
    bool summary; /* SyncFolderItems/FindItem: no Body, Attachments or MimeContent */
};

/* Appends <t:Message>/<t:CalendarItem> for the item (or one occurrence of it, occ non-NULL). */
xmlNodePtr render_item(xmlNodePtr parent, const struct render_ctx *rc, const struct sim_item *it,
                       const struct occ_view *occ);
/* <t:{el} Id= ChangeKey=/> for an item, folder or occurrence. */
void render_item_id(xmlNodePtr parent, xmlNsPtr t, const char *el, const struct sim_item *it);
void render_occurrence_id(xmlNodePtr parent, xmlNsPtr t, const char *el, const struct sim_item *it,
                          time_t original_start);
void render_folder_id(xmlNodePtr parent, xmlNsPtr t, const char *el, const struct sim_folder *f);
/* <t:Folder>/<t:CalendarFolder>/… with the shape's properties. */
xmlNodePtr render_folder(xmlNodePtr parent, xmlNsPtr t, const struct shape *s,
                         const struct sim_folder *f);
/* <t:{el}> as EmailAddressType: Name, EmailAddress, RoutingType, MailboxType (may be NULL). */
xmlNodePtr render_mailbox(xmlNodePtr parent, xmlNsPtr t, const char *el, const char *name,
                          const char *email, const char *mailbox_type);
/* <t:FileAttachment> with metadata; with content=true also the base64 Content. */
enum mse_rc render_attachment(xmlNodePtr parent, xmlNsPtr t, const struct sim_item *it,
                              const struct sim_attachment *a, bool content) MSE_WUR;
/* Body text of the item (stored or generated), malloc'd. */
enum mse_rc render_body_text(const struct sim_item *it, char **out) MSE_WUR;
/* RFC 5322 message text of the item (stored MIME or synthesised), malloc'd. */
enum mse_rc render_mime(const struct sim_item *it, char **out, size_t *len) MSE_WUR;
/* Canonical "Name=Value\n…" key of an ExtendedFieldURI's attributes, malloc'd (NULL: no memory). */
char *render_extprop_key(const xmlNode *uri);
/* Base64 (standard alphabet, no line breaks) of n bytes, malloc'd. */
char *render_base64(const void *data, size_t n);

/* Enumerations as EWS spells them. */
const char *render_sensitivity(enum sensitivity s);
const char *render_cal_type(enum cal_type t);
const char *render_response(enum response_type r);
extern const char *const render_day_names[8];    /* Sunday … Saturday, Day */
extern const char *const render_month_names[13]; /* [1] = January */
extern const char *const render_week_index[6];   /* [1] = First … [5] = Last */

#endif
