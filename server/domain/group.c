/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mailboxes a task applies to: an AD group's DN (RFC 4514, checked by OpenLDAP's parser),
 * a group's e-mail address, one mailbox, or a ';'-separated list of mailboxes.
 */
#include "group.h"

#include <glib.h>
#include <ldap.h>
#include <string.h>

#include "mse/limits.h"

const char *const group_kind_names[] = { "ad_group", "group_email", "mailbox", "mailbox_list",
                                         NULL };

#define LOCAL_MAX  64
#define DOMAIN_MAX 253
#define LABEL_MAX  63

static bool atext(char c)
{
    return g_ascii_isalnum(c) || (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

/* dot-atom: atext runs separated by single dots. */
static bool local_part_valid(const char *s, size_t n)
{
    if (n == 0 || n > LOCAL_MAX || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' ? s[i + 1] == '.' : !atext(s[i]))
            return false;
    }
    return true;
}

static bool domain_valid(const char *s)
{
    size_t n = strlen(s), labels = 0;
    if (n == 0 || n > DOMAIN_MAX)
        return false;
    const char *label = s;
    bool numeric_tld = true;
    for (;;) {
        const char *end = strchr(label, '.');
        size_t len = end ? (size_t)(end - label) : strlen(label);
        if (len == 0 || len > LABEL_MAX || label[0] == '-' || label[len - 1] == '-')
            return false;
        numeric_tld = true;
        for (size_t i = 0; i < len; i++) {
            if (!g_ascii_isalnum(label[i]) && label[i] != '-')
                return false;
            numeric_tld &= g_ascii_isdigit(label[i]) != 0;
        }
        labels++;
        if (!end)
            break;
        label = end + 1;
    }
    return labels >= 2 && !numeric_tld;
}

bool group_address_valid(const char *addr)
{
    size_t n = strlen(addr);
    const char *at = strrchr(addr, '@');
    if (n > MSE_MAX_ADDRESS || !at)
        return false;
    return local_part_valid(addr, (size_t)(at - addr)) && domain_valid(at + 1);
}

bool group_dn_valid(const char *dn)
{
    if (!*dn || strlen(dn) > MSE_MAX_DN)
        return false;
    LDAPDN parsed = NULL;
    int rc = ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3);
    bool ok = rc == LDAP_SUCCESS && parsed != NULL;
    if (parsed)
        ldap_dnfree(parsed);
    return ok;
}

/* Splits, trims, validates and de-duplicates a mailbox list. */
static bool list_normalize(const char *value, const char *field, char **out, struct verr *v)
{
    gchar **parts = g_strsplit(value, ";", -1);
    GString *norm = g_string_new(NULL);
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    unsigned entries = 0, before = v->count;
    for (guint i = 0; parts[i]; i++) {
        gchar *addr = g_strstrip(parts[i]);
        if (!*addr)
            continue; /* "a@x.org; b@y.org;" — a trailing separator is harmless */
        if (!group_address_valid(addr)) {
            verr_add(v, field, "entry %u (\"%.64s\") is not an e-mail address", i + 1, addr);
            continue;
        }
        gchar *key = g_ascii_strdown(addr, -1);
        if (!g_hash_table_add(seen, key))
            continue; /* a duplicate, ignoring case: kept once, first spelling wins */
        if (++entries > MSE_MAX_MAILBOX_LIST)
            continue;
        g_string_append_printf(norm, "%s%s", norm->len ? ";" : "", addr);
    }
    if (entries > MSE_MAX_MAILBOX_LIST)
        verr_add(v, field, "lists %u mailboxes; at most %d are allowed", entries,
                 MSE_MAX_MAILBOX_LIST);
    else if (entries == 0 && v->count == before)
        verr_add(v, field, "must list at least one mailbox");
    bool ok = v->count == before;
    *out = ok ? strdup(norm->str) : NULL;
    g_hash_table_destroy(seen);
    g_string_free(norm, TRUE);
    g_strfreev(parts);
    return ok && *out;
}

bool group_normalize(enum group_kind kind, const char *value, const char *field, char **out,
                     struct verr *v)
{
    *out = NULL;
    switch (kind) {
    case GROUP_AD_GROUP:
        if (!group_dn_valid(value)) {
            verr_add(v, field,
                     "is not a distinguished name (RFC 4514) such as "
                     "CN=dlmmsgroup,CN=Users,DC=mcdev,DC=internal");
            return false;
        }
        break;
    case GROUP_GROUP_EMAIL:
    case GROUP_MAILBOX:
        if (!group_address_valid(value)) {
            verr_add(v, field, "is not an e-mail address%s",
                     strchr(value, ';') ? " (several mailboxes need kind mailbox_list)" : "");
            return false;
        }
        break;
    case GROUP_MAILBOX_LIST:
        return list_normalize(value, field, out, v);
    }
    *out = strdup(value);
    return *out != NULL;
}
