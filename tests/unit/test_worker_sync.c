/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the engine's pure parts: folder table checkpoints, folder selection, records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "sync_internal.h"

/* A hierarchy checkpoint as folder_table_encode writes it. */
static const char *const table_text =
        "{\"v\":1,\"state\":\"SFH-1\",\"root\":\"R\",\"deleteditems\":\"DEL\","
        "\"calendar\":\"CAL\",\"private\":false,\"folders\":["
        "[\"INBOX\",\"R\",\"Inbox\",\"IPF.Note\",\"Folder\",true],"
        "[\"NEWS\",\"INBOX\",\"Newsletters\",\"IPF.Note\",\"Folder\",true],"
        "[\"OLD\",\"NEWS\",\"2019\",null,\"Folder\",true],"
        "[\"DEL\",\"R\",\"Deleted Items\",\"IPF.Note\",\"Folder\",false],"
        "[\"TRASHED\",\"DEL\",\"Old project\",\"IPF.Note\",\"Folder\",false],"
        "[\"CAL\",\"R\",\"Calendar\",\"IPF.Appointment\",\"CalendarFolder\",true],"
        "[\"TEAM\",\"CAL\",\"Team\",\"IPF.Appointment\",\"CalendarFolder\",true],"
        "[\"BDAY\",\"R\",\"Birthdays\",\"IPF.Appointment.Birthday\",\"CalendarFolder\",false],"
        "[\"CONTACTS\",\"R\",\"Contacts\",\"IPF.Contact\",\"ContactsFolder\",true],"
        "[\"NOTES\",\"R\",\"Notes\",\"IPF.StickyNote\",\"Folder\",true],"
        "[\"FIND\",\"R\",\"Finder\",null,\"SearchFolder\",false],"
        "[\"DELCAL\",\"DEL\",\"Old calendar\",\"IPF.Appointment\",\"CalendarFolder\",false]]}";

static void test_table_roundtrip(void **state)
{
    (void)state;
    struct folder_table t = { 0 };
    assert_int_equal(folder_table_decode(table_text, &t), MSE_OK);
    assert_int_equal(t.n, 12);
    assert_string_equal(t.state, "SFH-1");
    assert_string_equal(t.deleted_id, "DEL");
    assert_int_equal(t.private_items, 0);
    struct hfolder *f = folder_table_find(&t, "OLD");
    assert_non_null(f);
    assert_null(f->folder_class);
    assert_string_equal(f->parent_id, "NEWS");
    assert_null(folder_table_find(&t, "NOPE"));
    assert_true(folder_table_within(&t, folder_table_find(&t, "TRASHED"), "DEL"));
    assert_true(folder_table_within(&t, folder_table_find(&t, "DEL"), "DEL"));
    assert_false(folder_table_within(&t, folder_table_find(&t, "OLD"), "DEL"));
    assert_false(folder_table_within(&t, folder_table_find(&t, "OLD"), NULL));
    char *again = folder_table_encode(&t);
    assert_string_equal(again, table_text); /* deterministic: equal text for equal tables */
    free(again);
    folder_table_cleanup(&t);
}

static void test_table_rejects_foreign_checkpoints(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "[]",
        "{\"v\":2,\"folders\":[]}",
        "{\"v\":1}",
        "{\"v\":1,\"folders\":[[\"A\",null,\"n\",null,\"Folder\"]]}",
        "{\"v\":1,\"folders\":[[1,null,\"n\",null,\"Folder\",true]]}",
        "{\"v\":1,\"folders\":[[\"A\",null,\"n\",null,\"Folder\",true],"
        "[\"A\",null,\"n\",null,\"Folder\",true]]}",
        "{\"v\":1,\"state\":5,\"folders\":[]}",
        "{\"v\":1,\"private\":\"no\",\"folders\":[]}",
        "H4sIAAAAAAAEAGNgYGBk", /* an EWS SyncState is not a table */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct folder_table t = { 0 };
        if (folder_table_decode(bad[i], &t) != MSE_ERR_INVALID)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(t.n, 0);
        assert_null(t.v);
    }
}

