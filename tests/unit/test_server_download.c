/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for download.c: media types, Content-Disposition file names, If-None-Match, Range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "download.h"

static void test_media_types(void **state)
{
    (void)state;
    const char *good[] = {
        "text/plain",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/plain; charset=utf-8",
        "text/plain;charset=\"utf-8\"",
        "multipart/mixed; boundary=\"a b;c\"; x=y",
        "image/svg+xml",
        "text/plain;"
    };
    const char *bad[] = { NULL,
                          "",
                          "text",
                          "text/",
                          "/plain",
                          "text/plain\r\nSet-Cookie: a=b",
                          "text/plain\nX: y",
                          "text /plain",
                          "text/plain charset=utf-8",
                          "text/plain; charset",
                          "text/plain; charset=",
                          "text/plain; charset=\"open",
                          "text/pl\xc3\xa4in",
                          "text/plain; name=\"gr\xc3\xbc\xc3\x9f\"",
                          "text/plain; a=\"\\\"" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!download_media_type_ok(good[i]))
            fail_msg("%s should be accepted", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (download_media_type_ok(bad[i]))
            fail_msg("\"%s\" should be refused", bad[i] ? bad[i] : "(null)");
    }
}

static void test_disposition(void **state)
{
    (void)state;
    char out[DOWNLOAD_DISPOSITION_MAX];
    download_disposition(NULL, out);
    assert_string_equal(out, "attachment");
    download_disposition("", out);
    assert_string_equal(out, "attachment");
    download_disposition("agenda.pdf", out);
    assert_string_equal(out, "attachment; filename=\"agenda.pdf\"; filename*=UTF-8''agenda.pdf");
    /* Quotes, backslashes, '%', '/' and non-ASCII never reach the quoted stand-in. */
    download_disposition("gr\xc3\xbc\xc3\x9f"
                         "e \"x\"\\a%b/c.txt",
                         out);
    assert_string_equal(out, "attachment; filename=\"gr__e _x__a_b_c.txt\"; "
                             "filename*=UTF-8''gr%C3%BC%C3%9Fe%20%22x%22%5Ca%25b%2Fc.txt");
    /* Header injection: control characters become '_' and percent-escapes. */
    download_disposition("a\r\nSet-Cookie: x", out);
    assert_null(strchr(out, '\r'));
    assert_null(strchr(out, '\n'));
    assert_string_equal(out, "attachment; filename=\"a__Set-Cookie: x\"; "
                             "filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x");
    /* Invalid UTF-8 ends the name where it starts. */
    download_disposition("ok\xff\xfe.exe", out);
    assert_string_equal(out, "attachment; filename=\"ok\"; filename*=UTF-8''ok");
    download_disposition("\xff", out);
    assert_string_equal(out, "attachment");
}

static void test_disposition_long_names(void **state)
{
    (void)state;
    char name[2048], out[DOWNLOAD_DISPOSITION_MAX];
    /* 600 two-byte characters: cut at 255 bytes, i.e. after 127 whole characters. */
    for (int i = 0; i < 600; i++)
        memcpy(name + 2 * i, "\xc3\xa4", 2);
    name[1200] = '\0';
    download_disposition(name, out);
    assert_true(strlen(out) < sizeof(out));
    const char *star = strstr(out, "UTF-8''");
    assert_non_null(star);
    assert_int_equal(strlen(star + 7), 127 * 6); /* %C3%A4 per character */
    const char *quoted = strstr(out, "filename=\"") + 10;
    assert_int_equal(strcspn(quoted, "\""), 127);
    /* The worst case fits: 255 bytes that all need escaping. */
    memset(name, '\x01', 255);
    name[255] = '\0';
    download_disposition(name, out);
    assert_true(strlen(out) < sizeof(out));
    assert_int_equal(strlen(strstr(out, "UTF-8''") + 7), 255 * 3);
}

static void test_none_match(void **state)
{
    (void)state;
    const char *tag = "\"2cf24dba\"";
    assert_false(download_none_match(NULL, tag));
    assert_true(download_none_match("\"2cf24dba\"", tag));
    assert_true(download_none_match("W/\"2cf24dba\"", tag)); /* weak comparison */
    assert_true(download_none_match("\"x\", \"2cf24dba\"", tag));
    assert_true(download_none_match("  \"x\" ,W/\"2cf24dba\"  ", tag));
    assert_true(download_none_match("*", tag));
    assert_true(download_none_match(" * ", tag));
    assert_false(download_none_match("\"2cf24dbb\"", tag));
    assert_false(download_none_match("\"2cf24db\"", tag));
    assert_false(download_none_match("2cf24dba", tag)); /* unquoted: malformed */
    assert_false(download_none_match("", tag));
    assert_false(download_none_match("*, \"2cf24dba\"", tag));
    assert_false(download_none_match("\"2cf24dba\" \"x\"", tag));
    assert_false(download_none_match("\"2cf24dba", tag));
    assert_false(download_none_match("\"2cf 24dba\"", tag));
}

