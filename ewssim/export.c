/* SPDX-License-Identifier: Apache-2.0 */
/* The canonical JSON snapshot of one mailbox that a perfect replica must equal. */
#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ewsid.h"
#include "gen.h"
#include "render.h"
#include "timefmt.h"

cJSON *export_person(const struct sim_person *p)
{
    if (!p)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "email", p->email);
    return o;
}

/* RFC 3339 UTC with seconds, as the replica stores times. */
static void add_time(cJSON *o, const char *key, time_t t)
{
    char buf[40];
    mse_time_format(t, buf, sizeof(buf));
    cJSON_AddStringToObject(o, key, buf);
}

/* xs:date (YYYY-MM-DD), as EWS reports recurrence ranges. */
static void add_date(cJSON *o, const char *key, time_t t)
{
    char buf[40];
    mse_time_format(t, buf, sizeof(buf));
    buf[10] = '\0';
    cJSON_AddStringToObject(o, key, buf);
}

/* Recipients in their stored order. */
static cJSON *people(const struct sim_person *const *v, unsigned n)
{
    cJSON *a = cJSON_CreateArray();
    for (unsigned i = 0; i < n; i++)
        cJSON_AddItemToArray(a, export_person(v[i]));
    return a;
}

/* Attendees as people; response types are not part of the contract. */
static cJSON *attendee_list(const struct sim_attendee *v, unsigned n)
{
    cJSON *a = cJSON_CreateArray();
    for (unsigned i = 0; i < n; i++)
        cJSON_AddItemToArray(a, export_person(v[i].who));
    return a;
}

/* DaysOfWeek as an array of EWS day names. */
static cJSON *days_array(uint8_t days)
{
    cJSON *a = cJSON_CreateArray();
    for (int d = 0; d < 8; d++) {
        if (days & (1u << d))
            cJSON_AddItemToArray(a, cJSON_CreateString(render_day_names[d]));
    }
    return a;
}

cJSON *export_recurrence(const struct sim_recurrence *r)
{
    static const char *const pnames[] = { "",
                                          "DailyRecurrence",
                                          "WeeklyRecurrence",
                                          "AbsoluteMonthlyRecurrence",
                                          "RelativeMonthlyRecurrence",
                                          "AbsoluteYearlyRecurrence",
                                          "RelativeYearlyRecurrence" };
    static const char *const rnames[] = { "NoEndRecurrence", "EndDateRecurrence",
                                          "NumberedRecurrence" };
    cJSON *o = cJSON_CreateObject();
    cJSON *p = cJSON_AddObjectToObject(o, "pattern");
    cJSON_AddStringToObject(p, "type", pnames[r->pattern]);
    if (r->pattern == PAT_DAILY || r->pattern == PAT_WEEKLY || r->pattern == PAT_ABS_MONTHLY ||
        r->pattern == PAT_REL_MONTHLY)
        cJSON_AddNumberToObject(p, "interval", r->interval);
    if (r->pattern == PAT_WEEKLY || r->pattern == PAT_REL_MONTHLY || r->pattern == PAT_REL_YEARLY)
        cJSON_AddItemToObject(p, "days_of_week", days_array(r->days));
    if (r->pattern == PAT_WEEKLY && r->first_day_of_week >= 0)
        cJSON_AddStringToObject(p, "first_day_of_week", render_day_names[r->first_day_of_week]);
    if (r->pattern == PAT_REL_MONTHLY || r->pattern == PAT_REL_YEARLY)
        cJSON_AddStringToObject(p, "day_of_week_index", render_week_index[r->day_of_week_index]);
    if (r->pattern == PAT_ABS_MONTHLY || r->pattern == PAT_ABS_YEARLY)
        cJSON_AddNumberToObject(p, "day_of_month", r->day_of_month);
    if (r->pattern == PAT_ABS_YEARLY || r->pattern == PAT_REL_YEARLY)
        cJSON_AddStringToObject(p, "month", render_month_names[r->month]);
    cJSON *g = cJSON_AddObjectToObject(o, "range");
    cJSON_AddStringToObject(g, "type", rnames[r->range]);
    add_date(g, "start_date", r->start_date);
    if (r->range == RANGE_END_DATE)
        add_date(g, "end_date", r->end_date);
    if (r->range == RANGE_NUMBERED)
        cJSON_AddNumberToObject(g, "number_of_occurrences", r->count);
    return o;
}

