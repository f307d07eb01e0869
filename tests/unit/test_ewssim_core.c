/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ews-sim's domain code: ids, SyncStates, change logs, recurrence, fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ewsid.h"
#include "fixture.h"
#include "gen.h"
#include "hmap.h"
#include "recur.h"
#include "schema.h"
#include "soap.h"
#include "store.h"
#include "syncstate.h"
#include "timefmt.h"

static void test_ewsid_round_trip(void **state)
{
    (void)state;
    struct ewsid in = { EWSID_OCCURRENCE, 7, 123456789, 1714986000 }, out;
    char text[EWSID_MAX];
    ewsid_format(&in, text);
    assert_int_equal(strncmp(text, "AAMk", 4), 0);
    assert_int_equal(ewsid_parse(text, &out), MSE_OK);
    assert_int_equal(out.kind, EWSID_OCCURRENCE);
    assert_int_equal(out.mailbox, 7);
    assert_int_equal(out.num, 123456789);
    assert_int_equal(out.extra, 1714986000);
    struct ewsid f = { EWSID_FOLDER, 0, 3, 0 };
    ewsid_format(&f, text);
    assert_int_equal(ewsid_parse(text, &out), MSE_OK);
    assert_int_equal(out.kind, EWSID_FOLDER);
}

static void test_ewsid_rejects_foreign_ids(void **state)
{
    (void)state;
    struct ewsid out;
    const char *bad[] = { "",
                          "AAMkAGI1",
                          "AAMk!!!!",
                          "QUFBQUFBQUFBQUFBQUFBQUFB",
                          "AAMkSQAAAAAAAAAAAAAAAA" /* number 0 */,
                          "DUMMY",
                          NULL };
    for (int i = 0; bad[i]; i++)
        assert_int_equal(ewsid_parse(bad[i], &out), MSE_ERR_INVALID);
    char ck1[EWSID_MAX], ck2[EWSID_MAX];
    ewsid_change_key(EWSID_ITEM, 5, 1, ck1);
    ewsid_change_key(EWSID_ITEM, 5, 2, ck2);
    assert_string_not_equal(ck1, ck2);
}

static void test_syncstate_round_trip_and_tamper(void **state)
{
    (void)state;
    uint8_t key[32] = { 1, 2, 3 };
    syncstate_key_init(key);
    struct syncstate s = { SYNCSTATE_ITEMS, 4, 2, 9, 77, 123456 }, out;
    char text[SYNCSTATE_MAX];
    syncstate_format(&s, text);
    assert_int_equal(syncstate_parse(text, &out), MSE_OK);
    assert_int_equal(out.watermark, 123456);
    assert_int_equal(out.folder, 77);
    assert_int_equal(out.generation, 4);
    for (size_t i = 0; text[i]; i++) { /* any single changed character is refused */
        char copy[SYNCSTATE_MAX];
        memcpy(copy, text, sizeof(copy));
        copy[i] = copy[i] == 'A' ? 'B' : 'A';
        assert_int_not_equal(syncstate_parse(copy, &out), MSE_OK);
    }
    uint8_t other[32] = { 9 };
    syncstate_key_init(other); /* another process: its states are foreign */
    assert_int_equal(syncstate_parse(text, &out), MSE_ERR_INVALID);
    assert_int_equal(syncstate_parse("", &out), MSE_ERR_INVALID);
}

static void test_hmap_case_insensitive(void **state)
{
    (void)state;
    struct hmap m;
    hmap_init(&m);
    int v[100];
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "User%d@Example.com", i);
        assert_int_equal(hmap_put(&m, key, &v[i]), MSE_OK);
    }
    assert_ptr_equal(hmap_get(&m, "user42@example.COM"), &v[42]);
    assert_null(hmap_get(&m, "user100@example.com"));
    assert_int_equal(m.count, 100);
    hmap_cleanup(&m);
}

/* An organisation with one mailbox, for change-log tests. */
static struct org *one_mailbox(struct sim_mailbox **m)
{
    struct org *o = org_new();
    assert_non_null(o);
    assert_int_equal(org_mailbox_add(o, "a@example.com", "A", m), MSE_OK);
    assert_int_equal(org_mailbox_finish(o, *m), MSE_OK);
    return o;
}

