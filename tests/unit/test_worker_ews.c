/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the worker's EWS requests (schema-valid) and responses (canned → records). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "ews.h"
#include "ews_attach.h"
#include "ews_dl.h"
#include "ews_find.h"
#include "ews_folder.h"
#include "ews_item.h"
#include "ews_sync.h"
#include "sync_json.h"

#ifndef MSE_TEST_DIR
#error "MSE_TEST_DIR must name tests/worker"
#endif

/* Reads a file under tests/worker; the caller frees it. */
static char *read_file(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", MSE_TEST_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail_msg("cannot open %s", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Schema validation of built requests ------------------------------------------------------ */

static xmlSchemaPtr envelope_schema;
static xmlSchemaPtr messages_schema;

static xmlSchemaPtr schema_load(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/schema/%s", MSE_TEST_DIR, rel);
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
    xmlSchemaPtr s = pc ? xmlSchemaParse(pc) : NULL;
    xmlSchemaFreeParserCtxt(pc);
    return s;
}

static int schemas_setup(void **state)
{
    (void)state;
    envelope_schema = schema_load("ews-envelope.xsd");
    messages_schema = schema_load("messages.xsd");
    return envelope_schema && messages_schema ? 0 : -1;
}

static int schemas_teardown(void **state)
{
    (void)state;
    xmlSchemaFree(envelope_schema);
    xmlSchemaFree(messages_schema);
    return 0;
}

static void quiet_errors(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* 0 when xml is a valid envelope whose body holds exactly one element named op. */
static int envelope_check(const char *xml, size_t len, const char *op, bool verbose)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
    if (!doc)
        return -1;
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(envelope_schema);
    if (!verbose)
        xmlSchemaSetValidErrors(vc, quiet_errors, quiet_errors, NULL);
    int ret = xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    /* The envelope schema accepts any body element; check the operation's name ourselves. */
    xmlNode *body = ews_xml_child(xmlDocGetRootElement(doc), EWS_NS_SOAP, "Body");
    xmlNode *first = ews_xml_first_elem(body);
    if (ret == 0 && (!ews_xml_is(first, EWS_NS_M, op) || ews_xml_next_elem(first)))
        ret = -2;
    xmlFreeDoc(doc);
    return ret;
}

/* Builds op with args in every addressing mode and validates each envelope. */
static void build_and_validate(const struct ews_op *op, const void *args)
{
    const char *modes[][3] = {
        { "Exchange2013_SP1", NULL, NULL },
        { "Exchange2016", "user1@example.com", NULL },
        { "Exchange2013_SP1", NULL, "user1@example.com" },
    };
    for (size_t i = 0; i < 3; i++) {
        struct ews_xml_writer wr;
        const char *xml;
        size_t len;
        assert_int_equal(ews_xml_writer_init(&wr), MSE_OK);
        assert_int_equal(
                ews_request_build(&wr, op, args, modes[i][0], modes[i][1], modes[i][2], &xml, &len),
                MSE_OK);
        int ret = envelope_check(xml, len, op->name, true);
        if (ret != 0)
            fail_msg("%s (mode %zu) is not schema-valid (%d):\n%.*s", op->name, i, ret, (int)len,
                     xml);
        if (modes[i][1])
            assert_non_null(strstr(xml, "<t:PrimarySmtpAddress>user1@example.com<"));
        ews_xml_writer_cleanup(&wr);
    }
}

static const char *const msg_fields[] = { "item:ItemClass", "item:Subject", "item:Sensitivity",
                                          "message:IsRead", "message:From" };

static void test_requests_are_schema_valid(void **state)
{
    (void)state;
    const struct ews_op sfh = { .name = "SyncFolderHierarchy", .build = ews_sync_hierarchy_build };
    const char *const ffields[] = { "folder:DisplayName", "folder:FolderClass",
                                    "folder:ParentFolderId", "folder:TotalCount" };
    struct ews_sync_hierarchy_args ha = { "msgfolderroot", NULL, ffields, 4 };
    build_and_validate(&sfh, &ha);
    ha.sync_state = "H4sIAAAAAAAEAGNgYGBk<&>";
    build_and_validate(&sfh, &ha);

    const struct ews_op sfi = { .name = "SyncFolderItems", .build = ews_sync_items_build };
    struct ews_sync_items_args ia = { "AAMkADc3MWUy", NULL, NULL, 512, msg_fields, 5 };
    build_and_validate(&sfi, &ia);
    ia.folder_id = NULL;
    ia.distinguished = "inbox";
    ia.sync_state = "H4sIAAAAAAAEAO29B2AcSZ";
    ia.max_changes = 1;
    build_and_validate(&sfi, &ia);

    const struct ews_op gi = { .name = "GetItem", .build = ews_get_items_build };
    const char *const ids[] = { "AAMkAGI1", "AAMkAGI2\"'<" };
    const char *const cal_fields[] = { "calendar:RequiredAttendees", "calendar:Recurrence",
                                       "item:Attachments" };
    struct ews_get_items_args ga = { ids, 2, cal_fields, 3, false };
    build_and_validate(&gi, &ga);
    ga.mime = true; /* sync & recover: IncludeMimeContent sits between BaseShape and the fields */
    build_and_validate(&gi, &ga);

    const struct ews_op gf = { .name = "GetFolder", .build = ews_get_folders_build };
    const char *const dist[] = { "msgfolderroot", "deleteditems", "calendar" };
    struct ews_get_folders_args fa = { dist, 3, ffields, 2 };
    build_and_validate(&gf, &fa);

    const struct ews_op ga_op = { .name = "GetAttachment", .build = ews_get_attachment_build };
    struct ews_get_attachment_args aa = { "AAMkAtt1" };
    build_and_validate(&ga_op, &aa);

    const struct ews_op dl = { .name = "ExpandDL", .build = ews_expand_dl_build };
    struct ews_expand_dl_args da = { "team@example.com" };
    build_and_validate(&dl, &da);

    /* Storage management: the candidates' restriction in each of its shapes, and deletion. */
    const struct ews_op fi = { .name = "FindItem", .build = ews_find_items_build };
    const char *const find_fields[] = { "item:Size", "item:DateTimeReceived",
                                        "message:InternetMessageId", "message:From" };
    struct ews_find_items_args fia = {
        "AAMkADc3MWUy", "2026-01-01T00:00:00Z", 0, false, 0, 500, find_fields, 4
    };
    build_and_validate(&fi, &fia);
    fia.min_size = 102400;
    fia.with_attachments = true;
    fia.offset = 1000;
    build_and_validate(&fi, &fia);

    const struct ews_op di = { .name = "DeleteItem", .build = ews_delete_items_build };
    struct ews_delete_items_args dia = { ids, 2, false };
    build_and_validate(&di, &dia);
    dia.hard = true;
    build_and_validate(&di, &dia);
}

/* The validator really rejects what the schema forbids: the checks above can fail. */
static void test_schema_check_rejects_invalid(void **state)
{
    (void)state;
    const struct ews_op sfi = { .name = "SyncFolderItems", .build = ews_sync_items_build };
    struct ews_sync_items_args ia = { NULL, "Inbox", NULL, 512, NULL, 0 }; /* ids are lower-case */
    struct ews_xml_writer wr;
    const char *xml;
    size_t len;
    assert_int_equal(ews_xml_writer_init(&wr), MSE_OK);
    assert_int_equal(ews_request_build(&wr, &sfi, &ia, "Exchange2013_SP1", NULL, NULL, &xml, &len),
                     MSE_OK);
    assert_int_not_equal(envelope_check(xml, len, "SyncFolderItems", false), 0);
    ews_xml_writer_cleanup(&wr);

    ia.distinguished = "inbox";
    ia.max_changes = 513;
    assert_int_equal(ews_xml_writer_init(&wr), MSE_OK);
    assert_int_equal(ews_request_build(&wr, &sfi, &ia, "Exchange2013_SP1", NULL, NULL, &xml, &len),
                     MSE_OK);
    assert_int_not_equal(envelope_check(xml, len, "SyncFolderItems", false), 0);
    ews_xml_writer_cleanup(&wr);
    /* A wrong operation name is caught too. */
    ia.max_changes = 512;
    assert_int_equal(ews_xml_writer_init(&wr), MSE_OK);
    assert_int_equal(ews_request_build(&wr, &sfi, &ia, "Exchange2013_SP1", NULL, NULL, &xml, &len),
                     MSE_OK);
    assert_int_equal(envelope_check(xml, len, "SyncFolderItems", false), 0);
    assert_int_equal(envelope_check(xml, len, "GetItem", false), -2);
    ews_xml_writer_cleanup(&wr);
}

/* Data-driven response parsing ------------------------------------------------------------- */

static cJSON *reply_json(const struct ews_reply *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "fault", r->fault);
    cJSON_AddStringToObject(o, "code", r->status.code);
    cJSON_AddStringToObject(o, "action", ews_action_str(r->policy.action));
    cJSON_AddStringToObject(o, "reason", r->policy.reason);
    if (r->status.backoff_ms >= 0)
        cJSON_AddNumberToObject(o, "backoff_ms", (double)r->status.backoff_ms);
    return o;
}