/* A pass context over the table above with the given definition, paths computed. */
static void ctx_init(struct sync_ctx *c, struct sync_job *job, struct sync_definition *def)
{
    memset(c, 0, sizeof(*c));
    job->def = def;
    c->job = job;
    assert_int_equal(folder_table_decode(table_text, &c->table), MSE_OK);
    /* Paths the way sync_hierarchy computes them: parents up to the root. */
    for (size_t i = 0; i < c->table.n; i++) {
        struct hfolder *f = &c->table.v[i];
        char path[256] = "";
        const struct hfolder *chain[8];
        size_t n = 0;
        for (const struct hfolder *p = f; p && n < 8;
             p = folder_table_find(&c->table, p->parent_id))
            chain[n++] = p;
        for (size_t k = n; k > 0; k--) {
            size_t len = strlen(path);
            snprintf(path + len, sizeof(path) - len, "/%s", chain[k - 1]->name);
        }
        f->path = strdup(path);
    }
}

/* Ids of the folders the feature replicates (and reads items from, marked with *). */
static const char *selection(const struct sync_feature *ft, struct sync_definition *def)
{
    static char out[512];
    struct sync_job job = { 0 };
    struct sync_ctx c;
    ctx_init(&c, &job, def);
    out[0] = '\0';
    for (size_t i = 0; i < c.table.n; i++) {
        const struct hfolder *f = &c.table.v[i];
        if (!ft->folder_replicated(&c, f))
            continue;
        size_t len = strlen(out);
        snprintf(out + len, sizeof(out) - len, "%s%s%s", len ? "," : "", f->id,
                 ft->folder_has_items(&c, f) ? "*" : "");
    }
    folder_table_cleanup(&c.table);
    return out;
}

static void test_mfr_selection(void **state)
{
    (void)state;
    struct sync_definition def = { .type = SYNC_MFR };
    /* Deleted Items excluded by default; search folders never; only mail folders read. */
    assert_string_equal(selection(&sync_feature_mfr, &def),
                        "INBOX*,NEWS*,OLD*,CAL,TEAM,BDAY,CONTACTS,NOTES");
    def.include_deleted_items = true;
    assert_string_equal(selection(&sync_feature_mfr, &def),
                        "INBOX*,NEWS*,OLD*,DEL*,TRASHED*,CAL,TEAM,BDAY,CONTACTS,NOTES,DELCAL");
    /* A path excludes its subtree, case-insensitively, with or without slashes. */
    char *ex[] = { "inbox/NEWSLETTERS/", "/Notes", "/", "/Inbox/News" };
    def.exclude_folders = ex;
    def.n_exclude = 4;
    def.include_deleted_items = false;
    assert_string_equal(selection(&sync_feature_mfr, &def), "INBOX*,CAL,TEAM,BDAY,CONTACTS");
}

static void test_calendar_selection(void **state)
{
    (void)state;
    struct sync_definition def = { .type = SYNC_CALENDAR };
    assert_string_equal(selection(&sync_feature_calendar, &def), "CAL*");
    def.all_calendars = true;
    /* Every IPF.Appointment folder but those in Deleted Items; Birthdays is another class. */
    assert_string_equal(selection(&sync_feature_calendar, &def), "CAL*,TEAM*");
}

static void test_private_items(void **state)
{
    (void)state;
    struct sync_definition def = { .type = SYNC_MFR };
    struct sync_job job = { .def = &def };
    struct sync_ctx c = { .job = &job };
    struct ews_item it;
    ews_item_init(&it);
    it.kind = EWS_ITEM_MESSAGE;
    const char *const levels[] = { "Normal", "Personal", "Private", "Confidential", NULL };
    const enum item_verdict want[] = { ITEM_KEEP, ITEM_REMOVE, ITEM_REMOVE, ITEM_REMOVE,
                                       ITEM_KEEP };
    for (int i = 0; i < 5; i++) {
        it.sensitivity = (char *)levels[i];
        assert_int_equal(sync_feature_mfr.classify(&c, &it), want[i]);
    }
    def.include_private_items = true;
    it.sensitivity = "Private";
    assert_int_equal(sync_feature_mfr.classify(&c, &it), ITEM_KEEP);
    it.kind = EWS_ITEM_CALENDAR;
    assert_int_equal(sync_feature_mfr.classify(&c, &it), ITEM_SKIP);
    assert_int_equal(sync_feature_calendar.classify(&c, &it), ITEM_KEEP);
    it.kind = EWS_ITEM_OTHER;
    assert_int_equal(sync_feature_calendar.classify(&c, &it), ITEM_SKIP);
}

