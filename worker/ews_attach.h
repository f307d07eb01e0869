/* SPDX-License-Identifier: Apache-2.0 */
/* GetAttachment: the content of one attachment, decoded from base64. */
#ifndef MSE_EWS_ATTACH_H
#define MSE_EWS_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ews_response.h"
#include "mse/rc.h"

struct ews_session;

struct ews_get_attachment_args {
    const char *id; /* AttachmentId from GetItem's item:Attachments */
};

/*
 * The attachment. A file attachment's content is its bytes; an item attachment (an attached
 * message) is its MIME content, with content_type "message/rfc822" unless EWS said otherwise.
 */
struct ews_attachment_content {
    struct ews_status status; /* NoError, or why there is no content */
    char *name;
    char *content_type;
    bool is_item;
    uint8_t *data;
    size_t len;
};

void ews_attachment_content_cleanup(struct ews_attachment_content *c);
void ews_get_attachment_build(struct ews_xml_writer *wr, const void *args, const char *delegate);
enum mse_rc ews_get_attachment_parse(const char *xml, size_t len, void *out,
                                     struct ews_reply *reply, struct mse_err *err) MSE_WUR;
/* GetAttachment with the retry policy. out must be zeroed; the caller cleans it up. */
enum mse_rc ews_get_attachment(struct ews_session *s, const struct ews_get_attachment_args *a,
                               struct ews_attachment_content *out, struct ews_reply *reply,
                               struct mse_err *err) MSE_WUR;

#endif
