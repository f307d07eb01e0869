/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the Graph backend: a canned delta entry read as an item, token renewal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "graph_client.h"
#include "sync_graph.h"
#include "sync_json.h"

static char *slurp(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/data/%s", MSE_TEST_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The record a Graph message gives is the record the same EWS message gives. */
static void test_message_reads_as_the_ews_record(void **state)
{
    (void)state;
    cJSON *m = cJSON_Parse(slurp("graph_message.json"));
    assert_non_null(m);
    struct ews_item it;
    ews_item_init(&it);
    assert_int_equal(sync_graph_message(m, &it), MSE_OK);
    assert_int_equal(it.kind, EWS_ITEM_MESSAGE);
    assert_string_equal(it.item_class, "IPM.Note");
    assert_int_equal(it.size, 20480);
    assert_string_equal(it.sensitivity, "Private");
    assert_true(ews_item_is_private(&it));
    assert_string_equal(it.received, "2024-03-01T08:30:00Z"); /* normalised to UTC */
    assert_int_equal(it.has_attachments, EWS_TRUE);
    assert_int_equal(it.is_read, EWS_FALSE);
    assert_null(it.sender->name); /* no display name: the record says "" as for EWS */
    assert_int_equal(it.to.n, 2);
    cJSON *rec = sync_json_message(&it, "F");
    char *text = cJSON_PrintUnformatted(rec);
    assert_non_null(strstr(text, "\"sender\":{\"name\":\"\",\"email\":\"bob@example.com\"}"));
    assert_non_null(strstr(text, "\"internet_message_id\":\"<q1@example.com>\""));
    free(text);
    cJSON_Delete(rec);
    ews_item_cleanup(&it);
    cJSON_Delete(m);
}

/* Missing MAPI properties stay unknown rather than becoming zeros. */
static void test_message_without_properties(void **state)
{
    (void)state;
    cJSON *m = cJSON_Parse("{\"id\":\"X\",\"subject\":\"s\"}");
    struct ews_item it;
    ews_item_init(&it);
    assert_int_equal(sync_graph_message(m, &it), MSE_OK);
    assert_int_equal(it.size, -1);
    assert_null(it.sensitivity);
    assert_null(it.item_class);
    assert_null(it.from);
    assert_int_equal(it.has_attachments, EWS_UNSET);
    ews_item_cleanup(&it);
    cJSON_Delete(m);
}

/* Renewed five minutes before expiry; short-lived tokens halfway. */
static void test_token_renewal(void **state)
{
    (void)state;
    assert_false(graph_client_token_due(0, 0, 3599));
    assert_false(graph_client_token_due((3599 - 301) * 1000LL, 0, 3599));
    assert_true(graph_client_token_due((3599 - 300) * 1000LL, 0, 3599));
    assert_false(graph_client_token_due(999, 0, 2));
    assert_true(graph_client_token_due(1000, 0, 2));
    assert_true(graph_client_token_due(5000, 1000, 0)); /* expires at once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_reads_as_the_ews_record),
        cmocka_unit_test(test_message_without_properties),
        cmocka_unit_test(test_token_renewal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