static unsigned live_after(const struct org *o, const struct sim_folder *f, uint64_t mark)
{
    unsigned n = 0;
    for (size_t i = folder_log_seek(f, mark); i < f->nlog; i++)
        n += folder_log_item(o, f, &f->log[i]) != NULL;
    return n;
}

static void test_change_log_moves_and_deletes(void **state)
{
    (void)state;
    struct sim_mailbox *m;
    struct org *o = one_mailbox(&m);
    struct sim_folder *inbox = mailbox_distinguished(m, "inbox");
    struct sim_folder *trash = mailbox_distinguished(m, "deleteditems");
    struct sim_item *a, *b;
    assert_int_equal(item_new(o, inbox, ITEM_MESSAGE, &a), MSE_OK);
    assert_int_equal(item_new(o, inbox, ITEM_MESSAGE, &b), MSE_OK);
    uint64_t mark = m->csn;
    assert_int_equal(live_after(o, inbox, 0), 2);
    assert_int_equal(live_after(o, inbox, mark), 0);
    assert_int_equal(item_touch(a, false), MSE_OK); /* read flag only */
    assert_true(a->csn > mark && a->content_csn <= mark);
    assert_int_equal(live_after(o, inbox, mark), 1);
    assert_int_equal(item_move(b, trash), MSE_OK);
    assert_int_equal(inbox->item_count, 1);
    assert_int_equal(trash->item_count, 1);
    assert_int_equal(inbox->log[inbox->nlog - 1].kind, LOG_TOMB);
    assert_int_equal(live_after(o, trash, mark), 1);
    uint64_t num = a->num;
    assert_int_equal(item_delete(o, a), MSE_OK);
    assert_null(org_item(o, num));
    assert_int_equal(inbox->item_count, 0);
    assert_int_equal(live_after(o, inbox, 0), 0);
    org_free(o);
}

static void test_folders_paths_and_deletion(void **state)
{
    (void)state;
    struct sim_mailbox *m;
    struct org *o = one_mailbox(&m);
    struct sim_folder *inbox = mailbox_distinguished(m, "inbox"), *p, *q;
    assert_int_equal(folder_create(o, inbox, "Projects", "IPF.Note", -1, &p), MSE_OK);
    assert_int_equal(folder_create(o, p, "Phoenix", "IPF.Note", -1, &q), MSE_OK);
    char path[256];
    folder_path(q, path, sizeof(path));
    assert_string_equal(path, "/Inbox/Projects/Phoenix");
    assert_ptr_equal(mailbox_folder_by_path(m, "/Inbox/Projects/Phoenix"), q);
    assert_null(mailbox_folder_by_path(m, "/Inbox/Nope"));
    assert_int_equal(folder_update(p, NULL, q), MSE_ERR_INVALID); /* below itself */
    assert_int_equal(folder_delete(o, inbox), MSE_ERR_CONFLICT);
    assert_int_equal(folder_delete(o, p), MSE_OK);
    assert_true(p->deleted && q->deleted);
    assert_null(mailbox_folder_by_path(m, "/Inbox/Projects"));
    org_free(o);
}

struct occ_list {
    time_t t[64];
    int n;
};

static bool collect(void *ctx, time_t t)
{
    struct occ_list *l = ctx;
    l->t[l->n++] = t;
    return l->n < 64;
}

static time_t at(const char *s)
{
    time_t t;
    assert_int_equal(mse_time_parse(s, &t), MSE_OK);
    return t;
}