struct entry {
    const char *path; /* into the per-folder path table */
    char id[EWSID_MAX];
    const struct sim_item *it;
};

/* Folder path, then item id: a stable order a replica can reproduce. */
static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : strcmp(x->id, y->id);
}

/* File attachments with the SHA-256 of the bytes GetAttachment returns. */
static cJSON *attachments(const struct sim_item *it)
{
    cJSON *a = cJSON_CreateArray();
    for (unsigned i = 0; i < it->natts; i++) {
        const struct sim_attachment *at = &it->atts[i];
        uint8_t *bytes = NULL;
        char hex[MSE_SHA256_HEX_LEN + 1] = "";
        if (gen_attachment_content(at, &bytes) == MSE_OK)
            mse_crypto_sha256_hex(bytes, at->size, hex);
        free(bytes);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", at->name);
        cJSON_AddStringToObject(o, "content_type", at->content_type);
        cJSON_AddNumberToObject(o, "size", (double)at->size);
        cJSON_AddStringToObject(o, "sha256", hex);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* One message in the export's field order. */
static cJSON *message_json(const struct entry *e)
{
    const struct sim_item *it = e->it;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "item_id", e->id);
    cJSON_AddStringToObject(o, "folder_path", e->path);
    cJSON_AddStringToObject(o, "internet_message_id", it->imid ? it->imid : "");
    cJSON_AddStringToObject(o, "subject", it->subject);
    cJSON_AddItemToObject(o, "sender", export_person(it->sender));
    cJSON_AddItemToObject(o, "from", export_person(it->from));
    cJSON_AddItemToObject(o, "to", people(it->to, it->nto));
    cJSON_AddItemToObject(o, "cc", people(it->cc, it->ncc));
    add_time(o, "sent", it->sent);
    add_time(o, "received", it->received);
    cJSON_AddNumberToObject(o, "size", (double)it->size);
    cJSON_AddStringToObject(o, "item_class", it->item_class);
    cJSON_AddBoolToObject(o, "is_read", it->is_read);
    cJSON_AddStringToObject(o, "sensitivity", render_sensitivity(it->sensitivity));
    cJSON_AddBoolToObject(o, "has_attachments", it->natts > 0);
    return o;
}

/* ModifiedOccurrences and DeletedOccurrences of a series. */
static cJSON *occurrences(const struct sim_calendar *c, cJSON **deleted)
{
    cJSON *mods = cJSON_CreateArray();
    for (unsigned i = 0; i < c->nexceptions; i++) {
        cJSON *x = cJSON_CreateObject();
        add_time(x, "original_start", c->exceptions[i].original_start);
        add_time(x, "start", c->exceptions[i].start);
        add_time(x, "end", c->exceptions[i].end);
        cJSON_AddItemToArray(mods, x);
    }
    *deleted = cJSON_CreateArray();
    for (unsigned i = 0; i < c->ndeleted; i++) {
        char buf[40];
        mse_time_format(c->deleted[i], buf, sizeof(buf));
        cJSON_AddItemToArray(*deleted, cJSON_CreateString(buf));
    }
    return mods;
}

/* One calendar item (single or recurring master) in the export's field order. */
static cJSON *appointment_json(const struct entry *e)
{
    const struct sim_item *it = e->it;
    const struct sim_calendar *c = it->cal;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "item_id", e->id);
    cJSON_AddStringToObject(o, "folder_path", e->path);
    cJSON_AddStringToObject(o, "subject", it->subject);
    add_time(o, "start", c->start);
    add_time(o, "end", c->end);
    cJSON_AddBoolToObject(o, "is_all_day", c->all_day);
    if (c->location)
        cJSON_AddStringToObject(o, "location", c->location);
    else
        cJSON_AddNullToObject(o, "location");
    cJSON_AddItemToObject(o, "organizer", export_person(c->organizer));
    cJSON_AddItemToObject(o, "required_attendees", attendee_list(c->required, c->nrequired));
    cJSON_AddItemToObject(o, "optional_attendees", attendee_list(c->optional, c->noptional));
    cJSON_AddStringToObject(o, "calendar_item_type", render_cal_type(c->type));
    bool master = c->type == CAL_RECURRING_MASTER;
    cJSON_AddItemToObject(o, "recurrence",
                          master ? export_recurrence(&c->rec) : cJSON_CreateNull());
    cJSON *deleted = NULL;
    cJSON_AddItemToObject(o, "modified_occurrences", occurrences(c, &deleted));
    cJSON_AddItemToObject(o, "deleted_occurrences", deleted);
    cJSON_AddStringToObject(o, "sensitivity", render_sensitivity(it->sensitivity));
    cJSON_AddBoolToObject(o, "has_attachments", it->natts > 0);
    cJSON_AddItemToObject(o, "attachments", attachments(it));
    return o;
}