/* Sync & Recover: mail folders and the default calendar, messages chosen by class and
 * sensitivity, appointments by sensitivity; an item no longer selected is never removed. */
static void test_recover_selection(void **state)
{
    (void)state;
    struct sync_definition def;
    struct mse_err err;
    cJSON *j = cJSON_Parse("{\"mail\": true, \"calendars\": true, \"include_sensitive\": false,"
                           " \"message_classes\": [\"IPM.Note\", \"ipm.schedule.meeting\"]}");
    assert_int_equal(sync_definition_from_json(SYNC_RECOVER, j, &def, &err), MSE_OK);
    cJSON_Delete(j);
    assert_string_equal(selection(sync_feature_recover(), &def),
                        "INBOX*,NEWS*,OLD*,CAL*,TEAM,BDAY,CONTACTS,NOTES");
    def.calendars = false;
    assert_string_equal(selection(sync_feature_recover(), &def),
                        "INBOX*,NEWS*,OLD*,CAL,TEAM,BDAY,CONTACTS,NOTES");
    def.mail = false;
    def.calendars = true;
    assert_string_equal(selection(sync_feature_recover(), &def),
                        "INBOX,NEWS,OLD,CAL*,TEAM,BDAY,CONTACTS,NOTES");

    struct sync_outcome out = { .health = SYNC_HEALTHY };
    struct sync_job job = { .def = &def };
    struct sync_ctx c = { .job = &job, .out = &out, .feature = sync_feature_recover() };
    assert_int_equal(folder_table_decode(table_text, &c.table), MSE_OK);
    const struct hfolder *inbox = folder_table_find(&c.table, "INBOX");
    const struct hfolder *cal = folder_table_find(&c.table, "CAL");
    const struct sync_feature *mail = sync_feature_of(&c, inbox);
    const struct sync_feature *appts = sync_feature_of(&c, cal);
    assert_true(mail->mime && appts->mime);
    assert_string_equal(mail->array, "items");
    assert_string_equal(appts->array, "appointments");
    struct ews_item it;
    ews_item_init(&it);
    it.kind = EWS_ITEM_MESSAGE;
    static const struct {
        const char *cls, *sensitivity;
        enum item_verdict want;
    } cases[] = {
        { "IPM.Note", "Normal", ITEM_KEEP },
        { "ipm.note.smime", NULL, ITEM_KEEP }, /* a sub-class, any case */
        { "IPM.NoteX", "Normal", ITEM_SKIP },  /* a prefix is not a class */
        { "IPM.Schedule.Meeting.Request", "Normal", ITEM_KEEP },
        { "IPM.Appointment", "Normal", ITEM_SKIP }, /* not listed */
        { NULL, "Normal", ITEM_SKIP },
        { "IPM.Note", "Personal", ITEM_KEEP }, /* Personal is archived */
        { "IPM.Note", "Private", ITEM_SKIP },  /* never a removal */
        { "IPM.Note", "Confidential", ITEM_SKIP },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        it.item_class = (char *)cases[i].cls;
        it.sensitivity = (char *)cases[i].sensitivity;
        if (mail->classify(&c, &it) != cases[i].want)
            fail_msg("%s/%s", cases[i].cls ? cases[i].cls : "-", cases[i].sensitivity);
    }
    assert_int_equal(out.unselected, 5);
    def.include_sensitive = true;
    it.item_class = "IPM.Note";
    assert_int_equal(mail->classify(&c, &it), ITEM_KEEP);
    /* Appointments of the calendar: the classes are message classes. */
    it.kind = EWS_ITEM_CALENDAR;
    it.item_class = "IPM.Appointment";
    assert_int_equal(appts->classify(&c, &it), ITEM_KEEP);
    assert_int_equal(mail->classify(&c, &it), ITEM_SKIP);
    def.include_sensitive = false;
    it.sensitivity = "Private";
    assert_int_equal(appts->classify(&c, &it), ITEM_SKIP);
    folder_table_cleanup(&c.table);
    sync_definition_cleanup(&def);

    /* Without a list (a hand-written --definition) nothing is left out by class. */
    assert_int_equal(sync_definition_from_json(SYNC_RECOVER, NULL, &def, &err), MSE_OK);
    assert_true(def.mail && !def.calendars && def.all_classes);
    assert_true(sync_definition_class_selected(&def, "Anything.At.All"));
    j = cJSON_Parse("{\"message_classes\": [\"IPM.Note\", 5]}");
    assert_int_equal(sync_definition_from_json(SYNC_RECOVER, j, &def, &err), MSE_ERR_INVALID);
    assert_string_equal(err.msg, "message_classes[1] must be a string");
    cJSON_Delete(j);
}

