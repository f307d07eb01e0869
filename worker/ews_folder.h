/* SPDX-License-Identifier: Apache-2.0 */
/* Folders as EWS reports them, read from XML; GetFolder for distinguished folders. */
#ifndef MSE_EWS_FOLDER_H
#define MSE_EWS_FOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "ews_response.h"
#include "mse/rc.h"

struct ews_session;

/* One folder. Strings are malloc'd, NULL when not sent. */
struct ews_folder {
    char kind[24]; /* element: Folder, CalendarFolder, ContactsFolder, TasksFolder, SearchFolder */
    char *id;
    char *change_key;
    char *parent_id;
    char *display_name;
    char *folder_class;  /* IPF.Note, IPF.Appointment, …; NULL for some system folders */
    int64_t total_count; /* -1 when not sent */
};

void ews_folder_init(struct ews_folder *f);
/* NULL is fine; f is empty (as after init) afterwards. */
void ews_folder_cleanup(struct ews_folder *f);
/* Reads an expanded folder element (t:Folder, t:CalendarFolder, …). MSE_ERR_NOMEM only. */
enum mse_rc ews_folder_parse(const xmlNode *node, struct ews_folder *f) MSE_WUR;
/* True for the element names that hold a folder. */
bool ews_folder_element(const char *local);

/* GetFolder for distinguished ids ("msgfolderroot", "deleteditems", "calendar"). */
struct ews_get_folders_args {
    const char *const *distinguished;
    size_t n;
    const char *const *fields; /* "folder:DisplayName", … */
    size_t n_fields;
};

struct ews_get_folder_result {
    struct ews_folder folder; /* id NULL when status is not NoError */
    struct ews_status status;
};

struct ews_get_folders {
    struct ews_get_folder_result *v;
    size_t n;
};

void ews_get_folders_cleanup(struct ews_get_folders *res);
void ews_get_folders_build(struct ews_xml_writer *wr, const void *args, const char *delegate);
enum mse_rc ews_get_folders_parse(const char *xml, size_t len, void *res, struct ews_reply *reply,
                                  struct mse_err *err) MSE_WUR;
/* Runs GetFolder with the retry policy; res must be zeroed; the caller cleans it up. */
enum mse_rc ews_get_folders(struct ews_session *s, const struct ews_get_folders_args *args,
                            struct ews_get_folders *res, struct ews_reply *reply,
                            struct mse_err *err) MSE_WUR;

/* Writes <t:DistinguishedFolderId Id=…> with <t:Mailbox> when accessing as a delegate. */
void ews_folder_write_distinguished(struct ews_xml_writer *wr, const char *id,
                                    const char *delegate);

#endif
