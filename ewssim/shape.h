/* SPDX-License-Identifier: Apache-2.0 */
/* Response shapes: which properties an ItemShape / FolderShape asks for. */
#ifndef EWSSIM_SHAPE_H
#define EWSSIM_SHAPE_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <stdint.h>

/* Item properties, one bit each. */
#define P_PARENT_FOLDER_ID (1ull << 0)
#define P_ITEM_CLASS       (1ull << 1)
#define P_SUBJECT          (1ull << 2)
#define P_SENSITIVITY      (1ull << 3)
#define P_BODY             (1ull << 4)
#define P_ATTACHMENTS      (1ull << 5)
#define P_RECEIVED         (1ull << 6)
#define P_SIZE             (1ull << 7)
#define P_SENT             (1ull << 8)
#define P_CREATED          (1ull << 9)
#define P_DISPLAY_CC       (1ull << 10)
#define P_DISPLAY_TO       (1ull << 11)
#define P_HAS_ATTACHMENTS  (1ull << 12)
#define P_LAST_MODIFIED    (1ull << 13)
#define P_MIME             (1ull << 14)
#define P_SENDER           (1ull << 15)
#define P_TO               (1ull << 16)
#define P_CC               (1ull << 17)
#define P_FROM             (1ull << 18)
#define P_IMID             (1ull << 19)
#define P_IS_READ          (1ull << 20)
#define P_UID              (1ull << 21)
#define P_START            (1ull << 22)
#define P_END              (1ull << 23)
#define P_ORIGINAL_START   (1ull << 24)
#define P_ALL_DAY          (1ull << 25)
#define P_FREE_BUSY        (1ull << 26)
#define P_LOCATION         (1ull << 27)
#define P_IS_MEETING       (1ull << 28)
#define P_IS_RECURRING     (1ull << 29)
#define P_CAL_TYPE         (1ull << 30)
#define P_ORGANIZER        (1ull << 31)
#define P_REQUIRED         (1ull << 32)
#define P_OPTIONAL         (1ull << 33)
#define P_RECURRENCE       (1ull << 34)
#define P_MODIFIED_OCC     (1ull << 35)
#define P_DELETED_OCC      (1ull << 36)
#define P_IS_CANCELLED     (1ull << 37)
#define P_MY_RESPONSE      (1ull << 38)
#define P_IMPORTANCE       (1ull << 39)
#define P_IS_DRAFT         (1ull << 40)
#define P_FIRST_OCC        (1ull << 41)
#define P_LAST_OCC         (1ull << 42)

/* Folder properties. */
enum {
    F_PARENT = 1 << 0,
    F_CLASS = 1 << 1,
    F_NAME = 1 << 2,
    F_TOTAL = 1 << 3,
    F_CHILDREN = 1 << 4,
    F_UNREAD = 1 << 5,
    F_RIGHTS = 1 << 6,
    F_DISTINGUISHED = 1 << 7,
};

enum body_type { BODY_BEST, BODY_HTML, BODY_TEXT };

struct shape {
    uint64_t props;
    enum body_type body_type;
    xmlNodePtr additional; /* t:AdditionalProperties (for ExtendedFieldURI look-ups), or NULL */
};

/* Reads an ItemShape / FolderShape / AttachmentShape element. Unknown FieldURIs are ignored. */
void shape_item_parse(xmlNodePtr shape_el, struct shape *out);
void shape_folder_parse(xmlNodePtr shape_el, struct shape *out);

#endif
