/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the streaming MimeContent reader: cut anywhere, decoded, hashed, spooled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "crypto.h"
#include "mime_stream.h"

/* A message's bytes: every byte value, in a pattern that is not periodic in 3 or 4. */
static unsigned char *message_bytes(size_t n, unsigned seed)
{
    unsigned char *b = malloc(n ? n : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (unsigned char)(x >> 16);
    }
    return b;
}

/* Base64 in lines of 76 characters with CRLF, as Exchange writes it (wrapped or not). */
static char *base64_of(const unsigned char *b, size_t n, bool wrap)
{
    size_t raw = 4 * ((n + 2) / 3);
    char *flat = malloc(raw + 1);
    EVP_EncodeBlock((unsigned char *)flat, b, (int)n);
    if (!wrap)
        return flat;
    char *out = malloc(raw + 2 * (raw / 76 + 1) + 1);
    size_t o = 0;
    for (size_t i = 0; i < raw; i += 76) {
        size_t k = raw - i < 76 ? raw - i : 76;
        memcpy(out + o, flat + i, k);
        o += k;
        out[o++] = '\r';
        out[o++] = '\n';
    }
    out[o] = '\0';
    free(flat);
    return out;
}

#define ENVELOPE_HEAD                                                                              \
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>"                                                   \
    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"                   \
    "<m:GetItemResponse xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" " \
    "xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><m:ResponseMessages>"
#define ENVELOPE_TAIL "</m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>"

#define MESSAGE_FMT                                                                                \
    "<m:GetItemResponseMessage ResponseClass=\"Success\">"                                         \
    "<m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message>"                                 \
    "<t:MimeContent CharacterSet=\"UTF-8\">%s</t:MimeContent>"                                     \
    "<t:ItemId Id=\"id-%s\" ChangeKey=\"ck\"/><t:Subject>%s</t:Subject>"                           \
    "</t:Message></m:Items></m:GetItemResponseMessage>"

static char *message_xml(const char *subject, const char *b64)
{
    size_t n = sizeof(MESSAGE_FMT) + strlen(b64) + 2 * strlen(subject) + 1;
    char *s = malloc(n);
    snprintf(s, n, MESSAGE_FMT, b64, subject, subject);
    return s;
}

static const char gone_xml[] = "<m:GetItemResponseMessage ResponseClass=\"Error\">"
                               "<m:MessageText>gone</m:MessageText>"
                               "<m:ResponseCode>ErrorItemNotFound</m:ResponseCode>"
                               "<m:Items/></m:GetItemResponseMessage>";

/* A response of three messages: a message, one that is gone, a message. */
struct doc {
    char *xml;
    size_t len;
    unsigned char *m1, *m2;
    size_t n1, n2;
};

static void doc_make(struct doc *d, size_t n1, size_t n2, bool wrap)
{
    d->n1 = n1;
    d->n2 = n2;
    d->m1 = message_bytes(n1, 1);
    d->m2 = message_bytes(n2, 2);
    char *b1 = base64_of(d->m1, n1, wrap), *b2 = base64_of(d->m2, n2, wrap);
    char *x1 = message_xml("first", b1), *x3 = message_xml("third", b2);
    d->len = strlen(ENVELOPE_HEAD) + strlen(x1) + strlen(gone_xml) + strlen(x3) +
             strlen(ENVELOPE_TAIL);
    d->xml = malloc(d->len + 1);
    snprintf(d->xml, d->len + 1, "%s%s%s%s%s", ENVELOPE_HEAD, x1, gone_xml, x3, ENVELOPE_TAIL);
    free(b1);
    free(b2);
    free(x1);
    free(x3);
}

static void doc_free(struct doc *d)
{
    free(d->xml);
    free(d->m1);
    free(d->m2);
}

/* The spooled bytes of an extent equal want, and its hash is want's. */
static void assert_extent(const struct mime_stream *ms, unsigned message, const unsigned char *want,
                          size_t n)
{
    const struct mime_extent *e = mime_stream_find(ms, message);
    assert_non_null(e);
    assert_int_equal(e->size, n);
    char hex[65];
    mse_crypto_sha256_hex(want, n, hex);
    assert_string_equal(e->sha256, hex);
    unsigned char *got = malloc(n ? n : 1);
    assert_int_equal(pread(ms->fd, got, n, e->offset), (ssize_t)n);
    assert_memory_equal(got, want, n);
    free(got);
}