static void test_checkpoints(void **state)
{
    (void)state;
    struct sync_checkpoints c = { 0 };
    assert_int_equal(sync_checkpoints_set(&c, NULL, "H"), MSE_OK);
    assert_int_equal(sync_checkpoints_set(&c, "F1", "s1"), MSE_OK);
    assert_int_equal(sync_checkpoints_set(&c, "F2", "s2"), MSE_OK);
    assert_int_equal(sync_checkpoints_set(&c, "F1", "s1b"), MSE_OK);
    assert_int_equal(sync_checkpoints_set(&c, "F3", NULL), MSE_OK);
    assert_string_equal(sync_checkpoints_get(&c, "F1"), "s1b");
    assert_string_equal(sync_checkpoints_get(&c, NULL), "H");
    assert_int_equal(sync_checkpoints_set(&c, "F1", NULL), MSE_OK);
    assert_null(sync_checkpoints_get(&c, "F1"));
    assert_string_equal(sync_checkpoints_get(&c, "F2"), "s2");
    cJSON *j = sync_checkpoints_to_json(&c);
    char *text = cJSON_PrintUnformatted(j);
    assert_string_equal(text, "{\"hierarchy\":\"H\",\"folders\":{\"F2\":\"s2\"}}");
    struct sync_checkpoints back;
    struct mse_err err;
    assert_int_equal(sync_checkpoints_from_json(j, &back, &err), MSE_OK);
    assert_string_equal(sync_checkpoints_get(&back, "F2"), "s2");
    free(text);
    cJSON_Delete(j);
    sync_checkpoints_cleanup(&back);
    sync_checkpoints_cleanup(&c);
    cJSON *bad = cJSON_Parse("{\"folders\":{\"F\":1}}");
    assert_int_equal(sync_checkpoints_from_json(bad, &back, &err), MSE_ERR_INVALID);
    cJSON_Delete(bad);
}

static void test_definitions(void **state)
{
    (void)state;
    struct sync_definition d;
    struct mse_err err;
    cJSON *j = cJSON_Parse("{\"exclude_folders\":[\"/Inbox/Spam\"],\"include_deleted_items\":true,"
                           "\"include_private_items\":false,\"description\":\"ignored\"}");
    assert_int_equal(sync_definition_from_json(SYNC_MFR, j, &d, &err), MSE_OK);
    assert_int_equal(d.n_exclude, 1);
    assert_string_equal(d.exclude_folders[0], "/Inbox/Spam");
    assert_true(d.include_deleted_items);
    assert_false(d.include_private_items);
    sync_definition_cleanup(&d);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"include_calendars\":\"all\"}");
    assert_int_equal(sync_definition_from_json(SYNC_CALENDAR, j, &d, &err), MSE_OK);
    assert_true(d.all_calendars);
    cJSON_Delete(j);
    static const char *const bad[] = { "{\"include_calendars\":\"some\"}",
                                       "{\"include_deleted_items\":\"yes\"}",
                                       "{\"exclude_folders\":\"/Inbox\"}",
                                       "{\"exclude_folders\":[1]}", "[]" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = cJSON_Parse(bad[i]);
        assert_int_equal(sync_definition_from_json(SYNC_MFR, j, &d, &err), MSE_ERR_INVALID);
        assert_true(err.msg[0] != '\0');
        cJSON_Delete(j);
    }
    assert_int_equal(sync_definition_from_json(SYNC_MFR, NULL, &d, &err), MSE_OK);
    assert_int_equal(d.n_exclude, 0);
}

