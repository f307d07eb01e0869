/* SPDX-License-Identifier: Apache-2.0 */
/* Folders as EWS reports them, read from XML; GetFolder for distinguished folders. */
#include "ews_folder.h"

#include <stdlib.h>
#include <string.h>

#include "ews.h"
#include "ews_item.h"

void ews_folder_init(struct ews_folder *f)
{
    memset(f, 0, sizeof(*f));
    f->total_count = -1;
}

void ews_folder_cleanup(struct ews_folder *f)
{
    if (!f)
        return;
    free(f->id);
    free(f->change_key);
    free(f->parent_id);
    free(f->display_name);
    free(f->folder_class);
    ews_folder_init(f);
}

bool ews_folder_element(const char *local)
{
    static const char *const kinds[] = { "Folder", "CalendarFolder", "ContactsFolder",
                                         "TasksFolder", "SearchFolder" };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(local, kinds[i]) == 0)
            return true;
    }
    return false;
}

static enum mse_rc id_attrs(const xmlNode *n, char **id, char **ck)
{
    free(*id);
    *id = NULL;
    if (ews_xml_attr(n, "Id", id) != MSE_OK)
        return MSE_ERR_NOMEM;
    if (ck) {
        free(*ck);
        *ck = NULL;
        if (ews_xml_attr(n, "ChangeKey", ck) != MSE_OK)
            return MSE_ERR_NOMEM;
    }
    return MSE_OK;
}

static enum mse_rc text_into(const xmlNode *n, char **dst)
{
    free(*dst);
    *dst = ews_xml_text(n);
    return *dst ? MSE_OK : MSE_ERR_NOMEM;
}

enum mse_rc ews_folder_parse(const xmlNode *node, struct ews_folder *f)
{
    snprintf(f->kind, sizeof(f->kind), "%s", (const char *)node->name);
    for (xmlNode *c = ews_xml_first_elem(node); c; c = ews_xml_next_elem(c)) {
        enum mse_rc rc = MSE_OK;
        if (ews_xml_is(c, EWS_NS_T, "FolderId"))
            rc = id_attrs(c, &f->id, &f->change_key);
        else if (ews_xml_is(c, EWS_NS_T, "ParentFolderId"))
            rc = id_attrs(c, &f->parent_id, NULL);
        else if (ews_xml_is(c, EWS_NS_T, "DisplayName"))
            rc = text_into(c, &f->display_name);
        else if (ews_xml_is(c, EWS_NS_T, "FolderClass"))
            rc = text_into(c, &f->folder_class);
        else if (ews_xml_is(c, EWS_NS_T, "TotalCount")) {
            int64_t v;
            if (ews_xml_int(c, &v) == MSE_OK && v >= 0)
                f->total_count = v;
        }
        if (rc != MSE_OK)
            return rc;
    }
    return MSE_OK;
}

void ews_folder_write_distinguished(struct ews_xml_writer *wr, const char *id, const char *delegate)
{
    ews_xml_start(wr, "t:DistinguishedFolderId");
    ews_xml_attr_write(wr, "Id", id);
    if (delegate) {
        ews_xml_start(wr, "t:Mailbox");
        ews_xml_text_elem(wr, "t:EmailAddress", delegate);
        ews_xml_end(wr);
    }
    ews_xml_end(wr);
}

void ews_get_folders_build(struct ews_xml_writer *wr, const void *args, const char *delegate)
{
    const struct ews_get_folders_args *a = args;
    ews_xml_start(wr, "m:GetFolder");
    ews_xml_start(wr, "m:FolderShape");
    ews_xml_text_elem(wr, "t:BaseShape", "IdOnly");
    ews_item_write_fields(wr, a->fields, a->n_fields);
    ews_xml_end(wr);
    ews_xml_start(wr, "m:FolderIds");
    for (size_t i = 0; i < a->n; i++)
        ews_folder_write_distinguished(wr, a->distinguished[i], delegate);
    ews_xml_end(wr);
    ews_xml_end(wr);
}

void ews_get_folders_cleanup(struct ews_get_folders *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n; i++)
        ews_folder_cleanup(&res->v[i].folder);
    free(res->v);
    res->v = NULL;
    res->n = 0;
}

/* Grows res so that index exists (GetFolder answers are few: one per requested id). */
static enum mse_rc folder_slot(struct ews_get_folders *res, unsigned index)
{
    if (index < res->n)
        return MSE_OK;
    struct ews_get_folder_result *v = realloc(res->v, (index + 1) * sizeof(*v));
    if (!v)
        return MSE_ERR_NOMEM;
    res->v = v;
    while (res->n <= index) {
        ews_folder_init(&v[res->n].folder);
        ews_status_init(&v[res->n].status);
        res->n++;
    }
    return MSE_OK;
}

static enum mse_rc folders_payload(void *ctx, unsigned index, const struct ews_status *st,
                                   xmlTextReaderPtr r, struct mse_err *err)
{
    struct ews_get_folders *res = ctx;
    (void)st;
    (void)err;
    if (!ews_xml_at(r, EWS_NS_M, "Folders"))
        return MSE_OK;
    if (folder_slot(res, index) != MSE_OK)
        return MSE_ERR_NOMEM;
    struct ews_xml_iter it;
    ews_xml_iter_init(&it, r);
    int ret;
    while ((ret = ews_xml_iter_next(&it)) == 1) {
        xmlNode *n = xmlTextReaderExpand(r);
        if (!n)
            return MSE_ERR_INVALID;
        if (!ews_folder_element((const char *)n->name))
            continue;
        ews_folder_cleanup(&res->v[index].folder);
        if (ews_folder_parse(n, &res->v[index].folder) != MSE_OK)
            return MSE_ERR_NOMEM;
    }
    return ret < 0 ? MSE_ERR_INVALID : MSE_OK;
}

static enum mse_rc folders_end(void *ctx, unsigned index, const struct ews_status *st,
                               struct mse_err *err)
{
    struct ews_get_folders *res = ctx;
    (void)err;
    if (folder_slot(res, index) != MSE_OK)
        return MSE_ERR_NOMEM;
    res->v[index].status = *st;
    return MSE_OK;
}

enum mse_rc ews_get_folders_parse(const char *xml, size_t len, void *res, struct ews_reply *reply,
                                  struct mse_err *err)
{
    struct ews_walk walk = { .response = "GetFolderResponse",
                             .on_payload = folders_payload,
                             .on_message_end = folders_end,
                             .ctx = res };
    return ews_response_walk(xml, len, &walk, reply, err);
}

static void get_folders_reset(void *out)
{
    ews_get_folders_cleanup(out);
}

static const struct ews_op op_get_folders = {
    .name = "GetFolder",
    .mailbox = true,
    .build = ews_get_folders_build,
    .parse = ews_get_folders_parse,
    .reset = get_folders_reset,
};

enum mse_rc ews_get_folders(struct ews_session *s, const struct ews_get_folders_args *args,
                            struct ews_get_folders *res, struct ews_reply *reply,
                            struct mse_err *err)
{
    enum mse_rc rc = ews_call(s, &op_get_folders, args, res, reply, err);
    if (rc == MSE_OK && res->n != args->n) {
        snprintf(err->msg, sizeof(err->msg), "GetFolder answered %zu messages for %zu ids", res->n,
                 args->n);
        reply->policy = (struct ews_policy){ EWS_ACT_FAIL, "ews_bad_response" };
        rc = MSE_ERR_UNAVAILABLE;
    }
    return rc;
}
