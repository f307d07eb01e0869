/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the worker's EWS error policy table and retry backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "backoff.h"
#include "ews_error.h"

struct code_case {
    const char *code;
    const char *inner;
    enum ews_action action;
    const char *reason;
};

/* What issue #6 asks for, one row per rule, plus the codes EWS-NOTES §4 lists. */
static const struct code_case code_cases[] = {
    { "NoError", NULL, EWS_ACT_OK, "" },
    { "ErrorServerBusy", NULL, EWS_ACT_RETRY_THROTTLED, "ews_throttled" },
    { "ErrorInternalServerError", "ErrorServerBusy", EWS_ACT_RETRY_THROTTLED, "ews_throttled" },
    { "ErrorInternalServerError", "", EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { "ErrorInternalServerError", "ErrorNoSuchThing", EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { "ErrorTooManyObjectsOpened", NULL, EWS_ACT_RETRY_THROTTLED, "ews_throttled" },
    { "ErrorMailboxStoreUnavailable", NULL, EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { "ErrorInternalServerTransientError", NULL, EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { "ErrorTimeoutExpired", NULL, EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { "ErrorInvalidSyncStateData", NULL, EWS_ACT_RESYNC, "sync_state_reset" },
    { "ErrorNonExistentMailbox", NULL, EWS_ACT_FAIL_MAILBOX, "ews_mailbox_not_found" },
    { "ErrorImpersonateUserDenied", NULL, EWS_ACT_FAIL_MAILBOX, "ews_impersonation_denied" },
    { "ErrorMailboxMoveInProgress", NULL, EWS_ACT_RETRY_LATER, "ews_mailbox_moving" },
    { "ErrorItemNotFound", NULL, EWS_ACT_ITEM_GONE, "ews_item_not_found" },
    { "ErrorSyncFolderNotFound", NULL, EWS_ACT_ITEM_GONE, "ews_folder_not_found" },
    { "ErrorSchemaValidation", NULL, EWS_ACT_FAIL, "ews_schema_validation" },
    { "ErrorInvalidServerVersion", NULL, EWS_ACT_FAIL, "ews_server_version" },
    { "ErrorSomethingNew", NULL, EWS_ACT_FAIL, "ews_error" },
    { "", NULL, EWS_ACT_FAIL, "ews_error" },
};

static void test_code_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(code_cases) / sizeof(code_cases[0]); i++) {
        const struct code_case *c = &code_cases[i];
        struct ews_policy p = ews_error_classify_code(c->code, c->inner);
        if (p.action != c->action || strcmp(p.reason, c->reason) != 0)
            fail_msg("%s/%s → %s %s, want %s %s", c->code, c->inner ? c->inner : "-",
                     ews_action_str(p.action), p.reason, ews_action_str(c->action), c->reason);
    }
}

struct http_case {
    enum ews_transport tr;
    long status;
    enum ews_action action;
    const char *reason;
};

static const struct http_case http_cases[] = {
    { EWS_TR_OK, 200, EWS_ACT_OK, "" },
    { EWS_TR_OK, 503, EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { EWS_TR_OK, 500, EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { EWS_TR_OK, 502, EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { EWS_TR_OK, 302, EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { EWS_TR_OK, 429, EWS_ACT_RETRY_THROTTLED, "ews_throttled" },
    { EWS_TR_OK, 401, EWS_ACT_RETRY_AUTH, "ews_unauthorized" },
    { EWS_TR_OK, 403, EWS_ACT_FAIL_MAILBOX, "ews_forbidden" },
    { EWS_TR_OK, 404, EWS_ACT_FAIL, "ews_endpoint_not_found" },
    { EWS_TR_OK, 400, EWS_ACT_FAIL, "ews_http_error" },
    { EWS_TR_TIMEOUT, 0, EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { EWS_TR_CONNECT, 0, EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { EWS_TR_CUT_OFF, 200, EWS_ACT_RETRY_TRANSIENT, "ews_unavailable" },
    { EWS_TR_TOO_LARGE, 200, EWS_ACT_FAIL, "ews_response_too_large" },
    { EWS_TR_TLS, 0, EWS_ACT_FAIL, "ews_tls" },
};

static void test_http_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(http_cases) / sizeof(http_cases[0]); i++) {
        const struct http_case *c = &http_cases[i];
        struct ews_policy p = ews_error_classify_http(c->tr, c->status);
        if (p.action != c->action || strcmp(p.reason, c->reason) != 0)
            fail_msg("transport %d HTTP %ld → %s %s", c->tr, c->status, ews_action_str(p.action),
                     p.reason);
    }
    assert_true(ews_action_retries(EWS_ACT_RETRY_AUTH));
    assert_false(ews_action_retries(EWS_ACT_RETRY_LATER));
    assert_false(ews_action_retries(EWS_ACT_RESYNC));
}

static void test_status_classification(void **state)
{
    (void)state;
    struct ews_status st;
    ews_status_init(&st);
    assert_int_equal(ews_error_classify_status(&st).action, EWS_ACT_OK);
    assert_int_equal(st.backoff_ms, -1);
    /* A warning with NoError is fine; an error class always has a code that decides. */
    st.cls = EWS_CLASS_ERROR;
    snprintf(st.code, sizeof(st.code), "ErrorServerBusy");
    assert_int_equal(ews_error_classify_status(&st).action, EWS_ACT_RETRY_THROTTLED);
    /* Severity order: a mailbox-level failure outranks everything it is seen with. */
    assert_true(EWS_ACT_FAIL_MAILBOX > EWS_ACT_RETRY_LATER);
    assert_true(EWS_ACT_RETRY_THROTTLED > EWS_ACT_RESYNC);
    assert_true(EWS_ACT_RESYNC > EWS_ACT_ITEM_GONE);
}

static void test_backoff_exponential_with_jitter_and_cap(void **state)
{
    (void)state;
    struct backoff b;
    backoff_init(&b, 100, 3000, 42);
    int64_t nominal = 100;
    for (int i = 0; i < 12; i++) {
        int64_t d = backoff_next(&b);
        int64_t want = nominal > 3000 ? 3000 : nominal;
        assert_true(d >= want - want / 2);
        assert_true(d <= want);
        nominal *= 2;
    }
    /* The cap holds forever, and reset starts over. */
    for (int i = 0; i < 100; i++)
        assert_true(backoff_next(&b) <= 3000);
    backoff_reset(&b);
    assert_true(backoff_next(&b) <= 100);
}

static void test_backoff_jitter_spreads(void **state)
{
    (void)state;
    /* Ten workers throttled together must not all come back at the same instant. */
    int64_t seen[10];
    size_t distinct = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct backoff b;
        backoff_init(&b, 1000, 60000, seed);
        int64_t d = backoff_next(&b);
        bool dup = false;
        for (size_t j = 0; j < distinct; j++)
            dup |= seen[j] == d;
        if (!dup)
            seen[distinct++] = d;
    }
    assert_true(distinct >= 8);
}

static void test_backoff_hint(void **state)
{
    (void)state;
    struct backoff b;
    backoff_init(&b, 100, 1000, 7);
    for (int i = 0; i < 50; i++) {
        int64_t d = backoff_hinted(&b, 30000, 300000);
        assert_true(d >= 30000 && d <= 33000); /* the server's wait, plus at most 10% */
    }
    assert_int_equal(backoff_hinted(&b, 600000, 300000), 300000);
    assert_int_equal(backoff_hinted(&b, 0, 300000), 0);
    int64_t d = backoff_hinted(&b, -1, 300000); /* no hint: exponential */
    assert_true(d >= 1 && d <= 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_table),
        cmocka_unit_test(test_http_table),
        cmocka_unit_test(test_status_classification),
        cmocka_unit_test(test_backoff_exponential_with_jitter_and_cap),
        cmocka_unit_test(test_backoff_jitter_spreads),
        cmocka_unit_test(test_backoff_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
