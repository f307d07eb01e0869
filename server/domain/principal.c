/* SPDX-License-Identifier: Apache-2.0 */
/* Who is calling: the authenticated API client behind a request. */
#include "principal.h"

#include <string.h>

enum principal_kind principal_kind_parse(const char *role)
{
    if (!role)
        return PRINCIPAL_NONE;
    if (strcmp(role, "admin") == 0)
        return PRINCIPAL_ADMIN;
    if (strcmp(role, "read_only") == 0)
        return PRINCIPAL_READ_ONLY;
    if (strcmp(role, "site") == 0)
        return PRINCIPAL_SITE;
    if (strcmp(role, "journal") == 0)
        return PRINCIPAL_JOURNAL;
    if (strcmp(role, "mailbox_user") == 0)
        return PRINCIPAL_MAILBOX_USER;
    return PRINCIPAL_NONE;
}

const char *principal_kind_name(enum principal_kind kind)
{
    switch (kind) {
    case PRINCIPAL_ADMIN:
        return "admin";
    case PRINCIPAL_READ_ONLY:
        return "read_only";
    case PRINCIPAL_SITE:
        return "site";
    case PRINCIPAL_JOURNAL:
        return "journal";
    case PRINCIPAL_MAILBOX_USER:
        return "mailbox_user";
    case PRINCIPAL_NONE:
        break;
    }
    return "none";
}