/* Storage management: settings as the server stores them, and what this worker can carry out. */
static void test_storage_definitions(void **state)
{
    (void)state;
    struct sync_definition d;
    struct mse_err err;
    char why[256];
    cJSON *j = cJSON_Parse("{\"action\":\"message_delete\",\"older_than_days\":30,"
                           "\"min_size_kb\":100,\"folders\":\"all\",\"exclude_folders\":"
                           "[\"/Inbox/Keep\"],\"hard_delete\":true}");
    assert_int_equal(sync_definition_from_json(SYNC_STORAGE, j, &d, &err), MSE_OK);
    assert_string_equal(d.action, "message_delete");
    assert_int_equal(d.older_than_days, 30);
    assert_int_equal(d.min_size_kb, 100);
    assert_int_equal(d.n_folders, 0); /* "all" */
    assert_int_equal(d.n_exclude, 1);
    assert_true(d.hard_delete);
    assert_false(sync_definition_needs_attachments(&d));
    assert_true(sync_definition_runnable(&d, false, why, sizeof(why)));
    sync_definition_cleanup(&d);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"action\":\"attachment_link_stub\",\"older_than_days\":1,"
                    "\"folders\":[\"/Inbox\",\"/Archive\"]}");
    assert_int_equal(sync_definition_from_json(SYNC_STORAGE, j, &d, &err), MSE_OK);
    assert_int_equal(d.n_folders, 2);
    assert_true(sync_definition_needs_attachments(&d));
    /* Previewed, not carried out: the sentence each mailbox reports. */
    assert_true(sync_definition_runnable(&d, true, why, sizeof(why)));
    assert_false(sync_definition_runnable(&d, false, why, sizeof(why)));
    assert_non_null(strstr(why, "attachment_link_stub is not available on this worker version"));
    sync_definition_cleanup(&d);
    cJSON_Delete(j);
    /* Without an age nothing is old enough: refused rather than read as "everything". */
    static const char *const bad[] = { "{\"action\":\"message_delete\"}",
                                       "{\"action\":\"shred\",\"older_than_days\":30}",
                                       "{\"action\":\"message_delete\",\"older_than_days\":0}",
                                       "{\"action\":\"message_delete\",\"older_than_days\":30,"
                                       "\"hard_delete\":1}" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = cJSON_Parse(bad[i]);
        assert_int_equal(sync_definition_from_json(SYNC_STORAGE, j, &d, &err), MSE_ERR_INVALID);
        assert_true(err.msg[0] != '\0');
        cJSON_Delete(j);
    }
    assert_int_equal(sync_definition_from_json(SYNC_STORAGE, NULL, &d, &err), MSE_ERR_INVALID);
}

static void test_count_format(void **state)
{
    (void)state;
    char b[32];
    const struct {
        uint64_t n;
        const char *s;
    } cases[] = {
        { 0, "0" },          { 999, "999" },        { 1000, "1,000" },       { 1536, "1,536" },
        { 10000, "10,000" }, { 123456, "123,456" }, { 1234567, "1,234,567" }
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sync_format_count(cases[i].n, b, sizeof(b));
        assert_string_equal(b, cases[i].s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_roundtrip),
        cmocka_unit_test(test_table_rejects_foreign_checkpoints),
        cmocka_unit_test(test_mfr_selection),
        cmocka_unit_test(test_calendar_selection),
        cmocka_unit_test(test_private_items),
        cmocka_unit_test(test_recover_selection),
        cmocka_unit_test(test_checkpoints),
        cmocka_unit_test(test_definitions),
        cmocka_unit_test(test_storage_definitions),
        cmocka_unit_test(test_count_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
