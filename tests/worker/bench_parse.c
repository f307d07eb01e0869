/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Measures SyncFolderItems page parsing: items per second for a 512-change page, libxml2's
 * peak memory while streaming it compared with building the whole DOM, and what the parsed
 * page occupies. Run by hand (bench_worker_parse [iterations]); not a test.
 */
#include <libxml/parser.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "ews_sync.h"
#include "timefmt.h"

/* libxml2 allocations go through these, so their current and peak size can be watched. */
static size_t xml_now, xml_peak;

struct hdr {
    size_t size;
    size_t pad; /* keeps the payload 16-byte aligned */
};

static void *track_malloc(size_t n)
{
    struct hdr *h = malloc(sizeof(*h) + n);
    if (!h)
        return NULL;
    h->size = n;
    xml_now += n;
    if (xml_now > xml_peak)
        xml_peak = xml_now;
    return h + 1;
}

static void track_free(void *p)
{
    if (!p)
        return;
    struct hdr *h = (struct hdr *)p - 1;
    xml_now -= h->size;
    free(h);
}

static void *track_realloc(void *p, size_t n)
{
    if (!p)
        return track_malloc(n);
    struct hdr *h = (struct hdr *)p - 1;
    size_t old = h->size;
    struct hdr *q = realloc(h, sizeof(*q) + n);
    if (!q)
        return NULL;
    q->size = n;
    xml_now = xml_now - old + n;
    if (xml_now > xml_peak)
        xml_peak = xml_now;
    return q + 1;
}

static char *track_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = track_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* A realistic page: 512 created messages with every property the worker asks the sync for. */
static char *page_make(size_t *len)
{
    struct mse_buf b;
    mse_buf_init(&b, 16u * 1024u * 1024u);
    int ok = mse_buf_puts(&b,
                          "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope "
                          "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
                          "<m:SyncFolderItemsResponse xmlns:m=\"" EWS_NS_M "\" xmlns:t=\"" EWS_NS_T
                          "\"><m:ResponseMessages><m:SyncFolderItemsResponseMessage "
                          "ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>"
                          "<m:SyncState>H4sIAAAAAAAEAO29B2AcSZliYgLx</m:SyncState>"
                          "<m:IncludesLastItemInRange>false</m:IncludesLastItemInRange>"
                          "<m:Changes>") == MSE_OK;
    for (int i = 0; ok && i < 512; i++) {
        ok = mse_buf_printf(
                     &b,
                     "<t:Create><t:Message><t:ItemId Id=\"AAMkADc3MWUyMGQ5LTEwNmYtNDJiOC1hNGI0LT"
                     "I3ZGZhNzVkNTg4ZQBGAAAAAAAQ7i%06dAAA=\" ChangeKey=\"CQAAABYAAAB%06d\"/>"
                     "<t:ParentFolderId Id=\"AAMkADc3MWUyMGQ5LTEwNmYtNDJiOC1hNGI0LTI3ZGZhNzVkNTg4"
                     "ZQAuAAAAAAAQ7iAAA=\"/><t:ItemClass>IPM.Note</t:ItemClass><t:Subject>Re: "
                     "quarterly planning for the northern region, item %d</t:Subject>"
                     "<t:Sensitivity>Normal</t:Sensitivity><t:DateTimeReceived>2024-05-%02dT08:"
                     "30:00Z</t:DateTimeReceived><t:Size>%d</t:Size><t:DateTimeSent>2024-05-%02dT"
                     "08:29:58Z</t:DateTimeSent><t:HasAttachments>%s</t:HasAttachments>"
                     "<t:Sender><t:Mailbox><t:Name>Alice Example</t:Name><t:EmailAddress>"
                     "alice@example.com</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType>"
                     "</t:Mailbox></t:Sender><t:From><t:Mailbox><t:Name>Alice Example</t:Name>"
                     "<t:EmailAddress>alice@example.com</t:EmailAddress><t:RoutingType>SMTP"
                     "</t:RoutingType></t:Mailbox></t:From><t:InternetMessageId>&lt;%d.%d@mail."
                     "example.com&gt;</t:InternetMessageId><t:IsRead>%s</t:IsRead></t:Message>"
                     "</t:Create>",
                     i, i, i, i % 28 + 1, 4000 + i * 17, i % 28 + 1, i % 5 ? "false" : "true", i,
                     i * 7, i % 3 ? "true" : "false") == MSE_OK;
    }
    ok = ok && mse_buf_puts(&b, "</m:Changes></m:SyncFolderItemsResponseMessage>"
                                "</m:ResponseMessages></m:SyncFolderItemsResponse></s:Body>"
                                "</s:Envelope>") == MSE_OK;
    char *out = NULL;
    if (!ok || mse_buf_take(&b, &out, len) != MSE_OK) {
        mse_buf_cleanup(&b);
        return NULL;
    }
    return out;
}

int main(int argc, char **argv)
{
    int64_t iterations = 200;
    if (argc > 1 && mse_parse_int(argv[1], 1, 1000000, &iterations) != MSE_OK)
        return 2;
    xmlMemSetup(track_free, track_malloc, track_realloc, track_strdup);
    xmlInitParser();
    size_t len;
    char *xml = page_make(&len);
    if (!xml)
        return 2;

    /* Throughput: parse the page repeatedly into structs. */
    int64_t t0 = mse_time_mono_us();
    for (int64_t i = 0; i < iterations; i++) {
        struct ews_items_page p = { 0 };
        struct ews_reply r;
        struct mse_err err;
        if (ews_sync_items_parse(xml, len, &p, &r, &err) != MSE_OK || p.n != 512) {
            fprintf(stderr, "parse failed: %s\n", err.msg);
            return 1;
        }
        ews_items_page_cleanup(&p);
    }
    double secs = (double)(mse_time_mono_us() - t0) / 1e6;

    /* Memory: libxml2's peak while streaming, and the parsed page's own size. */
    xml_peak = xml_now;
    size_t base = xml_now;
    struct mallinfo2 before = mallinfo2();
    struct ews_items_page p = { 0 };
    struct ews_reply r;
    struct mse_err err;
    if (ews_sync_items_parse(xml, len, &p, &r, &err) != MSE_OK)
        return 1;
    size_t stream_peak = xml_peak - base;
    struct mallinfo2 after = mallinfo2();
    size_t page_bytes = after.uordblks - before.uordblks;
    ews_items_page_cleanup(&p);

    /* For comparison: the whole response as one DOM. */
    xml_peak = xml_now;
    base = xml_now;
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
    size_t dom_peak = xml_peak - base;
    xmlFreeDoc(doc);

    printf("{\"page_changes\": 512, \"response_bytes\": %zu, \"iterations\": %lld,"
           " \"items_per_second\": %.0f, \"ms_per_page\": %.3f,"
           " \"libxml2_peak_bytes_streaming\": %zu, \"libxml2_peak_bytes_dom\": %zu,"
           " \"parsed_page_bytes\": %zu, \"bytes_per_item\": %zu}\n",
           len, (long long)iterations, 512.0 * (double)iterations / secs,
           secs * 1000.0 / (double)iterations, stream_peak, dom_peak, page_bytes, page_bytes / 512);
    free(xml);
    xmlCleanupParser();
    return 0;
}