/* A neutral rendering of any item, so one expectation format covers every parser. */
static cJSON *item_json(const struct ews_item *it)
{
    if (it->kind == EWS_ITEM_CALENDAR)
        return sync_json_appointment(it, it->parent_folder_id, NULL);
    cJSON *o = sync_json_message(it, it->parent_folder_id);
    cJSON_AddStringToObject(o, "element", it->element);
    if (ews_item_has_attachment_list(it))
        cJSON_AddNumberToObject(o, "attachments", (double)it->n_attachments);
    return o;
}

static cJSON *folder_json(const struct ews_folder *f)
{
    cJSON *o = sync_json_folder(f->id, f->parent_id, f->display_name, f->folder_class, NULL);
    cJSON_AddStringToObject(o, "kind", f->kind);
    cJSON_AddNumberToObject(o, "total_count", (double)f->total_count);
    return o;
}

static cJSON *status_json(const struct ews_status *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "code", st->code);
    cJSON_AddStringToObject(o, "text", st->text);
    return o;
}

typedef cJSON *(*render_fn)(const char *xml, size_t len, struct ews_reply *r, enum mse_rc *rc);

static cJSON *render_items_page(const char *xml, size_t len, struct ews_reply *r, enum mse_rc *rc)
{
    struct ews_items_page p = { 0 };
    struct mse_err err = { { 0 } };
    *rc = ews_sync_items_parse(xml, len, &p, r, &err);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sync_state", p.sync_state ? p.sync_state : "(none)");
    cJSON_AddBoolToObject(o, "includes_last", p.includes_last);
    cJSON *a = cJSON_AddArrayToObject(o, "changes");
    for (size_t i = 0; i < p.n; i++) {
        const struct ews_item_change *c = &p.v[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "type", ews_change_str(c->type));
        if (c->type == EWS_CHANGE_CREATE || c->type == EWS_CHANGE_UPDATE) {
            cJSON_AddItemToObject(x, "item", item_json(&c->item));
        } else {
            cJSON_AddStringToObject(x, "item_id", c->item.id);
            if (c->type == EWS_CHANGE_READ_FLAG)
                cJSON_AddBoolToObject(x, "is_read", c->is_read);
        }
        cJSON_AddItemToArray(a, x);
    }
    ews_items_page_cleanup(&p);
    return o;
}

