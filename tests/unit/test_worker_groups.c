/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for group resolution: lists, nested and cyclic groups, the TTL cache, ad_group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "groups.h"

/*
 * A directory in a table: each group lists its direct members as "type:address" (type M =
 * mailbox, D = distribution group, C = contact). It stands in for Exchange's ExpandDL answers;
 * the end-to-end tests resolve the same shapes through the real ews-sim.
 */
struct dir_group {
    const char *address;
    const char *members[8];
};

static const struct dir_group directory[] = {
    { "all@example.com",
      { "M:alice@example.com", "D:sales@example.com", "D:dev@example.com", "C:partner@other.org",
        "M:Alice@Example.com", "O:Guest@Partner.net" } },
    { "sales@example.com",
      { "M:bob@example.com", "M:carol@example.com", "D:all@example.com", "O:guest@partner.net" } },
    { "dev@example.com", { "M:dave@example.com", "D:sales@example.com", "D:ops@example.com" } },
    { "ops@example.com", { "M:erin@example.com", "D:ops@example.com" } },
    { "empty@example.com", { NULL } },
    { "broken@example.com", { "D:missing@example.com" } },
};

struct dir {
    unsigned calls;
};

static enum mse_rc dir_expand(void *ctx, const char *address, struct ews_people *out,
                              const char **reason, struct mse_err *err)
{
    struct dir *d = ctx;
    d->calls++;
    for (size_t i = 0; i < sizeof(directory) / sizeof(directory[0]); i++) {
        if (strcmp(directory[i].address, address) != 0)
            continue;
        size_t n = 0;
        while (n < 8 && directory[i].members[n])
            n++;
        out->v = calloc(n ? n : 1, sizeof(*out->v));
        out->n = n;
        for (size_t j = 0; j < n; j++) {
            const char *m = directory[i].members[j];
            out->v[j].email = strdup(m + 2);
            out->v[j].mailbox_type = strdup(m[0] == 'M'   ? "Mailbox"
                                            : m[0] == 'D' ? "PublicDL"
                                            : m[0] == 'O' ? "OneOff"
                                                          : "Contact");
        }
        return MSE_OK;
    }
    *reason = "group_not_found";
    snprintf(err->msg, sizeof(err->msg), "%s: ErrorNameResolutionNoResults", address);
    return MSE_ERR_UNAVAILABLE;
}

/* Resolves and returns the members joined with ',' (static buffer) or the reason on error. */
static const char *resolve(struct group_cache *c, struct dir *d, enum group_kind kind,
                           const char *value, enum mse_rc *rc, bool *cached)
{
    static char out[1024];
    struct group_expander x = { .expand = dir_expand, .ctx = d };
    struct group_members m;
    const char *reason;
    struct mse_err err;
    *rc = groups_resolve(c, kind, value, &x, &m, cached, &reason, &err);
    if (*rc != MSE_OK) {
        assert_int_equal(m.n, 0);
        snprintf(out, sizeof(out), "%s: %s", reason, err.msg);
        return out;
    }
    out[0] = '\0';
    for (size_t i = 0; i < m.n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, sizeof(out) - len, "%s%s", i ? "," : "", m.v[i]);
    }
    group_members_cleanup(&m);
    return out;
}

static void test_mailbox_kinds(void **state)
{
    (void)state;
    struct dir d = { 0 };
    enum mse_rc rc;
    bool cached;
    assert_string_equal(resolve(NULL, &d, GROUP_MAILBOX, "alice@example.com", &rc, &cached),
                        "alice@example.com");
    assert_int_equal(rc, MSE_OK);
    assert_string_equal(resolve(NULL, &d, GROUP_MAILBOX_LIST,
                                " a@example.com;b@example.com ; A@EXAMPLE.COM;;c@example.com ", &rc,
                                &cached),
                        "a@example.com,b@example.com,c@example.com");
    assert_string_equal(resolve(NULL, &d, GROUP_MAILBOX, "not an address", &rc, &cached),
                        "invalid_group: \"not an address\" is not a mailbox address");
    assert_int_equal(rc, MSE_ERR_INVALID);
    resolve(NULL, &d, GROUP_MAILBOX_LIST, " ; ", &rc, &cached);
    assert_int_equal(rc, MSE_ERR_INVALID);
    assert_int_equal(d.calls, 0); /* no EWS call for plain addresses */
    enum group_kind k;
    assert_int_equal(group_kind_parse("group_email", &k), MSE_OK);
    assert_int_equal(k, GROUP_EMAIL);
    assert_int_equal(group_kind_parse("Group_Email", &k), MSE_ERR_INVALID);
}

static void test_nested_cyclic_groups(void **state)
{
    (void)state;
    struct dir d = { 0 };
    enum mse_rc rc;
    bool cached;
    /*
     * all → sales → all (cycle), all → dev → sales (diamond) and dev → ops → ops (self-cycle):
     * every group is expanded once, contacts are skipped, duplicates (any case) removed.
     */
    assert_string_equal(resolve(NULL, &d, GROUP_EMAIL, "all@example.com", &rc, &cached),
                        "alice@example.com,bob@example.com,carol@example.com,"
                        "dave@example.com,erin@example.com");
    assert_int_equal(rc, MSE_OK);
    assert_int_equal(d.calls, 4);
    assert_string_equal(resolve(NULL, &d, GROUP_EMAIL, "empty@example.com", &rc, &cached), "");
    assert_int_equal(rc, MSE_OK);
}