static void test_recurrence_expansion(void **state)
{
    (void)state;
    struct sim_calendar c = { .start = at("2024-05-06T13:00:00Z"),
                              .end = at("2024-05-06T13:30:00Z"),
                              .type = CAL_RECURRING_MASTER };
    c.rec = (struct sim_recurrence){ .pattern = PAT_WEEKLY,
                                     .interval = 2,
                                     .days = 1u << 1 | 1u << 3,
                                     .first_day_of_week = -1,
                                     .range = RANGE_NUMBERED,
                                     .start_date = at("2024-05-06T00:00:00Z"),
                                     .count = 5 };
    struct occ_list l = { .n = 0 };
    recur_expand(&c, 0, at("2030-01-01T00:00:00Z"), collect, &l);
    /* Mon+Wed every other week, five in all. */
    assert_int_equal(l.n, 5);
    assert_int_equal(l.t[0], at("2024-05-06T13:00:00Z"));
    assert_int_equal(l.t[1], at("2024-05-08T13:00:00Z"));
    assert_int_equal(l.t[2], at("2024-05-20T13:00:00Z"));
    assert_int_equal(l.t[4], at("2024-06-03T13:00:00Z"));
    assert_true(recur_is_occurrence(&c, at("2024-05-22T13:00:00Z")));
    assert_false(recur_is_occurrence(&c, at("2024-05-13T13:00:00Z")));

    c.rec = (struct sim_recurrence){ .pattern = PAT_REL_MONTHLY,
                                     .interval = 1,
                                     .days = 1u << 5,
                                     .day_of_week_index = 5,
                                     .range = RANGE_END_DATE,
                                     .start_date = at("2024-01-01T00:00:00Z"),
                                     .end_date = at("2024-04-30T00:00:00Z") };
    l.n = 0;
    recur_expand(&c, 0, at("2030-01-01T00:00:00Z"), collect, &l);
    assert_int_equal(l.n, 4); /* last Fridays: Jan 26, Feb 23, Mar 29, Apr 26 */
    assert_int_equal(l.t[2], at("2024-03-29T13:00:00Z"));

    c.rec = (struct sim_recurrence){ .pattern = PAT_ABS_MONTHLY,
                                     .interval = 1,
                                     .day_of_month = 31,
                                     .range = RANGE_NUMBERED,
                                     .start_date = at("2024-01-01T00:00:00Z"),
                                     .count = 3 };
    l.n = 0;
    recur_expand(&c, 0, at("2030-01-01T00:00:00Z"), collect, &l);
    assert_int_equal(l.n, 3); /* clamped to the month's last day */
    assert_int_equal(l.t[1], at("2024-02-29T13:00:00Z"));
}

static void test_fixture_errors_name_the_place(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *where;
    } cases[] = {
        { "[]", "fixture" },
        { "{\"mailboxes\":[{\"address\":\"nope\"}]}", "mailboxes[0]" },
        { "{\"mailboxes\":[{\"address\":\"a@x.example\",\"folders\":[{\"name\":\"Inbox\","
          "\"messages\":[{\"received\":\"soon\"}]}]}]}",
          "mailboxes[0].folders[0].messages[0].received" },
        { "{\"mailboxes\":[{\"address\":\"a@x.example\"},{\"address\":\"A@x.example\"}]}",
          "mailboxes[1]" },
        { "{\"groups\":[{\"address\":\"g@x.example\",\"members\":[1]}]}", "groups[0]" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct org *o = NULL;
        struct mse_err err = { { 0 } };
        assert_int_equal(fixture_parse(cases[i].json, &o, &err), MSE_ERR_INVALID);
        assert_null(o);
        assert_non_null(strstr(err.msg, cases[i].where));
    }
}

static void test_generator_is_deterministic(void **state)
{
    (void)state;
    struct gen_params p;
    struct mse_err err = { { 0 } };
    assert_int_equal(gen_params_parse("mailboxes=2,items=3,appointments=2", 5, &p, &err), MSE_OK);
    struct org *a = NULL, *b = NULL;
    assert_int_equal(gen_build(&p, &a, &err), MSE_OK);
    assert_int_equal(gen_build(&p, &b, &err), MSE_OK);
    assert_int_equal(a->nitems, b->nitems);
    for (size_t i = 1; i < a->nitems; i++) {
        if (!a->items[i])
            continue;
        assert_string_equal(a->items[i]->subject, b->items[i]->subject);
        assert_int_equal(a->items[i]->received, b->items[i]->received);
    }
    char *body1 = NULL, *body2 = NULL;
    assert_int_equal(gen_body(99, 500, &body1), MSE_OK);
    assert_int_equal(gen_body(99, 500, &body2), MSE_OK);
    assert_string_equal(body1, body2);
    assert_int_equal(strlen(body1), 500);
    free(body1);
    free(body2);
    org_free(a);
    org_free(b);
    assert_int_equal(gen_params_parse("mailboxes=0", 1, &p, &err), MSE_ERR_INVALID);
    assert_int_equal(gen_params_parse("items", 1, &p, &err), MSE_ERR_INVALID);
}

