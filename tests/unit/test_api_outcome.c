/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for api_outcome.c: every lifecycle outcome has one answer, and the right one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api_outcome.h"
#include "mse/protocol.h"

static void test_every_outcome_answers(void **state)
{
    (void)state;
    for (int o = 0; o < EXEC_OUTCOME_COUNT; o++) {
        const struct api_outcome *a = api_outcome_of((enum exec_outcome)o);
        assert_non_null(exec_state_outcome_name((enum exec_outcome)o));
        if (a->status == 500)
            fail_msg("outcome %s has no row", exec_state_outcome_name((enum exec_outcome)o));
        assert_non_null(a->detail);
        /* Only what a worker must tell apart carries a type, and those are all 409s. */
        if (a->type)
            assert_int_equal(a->status, 409);
    }
    assert_int_equal(api_outcome_of(EXEC_OUTCOME_COUNT)->status, 500);
}

/* The answers the specification documents (api-spec/openapi.yaml), outcome by outcome. */
static void test_answers(void **state)
{
    (void)state;
    static const struct {
        enum exec_outcome o;
        unsigned status;
        const char *type;
    } want[] = {
        { EXO_NOTHING_QUEUED, 204, NULL },
        { EXO_NO_EXECUTION, 404, NULL },
        { EXO_LEASE_LOST, 409, MSE_PROBLEM_LEASE_LOST },
        { EXO_NOT_MEMBER, 422, NULL },
        { EXO_OUTSIDE_GROUP, 422, NULL },
        { EXO_MAILBOX_LOCKED, 409, MSE_PROBLEM_MAILBOX_LOCKED },
        { EXO_NOT_LOCKED, 409, MSE_PROBLEM_NOT_LOCKED },
        { EXO_CHECKPOINT_CONFLICT, 409, MSE_PROBLEM_CHECKPOINT_CONFLICT },
        { EXO_MISSING_CONTENT, 422, NULL },
        { EXO_NO_TASK, 404, NULL },
        { EXO_TASK_ACTIVE, 409, NULL },
        { EXO_TASK_DISABLED, 409, NULL },
        { EXO_NOT_ACTIVE, 409, NULL },
        { EXO_UNCLAIMABLE, 204, NULL },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct api_outcome *a = api_outcome_of(want[i].o);
        assert_int_equal(a->status, want[i].status);
        if (want[i].type)
            assert_string_equal(a->type, want[i].type);
        else
            assert_null(a->type);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_outcome_answers),
        cmocka_unit_test(test_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
