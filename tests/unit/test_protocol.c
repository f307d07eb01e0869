/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The worker protocol's shared constants against their documentation: every problem type and
 * field cap of mse/protocol.h is in docs/worker.md's tables, and the specification names every
 * problem type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mse/protocol.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s", path);
    char *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static const char *const problems[] = {
    MSE_PROBLEM_LEASE_LOST,
    MSE_PROBLEM_MAILBOX_LOCKED,
    MSE_PROBLEM_CHECKPOINT_CONFLICT,
    MSE_PROBLEM_NOT_LOCKED,
};

static void test_problem_types_documented(void **state)
{
    (void)state;
    char *doc = slurp(MSE_SOURCE_DIR "/docs/worker.md");
    char *spec = slurp(MSE_SOURCE_DIR "/api-spec/openapi.yaml");
    for (size_t i = 0; i < sizeof(problems) / sizeof(problems[0]); i++) {
        char row[128];
        snprintf(row, sizeof(row), "| `%s` | 409 |", problems[i]);
        if (!strstr(doc, row))
            fail_msg("docs/worker.md has no row for %s", problems[i]);
        if (!strstr(spec, problems[i]))
            fail_msg("api-spec/openapi.yaml does not name %s", problems[i]);
    }
    /* And the table lists no type the header lacks. */
    unsigned rows = 0;
    for (const char *p = doc; (p = strstr(p, "| `urn:mse:problem:")); p++)
        rows++;
    assert_int_equal(rows, sizeof(problems) / sizeof(problems[0]));
    free(doc);
    free(spec);
}

static void test_caps_documented(void **state)
{
    (void)state;
    static const struct {
        const char *field;
        unsigned cap;
        const char *unit;
    } caps[] = {
        { "`worker_id`", MSE_PROTO_MAX_WORKER_ID, "" },
        { "`version`", MSE_PROTO_MAX_VERSION, "" },
        { "`host`", MSE_PROTO_MAX_HOST, "" },
        { "heartbeat `executions[]`", MSE_PROTO_MAX_HB_EXECUTIONS, " entries" },
        { "`reason_code`", MSE_PROTO_MAX_REASON_CODE, "" },
        { "`reason_text`", MSE_PROTO_MAX_REASON_TEXT, "" },
        { "`command`", MSE_PROTO_MAX_COMMAND, "" },
        { "`latest_detail`", MSE_PROTO_MAX_DETAIL, "" },
        { "claim `wait_seconds`", MSE_PROTO_MAX_CLAIM_WAIT, " seconds" },
        { "confirmations `items[]`", MSE_PROTO_MAX_CONFIRMATIONS, " entries" },
        { "`internet_message_id`", MSE_PROTO_MAX_MESSAGE_ID, "" },
    };
    char *doc = slurp(MSE_SOURCE_DIR "/docs/worker.md");
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        char row[128];
        snprintf(row, sizeof(row), "| %s | %u%s |", caps[i].field, caps[i].cap, caps[i].unit);
        if (!strstr(doc, row))
            fail_msg("docs/worker.md has no row \"%s\"", row);
    }
    free(doc);
}

static void test_paths(void **state)
{
    (void)state;
    assert_string_equal(MSE_WORKER_HEARTBEAT, "/api/v1/worker/heartbeat");
    assert_string_equal(MSE_WORKER_CLAIMS, "/api/v1/worker/claims");
    char *spec = slurp(MSE_SOURCE_DIR "/api-spec/openapi.yaml");
    static const char *const paths[] = {
        MSE_WORKER_HEARTBEAT ":", MSE_WORKER_CLAIMS ":",
        MSE_WORKER_EXECUTIONS "/{id}/complete:", MSE_WORKER_ATTACHMENTS "/{sha256}:",
        MSE_WORKER_EXECUTIONS "/{id}/mailboxes/{address}" MSE_WORKER_CONFIRMATIONS ":"
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (!strstr(spec, paths[i]))
            fail_msg("api-spec/openapi.yaml has no path %s", paths[i]);
    free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_problem_types_documented),
        cmocka_unit_test(test_caps_documented),
        cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
