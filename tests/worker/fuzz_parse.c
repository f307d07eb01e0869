/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: every EWS response parser of the worker on arbitrary bytes. */
#include <libxml/parser.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ews_attach.h"
#include "ews_dl.h"
#include "ews_folder.h"
#include "ews_item.h"
#include "ews_sync.h"
#include "sync_json.h"

#include <cjson/cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses with one parser chosen by the first byte; renders what was parsed as records too. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        xmlInitParser();
        init = 1;
    }
    if (size < 1)
        return 0;
    const char *xml = (const char *)data + 1;
    size_t len = size - 1;
    struct ews_reply reply;
    struct mse_err err;
    switch (data[0] % 6) {
    case 0: {
        struct ews_items_page p = { 0 };
        if (ews_sync_items_parse(xml, len, &p, &reply, &err) == MSE_OK) {
            for (size_t i = 0; i < p.n; i++) {
                cJSON *j = p.v[i].item.kind == EWS_ITEM_CALENDAR
                                   ? sync_json_appointment(&p.v[i].item, "F", NULL)
                                   : sync_json_message(&p.v[i].item, "F");
                cJSON_Delete(j);
            }
        }
        ews_items_page_cleanup(&p);
        break;
    }
    case 1: {
        struct ews_hierarchy_page p = { 0 };
        (void)ews_sync_hierarchy_parse(xml, len, &p, &reply, &err);
        ews_hierarchy_page_cleanup(&p);
        break;
    }
    case 2: {
        struct ews_get_items g = { 0 };
        if (ews_get_items_parse(xml, len, &g, &reply, &err) == MSE_OK) {
            for (size_t i = 0; i + 1 < g.n; i++)
                ews_item_merge(&g.v[i].item, &g.v[i + 1].item);
        }
        ews_get_items_cleanup(&g);
        break;
    }
    case 3: {
        struct ews_get_folders g = { 0 };
        (void)ews_get_folders_parse(xml, len, &g, &reply, &err);
        ews_get_folders_cleanup(&g);
        break;
    }
    case 4: {
        struct ews_attachment_content c = { 0 };
        (void)ews_get_attachment_parse(xml, len, &c, &reply, &err);
        ews_attachment_content_cleanup(&c);
        break;
    }
    default: {
        struct ews_dl_members m = { 0 };
        (void)ews_expand_dl_parse(xml, len, &m, &reply, &err);
        ews_dl_members_cleanup(&m);
        break;
    }
    }
    return 0;
}