/* Feeds d in the given pieces and checks everything the stream must give. */
static void run_pieces(struct mime_stream *ms, const struct doc *d, const size_t *cuts,
                       size_t ncuts)
{
    assert_int_equal(mime_stream_begin(ms), MSE_OK);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : d->len;
        assert_int_equal(mime_stream_feed(ms, d->xml + at, to - at), MSE_OK);
        at = to;
    }
    const char *kept;
    size_t klen;
    assert_int_equal(mime_stream_finish(ms, &kept, &klen), MSE_OK);
    assert_int_equal(ms->n, 2);
    assert_null(mime_stream_find(ms, 1)); /* the message that is gone has no content */
    assert_extent(ms, 0, d->m1, d->n1);
    assert_extent(ms, 2, d->m2, d->n2);
    /* The kept document is the response without the MIME text, and still well-formed. */
    assert_true(klen < d->len - d->n1);
    assert_non_null(strstr(kept, "<t:Subject>third</t:Subject>"));
    assert_non_null(strstr(kept, "ErrorItemNotFound"));
    xmlDoc *doc = xmlReadMemory(kept, (int)klen, NULL, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    xmlFreeDoc(doc);
}

/* Every split into two pieces: inside tags, attributes, a base64 quadruple, a CRLF. */
static void test_every_split_point(void **state)
{
    (void)state;
    struct doc d;
    doc_make(&d, 301, 2, true);
    struct mime_stream ms;
    mime_stream_init(&ms, NULL, 0, 0);
    for (size_t cut = 0; cut <= d.len; cut++)
        run_pieces(&ms, &d, &cut, 1);
    mime_stream_cleanup(&ms);
    doc_free(&d);
}

/* Pieces of one size all along, from single bytes up, and odd sizes over a large message. */
static void test_piece_sizes(void **state)
{
    (void)state;
    struct doc d;
    doc_make(&d, 200000, 0, false);
    struct mime_stream ms;
    mime_stream_init(&ms, NULL, 0, 0);
    static const size_t sizes[] = { 1, 2, 3, 5, 7, 64, 4093, 65536, 1u << 21 };
    size_t *cuts = malloc((d.len + 1) * sizeof(size_t));
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t n = 0;
        for (size_t at = sizes[s]; at < d.len; at += sizes[s])
            cuts[n++] = at;
        run_pieces(&ms, &d, cuts, n);
    }
    free(cuts);
    mime_stream_cleanup(&ms);
    doc_free(&d);
}

/* A retry of the same response on the same stream starts over: nothing of the first remains. */
static void test_begin_again(void **state)
{
    (void)state;
    struct doc d;
    doc_make(&d, 5000, 17, true);
    struct mime_stream ms;
    mime_stream_init(&ms, NULL, 0, 0);
    assert_int_equal(mime_stream_begin(&ms), MSE_OK);
    assert_int_equal(mime_stream_feed(&ms, d.xml, d.len / 2), MSE_OK);
    run_pieces(&ms, &d, NULL, 0);
    mime_stream_cleanup(&ms);
    doc_free(&d);
}

/* Feeds text in one piece and finishes; returns what failed and leaves ms->err. */
static enum mse_rc feed_all(struct mime_stream *ms, const char *xml, size_t len)
{
    assert_int_equal(mime_stream_begin(ms), MSE_OK);
    enum mse_rc rc = mime_stream_feed(ms, xml, len);
    const char *kept;
    size_t klen;
    if (rc == MSE_OK)
        rc = mime_stream_finish(ms, &kept, &klen);
    return rc;
}

