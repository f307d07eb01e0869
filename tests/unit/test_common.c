/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for common/: buffers, time, crypto, configuration parsing, log redaction. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "ids.h"
#include "log.h"
#include "timefmt.h"

static void test_buf_cap_is_all_or_nothing(void **state)
{
    (void)state;
    struct mse_buf b;
    mse_buf_init(&b, 8);
    assert_int_equal(mse_buf_puts(&b, "12345"), MSE_OK);
    assert_int_equal(mse_buf_puts(&b, "6789"), MSE_ERR_TOO_LARGE);
    assert_string_equal(b.data, "12345");
    assert_int_equal(mse_buf_printf(&b, "%d", 678), MSE_OK);
    assert_string_equal(b.data, "12345678");
    assert_int_equal(mse_buf_append(&b, "", 0), MSE_OK);
    assert_int_equal(mse_buf_append(&b, "x", 1), MSE_ERR_TOO_LARGE);
    /* The allocation has room to spare; the cap still holds, and nothing is left behind. */
    assert_int_equal(mse_buf_printf(&b, "%d", 9), MSE_ERR_TOO_LARGE);
    assert_string_equal(b.data, "12345678");
    assert_int_equal(b.len, 8);
    mse_buf_cleanup(&b);
    mse_buf_cleanup(NULL);
}

static void test_buf_printf_grows(void **state)
{
    (void)state;
    struct mse_buf b;
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    mse_buf_init(&b, 4096);
    assert_int_equal(mse_buf_printf(&b, "<%s>", "a"), MSE_OK);
    assert_int_equal(mse_buf_printf(&b, "%s|%d", big, 42), MSE_OK);
    assert_int_equal(b.len, 3 + 999 + 3);
    assert_memory_equal(b.data + 3 + 999, "|42", 4);
    assert_int_equal(mse_buf_printf(&b, "%s%s%s%s", big, big, big, big), MSE_ERR_TOO_LARGE);
    assert_int_equal(b.len, 3 + 999 + 3);
    assert_int_equal(b.data[b.len], '\0');
    mse_buf_cleanup(&b);
}

static void test_buf_json_escape(void **state)
{
    (void)state;
    struct mse_buf b;
    mse_buf_init(&b, 1024);
    assert_int_equal(mse_buf_json_escape(&b, "a\"b\\c\n\x01é"), MSE_OK);
    assert_string_equal(b.data, "a\\\"b\\\\c\\n\\u0001é");
    char *out;
    size_t len;
    assert_int_equal(mse_buf_take(&b, &out, &len), MSE_OK);
    assert_int_equal(len, strlen(out));
    assert_null(b.data);
    free(out);
    /* An escape that does not fit leaves the buffer as it was. */
    mse_buf_init(&b, 4);
    assert_int_equal(mse_buf_json_escape(&b, "\"\"\"\""), MSE_ERR_TOO_LARGE);
    assert_int_equal(b.len, 0);
    mse_buf_cleanup(&b);
}

