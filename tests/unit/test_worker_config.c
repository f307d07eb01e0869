/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the worker configuration: file formats, environment overrides, secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_worker.h"

static char dir[64];

/* Writes text to a file in the test's temporary directory; returns its path (static). */
static const char *write_tmp(const char *name, const char *text)
{
    static char path[4][128];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/mse-worker-config.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Each test starts from an environment without MSE_WORKER_* variables. */
static void env_clear(void)
{
    static const char *const names[] = { "MSE_WORKER_CONFIG",       "MSE_WORKER_EWS_URL",
                                         "MSE_WORKER_SLOTS",        "MSE_WORKER_EWS_PASSWORD",
                                         "MSE_WORKER_EWS_AUTH",     "MSE_WORKER_NOPE",
                                         "MSE_WORKER_EWS_USERNAME", "MSE_WORKER_TLS_VERIFY",
                                         "MSE_WORKER_LOG_LEVEL" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unsetenv(names[i]);
}

static void test_defaults(void **state)
{
    (void)state;
    env_clear();
    struct worker_config c;
    struct mse_err err;
    assert_int_equal(worker_config_load(NULL, &c, &err), MSE_OK);
    assert_int_equal(c.ews_auth, EWS_AUTH_BASIC);
    assert_true(c.ews_impersonation);
    assert_true(c.tls_verify);
    assert_string_equal(c.ews_version, "Exchange2013_SP1");
    assert_int_equal(c.slots, 2);
    assert_int_equal(c.group_cache_ttl_s, 3600);
    assert_int_equal(c.ews_getitem_batch, 100);
    assert_int_equal(c.ews_max_response_bytes, 64 * 1024 * 1024);
    assert_null(c.ews_url);
    assert_int_equal(worker_config_require(&c, true, false, &err), MSE_ERR_INVALID);
    assert_string_equal(err.msg, "ews_url is not set: set ews_url in the configuration file, or "
                                 "MSE_WORKER_EWS_URL");
    worker_config_cleanup(&c);
}

static void test_file_and_env(void **state)
{
    (void)state;
    env_clear();
    const char *pw = write_tmp("pw", "p@ss word\n\n");
    char text[512];
    snprintf(text, sizeof(text),
             "# worker of site A\n"
             "ews_url = https://mail.example.com/EWS/Exchange.asmx\n"
             "ews_auth = NTLM\n"
             "ews_username = \"CORP\\\\svc-mse\"\n"
             "ews_password_file = %s\n"
             "slots = 4\n"
             "  tls_verify = off  \n"
             "group_cache_ttl = 60\n",
             pw);
    const char *path = write_tmp("worker.conf", text);
    setenv("MSE_WORKER_SLOTS", "8", 1); /* the environment wins over the file */
    struct worker_config c;
    struct mse_err err;
    assert_int_equal(worker_config_load(path, &c, &err), MSE_OK);
    assert_string_equal(c.ews_url, "https://mail.example.com/EWS/Exchange.asmx");
    assert_int_equal(c.ews_auth, EWS_AUTH_NTLM);
    assert_string_equal(c.ews_username, "CORP\\\\svc-mse");
    assert_string_equal(c.ews_password, "p@ss word");
    assert_int_equal(c.slots, 8);
    assert_false(c.tls_verify);
    assert_int_equal(c.group_cache_ttl_s, 60);
    assert_int_equal(worker_config_require(&c, true, false, &err), MSE_OK);
    assert_int_equal(worker_config_require(&c, false, true, &err), MSE_ERR_INVALID);
    struct ews_config e;
    worker_config_ews(&c, &e);
    assert_int_equal(e.auth, EWS_AUTH_NTLM);
    assert_false(e.tls_verify);
    assert_int_equal(e.timeout_ms, 300000);
    worker_config_cleanup(&c);
    unsetenv("MSE_WORKER_SLOTS");

    /* The same settings as JSON, found through MSE_WORKER_CONFIG. */
    const char *json = write_tmp(
            "worker.json", "{\"ews_url\": \"http://127.0.0.1:8081/EWS/Exchange.asmx\", "
                           "\"ews_auth\": \"bearer\", \"ews_bearer_token\": \"t0k\", "
                           "\"ews_impersonation\": false, \"slots\": 3, \"tls_ca_file\": null}");
    setenv("MSE_WORKER_CONFIG", json, 1);
    assert_int_equal(worker_config_load(NULL, &c, &err), MSE_OK);
    assert_int_equal(c.ews_auth, EWS_AUTH_BEARER);
    assert_string_equal(c.ews_bearer_token, "t0k");
    assert_false(c.ews_impersonation);
    assert_int_equal(c.slots, 3);
    assert_null(c.tls_ca_file);
    worker_config_cleanup(&c);
    unsetenv("MSE_WORKER_CONFIG");
}

struct bad_case {
    const char *file; /* NULL: no file */
    const char *env_name;
    const char *env_value;
    const char *expect; /* substring of the error */
};

static void test_errors_name_the_setting(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {
                "slots = 0\n",
                NULL,
                NULL,
                "slots (",
        },
        { "slots = many\n", NULL, NULL, "must be an integer from 1 to 64" },
        { "ews_auth = kerberos\n", NULL, NULL, "basic, ntlm, bearer or none" },
        { "ews_version = Exchange2019\n", NULL, NULL, "Exchange2013_SP1 or Exchange2016" },
        { "tls_verify = maybe\n", NULL, NULL, "true or false" },
        { "ews_urll = x\n", NULL, NULL, ":1: unknown setting \"ews_urll\"" },
        { "just words\n", NULL, NULL, ":1: expected key = value" },
        { "{\"slots\": 1.5}", NULL, NULL, "must be a string, an integer or a boolean" },
        { "{\"slots\": [1]}", NULL, NULL, "must be a string, an integer or a boolean" },
        { "{broken", NULL, NULL, "is not a JSON object" },
        { NULL, "MSE_WORKER_NOPE", "1", "MSE_WORKER_NOPE: unknown setting \"nope\"" },
        { NULL, "MSE_WORKER_LOG_LEVEL", "loud", "log_level (MSE_WORKER_LOG_LEVEL)" },
        { "ews_password = a\news_password_file = /dev/null\n", NULL, NULL, "not both" },
        { "ews_password_file = /nonexistent/pw\n", NULL, NULL, "cannot open /nonexistent/pw" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        env_clear();
        const struct bad_case *b = &cases[i];
        const char *path = b->file ? write_tmp("bad.conf", b->file) : NULL;
        if (b->env_name)
            setenv(b->env_name, b->env_value, 1);
        struct worker_config c;
        struct mse_err err;
        assert_int_equal(worker_config_load(path, &c, &err), MSE_ERR_INVALID);
        if (!strstr(err.msg, b->expect))
            fail_msg("case %zu: \"%s\" does not mention \"%s\"", i, err.msg, b->expect);
        assert_null(c.ews_password);
    }
    env_clear();
}

static void test_secrets_never_echoed(void **state)
{
    (void)state;
    env_clear();
    /* A bad value is quoted for plain settings; secrets are not validated, so never quoted. */
    const char *path = write_tmp("s.conf", "ews_password = hunter2\nslots = hunter3\n");
    struct worker_config c;
    struct mse_err err;
    assert_int_equal(worker_config_load(path, &c, &err), MSE_ERR_INVALID);
    assert_null(strstr(err.msg, "hunter2"));
    /* An empty secret file is an error, not an empty password. */
    const char *empty = write_tmp("empty", "\n");
    char text[256];
    snprintf(text, sizeof(text), "ews_password_file = %s\n", empty);
    path = write_tmp("e.conf", text);
    assert_int_equal(worker_config_load(path, &c, &err), MSE_ERR_INVALID);
    assert_non_null(strstr(err.msg, "is empty"));
}

static void test_bearer_token_reload(void **state)
{
    (void)state;
    env_clear();
    const char *tok = write_tmp("token", "first\n");
    char text[256];
    snprintf(text, sizeof(text), "ews_auth = bearer\news_bearer_token_file = %s\n", tok);
    const char *path = write_tmp("b.conf", text);
    struct worker_config c;
    struct mse_err err;
    assert_int_equal(worker_config_load(path, &c, &err), MSE_OK);
    assert_string_equal(c.ews_bearer_token, "first");
    write_tmp("token", "second");
    assert_int_equal(worker_config_reload_token(&c, &err), MSE_OK);
    assert_string_equal(c.ews_bearer_token, "second");
    assert_string_equal(c.ews_bearer_token_file, tok);
    /* Threads read their own copy, leaving the shared configuration alone. */
    write_tmp("token", "third\n");
    char *mine = NULL;
    assert_int_equal(worker_config_read_token(&c, &mine, &err), MSE_OK);
    assert_string_equal(mine, "third");
    assert_string_equal(c.ews_bearer_token, "second");
    free(mine);
    worker_config_cleanup(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_and_env),
        cmocka_unit_test(test_errors_name_the_setting),
        cmocka_unit_test(test_secrets_never_echoed),
        cmocka_unit_test(test_bearer_token_reload),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
