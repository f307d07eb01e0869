/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for mime.c over a corpus of real-world-shaped messages (tests/unit/mime/):
 * header fields, addresses, attachments with their hashes, body text, and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "crypto.h"
#include "mime.h"

/* The corpus file's bytes (malloc'd, *len set). */
static char *corpus(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", MSE_MIME_CORPUS, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* Parses a corpus file; asserts the outcome. */
static void parse_file(const char *name, struct mime_message *m, enum mime_outcome want)
{
    size_t len;
    char *data = corpus(name, &len);
    enum mime_outcome outcome;
    assert_int_equal(mime_parse(data, len, m, &outcome), MSE_OK);
    free(data);
    if (outcome != want)
        fail_msg("%s: outcome %d, want %d", name, outcome, want);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("\"%s\" not found in \"%s\"", needle, hay ? hay : "(null)");
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle))
        fail_msg("\"%s\" should not be in \"%s\"", needle, hay);
}

static void sha256_of(const char *s, size_t n, char out[65])
{
    mse_crypto_sha256_hex(s, n, out);
}

static void test_plain(void **state)
{
    (void)state;
    struct mime_message m;
    parse_file("plain.eml", &m, MIME_PARSED);
    assert_string_equal(m.message_id, "20261201091500.4F2A1@contoso.example");
    assert_string_equal(m.in_reply_to, "prev-1@contoso.example");
    assert_int_equal(m.nreferences, 2);
    assert_string_equal(m.references[0], "root-0@contoso.example");
    assert_string_equal(m.references[1], "prev-1@contoso.example");
    /* RFC 2047 base64 subject, decoded. */
    assert_string_equal(m.subject, "Quarterly figures \xe2\x80\x94 draft");
    assert_true(m.has_date);
    assert_int_equal(m.date, 1796112900); /* 2026-12-01T08:15:00Z */
    assert_int_equal(m.from.n, 1);
    assert_string_equal(m.from.v[0].name, "Alice Example");
    assert_string_equal(m.from.v[0].email, "Alice@Contoso.Example");
    assert_int_equal(m.to.n, 2);
    assert_string_equal(m.to.v[0].email, "bob@contoso.example");
    assert_string_equal(m.to.v[0].name, "Bob");
    assert_string_equal(m.to.v[1].email, "carol@fabrikam.example");
    assert_int_equal(m.cc.n, 1);
    assert_string_equal(m.cc.v[0].name, "J\xc3\xbcrgen M\xc3\xbcller");
    assert_int_equal(m.bcc.n, 0);
    assert_false(m.has_attachments);
    assert_int_equal(m.nattachments, 0);
    /* Quoted-printable UTF-8, decoded. */
    assert_contains(m.text, "quarterly figures are attached");
    assert_contains(m.text, "Gr\xc3\xbc\xc3\x9f"
                            "e");
    assert_int_equal(m.text_len, strlen(m.text));
    mime_message_cleanup(&m);
}

static void test_alternative_prefers_plain(void **state)
{
    (void)state;
    struct mime_message m;
    parse_file("alternative.eml", &m, MIME_PARSED);
    assert_contains(m.text, "snowshoes at half price");
    /* The HTML alternative says the same: indexing it too would only repeat the text. */
    assert_lacks(m.text, "HTMLONLYWORD");
    assert_lacks(m.text, "multi-part message"); /* the preamble is not a part */
    assert_int_equal(m.to.n, 0);                /* an empty group */
    assert_false(m.has_attachments);
    mime_message_cleanup(&m);
}

