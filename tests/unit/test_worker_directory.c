/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the directory's pure helpers: Active Directory's ranged attribute names,
 * the primary proxyAddresses entry, the disabled bit; and ad_group through groups_resolve with
 * a table for a directory (cache, refresh, dedup, errors passed on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "directory.h"
#include "groups.h"

static void test_range_names(void **state)
{
    (void)state;
    bool ranged;
    long low = 7, high = 7;
    assert_true(directory_range_parse("member", "member", &ranged, &low, &high));
    assert_false(ranged);
    assert_true(directory_range_parse("member;range=0-1499", "member", &ranged, &low, &high));
    assert_true(ranged);
    assert_int_equal(low, 0);
    assert_int_equal(high, 1499);
    assert_true(directory_range_parse("Member;Range=1500-*", "member", &ranged, &low, &high));
    assert_true(ranged);
    assert_int_equal(low, 1500);
    assert_int_equal(high, -1);
    /* Other attributes, and ranges that are not two ordered numbers, are not member values. */
    const char *bad[] = { "memberOf",         "members",           "member;range=",
                          "member;range=5",   "member;range=9-3",  "member;range=-1-5",
                          "member;range=a-*", "member;range=0-1x", "member;binary" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(directory_range_parse(bad[i], "member", &ranged, &low, &high));
}

static void test_proxy_primary(void **state)
{
    (void)state;
    const char *v[] = { "smtp:alias@contoso.example", "X500:/o=Contoso/cn=x",
                        "SMTP:primary@contoso.example", "SMTP:second@contoso.example" };
    assert_string_equal(directory_proxy_primary(v, 4), "primary@contoso.example");
    /* Secondary (lower-case) addresses alone give no mailbox address. */
    assert_null(directory_proxy_primary(v, 2));
    const char *empty[] = { "SMTP:" };
    assert_null(directory_proxy_primary(empty, 1));
    assert_null(directory_proxy_primary(NULL, 0));
}

static void test_uac(void **state)
{
    (void)state;
    assert_true(directory_uac_disabled("514"));
    assert_true(directory_uac_disabled("66050")); /* DONT_EXPIRE_PASSWORD | ACCOUNTDISABLE */
    assert_false(directory_uac_disabled("512"));
    assert_false(directory_uac_disabled("66048"));
    assert_false(directory_uac_disabled("x"));
    assert_false(directory_uac_disabled(NULL));
}

/* A directory in a table, counting its calls. */
struct fake_dir {
    unsigned calls;
    const char *members[4];
    enum mse_rc rc;
};

static enum mse_rc fake_resolve(void *dctx, const char *dn, char ***addresses, size_t *n,
                                struct group_skipped **excluded, size_t *nexcluded,
                                const char **reason, struct mse_err *err)
{
    struct fake_dir *d = dctx;
    d->calls++;
    *excluded = NULL;
    *nexcluded = 0;
    if (d->rc != MSE_OK) {
        *reason = "group_not_found";
        snprintf(err->msg, sizeof(err->msg), "group %s does not exist in the directory", dn);
        return d->rc;
    }
    *n = 0;
    *addresses = calloc(4, sizeof(char *));
    for (size_t i = 0; i < 4 && d->members[i]; i++)
        (*addresses)[(*n)++] = strdup(d->members[i]);
    /* One disabled user, reported twice (two groups name it): listed once. */
    *excluded = calloc(2, sizeof(**excluded));
    for (size_t i = 0; i < 2; i++)
        (*excluded)[i] =
                (struct group_skipped){ NULL, strdup("CN=Kira,OU=Staff,DC=contoso"), "disabled" };
    *nexcluded = 2;
    return MSE_OK;
}

static void test_ad_group_cache_refresh(void **state)
{
    (void)state;
    const char *dn = "CN=Sales,OU=Groups,DC=contoso,DC=example";
    struct fake_dir d = { 0,
                          { "a@contoso.example", "b@contoso.example", "A@contoso.example" },
                          MSE_OK };
    struct group_expander x = { .directory = fake_resolve, .dctx = &d };
    struct group_cache *c = group_cache_new(3600 * 1000);
    struct group_members m;
    const char *reason;
    struct mse_err err;
    bool cached = true;
    assert_int_equal(groups_resolve(c, GROUP_AD, dn, &x, &m, &cached, &reason, &err), MSE_OK);
    assert_false(cached);
    assert_int_equal(m.n, 2); /* the repeated address counts once */
    assert_int_equal(m.skipped_total, 1);
    assert_int_equal(m.nskipped, 1);
    assert_null(m.skipped[0].address);
    assert_string_equal(m.skipped[0].dn, "CN=Kira,OU=Staff,DC=contoso");
    assert_string_equal(m.skipped[0].reason, "disabled");
    group_members_cleanup(&m);
    /* A second run within the hour is answered from the cache, a refresh asks again. */
    assert_int_equal(groups_resolve(c, GROUP_AD, dn, &x, &m, &cached, &reason, &err), MSE_OK);
    assert_true(cached);
    assert_int_equal(d.calls, 1);
    group_members_cleanup(&m);
    group_cache_drop(c, GROUP_AD, dn);
    d.members[2] = "c@contoso.example";
    assert_int_equal(groups_resolve(c, GROUP_AD, dn, &x, &m, &cached, &reason, &err), MSE_OK);
    assert_false(cached);
    assert_int_equal(m.n, 3);
    assert_int_equal(d.calls, 2);
    group_members_cleanup(&m);
    /* An error keeps its reason and text; nothing is cached from it. */
    group_cache_drop(c, GROUP_AD, dn);
    d.rc = MSE_ERR_NOT_FOUND;
    assert_int_equal(groups_resolve(c, GROUP_AD, dn, &x, &m, &cached, &reason, &err),
                     MSE_ERR_NOT_FOUND);
    assert_string_equal(reason, "group_not_found");
    assert_non_null(strstr(err.msg, dn));
    assert_int_equal(m.n, 0);
    /* Without a directory, the old answer. */
    struct group_expander none = { 0 };
    assert_int_equal(groups_resolve(c, GROUP_AD, dn, &none, &m, &cached, &reason, &err),
                     MSE_ERR_UNAVAILABLE);
    assert_string_equal(reason, "no_directory");
    group_cache_free(c);
}

static void test_resolve_refuses_bad_dn(void **state)
{
    (void)state;
    struct directory_config cfg = { .urls = "ldap://127.0.0.1:1" };
    struct directory_members m;
    const char *reason = "";
    struct mse_err err;
    assert_int_equal(directory_resolve(&cfg, "not a dn", &m, &reason, &err), MSE_ERR_INVALID);
    assert_string_equal(reason, "invalid_group");
    assert_int_equal(m.addresses.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_names),
        cmocka_unit_test(test_proxy_primary),
        cmocka_unit_test(test_uac),
        cmocka_unit_test(test_ad_group_cache_refresh),
        cmocka_unit_test(test_resolve_refuses_bad_dn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