/* Members that are not mailboxes are listed with why, once each, from the cache too. */
static void test_skipped_members(void **state)
{
    (void)state;
    struct dir d = { 0 };
    struct group_cache *c = group_cache_new(60000);
    struct group_expander x = { .expand = dir_expand, .ctx = &d };
    const char *reason;
    struct mse_err err;
    for (int round = 0; round < 2; round++) {
        struct group_members m;
        bool cached;
        assert_int_equal(
                groups_resolve(c, GROUP_EMAIL, "all@example.com", &x, &m, &cached, &reason, &err),
                MSE_OK);
        assert_int_equal(cached, round == 1);
        assert_int_equal(m.n, 5);
        assert_int_equal(m.skipped_total, 2);
        assert_int_equal(m.nskipped, 2);
        /* Depth first: sales (expanded within all) names the guest before all's contact. */
        assert_string_equal(m.skipped[0].address, "guest@partner.net");
        assert_string_equal(m.skipped[0].reason, "external");
        assert_string_equal(m.skipped[1].address, "partner@other.org");
        assert_string_equal(m.skipped[1].reason, "contact");
        group_members_cleanup(&m);
    }
    /* A plain list has nothing to skip. */
    struct group_members m;
    assert_int_equal(groups_resolve(c, GROUP_MAILBOX, "a@example.com", &x, &m, NULL, &reason, &err),
                     MSE_OK);
    assert_int_equal(m.skipped_total, 0);
    assert_null(m.skipped);
    group_members_cleanup(&m);
    group_cache_free(c);
}

static void test_group_errors(void **state)
{
    (void)state;
    struct dir d = { 0 };
    enum mse_rc rc;
    bool cached;
    assert_string_equal(resolve(NULL, &d, GROUP_EMAIL, "nobody@example.com", &rc, &cached),
                        "group_not_found: nobody@example.com: ErrorNameResolutionNoResults");
    assert_int_equal(rc, MSE_ERR_UNAVAILABLE);
    /* A nested group that cannot be expanded fails the whole resolution: no partial lists. */
    resolve(NULL, &d, GROUP_EMAIL, "broken@example.com", &rc, &cached);
    assert_int_equal(rc, MSE_ERR_UNAVAILABLE);
    assert_string_equal(resolve(NULL, &d, GROUP_AD, "CN=dlmmsgroup,CN=Users,DC=mcdev,DC=internal",
                                &rc, &cached),
                        "no_directory: no directory configured for this site");
    assert_int_equal(rc, MSE_ERR_UNAVAILABLE);
    assert_int_equal(d.calls, 3);
}

static void test_cache_ttl(void **state)
{
    (void)state;
    struct dir d = { 0 };
    enum mse_rc rc;
    bool cached;
    struct group_cache *c = group_cache_new(300);
    assert_non_null(c);
    const char *first = resolve(c, &d, GROUP_EMAIL, "sales@example.com", &rc, &cached);
    assert_false(cached);
    unsigned calls = d.calls;
    char copy[1024];
    snprintf(copy, sizeof(copy), "%s", first);
    /* Within the TTL the cache answers, whatever the case of the address. */
    assert_string_equal(resolve(c, &d, GROUP_EMAIL, "Sales@Example.com", &rc, &cached), copy);
    assert_true(cached);
    assert_int_equal(d.calls, calls);
    /* Failures are not cached. */
    resolve(c, &d, GROUP_EMAIL, "nobody@example.com", &rc, &cached);
    resolve(c, &d, GROUP_EMAIL, "nobody@example.com", &rc, &cached);
    assert_false(cached);
    /* After the TTL the group is expanded again. */
    struct timespec ts = { 0, 350 * 1000000L };
    nanosleep(&ts, NULL);
    calls = d.calls;
    assert_string_equal(resolve(c, &d, GROUP_EMAIL, "sales@example.com", &rc, &cached), copy);
    assert_false(cached);
    assert_true(d.calls > calls);
    group_cache_clear(c);
    resolve(c, &d, GROUP_EMAIL, "sales@example.com", &rc, &cached);
    assert_false(cached);
    group_cache_free(c);
    /* TTL 0 disables the cache. */
    c = group_cache_new(0);
    resolve(c, &d, GROUP_EMAIL, "sales@example.com", &rc, &cached);
    resolve(c, &d, GROUP_EMAIL, "sales@example.com", &rc, &cached);
    assert_false(cached);
    group_cache_free(c);
    group_cache_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mailbox_kinds),   cmocka_unit_test(test_nested_cyclic_groups),
        cmocka_unit_test(test_skipped_members), cmocka_unit_test(test_group_errors),
        cmocka_unit_test(test_cache_ttl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
