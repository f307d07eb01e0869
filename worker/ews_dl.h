/* SPDX-License-Identifier: Apache-2.0 */
/* ExpandDL: the direct members of a distribution group. */
#ifndef MSE_EWS_DL_H
#define MSE_EWS_DL_H

#include <stdbool.h>

#include "ews_item.h"
#include "ews_response.h"
#include "mse/rc.h"

struct ews_session;

struct ews_expand_dl_args {
    const char *address; /* the group's SMTP address */
};

/* Direct members; nested groups come back as entries with mailbox_type PublicDL/PrivateDL. */
struct ews_dl_members {
    struct ews_people members;
    bool includes_last; /* false: EWS truncated the list (ExpandDL cannot page) */
};

void ews_dl_members_cleanup(struct ews_dl_members *m);
void ews_expand_dl_build(struct ews_xml_writer *wr, const void *args, const char *delegate);
enum mse_rc ews_expand_dl_parse(const char *xml, size_t len, void *out, struct ews_reply *reply,
                                struct mse_err *err) MSE_WUR;
/*
 * ExpandDL with the retry policy. It is a protocol-level call: no impersonation, no
 * X-AnchorMailbox. out must be zeroed; the caller cleans it up. Any error, including a group
 * that does not exist (reply->policy.reason "group_not_found"), is MSE_ERR_UNAVAILABLE.
 */
enum mse_rc ews_expand_dl(struct ews_session *s, const struct ews_expand_dl_args *a,
                          struct ews_dl_members *out, struct ews_reply *reply,
                          struct mse_err *err) MSE_WUR;

#endif