static void test_text_checks(void **state)
{
    (void)state;
    assert_true(store_text_ok("Grüße, 日本 ✓"));
    assert_false(store_text_ok("bell\a"));
    assert_false(store_text_ok("\xc3\x28"));
    assert_false(store_text_ok("\xed\xa0\x80")); /* a surrogate */
    assert_false(store_text_ok("\xc0\xaf"));     /* overlong */
}

/* The in-simulator response check must be able to fail, or it proves nothing. */
static void test_response_validation_can_fail(void **state)
{
    (void)state;
    struct mse_err err = { { 0 } };
    struct schema *schema = schema_load(SCHEMA_DIR, &err);
    assert_non_null(schema);
    struct soap_response r;
    assert_int_equal(soap_response_init(&r, true), MSE_OK);
    xmlNodePtr msgs = soap_messages(&r, "GetItem");
    xmlNodePtr m = soap_message(&r, msgs, "GetItem", "ErrorItemNotFound");
    struct schema_error e;
    /* An error message without <m:Items/> is the classic mistake. */
    assert_int_equal(schema_validate_doc(schema, r.doc, &e), MSE_ERR_INVALID);
    assert_non_null(strstr(e.message, "Items"));
    x_el(m, r.m, "Items");
    assert_int_equal(schema_validate_doc(schema, r.doc, &e), MSE_OK);
    soap_response_cleanup(&r);
    assert_int_equal(soap_fault_busy(&r, 500), MSE_OK);
    assert_int_equal(r.http_status, 500);
    assert_int_equal(schema_validate_doc(schema, r.doc, &e), MSE_OK);
    soap_response_cleanup(&r);
    schema_free(schema);
}

/* Version first, then schema validation with a position, as Exchange 2016 answers. */
static void test_request_checks_in_order(void **state)
{
    (void)state;
    struct mse_err err = { { 0 } };
    struct schema *schema = schema_load(SCHEMA_DIR, &err);
    assert_non_null(schema);
    static const char head[] =
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
            "xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" "
            "xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><s:Header>"
            "<t:RequestServerVersion Version=\"%s\"/></s:Header><s:Body><m:SyncFolderItems>"
            "<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId>"
            "<t:DistinguishedFolderId Id=\"inbox\"/></m:SyncFolderId><m:MaxChangesReturned>%d"
            "</m:MaxChangesReturned></m:SyncFolderItems></s:Body></s:Envelope>";
    char doc[2048];
    struct soap_request req;
    struct soap_failure fail;
    snprintf(doc, sizeof(doc), head, "Exchange2019", 1000);
    assert_int_equal(soap_request_parse(schema, doc, strlen(doc), &req, &fail), MSE_ERR_INVALID);
    assert_string_equal(fail.code, "ErrorInvalidServerVersion");
    snprintf(doc, sizeof(doc), head, "Exchange2013_SP1", 1000);
    assert_int_equal(soap_request_parse(schema, doc, strlen(doc), &req, &fail), MSE_ERR_INVALID);
    assert_string_equal(fail.code, "ErrorSchemaValidation");
    assert_int_equal(fail.schema.line, 1);
    assert_non_null(strstr(fail.schema.message, "MaxChangesReturned"));
    snprintf(doc, sizeof(doc), head, "Exchange2013_SP1", 512);
    assert_int_equal(soap_request_parse(schema, doc, strlen(doc), &req, &fail), MSE_OK);
    assert_int_equal(req.op_id, OP_SYNC_FOLDER_ITEMS);
    assert_string_equal(req.version, "Exchange2013_SP1");
    soap_request_cleanup(&req);
    schema_free(schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ewsid_round_trip),
        cmocka_unit_test(test_ewsid_rejects_foreign_ids),
        cmocka_unit_test(test_syncstate_round_trip_and_tamper),
        cmocka_unit_test(test_hmap_case_insensitive),
        cmocka_unit_test(test_change_log_moves_and_deletes),
        cmocka_unit_test(test_folders_paths_and_deletion),
        cmocka_unit_test(test_recurrence_expansion),
        cmocka_unit_test(test_fixture_errors_name_the_place),
        cmocka_unit_test(test_generator_is_deterministic),
        cmocka_unit_test(test_text_checks),
        cmocka_unit_test(test_response_validation_can_fail),
        cmocka_unit_test(test_request_checks_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
