/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for mse-journal's settings and its exit codes (journal/journal.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal.h"

static const char *const vars[] = { "MSE_JOURNAL_URL",
                                    "MSE_JOURNAL_CLIENT_ID",
                                    "MSE_JOURNAL_CLIENT_SECRET",
                                    "MSE_JOURNAL_CLIENT_SECRET_FILE",
                                    "MSE_JOURNAL_CA_FILE",
                                    "MSE_JOURNAL_TIMEOUT",
                                    NULL };

static int clear_env(void **state)
{
    (void)state;
    for (const char *const *v = vars; *v; v++)
        unsetenv(*v);
    return 0;
}

/* A temporary file holding text; its path in out. */
static void temp_file(const char *text, char out[64])
{
    snprintf(out, 64, "%s/mse-journal-test-XXXXXX", P_tmpdir);
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_config_file(void **state)
{
    (void)state;
    char secret[64], conf[64], text[256];
    temp_file("s3cret-from-file-0123\n", secret);
    snprintf(text, sizeof(text),
             "# mse-journal settings\n"
             "MSE_JOURNAL_URL=http://127.0.0.1:8080/\n"
             "  MSE_JOURNAL_CLIENT_ID=mta-journal\n"
             "MSE_JOURNAL_CLIENT_SECRET_FILE=%s\n"
             "\n"
             "MSE_JOURNAL_TIMEOUT=15\n",
             secret);
    temp_file(text, conf);
    struct journal_config cfg;
    struct mse_err err = { "" };
    assert_int_equal(journal_config_load(conf, &cfg, &err), MSE_OK);
    assert_string_equal(cfg.url, "http://127.0.0.1:8080"); /* trailing slash dropped */
    assert_string_equal(cfg.client_id, "mta-journal");
    assert_string_equal(cfg.client_secret, "s3cret-from-file-0123");
    assert_int_equal(cfg.timeout_s, 15);
    /* The environment overrides the file. */
    setenv("MSE_JOURNAL_CLIENT_ID", "other-client", 1);
    assert_int_equal(journal_config_load(conf, &cfg, &err), MSE_OK);
    assert_string_equal(cfg.client_id, "other-client");
    unlink(secret);
    unlink(conf);
}

static void test_config_errors(void **state)
{
    (void)state;
    struct journal_config cfg;
    struct mse_err err = { "" };
    assert_int_equal(journal_config_load(NULL, &cfg, &err), MSE_ERR_INVALID);
    assert_non_null(strstr(err.msg, "MSE_JOURNAL_URL"));
    setenv("MSE_JOURNAL_URL", "http://127.0.0.1:1", 1);
    setenv("MSE_JOURNAL_CLIENT_ID", "x", 1);
    assert_int_equal(journal_config_load(NULL, &cfg, &err), MSE_ERR_INVALID);
    assert_non_null(strstr(err.msg, "MSE_JOURNAL_CLIENT_SECRET"));
    /* A bad line is named by its number, never by its value (it may hold the secret). */
    char conf[64];
    setenv("MSE_JOURNAL_CLIENT_SECRET", "topsecretvalue-42", 1);
    temp_file("MSE_JOURNAL_URL=http://x\nCLIENT_SECRET=topsecretvalue-42\n", conf);
    assert_int_equal(journal_config_load(conf, &cfg, &err), MSE_ERR_INVALID);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_null(strstr(err.msg, "topsecretvalue"));
    unlink(conf);
    setenv("MSE_JOURNAL_TIMEOUT", "0", 1);
    assert_int_equal(journal_config_load(NULL, &cfg, &err), MSE_ERR_INVALID);
    assert_non_null(strstr(err.msg, "MSE_JOURNAL_TIMEOUT"));
    assert_int_equal(journal_config_load("/nonexistent/journal.conf", &cfg, &err), MSE_ERR_INVALID);
}

static void test_exit_codes(void **state)
{
    (void)state;
    static const struct {
        long status;
        enum journal_exit want;
    } cases[] = {
        { 201, JOURNAL_EX_OK },       { 200, JOURNAL_EX_OK },       { 400, JOURNAL_EX_DATAERR },
        { 413, JOURNAL_EX_DATAERR },  { 415, JOURNAL_EX_DATAERR },  { 422, JOURNAL_EX_DATAERR },
        { 0, JOURNAL_EX_TEMPFAIL },   { 401, JOURNAL_EX_TEMPFAIL }, { 403, JOURNAL_EX_TEMPFAIL },
        { 404, JOURNAL_EX_TEMPFAIL }, { 429, JOURNAL_EX_TEMPFAIL }, { 500, JOURNAL_EX_TEMPFAIL },
        { 503, JOURNAL_EX_TEMPFAIL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct journal_result res = { .status = cases[i].status };
        if (journal_exit_code(&res) != cases[i].want)
            fail_msg("HTTP %ld: exit %d, want %d", cases[i].status, journal_exit_code(&res),
                     cases[i].want);
    }
    /* sendmail's values, which the MTA reads. */
    assert_int_equal(JOURNAL_EX_TEMPFAIL, 75);
    assert_int_equal(JOURNAL_EX_DATAERR, 65);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_file, clear_env),
        cmocka_unit_test_setup(test_config_errors, clear_env),
        cmocka_unit_test_setup(test_exit_codes, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