static void test_html_to_text(void **state)
{
    (void)state;
    struct mime_message m;
    parse_file("html_only.eml", &m, MIME_PARSED);
    assert_contains(m.text, "Agenda");
    assert_contains(m.text, "Budget\xc2\xa0review"); /* &nbsp; is U+00A0 */
    assert_contains(m.text, "Caf\xc3\xa9 & cake");   /* ISO-8859-1 and an entity */
    assert_contains(m.text, "Next steps");
    assert_lacks(m.text, "HIDDENTITLE");
    assert_lacks(m.text, "hiddenstyle");
    assert_lacks(m.text, "hiddenscript");
    assert_lacks(m.text, "<li>");
    /* List items are lines of their own, not run together. */
    assert_contains(m.text, "review\n");
    /* Group members are recipients; Bcc is read when the journal has it. */
    assert_int_equal(m.to.n, 2);
    assert_string_equal(m.to.v[0].email, "alice@contoso.example");
    assert_string_equal(m.to.v[1].email, "dan@contoso.example");
    assert_string_equal(m.to.v[1].name, "Dan D.");
    assert_int_equal(m.bcc.n, 1);
    assert_string_equal(m.bcc.v[0].email, "audit@contoso.example");
    assert_null(m.message_id);
    mime_message_cleanup(&m);
}

static void test_attachments(void **state)
{
    (void)state;
    struct mime_message m;
    parse_file("mixed.eml", &m, MIME_PARSED);
    assert_int_equal(m.sender.n, 1);
    assert_string_equal(m.sender.v[0].email, "assistant@fabrikam.example");
    assert_contains(m.text, "Please sign the contract.");
    assert_true(m.has_attachments);
    assert_int_equal(m.nattachments, 4);
    char want[65];
    /* The inline image of multipart/related: not body text, so an attachment (as EWS says). */
    assert_string_equal(m.attachments[0].content_type, "image/png");
    assert_string_equal(m.attachments[0].name, "");
    assert_int_equal(m.attachments[0].size, 8);
    sha256_of("\x89PNG\r\n\x1a\n", 8, want);
    assert_string_equal(m.attachments[0].sha256, want);
    assert_string_equal(m.attachments[1].name, "contract.pdf");
    assert_string_equal(m.attachments[1].content_type, "application/pdf");
    assert_int_equal(m.attachments[1].size, 12);
    sha256_of("hello world\n", 12, want);
    assert_string_equal(m.attachments[1].sha256, want);
    /* A text part with a file name is a file; RFC 2231 name decoded. */
    assert_string_equal(m.attachments[2].name, "Notiz f\xc3\xbcr Bob.txt");
    assert_string_equal(m.attachments[2].content_type, "text/plain");
    assert_lacks(m.text, "notes");
    /* A forwarded message: one attachment named after its subject, not indexed as body. */
    assert_string_equal(m.attachments[3].content_type, "message/rfc822");
    assert_string_equal(m.attachments[3].name, "Original request");
    assert_true(m.attachments[3].size > 60);
    assert_lacks(m.text, "Can you send");
    mime_message_cleanup(&m);
}

static void test_eight_bit_and_bad_date(void **state)
{
    (void)state;
    struct mime_message m;
    parse_file("eightbit.eml", &m, MIME_PARSED);
    /* Raw Latin-1 in a header: GMime's fallback charsets turn it into valid UTF-8. */
    assert_non_null(m.subject);
    assert_true(g_utf8_validate(m.subject, -1, NULL));
    assert_contains(m.subject, "8-bit header");
    assert_false(m.has_date); /* unparseable: the archive uses the arrival time */
    assert_contains(m.text, "Prix: 5\xe2\x82\xac"); /* windows-1252 0x80 is the euro sign */
    mime_message_cleanup(&m);
}

static void test_refusals(void **state)
{
    (void)state;
    struct mime_message m;
    enum mime_outcome outcome;
    assert_int_equal(mime_parse("", 0, &m, &outcome), MSE_OK);
    assert_int_equal(outcome, MIME_EMPTY);
    parse_file("junk.bin", &m, MIME_NOT_MESSAGE);
    assert_null(m.subject);
    parse_file("no_from.eml", &m, MIME_NO_ORIGINATOR);
    assert_null(m.subject); /* nothing is left behind for a refused message */
    assert_non_null(mime_outcome_detail(MIME_NO_ORIGINATOR));
    assert_non_null(strstr(mime_outcome_detail(MIME_NOT_MESSAGE), "RFC 5322"));
    mime_message_cleanup(&m);
}

