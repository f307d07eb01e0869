/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for group.c and folder.c: addresses, DNs, mailbox lists, folder references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "folder.h"
#include "group.h"

static void test_addresses(void **state)
{
    (void)state;
    const char *good[] = { "a@example.com",        "first.last@mail.example.org",
                           "x+tag@sub.example.co", "o'brien@example.ie",
                           "a@b-c.example",        "UPPER@EXAMPLE.COM" };
    const char *bad[] = { "",
                          "plain",
                          "@example.com",
                          "a@",
                          "a@localhost",
                          "a@.example.com",
                          "a@example..com",
                          "a..b@example.com",
                          ".a@example.com",
                          "a.@example.com",
                          "a b@example.com",
                          "a@exa_mple.com",
                          "a@-example.com",
                          "a@example.123",
                          "\"quoted\"@example.com",
                          "a@[192.0.2.1]",
                          "a@b@example.com",
                          "a@example.com;b@example.com" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!group_address_valid(good[i]))
            fail_msg("%s should be valid", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (group_address_valid(bad[i]))
            fail_msg("\"%s\" should be refused", bad[i]);
    }
    /* Length limits: 64 for the local part, 254 in all. */
    char local[80], addr[300];
    memset(local, 'a', 65);
    local[65] = '\0';
    snprintf(addr, sizeof(addr), "%s@example.com", local);
    assert_false(group_address_valid(addr));
    local[64] = '\0';
    snprintf(addr, sizeof(addr), "%s@example.com", local);
    assert_true(group_address_valid(addr));
}

static void test_dns(void **state)
{
    (void)state;
    assert_true(group_dn_valid("CN=dlmmsgroup,CN=Users,DC=mcdev,DC=internal"));
    assert_true(group_dn_valid("CN=Sales\\, EMEA,OU=Groups,DC=example,DC=com"));
    assert_true(group_dn_valid("cn=x"));
    assert_false(group_dn_valid(""));
    assert_false(group_dn_valid("garbage"));
    assert_false(group_dn_valid("CN=a,,DC=b"));
    assert_false(group_dn_valid("CN=a,DC"));
    assert_false(group_dn_valid("=value"));
}

static void test_mailbox_list(void **state)
{
    (void)state;
    struct verr v;
    char *out = NULL;
    verr_init(&v);
    assert_true(group_normalize(GROUP_MAILBOX_LIST,
                                " a@example.com ;B@example.com;b@EXAMPLE.com; ;c@example.org;",
                                "group.value", &out, &v));
    assert_string_equal(out, "a@example.com;B@example.com;c@example.org");
    free(out);

    /* Every bad entry is named, by position. */
    assert_false(group_normalize(GROUP_MAILBOX_LIST, "a@example.com;nope;also bad;c@example.org",
                                 "group.value", &out, &v));
    assert_null(out);
    assert_int_equal(v.count, 2);
    assert_non_null(strstr(v.list[0].message, "entry 2"));
    assert_non_null(strstr(v.list[1].message, "entry 3"));
    verr_cleanup(&v);

    assert_false(group_normalize(GROUP_MAILBOX_LIST, " ; ;", "group.value", &out, &v));
    assert_int_equal(v.count, 1);
    verr_cleanup(&v);

    /* More distinct mailboxes than allowed. */
    size_t size = (MSE_MAX_MAILBOX_LIST + 2) * 24;
    char *many = malloc(size);
    size_t used = 0;
    for (int i = 0; i <= MSE_MAX_MAILBOX_LIST; i++)
        used += (size_t)snprintf(many + used, size - used, "u%d@example.com;", i);
    assert_false(group_normalize(GROUP_MAILBOX_LIST, many, "group.value", &out, &v));
    assert_non_null(strstr(v.list[0].message, "at most"));
    verr_cleanup(&v);
    free(many);
}

static void test_single_kinds(void **state)
{
    (void)state;
    struct verr v;
    char *out = NULL;
    verr_init(&v);
    assert_true(group_normalize(GROUP_MAILBOX, "a@example.com", "group.value", &out, &v));
    assert_string_equal(out, "a@example.com");
    free(out);
    assert_false(
            group_normalize(GROUP_MAILBOX, "a@example.com;b@example.com", "group.value", &out, &v));
    assert_non_null(strstr(v.list[0].message, "mailbox_list"));
    assert_false(group_normalize(GROUP_AD_GROUP, "not a dn", "group.value", &out, &v));
    assert_true(
            group_normalize(GROUP_GROUP_EMAIL, "all-staff@example.com", "group.value", &out, &v));
    free(out);
    assert_int_equal(v.count, 2);
    verr_cleanup(&v);
}

static void test_folders(void **state)
{
    (void)state;
    char why[128];
    assert_true(folder_path_valid("/Inbox", why, sizeof(why)));
    assert_true(folder_path_valid("/Inbox/Projects/2026 Q1", why, sizeof(why)));
    assert_true(folder_path_valid("/Posteingang/Übersicht", why, sizeof(why)));
    assert_false(folder_path_valid("Inbox", why, sizeof(why)));
    assert_false(folder_path_valid("/", why, sizeof(why)));
    assert_false(folder_path_valid("/Inbox/", why, sizeof(why)));
    assert_false(folder_path_valid("/Inbox//x", why, sizeof(why)));
    assert_false(folder_path_valid("/In\tbox", why, sizeof(why)));
    char longseg[300];
    longseg[0] = '/';
    memset(longseg + 1, 'x', 256);
    longseg[257] = '\0';
    assert_false(folder_path_valid(longseg, why, sizeof(why)));
    assert_true(folder_well_known("inbox") && folder_well_known("deleteditems"));
    assert_false(folder_well_known("Inbox") || folder_well_known("default"));
    assert_true(folder_path_same("/Inbox/ÜBER", "/inbox/über"));
    assert_false(folder_path_same("/Inbox/a", "/Inbox/b"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),    cmocka_unit_test(test_dns),
        cmocka_unit_test(test_mailbox_list), cmocka_unit_test(test_single_kinds),
        cmocka_unit_test(test_folders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
