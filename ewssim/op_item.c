/* SPDX-License-Identifier: Apache-2.0 */
/* Item reads: GetItem and FindItem (IndexedPageItemView paging and CalendarView). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim_limits.h"
#include "ops.h"
#include "recur.h"
#include "render.h"
#include "restrict.h"
#include "timefmt.h"

/* The occurrence an occurrence id names, or false when the series has no such occurrence. */
static bool occurrence_view(const struct sim_item *it, time_t original_start, struct occ_view *v)
{
    const struct sim_calendar *c = it->cal;
    v->original_start = original_start;
    v->exception = recur_exception(c, original_start);
    if (v->exception) {
        v->start = v->exception->start;
        v->end = v->exception->end;
        return true;
    }
    if (recur_is_deleted(c, original_start) || !recur_is_occurrence(c, original_start))
        return false;
    v->start = original_start;
    v->end = original_start + (c->end - c->start);
    return true;
}

/*
 * t:OccurrenceItemId: the InstanceIndex-th occurrence of the series RecurringMasterId names,
 * counted as Exchange counts them (deleted ones included, so a deleted one is an error).
 */
static const char *occurrence_by_index(struct ews_ctx *c, xmlNodePtr id_el, struct sim_item **it,
                                       struct occ_view *occ)
{
    char text[256], index[16];
    struct ewsid id;
    if (!x_prop(id_el, "RecurringMasterId", text, sizeof(text)) ||
        !x_prop(id_el, "InstanceIndex", index, sizeof(index)))
        return "ErrorInvalidIdMalformed";
    char *end = NULL;
    long n = strtol(index, &end, 10);
    /* The id is looked up as an ItemId would be: the element gets the attribute it lacks. */
    xmlSetProp(id_el, (const xmlChar *)"Id", (const xmlChar *)text);
    const char *code = ews_item_lookup(c, id_el, it, &id);
    if (code)
        return code;
    if (id.kind != EWSID_ITEM || !(*it)->cal || (*it)->cal->type != CAL_RECURRING_MASTER)
        return "ErrorItemNotFound";
    time_t original;
    if (!end || *end || n < 1 || n > INT32_MAX || !recur_nth((*it)->cal, (unsigned)n, &original))
        return "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange";
    if (recur_is_deleted((*it)->cal, original))
        return "ErrorCalendarOccurrenceIsDeletedFromRecurrence";
    return occurrence_view(*it, original, occ) ? NULL : "ErrorItemNotFound";
}

/* t:ItemId, t:OccurrenceItemId or t:RecurringMasterItemId → item (+ occurrence); NULL or the
   error code. */
static const char *get_item_target(struct ews_ctx *c, xmlNodePtr id_el, struct sim_item **it,
                                   struct occ_view *occ, bool *is_occ)
{
    struct ewsid id;
    *is_occ = false;
    if (x_is(id_el, NS_TYPES, "OccurrenceItemId")) {
        const char *code = occurrence_by_index(c, id_el, it, occ);
        *is_occ = code == NULL;
        return code;
    }
    if (x_is(id_el, NS_TYPES, "RecurringMasterItemId")) {
        char text[256];
        xmlNodePtr tmp = id_el;
        if (!x_prop(tmp, "OccurrenceId", text, sizeof(text)) || ewsid_parse(text, &id) != MSE_OK)
            return "ErrorInvalidIdMalformed";
        xmlSetProp(tmp, (const xmlChar *)"Id", (const xmlChar *)text);
        const char *code = ews_item_lookup(c, tmp, it, &id);
        return code;
    }
    if (!x_is(id_el, NS_TYPES, "ItemId"))
        return "ErrorInvalidOperation";
    const char *code = ews_item_lookup(c, id_el, it, &id);
    if (code || id.kind != EWSID_OCCURRENCE)
        return code;
    if (!occurrence_view(*it, (time_t)id.extra, occ))
        return "ErrorItemNotFound";
    *is_occ = true;
    return NULL;
}