static void test_time_parse_and_format(void **state)
{
    (void)state;
    time_t t;
    char out[32];
    assert_int_equal(mse_time_parse("2026-03-29T01:30:00Z", &t), MSE_OK);
    mse_time_format(t, out, sizeof(out));
    assert_string_equal(out, "2026-03-29T01:30:00Z");
    assert_int_equal(mse_time_parse("2026-03-29T03:30:00.250+02:00", &t), MSE_OK);
    mse_time_format(t, out, sizeof(out));
    assert_string_equal(out, "2026-03-29T01:30:00Z");
    assert_int_equal(mse_time_parse("2024-02-29T00:00:00Z", &t), MSE_OK);
    const char *bad[] = { "2023-02-29T00:00:00Z",
                          "2026-13-01T00:00:00Z",
                          "2026-01-01 00:00:00Z",
                          "2026-01-01T00:00:00",
                          "2026-01-01T24:00:00Z",
                          "2026-01-01T00:00:00Zx",
                          "",
                          "2026-01-01T00:00:00+2:00" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(mse_time_parse(bad[i], &t), MSE_ERR_INVALID);
}

static void test_crypto_password_roundtrip(void **state)
{
    (void)state;
    char hash[200];
    assert_int_equal(mse_crypto_password_hash("s3cret", 1000, hash, sizeof(hash)), MSE_OK);
    assert_true(mse_crypto_password_verify("s3cret", hash));
    assert_false(mse_crypto_password_verify("s3cres", hash));
    assert_false(mse_crypto_password_verify("s3cret", "pbkdf2-sha256$0$00$00"));
    assert_false(mse_crypto_password_verify("s3cret", "plain"));
    char other[200];
    assert_int_equal(mse_crypto_password_hash("s3cret", 1000, other, sizeof(other)), MSE_OK);
    assert_string_not_equal(hash, other); /* salted */
}

static void test_crypto_seal_open(void **state)
{
    (void)state;
    uint8_t key[MSE_AEAD_KEY_LEN];
    assert_int_equal(mse_crypto_random(key, sizeof(key)), MSE_OK);
    const char msg[] = "ews password";
    uint8_t sealed[sizeof(msg) + MSE_AEAD_OVERHEAD];
    uint8_t plain[sizeof(msg)];
    assert_int_equal(mse_crypto_seal(key, msg, sizeof(msg), "site:1", sealed), MSE_OK);
    assert_int_equal(mse_crypto_open(key, sealed, sizeof(sealed), "site:1", plain), MSE_OK);
    assert_memory_equal(plain, msg, sizeof(msg));
    /* Wrong context or a flipped bit must not open. */
    assert_int_not_equal(mse_crypto_open(key, sealed, sizeof(sealed), "site:2", plain), MSE_OK);
    sealed[14] ^= 1;
    assert_int_not_equal(mse_crypto_open(key, sealed, sizeof(sealed), "site:1", plain), MSE_OK);
}

static void test_crypto_encodings(void **state)
{
    (void)state;
    char hex[65];
    mse_crypto_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    char b64[16];
    mse_crypto_b64url("\xfb\xff", 2, b64, sizeof(b64));
    assert_string_equal(b64, "-_8");
    uint8_t *raw;
    size_t n;
    assert_int_equal(mse_crypto_b64_decode("aGVsbG8=", 8, &raw, &n), MSE_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(raw, "hello", 5);
    free(raw);
    assert_int_equal(mse_crypto_b64_decode("a$b", 3, &raw, &n), MSE_ERR_INVALID);
    /* base64url round trip, the cap, and what only the standard alphabet has. */
    assert_int_equal(mse_crypto_b64url_decode("-_8", 16, &raw, &n), MSE_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(raw, "\xfb\xff", 2);
    free(raw);
    assert_int_equal(mse_crypto_b64url_decode("aGVsbG8", 8, &raw, &n), MSE_OK);
    assert_memory_equal(raw, "hello", 5);
    free(raw);
    assert_int_equal(mse_crypto_b64url_decode("aGVsbG8", 7, &raw, &n), MSE_ERR_INVALID);
    assert_int_equal(mse_crypto_b64url_decode("", 8, &raw, &n), MSE_ERR_INVALID);
    assert_int_equal(mse_crypto_b64url_decode("+/8", 8, &raw, &n), MSE_ERR_INVALID);
    assert_int_equal(mse_crypto_b64url_decode("aGVsbG8=", 16, &raw, &n), MSE_ERR_INVALID);
    uint8_t two[2];
    assert_int_equal(mse_crypto_unhex("0aFf", two, 2), MSE_OK);
    assert_int_equal(two[1], 0xff);
    assert_int_equal(mse_crypto_unhex("0g00", two, 2), MSE_ERR_INVALID);
}

static void test_config_parsing(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(mse_parse_int("42", 0, 100, &v), MSE_OK);
    assert_int_equal(v, 42);
    assert_int_equal(mse_parse_int("42x", 0, 100, &v), MSE_ERR_INVALID);
    assert_int_equal(mse_parse_int("101", 0, 100, &v), MSE_ERR_INVALID);
    assert_int_equal(mse_parse_int("", 0, 100, &v), MSE_ERR_INVALID);
    char host[256];
    uint16_t port;
    assert_int_equal(mse_parse_hostport("127.0.0.1:8080", host, sizeof(host), &port), MSE_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(mse_parse_hostport("[::1]:0", host, sizeof(host), &port), MSE_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(mse_parse_hostport("nohost", host, sizeof(host), &port), MSE_ERR_INVALID);
    assert_int_equal(mse_parse_hostport(":80", host, sizeof(host), &port), MSE_ERR_INVALID);
    assert_int_equal(mse_parse_hostport("h:65536", host, sizeof(host), &port), MSE_ERR_INVALID);

    struct mse_err err = { { 0 } };
    setenv("MSE_UNIT_INT", "abc", 1);
    assert_int_equal(mse_env_int("MSE_UNIT_INT", 1, 0, 10, &v, &err), MSE_ERR_INVALID);
    assert_non_null(strstr(err.msg, "MSE_UNIT_INT"));
    unsetenv("MSE_UNIT_INT");
    assert_int_equal(mse_env_int("MSE_UNIT_INT", 7, 0, 10, &v, &err), MSE_OK);
    assert_int_equal(v, 7);
    bool b;
    setenv("MSE_UNIT_BOOL", "Yes", 1);
    assert_int_equal(mse_env_bool("MSE_UNIT_BOOL", false, &b, &err), MSE_OK);
    assert_true(b);
    setenv("MSE_UNIT_BOOL", "maybe", 1);
    assert_int_equal(mse_env_bool("MSE_UNIT_BOOL", false, &b, &err), MSE_ERR_INVALID);
}

static void test_log_redaction(void **state)
{
    (void)state;
    char a[] = "Authorization: Bearer abc.def123 next";
    assert_string_equal(mse_log_redact(a), "Authorization: Bearer ********** next");
    char b[] = "client_secret=hunter2&grant_type=client_credentials";
    assert_string_equal(mse_log_redact(b), "client_secret=*******&grant_type=client_credentials");
    char c[] = "{\"password\":\"pw\",\"name\":\"x\"}";
    assert_string_equal(mse_log_redact(c), "{\"password\":\"**\",\"name\":\"x\"}");
    char d[] = "nothing secret here: 42";
    assert_string_equal(mse_log_redact(d), "nothing secret here: 42");

    struct mse_log_ctx ctx = { { 0 } };
    mse_log_ctx_add(&ctx, "site", "s\"1");
    mse_log_ctx_add(&ctx, "token", "abc");
    assert_string_equal(ctx.fields, "\"site\":\"s\\\"1\",\"token\":\"[redacted]\"");
}

/* A warning repeated within the window is counted, and the next one written says how often. */
static void test_log_repeat_limit(void **state)
{
    (void)state;
    struct mse_log_repeat r = { 0 };
    unsigned n = 99;
    assert_true(mse_log_repeat_admit(&r, 1000, 10000, &n));
    assert_int_equal(n, 0);
    for (int i = 1; i <= 5; i++)
        assert_false(mse_log_repeat_admit(&r, 1000 + i * 1000, 10000, &n));
    assert_false(mse_log_repeat_admit(&r, 10999, 10000, &n));
    assert_true(mse_log_repeat_admit(&r, 11000, 10000, &n));
    assert_int_equal(n, 6);
    /* A quiet spell: the next line is written with nothing left out. */
    assert_true(mse_log_repeat_admit(&r, 60000, 10000, &n));
    assert_int_equal(n, 0);
    /* Window 0: every line. */
    struct mse_log_repeat all = { 0 };
    assert_true(mse_log_repeat_admit(&all, 5, 0, &n));
    assert_true(mse_log_repeat_admit(&all, 5, 0, &n));
    assert_int_equal(n, 0);
}

static void test_uuid(void **state)
{
    (void)state;
    char id[MSE_UUID_STR_LEN + 1];
    mse_uuid_new(id);
    assert_true(mse_uuid_valid(id));
    assert_int_equal(id[14], '4');
    /* Version 4, RFC 4122 variant, lowercase, and no two alike in a thousand. */
    char seen[1000][MSE_UUID_STR_LEN + 1];
    for (int i = 0; i < 1000; i++) {
        mse_uuid_new(seen[i]);
        assert_true(mse_uuid_valid(seen[i]));
        assert_int_equal(seen[i][14], '4');
        assert_non_null(strchr("89ab", seen[i][19]));
        for (const char *c = seen[i]; *c; c++)
            assert_false(isupper((unsigned char)*c));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
    }
    assert_true(mse_uuid_valid("6F9619FF-8B86-D011-B42D-00C04FC964FF"));
    assert_false(mse_uuid_valid("6F9619FF8B86-D011-B42D-00C04FC964FF0"));
    assert_false(mse_uuid_valid("not-a-uuid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_cap_is_all_or_nothing),
        cmocka_unit_test(test_buf_printf_grows),
        cmocka_unit_test(test_buf_json_escape),
        cmocka_unit_test(test_time_parse_and_format),
        cmocka_unit_test(test_crypto_password_roundtrip),
        cmocka_unit_test(test_crypto_seal_open),
        cmocka_unit_test(test_crypto_encodings),
        cmocka_unit_test(test_config_parsing),
        cmocka_unit_test(test_log_redaction),
        cmocka_unit_test(test_log_repeat_limit),
        cmocka_unit_test(test_uuid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
