/* SPDX-License-Identifier: Apache-2.0 */
/* Mailbox folder references in definitions: paths such as "/Inbox/Projects", well-known names. */
#include "folder.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "mse/limits.h"

#define FOLDER_SEGMENT_MAX 255

/* From EWS's DistinguishedFolderIdNameType: the folders of a mailbox that hold items. */
const char *const folder_well_known_names[] = {
    "inbox",
    "sentitems",
    "deleteditems",
    "drafts",
    "junkemail",
    "outbox",
    "calendar",
    "contacts",
    "tasks",
    "notes",
    "journal",
    "syncissues",
    "conversationhistory",
    "archiveinbox",
    "archivedeleteditems",
    NULL,
};

bool folder_well_known(const char *name)
{
    for (int i = 0; folder_well_known_names[i]; i++) {
        if (strcmp(name, folder_well_known_names[i]) == 0)
            return true;
    }
    return false;
}

bool folder_path_valid(const char *path, char *why, unsigned why_size)
{
    if (path[0] != '/') {
        snprintf(why, why_size, "must start with / (such as /Inbox/Projects)");
        return false;
    }
    if (g_utf8_strlen(path, -1) > MSE_MAX_FOLDER_PATH) {
        snprintf(why, why_size, "is longer than %d characters", MSE_MAX_FOLDER_PATH);
        return false;
    }
    const char *seg = path + 1;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t bytes = end ? (size_t)(end - seg) : strlen(seg);
        if (bytes == 0) {
            snprintf(why, why_size, "has an empty folder name (// or a trailing /)");
            return false;
        }
        if (g_utf8_strlen(seg, (gssize)bytes) > FOLDER_SEGMENT_MAX) {
            snprintf(why, why_size, "has a folder name longer than %d characters",
                     FOLDER_SEGMENT_MAX);
            return false;
        }
        for (size_t i = 0; i < bytes; i++) {
            unsigned char c = (unsigned char)seg[i];
            if (c < 0x20 || c == 0x7f) {
                snprintf(why, why_size, "must not contain control characters");
                return false;
            }
        }
        if (!end)
            return true;
        seg = end + 1;
    }
}

bool folder_path_same(const char *a, const char *b)
{
    gchar *fa = g_utf8_casefold(a, -1), *fb = g_utf8_casefold(b, -1);
    bool same = strcmp(fa, fb) == 0;
    g_free(fa);
    g_free(fb);
    return same;
}