static cJSON *render_hierarchy(const char *xml, size_t len, struct ews_reply *r, enum mse_rc *rc)
{
    struct ews_hierarchy_page p = { 0 };
    struct mse_err err = { { 0 } };
    *rc = ews_sync_hierarchy_parse(xml, len, &p, r, &err);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sync_state", p.sync_state ? p.sync_state : "(none)");
    cJSON_AddBoolToObject(o, "includes_last", p.includes_last);
    cJSON *a = cJSON_AddArrayToObject(o, "changes");
    for (size_t i = 0; i < p.n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "type", ews_change_str(p.v[i].type));
        cJSON_AddItemToObject(x, "folder", folder_json(&p.v[i].folder));
        cJSON_AddItemToArray(a, x);
    }
    ews_hierarchy_page_cleanup(&p);
    return o;
}

static cJSON *render_get_items(const char *xml, size_t len, struct ews_reply *r, enum mse_rc *rc)
{
    struct ews_get_items res = { 0 };
    struct mse_err err = { { 0 } };
    *rc = ews_get_items_parse(xml, len, &res, r, &err);
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "results");
    for (size_t i = 0; i < res.n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToObject(x, "status", status_json(&res.v[i].status));
        if (res.v[i].item.id)
            cJSON_AddItemToObject(x, "item", item_json(&res.v[i].item));
        cJSON_AddItemToArray(a, x);
    }
    ews_get_items_cleanup(&res);
    return o;
}