static void expect_invalid(const char *b64, const char *why)
{
    char *x = message_xml("bad", b64);
    size_t n = strlen(ENVELOPE_HEAD) + strlen(x) + strlen(ENVELOPE_TAIL) + 1;
    char *xml = malloc(n);
    snprintf(xml, n, "%s%s%s", ENVELOPE_HEAD, x, ENVELOPE_TAIL);
    struct mime_stream ms;
    mime_stream_init(&ms, NULL, 0, 0);
    assert_int_equal(feed_all(&ms, xml, strlen(xml)), MSE_ERR_INVALID);
    if (!strstr(ms.err, why))
        fail_msg("\"%s\": error \"%s\" does not say \"%s\"", b64, ms.err, why);
    /* Every later call says the same. */
    assert_int_equal(mime_stream_feed(&ms, "x", 1), MSE_ERR_INVALID);
    mime_stream_cleanup(&ms);
    free(xml);
    free(x);
}

static void test_wrong_base64(void **state)
{
    (void)state;
    expect_invalid("SGVsbG8*", "invalid base64");     /* not an alphabet character */
    expect_invalid("SGVs!bG8=", "invalid base64");    /* in the middle of a quadruple */
    expect_invalid("SGVsbG8=QUJD", "invalid base64"); /* data after the padding */
    expect_invalid("SGVs-bG8=", "invalid base64");    /* OpenSSL's PEM end mark */
    expect_invalid("SGVsbG8", "not complete base64"); /* cut inside the last quadruple */
    expect_invalid("SGVsbG8gd29ybGQ", "not complete base64");
    expect_invalid("SGVs<t:X/>bG8=", "inside MimeContent"); /* markup where text belongs */
}

static void test_broken_response(void **state)
{
    (void)state;
    struct doc d;
    doc_make(&d, 3000, 10, true);
    struct mime_stream ms;
    mime_stream_init(&ms, NULL, 0, 0);
    /* Cut off in the middle of the MIME text: the first message was not complete. */
    assert_int_equal(feed_all(&ms, d.xml, strlen(ENVELOPE_HEAD) + 400), MSE_ERR_INVALID);
    assert_true(ms.err[0]);
    /* Not XML at all (an HTML error page). */
    static const char html[] = "<html><body><p>Service unavailable</body></html>";
    assert_int_equal(feed_all(&ms, html, sizeof(html) - 1), MSE_ERR_INVALID);
    assert_non_null(strstr(ms.err, "malformed XML"));
    mime_stream_cleanup(&ms);
    doc_free(&d);
}

static void test_caps(void **state)
{
    (void)state;
    struct doc d;
    doc_make(&d, 10000, 10, true);
    struct mime_stream ms;
    mime_stream_init(&ms, NULL, 9999, 0); /* one byte short of the first message */
    assert_int_equal(feed_all(&ms, d.xml, d.len), MSE_ERR_TOO_LARGE);
    assert_non_null(strstr(ms.err, "exceeds 9999 bytes"));
    mime_stream_cleanup(&ms);
    mime_stream_init(&ms, NULL, 10000, 0); /* exactly the message: fine */
    assert_int_equal(feed_all(&ms, d.xml, d.len), MSE_OK);
    mime_stream_cleanup(&ms);
    /* The rest of the response is capped on its own: MIME text does not count. */
    mime_stream_init(&ms, NULL, 0, 600);
    assert_int_equal(feed_all(&ms, d.xml, d.len), MSE_ERR_TOO_LARGE);
    mime_stream_cleanup(&ms);
    mime_stream_init(&ms, NULL, 0, 2000);
    assert_int_equal(feed_all(&ms, d.xml, d.len), MSE_OK);
    mime_stream_cleanup(&ms);
    doc_free(&d);
}

/* A spool directory that cannot hold files is a clear I/O error at begin. */
static void test_spool_error(void **state)
{
    (void)state;
    struct mime_stream ms;
    mime_stream_init(&ms, "/nonexistent/spool", 0, 0);
    assert_int_equal(mime_stream_begin(&ms), MSE_ERR_IO);
    assert_non_null(strstr(ms.err, "/nonexistent/spool"));
    mime_stream_cleanup(&ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split_point), cmocka_unit_test(test_piece_sizes),
        cmocka_unit_test(test_begin_again),       cmocka_unit_test(test_wrong_base64),
        cmocka_unit_test(test_broken_response),   cmocka_unit_test(test_caps),
        cmocka_unit_test(test_spool_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