enum mse_rc op_get_item(struct ews_ctx *c)
{
    struct shape shape;
    shape_item_parse(x_child(c->req->op, NS_MESSAGES, "ItemShape"), &shape);
    struct render_ctx rc = { .t = c->resp->t, .shape = &shape, .summary = false };
    xmlNodePtr msgs = soap_messages(c->resp, "GetItem");
    uint64_t returned = 0;
    for (xmlNodePtr id = x_first(x_child(c->req->op, NS_MESSAGES, "ItemIds")); id;
         id = x_next(id)) {
        struct sim_item *it = NULL;
        struct occ_view occ;
        bool is_occ = false;
        const char *code = get_item_target(c, id, &it, &occ, &is_occ);
        xmlNodePtr m = soap_message(c->resp, msgs, "GetItem", code);
        xmlNodePtr items = x_el(m, c->resp->m, "Items");
        if (!code) {
            render_item(items, &rc, it, is_occ ? &occ : NULL);
            returned++;
        }
    }
    if (c->mbx)
        atomic_fetch_add(&c->mbx->counters.items_returned, returned);
    atomic_fetch_add(&c->sim->stats.all.items_returned, returned);
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}

/* ---- FindItem ---- */

struct entry {
    const struct sim_item *it;
    struct occ_view occ;
    bool is_occ;
};

struct entry_list {
    struct entry *v;
    size_t n, cap;
    size_t limit; /* CalendarView MaxEntriesReturned + 1, or SIZE_MAX */
    bool nomem;
};

/* Appends unless the list is full (CalendarView cap) or memory ran out. */
static bool entry_add(struct entry_list *l, const struct entry *e)
{
    if (l->n >= l->limit)
        return false;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        struct entry *g = realloc(l->v, ncap * sizeof(*g));
        if (!g) {
            l->nomem = true;
            return false;
        }
        l->v = g;
        l->cap = ncap;
    }
    l->v[l->n++] = *e;
    return true;
}

/*
 * Newest change first, as Exchange's default view lists a folder, filtered by the request's
 * Restriction. Returns false when the restriction uses a filter the simulator lacks.
 */
static bool folder_items(const struct ews_ctx *c, const struct sim_folder *f, struct entry_list *l)
{
    xmlNodePtr restriction = x_first(x_child(c->req->op, NS_MESSAGES, "Restriction"));
    for (size_t i = f->nlog; i-- > 0;) {
        const struct sim_item *it = folder_log_item(c->org, f, &f->log[i]);
        if (!it)
            continue;
        int match = restriction ? restrict_eval(restriction, restrict_item_field, it) : 1;
        if (match < 0)
            return false;
        struct entry e = { .it = it };
        if (match && !entry_add(l, &e))
            return true;
    }
    return true;
}

struct view_ctx {
    const struct sim_item *it;
    struct entry_list *l;
    time_t from, to;
};

/* One occurrence of a series inside the view window (moved exceptions included). */
static bool view_cb(void *ctx, time_t original_start)
{
    struct view_ctx *v = ctx;
    struct entry e = { .it = v->it, .is_occ = true };
    if (!occurrence_view(v->it, original_start, &e.occ) || e.occ.end <= v->from ||
        e.occ.start >= v->to)
        return true;
    return entry_add(v->l, &e);
}

/* Singles overlapping the window and every occurrence of every series. */
static void calendar_view(const struct ews_ctx *c, const struct sim_folder *f, time_t from,
                          time_t to, struct entry_list *l)
{
    for (size_t i = 0; i < f->nlog; i++) {
        const struct sim_item *it = folder_log_item(c->org, f, &f->log[i]);
        if (!it || !it->cal)
            continue;
        if (it->cal->type == CAL_RECURRING_MASTER) {
            struct view_ctx v = { it, l, from, to };
            /* Exceptions may move an occurrence into the window from outside it. */
            recur_expand(it->cal, from - 366 * 86400, to + 366 * 86400, view_cb, &v);
        } else if (it->cal->end > from && it->cal->start < to) {
            struct entry e = { .it = it };
            entry_add(l, &e);
        }
    }
}

/* CalendarView lists by start time. */
static int entry_start_cmp(const void *a, const void *b)
{
    const struct entry *ea = a, *eb = b;
    time_t sa = ea->is_occ ? ea->occ.start : ea->it->cal->start;
    time_t sb = eb->is_occ ? eb->occ.start : eb->it->cal->start;
    return sa < sb ? -1 : sa > sb;
}