static cJSON *render_get_folders(const char *xml, size_t len, struct ews_reply *r, enum mse_rc *rc)
{
    struct ews_get_folders res = { 0 };
    struct mse_err err = { { 0 } };
    *rc = ews_get_folders_parse(xml, len, &res, r, &err);
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "results");
    for (size_t i = 0; i < res.n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToObject(x, "status", status_json(&res.v[i].status));
        if (res.v[i].folder.id)
            cJSON_AddItemToObject(x, "folder", folder_json(&res.v[i].folder));
        cJSON_AddItemToArray(a, x);
    }
    ews_get_folders_cleanup(&res);
    return o;
}

static cJSON *render_attachment(const char *xml, size_t len, struct ews_reply *r, enum mse_rc *rc)
{
    struct ews_attachment_content c = { 0 };
    struct mse_err err = { { 0 } };
    *rc = ews_get_attachment_parse(xml, len, &c, r, &err);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c.name ? c.name : "(none)");
    cJSON_AddStringToObject(o, "content_type", c.content_type ? c.content_type : "(none)");
    cJSON_AddBoolToObject(o, "is_item", c.is_item);
    char *text = malloc(c.len + 1);
    memcpy(text, c.data ? (const char *)c.data : "", c.len);
    text[c.len] = '\0';
    cJSON_AddStringToObject(o, "content", text);
    free(text);
    ews_attachment_content_cleanup(&c);
    return o;
}

static cJSON *render_expand_dl(const char *xml, size_t len, struct ews_reply *r, enum mse_rc *rc)
{
    struct ews_dl_members m = { 0 };
    struct mse_err err = { { 0 } };
    *rc = ews_expand_dl_parse(xml, len, &m, r, &err);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "includes_last", m.includes_last);
    cJSON *a = cJSON_AddArrayToObject(o, "members");
    for (size_t i = 0; i < m.members.n; i++) {
        cJSON *x = sync_json_person(&m.members.v[i]);
        cJSON_AddStringToObject(x, "mailbox_type",
                                m.members.v[i].mailbox_type ? m.members.v[i].mailbox_type
                                                            : "(none)");
        cJSON_AddItemToArray(a, x);
    }
    ews_dl_members_cleanup(&m);
    return o;
}

struct parse_case {
    const char *xml;      /* under data/; "neg-" files are deliberately not schema-valid */
    const char *expected; /* under data/expected/ */
    render_fn render;
};

static const struct parse_case parse_cases[] = {
    { "resp-SyncFolderItems.xml", "SyncFolderItems.json", render_items_page },
    { "resp-SyncFolderItems-ErrorInvalidSyncStateData.xml", "SyncFolderItems-invalid-state.json",
      render_items_page },
    { "resp-SyncFolderItems-calendar.xml", "SyncFolderItems-calendar.json", render_items_page },
    { "env-SyncFolderItems-page.xml", "SyncFolderItems-envelope.json", render_items_page },
    { "neg-SyncFolderItems-bad-values.xml", "SyncFolderItems-bad-values.json", render_items_page },
    { "resp-SyncFolderHierarchy.xml", "SyncFolderHierarchy.json", render_hierarchy },
    { "resp-GetItem.xml", "GetItem.json", render_get_items },
    { "resp-GetItem-Message.xml", "GetItem-Message.json", render_get_items },
    { "resp-GetItem-recipients.xml", "GetItem-recipients.json", render_get_items },
    { "resp-ErrorServerBusy-as-message.xml", "GetItem-busy.json", render_get_items },
    { "resp-GetItem-inner-busy.xml", "GetItem-inner-busy.json", render_get_items },
    { "env-fault-ErrorServerBusy.xml", "fault-busy.json", render_items_page },
    { "env-fault-NonExistentMailbox.xml", "fault-no-mailbox.json", render_hierarchy },
    { "resp-GetFolder.xml", "GetFolder.json", render_get_folders },
    { "resp-GetAttachment.xml", "GetAttachment.json", render_attachment },
    { "resp-GetAttachment-item.xml", "GetAttachment-item.json", render_attachment },
    { "resp-ExpandDL.xml", "ExpandDL.json", render_expand_dl },
};