/* One folder below msgfolderroot. */
static cJSON *folder_json(const struct sim_folder *f)
{
    char path[1024], parent[1024];
    folder_path(f, path, sizeof(path));
    folder_path(f->parent, parent, sizeof(parent));
    cJSON *o = cJSON_CreateObject();
    struct ewsid id = { EWSID_FOLDER, f->mbx->idx, f->num, 0 };
    char text[EWSID_MAX];
    ewsid_format(&id, text);
    cJSON_AddStringToObject(o, "folder_id", text);
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddStringToObject(o, "parent_path", parent);
    cJSON_AddStringToObject(o, "display_name", f->name);
    cJSON_AddStringToObject(o, "folder_class", f->folder_class ? f->folder_class : "");
    if (f->distinguished >= 0)
        cJSON_AddStringToObject(o, "distinguished_id", store_distinguished_names[f->distinguished]);
    else
        cJSON_AddNullToObject(o, "distinguished_id");
    cJSON_AddNumberToObject(o, "item_count", f->item_count);
    return o;
}

/* Folders sort by path. */
static int folder_cmp(const void *a, const void *b)
{
    char pa[1024], pb[1024];
    folder_path(*(const struct sim_folder *const *)a, pa, sizeof(pa));
    folder_path(*(const struct sim_folder *const *)b, pb, sizeof(pb));
    return strcmp(pa, pb);
}

/* Every live item of the listed folders, sorted (paths computed once per folder). */
static size_t entries_collect(const struct org *o, const struct sim_mailbox *m,
                              const struct sim_folder **folders, size_t nf, char (*paths)[1024],
                              struct entry *v)
{
    size_t n = 0;
    for (size_t i = 0; i < nf; i++) {
        const struct sim_folder *f = folders[i];
        folder_path(f, paths[i], sizeof(paths[i]));
        for (size_t k = 0; k < f->nlog; k++) {
            const struct sim_item *it = folder_log_item(o, f, &f->log[k]);
            if (!it)
                continue;
            struct ewsid id = { EWSID_ITEM, m->idx, it->num, 0 };
            ewsid_format(&id, v[n].id);
            v[n].path = paths[i];
            v[n++].it = it;
        }
    }
    qsort(v, n, sizeof(*v), entry_cmp);
    return n;
}

enum mse_rc export_mailbox(const struct org *o, const struct sim_mailbox *m, cJSON **out)
{
    const struct sim_folder **folders = calloc(m->nfolders + 1, sizeof(*folders));
    size_t nf = 0, nitems = 0;
    for (unsigned i = 0; folders && i < m->nfolders; i++) {
        const struct sim_folder *f = m->folders[i];
        if (!f->deleted && f != m->msgroot && f->in_ipm) {
            folders[nf++] = f;
            nitems += f->item_count;
        }
    }
    struct entry *v = folders ? calloc(nitems + 1, sizeof(*v)) : NULL;
    char(*paths)[1024] = calloc(nf + 1, sizeof(*paths));
    cJSON *root = cJSON_CreateObject();
    if (!v || !root || !paths) {
        free(paths);
        free(folders);
        free(v);
        cJSON_Delete(root);
        return MSE_ERR_NOMEM;
    }
    qsort(folders, nf, sizeof(*folders), folder_cmp);
    cJSON_AddStringToObject(root, "mailbox", m->address);
    cJSON_AddStringToObject(root, "display_name", m->display_name);
    cJSON *fa = cJSON_AddArrayToObject(root, "folders");
    for (size_t i = 0; i < nf; i++)
        cJSON_AddItemToArray(fa, folder_json(folders[i]));
    size_t n = entries_collect(o, m, folders, nf, paths, v);
    cJSON *ma = cJSON_AddArrayToObject(root, "messages");
    cJSON *aa = cJSON_AddArrayToObject(root, "appointments");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(v[i].it->cal ? aa : ma,
                             v[i].it->cal ? appointment_json(&v[i]) : message_json(&v[i]));
    free(paths);
    free(folders);
    free(v);
    *out = root;
    return MSE_OK;
}