/* A table: header, If-Range, size → result and the range it selects. */
static void test_range(void **state)
{
    (void)state;
    const char *tag = "\"abc\"";
    static const struct {
        const char *range, *if_range;
        int64_t size;
        enum download_range want;
        int64_t first, last;
    } cases[] = {
        { NULL, NULL, 100, DOWNLOAD_RANGE_FULL, 0, 0 },
        { "bytes=0-9", NULL, 100, DOWNLOAD_RANGE_PARTIAL, 0, 9 },
        { "bytes=10-", NULL, 100, DOWNLOAD_RANGE_PARTIAL, 10, 99 },
        { "bytes=-5", NULL, 100, DOWNLOAD_RANGE_PARTIAL, 95, 99 },
        { "bytes=-500", NULL, 100, DOWNLOAD_RANGE_PARTIAL, 0, 99 },
        { "bytes=90-1000", NULL, 100, DOWNLOAD_RANGE_PARTIAL, 90, 99 },
        { "bytes=99-99", NULL, 100, DOWNLOAD_RANGE_PARTIAL, 99, 99 },
        { "BYTES=1-2", NULL, 100, DOWNLOAD_RANGE_PARTIAL, 1, 2 },
        { "bytes=0-99999999999999999999999", NULL, 100, DOWNLOAD_RANGE_PARTIAL, 0, 99 },
        { "bytes=100-", NULL, 100, DOWNLOAD_RANGE_UNSATISFIABLE, 0, 0 },
        { "bytes=99999999999999999999-", NULL, 100, DOWNLOAD_RANGE_UNSATISFIABLE, 0, 0 },
        { "bytes=-0", NULL, 100, DOWNLOAD_RANGE_UNSATISFIABLE, 0, 0 },
        { "bytes=0-", NULL, 0, DOWNLOAD_RANGE_UNSATISFIABLE, 0, 0 },
        { "bytes=-1", NULL, 0, DOWNLOAD_RANGE_UNSATISFIABLE, 0, 0 },
        /* Ignored: served whole. */
        { "bytes=9-1", NULL, 100, DOWNLOAD_RANGE_FULL, 0, 0 },
        { "bytes=0-1,5-6", NULL, 100, DOWNLOAD_RANGE_FULL, 0, 0 },
        { "bytes=", NULL, 100, DOWNLOAD_RANGE_FULL, 0, 0 },
        { "bytes=a-b", NULL, 100, DOWNLOAD_RANGE_FULL, 0, 0 },
        { "bytes=1", NULL, 100, DOWNLOAD_RANGE_FULL, 0, 0 },
        { "items=0-1", NULL, 100, DOWNLOAD_RANGE_FULL, 0, 0 },
        { "bytes=--1", NULL, 100, DOWNLOAD_RANGE_FULL, 0, 0 },
        /* If-Range: only the current strong tag keeps the range. */
        { "bytes=0-1", "\"abc\"", 100, DOWNLOAD_RANGE_PARTIAL, 0, 1 },
        { "bytes=0-1", "\"old\"", 100, DOWNLOAD_RANGE_FULL, 0, 0 },
        { "bytes=0-1", "W/\"abc\"", 100, DOWNLOAD_RANGE_FULL, 0, 0 },
        { "bytes=0-1", "Thu, 01 Jan 2026 00:00:00 GMT", 100, DOWNLOAD_RANGE_FULL, 0, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t first = -1, last = -1;
        enum download_range got = download_range(cases[i].range, cases[i].if_range, tag,
                                                 cases[i].size, &first, &last);
        if (got != cases[i].want)
            print_error("case %zu: %s\n", i, cases[i].range ? cases[i].range : "(none)");
        assert_int_equal(got, cases[i].want);
        if (got == DOWNLOAD_RANGE_PARTIAL) {
            assert_int_equal(first, cases[i].first);
            assert_int_equal(last, cases[i].last);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_media_types),
        cmocka_unit_test(test_disposition),
        cmocka_unit_test(test_disposition_long_names),
        cmocka_unit_test(test_none_match),
        cmocka_unit_test(test_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