/* Writes rel under tests/worker (golden-file refresh; review the diff before committing). */
static void write_file(const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", MSE_TEST_DIR, rel);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fputc('\n', f);
    fclose(f);
}

/*
 * Each canned response parses to its expected rendering. MSE_TEST_UPDATE_EXPECTED=1 rewrites
 * the expectations from what the parsers produce now, for review in the diff.
 */
static void test_parse_cases(void **state)
{
    (void)state;
    bool update = getenv("MSE_TEST_UPDATE_EXPECTED") != NULL;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *pc = &parse_cases[i];
        char rel[256];
        size_t len, elen;
        snprintf(rel, sizeof(rel), "data/%s", pc->xml);
        char *xml = read_file(rel, &len);
        snprintf(rel, sizeof(rel), "data/expected/%s", pc->expected);
        struct ews_reply reply;
        enum mse_rc rc;
        cJSON *got = pc->render(xml, len, &reply, &rc);
        cJSON_AddItemToObject(got, "reply", reply_json(&reply));
        cJSON_AddStringToObject(got, "rc", mse_rc_str(rc));
        if (update) {
            char *text = cJSON_Print(got);
            write_file(rel, text);
            free(text);
        }
        char *expected_text = read_file(rel, &elen);
        cJSON *expected = cJSON_Parse(expected_text);
        if (!expected)
            fail_msg("%s is not JSON", pc->expected);
        if (!cJSON_Compare(got, expected, true)) {
            char *g = cJSON_Print(got);
            fprintf(stderr, "%s: parsed\n%s\n", pc->xml, g);
            free(g);
            fail_msg("%s does not parse to %s", pc->xml, pc->expected);
        }
        cJSON_Delete(got);
        cJSON_Delete(expected);
        free(xml);
        free(expected_text);
    }
}

/* Every canned response (but the faults, which are envelopes) is itself schema-valid. */
static void test_canned_responses_are_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const char *f = parse_cases[i].xml;
        if (strncmp(f, "neg-", 4) == 0)
            continue;
        char rel[256];
        size_t len;
        snprintf(rel, sizeof(rel), "data/%s", f);
        char *xml = read_file(rel, &len);
        xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
        assert_non_null(doc);
        bool envelope = strncmp(f, "env-", 4) == 0;
        xmlSchemaValidCtxtPtr vc =
                xmlSchemaNewValidCtxt(envelope ? envelope_schema : messages_schema);
        int ret = xmlSchemaValidateDoc(vc, doc);
        if (ret != 0)
            fail_msg("%s is not schema-valid", f);
        xmlSchemaFreeValidCtxt(vc);
        xmlFreeDoc(doc);
        free(xml);
    }
}

/* Truncated and hostile bodies are refused, never crash, and leave nothing allocated. */
static void test_parse_garbage(void **state)
{
    (void)state;
    size_t len;
    char *xml = read_file("data/resp-SyncFolderItems.xml", &len);
    for (size_t cut = 0; cut < len; cut += 7) {
        struct ews_items_page p = { 0 };
        struct ews_reply r;
        struct mse_err err = { { 0 } };
        enum mse_rc rc = ews_sync_items_parse(xml, cut, &p, &r, &err);
        assert_int_not_equal(rc, MSE_OK);
        ews_items_page_cleanup(&p);
    }
    free(xml);
    const char *bad[] = {
        "",
        "not xml",
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
        "<m:SyncFolderItemsResponse xmlns:m=\"" EWS_NS_M "\"/>",
        "<m:SyncFolderItemsResponse xmlns:m=\"" EWS_NS_M "\"><m:ResponseMessages>"
        "<m:SyncFolderItemsResponseMessage ResponseClass=\"Success\"><m:IncludesLastItemInRange>"
        "maybe</m:IncludesLastItemInRange></m:SyncFolderItemsResponseMessage>"
        "</m:ResponseMessages></m:SyncFolderItemsResponse>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ews_items_page p = { 0 };
        struct ews_reply r;
        struct mse_err err = { { 0 } };
        assert_int_not_equal(ews_sync_items_parse(bad[i], strlen(bad[i]), &p, &r, &err), MSE_OK);
        assert_true(err.msg[0] != '\0');
        ews_items_page_cleanup(&p);
    }
}