static void test_malformed_but_readable(void **state)
{
    (void)state;
    struct mime_message m;
    /* A multipart without its boundary parameter: read as one opaque part, not lost. */
    parse_file("no_boundary.eml", &m, MIME_PARSED);
    assert_string_equal(m.subject, "Broken multipart");
    assert_true(m.warnings > 0);
    mime_message_cleanup(&m);
    /* Truncated in the middle of an attachment: what arrived is kept and hashed. */
    parse_file("truncated.eml", &m, MIME_PARSED);
    assert_contains(m.text, "TRUNCATEDBODY");
    assert_int_equal(m.nattachments, 1);
    assert_string_equal(m.attachments[0].name, "big.bin");
    assert_int_equal(m.attachments[0].size, 9);
    mime_message_cleanup(&m);
}

/* Generated hostile shapes: deep nesting, many parts, huge text, NUL bytes. */
static void test_hostile(void **state)
{
    (void)state;
    GString *s = g_string_new("From: a@b.example\nSubject: deep\nContent-Type: multipart/mixed; "
                              "boundary=\"b0\"\n\n");
    for (int i = 1; i < 2000; i++)
        g_string_append_printf(s, "--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n",
                               i - 1, i);
    g_string_append(s, "--b1999\nContent-Type: text/plain\n\nDEEPTEXT\n");
    struct mime_message m;
    enum mime_outcome outcome;
    assert_int_equal(mime_parse(s->str, s->len, &m, &outcome), MSE_OK);
    assert_int_equal(outcome, MIME_PARSED);
    mime_message_cleanup(&m);

    g_string_assign(s, "From: a@b.example\nContent-Type: multipart/mixed; boundary=\"x\"\n\n");
    for (int i = 0; i < MSE_MAX_MIME_ATTACHMENTS + 50; i++)
        g_string_append(s, "--x\nContent-Type: application/octet-stream\n\nAAAA\n");
    g_string_append(s, "--x--\n");
    assert_int_equal(mime_parse(s->str, s->len, &m, &outcome), MSE_OK);
    assert_int_equal(outcome, MIME_PARSED);
    assert_true(m.has_attachments);
    assert_int_equal(m.nattachments, MSE_MAX_MIME_ATTACHMENTS);
    mime_message_cleanup(&m);

    /* Text beyond the cap is cut at a character boundary. */
    g_string_assign(s, "From: a@b.example\nContent-Type: text/plain; charset=utf-8\n\n");
    for (size_t i = 0; i < MSE_MAX_MIME_TEXT; i++)
        g_string_append(s, "\xc3\xa9");
    assert_int_equal(mime_parse(s->str, s->len, &m, &outcome), MSE_OK);
    assert_true(m.text_truncated);
    assert_true(m.text_len <= MSE_MAX_MIME_TEXT);
    assert_true(g_utf8_validate(m.text, (gssize)m.text_len, NULL));
    mime_message_cleanup(&m);

    /* NUL bytes and invalid UTF-8 never reach the output (PostgreSQL text holds neither). */
    static const char nul[] = "From: a@b.example\nSubject: x\xff\x00y\nTo: \x00\n\nbo\x00dy\xff\n";
    assert_int_equal(mime_parse(nul, sizeof(nul) - 1, &m, &outcome), MSE_OK);
    assert_int_equal(outcome, MIME_PARSED);
    assert_true(g_utf8_validate(m.subject, -1, NULL));
    assert_true(g_utf8_validate(m.text, (gssize)m.text_len, NULL));
    assert_int_equal(strlen(m.text), m.text_len);
    mime_message_cleanup(&m);

    /* Every prefix of a real message parses without a crash (ASan watches). */
    size_t len;
    char *data = corpus("mixed.eml", &len);
    for (size_t cut = 0; cut <= len; cut++) {
        assert_int_equal(mime_parse(data, cut, &m, &outcome), MSE_OK);
        mime_message_cleanup(&m);
    }
    free(data);
    g_string_free(s, TRUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_alternative_prefers_plain),
        cmocka_unit_test(test_html_to_text),
        cmocka_unit_test(test_attachments),
        cmocka_unit_test(test_eight_bit_and_bad_date),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_malformed_but_readable),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
