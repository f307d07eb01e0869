/* SPDX-License-Identifier: Apache-2.0 */
/* Who is calling: the authenticated API client behind a request. */
#ifndef MSE_PRINCIPAL_H
#define MSE_PRINCIPAL_H

#include "mse/limits.h"

enum principal_kind {
    PRINCIPAL_NONE,
    PRINCIPAL_ADMIN,
    PRINCIPAL_READ_ONLY,
    PRINCIPAL_SITE,
    PRINCIPAL_JOURNAL,      /* an MTA's journal feed: it may post messages and nothing else */
    PRINCIPAL_MAILBOX_USER, /* an end user: the /me routes of its mailbox and delegates only */
};

struct principal {
    enum principal_kind kind;
    char client_id[MSE_MAX_CLIENT_ID + 1]; /* the API client's public id */
    char client_uuid[37];                  /* its row id */
    char site_id[37];                      /* for PRINCIPAL_SITE: the only site it may touch */
    char mailbox[MSE_MAX_ADDRESS + 1];     /* for PRINCIPAL_MAILBOX_USER: its own mailbox */
};

/* "admin", "read_only", "site", "journal", "mailbox_user" → kind; PRINCIPAL_NONE for anything else.
 */
enum principal_kind principal_kind_parse(const char *role);
/* The role name of a kind ("none" for PRINCIPAL_NONE). */
const char *principal_kind_name(enum principal_kind kind);

#endif