/* GetItem data merges into the SyncFolderItems item without touching what it did not send. */
/* Times come out as RFC 3339 UTC whatever EWS sent; canonical ones pass as they are. */
static void test_item_time(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want; /* want NULL: refused */
    } cases[] = {
        { "2024-05-01T08:30:00Z", "2024-05-01T08:30:00Z" },
        { "2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z" },
        { "2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z" },
        { "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z" },
        { "2024-05-01T08:30:00.123Z", "2024-05-01T08:30:00Z" },
        { "2024-05-01T10:30:00+02:00", "2024-05-01T08:30:00Z" },
        { "2024-05-01T08:30:00", "2024-05-01T08:30:00Z" },
        { "2024-05-01t08:30:00z", "2024-05-01T08:30:00Z" },
        { "2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z" },
        { "2023-02-29T00:00:00Z", NULL },
        { "1900-02-29T00:00:00Z", NULL },
        { "2024-04-31T00:00:00Z", NULL },
        { "2024-13-01T00:00:00Z", NULL },
        { "2024-00-01T00:00:00Z", NULL },
        { "2024-05-00T00:00:00Z", NULL },
        { "2024-05-01T24:00:00Z", NULL },
        { "2024-05-01T23:60:00Z", NULL },
        { "1969-12-31T23:59:59Z", NULL },
        { "2024-05-01 08:30:00Z", NULL },
        { "2024-05-01T08:30:0xZ", NULL },
        { "", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = ews_item_time(cases[i].in);
        if (cases[i].want)
            assert_string_equal(got, cases[i].want);
        else
            assert_null(got);
        free(got);
    }
}

static void test_item_merge(void **state)
{
    (void)state;
    size_t len;
    char *xml = read_file("data/resp-SyncFolderItems.xml", &len);
    struct ews_items_page p = { 0 };
    struct ews_reply r;
    struct mse_err err = { { 0 } };
    assert_int_equal(ews_sync_items_parse(xml, len, &p, &r, &err), MSE_OK);
    free(xml);
    xml = read_file("data/resp-GetItem-recipients.xml", &len);
    struct ews_get_items g = { 0 };
    assert_int_equal(ews_get_items_parse(xml, len, &g, &r, &err), MSE_OK);
    free(xml);
    struct ews_item *it = &p.v[0].item;
    assert_string_equal(it->subject, "Quarterly report");
    assert_int_equal(it->to.n, 0);
    ews_item_merge(it, &g.v[0].item);
    assert_string_equal(it->subject, "Quarterly report"); /* GetItem did not send it */
    assert_string_equal(it->change_key, "CQAAABYA");      /* ids stay those of the sync */
    assert_int_equal(it->to.n, 2);
    assert_string_equal(it->to.v[1].email, "user2@example.com");
    assert_int_equal(it->cc.n, 1);
    assert_int_equal(g.v[0].item.to.n, 0);
    ews_get_items_cleanup(&g);
    ews_items_page_cleanup(&p);
}

int main(void)
{
    xmlInitParser();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_are_schema_valid),
        cmocka_unit_test(test_schema_check_rejects_invalid),
        cmocka_unit_test(test_parse_cases),
        cmocka_unit_test(test_canned_responses_are_valid),
        cmocka_unit_test(test_parse_garbage),
        cmocka_unit_test(test_item_time),
        cmocka_unit_test(test_item_merge),
    };
    int rc = cmocka_run_group_tests(tests, schemas_setup, schemas_teardown);
    xmlCleanupParser();
    return rc;
}
