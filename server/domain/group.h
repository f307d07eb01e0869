/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mailboxes a task applies to: an AD group's DN (RFC 4514, checked by OpenLDAP's parser),
 * a group's e-mail address, one mailbox, or a ';'-separated list of mailboxes.
 */
#ifndef MSE_GROUP_H
#define MSE_GROUP_H

#include <stdbool.h>

#include "verr.h"

enum group_kind { GROUP_AD_GROUP, GROUP_GROUP_EMAIL, GROUP_MAILBOX, GROUP_MAILBOX_LIST };

/* "ad_group", "group_email", "mailbox", "mailbox_list", NULL */
extern const char *const group_kind_names[];

/*
 * An e-mail address as Exchange routes it: dot-atom local part (≤ 64) "@" a domain of at
 * least two LDH labels (≤ 253), ≤ 254 in all. Quoted local parts and address literals are
 * not accepted.
 */
bool group_address_valid(const char *addr);

/* A non-empty RFC 4514 distinguished name such as CN=dlmmsgroup,CN=Users,DC=mcdev,DC=internal. */
bool group_dn_valid(const char *dn);

/*
 * Checks value for kind and writes its normal form to *out (malloc'd): for mailbox_list the
 * addresses trimmed, empty entries dropped, duplicates (ignoring case) removed, joined by ';'.
 * Problems are reported under field (every bad list entry is named). False when invalid.
 */
bool group_normalize(enum group_kind kind, const char *value, const char *field, char **out,
                     struct verr *v);

#endif