/* m:RootFolder with the paging attributes exchangelib reads unconditionally. */
static void root_folder(struct ews_ctx *c, xmlNodePtr m, const struct entry_list *l, size_t first,
                        size_t end, size_t total, const struct render_ctx *rc)
{
    xmlNodePtr root = x_el(m, c->resp->m, "RootFolder");
    char buf[32];
    snprintf(buf, sizeof(buf), "%zu", end);
    x_attr(root, "IndexedPagingOffset", buf);
    snprintf(buf, sizeof(buf), "%zu", total);
    x_attr(root, "TotalItemsInView", buf);
    x_attr(root, "IncludesLastItemInRange", end >= total ? "true" : "false");
    xmlNodePtr items = x_el(root, c->resp->t, "Items");
    for (size_t i = first; i < end; i++)
        render_item(items, rc, l->v[i].it, l->v[i].is_occ ? &l->v[i].occ : NULL);
}

/* CalendarView: StartDate/EndDate and MaxEntriesReturned; NULL or an error code. */
static const char *find_calendar(struct ews_ctx *c, xmlNodePtr view, const struct sim_folder *f,
                                 struct entry_list *l, size_t *max)
{
    char s[64], e[64], n[16];
    time_t from, to;
    if (!x_prop(view, "StartDate", s, sizeof(s)) || !x_prop(view, "EndDate", e, sizeof(e)) ||
        mse_time_parse(s, &from) != MSE_OK || mse_time_parse(e, &to) != MSE_OK)
        return "ErrorInvalidRequest";
    if (to < from)
        return "ErrorCalendarEndDateIsEarlierThanStartDate";
    *max = x_prop(view, "MaxEntriesReturned", n, sizeof(n)) ? (size_t)strtoul(n, NULL, 10)
                                                            : SIM_FIND_PAGE_MAX;
    if (*max == 0 || *max > SIM_FIND_PAGE_MAX)
        *max = SIM_FIND_PAGE_MAX;
    l->limit = SIM_CALENDAR_VIEW_MAX;
    calendar_view(c, f, from, to, l);
    if (l->n)
        qsort(l->v, l->n, sizeof(*l->v), entry_start_cmp);
    return NULL;
}

/* One ParentFolderIds entry: a CalendarView or an IndexedPageItemView page. */
static void find_item_one(struct ews_ctx *c, xmlNodePtr msgs, xmlNodePtr parent_id,
                          const struct render_ctx *rc, bool shallow)
{
    struct sim_folder *f = NULL;
    const char *code = ews_folder_lookup(c, parent_id, &f);
    struct entry_list l = { .limit = SIZE_MAX };
    xmlNodePtr cal = x_child(c->req->op, NS_MESSAGES, "CalendarView");
    size_t max = 0;
    if (!code && cal)
        code = find_calendar(c, cal, f, &l, &max);
    else if (!code && shallow && !folder_items(c, f, &l))
        code = "ErrorUnsupportedPathForQuery";
    if (!code && l.nomem)
        code = "ErrorInternalServerError";
    xmlNodePtr m = soap_message(c->resp, msgs, "FindItem", code);
    if (!code) {
        size_t first = 0, end = l.n;
        if (cal)
            end = l.n < max ? l.n : max;
        else
            op_page_window(x_child(c->req->op, NS_MESSAGES, "IndexedPageItemView"), l.n, &first,
                           &end);
        root_folder(c, m, &l, first, end, l.n, rc);
    }
    free(l.v);
}

enum mse_rc op_find_item(struct ews_ctx *c)
{
    char traversal[32];
    struct shape shape;
    shape_item_parse(x_child(c->req->op, NS_MESSAGES, "ItemShape"), &shape);
    struct render_ctx rc = { .t = c->resp->t, .shape = &shape, .summary = true };
    x_prop(c->req->op, "Traversal", traversal, sizeof(traversal));
    xmlNodePtr msgs = soap_messages(c->resp, "FindItem");
    for (xmlNodePtr id = x_first(x_child(c->req->op, NS_MESSAGES, "ParentFolderIds")); id;
         id = x_next(id))
        find_item_one(c, msgs, id, &rc, strcmp(traversal, "Shallow") == 0);
    return msgs ? MSE_OK : MSE_ERR_NOMEM;
}
